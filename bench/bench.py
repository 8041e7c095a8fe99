"""Seconds per outer distillation iteration and peak memory, at the paper's settings
(MNIST: T = 3, 10 images; CIFAR-10: T = 30, 100 images; real batch 1024).

    python bench/bench.py [--mirror DIR] [--threads N] [--out results/bench/bench.json]

Each case runs in its own process (so its peak RSS is its own), with the data preloaded as
tensors; the first iterations are warm-up. Writes bench.json (a list of records), the
target ratios (ratios.json) and a bar chart (bench.png) beside it.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
from pathlib import Path

# (dataset, model, backend, warm-up iterations, timed iterations)
CASES = [
    ("mnist", "classical", "fast", 3, 20),
    ("mnist", "q-res-herm", "fast", 3, 20),
    ("mnist", "q-res-herm", "pennylane", 1, 5),
    ("cifar10", "classical", "fast", 2, 8),
    ("cifar10", "q-res-herm", "fast", 2, 8),
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
    return {"dataset": dataset, "model": model, "backend": backend,
            "inner_steps": settings.distill.inner_steps,
            "distilled_images": int(result.labels.numel()),
            "batch_size": settings.distill.batch_size, "timed_iterations": timed,
            "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads(), "torch_version": torch.__version__,
            "python": platform.python_version(), "machine": platform.machine()}


def ratios(records: list[dict]) -> dict:
    """The issue's targets: quantum (fast) over classical, PennyLane over fast."""
    by = {(r["dataset"], r["model"], r["backend"]): r["median_s"] for r in records}
    out = {}
    for dataset in ("mnist", "cifar10"):
        fast = by.get((dataset, "q-res-herm", "fast"))
        if fast and (dataset, "classical", "fast") in by:
            out[f"{dataset}_quantum_fast_over_classical"] = fast / by[(dataset, "classical", "fast")]
        if fast and (dataset, "q-res-herm", "pennylane") in by:
            out[f"{dataset}_pennylane_over_fast"] = by[(dataset, "q-res-herm", "pennylane")] / fast
    return out


def chart(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    import seaborn as sns

    df = pd.DataFrame(records)
    df["case"] = [m if m == "classical" else f"{m} ({b})" for m, b in zip(df.model, df.backend)]
    grid = sns.catplot(df, x="case", y="median_s", col="dataset", kind="bar", sharey=False,
                       height=3.2, aspect=1.2, color="#4292c6")
    grid.set_axis_labels("", "seconds per outer iteration (median)")
    grid.set_xticklabels(rotation=20)
    grid.figure.suptitle(f"Distillation speed, {df.threads.iloc[0]} CPU thread(s)", y=1.04)
    grid.savefig(path, dpi=130, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--data-root", default="resources/data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="results/bench/bench.json")
    parser.add_argument("--case", nargs=5, help=argparse.SUPPRESS)  # internal: one case
    args = parser.parse_args()
    if args.case:
        dataset, model, backend, warmup, timed = args.case
        print(json.dumps(run_case(dataset, model, backend, int(warmup), int(timed),
                                  args.mirror, args.data_root, args.threads)))
        return
    records = []
    for case in CASES:
        cmd = [sys.executable, __file__, "--case", *map(str, case), "--data-root",
               args.data_root, "--threads", str(args.threads)]
        if args.mirror:
            cmd += ["--mirror", args.mirror]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"benchmark case {case} failed:\n{proc.stderr}")
        records.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = records[-1]
        print(f"{r['dataset']:8s} {r['model']:11s} {r['backend']:9s} median {r['median_s']:.3f} s"
              f"  peak {r['peak_rss_mb']:.0f} MB", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=2) + "\n")
    summary = ratios(records)
    out.with_name("ratios.json").write_text(json.dumps(summary, indent=2) + "\n")
    chart(records, out.with_suffix(".png"))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
