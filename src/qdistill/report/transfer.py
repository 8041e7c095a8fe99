"""The transfer table and figure (rule transfer_table, and the transfer rows of the
extensions table) from the transfer.json files of transfer.py's evaluation. No torch or
PennyLane: the report rules run it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..config import dataset_title
from .cells import joined, mean_std_cells, one_decimal, signed_cells, write_markdown_and_latex
from .plotting import accuracy_axes, save

FRAME_COLUMNS = ["dataset", "model", "seed", "init_seed", "own", "test_acc", "random_real_acc",
                 "init_acc", "budget"]
SUMMARY_COLUMNS = ["dataset", "model", "init", "n_runs", "own_acc_mean", "other_acc_mean",
                   "other_acc_std", "drop", "other_random_real_mean", "n_other_inits",
                   "budget"]


def transfer_frame(results: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run x init seed (the own init included, `own` true) from transfer.json."""

    return pd.DataFrame([{"dataset": r["dataset"], "model": r["model"], "seed": r["seed"],
                          "init_seed": point["init_seed"], "own": bool(point["own"]),
                          "test_acc": point["test_acc"],
                          "random_real_acc": point["random_real_acc"],
                          "init_acc": point["init_acc"], "budget": r["budget"]}
                         for r in results for point in r["results"]], columns=FRAME_COLUMNS)


def transfer_summary(frame: pd.DataFrame, variants: dict[str, dict] | None = None
                     ) -> pd.DataFrame:
    """Per dataset x model (in the frame's order): the own-init accuracy (mean over runs),
    the other inits' accuracy (mean and std over all run x other-init pairs), the drop
    own - other, the random-real accuracy from the other inits, and other inits per run."""

    rows = []
    for (dataset, model), sel in frame.groupby(["dataset", "model"], sort=False):
        own, other = sel[sel.own], sel[~sel.own]
        own_mean, other_mean = own.test_acc.mean(), other.test_acc.mean()
        rows.append({
            "dataset": dataset, "model": model,
            "init": (variants or {}).get(model, {}).get("init", "fixed"),
            "n_runs": sel.seed.nunique(),
            "own_acc_mean": own_mean, "other_acc_mean": other_mean,
            "other_acc_std": other.test_acc.std(ddof=1) if len(other) > 1 else float("nan"),
            "drop": own_mean - other_mean,
            "other_random_real_mean": other.random_real_acc.mean(),
            "n_other_inits": len(other) / sel.seed.nunique(),
            "budget": joined(sel.budget)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def write_transfer_tables(frame: pd.DataFrame, summary: pd.DataFrame, csv: str | Path,
                          md: str | Path, tex: str | Path) -> None:
    """transfer.csv: every run x init; transfer.md and .tex: the summary with a note."""

    frame.to_csv(csv, index=False, float_format="%.2f")
    shown = summary.copy()
    shown["dataset"] = shown.dataset.map(dataset_title)
    shown["own init (%)"] = summary.own_acc_mean.map(one_decimal)
    shown["other inits (%)"] = mean_std_cells(summary.other_acc_mean, summary.other_acc_std)
    shown["drop"] = signed_cells(summary["drop"])
    shown["random real, other inits (%)"] = summary.other_random_real_mean.map(one_decimal)
    shown["other inits per run"] = summary.n_other_inits.map(lambda n: f"{n:g}")
    shown = shown[["dataset", "model", "init", "n_runs", "own init (%)", "other inits (%)",
                   "drop", "random real, other inits (%)", "other inits per run"]]
    note = ("Test accuracy after the learned steps on the distilled images, taken from the "
            "initialisation the set was distilled for ('own init', mean over runs: the runs' "
            "Table I accuracy) and from other initialisations (other init seeds; mean ± std "
            "over all run x init pairs). drop = own - other: what a distilled set loses on "
            "networks it was not distilled for. 'random real' is one draw of real training "
            "images with the same labels and step sizes, from the other inits. init 'random': "
            "distilled for fresh initialisations drawn every outer iteration (the own init, "
            "the run's seed, is then one more unseen init).")
    title = "Transfer across initialisations"
    write_markdown_and_latex(shown, title, title, note, md, tex, "lllrrrrrr", "tab:transfer",
                             disable_numparse=True,  # keep 85.0, +30.0
                             colalign=["left"] * 3 + ["right"] * 6)


def transfer_figure(frame: pd.DataFrame, dataset: str, path_png: str | Path) -> Path:
    """Per model: test accuracy from every other init (points, their mean as a line), from
    the own init (red stars, one per run), and of random real images from the other inits
    (faint grey). Saved as path_png and as the PDF beside it; returns the PDF's path."""
    sel = frame[frame.dataset == dataset]
    models = list(dict.fromkeys(sel.model))
    other, own = sel[~sel.own], sel[sel.own]
    fig, ax = plt.subplots(figsize=(1.3 * len(models) + 2.5, 3.4))
    sns.stripplot(other, x="model", y="random_real_acc", order=models, color="grey",
                  alpha=0.35, size=4, jitter=0.2, ax=ax, label="random real, other init")
    sns.stripplot(other, x="model", y="test_acc", order=models, color="#08519c", size=5,
                  jitter=0.2, ax=ax, label="distilled, other init")
    means = other.groupby("model").test_acc.mean().reindex(models)
    ax.hlines(means, [i - 0.3 for i in range(len(models))], [i + 0.3 for i in range(len(models))],
              color="#08519c", linewidth=1.5, label="mean, other inits")
    ax.scatter([models.index(m) for m in own.model], own.test_acc, marker="*", s=160,
               color="#cb181d", edgecolors="black", linewidths=0.5, zorder=5,
               label="distilled, own init")
    accuracy_axes(ax, dataset, "distilled images from other initialisations")
    ax.tick_params(axis="x", rotation=30)
    pdf = Path(path_png).with_suffix(".pdf")
    save(fig, path_png, pdf)
    return pdf
