"""The accuracy ceiling: the classical LeNet trained normally on the full training set,
from the same fixed initialisation theta0 a distillation run of that seed starts from."""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .config import RunSettings
from .data import ImageData, RealBatches, normalize
from .distill import accuracy, resolve_device, torch_dtype
from .models import make_network
from .rng import generator


def train_full(settings: RunSettings, data: ImageData, epochs: float, lr: float,
               batch_size: int, progress: bool = True) -> dict[str, Any]:
    """Adam on full real batches (augmented as the protocol says) for `epochs` epochs."""
    start = time.perf_counter()
    device, dtype = resolve_device(settings.device), torch_dtype(settings.dtype)
    data = data.to(device)
    net = make_network(settings.model, settings.dataset, settings.seed, settings.qnn_backend,
                       dtype, device)
    batches = RealBatches(data, settings.dataset, batch_size,
                          generator(settings.seed, "baseline-batches"), dtype)
    iterations = max(1, round(epochs * len(batches)))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    real = iter(batches)
    for _ in tqdm(range(iterations), desc=f"full-data {settings.model.model_id} "
                  f"{settings.dataset.name}", disable=not progress, mininterval=2.0):
        images, labels = next(real)
        loss = F.cross_entropy(net(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    test_images = normalize(data.test_images, settings.dataset, dtype)
    return {
        "dataset": settings.dataset.name, "model": settings.model.model_id,
        "seed": settings.seed, "budget": settings.budget, "data_source": data.source,
        "epochs": epochs, "iterations": iterations, "lr": lr, "batch_size": batch_size,
        "train_images": int(len(data.train_labels)),
        "test_acc": accuracy(net, dict(net.named_parameters()), test_images, data.test_labels),
        "wall_time_s": time.perf_counter() - start,
    }
