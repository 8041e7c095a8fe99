"""The figures of the Table I runs (PNG and PDF): distilled image grids, accuracy per
model with every seed and the paper's value, outer-loss / test-batch accuracy curves and
the test accuracy along each run."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from ..artifacts import Distilled
from ..config import dataset_title
from .plotting import accuracy_axes, budget_label, chance_line
from .table1 import paper_numbers


def image_grid(distilled: Distilled, classes: list[str], title: str) -> plt.Figure:
    """Rows: the distill_steps groups; columns: the images of a group, labelled by class.
    Images are denormalised with the dataset's mean and std and clipped to [0, 1]."""
    ds = distilled.settings.dataset
    images = distilled.images.float()  # (steps, per_step, C, H, W)
    mean = torch.tensor(ds.mean).view(1, 1, -1, 1, 1)
    std = torch.tensor(ds.std).view(1, 1, -1, 1, 1)
    images = (images * std + mean).clamp(0, 1)
    steps, per_step = images.shape[:2]
    fig, axes = plt.subplots(steps, per_step, figsize=(1.1 * per_step, 1.2 * steps + 0.4),
                             squeeze=False, layout="constrained")
    for s in range(steps):
        for i in range(per_step):
            ax = axes[s][i]
            img = images[s, i].permute(1, 2, 0).numpy()
            ax.imshow(img.squeeze(-1) if img.shape[-1] == 1 else img,
                      cmap="gray" if img.shape[-1] == 1 else None, vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if s == 0:
                ax.set_title(classes[int(distilled.labels[s, i])], fontsize=7)
        axes[s][0].set_ylabel(f"step {s + 1}", fontsize=7)
    budget = distilled.settings.budget
    fig.suptitle(f"{title} (budget {budget}, {distilled.iterations:,} iterations)", fontsize=9)
    return fig


def accuracy_plot(runs: pd.DataFrame, dataset: str, models: list[str],
                  what: str = "accuracy after training on the distilled images") -> plt.Figure:
    """Every seed as a point, the mean as a bar, the paper's value as a red diamond."""
    sel = runs[runs.dataset == dataset]
    fig, ax = plt.subplots(figsize=(1.0 * len(models) + 2, 3.4))
    sns.barplot(sel, x="model", y="test_acc", order=models, errorbar=None, color="#c6dbef",
                ax=ax, label="mean over seeds")
    sns.stripplot(sel, x="model", y="test_acc", order=models, color="#08519c", size=5,
                  jitter=0.15, ax=ax, label="seed")
    paper = paper_numbers()
    paper = paper[(paper.dataset == dataset) & paper.model.isin(models)]
    for comparable, style in ((True, dict(color="#cb181d", label="paper")),
                              (False, dict(facecolors="none", edgecolors="#cb181d",
                                           label="paper, other architecture"))):
        rows = paper[paper.comparable == comparable]
        if len(rows):
            ax.scatter([models.index(m) for m in rows.model], rows.paper_acc, marker="D",
                       zorder=5, **style)
    if "random_real_acc" in sel and sel.random_real_acc.notna().any():
        rr = sel.groupby("model").random_real_acc.mean().reindex(models)
        ax.scatter(range(len(models)), rr, marker="_", s=300, color="grey", zorder=4,
                   label="random real images")
    chance_line(ax)
    accuracy_axes(ax, dataset, f"{what} ({budget_label(sel)})")
    ax.tick_params(axis="x", rotation=30)
    return fig


def curves_plot(history: pd.DataFrame, dataset: str, models: list[str]) -> plt.Figure:
    """Outer loss and test-batch accuracy against outer iterations (mean and range over
    seeds), one line per model."""
    sel = history[history.dataset == dataset]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, column, label in ((axes[0], "outer_loss", "outer loss (real batches)"),
                              (axes[1], "test_batch_acc", "test-batch accuracy (%)")):
        sns.lineplot(sel, x="iteration", y=column, hue="model", hue_order=models,
                     errorbar=("pi", 100), ax=ax, legend=ax is axes[1])
        ax.set(ylabel=label, xlabel="outer iteration")
    chance_line(axes[1])
    axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the curves
    fig.suptitle(f"{dataset_title(dataset)}: distillation progress "
                 f"({budget_label(sel)})", fontsize=9)
    return fig


def progress_plot(history: pd.DataFrame, dataset: str, models: list[str]) -> plt.Figure:
    """Test accuracy of the current set against outer iterations, one panel per model, one
    line per seed, the paper's value as a dashed line: the swings and the plateau as they
    are. The set chosen by the selection subset is marked (star). Logs without full-test
    accuracy show the monitor batch's."""
    sel = history[history.dataset == dataset]
    shown = [m for m in models if m in set(sel.model)]
    cols = min(4, max(1, len(shown)))
    rows = -(-len(shown) // cols) if shown else 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False,
                             sharex=True, sharey=True, layout="constrained")
    paper = paper_numbers().set_index(["dataset", "model"])
    palette = sns.color_palette("tab10")
    for ax, model in zip(axes.flat, shown):
        runs = sel[sel.model == model]
        for i, (seed, run) in enumerate(runs.groupby("seed")):
            column = "test_acc" if run.get("test_acc", pd.Series(dtype=float)).notna().all() \
                else "test_batch_acc"
            ax.plot(run.iteration, run[column], color=palette[i % 10], linewidth=0.8,
                    label=f"seed {seed}" + ("" if column == "test_acc" else " (test batch)"))
            if "selection_acc" in run and run.selection_acc.notna().any():
                best = run.loc[run.selection_acc.idxmax()]  # first of equals, as distill keeps
                ax.plot(best.iteration, best[column], marker="*", markersize=9,
                        color=palette[i % 10], markeredgecolor="black", linestyle="none")
        if (dataset, model) in paper.index:
            ax.axhline(paper.paper_acc[(dataset, model)], color="#cb181d", linestyle="--",
                       linewidth=1, label="paper")
        chance_line(ax)
        ax.set(title=model, ylim=(0, 100), xlabel="outer iteration",
               ylabel="test accuracy (%)")
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(0.0, -0.25), ncol=3)
        # shared axes label only the bottom row; a panel above an empty slot needs its own
        ax.tick_params(axis="x", labelbottom=True)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    fig.suptitle(f"{dataset_title(dataset)}: test accuracy of the distilled set "
                 f"during distillation ({budget_label(sel)}; star: the set chosen by "
                 "training-subset accuracy)", fontsize=9)
    return fig


def history_frame(metrics: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [{"dataset": m["dataset"], "model": m["model"], "seed": m["seed"],
             "budget": m["budget"], "iterations": (m.get("distill") or {}).get("iterations"),
             **record}
            for m in metrics for record in (m.get("distill") or {}).get("history", [])]
    return pd.DataFrame(rows).drop(columns=["lrs"], errors="ignore")
