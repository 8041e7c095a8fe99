"""Whether torch.compile pays for the real-batch pass of an outer iteration (the outer loss
on the 1024 real images and its gradient in theta_T, first order only: the part of an
iteration that compiling can reach, since compiled graphs cannot be differentiated twice).

    python bench/compile_real_batch.py [--mirror DIR] [--out results/bench/compile_real_batch.json]

Per case, in one process with one thread: the first compiled call's wall and CPU seconds
(the compile; its worker processes' CPU is not counted), then eager and compiled passes
alternated, CPU seconds each (median), and the largest relative difference of the
compiled gradient from the eager one. The chunking is the library's
(hypergradient.real_batch_gradient, CPU_REAL_CHUNK images at a time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call

from qdistill.config import load_config, run_settings
from qdistill.data import RealBatches, load_dataset
from qdistill.hypergradient import CPU_REAL_CHUNK
from qdistill.models import make_network
from qdistill.rng import generator
from qdistill.training import split_parameters

CASES = [("mnist", "classical"), ("mnist", "q-res-herm"), ("cifar10", "classical"),
         ("cifar10", "q-res-herm")]


def real_pass(loss_of_chunk, theta: dict, constants: dict, images, labels):
    """The outer loss and its gradient in theta, chunk by chunk, as real_batch_gradient."""
    at = {name: p.detach().requires_grad_() for name, p in theta.items()}
    loss, grads = 0.0, None
    for x, y in zip(images.split(CPU_REAL_CHUNK), labels.split(CPU_REAL_CHUNK)):
        part = loss_of_chunk({**at, **constants}, x, y, len(labels))
        part_grads = torch.autograd.grad(part, list(at.values()))
        grads = list(part_grads) if grads is None else [a + b for a, b in
                                                         zip(grads, part_grads)]
        loss += part.detach()
    return loss, grads


def measure(dataset: str, model: str, data_root: str, mirror: str | None,
            repeats: int) -> dict:
    settings = run_settings(load_config(overrides={"budget": "paper", "device": "cpu"}),
                            dataset, model, 0)
    data = load_dataset(dataset, data_root, mirror)
    net = make_network(settings.model, settings.dataset, 0)
    theta0, constants = split_parameters(net, settings.frozen_circuit)
    images, labels = next(RealBatches(data, settings.dataset, settings.distill.batch_size,
                                      generator(0, "bench"), torch.float32))

    def loss_of_chunk(params, x, y, n):
        return F.cross_entropy(functional_call(net, params, (x,)), y, reduction="sum") / n

    compiled = torch.compile(loss_of_chunk, dynamic=False)
    wall, cpu = time.perf_counter(), time.process_time()
    _, compiled_grads = real_pass(compiled, theta0, constants, images, labels)
    compile_wall, compile_cpu = time.perf_counter() - wall, time.process_time() - cpu
    _, eager_grads = real_pass(loss_of_chunk, theta0, constants, images, labels)
    times = {"eager": [], "compiled": []}
    for _ in range(repeats):  # alternated, so that a change of load hits both
        for name, fn in (("eager", loss_of_chunk), ("compiled", compiled)):
            start = time.process_time()
            real_pass(fn, theta0, constants, images, labels)
            times[name].append(time.process_time() - start)
    eager, fast = statistics.median(times["eager"]), statistics.median(times["compiled"])
    return {"dataset": dataset, "model": model, "compile_wall_s": compile_wall,
            "compile_cpu_s_this_process": compile_cpu, "eager_cpu_s": eager,
            "compiled_cpu_s": fast, "compiled_over_eager": fast / eager,
            "max_relative_gradient_difference": max(
                ((c - e).norm() / e.norm()).item() for c, e in zip(compiled_grads,
                                                                    eager_grads)),
            "paper_run_iterations_to_repay_compile":
                compile_wall / (eager - fast) if fast < eager else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--data-root", default="resources/data")
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--out", default="results/bench/compile_real_batch.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = []
    for dataset, model in CASES:
        record = measure(dataset, model, args.data_root, args.mirror, args.repeats)
        records.append(record)
        print(f"{dataset:8s} {model:11s} compile {record['compile_wall_s']:.0f} s wall; "
              f"eager {record['eager_cpu_s']:.4f} CPU s, compiled "
              f"{record['compiled_cpu_s']:.4f} ({record['compiled_over_eager']:.2f}x); "
              f"gradient {record['max_relative_gradient_difference']:.1e}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"torch": torch.__version__, "records": records}, indent=2)
                   + "\n")


if __name__ == "__main__":
    main()
