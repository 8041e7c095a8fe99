"""How stable is a distillation? The paper claims, without a comparison, that the fixed
Hermitian "potentially offers greater stability during distillation". From the runs'
logs: the spread of the final accuracy over seeds, the volatility of the current set's
test accuracy along the run (mean absolute change between consecutive log points over the
second half of the run, where the outer learning rate is small and a stable method has
settled), the same for the outer loss, and the range of the accuracy over that half.

Needs no torch (the report rules import it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..config import dataset_title
from . import plotting  # noqa: F401  (the Agg backend and the theme)
from .cells import joined, mean_std_cells, model_cells, one_decimal, write_markdown_and_latex

RUN_COLUMNS = ["dataset", "model", "seed", "budget", "final_acc", "best_acc", "log_points",
               "accuracy_source", "acc_volatility", "acc_range", "loss_volatility"]
SUMMARY_COLUMNS = ["dataset", "model", "residual", "observable", "n_seeds", "final_acc_mean",
                   "final_acc_std", "acc_volatility_mean", "acc_range_mean",
                   "loss_volatility_mean", "budget"]


def second_half(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The log points of the second half of the run (by iteration)."""
    if not history:
        return []
    last = history[-1]["iteration"]
    return [h for h in history if h["iteration"] > last / 2]


def run_stability(metrics: dict[str, Any]) -> dict[str, Any]:
    """One run's row. The accuracy is the full test set's where the log has it, else the
    monitor batch's (older logs), named in accuracy_source."""
    history = (metrics.get("distill") or {}).get("history", [])
    half = second_half(history)
    source = "test_acc" if half and all("test_acc" in h for h in half) else "test_batch_acc"
    accs = [h[source] for h in half]
    losses = [h["outer_loss"] for h in half]

    def volatility(values):
        steps = [abs(b - a) for a, b in zip(values, values[1:])]
        return sum(steps) / len(steps) if steps else float("nan")

    return {"dataset": metrics["dataset"], "model": metrics["model"], "seed": metrics["seed"],
            "budget": metrics["budget"], "final_acc": metrics["test_acc"],
            "best_acc": (metrics.get("best") or {}).get("test_acc", float("nan")),
            "log_points": len(half), "accuracy_source": source,
            "acc_volatility": volatility(accs),
            "acc_range": max(accs) - min(accs) if accs else float("nan"),
            "loss_volatility": volatility(losses)}


def stability_frame(metrics: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([run_stability(m) for m in metrics], columns=RUN_COLUMNS)


def stability_summary(frame: pd.DataFrame, models: list[str],
                      variants: dict[str, dict]) -> pd.DataFrame:
    """Per dataset x model (config order): spread over seeds and mean volatilities."""
    rows = []
    for dataset in dict.fromkeys(frame.dataset):
        for model in models:
            sel = frame[(frame.dataset == dataset) & (frame.model == model)]
            if sel.empty:
                continue
            spec = variants[model]
            rows.append({
                "dataset": dataset, "model": model,
                **model_cells(spec),
                "n_seeds": len(sel), "final_acc_mean": sel.final_acc.mean(),
                "final_acc_std": sel.final_acc.std(ddof=1) if len(sel) > 1 else float("nan"),
                "acc_volatility_mean": sel.acc_volatility.mean(),
                "acc_range_mean": sel.acc_range.mean(),
                "loss_volatility_mean": sel.loss_volatility.mean(),
                "budget": joined(sel.budget)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def write_stability(frame: pd.DataFrame, summary: pd.DataFrame, csv: str | Path,
                    runs_csv: str | Path, md: str | Path, tex: str | Path) -> None:
    summary.to_csv(csv, index=False, float_format="%.3f")
    frame.to_csv(runs_csv, index=False, float_format="%.3f")
    shown = summary.copy()
    shown["dataset"] = shown.dataset.map(dataset_title)
    shown["final accuracy (%)"] = mean_std_cells(summary.final_acc_mean, summary.final_acc_std)
    shown["accuracy volatility (points)"] = summary.acc_volatility_mean.map(one_decimal)
    shown["accuracy range (points)"] = summary.acc_range_mean.map(one_decimal)
    shown["loss volatility"] = summary.loss_volatility_mean.map(lambda v: f"{v:.3f}")
    shown = shown[["dataset", "model", "residual", "observable", "n_seeds",
                   "final accuracy (%)", "accuracy volatility (points)",
                   "accuracy range (points)", "loss volatility", "budget"]]
    note = ("Over the second half of each run: accuracy volatility is the mean absolute "
            "change of the current set's test accuracy between consecutive log points, the "
            "range its max minus min, loss volatility the same mean change of the logged "
            "outer loss (averaged over the iterations between log points); each is the mean "
            "over seeds. Final accuracy: mean ± std over seeds (std needs two seeds).")
    write_markdown_and_latex(shown, "Stability of the distillation", "Stability", note, md,
                             tex, "llllrrrrrl", "tab:stability", disable_numparse=True)


def stability_figure(frame: pd.DataFrame, dataset: str, models: list[str]):
    """Accuracy volatility (left) and final accuracy (right) per model, every seed a point."""
    sel = frame[frame.dataset == dataset]
    order = [m for m in models if m in set(sel.model)]
    fig, axes = plt.subplots(1, 2, figsize=(2 * (0.9 * len(order) + 1.5), 3.4))
    for ax, column, label in ((axes[0], "acc_volatility",
                               "test-accuracy volatility, 2nd half (points)"),
                              (axes[1], "final_acc", "final test accuracy (%)")):
        sns.barplot(sel, x="model", y=column, order=order, errorbar=None, color="#c6dbef", ax=ax)
        sns.stripplot(sel, x="model", y=column, order=order, color="#08519c", size=5,
                      jitter=0.15, ax=ax)
        ax.set(xlabel="", ylabel=label)
        ax.tick_params(axis="x", rotation=35)
    budget = joined(sel.budget)
    fig.suptitle(f"{dataset_title(dataset)}: stability of the distillation "
                 f"(budget {budget}; every seed a point)", fontsize=9)
    fig.tight_layout()
    return fig
