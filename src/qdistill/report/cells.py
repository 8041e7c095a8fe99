"""What every table of the report shares: the model's cells, joined and spread values,
number formats, and the Markdown / LaTeX / HTML writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

OBSERVABLE_TITLES = {"pauliz": "Pauli-Z", "hermitian-fixed": "fixed Hermitian",
                     "hermitian": "trainable Hermitian",
                     "hermitian-pair": "trainable two-qubit Hermitian"}


def model_cells(spec: dict[str, Any]) -> dict[str, str]:
    """The residual and observable cells of a model variant (empty for a classical model)."""
    if spec["kind"] != "quantum":
        return {"residual": "", "observable": ""}
    return {"residual": "yes" if spec["residual"] else "no",
            "observable": OBSERVABLE_TITLES[spec["observable"]]}


def joined(values) -> str:
    """The distinct values of a column as one cell, e.g. the budgets 'paper+quick'."""
    return "+".join(sorted(set(map(str, values))))


def spread(values: pd.Series) -> float:
    """The standard deviation over seeds; NaN with fewer than two values."""
    return values.std(ddof=1) if values.notna().sum() > 1 else float("nan")


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
