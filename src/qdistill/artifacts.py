"""Run outputs (distilled.pt, distill_log.json, metrics.json) and the in-run checkpoint,
all written atomically.

Every file is written to a temporary name in the same folder and renamed into place, so
an interrupted run never leaves a file that a later run could take for finished.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .config import RunSettings

if TYPE_CHECKING:
    from .distill import DistillResult

DISTILLED = "distilled.pt"
DISTILL_LOG = "distill_log.json"
METRICS = "metrics.json"
FORMAT = "qdistill-distilled/1"
CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = "qdistill-checkpoint/1"
SUMMARY_SETS_FORMAT = "qdistill-summary-sets/1"


class ArtifactError(RuntimeError):
    """A run output is missing, truncated or not ours; the message names the file."""


@dataclass(frozen=True)
class BestSet:
    """The set of the log point with the highest accuracy on the selection subset of
    training images (distill.ProgressProbe; never chosen by test accuracy)."""

    iteration: int
    selection_acc: float
    images: torch.Tensor
    raw_lrs: torch.Tensor
    lrs: torch.Tensor


@dataclass(frozen=True)
class Distilled:
    """A distilled.pt, loaded and checked: what evaluate, shots, transfer and the figures
    read. images: (distill_steps, images per step, C, H, W); labels: (distill_steps, images
    per step); lrs: the T learned step sizes (raw_lrs: before the softplus)."""

    settings: RunSettings
    images: torch.Tensor
    labels: torch.Tensor
    lrs: torch.Tensor
    raw_lrs: torch.Tensor
    iterations: int
    data_source: str
    best: BestSet | None = None


def _why_unreadable(err: Exception) -> str:
    """A short reason for a failed torch.load (torch's own text for a refused unpickle
    suggests weights_only=False, which is exactly what must not be done here)."""
    text = str(err)
    if "Weights only load failed" in text:
        return "refused by the weights-only loader: it holds more than tensors and plain data"
    return f"{type(err).__name__}: {text.splitlines()[0][:200] if text else 'no detail'}"


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write) -> None:
    """Call write(handle) on a temporary file beside path, then rename it into place; on any
    failure the temporary file is removed and path is untouched. The file gets the mode a
    plain open() would give (mkstemp's own is 0600: unreadable to collaborators)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if _disk_full(err, path.parent):
            raise ArtifactError(
                f"{path} could not be written: the disk holding {path.parent} is full "
                f"({shutil.disk_usage(path.parent).free:,} bytes free). The previous "
                "version, if any, is intact; free some space and run the same command "
                "again (a distillation resumes from its last checkpoint).") from err
        raise


def _disk_full(err: BaseException, folder: Path) -> bool:
    """ENOSPC, or torch.save's RuntimeError for a failed write on a (nearly) full disk (its
    zip writer says "unexpected pos ..." or names a failed write, never the disk)."""
    if isinstance(err, OSError):
        return err.errno == errno.ENOSPC
    text = str(err).lower()
    return (isinstance(err, RuntimeError) and ("write" in text or "unexpected pos" in text)
            and shutil.disk_usage(folder).free < 64 * 2**20)


def write_json(path: str | Path, obj: Any) -> None:
    write_atomic(Path(path), lambda h: h.write((json.dumps(obj, indent=2) + "\n").encode()))


def save_distilled(path: str | Path, settings: "RunSettings", result: "DistillResult",
                   data_source: str) -> None:
    """Only deterministic content goes in here (no timings), so the same seed and config
    give the same bytes."""
    payload = {
        "format": FORMAT,
        "images": result.images.detach().cpu().contiguous(),
        "labels": result.labels.cpu().contiguous(),
        "lrs": result.lrs.detach().cpu().contiguous(),
        "raw_lrs": result.raw_lrs.detach().cpu().contiguous(),
        "init_seed": settings.seed,
        "iterations": result.iterations,
        "data_source": data_source,
        "settings": settings.to_dict(),
    }
    if result.best is not None:  # the set chosen by the selection subset (distill.ProgressProbe)
        best = result.best
        payload["best"] = {key: best[key] for key in
                           ("iteration", "selection_acc", "images", "raw_lrs", "lrs")}
    write_atomic(Path(path), lambda h: torch.save(payload, h))


def _load_safely(path: Path, fmt: str, what: str, fix: str) -> dict[str, Any]:
    """torch.load with weights_only (tensors and plain data, never code), checking the
    format tag; every failure names the file and the fix."""
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:
        raise ArtifactError(f"{path} is truncated or corrupt ({_why_unreadable(err)}); "
                            f"{fix}.") from err
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        found = payload.get("format") if isinstance(payload, dict) else None
        raise ArtifactError(f"{path} is not a {what} (format {found!r}, expected {fmt!r}); "
                            f"{fix}.")
    return payload


def load_distilled(path: str | Path) -> Distilled:
    """Load a distilled.pt safely and check it."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path} not found; run `python -m qdistill distill ... --out "
                            f"{path.parent}` first.")
    # Snakemake 9 keeps outputs whose inputs went missing, so the run must be asked for by name
    payload = _load_safely(path, FORMAT, "qdistill distilled set",
                           f"delete the run folder {path.parent} and distill again (in the "
                           f"workflow: snakemake --cores 1 {path.parent / METRICS} all)")
    best = payload.get("best")
    return Distilled(settings=RunSettings.from_dict(payload["settings"]),
                     images=payload["images"], labels=payload["labels"], lrs=payload["lrs"],
                     raw_lrs=payload["raw_lrs"], iterations=payload["iterations"],
                     data_source=payload["data_source"], best=BestSet(**best) if best else None)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """The full state of a distillation between two iterations (see distill.Checkpointing);
    atomic, so a kill during the write leaves the previous checkpoint intact."""
    write_atomic(Path(path), lambda h: torch.save({"format": CHECKPOINT_FORMAT, **state}, h))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint safely and check it."""
    return _load_safely(Path(path), CHECKPOINT_FORMAT, "qdistill checkpoint",
                        "delete it to start the run over")


def save_summary_sets(path: str | Path, sets: dict[str, torch.Tensor], labels: torch.Tensor,
                      identity: dict[str, Any]) -> None:
    """The real-image baselines of one dataset, seed and labels layout (evaluate.py's
    real_summary_sets), with what they were made from (identity: dataset, seed, dtype, data
    md5), so that every evaluation of that layout reads them instead of redoing k-means."""
    write_atomic(Path(path), lambda h: torch.save(
        {"format": SUMMARY_SETS_FORMAT, "labels": labels, "identity": identity, **sets}, h))


def load_summary_sets(path: str | Path) -> dict[str, Any]:
    return _load_safely(Path(path), SUMMARY_SETS_FORMAT, "qdistill summary-sets file",
                        "delete it; the workflow makes it again")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ArtifactError(f"{path} not found.") from err
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{path} is not valid JSON ({err}); delete it and rerun.") from err
