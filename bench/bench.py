"""Seconds per outer distillation iteration and peak memory, at the paper's settings
(MNIST: T = 3, 10 images; CIFAR-10: T = 30, 100 images; real batch 1024).

    python bench/bench.py [--mirror DIR] [--threads 2 1] [--out results/bench/bench.json]

Each case runs in its own process (so its peak RSS is its own), with the data preloaded as
tensors; the first iterations are warm-up. Every case runs at each thread count asked for.
Writes bench.json (a list of records), the target ratios per thread count (ratios.json),
the paper budget's wall-time estimate (estimate.json) and a bar chart (bench.png) beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import statistics
import subprocess
import sys
from pathlib import Path

# (dataset, model, backend, warm-up iterations, timed iterations)
CASES = [
    ("mnist", "classical", "fast", 3, 40),
    ("mnist", "q-res-herm", "fast", 3, 40),
    ("mnist", "q-res-herm", "pennylane", 1, 8),
    ("cifar10", "classical", "fast", 2, 12),
    ("cifar10", "q-res-herm", "fast", 2, 12),
    ("cifar10", "q-res-herm", "pennylane", 1, 3),
]


def run_case(dataset, model, backend, warmup, timed, mirror, data_root, threads) -> dict:
    """One case, in this process."""
    import torch

    from qdistill.config import load_config, run_settings
    from qdistill.data import load_dataset
    from qdistill.distill import distill

    torch.set_num_threads(threads)
    config = load_config(overrides={"budget": "paper", "device": "cpu", "qnn_backend": backend})
    settings = run_settings(config, dataset, model, 0)
    data = load_dataset(dataset, data_root, mirror)
    result = distill(settings, data, iterations=warmup + timed, log_every=10**9, progress=False)
    times = result.iteration_s[warmup:]
    paper_iterations = round(settings.distill.epochs
                             * math.ceil(len(data.train_labels) / settings.distill.batch_size))
    return {"dataset": dataset, "model": model, "backend": backend,
            "inner_steps": settings.distill.inner_steps, "paper_iterations": paper_iterations,
            "distilled_images": int(result.labels.numel()),
            "batch_size": settings.distill.batch_size, "timed_iterations": timed,
            "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads(), "torch_version": torch.__version__,
            "python": platform.python_version(), "machine": platform.machine()}


def ratios(records: list[dict]) -> dict:
    """The issue's targets, per thread count: quantum (fast) over classical, PennyLane
    over fast."""
    out = {}
    for threads in sorted({r["threads"] for r in records}, reverse=True):
        by = {(r["dataset"], r["model"], r["backend"]): r["median_s"]
              for r in records if r["threads"] == threads}
        for dataset in ("mnist", "cifar10"):
            fast = by.get((dataset, "q-res-herm", "fast"))
            classical = by.get((dataset, "classical", "fast"))
            pennylane = by.get((dataset, "q-res-herm", "pennylane"))
            if fast and classical:
                out[f"{dataset}_quantum_fast_over_classical_{threads}threads"] = fast / classical
            if fast and pennylane:
                out[f"{dataset}_pennylane_over_fast_{threads}threads"] = pennylane / fast
    return out


def estimate(records: list[dict], cores=(2, 8, 32)) -> dict:
    """Wall time of the paper budget's distillation runs (Table I), from the one-thread
    medians: the workflow's jobs use one thread each, so N cores run N jobs at once. Every
    quantum variant is costed as q-res-herm (the one with the most trained parameters)."""
    from qdistill.config import load_config

    config = load_config(overrides={"budget": "paper"})
    seeds = len(config["budgets"]["paper"]["seeds"])
    quantum = [m for m in config["models"] if config["model_variants"][m]["kind"] == "quantum"]
    one = {(r["dataset"], r["model"]): r for r in records
           if r["threads"] == 1 and r["backend"] == "fast"}
    runs_h = []
    per_run = {}
    for dataset in config["datasets"]:
        for model in ("classical", "q-res-herm"):
            r = one.get((dataset, model))
            if r is None:
                return {"error": "estimate needs the one-thread fast cases (--threads ... 1)"}
            hours = r["median_s"] * r["paper_iterations"] / 3600
            per_run[f"{dataset}/{model}"] = {"iterations": r["paper_iterations"],
                                             "s_per_iteration": r["median_s"], "hours": hours}
        runs_h += [per_run[f"{dataset}/classical"]["hours"]] * seeds
        runs_h += [per_run[f"{dataset}/q-res-herm"]["hours"]] * seeds * len(quantum)
    total = sum(runs_h)
    return {"assumption": " ".join(estimate.__doc__.split()),
            "seeds": seeds, "runs": len(runs_h), "per_run": per_run,
            "total_job_hours": total, "longest_run_hours": max(runs_h),
            "wall_hours_on_cores": {n: max(total / n, max(runs_h)) for n in cores}}


def chart(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    import seaborn as sns

    df = pd.DataFrame(records)
    df["case"] = [m if m == "classical" else f"{m} ({b})" for m, b in zip(df.model, df.backend)]
    grid = sns.catplot(df, x="case", y="median_s", col="dataset", hue="threads", kind="bar",
                       sharey=False, height=3.2, aspect=1.2,
                       palette=["#9ecae1", "#2171b5", "#08306b"][:df.threads.nunique()])
    grid.set_axis_labels("", "seconds per outer iteration (median)")
    grid.set_xticklabels(rotation=20)
    grid.figure.suptitle("Distillation speed at the paper's settings (CPU threads per run)",
                         y=1.04)
    grid.savefig(path, dpi=130, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--data-root", default="resources/data")
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--out", default="results/bench/bench.json")
    parser.add_argument("--case", nargs=5, help=argparse.SUPPRESS)  # internal: one case
    args = parser.parse_args()
    if args.case:
        dataset, model, backend, warmup, timed = args.case
        print(json.dumps(run_case(dataset, model, backend, int(warmup), int(timed),
                                  args.mirror, args.data_root, args.threads[0])))
        return
    records = []
    for threads, case in ((t, c) for t in args.threads for c in CASES):
        cmd = [sys.executable, __file__, "--case", *map(str, case), "--data-root",
               args.data_root, "--threads", str(threads)]
        if args.mirror:
            cmd += ["--mirror", args.mirror]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"benchmark case {case} failed:\n{proc.stderr}")
        records.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = records[-1]
        print(f"{r['threads']} thread(s) {r['dataset']:8s} {r['model']:11s} {r['backend']:9s} "
              f"median {r['median_s']:.3f} s  peak {r['peak_rss_mb']:.0f} MB", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=2) + "\n")
    summary = ratios(records)
    out.with_name("ratios.json").write_text(json.dumps(summary, indent=2) + "\n")
    paper = estimate(records)
    out.with_name("estimate.json").write_text(json.dumps(paper, indent=2) + "\n")
    chart(records, out.with_suffix(".png"))
    print(json.dumps(summary, indent=2))
    print(json.dumps(paper, indent=2))


if __name__ == "__main__":
    main()
