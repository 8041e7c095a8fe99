"""Table I's rows from the shipped runs' metrics.json, as a Markdown table (the README's):
the Table I rule's own function (qdistill.report.table1), without re-evaluating anything.
`make paper-tables` re-evaluates the shipped sets and adds the figures and the other tables.

    python tools/published_table1.py [--root published] [--budget paper] [--dataset mnist]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qdistill.artifacts import METRICS
from qdistill.config import load_config
from qdistill.files import read_json
from qdistill.published import run_folder, shipped_runs, table1_models
from qdistill.report.cells import mean_std_cells
from qdistill.report.table1 import runs_frame, table1

REPO = Path(__file__).resolve().parents[1]


def rows(root: Path, budget: str, dataset: str) -> list[str]:
    config = load_config(overrides={"budget": budget})
    variants = config["model_variants"]
    shipped = [r for r in shipped_runs(root, budget) if r["dataset"] == dataset]
    metrics = [read_json(run_folder(root, budget, **r) / METRICS) for r in shipped]
    models = table1_models(config, shipped)
    table = table1(runs_frame(metrics), [dataset], models, variants,
                   config["budgets"][budget]["seeds"], allow_missing=True)
    lines = ["| model | paper | final set | best by training subset | seeds | verdict |",
             "|---|---:|---:|---:|---:|---|"]
    finals = mean_std_cells(table.acc_mean, table.acc_std)
    bests = mean_std_cells(table.best_acc_mean, table.best_acc_std)
    for row, final, best in zip(table.itertuples(), finals, bests):
        paper = "not reported" if row.paper_acc != row.paper_acc else f"{row.paper_acc:.1f}"
        label = row.model + (" (circuit angles never trained, as in the authors' code)"
                             if variants[row.model].get("frozen_circuit") else "")
        lines.append(f"| {label} | {paper} | {final or 'not run'} | {best} | "
                     f"{row.n_seeds} | {row.verdict} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(REPO / "published"))
    parser.add_argument("--budget", default="paper")
    parser.add_argument("--dataset", default="mnist")
    args = parser.parse_args()
    print("\n".join(rows(Path(args.root), args.budget, args.dataset)))


if __name__ == "__main__":
    main()
