"""A distillation run's state between outer iterations and the loop over them: the
synthetic set and its optimiser, the random streams, the log, the kept best set, the
checkpoint. One outer iteration's mathematics is hypergradient.py.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from . import __version__
from .artifacts import BestSet, Distilled, best_set_from_dict, load_checkpoint, save_checkpoint
from .config import RunSettings
from .cost import quanvolution_patches
from .data import ImageData, RealBatches, normalize, synthetic_labels
from .hypergradient import CPU_REAL_CHUNK, hypergradient
from .models import make_network
from .rng import generator
from .training import (
    Params,
    accuracy,
    inner_schedule,
    inverse_softplus,
    resolve_device,
    split_parameters,
    step_sizes,
    torch_dtype,
    train_steps,
)

log = logging.getLogger(__name__)


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
    """A finished distillation: its set and what its log records."""

    distilled: Distilled
    history: list[dict]  # one line per log point (Distillation.log_point)
    wall_time_s: float
    cpu_time_s: float  # this process's CPU time (all threads), resumed parts included
    circuit_evaluations: int
    iteration_s: list[float]  # outer step times, no logging


def init_synthetic(settings: RunSettings, generator: torch.Generator, dtype: torch.dtype):
    """N(0,1) images, class-ordered labels, raw step sizes with softplus(raw) = lr_init."""
    ds, d = settings.dataset, settings.distill
    labels = synthetic_labels(ds.num_classes, d.images_per_class, d.distill_steps)
    images = torch.randn(*labels.shape, ds.channels, ds.image_size, ds.image_size,
                         generator=generator, dtype=dtype)
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

    def networks(self) -> list[tuple[nn.Module, Params, Params]]:
        if not self.random:
            return [self.fixed]
        s, networks = self.settings, []
        for _ in range(s.distill.n_nets):
            init_seed = int(torch.randint(2**62, (), generator=self.stream))
            net = make_network(s.model, s.dataset, init_seed, s.qnn_backend, self.dtype,
                               self.device)
            networks.append((net, *split_parameters(net, s.frozen_circuit)))
        return networks


class Distillation:
    """One distillation's whole state between outer iterations: the synthetic images and
    step sizes, Adam and its schedule, the real batches' and the fresh initialisations'
    random streams, the log, the kept best set and the time spent. state_dict() is the
    checkpoint; load_state_dict() of it continues exactly where it was saved."""

    def __init__(self, settings: RunSettings, data: ImageData, iterations: int | None,
                 log_test_images: int | None, selection_images: int):
        d = settings.distill
        self.settings = settings
        self.device, self.dtype = resolve_device(settings.device), torch_dtype(settings.dtype)
        data = data.to(self.device)
        self.net = make_network(settings.model, settings.dataset, settings.seed,
                                settings.qnn_backend, self.dtype, self.device)
        self.theta0, self.constants = split_parameters(self.net, settings.frozen_circuit)
        images, labels, raw_lrs = init_synthetic(settings, generator(settings.seed, "synthetic"),
                                                 self.dtype)
        self.images = images.to(self.device).requires_grad_()
        self.raw_lrs = raw_lrs.to(self.device).requires_grad_()
        self.labels = labels.to(self.device)
        self.batches = RealBatches(data, settings.dataset, d.batch_size,
                                   generator(settings.seed, "real-batches"), self.dtype)
        self.iterations = iterations or max(1, round(d.epochs * len(self.batches)))
        self.optimizer = torch.optim.Adam([self.images, self.raw_lrs], lr=d.outer_lr,
                                          betas=d.outer_betas)
        self.scheduler = torch.optim.lr_scheduler.StepLR(
            self.optimizer, max(1, round(d.decay_epochs * len(self.batches))),
            gamma=d.decay_factor)
        # A GPU takes the real batch whole; a CPU in cache-sized chunks (CPU_REAL_CHUNK).
        self.real_chunk = CPU_REAL_CHUNK if self.device.type == "cpu" else d.batch_size
        self.inits = Initialisations(settings, (self.net, self.theta0, self.constants),
                                     self.dtype, self.device)
        self.probe = ProgressProbe.build(data, settings, self.dtype, log_test_images,
                                         selection_images)
        self.per_sample = circuits_per_sample(self.net)
        self.data_source = data.source
        self.history: list[dict] = []
        self.circuit_evaluations = 0
        self.iteration_s: list[float] = []
        # The set of the first log point with the highest selection-subset accuracy.
        self.best: BestSet | None = None
        self.losses: list[float] = []  # read outer losses since the last log point
        # Not read yet: reading a loss waits for the device, so losses are read (and
        # checked) only where the run logs, checkpoints or ends, never every iteration.
        self.pending: list[tuple[int, torch.Tensor]] = []
        self.last_finite: tuple[int, float] | None = None
        self.iterations_done = 0
        self.elapsed_before = self.cpu_before = 0.0
        self.started = (time.perf_counter(), time.process_time())

    def identity(self) -> dict:
        """What must match to resume: the run, and what computes it."""
        return {"settings": self.settings.to_dict(), "iterations": self.iterations,
                "qdistill": __version__, "torch": str(torch.__version__),
                "device": str(self.device)}

    def elapsed(self) -> tuple[float, float]:
        """Wall and CPU seconds so far, resumed parts included."""
        wall, cpu = self.started
        return (self.elapsed_before + time.perf_counter() - wall,
                self.cpu_before + time.process_time() - cpu)

    def step(self) -> None:
        """One outer iteration: the hypergradient over the drawn nets (its norm clipped if
        the budget says so), one Adam step."""
        tick = time.perf_counter()
        real_images, real_labels = next(self.batches)
        self.optimizer.zero_grad(set_to_none=True)
        networks = self.inits.networks()
        loss = hypergradient(networks, self.images, self.labels, self.raw_lrs,
                             self.settings.distill.distill_epochs, real_images, real_labels,
                             self.real_chunk)
        if self.settings.distill.outer_grad_clip is not None:
            torch.nn.utils.clip_grad_norm_([self.images, self.raw_lrs],
                                           self.settings.distill.outer_grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.iterations_done += 1
        self.pending.append((self.iterations_done, loss))
        self.iteration_s.append(time.perf_counter() - tick)
        self.circuit_evaluations += self.per_sample * len(networks) * (
            self.settings.distill.inner_steps * self.labels.shape[1] + len(real_labels))

    def read_losses(self) -> None:
        """Read the pending losses: DistillationDiverged at the first that is not finite."""
        values = torch.stack([loss for _, loss in self.pending]).tolist() if self.pending else []
        for (it, _), value in zip(self.pending, values):
            if not math.isfinite(value):
                s = self.settings
                raise DistillationDiverged(
                    f"outer loss is {value} at iteration {it} of {s.model.model_id} on "
                    f"{s.dataset.name} (seed {s.seed}); last finite value: {self.last_finite}; "
                    f"step sizes {step_sizes(self.raw_lrs).tolist()}. Nothing was written; "
                    "lower outer_lr or distill_lr_init.")
            self.last_finite = (it, value)
            self.losses.append(value)
        self.pending.clear()

    def log_point(self) -> None:
        """Measure the current set (ProgressProbe), keep it if it is the best so far by
        selection accuracy, and add a line to the history."""
        self.read_losses()
        it, lrs = self.iterations_done, step_sizes(self.raw_lrs.detach())
        steps = inner_schedule(self.images.detach(), self.labels, lrs,
                               self.settings.distill.distill_epochs)
        params = train_steps(self.net, self.theta0, self.constants, steps, create_graph=False)
        accs = self.probe.measure(self.net, {**params, **self.constants})
        if self.best is None or accs["selection_acc"] > self.best.selection_acc:
            self.best = BestSet(iteration=it, selection_acc=accs["selection_acc"],
                                images=self.images.detach().cpu().clone(),
                                raw_lrs=self.raw_lrs.detach().cpu().clone(),
                                lrs=lrs.cpu().clone())
        record = {"iteration": it, "outer_loss": sum(self.losses) / len(self.losses), **accs,
                  "lrs": lrs.tolist(), "outer_lr": self.scheduler.get_last_lr()[0],
                  "elapsed_s": self.elapsed()[0]}
        self.history.append(record)
        self.losses = []
        log.info(f"iter {it}/{self.iterations} outer loss {record['outer_loss']:.4f} "
                 f"test {accs['test_acc']:.2f}% selection {accs['selection_acc']:.2f}% lrs "
                 + " ".join(f"{lr:.4f}" for lr in record["lrs"][:6])
                 + (" ..." if len(record["lrs"]) > 6 else ""))

    def state_dict(self) -> dict:
        self.read_losses()
        wall, cpu = self.elapsed()
        return {"identity": self.identity(), "iteration": self.iterations_done,
                "images": self.images.detach().cpu(), "raw_lrs": self.raw_lrs.detach().cpu(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "batches": self.batches.state_dict(),
                "history": self.history, "losses": self.losses,
                "last_finite": self.last_finite,
                "circuit_evaluations": self.circuit_evaluations,
                "iteration_s": self.iteration_s,
                "best": self.best and asdict(self.best),
                "inits": self.inits.stream.get_state(), "elapsed_s": wall, "cpu_s": cpu}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            self.images.copy_(state["images"])
            self.raw_lrs.copy_(state["raw_lrs"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.batches.load_state_dict(state["batches"])
        self.inits.stream.set_state(state["inits"])
        self.history, self.circuit_evaluations = state["history"], state["circuit_evaluations"]
        self.iteration_s, self.best = state["iteration_s"], best_set_from_dict(state["best"])
        self.losses, self.last_finite = state["losses"], state["last_finite"]
        self.iterations_done = state["iteration"]
        self.elapsed_before, self.cpu_before = state["elapsed_s"], state["cpu_s"]
        self.started = (time.perf_counter(), time.process_time())

    def resume(self, checkpointing: Checkpointing | None) -> None:
        """Continue from the checkpoint if there is one and it belongs to this very run."""
        if checkpointing is None or not checkpointing.path.exists():
            return
        state = load_checkpoint(checkpointing.path)  # ArtifactError, naming it, when corrupt
        if state.get("identity") != self.identity():
            log.warning("%s belongs to other settings (or another number of iterations, "
                        "qdistill or torch version, or device); starting from iteration 1, it "
                        "will be overwritten", checkpointing.path)
            return
        self.load_state_dict(state)
        log.info("resuming from the checkpoint of iteration %d of %d (%s)", self.iterations_done,
                 self.iterations, checkpointing.path)

    def finish(self) -> DistillResult:
        self.read_losses()
        wall, cpu = self.elapsed()
        raw_lrs = self.raw_lrs.detach()
        distilled = Distilled(settings=self.settings, images=self.images.detach(),
                              labels=self.labels, lrs=step_sizes(raw_lrs), raw_lrs=raw_lrs,
                              iterations=self.iterations, data_source=self.data_source,
                              best=self.best)
        return DistillResult(distilled, self.history, wall, cpu, self.circuit_evaluations,
                             self.iteration_s)


def distill(settings: RunSettings, data: ImageData, iterations: int | None = None,
            log_every: int = 100, progress: bool = True,
            checkpointing: Checkpointing | None = None, log_test_images: int | None = None,
            selection_images: int = 10_000) -> DistillResult:
    """Run the distillation of one dataset x model x seed. `iterations` overrides the budget
    (benchmarks); by default it is epochs x ceil(N_train / batch_size). Every `log_every`
    iterations the history gets the outer loss, the lrs and the accuracies of the current
    set (ProgressProbe: monitor batch, `log_test_images` test images, `selection_images`
    training images); the set with the best selection accuracy is kept as
    `result.distilled.best`.
    None of this touches the random streams: the final set does not depend on it.

    With `checkpointing`, the full state is saved between iterations (Distillation), and a
    run started again resumes from it: the result is the same, to the byte, as an
    uninterrupted run's."""
    run = Distillation(settings, data, iterations, log_test_images, selection_images)
    run.resume(checkpointing)
    bar = tqdm(range(run.iterations_done + 1, run.iterations + 1), disable=not progress,
               desc=f"distill {settings.dataset.name} {settings.model.model_id} "
                    f"seed{settings.seed}", mininterval=2.0, initial=run.iterations_done,
               total=run.iterations)
    for it in bar:
        run.step()
        if it % log_every == 0 or it == run.iterations:
            run.log_point()
        if checkpointing is None or it == run.iterations:
            continue
        if checkpointing.stop_reason:
            save_checkpoint(checkpointing.path, run.state_dict())
            raise RunInterrupted(
                f"stopped by {checkpointing.stop_reason} after iteration {it} of "
                f"{run.iterations}; the state is in {checkpointing.path}: run the same command "
                "again to resume.")
        if checkpointing.every and it % checkpointing.every == 0:
            save_checkpoint(checkpointing.path, run.state_dict())
    return run.finish()
