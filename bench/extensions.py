"""What the extensions cost: seconds per outer distillation iteration at the
paper's settings for the reference model and every extension model, one thread, and the
quanvolutional front end per image (fast path and the PennyLane filter, forward only).

    python bench/extensions.py [--mirror DIR] [--out results/bench/extensions.json]

Distillation cases run in their own processes through bench.py's run_case.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import run_case  # noqa: E402

MODELS = ["q-res-herm", "q-res-herm-angle", "q-res-herm-pair", "q-res-herm-quanv",
          "q-res-herm-frozen"]
TIMED = {"mnist": (2, 15), "cifar10": (1, 5)}  # warm-up, timed iterations


def quanvolution_per_image(dataset: str, images: int = 64, repeats: int = 5) -> dict:
    """Forward time of the quanvolutional layer per image, fast path and PennyLane filter
    (default.qubit, broadcast over the patches), and the circuit executions per image."""
    import torch

    from qdistill.config import dataset_spec, load_config
    from qdistill.cost import quanvolution_patches
    from qdistill.quantum import QuanvolutionLayer

    torch.set_num_threads(1)
    config = load_config()
    shape = dataset_spec(config, dataset).image_shape
    x = torch.randn(images, *shape)
    record = {"dataset": dataset, "image_shape": list(shape),
              "executions_per_image": quanvolution_patches(shape)}
    for backend, n in (("fast", images), ("pennylane", 4)):
        layer = QuanvolutionLayer(config["quanvolution"]["n_layers"], False, backend)
        layer.reset_parameters(torch.Generator().manual_seed(0))
        with torch.no_grad():
            layer(x[:n])
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                layer(x[:n])
                times.append((time.perf_counter() - start) / n)
        record[f"{backend}_ms_per_image"] = 1000 * statistics.median(times)
    return record


def paper_estimate(records: list[dict]) -> dict:
    """Job-hours the extension models add at the paper budget (the reference model's runs
    are Table I's): one-thread seconds per iteration x paper iterations x seeds."""
    from qdistill.config import load_config

    seeds = len(load_config()["budgets"]["paper"]["seeds"])
    hours = {f"{r['dataset']}/{r['model']}": r["median_s"] * r["paper_iterations"] / 3600
             for r in records if r["model"] != MODELS[0]}
    return {"hours_per_run": {k: round(v, 2) for k, v in hours.items()}, "seeds": seeds,
            "extension_job_hours": round(seeds * sum(hours.values()), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--data-root", default="resources/data")
    parser.add_argument("--out", default="results/bench/extensions.json")
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)  # internal: one case
    args = parser.parse_args()
    if args.case:
        dataset, model = args.case
        print(json.dumps(run_case(dataset, model, "fast", *TIMED[dataset], args.mirror,
                                  args.data_root, 1)))
        return
    records = []
    for dataset in TIMED:
        for model in MODELS:
            cmd = [sys.executable, __file__, "--case", dataset, model, "--data-root",
                   args.data_root] + (["--mirror", args.mirror] if args.mirror else [])
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"extension case {dataset} {model} failed:\n{proc.stderr}")
            records.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"{dataset:8s} {model:18s} median {records[-1]['median_s']:.3f} s", flush=True)
    quanv = [quanvolution_per_image(d) for d in TIMED]
    for q in quanv:
        print(f"quanvolution {q['dataset']}: {q['executions_per_image']} executions/image, "
              f"fast {q['fast_ms_per_image']:.3f} ms, PennyLane "
              f"{q['pennylane_ms_per_image']:.1f} ms per image")
    paper = paper_estimate(records)
    print(json.dumps(paper, indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"distillation": records, "quanvolution": quanv,
                               "paper_estimate": paper}, indent=2) + "\n")


if __name__ == "__main__":
    main()
