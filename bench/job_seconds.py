"""Median wall seconds of each kind of job in a finished workflow run, for the estimate every
run prints before it starts (`qdistill.estimate`).

    python bench/job_seconds.py results/quick --budget quick [--data-root resources/data]

reads the run's Snakemake benchmark files (`R/benchmarks/...tsv`) and writes the medians by
rule, rule/dataset and rule/dataset/model into `bench/job_seconds.json` under the budget,
keeping the other budgets' entries. Measure with the cores a real run has (`--cores all`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
from collections import defaultdict
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parent / "job_seconds.json"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def job_keys(relative: Path) -> list[str]:
    """benchmarks/distill/mnist/classical/seed0.tsv -> distill, distill/mnist,
    distill/mnist/classical; benchmarks/table.tsv -> table."""
    parts = relative.with_suffix("").parts
    rule, folders = parts[0], parts[1:-1]
    return ["/".join((rule, *folders[:n])) for n in range(len(folders) + 1)]


def medians(results: Path, data_root: Path | None) -> dict[str, float]:
    seconds: dict[str, list[float]] = defaultdict(list)
    files = [(f, f.relative_to(results / "benchmarks"))
             for f in sorted((results / "benchmarks").rglob("*.tsv"))]
    if data_root is not None:
        files += [(f, Path("download", f.name.split(".")[0], "x.tsv"))
                  for f in sorted(data_root.glob("*.download.tsv"))]
    if not files:
        raise SystemExit(f"no benchmark files under {results / 'benchmarks'}: give the "
                         "results folder of a finished run (e.g. results/quick)")
    for file, relative in files:
        wall = float(pd.read_csv(file, sep="\t")["s"].iloc[-1])
        for key in job_keys(relative):
            seconds[key].append(wall)
    return {key: round(statistics.median(v), 1) for key, v in sorted(seconds.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a finished run's results folder")
    parser.add_argument("--budget", required=True, help="the budget that run was made at")
    parser.add_argument("--data-root", type=Path, help="where its download benchmarks are")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = json.loads(args.out.read_text()) if args.out.exists() else {"budgets": {}}
    data["budgets"][args.budget] = medians(args.results, args.data_root)
    data["measured_on"] = (f"{cpu_model()}, {os.cpu_count()} cores, "
                           f"{datetime.date.today().isoformat()}")
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, args.out)
    print(f"{args.out}: {len(data['budgets'][args.budget])} keys at budget {args.budget}")


if __name__ == "__main__":
    main()
