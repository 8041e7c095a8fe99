"""Why a distillation stopped moving: the hypergradient at a shipped set, or the size of
the last outer (Adam) step a checkpoint took.

    python tools/outer_step_sizes.py run published/paper/mnist/q-res-herm/seed1 [--batches 3]
    python tools/outer_step_sizes.py checkpoint CHECKPOINT.pt

`run`: the outer loss and the norms of its gradient in the images and the raw step sizes,
at the run's final and kept sets, on `--batches` real batches of the run's size (a stream
of their own, so every call sees the same batches). A frozen run whose hypergradient is as
large as a healthy run's was stopped by its optimiser, not by its gradient.

`checkpoint`: per learned tensor (the images, the raw step sizes), Adam's first moment
|m|, the root of its second moment sqrt(v) (means over the entries) and the mean size of
the step it last took (last_steps). After a spike of huge gradients v stays large for
thousands of iterations (beta2 = 0.999), so the steps are tiny however large the
hypergradient is. A carried checkpoint in the history of published/ is read with
`git show COMMIT:published/.../checkpoint.pt > checkpoint.pt`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from qdistill.artifacts import load_checkpoint, load_distilled
from qdistill.data import RealBatches, load_dataset
from qdistill.hypergradient import CPU_REAL_CHUNK, hypergradient
from qdistill.models import make_network
from qdistill.rng import generator
from qdistill.training import split_parameters

LEARNED = ("images", "raw_lrs")  # Adam's parameter order in distill.Distillation


def run(args: argparse.Namespace) -> None:
    distilled = load_distilled(Path(args.run_dir) / "distilled.pt")
    s = distilled.settings
    net = make_network(s.model, s.dataset, s.seed)
    theta0, constants = split_parameters(net, s.frozen_circuit)
    data = load_dataset(s.dataset.name, args.data_root, args.mirror)
    sets = [("final", distilled.images, distilled.raw_lrs)]
    if distilled.best is not None:
        sets.append((f"kept (it. {distilled.best.iteration})", distilled.best.images,
                     distilled.best.raw_lrs))
    for name, images, raw_lrs in sets:
        batches = RealBatches(data, s.dataset, s.distill.batch_size,
                              generator(0, "outer-step-sizes"), torch.float32)
        for batch in range(args.batches):
            real_images, real_labels = next(batches)
            x, raw = images.clone().requires_grad_(), raw_lrs.clone().requires_grad_()
            loss = hypergradient([(net, theta0, constants)], x, distilled.labels, raw,
                                 s.distill.distill_epochs, real_images, real_labels,
                                 CPU_REAL_CHUNK)
            print(f"{name:>18} batch {batch}: outer loss {loss.item():.3f}, |dL/dimages| "
                  f"{x.grad.norm():.3g}, |dL/draw_lrs| {raw.grad.norm():.3g}")


def last_steps(optimizer: dict) -> dict[str, torch.Tensor]:
    """The step Adam last took on each learned tensor, entry by entry, at the optimizer's
    current learning rate: lr m^ / (sqrt(v^) + eps) with the bias corrections (the scheduler
    changes lr only every decay_epochs)."""
    group = optimizer["param_groups"][0]
    lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
    steps = {}
    for name, index in zip(LEARNED, group["params"]):
        moments = optimizer["state"][index]
        count = float(moments["step"])
        m_hat = moments["exp_avg"] / (1 - beta1 ** count)
        v_hat = moments["exp_avg_sq"] / (1 - beta2 ** count)
        steps[name] = lr * m_hat / (v_hat.sqrt() + eps)
    return steps


def checkpoint(args: argparse.Namespace) -> None:
    state = load_checkpoint(args.checkpoint)
    optimizer = state["optimizer"]
    group = optimizer["param_groups"][0]
    print(f"iteration {state['iteration']}, outer learning rate {group['lr']:.3g}, betas "
          f"{tuple(group['betas'])}")
    for (name, step), index in zip(last_steps(optimizer).items(), group["params"]):
        moments = optimizer["state"][index]
        print(f"{name:>8}: |m| {moments['exp_avg'].abs().mean():.3g}, sqrt(v) "
              f"{moments['exp_avg_sq'].sqrt().mean():.3g}, last step {step.abs().mean():.3g} "
              f"(largest {step.abs().max():.3g})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="the hypergradient at a shipped run's final and kept sets")
    r.add_argument("run_dir")
    r.add_argument("--batches", type=int, default=3)
    r.add_argument("--mirror", default=None)
    r.add_argument("--data-root", default="resources/data")
    r.set_defaults(func=run)
    c = sub.add_parser("checkpoint", help="the size of a checkpoint's last Adam step")
    c.add_argument("checkpoint")
    c.set_defaults(func=checkpoint)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.func(args)


if __name__ == "__main__":
    main()
