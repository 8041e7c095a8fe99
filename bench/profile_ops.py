"""Where the time of one outer distillation iteration goes, by op (torch.profiler).

    python bench/profile_ops.py mnist q-res-herm [--mirror DIR] [--iterations 10] [--threads 2]

Runs a few warm-up iterations at the paper's settings, profiles the next ones and writes
the table sorted by self CPU time to results/bench/profile_{dataset}_{model}_{backend}.txt.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from qdistill.config import load_config, run_settings
from qdistill.data import load_dataset
from qdistill.distill import distill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset")
    parser.add_argument("model")
    parser.add_argument("--backend", default="fast")
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--data-root", default="resources/data")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(overrides={"budget": "paper", "device": "cpu",
                                    "qnn_backend": args.backend})
    settings = run_settings(config, args.dataset, args.model, 0)
    data = load_dataset(args.dataset, args.data_root, args.mirror)
    # the one log line at the end measures 100 images only: the profile is the iterations'
    quiet = {"log_every": 10**9, "progress": False, "log_test_images": 100,
             "selection_images": 100}
    distill(settings, data, iterations=3, **quiet)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        distill(settings, data, iterations=args.iterations, **quiet)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows)
    out = Path(f"results/bench/profile_{args.dataset}_{args.model}_{args.backend}.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{args.iterations} outer iterations, {args.threads} threads\n{table}\n")
    print(table)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
