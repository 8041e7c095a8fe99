"""Wang et al.'s dataset distillation from a fixed initialisation, with the exact hypergradient.

Learned: synthetic images x~ (distill_steps groups of images_per_class images per class,
N(0,1) init) and one step size per inner step, eta~_t = softplus(raw_t) > 0 (step_sizes).
The inner loop starts every outer iteration from the same theta0 and takes
T = distill_steps x distill_epochs gradient steps, group t % distill_steps at step t:

    theta_{t+1} = theta_t - eta~_t * grad_theta CE(f(x~_t; theta_t), y~_t)

The outer loss CE(f(x_real; theta_T), y_real) is differentiated through all T steps by
autograd (create_graph=True: second-order terms included). Every parameter of the network
takes part through torch.func.functional_call, the QNN's angles and trainable observables
included, unless `freeze_circuit` asks for the reference code's behaviour.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm import tqdm

from . import __version__
from .artifacts import load_checkpoint, save_checkpoint
from .config import RunSettings
from .cost import quanvolution_patches
from .data import ImageData, RealBatches, normalize
from .models import CIRCUIT_PARAMETERS, make_network
from .rng import generator

log = logging.getLogger(__name__)

Params = dict[str, torch.Tensor]


class DistillationDiverged(FloatingPointError):
    """The outer loss became NaN or inf; nothing is written."""


class RunInterrupted(RuntimeError):
    """A stop was asked for (SIGTERM); the run's state is in its checkpoint, nothing else
    was written. Running the same command again resumes it."""


@dataclass
class Checkpointing:
    """Where distill() keeps its full state between iterations, and how often it saves it
    (every `every` iterations; 0: only when asked to stop). Setting `stop_reason` (a signal
    handler does) makes it save after the current iteration and raise RunInterrupted."""

    path: Path
    every: int
    stop_reason: str | None = None


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was asked for, but torch sees no CUDA device; "
                           "set device to auto or cpu.")
    return torch.device(device)


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def inverse_softplus(y: float) -> float:
    return math.log(math.expm1(y))


def step_sizes(raw_lrs: torch.Tensor) -> torch.Tensor:
    """The learned inner step sizes softplus(raw). softplus underflows to 0 for raw below
    about -104 in float32 (Adam could drive raw there in a long run); the floor at the
    smallest positive normal number keeps every step size positive and changes nothing
    above it."""
    return F.softplus(raw_lrs).clamp_min(torch.finfo(raw_lrs.dtype).tiny)


def split_parameters(net: nn.Module, freeze_circuit: bool) -> tuple[Params, Params]:
    """theta0 as (inner-trained parameters, constants). Constants are the frozen circuit
    angles when freeze_circuit is set; buffers (fixed observables) stay in the module."""
    trained, constants = {}, {}
    for name, p in net.named_parameters():
        frozen = freeze_circuit and name in CIRCUIT_PARAMETERS
        (constants if frozen else trained)[name] = p.detach().clone().requires_grad_(not frozen)
    return trained, constants


def inner_schedule(images: torch.Tensor, labels: torch.Tensor, lrs: torch.Tensor,
                   distill_epochs: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The T (images, labels, step size) of the inner loop: the groups cycled
    distill_epochs times, each step with its own step size."""
    groups = len(images)
    return [(images[t % groups], labels[t % groups], lrs[t])
            for t in range(groups * distill_epochs)]


def train_steps(net: nn.Module, theta0: Params, constants: Params, steps,
                create_graph: bool) -> Params:
    """Apply the inner gradient steps from theta0. create_graph=True keeps the graph for
    the hypergradient; False trains plainly (evaluation)."""
    params = theta0
    for images, labels, lr in steps:
        loss = F.cross_entropy(functional_call(net, {**params, **constants}, (images,)), labels)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
        params = {name: p - lr * g for (name, p), g in zip(params.items(), grads)}
        if not create_graph:
            params = {name: p.detach().requires_grad_() for name, p in params.items()}
    return params


def outer_loss(net: nn.Module, theta0: Params, constants: Params, steps,
               real_images: torch.Tensor, real_labels: torch.Tensor) -> torch.Tensor:
    """Loss on real data after the inner steps; differentiable in the steps' images and lrs.
    The definition; the distillation computes it, and its gradient, with outer_step."""
    params = train_steps(net, theta0, constants, steps, create_graph=True)
    return F.cross_entropy(functional_call(net, {**params, **constants}, (real_images,)),
                           real_labels)


# Real images per chunk of the outer loss on a CPU: a chunk's activations stay in the cache
# (measured: 0.6x the time of the whole batch at 1024 images). A GPU takes the batch whole.
CPU_REAL_CHUNK = 256


def outer_step(net: nn.Module, theta0: Params, constants: Params, steps,
               real_images: torch.Tensor, real_labels: torch.Tensor, chunk: int):
    """The outer loss (a detached scalar) and a function that adds its gradient to the
    .grad of the given tensors (the distilled images and raw step sizes): the same numbers
    as outer_loss(...) and its backward, with the real batch taken `chunk` images at a time.

    By the chain rule dL/dx~ = dL/dtheta_T . dtheta_T/dx~: dL/dtheta_T is summed over the
    chunks (each chunk's activations freed before the next), then pushed once back through
    the inner steps."""
    params = train_steps(net, theta0, constants, steps, create_graph=True)
    theta_t = {name: p.detach().requires_grad_() for name, p in params.items()}
    n = len(real_labels)
    loss, grads = real_images.new_zeros(()), None
    for x, y in zip(real_images.split(chunk), real_labels.split(chunk)):
        part = F.cross_entropy(functional_call(net, {**theta_t, **constants}, (x,)), y,
                               reduction="sum") / n
        part_grads = torch.autograd.grad(part, list(theta_t.values()))
        if grads is None:
            grads = list(part_grads)
        else:
            for total, g in zip(grads, part_grads):
                total.add_(g)
        loss += part.detach()

    def backward(inputs: list[torch.Tensor]) -> None:
        torch.autograd.backward(list(params.values()), grads, inputs=inputs)
    return loss, backward


def outer_gradient(draws, images: torch.Tensor, labels: torch.Tensor, raw_lrs: torch.Tensor,
                   distill_epochs: int, real_images: torch.Tensor, real_labels: torch.Tensor,
                   chunk: int) -> torch.Tensor:
    """The outer loss averaged over the drawn networks [(net, theta0, constants), ...] (one
    for a fixed initialisation), returned detached, with its gradient added to images.grad
    and raw_lrs.grad."""
    parts = []
    for net, theta0, constants in draws:  # each its own graph, freed by its backward
        steps = inner_schedule(images, labels, step_sizes(raw_lrs), distill_epochs)
        part, backward = outer_step(net, theta0, constants, steps, real_images, real_labels,
                                    chunk)
        backward([images, raw_lrs])
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    images.grad /= len(parts)
    raw_lrs.grad /= len(parts)
    return torch.stack(parts).mean()


@torch.no_grad()
def accuracy(net: nn.Module, params: Params, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 2048) -> float:
    """Accuracy in percent of net(params) on already-normalised images."""
    correct = 0
    for x, y in zip(images.split(batch_size), labels.split(batch_size)):
        correct += (functional_call(net, params, (x,)).argmax(1) == y).sum().item()
    return 100.0 * correct / len(labels)


def circuits_per_sample(net: nn.Module) -> int:
    """Circuit evaluations of one forward pass of one sample in simulation: one state of the
    QNN (all observables are read from it, so also 1 for pair observables, which hardware
    measures in 2 settings: cost.py), plus one per 2x2 patch and channel for a
    quanvolutional front end (0 for the classical LeNet)."""
    count = 1 if any(name.startswith("qnn.") for name, _ in net.named_parameters()) else 0
    trunk = getattr(net, "trunk", None)
    if trunk is not None and hasattr(trunk, "quanv"):
        count += quanvolution_patches((trunk.channels, trunk.image_size, trunk.image_size))
    return count


@dataclass
class DistillResult:
    images: torch.Tensor  # (distill_steps, n_per_step, C, H, W)
    labels: torch.Tensor  # (distill_steps, n_per_step)
    raw_lrs: torch.Tensor  # (T,)
    iterations: int
    history: list[dict] = field(default_factory=list)
    wall_time_s: float = 0.0
    cpu_time_s: float = 0.0  # this process's CPU time (all threads), resumed parts included
    circuit_evaluations: int = 0
    iteration_s: list[float] = field(default_factory=list)  # outer step times, no logging
    # The set of the log point with the highest selection-subset accuracy (the first such):
    # {"iteration", "selection_acc", "test_acc", "images", "raw_lrs", "lrs"}.
    best: dict | None = None

    @property
    def lrs(self) -> torch.Tensor:
        return step_sizes(self.raw_lrs)


def init_synthetic(settings: RunSettings, generator: torch.Generator, dtype: torch.dtype):
    """N(0,1) images, class-ordered labels, raw step sizes with softplus(raw) = lr_init."""
    ds, d = settings.dataset, settings.distill
    per_step = ds.num_classes * d.images_per_class
    images = torch.randn(d.distill_steps, per_step, ds.channels, ds.image_size, ds.image_size,
                         generator=generator, dtype=dtype)
    labels = torch.arange(ds.num_classes).repeat_interleave(d.images_per_class)
    labels = labels.expand(d.distill_steps, per_step).contiguous()
    raw_lrs = torch.full((d.inner_steps,), inverse_softplus(d.distill_lr_init), dtype=dtype)
    return images, labels, raw_lrs


def fixed_subset(images: torch.Tensor, labels: torch.Tensor, size: int | None, stream: str,
                 spec, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """`size` images (all for None) drawn at random by a named stream that is the same for
    every run, normalised (the JPEG copy of CIFAR-10 is stored sorted by class, so no prefix
    will do)."""
    n = len(labels) if size is None else min(size, len(labels))
    idx = torch.randperm(len(labels), generator=generator(0, stream))[:n].to(labels.device)
    return normalize(images[idx], spec, dtype), labels[idx]


@dataclass
class ProgressProbe:
    """What a log point measures, each after the T learned steps from theta0: the monitor
    batch (batch_size test images), `test_images` test images (all by default) and the
    selection subset: fixed training images, without augmentation, that the best set of a
    run is chosen by. The evaluated network trains only on the distilled images, so
    training images are fair for choosing, and the test images stay unseen."""

    test_batch: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    selection: tuple[torch.Tensor, torch.Tensor]

    @classmethod
    def build(cls, data: ImageData, settings: RunSettings, dtype: torch.dtype,
              test_images: int | None, selection_images: int) -> "ProgressProbe":
        spec = settings.dataset
        test = (data.test_images, data.test_labels)
        return cls(fixed_subset(*test, settings.distill.batch_size, "monitor-test-batch",
                                spec, dtype),
                   fixed_subset(*test, test_images, "log-test-images", spec, dtype),
                   fixed_subset(data.train_images, data.train_labels, selection_images,
                                "selection-subset", spec, dtype))

    def measure(self, net: nn.Module, params: Params) -> dict[str, float]:
        return {"test_batch_acc": accuracy(net, params, *self.test_batch),
                "test_acc": accuracy(net, params, *self.test),
                "selection_acc": accuracy(net, params, *self.selection)}


class Initialisations:
    """The networks an outer iteration trains from: the run's fixed theta0 every time (the
    paper), or for a model with init random, `n_nets` fresh initialisations drawn from the
    run's own stream (Wang et al.'s unknown_init), each a network of the model made with a
    drawn init seed. The stream's state goes into the checkpoint."""

    def __init__(self, settings: RunSettings, fixed: tuple, dtype: torch.dtype,
                 device: torch.device):
        self.settings, self.fixed, self.dtype, self.device = settings, fixed, dtype, device
        self.random = settings.model.init == "random"
        self.stream = generator(settings.seed, "random-inits")

    def draw(self) -> list[tuple[nn.Module, Params, Params]]:
        if not self.random:
            return [self.fixed]
        s, draws = self.settings, []
        for _ in range(s.distill.n_nets):
            init_seed = int(torch.randint(2**62, (), generator=self.stream))
            net = make_network(s.model, s.dataset, init_seed, s.qnn_backend, self.dtype,
                               self.device)
            draws.append((net, *split_parameters(net, s.circuit_frozen)))
        return draws


def resume_state(checkpointing: Checkpointing | None, identity: dict) -> dict | None:
    """The checkpoint to resume from, if there is one and it belongs to this very run."""
    if checkpointing is None or not checkpointing.path.exists():
        return None
    state = load_checkpoint(checkpointing.path)  # ArtifactError, naming it, when corrupt
    if state.get("identity") != identity:
        log.warning("%s belongs to other settings (or another number of iterations, qdistill "
                    "or torch version, or device); starting from iteration 1, it will be "
                    "overwritten", checkpointing.path)
        return None
    return state


def distill(settings: RunSettings, data: ImageData, iterations: int | None = None,
            log_every: int = 100, progress: bool = True,
            checkpointing: Checkpointing | None = None, log_test_images: int | None = None,
            selection_images: int = 10_000) -> DistillResult:
    """Run the distillation of one dataset x model x seed. `iterations` overrides the budget
    (benchmarks); by default it is epochs x ceil(N_train / batch_size). Every `log_every`
    iterations the history gets the outer loss, the lrs and the accuracies of the current
    set (ProgressProbe: monitor batch, `log_test_images` test images, `selection_images`
    training images); the set with the best selection accuracy is kept as `result.best`.
    None of this touches the random streams: the final set does not depend on it.

    With `checkpointing`, the full state (images, step sizes, optimiser, scheduler, the real
    batches' RNG and position, history) is saved between iterations, and a run started again
    resumes from it: the result is the same, to the byte, as an uninterrupted run's."""
    d = settings.distill
    device, dtype = resolve_device(settings.device), torch_dtype(settings.dtype)
    data = data.to(device)
    net = make_network(settings.model, settings.dataset, settings.seed, settings.qnn_backend,
                       dtype, device)
    theta0, constants = split_parameters(net, settings.circuit_frozen)

    images, labels, raw_lrs = init_synthetic(settings, generator(settings.seed, "synthetic"),
                                             dtype)
    images = images.to(device).requires_grad_()
    raw_lrs = raw_lrs.to(device).requires_grad_()
    labels = labels.to(device)

    batches = RealBatches(data, settings.dataset, d.batch_size,
                          generator(settings.seed, "real-batches"), dtype)
    if iterations is None:
        iterations = max(1, round(d.epochs * len(batches)))
    decay_every = max(1, round(d.decay_epochs * len(batches)))
    optimizer = torch.optim.Adam([images, raw_lrs], lr=d.outer_lr, betas=d.outer_betas)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, decay_every, gamma=d.decay_factor)

    real_chunk = CPU_REAL_CHUNK if device.type == "cpu" else d.batch_size
    inits = Initialisations(settings, (net, theta0, constants), dtype, device)
    probe = ProgressProbe.build(data, settings, dtype, log_test_images, selection_images)
    per_sample = circuits_per_sample(net)
    result = DistillResult(images, labels, raw_lrs, iterations)
    last_finite, losses, first, elapsed_before, cpu_before = None, [], 1, 0.0, 0.0
    # What must match to resume: the run, and what computes it (code, torch, device).
    identity = {"settings": settings.to_dict(), "iterations": iterations,
                "qdistill": __version__, "torch": str(torch.__version__), "device": str(device)}
    state = resume_state(checkpointing, identity)
    if state is not None:
        with torch.no_grad():
            images.copy_(state["images"])
            raw_lrs.copy_(state["raw_lrs"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        batches.load_state_dict(state["batches"])
        result.history, losses = state["history"], state["losses"]
        result.circuit_evaluations = state["circuit_evaluations"]
        result.iteration_s = state["iteration_s"]
        result.best = state.get("best")
        if state.get("inits") is not None:  # absent in checkpoints of fixed-init runs of 0.2.0
            inits.stream.set_state(state["inits"])
        last_finite, elapsed_before = state["last_finite"], state["elapsed_s"]
        cpu_before = state.get("cpu_s", 0.0)
        first = state["iteration"] + 1
        log.info("resuming from the checkpoint of iteration %d of %d (%s)", state["iteration"],
                 iterations, checkpointing.path)

    start, cpu_start = time.perf_counter(), time.process_time()
    # Outer losses not read yet: reading one waits for the device, so they are read (and
    # checked) only where the run logs, checkpoints or ends, never every iteration.
    pending: list[tuple[int, torch.Tensor]] = []

    def settle() -> None:
        nonlocal last_finite
        values = torch.stack([loss for _, loss in pending]).tolist() if pending else []
        for (it, _), value in zip(pending, values):
            if not math.isfinite(value):
                raise DistillationDiverged(
                    f"outer loss is {value} at iteration {it} of {settings.model.model_id} on "
                    f"{settings.dataset.name} (seed {settings.seed}); last finite value: "
                    f"{last_finite}; step sizes {step_sizes(raw_lrs).tolist()}. Nothing was "
                    "written; lower outer_lr or distill_lr_init.")
            last_finite = (it, value)
            losses.append(value)
        pending.clear()

    def checkpoint(it: int) -> None:
        save_checkpoint(checkpointing.path, {
            "identity": identity, "iteration": it,
            "images": images.detach().cpu(), "raw_lrs": raw_lrs.detach().cpu(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "batches": batches.state_dict(), "history": result.history, "losses": losses,
            "last_finite": last_finite, "circuit_evaluations": result.circuit_evaluations,
            "iteration_s": result.iteration_s, "best": result.best,
            "inits": inits.stream.get_state(),
            "elapsed_s": elapsed_before + time.perf_counter() - start,
            "cpu_s": cpu_before + time.process_time() - cpu_start})

    bar = tqdm(range(first, iterations + 1), desc=f"distill {settings.dataset.name} "
               f"{settings.model.model_id} seed{settings.seed}", disable=not progress,
               mininterval=2.0, initial=first - 1, total=iterations)
    for it in bar:
        tick = time.perf_counter()
        real_images, real_labels = next(batches)
        optimizer.zero_grad(set_to_none=True)
        draws = inits.draw()
        loss = outer_gradient(draws, images, labels, raw_lrs, d.distill_epochs, real_images,
                              real_labels, real_chunk)
        optimizer.step()
        scheduler.step()
        pending.append((it, loss))
        result.iteration_s.append(time.perf_counter() - tick)
        result.circuit_evaluations += per_sample * len(draws) * (
            d.inner_steps * labels.shape[1] + len(real_labels))
        if it % log_every == 0 or it == iterations:
            settle()
            params = train_steps(net, theta0, constants,
                                 inner_schedule(images.detach(), labels,
                                                step_sizes(raw_lrs.detach()), d.distill_epochs),
                                 create_graph=False)
            accs = probe.measure(net, {**params, **constants})
            if result.best is None or accs["selection_acc"] > result.best["selection_acc"]:
                result.best = {"iteration": it, "selection_acc": accs["selection_acc"],
                               "test_acc": accs["test_acc"],
                               "images": images.detach().cpu().clone(),
                               "raw_lrs": raw_lrs.detach().cpu().clone(),
                               "lrs": step_sizes(raw_lrs.detach()).cpu().clone()}
            record = {"iteration": it, "outer_loss": sum(losses) / len(losses), **accs,
                      "lrs": step_sizes(raw_lrs.detach()).tolist(),
                      "outer_lr": scheduler.get_last_lr()[0],
                      "elapsed_s": elapsed_before + time.perf_counter() - start}
            result.history.append(record)
            losses = []
            msg = (f"iter {it}/{iterations} outer loss {record['outer_loss']:.4f} "
                   f"test {accs['test_acc']:.2f}% selection {accs['selection_acc']:.2f}% lrs "
                   + " ".join(f"{lr:.4f}" for lr in record["lrs"][:6])
                   + (" ..." if len(record["lrs"]) > 6 else ""))
            log.info(msg)
        if checkpointing is not None and it < iterations:
            if checkpointing.stop_reason:
                settle()
                checkpoint(it)
                raise RunInterrupted(
                    f"stopped by {checkpointing.stop_reason} after iteration {it} of "
                    f"{iterations}; the state is in {checkpointing.path}: run the same command "
                    "again to resume.")
            if checkpointing.every and it % checkpointing.every == 0:
                settle()
                checkpoint(it)
    settle()
    result.wall_time_s = elapsed_before + time.perf_counter() - start
    result.cpu_time_s = cpu_before + time.process_time() - cpu_start
    result.images, result.raw_lrs = images.detach(), raw_lrs.detach()
    return result
