"""Evaluation of a distilled set: from the run's fixed initialisation theta0, take the T
learned steps on the distilled images and measure accuracy on the full test set.

For context, as the reference reports: the same number of random real training images
(same classes per step) trained with the same learned step sizes, over several draws.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from .artifacts import Distilled
from .files import ArtifactError
from .config import RunSettings
from .cost import executions_per_sample
from .data import ImageData, normalize
from .training import (
    accuracy,
    inner_schedule,
    resolve_device,
    split_parameters,
    torch_dtype,
    train_steps,
)
from .models import make_network, quantum_parameter_counts
from .rng import generator


def random_real_set(data: ImageData, labels: torch.Tensor, generator: torch.Generator
                    ) -> torch.Tensor:
    """Real training images (uint8) laid out like the distilled labels (steps, per_step)."""
    train_labels = data.train_labels.cpu()
    picked = torch.empty(labels.shape, dtype=torch.long)
    for cls in labels.unique().tolist():
        pool = (train_labels == cls).nonzero().squeeze(1)
        slots = (labels.cpu() == cls).nonzero()
        choice = pool[torch.randperm(len(pool), generator=generator)[: len(slots)]]
        picked[slots[:, 0], slots[:, 1]] = choice
    return data.train_images[picked.to(data.train_images.device)]


def class_images(data: ImageData, spec, dtype: torch.dtype) -> list[torch.Tensor]:
    """Every training image of each class, normalised and flattened (one tensor a class)."""
    images = normalize(data.train_images, spec, dtype).flatten(1)
    return [images[data.train_labels == c] for c in range(spec.num_classes)]


def euclidean_distances_to(points: torch.Tensor):
    """distances(centres): torch.cdist(points, centres) as cdist computes it for more than 25
    points (one matrix product of [-2x, |x|^2, 1] and [c, 1, |c|^2]), with the points' half
    built once: the same numbers, without copying every point in every call."""
    norms = points.pow(2).sum(-1, keepdim=True)
    points_part = torch.cat([points.mul(-2), norms, torch.ones_like(norms)], -1)

    def distances(centres: torch.Tensor) -> torch.Tensor:
        centre_norms = centres.pow(2).sum(-1, keepdim=True)
        centres_part = torch.cat([centres, torch.ones_like(centre_norms), centre_norms], -1)
        return (points_part @ centres_part.mT).clamp_min_(0).sqrt_()

    return distances


def kmeans(points: torch.Tensor, k: int, stream: torch.Generator, max_iterations: int = 100
           ) -> torch.Tensor:
    """k centroids of points (Lloyd's algorithm from a k-means++ start, as Wang et al.'s
    kmeans_train; an empty cluster keeps its centre); k = 1 is the mean."""
    if k == 1:
        return points.mean(0, keepdim=True)
    distances = euclidean_distances_to(points)
    centres = points[torch.randint(len(points), (), generator=stream)].unsqueeze(0)
    for _ in range(1, k):  # k-means++: the next centre in proportion to squared distance
        d2 = distances(centres).pow(2).min(1).values
        pick = torch.multinomial(d2.cpu().double(), 1, generator=stream).item()
        centres = torch.cat([centres, points[pick].unsqueeze(0)])
    assign = None
    for _ in range(max_iterations):
        new = distances(centres).argmin(1)
        if assign is not None and torch.equal(new, assign):
            break
        assign = new
        sums = torch.zeros_like(centres).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=k).unsqueeze(1)
        centres = torch.where(counts > 0, sums / counts.clamp_min(1), centres)
    return centres


def real_summary_sets(data: ImageData, labels: torch.Tensor, spec, dtype: torch.dtype,
                      seed: int) -> dict[str, torch.Tensor]:
    """The field's baselines laid out like the distilled images (steps, per_step, C, H, W):
    the per-class mean image in every slot ("average"), and k-means centroids of each class,
    k = its slots ("kmeans", Wang et al.'s average_train and kmeans_train)."""
    per_class = class_images(data, spec, dtype)
    stream = generator(seed, "kmeans")
    flat = labels.flatten()
    average = per_class[0].new_empty(len(flat), per_class[0].shape[1])
    centroids = torch.empty_like(average)
    for c in flat.unique().tolist():
        slots = (flat == c).nonzero().squeeze(1)
        average[slots] = per_class[c].mean(0)
        centroids[slots] = kmeans(per_class[c], len(slots), stream)
    shape = (*labels.shape, *spec.image_shape)
    return {"average": average.view(shape), "kmeans": centroids.view(shape)}


def trained_parameters(net, theta0, constants, images, labels, lrs, distill_epochs):
    """theta0 after the learned steps on `images` (plain training, no graph kept), with the
    constants: the network a distilled set produces."""
    steps = inner_schedule(images, labels, lrs, distill_epochs)
    return {**train_steps(net, theta0, constants, steps, create_graph=False), **constants}


def accuracy_after_steps(net, theta0, constants, images, labels, lrs, distill_epochs,
                         test_images, test_labels) -> float:
    params = trained_parameters(net, theta0, constants, images, labels, lrs, distill_epochs)
    return accuracy(net, params, test_images, test_labels)


def run_identity(settings: RunSettings, distilled: Distilled) -> dict[str, Any]:
    """The fields that name a run in every result file made from its distilled set."""
    return {"dataset": settings.dataset.name, "model": settings.model.model_id,
            "seed": settings.seed, "budget": settings.budget,
            "qnn_backend": settings.qnn_backend, "freeze_circuit": settings.frozen_circuit,
            "data_source": distilled.data_source}


def on_device(distilled: Distilled, data: ImageData, device: str = "auto"
              ) -> tuple[Distilled, ImageData]:
    """The set, in its run's dtype, and the data on `device` ("auto": a GPU if there is one):
    where evaluate, the shot-noise and the transfer evaluations start."""
    dev = resolve_device(device)
    return distilled.to(dev, torch_dtype(distilled.settings.dtype)), data.to(dev)


def test_set(distilled: Distilled, data: ImageData) -> tuple[torch.Tensor, torch.Tensor]:
    """The test images, normalised in the set's dtype, and their labels."""
    images = normalize(data.test_images, distilled.settings.dataset, distilled.dtype)
    return images, data.test_labels


def network(distilled: Distilled, init_seed: int, backend: str | None = None):
    """(net, theta0, constants) of the run's model initialised with init_seed, on the set's
    device and dtype."""
    s = distilled.settings
    net = make_network(s.model, s.dataset, init_seed, backend or s.qnn_backend,
                       distilled.dtype, distilled.device)
    return (net, *split_parameters(net, s.frozen_circuit))


def accuracies(distilled: Distilled, data: ImageData, test, net, theta0, constants,
               draws: torch.Generator, n_draws: int) -> dict[str, Any]:
    """Test accuracy (percent) after the learned steps from theta0 on the distilled images,
    on `n_draws` draws of random real images (same labels and step sizes), and of the
    untrained network."""
    s, images, labels, lrs = distilled.settings, distilled.images, distilled.labels, distilled.lrs
    epochs = s.distill.distill_epochs
    distilled_acc = accuracy_after_steps(net, theta0, constants, images, labels, lrs, epochs,
                                         *test)
    init_acc = accuracy(net, {**theta0, **constants}, *test)
    random_accs = []
    for _ in range(n_draws):
        real = normalize(random_real_set(data, labels, draws).flatten(0, 1), s.dataset,
                         distilled.dtype).view_as(images)
        random_accs.append(accuracy_after_steps(net, theta0, constants, real, labels, lrs,
                                                epochs, *test))
    return {"test_acc": distilled_acc, "random_real_accs": random_accs, "init_acc": init_acc}


def best_set_accuracy(distilled: Distilled, test, net, theta0, constants
                      ) -> dict[str, Any] | None:
    """The test accuracy of the run's kept best set (the log point with the highest accuracy
    on the selection subset of training images; never chosen by test accuracy), with where
    it was found; None for a set distilled without one."""
    best = distilled.best
    if best is None:
        return None
    acc = accuracy_after_steps(net, theta0, constants, best.images, distilled.labels,
                               best.lrs, distilled.settings.distill.distill_epochs, *test)
    return {"test_acc": acc, "iteration": best.iteration,
            "selection_acc": best.selection_acc, "learned_lrs": best.lrs.tolist()}


def summary_sets_identity(dataset: str, seed: int, dtype: str, data: ImageData
                          ) -> dict[str, Any]:
    """What the real-image baselines of a run depend on, beside its labels layout."""
    return {"dataset": dataset, "seed": seed, "dtype": dtype, "data_md5": data.content_md5()}


def checked_summary_sets(sets: dict[str, Any], distilled: Distilled, data: ImageData
                         ) -> dict[str, torch.Tensor]:
    """Precomputed real_summary_sets (artifacts.load_summary_sets) of this very run's
    dataset (data: all of it), seed, dtype and labels layout, on the set's device; an error
    naming the mismatch otherwise."""
    s = distilled.settings
    expected = summary_sets_identity(s.dataset.name, s.seed, s.dtype, data)
    labels = distilled.labels
    if sets["identity"] != expected or not torch.equal(sets["labels"], labels.cpu()):
        raise ArtifactError(f"the summary sets given ({sets['identity']}, labels "
                            f"{tuple(sets['labels'].shape)}) are not this run's ({expected}, "
                            f"labels {tuple(labels.shape)}); make them for this run.")
    return {name: sets[name].to(distilled.device, distilled.dtype)
            for name in ("average", "kmeans")}


def evaluate(distilled: Distilled, data: ImageData, device: str = "auto",
             random_real_draws: int = 5, test_images: int | None = None,
             summary_sets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Test accuracy (percent) of the distilled set, of `random_real_draws` draws of random
    real images with the same learned step sizes, and of theta0, on `test_images` test
    images (a class-balanced subset; None: all). The real-image baselines (class means and
    k-means centroids) are computed here unless `summary_sets` brings them (the workflow
    makes them once per dataset, seed and layout)."""
    start = time.perf_counter()
    run, subset = on_device(distilled, data.with_test_subset(test_images), device)
    settings, labels, lrs = run.settings, run.labels, run.lrs
    test = test_set(run, subset)
    net, theta0, constants = network(run, settings.seed)
    accs = accuracies(run, subset, test, net, theta0, constants,
                      generator(settings.seed, "random-real"), random_real_draws)
    random_accs = accs["random_real_accs"]
    real_sets = (real_summary_sets(subset, labels, settings.dataset, run.dtype, settings.seed)
                 if summary_sets is None else checked_summary_sets(summary_sets, run, data))
    summary_accs = {f"{name}_real_acc": accuracy_after_steps(
        net, theta0, constants, images, labels, lrs, settings.distill.distill_epochs, *test)
        for name, images in real_sets.items()}
    return {
        **run_identity(settings, distilled),
        "n_distilled_images": int(labels.numel()),
        "images_per_step": int(labels.shape[1]),
        "inner_steps": len(lrs),
        "test_acc": accs["test_acc"],
        "random_real_acc_mean": statistics.fmean(random_accs) if random_accs else None,
        "random_real_acc_std": statistics.stdev(random_accs) if len(random_accs) > 1 else None,
        "random_real_accs": random_accs,
        "init_acc": accs["init_acc"],
        **summary_accs,
        "best": best_set_accuracy(run, test, net, theta0, constants),
        "learned_lrs": lrs.tolist(),
        "n_test_images": int(len(test[1])),
        "evaluate_wall_time_s": time.perf_counter() - start,
        "quantum_parameters": quantum_parameter_counts(net, settings.frozen_circuit),
        "executions_per_sample": executions_per_sample(
            settings.model, settings.frozen_circuit, settings.dataset.image_shape).training,
    }
