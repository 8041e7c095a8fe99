"""Table I (CSV, Markdown, LaTeX) from finished runs, with the paper's numbers beside ours.

The paper's numbers live in paper_table1.csv beside this file (source: arXiv 2503.17935,
Table I and text; its `note` column says where each comes from). Models the paper gives no
number for get an empty paper_acc, never an invented one; `delta` is left empty where the
paper's number was measured on another architecture (`comparable: false`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .config import ModelSpec
from .cost import cost_rows, executions_per_sample

PAPER_TABLE = Path(__file__).with_name("paper_table1.csv")
TABLE1_COLUMNS = ["dataset", "model", "residual", "observable", "n_seeds", "acc_mean", "acc_std",
                  "paper_acc", "delta", "data_source", "budget"]
DATASET_TITLES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
OBSERVABLE_TITLES = {"pauliz": "Pauli-Z", "hermitian-fixed": "fixed Hermitian",
                     "hermitian": "trainable Hermitian"}


def paper_numbers() -> pd.DataFrame:
    return pd.read_csv(PAPER_TABLE)


def runs_frame(metrics: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per finished run (dataset x model x seed)."""
    rows = []
    for m in metrics:
        distill = m.get("distill") or {}
        rows.append({"dataset": m["dataset"], "model": m["model"], "seed": m["seed"],
                     "budget": m["budget"], "data_source": m["data_source"],
                     "test_acc": m["test_acc"], "random_real_acc": m["random_real_acc_mean"],
                     "init_acc": m["init_acc"], "iterations": distill.get("iterations"),
                     "distill_wall_time_s": distill.get("wall_time_s"),
                     "s_per_iteration": distill.get("s_per_iteration"),
                     "circuit_evaluations": distill.get("circuit_evaluations")})
    return pd.DataFrame(rows)


def _joined(values: pd.Series) -> str:
    return "+".join(sorted(set(map(str, values))))


def table1(runs: pd.DataFrame, datasets: list[str], models: list[str],
           variants: dict[str, dict]) -> pd.DataFrame:
    """Mean and std over seeds per dataset x model, in config order, with the paper's value.
    Every dataset x model must have at least one run: a missing one is an error, not a gap."""
    rows = []
    paper = paper_numbers().set_index(["dataset", "model"])
    for dataset in datasets:
        for model in models:
            sel = runs[(runs.dataset == dataset) & (runs.model == model)]
            if sel.empty:
                raise ValueError(f"no finished run for {dataset} / {model}; run it first.")
            spec = variants[model]
            quantum = spec["kind"] == "quantum"
            known = (dataset, model) in paper.index
            paper_acc = paper.paper_acc[(dataset, model)] if known else float("nan")
            comparable = known and bool(paper.comparable[(dataset, model)])
            mean = sel.test_acc.mean()
            rows.append({
                "dataset": dataset, "model": model,
                "residual": ("yes" if spec["residual"] else "no") if quantum else "",
                "observable": OBSERVABLE_TITLES[spec["observable"]] if quantum else "",
                "n_seeds": len(sel), "acc_mean": mean,
                "acc_std": sel.test_acc.std(ddof=1) if len(sel) > 1 else float("nan"),
                "paper_acc": paper_acc,
                "delta": mean - paper_acc if comparable else float("nan"),
                "data_source": _joined(sel.data_source), "budget": _joined(sel.budget)})
    return pd.DataFrame(rows, columns=TABLE1_COLUMNS)


def baseline_frame(baselines: list[dict[str, Any]]) -> pd.DataFrame:
    """The full-data ceiling, mean and std over seeds per dataset."""
    df = pd.DataFrame(baselines)
    out = df.groupby("dataset", sort=False).agg(
        model=("model", "first"), n_seeds=("test_acc", "size"), acc_mean=("test_acc", "mean"),
        acc_std=("test_acc", "std"), epochs=("epochs", "first"),
        train_images=("train_images", "first"), data_source=("data_source", _joined),
        budget=("budget", _joined))
    return out.reset_index()


def _fmt(x: Any) -> str:
    return "" if pd.isna(x) else f"{x:.1f}"


def _footnotes(table: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Numbered notes for the paper values that are not plain Table I entries."""
    paper = paper_numbers()
    paper = paper[paper.note != "Table I"]
    keys = [k for k in zip(table.dataset, table.model) if k in set(zip(paper.dataset, paper.model))]
    return {k: i + 1 for i, k in enumerate(keys)}


def _display(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.copy()
    notes = _footnotes(table)
    shown["dataset"] = shown.dataset.map(lambda d: DATASET_TITLES.get(d, d))
    shown["accuracy (%)"] = [f"{_fmt(m)} ± {_fmt(s)}" if not pd.isna(s) else _fmt(m)
                             for m, s in zip(table.acc_mean, table.acc_std)]
    shown["paper (%)"] = [
        "not reported" if pd.isna(p) else _fmt(p) + (f" [{notes[k]}]" if k in notes else "")
        for p, k in zip(table.paper_acc, zip(table.dataset, table.model))]
    shown["delta"] = [f"{d:+.1f}" if not pd.isna(d) else "" for d in table.delta]
    return shown[["dataset", "model", "residual", "observable", "n_seeds", "accuracy (%)",
                  "paper (%)", "delta", "data_source", "budget"]]


def write_table1(table: pd.DataFrame, baselines: pd.DataFrame, csv: str | Path,
                 md: str | Path, tex: str | Path) -> None:
    table.to_csv(csv, index=False, float_format="%.2f")
    shown = _display(table)
    ceiling = "; ".join(f"{DATASET_TITLES.get(r.dataset, r.dataset)} {_fmt(r.acc_mean)}%"
                        f" ({r.n_seeds} seed(s), {r.epochs:g} epochs on {r.train_images} images)"
                        for r in baselines.itertuples())
    paper = paper_numbers().set_index(["dataset", "model"]).note
    footnotes = " ".join(f"[{i}] {DATASET_TITLES.get(k[0], k[0])} {k[1]}: {paper[k]}."
                         for k, i in _footnotes(table).items())
    note = ("Test accuracy after training the fixed initialisation on the distilled images "
            "(mean ± std over seeds). 'paper' is the value of arXiv 2503.17935; 'not "
            "reported' where it gives none; delta is empty where the paper's number comes from "
            "another architecture. data_source 'jpeg-copy' is the lossy JPEG copy of CIFAR-10. "
            f"Full-data classical LeNet (the ceiling): {ceiling}. {footnotes}").strip()
    Path(md).write_text("# Table I\n\n" + shown.to_markdown(index=False) + f"\n\n{note}\n")
    latex = shown.to_latex(index=False, escape=True, column_format="llllrrrrll",
                           caption="Table I reproduced: " + note.replace("%", r"\%"),
                           label="tab:table1")
    Path(tex).write_text(latex.replace("±", r"$\pm$"))


COST_COLUMNS = ["dataset", "model", "seed", "budget", "distilled_acc", "executions_per_sample",
                "distilled_executions", "full_data_executions_per_epoch", "full_data_final_acc",
                "full_data_executions_to_distilled_acc", "full_data_executions_lower_bound",
                "saving_factor", "shots", "distilled_circuit_runs",
                "full_data_circuit_runs_to_distilled_acc"]
COUNT_COLUMNS = ["executions_per_sample", "distilled_executions",
                 "full_data_executions_per_epoch", "full_data_executions_to_distilled_acc",
                 "full_data_executions_lower_bound", "shots", "distilled_circuit_runs",
                 "full_data_circuit_runs_to_distilled_acc"]


def cost_frame(metrics: list[dict[str, Any]], full_data: list[dict[str, Any]],
               variants: dict[str, dict], quantum: dict[str, int],
               dataset_settings: dict[str, dict], shots: list[int]) -> pd.DataFrame:
    """cost.csv: per quantum run and shots setting, the circuit executions of training on its
    distilled set against full-data training (src/qdistill/cost.py says what is counted).
    Counts are integers (empty where there is no full-data run)."""
    full = {(f["dataset"], f["model"], f["seed"]): f for f in full_data}
    rows = []
    for m in metrics:
        spec = ModelSpec(model_id=m["model"], kind="quantum",
                         residual=variants[m["model"]]["residual"],
                         observable=variants[m["model"]]["observable"], **quantum)
        ds = dataset_settings[m["dataset"]]
        rows += cost_rows(m, full.get((m["dataset"], m["model"], m["seed"])),
                          executions_per_sample(spec, m["freeze_circuit"]),
                          ds["num_classes"] * ds["images_per_class"], shots)
    frame = pd.DataFrame(rows, columns=COST_COLUMNS)
    return frame.astype({c: "Int64" for c in COUNT_COLUMNS})


def shots_frame(results: list[dict[str, Any]]) -> pd.DataFrame:
    """shots.csv: test accuracy per quantum run and shots setting (empty shots: analytic),
    with the fast path's accuracy on the same test images beside it."""
    columns = ["dataset", "model", "seed", "budget", "n_test_images", "shots", "test_acc",
               "fast_path_acc"]
    return pd.DataFrame([{"dataset": r["dataset"], "model": r["model"], "seed": r["seed"],
                          "budget": r["budget"], "n_test_images": r["n_test_images"],
                          "shots": point["shots"], "test_acc": point["test_acc"],
                          "fast_path_acc": r["fast_acc"]}
                         for r in results for point in r["results"]], columns=columns
                        ).astype({"shots": "Int64"})
