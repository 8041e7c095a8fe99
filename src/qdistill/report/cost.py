"""The cost table and figures: circuit executions of training on a distilled set against
full-data training (src/qdistill/cost.py counts them), and accuracy under shot noise."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..config import dataset_title
from ..cost import cost_rows
from . import plotting  # noqa: F401  (the Agg backend and the theme)

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


def cost_figure(cost: pd.DataFrame, full_data: list[dict[str, Any]], dataset: str) -> plt.Figure:
    """Test accuracy against circuit executions (log scale): full-data training as curves,
    each distilled set's training as a point."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    palette = dict(zip(sorted(set(cost.model)), sns.color_palette("tab10")))
    for f in full_data:
        points = [p for p in f["curve"] if p["executions"] > 0]
        ax.plot([p["executions"] for p in points], [p["test_acc"] for p in points],
                color=palette.get(f["model"], "grey"), alpha=0.8, marker="o", markersize=3,
                label=f"{f['model']}, full data (seed {f['seed']})")
    distilled = cost[cost.shots.isna()]
    for model, rows in distilled.groupby("model", sort=False):
        ax.scatter(rows.distilled_executions, rows.distilled_acc, color=palette[model],
                   marker="*", s=120, zorder=5, label=f"{model}, distilled set")
    ax.set(xscale="log", ylim=(0, 100), xlabel="circuit executions of training (log scale)",
           ylabel="test accuracy (%)",
           title=f"{dataset_title(dataset)}: accuracy against circuit executions")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def shots_figure(shots: pd.DataFrame, dataset: str) -> plt.Figure:
    """Test accuracy against shots per execution (log scale) per model, the analytic value
    as a dashed line."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    models = list(dict.fromkeys(shots.model))
    palette = dict(zip(models, sns.color_palette("tab10")))
    finite = shots[shots.shots.notna()]
    sns.lineplot(finite, x="shots", y="test_acc", hue="model", hue_order=models,
                 palette=palette, marker="o", errorbar=("pi", 100), ax=ax)
    for model, rows in shots[shots.shots.isna()].groupby("model", sort=False):
        ax.axhline(rows.test_acc.mean(), color=palette[model], linestyle="--", linewidth=0.8)
    ax.set(xscale="log", xlabel="shots per circuit execution (log scale; dashed: analytic)",
           ylabel="test accuracy (%)",
           title=f"{dataset_title(dataset)}: accuracy under shot noise")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
