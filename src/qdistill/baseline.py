"""Normal training on the full training set, from the same fixed initialisation theta0 a
distillation run of that seed starts from: the classical LeNet's accuracy ceiling, and the
quantum LeNet's test accuracy against circuit executions (the cost comparison)."""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .config import RunSettings
from .cost import executions_per_sample
from .data import ImageData, RealBatches, normalize
from .training import accuracy, resolve_device, torch_dtype
from .models import make_network, stays_at_init
from .rng import generator


def train_full(settings: RunSettings, data: ImageData, epochs: float, lr: float,
               batch_size: int, progress: bool = True,
               eval_every: int | None = None) -> dict[str, Any]:
    """Adam on full real batches (augmented as the protocol says) for `epochs` epochs. With
    `eval_every`, also a curve: full test-set accuracy before training, after iterations
    1, 2, 4, 8, ... (so that the point where it passes a given accuracy is resolved early
    on, where it matters), every `eval_every` iterations and at the end, with the samples
    seen and the circuit executions they cost. freeze_circuit keeps the angles fixed here
    too, as in the distillation."""
    start = time.perf_counter()
    device, dtype = resolve_device(settings.device), torch_dtype(settings.dtype)
    data = data.to(device)
    net = make_network(settings.model, settings.dataset, settings.seed, settings.qnn_backend,
                       dtype, device)
    batches = RealBatches(data, settings.dataset, batch_size,
                          generator(settings.seed, "baseline-batches"), dtype)
    iterations = max(1, round(epochs * len(batches)))
    trained = [p for name, p in net.named_parameters()
               if not stays_at_init(name, settings.frozen_circuit)]
    optimizer = torch.optim.Adam(trained, lr=lr)
    test_images = normalize(data.test_images, settings.dataset, dtype)
    per_sample = executions_per_sample(settings.model, settings.frozen_circuit,
                                       settings.dataset.image_shape).training
    curve, samples = [], 0

    def test_accuracy() -> float:
        return accuracy(net, dict(net.named_parameters()), test_images, data.test_labels)

    def record(iteration: int) -> None:
        curve.append({"iteration": iteration, "samples": samples,
                      "executions": samples * per_sample, "test_acc": test_accuracy()})

    if eval_every:
        record(0)
    for it in tqdm(range(1, iterations + 1), desc=f"full-data {settings.model.model_id} "
                   f"{settings.dataset.name}", disable=not progress, mininterval=2.0):
        images, labels = next(batches)
        loss = F.cross_entropy(net(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        samples += len(labels)
        if eval_every and (it % eval_every == 0 or it == iterations or it & (it - 1) == 0):
            record(it)
    test_acc = curve[-1]["test_acc"] if curve else test_accuracy()
    return {
        "dataset": settings.dataset.name, "model": settings.model.model_id,
        "seed": settings.seed, "budget": settings.budget, "data_source": data.source,
        "epochs": epochs, "iterations": iterations, "lr": lr, "batch_size": batch_size,
        "train_images": int(len(data.train_labels)), "test_acc": test_acc,
        "executions_per_sample": per_sample, "curve": curve,
        "wall_time_s": time.perf_counter() - start,
    }
