"""One run end to end, from settings to files: what the CLI and the workflow's scripts call."""

from __future__ import annotations

import contextlib
import logging
import platform
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .artifacts import (
    CHECKPOINT,
    DISTILL_LOG,
    DISTILLED,
    METRICS,
    Distilled,
    load_distilled,
    load_summary_sets,
    save_distilled,
    save_summary_sets,
)
from .files import read_json, sha256_of, write_json
from .baseline import train_full
from .config import DatasetSpec, DistillOptions, RunSettings
from .data import ImageData, load_dataset, synthetic_labels
from .distill import Checkpointing, distill
from .evaluate import evaluate, real_summary_sets, summary_sets_identity
from .training import torch_dtype
from .shots import evaluate_shots
from .transfer import evaluate_transfer, transfer_other_inits

log = logging.getLogger(__name__)


@contextlib.contextmanager
def stop_on_sigterm(checkpointing: Checkpointing):
    """While distilling, SIGTERM (what SLURM sends before a kill) asks for one last
    checkpoint after the current iteration instead of ending the process at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def ask_to_stop(signum, frame):
        checkpointing.stop_reason = signal.Signals(signum).name

    previous = signal.signal(signal.SIGTERM, ask_to_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def source_commit() -> str | None:
    """The git commit of the source tree this qdistill runs from, with '+dirty' when its
    tracked files differ from it; None outside a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        git = lambda *args: subprocess.run(["git", "-C", str(root), *args], check=True,  # noqa: E731
                                           capture_output=True, text=True).stdout.strip()
        head, changes = git("rev-parse", "HEAD"), git("status", "--porcelain",
                                                      "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if changes else "")


def distill_run(settings: RunSettings, out_dir: str | Path, data_root: str | Path,
                data_mirror: str | Path | None = None,
                options: DistillOptions = DistillOptions(), progress: bool = True) -> Path:
    """Distill one dataset x model x seed into out_dir/distilled.pt (+ distill_log.json).
    Outputs of an earlier run in out_dir stay until the new ones are ready (a bad call
    destroys nothing), then all of them are replaced: none may outlive a new run.

    out_dir/checkpoint.pt holds the run's state every `options.checkpoint_every` iterations
    and on SIGTERM; a run started again resumes from it (if its settings match) and deletes it
    once the outputs are written."""
    out_dir = Path(out_dir)
    data = load_dataset(settings.dataset.name, data_root, data_mirror)
    commit = source_commit()  # at the start: the code that computes the run
    log.info("distilling %s / %s / seed %d, budget %s, data %s, backend %s, threads %d",
             settings.dataset.name, settings.model.model_id, settings.seed, settings.budget,
             data.source, settings.qnn_backend, torch.get_num_threads())
    checkpointing = Checkpointing(out_dir / CHECKPOINT, options.checkpoint_every)
    with stop_on_sigterm(checkpointing):
        result = distill(settings, data, log_every=options.log_every, progress=progress,
                         checkpointing=checkpointing, log_test_images=options.log_test_images,
                         selection_images=options.selection_images)
    for name in (DISTILLED, METRICS):  # the old set and its evaluation, now replaced
        (out_dir / name).unlink(missing_ok=True)
    distilled, best = result.distilled, result.distilled.best
    # The log first: distilled.pt is the output that marks a run as finished.
    write_json(out_dir / DISTILL_LOG, {
        "iterations": distilled.iterations,
        "wall_time_s": result.wall_time_s,
        "cpu_time_s": result.cpu_time_s,
        "s_per_iteration": result.wall_time_s / distilled.iterations,
        "circuit_evaluations": result.circuit_evaluations,
        "final_outer_loss": result.history[-1]["outer_loss"] if result.history else None,
        "best_iteration": best.iteration if best else None,
        "best_selection_acc": best.selection_acc if best else None,
        "history": result.history,
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "qdistill_version": __version__,
        "source_commit": commit,
        "data_md5": data.content_md5(),
        "python": platform.python_version(),
    })
    save_distilled(out_dir / DISTILLED, distilled)
    checkpointing.path.unlink(missing_ok=True)  # finished: nothing left to resume
    log.info("wrote %s in %.1f s", out_dir / DISTILLED, result.wall_time_s)
    return out_dir / DISTILLED


def distilled_and_data(distilled_path: str | Path, data_root: str | Path,
                       data_mirror: str | Path | None) -> tuple[Distilled, ImageData]:
    """A distilled set and the dataset it was distilled from."""
    distilled = load_distilled(distilled_path)
    return distilled, load_dataset(distilled.settings.dataset.name, data_root,
                                   data_mirror)


def evaluate_run(distilled_path: str | Path, out_file: str | Path, data_root: str | Path,
                 data_mirror: str | Path | None = None, device: str = "auto",
                 random_real_draws: int = 5, test_images: int | None = None,
                 summary_sets: str | Path | None = None,
                 distill_log: str | Path | None = None) -> dict[str, Any]:
    """Evaluate a distilled.pt and write its metrics.json to out_file, with the summary of
    its distill_log.json (iterations, times, circuit executions, final loss) under
    "distill"; the log's history stays in the log, the run's settings in distilled.pt
    (named by its SHA-256)."""
    distilled, data = distilled_and_data(distilled_path, data_root, data_mirror)
    metrics = evaluate(distilled, data, device, random_real_draws, test_images,
                       load_summary_sets(summary_sets) if summary_sets else None)
    metrics["distilled_sha256"] = sha256_of(distilled_path)
    metrics["distill"] = ({key: value for key, value in read_json(distill_log).items()
                           if key != "history"} if distill_log else None)
    write_json(out_file, metrics)
    log.info("%s: distilled %.2f%%, random real %.2f%%, theta0 %.2f%%", distilled_path,
             metrics["test_acc"], metrics["random_real_acc_mean"] or float("nan"),
             metrics["init_acc"])
    return metrics


def summary_sets_run(spec: DatasetSpec, seed: int, steps: int, images_per_class: int,
                     dtype: str, out_file: str | Path, data_root: str | Path,
                     data_mirror: str | Path | None = None) -> None:
    """The real-image baselines (class means, k-means centroids) of every run of one
    dataset, seed and labels layout, for their evaluations to share."""
    data = load_dataset(spec.name, data_root, data_mirror)
    labels = synthetic_labels(spec.num_classes, images_per_class, steps)
    sets = real_summary_sets(data, labels, spec, torch_dtype(dtype), seed)
    save_summary_sets(out_file, sets, labels, summary_sets_identity(spec.name, seed, dtype, data))
    log.info("%s: class means and k-means centroids for %s labels", out_file, tuple(labels.shape))


def baseline_run(settings: RunSettings, out_file: str | Path, data_root: str | Path,
                 data_mirror: str | Path | None, epochs: float, lr: float, batch_size: int,
                 progress: bool = True, eval_every: int | None = None) -> dict[str, Any]:
    """Train the model normally on all training images; write the result as JSON (with a
    curve of test accuracy against circuit executions when eval_every is given)."""
    data = load_dataset(settings.dataset.name, data_root, data_mirror)
    result = train_full(settings, data, epochs, lr, batch_size, progress, eval_every)
    write_json(out_file, result)
    log.info("full-data %s on %s: %.2f%% after %d iterations", settings.model.model_id,
             settings.dataset.name, result["test_acc"], result["iterations"])
    return result


def shots_run(distilled_path: str | Path, out_file: str | Path, data_root: str | Path,
              data_mirror: str | Path | None, shots: list[int], n_images: int,
              device: str = "auto") -> dict[str, Any]:
    """Evaluate a quantum run with finite shots on lightning.qubit; write the result as JSON.
    The analytic evaluation must reproduce the fast path's accuracy: an error if not."""
    distilled, data = distilled_and_data(distilled_path, data_root, data_mirror)
    result = evaluate_shots(distilled, data, shots, n_images, device)
    if not result["analytic_equals_fast"]:
        raise RuntimeError(f"{distilled_path}: lightning.qubit (analytic) gives "
                           f"{result['results'][0]['test_acc']}% but the fast path "
                           f"{result['fast_acc']}% on the same images; the two must agree.")
    write_json(out_file, result)
    log.info("%s: %s", distilled_path, ", ".join(
        f"{r['shots'] or 'analytic'} shots {r['test_acc']:.2f}%" for r in result["results"]))
    return result


def transfer_run(distilled_path: str | Path, out_file: str | Path, data_root: str | Path,
                 data_mirror: str | Path | None, device: str, first_seed: int,
                 count: int, test_images: int | None = None) -> dict[str, Any]:
    """Evaluate a distilled set from its own and `count` other initialisations (init seeds
    from first_seed on, skipping the run's seed); write the result as JSON."""
    out_file = Path(out_file)
    distilled, data = distilled_and_data(distilled_path, data_root, data_mirror)
    init_seeds = transfer_other_inits(distilled.settings.seed, first_seed, count)
    result = evaluate_transfer(distilled, data, init_seeds, device, test_images)
    write_json(out_file, result)
    others = [r["test_acc"] for r in result["results"] if not r["own"]]
    log.info("%s: own init %.2f%%, %d other inits %.2f%% on average (%.2f to %.2f)",
             distilled_path, result["own_init_acc"], len(others), sum(others) / len(others),
             min(others), max(others))
    return result
