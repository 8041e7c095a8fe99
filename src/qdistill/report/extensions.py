"""The extensions table: each extension model against the reference model, and the
transfer of distilled sets to other initialisations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..config import VARIANT_DEFAULTS, dataset_title
from .cells import joined, mean_std_cells, one_decimal, signed_cells, write_markdown_and_latex

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
                "budget": joined(own.budget)})
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
