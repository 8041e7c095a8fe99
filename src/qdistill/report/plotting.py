"""What every figure of the report shares: files only (the Agg backend), one theme, the
budget in every title, the chance line, accuracy axes and saving as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..config import dataset_title  # noqa: E402
from .cells import joined  # noqa: E402

sns.set_theme(style="whitegrid", context="paper")


def budget_label(frame: pd.DataFrame) -> str:
    """'budget quick, 295 iterations' (or ranges) of the runs in a frame, for titles: a
    smoke figure never looks like a final one."""
    budgets = joined(frame.budget) if "budget" in frame else "?"
    its = sorted(set(int(i) for i in frame.iterations.dropna())) if "iterations" in frame else []
    span = f"{its[0]:,}" if len(its) == 1 else (f"{its[0]:,}-{its[-1]:,}" if its else "?")
    return f"budget {budgets}, {span} iterations"


def chance_line(ax: plt.Axes, classes: int = 10) -> None:
    ax.axhline(100 / classes, color="black", linestyle=":", linewidth=0.8, label="chance")


def save(fig: plt.Figure, png: str | Path, pdf: str | Path) -> None:
    fig.savefig(png, dpi=150, bbox_inches="tight")
    fig.savefig(pdf, bbox_inches="tight")
    plt.close(fig)


def accuracy_axes(ax: plt.Axes, dataset: str, what: str) -> None:
    """Accuracy axes (0 to 100 %), one legend entry per label, outside on the right."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1.0))
    ax.set(ylim=(0, 100), xlabel="", ylabel="test accuracy (%)",
           title=f"{dataset_title(dataset)}: {what}")
