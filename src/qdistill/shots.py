"""Shot noise: test accuracy of a distilled set's trained network when the QNN's
expectation values are estimated from finite shots on pennylane-lightning's lightning.qubit.

The network is trained as evaluate() trains it (theta0, the learned steps, the run's dtype,
the fast path); then it is evaluated in float64 on a fixed random subset of the test set,
once with the fast path and once per shots setting on lightning.qubit, analytic included
(which must give the fast path's accuracy: the same circuit, computed two ways).
Only the QNN is sampled: a quanvolutional front end (an extension model put in `models`)
stays exact, so its shot noise is not part of these numbers.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import torch

from .artifacts import Distilled
from .data import ImageData, normalize
from .training import accuracy
from .evaluate import network, on_device, trained_parameters
from .rng import generator


def test_subset(data: ImageData, n_images: int) -> torch.Tensor:
    """Indices of a fixed random subset of the test set (the same for every run)."""
    n = min(n_images, len(data.test_labels))
    return torch.randperm(len(data.test_labels), generator=generator(0, "shots-test-subset"))[:n]


def shot_seed(seed: int, shots: int | None) -> int:
    """The sampling seed of one run and shots setting (lightning.qubit takes an int)."""
    return generator(seed, f"shots/{shots}").initial_seed() % 2**32


def evaluate_shots(distilled: Distilled, data: ImageData, shots: list[int],
                   n_images: int, device: str = "auto") -> dict[str, Any]:
    start = time.perf_counter()
    run, data = on_device(distilled, data, device)
    settings = run.settings
    if settings.model.kind != "quantum":
        raise ValueError(f"{settings.model.model_id} has no circuit to measure with shots.")
    net, theta0, constants = network(run, settings.seed, backend="fast")
    trained = trained_parameters(net, theta0, constants, run.images, run.labels, run.lrs,
                                 settings.distill.distill_epochs)

    net = net.double()
    params = {name: p.detach().double() for name, p in trained.items()}
    idx = test_subset(data, n_images).to(data.test_labels.device)
    images = normalize(data.test_images[idx], settings.dataset, torch.float64)
    labels = data.test_labels[idx]
    fast_acc = accuracy(net, params, images, labels)
    results = []
    for s in [None, *shots]:
        measured = copy.deepcopy(net)  # the same network, its circuit measured on lightning
        measured.qnn = net.qnn.on_lightning(s, shot_seed(settings.seed, s))
        # all images in one batched execution: one sampling stream per setting
        results.append({"shots": s, "test_acc": accuracy(measured, params, images, labels,
                                                         batch_size=len(labels))})
    return {"dataset": settings.dataset.name, "model": settings.model.model_id,
            "seed": settings.seed, "budget": settings.budget, "n_test_images": len(labels),
            "fast_acc": fast_acc, "analytic_equals_fast": results[0]["test_acc"] == fast_acc,
            "results": results, "wall_time_s": time.perf_counter() - start}
