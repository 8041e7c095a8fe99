"""Table I (CSV, Markdown, LaTeX) from finished runs, with the paper's numbers beside ours.

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

from .config import VARIANT_DEFAULTS, dataset_title
from .cost import cost_rows

PAPER_TABLE = Path(__file__).with_name("paper_table1.csv")
TABLE1_COLUMNS = ["dataset", "model", "residual", "observable", "n_seeds", "seeds", "acc_mean",
                  "acc_std", "paper_acc", "delta", "best_acc_mean", "best_acc_std",
                  "missing_seeds", "data_source", "budget", "verdict"]
# The paper's number is "within the spread over seeds" when it lies within this many
# standard deviations of our mean: where about 95% of single runs fall.
SPREAD_STDS = 2.0
OBSERVABLE_TITLES = {"pauliz": "Pauli-Z", "hermitian-fixed": "fixed Hermitian",
                     "hermitian": "trainable Hermitian",
                     "hermitian-pair": "trainable two-qubit Hermitian"}


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


def _joined(values: pd.Series) -> str:
    return "+".join(sorted(set(map(str, values))))


def _std(values: pd.Series) -> float:
    return values.std(ddof=1) if values.notna().sum() > 1 else float("nan")


def verdict(paper_acc: float, final: pd.Series, best: pd.Series) -> str:
    """Does the paper's number lie within the spread of our runs over seeds? Judged for the
    final sets, then for the sets chosen by training-subset accuracy; one seed has no
    spread, so it only says how far the paper is."""
    if pd.isna(paper_acc):
        return ""
    if final.notna().sum() == 0:
        return "not run"
    if final.notna().sum() == 1:
        gap = paper_acc - max(final.max(), best.max())
        return ("one seed, no spread yet: " +
                (f"the paper is {gap:.1f} points above its best set" if gap > 0
                 else "its best set reaches the paper"))
    for sets, accuracies in (("final sets", final), ("best sets", best)):
        mean, std = accuracies.mean(), accuracies.std(ddof=1)
        if abs(paper_acc - mean) <= SPREAD_STDS * std:
            return (f"within the spread over seeds of the {sets} "
                    f"({(paper_acc - mean) / std:+.1f} std)")
    mean, std = best.mean(), best.std(ddof=1)
    side = "above" if paper_acc > mean else "below"
    return (f"outside the spread: the paper is {abs(paper_acc - mean) / std:.1f} std {side} "
            "the best sets' mean" if std > 0 else f"outside the spread: every seed {side}")


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
            quantum = spec["kind"] == "quantum"
            known = (dataset, model) in paper.index
            paper_acc = paper.paper_acc[(dataset, model)] if known else float("nan")
            comparable = known and bool(paper.comparable[(dataset, model)])
            mean = sel.test_acc.mean()
            missing = [s for s in seeds or [] if s not in set(sel.seed)]
            rows.append({
                "dataset": dataset, "model": model,
                "residual": ("yes" if spec["residual"] else "no") if quantum else "",
                "observable": OBSERVABLE_TITLES[spec["observable"]] if quantum else "",
                "n_seeds": len(sel), "seeds": " ".join(map(str, sorted(sel.seed))),
                "acc_mean": mean, "acc_std": _std(sel.test_acc),
                "paper_acc": paper_acc,
                "delta": mean - paper_acc if comparable else float("nan"),
                "best_acc_mean": sel.best_test_acc.mean(), "best_acc_std": _std(sel.best_test_acc),
                "missing_seeds": " ".join(map(str, missing)),
                "data_source": _joined(sel.data_source), "budget": _joined(sel.budget),
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
        train_images=("train_images", "first"), data_source=("data_source", _joined),
        budget=("budget", _joined))
    return out.reset_index()


def one_decimal(x: Any) -> str:
    """A percentage (or other value) to one decimal; empty for NaN."""
    return "" if pd.isna(x) else f"{x:.1f}"


def mean_std_cells(means, stds) -> list[str]:
    """'mean ± std' cells, or the mean alone where there is no std."""
    return [one_decimal(m) if pd.isna(s) else f"{one_decimal(m)} ± {one_decimal(s)}"
            for m, s in zip(means, stds)]


def signed_cells(values) -> list[str]:
    """Differences as '+1.2' / '-3.4' cells; empty for NaN."""
    return ["" if pd.isna(d) else f"{d:+.1f}" for d in values]


def write_markdown_and_latex(shown: pd.DataFrame, title: str, caption: str, note: str,
                             md: str | Path, tex: str | Path, column_format: str, label: str,
                             **markdown) -> None:
    """A displayed table as Markdown (titled, the note below), as LaTeX (the note in the
    caption, ± typeset) and as HTML beside the Markdown (same name, .html: what the
    Snakemake report shows inline)."""
    Path(md).write_text(f"# {title}\n\n{shown.to_markdown(index=False, **markdown)}\n\n"
                        f"{note}\n")
    style = ("body{font-family:sans-serif;font-size:13px} table{border-collapse:collapse} "
             "td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left} "
             "th{background:#f3f3f3}")
    Path(md).with_suffix(".html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body><h3>{title}</h3>"
        f"{shown.to_html(index=False, border=0, escape=True)}<p>{note}</p></body></html>\n")
    latex = shown.to_latex(index=False, escape=True, column_format=column_format,
                           caption=f"{caption}: " + note.replace("%", r"\%"), label=label)
    Path(tex).write_text(latex.replace("±", r"$\pm$"))


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
            f"{SPREAD_STDS:g} standard deviations over seeds of ours. data_source 'jpeg-copy' "
            "is the lossy JPEG copy of CIFAR-10. "
            f"Full-data classical LeNet (the ceiling): {ceiling or 'not run'}. "
            + (f"Not run: {missing}. " if missing else "") + footnotes).strip()
    write_markdown_and_latex(shown, "Table I", "Table I reproduced", note, md, tex,
                             "llllrrrrrlll", "tab:table1", disable_numparse=True)


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
               shots: list[int]) -> pd.DataFrame:
    """cost.csv: per quantum run and shots setting, the circuit executions of training on its
    distilled set against full-data training (src/qdistill/cost.py says what is counted).
    Counts are integers (empty where there is no full-data run)."""
    full = {(f["dataset"], f["model"], f["seed"]): f for f in full_data}
    rows = []
    for m in metrics:
        rows += cost_rows(m, full.get((m["dataset"], m["model"], m["seed"])), shots)
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


# Beyond the paper: what each extension changes relative to the reference model,
# by the model_variants key it sets, and the open question of the paper it answers.
EXTENSION_TITLES = {
    ("embedding", "angle"): "angle embedding (open question 2)",
    ("observable", "hermitian-pair"): "two-qubit Hermitian observables (open question 3)",
    ("front_end", "quanvolution"): "quanvolution front end (open question 1)",
    ("frozen_circuit", True): "frozen circuit (the reference code's effect)",
}
TRANSFER_TITLE = "transfer to other initialisations"
EXTENSION_COLUMNS = ["dataset", "extension", "model", "n_runs", "acc_mean", "acc_std",
                     "reference", "reference_acc", "delta", "circuit_angles", "observables",
                     "quanvolution", "executions_per_sample", "s_per_iteration", "budget"]


def extension_title(variant: dict, reference: dict) -> str:
    """What a variant changes relative to the reference, e.g. 'angle embedding (open
    question 2)'; keys without a title are shown as key=value."""
    variant, reference = {**VARIANT_DEFAULTS, **variant}, {**VARIANT_DEFAULTS, **reference}
    changed = [(k, v) for k, v in variant.items() if reference.get(k) != v]
    return "; ".join(EXTENSION_TITLES.get((k, v), f"{k}={v}") for k, v in changed) or "same"


def extensions_frame(runs: list[dict[str, Any]], transfer_summary: pd.DataFrame | None,
                     datasets: list[str], reference: str, models: list[str],
                     variants: dict[str, dict]) -> pd.DataFrame:
    """extensions.csv: per dataset, the reference model, each extension model against it
    (delta = accuracy minus the reference's, over the same seeds), and the transfer of
    distilled sets to other initialisations (delta = other inits minus own init)."""
    frame = pd.DataFrame(runs)
    rows = []
    for dataset in datasets:
        sel = frame[frame.dataset == dataset] if len(frame) else frame
        ref = sel[sel.model == reference] if len(sel) else sel
        ref_acc = ref.test_acc.mean() if len(ref) else float("nan")
        for model in list(dict.fromkeys([reference, *models])) if models else []:
            own = sel[sel.model == model]
            if own.empty:
                raise ValueError(f"no finished run for {dataset} / {model}; run it first.")
            first = own.iloc[0]
            rows.append({
                "dataset": dataset, "model": model,
                "extension": ("none (the reference)" if model == reference
                              else extension_title(variants[model], variants[reference])),
                "n_runs": len(own), "acc_mean": own.test_acc.mean(),
                "acc_std": own.test_acc.std(ddof=1) if len(own) > 1 else float("nan"),
                "reference": reference, "reference_acc": ref_acc,
                "delta": own.test_acc.mean() - ref_acc if model != reference else float("nan"),
                **first.quantum_parameters,
                "executions_per_sample": first.executions_per_sample,
                "s_per_iteration": own.s_per_iteration.mean(),
                "budget": _joined(own.budget)})
        if transfer_summary is not None:
            for t in transfer_summary[transfer_summary.dataset == dataset].itertuples():
                rows.append({"dataset": dataset, "extension": TRANSFER_TITLE, "model": t.model,
                             "n_runs": t.n_runs, "acc_mean": t.other_acc_mean,
                             "acc_std": t.other_acc_std, "reference": "own initialisation",
                             "reference_acc": t.own_acc_mean,
                             "delta": t.other_acc_mean - t.own_acc_mean, "budget": t.budget})
    return pd.DataFrame(rows, columns=EXTENSION_COLUMNS).astype(
        {c: "Int64" for c in ["circuit_angles", "observables", "quanvolution",
                              "executions_per_sample"]})


def extension_runs(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fields of metrics.json the extensions table needs, one dict per run."""
    return [{"dataset": m["dataset"], "model": m["model"], "seed": m["seed"],
             "budget": m["budget"], "test_acc": m["test_acc"],
             "quantum_parameters": m["quantum_parameters"],
             "executions_per_sample": m["executions_per_sample"],
             "s_per_iteration": (m.get("distill") or {}).get("s_per_iteration")}
            for m in metrics]


def write_extensions(table: pd.DataFrame, csv: str | Path, md: str | Path,
                     tex: str | Path) -> None:
    table.to_csv(csv, index=False, float_format="%.2f")
    shown = table.copy()
    shown["dataset"] = shown.dataset.map(dataset_title)
    shown["accuracy (%)"] = mean_std_cells(table.acc_mean, table.acc_std)
    shown["vs"] = [f"{r} {one_decimal(a)}" for r, a in zip(table.reference, table.reference_acc)]
    shown["delta"] = signed_cells(table.delta)
    shown["trained circuit reals"] = [
        "" if pd.isna(a) else f"{a} + {o} + {q}"
        for a, o, q in zip(table.circuit_angles, table.observables, table.quanvolution)]
    shown["executions / sample"] = table.executions_per_sample.astype("string").fillna("")
    shown["s / iteration"] = [one_decimal(s * 1000) + " ms" if not pd.isna(s) else ""
                              for s in table.s_per_iteration]
    shown = shown[["dataset", "extension", "model", "n_runs", "accuracy (%)", "vs", "delta",
                   "trained circuit reals", "executions / sample", "s / iteration", "budget"]]
    note = ("Beyond the paper. Extension rows: test accuracy after training the fixed "
            "initialisation on the model's distilled images (mean ± std over seeds) against "
            "the reference model over the same seeds. Transfer rows: the distilled sets "
            "trained from other initialisations (mean ± std over runs and initialisations) "
            "against their own initialisation. 'trained circuit reals': circuit angles + "
            "observable degrees of freedom + quanvolution filter angles that training "
            "changes. 'executions / sample': circuit executions of one training sample on "
            "hardware by the parameter-shift rule (src/qdistill/cost.py). 's / iteration': "
            "distillation wall time per outer iteration, as measured in the runs.")
    write_markdown_and_latex(shown, "Extensions", "Extensions", note, md, tex, "lllrrlrrrrl",
                             "tab:extensions")


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
        f"{SPREAD_STDS:g} standard deviations over seeds of ours.", "",
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
