"""Whether torch.compile pays for either part of an outer iteration, each compiled on its
own (a compiled graph cannot be differentiated twice, so the iteration is not compiled
whole):

- `real_batch`: the outer loss on the real batch and its gradient in theta_T, first order,
  chunked as hypergradient.real_batch_gradient.
- `inner_steps`: the T inner steps kept differentiable and dL/dtheta_T pushed back through
  them to the images and step sizes. The compiled step takes its inner gradient with
  torch.func.grad, which torch.compile traces (autograd.grad with create_graph it cannot),
  so the step's double derivative is one compiled backward.

    python bench/compile_passes.py [--mirror DIR] [--out results/bench/compile_passes.json]

Per case and part, in one process with one thread: the first compiled call's wall and CPU
seconds (the compile; its worker processes' CPU is not counted), then eager and compiled
passes alternated, CPU seconds each (median), and the largest relative difference of the
compiled gradients from the eager ones.
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
from qdistill.distill import init_synthetic
from qdistill.hypergradient import CPU_REAL_CHUNK, real_batch_gradient
from qdistill.models import make_network
from qdistill.rng import generator
from qdistill.training import inner_schedule, split_parameters, step_sizes, train_steps

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
    return grads


def timed(passes: dict, repeats: int) -> dict:
    """Median CPU seconds of each pass, the passes alternated so that a change of load on
    the shared machine hits all of them."""
    times = {name: [] for name in passes}
    for _ in range(repeats):
        for name, run in passes.items():
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def compare(dataset: str, model: str, part: str, eager, compiled, repeats: int) -> dict:
    """Compile (the first call), check the gradients against eager, then time both."""
    wall, cpu = time.perf_counter(), time.process_time()
    compiled_grads = compiled()
    compile_wall, compile_cpu = time.perf_counter() - wall, time.process_time() - cpu
    eager_grads = eager()
    seconds = timed({"eager": eager, "compiled": compiled}, repeats)
    slow, fast = seconds["eager"], seconds["compiled"]
    return {"dataset": dataset, "model": model, "part": part, "compile_wall_s": compile_wall,
            "compile_cpu_s_this_process": compile_cpu, "eager_cpu_s": slow,
            "compiled_cpu_s": fast, "compiled_over_eager": fast / slow,
            "max_relative_gradient_difference": max(
                ((c - e).norm() / e.norm()).item() for c, e in zip(compiled_grads,
                                                                    eager_grads)),
            "paper_run_iterations_to_repay_compile":
                compile_wall / (slow - fast) if fast < slow else None}


def measure(dataset: str, model: str, data_root: str, mirror: str | None,
            repeats: int) -> list[dict]:
    settings = run_settings(load_config(overrides={"budget": "paper", "device": "cpu"}),
                            dataset, model, 0)
    data = load_dataset(dataset, data_root, mirror)
    net = make_network(settings.model, settings.dataset, 0)
    theta0, constants = split_parameters(net, settings.frozen_circuit)
    real_images, real_labels = next(RealBatches(data, settings.dataset,
                                                settings.distill.batch_size,
                                                generator(0, "bench"), torch.float32))

    def loss_of_chunk(params, x, y, n):
        return F.cross_entropy(functional_call(net, params, (x,)), y, reduction="sum") / n

    compiled_chunk = torch.compile(loss_of_chunk, dynamic=False)
    records = [compare(dataset, model, "real_batch",
                       lambda: real_pass(loss_of_chunk, theta0, constants, real_images,
                                         real_labels),
                       lambda: real_pass(compiled_chunk, theta0, constants, real_images,
                                         real_labels), repeats)]

    images, labels, raw_lrs = init_synthetic(settings, generator(0, "synthetic"),
                                             torch.float32)
    images.requires_grad_()
    raw_lrs.requires_grad_()
    # dL/dtheta_T of the real batch, at theta0: what an iteration pushes back
    _, grad_theta_t = real_batch_gradient(net, theta0, constants, real_images, real_labels,
                                          CPU_REAL_CHUNK)
    epochs = settings.distill.distill_epochs

    def inner_loss(params, x, y):
        return F.cross_entropy(functional_call(net, {**params, **constants}, (x,)), y)

    def inner_step(params, x, y, lr):
        grads = torch.func.grad(inner_loss)(params, x, y)
        return {name: p - lr * grads[name] for name, p in params.items()}

    compiled_step = torch.compile(inner_step, dynamic=False)

    def eager_inner():
        steps = inner_schedule(images, labels, step_sizes(raw_lrs), epochs)
        theta_t = train_steps(net, theta0, constants, steps, create_graph=True)
        return torch.autograd.grad(list(theta_t.values()), [images, raw_lrs], grad_theta_t)

    def compiled_inner():
        params = theta0
        for x, y, lr in inner_schedule(images, labels, step_sizes(raw_lrs), epochs):
            params = compiled_step(params, x, y, lr)
        return torch.autograd.grad(list(params.values()), [images, raw_lrs], grad_theta_t)

    records.append(compare(dataset, model, "inner_steps", eager_inner, compiled_inner,
                           repeats))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--data-root", default="resources/data")
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--out", default="results/bench/compile_passes.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    records = []
    for dataset, model in CASES:
        for record in measure(dataset, model, args.data_root, args.mirror, args.repeats):
            records.append(record)
            print(f"{dataset:8s} {model:11s} {record['part']:11s} compile "
                  f"{record['compile_wall_s']:.0f} s wall; eager {record['eager_cpu_s']:.4f}"
                  f" CPU s, compiled {record['compiled_cpu_s']:.4f} "
                  f"({record['compiled_over_eager']:.2f}x); gradient "
                  f"{record['max_relative_gradient_difference']:.1e}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"torch": torch.__version__, "records": records}, indent=2)
                   + "\n")


if __name__ == "__main__":
    main()
