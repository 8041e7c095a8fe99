"""Table I (CSV, Markdown, LaTeX, and the report's first page) from finished runs, with the paper's numbers beside ours.

The paper's numbers live in paper_table1.csv beside this file (source: arXiv 2503.17935,
Table I and text; its `note` column says where each comes from). Models the paper gives no
number for get an empty paper_acc, never an invented one; `delta` is left empty where the
paper's number was measured on another architecture (`comparable: false`).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import dataset_title
from .cells import (
    joined,
    mean_std_cells,
    model_cells,
    one_decimal,
    signed_cells,
    spread,
    write_markdown_and_latex,
)

PAPER_TABLE = Path(__file__).with_name("paper_table1.csv")
TABLE1_COLUMNS = ["dataset", "model", "residual", "observable", "n_seeds", "seeds", "acc_mean",
                  "acc_std", "paper_acc", "delta", "best_acc_mean", "best_acc_std",
                  "missing_seeds", "data_source", "budget", "verdict"]
# The paper's number is "within the spread over seeds" when it lies within this many
# standard deviations of our mean: where about 95% of single runs fall.
SPREAD_STDS = 2.0
# Two seeds' standard deviation is too rough to judge by (it can be a fraction of a point).
SPREAD_MIN_SEEDS = 3
def paper_numbers() -> pd.DataFrame:
    return pd.read_csv(PAPER_TABLE)


def runs_frame(metrics: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per finished run (dataset x model x seed)."""
    rows = []
    for m in metrics:
        distill = m.get("distill") or {}
        best = m.get("best") or {}
        rows.append({"dataset": m["dataset"], "model": m["model"], "seed": m["seed"],
                     "budget": m["budget"], "data_source": m["data_source"],
                     "test_acc": m["test_acc"],
                     "best_test_acc": best.get("test_acc", float("nan")),
                     "best_iteration": best.get("iteration"),
                     "best_selection_acc": best.get("selection_acc"),
                     "random_real_acc": m["random_real_acc_mean"],
                     # the dataset-distillation benchmarks' column: distilled minus random real
                     "improvement_over_random": (m["test_acc"] - m["random_real_acc_mean"]
                                                 if m["random_real_acc_mean"] is not None
                                                 else float("nan")),
                     "average_real_acc": m.get("average_real_acc", float("nan")),
                     "kmeans_real_acc": m.get("kmeans_real_acc", float("nan")),
                     "init_acc": m["init_acc"], "iterations": distill.get("iterations"),
                     "distill_wall_time_s": distill.get("wall_time_s"),
                     "s_per_iteration": distill.get("s_per_iteration"),
                     "circuit_evaluations": distill.get("circuit_evaluations")})
    return pd.DataFrame(rows)


def verdict(paper_acc: float, final: pd.Series, best: pd.Series) -> str:
    """Does the paper's number lie within the spread of our runs over seeds? The paper does
    not say whether it reports a final set or a kept checkpoint, so each seed counts with
    the better of its final set and its best set (every benefit of the doubt, and a seed
    that collapsed late counts with what it reached). Within the spread: within SPREAD_STDS
    standard deviations of their mean. Fewer than SPREAD_MIN_SEEDS seeds give no usable
    spread: it only says how far the paper is from the best of them."""
    if pd.isna(paper_acc):
        return ""
    if final.notna().sum() == 0:
        return "not run"
    better = pd.concat([final, best], axis=1).max(axis=1)
    seeds = int(better.notna().sum())
    if seeds < SPREAD_MIN_SEEDS:
        gap = paper_acc - better.max()
        return (f"{'one seed' if seeds == 1 else f'{seeds} seeds'}, no spread yet: " +
                (f"the paper is {gap:.1f} points above {'its' if seeds == 1 else 'their'} "
                 "best set" if gap > 0 else "a best set reaches the paper"))
    mean, std = better.mean(), better.std(ddof=1)
    side = "above" if paper_acc > mean else "below"
    if std == 0:
        return f"outside the spread: every seed {side} the paper" if paper_acc != mean else \
            "within the spread over seeds"
    z = (paper_acc - mean) / std
    if abs(z) <= SPREAD_STDS:
        return f"within the spread over seeds ({z:+.1f} std)"
    return f"outside the spread: the paper is {abs(z):.1f} std {side} our mean"


def table1(runs: pd.DataFrame, datasets: list[str], models: list[str],
           variants: dict[str, dict], seeds: list[int] | None = None,
           allow_missing: bool = False) -> pd.DataFrame:
    """Mean and std over seeds per dataset x model, in config order, with the paper's value:
    for the final distilled set (acc_*) and for the set chosen during the run by its
    training-subset accuracy (best_acc_*). `seeds` are the budget's: those without a run are
    listed in missing_seeds. A dataset x model without any run is an error, unless
    allow_missing (shipped runs), where its row stays empty."""
    rows = []
    paper = paper_numbers().set_index(["dataset", "model"])
    for dataset in datasets:
        for model in models:
            sel = runs[(runs.dataset == dataset) & (runs.model == model)]
            if sel.empty and not allow_missing:
                raise ValueError(f"no finished run for {dataset} / {model}; run it first.")
            spec = variants[model]
            known = (dataset, model) in paper.index
            paper_acc = paper.paper_acc[(dataset, model)] if known else float("nan")
            comparable = known and bool(paper.comparable[(dataset, model)])
            mean = sel.test_acc.mean()
            missing = [s for s in seeds or [] if s not in set(sel.seed)]
            rows.append({
                "dataset": dataset, "model": model,
                **model_cells(spec),
                "n_seeds": len(sel), "seeds": " ".join(map(str, sorted(sel.seed))),
                "acc_mean": mean, "acc_std": spread(sel.test_acc),
                "paper_acc": paper_acc,
                "delta": mean - paper_acc if comparable else float("nan"),
                "best_acc_mean": sel.best_test_acc.mean(), "best_acc_std": spread(sel.best_test_acc),
                "missing_seeds": " ".join(map(str, missing)),
                "data_source": joined(sel.data_source), "budget": joined(sel.budget),
                "verdict": verdict(paper_acc, sel.test_acc, sel.best_test_acc)
                if comparable else ""})
    return pd.DataFrame(rows, columns=TABLE1_COLUMNS)


def baseline_frame(baselines: list[dict[str, Any]]) -> pd.DataFrame:
    """The full-data ceiling, mean and std over seeds per dataset."""
    columns = ["dataset", "model", "n_seeds", "acc_mean", "acc_std", "epochs", "train_images",
               "data_source", "budget"]
    if not baselines:
        return pd.DataFrame(columns=columns)
    df = pd.DataFrame(baselines)
    out = df.groupby("dataset", sort=False).agg(
        model=("model", "first"), n_seeds=("test_acc", "size"), acc_mean=("test_acc", "mean"),
        acc_std=("test_acc", "std"), epochs=("epochs", "first"),
        train_images=("train_images", "first"), data_source=("data_source", joined),
        budget=("budget", joined))
    return out.reset_index()


def _footnotes(table: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Numbered notes for the paper values that are not plain Table I entries."""
    paper = paper_numbers()
    paper = paper[paper.note != "Table I"]
    keys = [k for k in zip(table.dataset, table.model) if k in set(zip(paper.dataset, paper.model))]
    return {k: i + 1 for i, k in enumerate(keys)}


def _display(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.copy()
    notes = _footnotes(table)
    shown["dataset"] = shown.dataset.map(dataset_title)
    shown["accuracy (%)"] = mean_std_cells(table.acc_mean, table.acc_std)
    shown["paper (%)"] = [
        "not reported" if pd.isna(p) else one_decimal(p) + (f" [{notes[k]}]" if k in notes else "")
        for p, k in zip(table.paper_acc, zip(table.dataset, table.model))]
    shown["delta"] = signed_cells(table.delta)
    shown["best by training subset (%)"] = mean_std_cells(table.best_acc_mean, table.best_acc_std)
    shown["accuracy (%)"] = [cell or "not run" for cell in shown["accuracy (%)"]]
    return shown[["dataset", "model", "residual", "observable", "n_seeds", "accuracy (%)",
                  "paper (%)", "delta", "best by training subset (%)", "verdict",
                  "data_source", "budget"]]


def write_table1(table: pd.DataFrame, baselines: pd.DataFrame, csv: str | Path,
                 md: str | Path, tex: str | Path) -> None:
    table.to_csv(csv, index=False, float_format="%.2f")
    shown = _display(table)
    ceiling = "; ".join(f"{dataset_title(r.dataset)} {one_decimal(r.acc_mean)}%"
                        f" ({r.n_seeds} seed(s), {r.epochs:g} epochs on {r.train_images} images)"
                        for r in baselines.itertuples())
    paper = paper_numbers().set_index(["dataset", "model"]).note
    footnotes = " ".join(f"[{i}] {dataset_title(k[0])} {k[1]}: {paper[k]}."
                         for k, i in _footnotes(table).items())
    missing = "; ".join(f"{dataset_title(r.dataset)} {r.model} seed(s) "
                        f"{r.missing_seeds}" for r in table.itertuples() if r.missing_seeds)
    note = ("Test accuracy after training the fixed initialisation on the final distilled "
            "images (mean ± std over seeds). 'best by training subset': the set of the log "
            "point with the highest accuracy on a fixed subset of training images during the "
            "run (never chosen by test accuracy). 'paper' is the value of arXiv 2503.17935; 'not "
            "reported' where it gives none; delta is empty where the paper's number comes from "
            "another architecture; 'verdict' says whether the paper's number lies within "
            f"{SPREAD_STDS:g} standard deviations over seeds of ours, each seed counted with "
            "the better of its final and best set. data_source 'jpeg-copy' "
            "is the lossy JPEG copy of CIFAR-10. "
            f"Full-data classical LeNet (the ceiling): {ceiling or 'not run'}. "
            + (f"Not run: {missing}. " if missing else "") + footnotes).strip()
    write_markdown_and_latex(shown, "Table I", "Table I reproduced", note, md, tex,
                             "llllrrrrrlll", "tab:table1", disable_numparse=True)


def holdings(table: pd.DataFrame) -> str:
    """What a Table I covers, in words: the runs per dataset and model with their seeds, and
    the cells not run (a report must not claim more than it holds)."""
    parts, not_run = [], []
    for dataset, rows in table.groupby("dataset", sort=False):
        run = rows[rows.n_seeds > 0]
        if run.empty:
            not_run.append(f"{dataset_title(dataset)} (every model)")
            continue
        cells = [f"{r.model} (seed{'s' if r.n_seeds > 1 else ''} {r.seeds.replace(' ', ', ')})"
                 for r in run.itertuples()]
        parts.append(f"{dataset_title(dataset)}: " + "; ".join(cells))
        not_run += [f"{dataset_title(dataset)} {m}" for m in rows[rows.n_seeds == 0].model]
    runs = int(table.n_seeds.sum())
    text = f"{runs} run{'s' if runs != 1 else ''}. " + ". ".join(parts) + "."
    return text + (f" Not run: {', '.join(not_run)}." if not_run else "")


def landing_rst(table: pd.DataFrame, budget: str, figure_png: str | Path | None) -> str:
    """The report's first page: what it holds, Table I with its verdicts, and the figure of
    the runs' test accuracy along the distillation, inline (the report is one file)."""
    shown = pd.DataFrame({
        "dataset": table.dataset.map(dataset_title), "model": table.model,
        "paper (%)": [one_decimal(p) or "not reported" for p in table.paper_acc],
        "final set (%)": [c or "not run" for c in mean_std_cells(table.acc_mean, table.acc_std)],
        "best by training subset (%)": mean_std_cells(table.best_acc_mean, table.best_acc_std),
        "seeds": table.n_seeds, "verdict": table.verdict.fillna("")})
    html = shown.to_html(index=False, border=0, escape=True)
    lines = [
        'qdistill: Table I of "Dataset Distillation for Quantum Neural Networks" '
        f"(arXiv 2503.17935) at budget **{budget}**.", "",
        f"This report holds {holdings(table)}", "",
        "Test accuracy after training the fixed initialisation on the distilled images; "
        "mean ± std over seeds. 'best by training subset': the set of the log point with the "
        "highest accuracy on 10,000 training images (never chosen by test accuracy). The "
        "verdict says whether the paper's number lies within "
        f"{SPREAD_STDS:g} standard deviations over seeds of ours, each seed counted with the "
        "better of its final and best set.", "",
        ".. raw:: html", "", "   <style>.qd td,.qd th{padding:2px 8px;text-align:left;"
        "border-bottom:1px solid #ddd}</style><div class='qd'>",
        *("   " + line for line in html.splitlines()), "   </div>", ""]
    if figure_png is not None:
        # docutils refuses lines over 10,000 characters; a data URL may wrap (browsers
        # drop the whitespace in base64)
        data = base64.encodebytes(Path(figure_png).read_bytes()).decode().split()
        lines += ["Test accuracy of the current set along every run (the paper's value dashed; "
                  "star: the set chosen by training-subset accuracy):", "", ".. raw:: html", "",
                  "   <img style='max-width:100%' src='data:image/png;base64,",
                  *("   " + chunk for chunk in data), "   '>", ""]
    lines += ["Every table and figure, with its caption, is in the categories of the menu."]
    return "\n".join(lines) + "\n"
