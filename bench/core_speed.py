"""Seconds per outer distillation iteration at the paper's MNIST settings (T = 3, real
batch 1024): classical LeNet, q-res-herm on the fast QNN path and on the PennyLane path.

    python bench/core_speed.py [--mirror ../shared/datasets] [--out results/bench/core_speed.json]

Data is preloaded as tensors; the first iterations are warm-up and not counted.
"""

import argparse
import json
import platform
import resource
import statistics
from pathlib import Path

import torch

from qdistill.artifacts import write_json
from qdistill.config import load_config, run_settings
from qdistill.data import load_dataset
from qdistill.distill import distill

CASES = [("classical", "fast", 3, 20), ("q-res-herm", "fast", 3, 20),
         ("q-res-herm", "pennylane", 1, 4)]  # model, backend, warm-up, timed iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--data-root", default="resources/data")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default="results/bench/core_speed.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(overrides={"budget": "paper", "device": "cpu"})
    data = load_dataset("mnist", args.data_root, args.mirror)
    records = []
    for model_id, backend, warmup, timed in CASES:
        settings = run_settings(dict(config, qnn_backend=backend), "mnist", model_id, 0)
        result = distill(settings, data, iterations=warmup + timed, progress=False)
        times = result.iteration_s[warmup:]
        records.append({"dataset": "mnist", "model": model_id, "backend": backend,
                        "inner_steps": settings.distill.inner_steps,
                        "batch_size": settings.distill.batch_size, "timed_iterations": timed,
                        "median_s": statistics.median(times), "min_s": min(times),
                        "max_s": max(times), "threads": torch.get_num_threads(),
                        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                        "torch_version": torch.__version__, "python": platform.python_version()})
        print(f"{model_id:12s} {backend:9s} median {records[-1]['median_s']:.3f} s/iteration")
    write_json(Path(args.out), records)
    print(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
