"""A run's files: the distilled set (distilled.pt, loaded as `Distilled`, the one shape of a
distilled set from the distillation to the tables), the in-run checkpoint and the shared
real-image baselines, each written atomically (files.write_atomic) and loaded with a check
of its format that names the file and the fix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch

from .config import RunSettings
from .files import ArtifactError, read_json, write_atomic

DISTILLED = "distilled.pt"
DISTILL_LOG = "distill_log.json"
METRICS = "metrics.json"
FORMAT = "qdistill-distilled/1"
CHECKPOINT = "checkpoint.pt"
# The keys of Distillation.state_dict(): change the number when they change, so a checkpoint
# of another layout is refused on resume (load_checkpoint) instead of misread.
CHECKPOINT_FORMAT = "qdistill-checkpoint/1"
SUMMARY_SETS_FORMAT = "qdistill-summary-sets/1"


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
    """A distilled set with its run's settings: what Distillation.finish() gives, what
    distilled.pt holds, and what evaluate, shots, transfer and the figures read.
    images: (distill_steps, images per step, C, H, W); labels: (distill_steps, images per
    step); lrs: the T learned step sizes (raw_lrs: before the softplus)."""

    settings: RunSettings
    images: torch.Tensor
    labels: torch.Tensor
    lrs: torch.Tensor
    raw_lrs: torch.Tensor
    iterations: int
    data_source: str
    best: BestSet | None = None

    @property
    def device(self) -> torch.device:
        return self.images.device

    @property
    def dtype(self) -> torch.dtype:
        return self.images.dtype

    def to(self, device: torch.device, dtype: torch.dtype) -> "Distilled":
        """The same set on `device`, its images and step sizes in `dtype` (the best set
        too)."""
        best = self.best and replace(self.best, images=self.best.images.to(device, dtype),
                                     raw_lrs=self.best.raw_lrs.to(device, dtype),
                                     lrs=self.best.lrs.to(device, dtype))
        return replace(self, images=self.images.to(device, dtype),
                       labels=self.labels.to(device), lrs=self.lrs.to(device, dtype),
                       raw_lrs=self.raw_lrs.to(device, dtype), best=best)


def best_set_from_dict(values: dict[str, Any] | None) -> BestSet | None:
    """A BestSet from its dict in a file (keys beyond its fields, such as a checkpoint's
    test_acc of the log point, are left out)."""
    if values is None:
        return None
    return BestSet(**{f.name: values[f.name] for f in fields(BestSet)})


def _why_unreadable(err: Exception) -> str:
    """A short reason for a failed torch.load (torch's own text for a refused unpickle
    suggests weights_only=False, which is exactly what must not be done here)."""
    text = str(err)
    if "Weights only load failed" in text:
        return "refused by the weights-only loader: it holds more than tensors and plain data"
    return f"{type(err).__name__}: {text.splitlines()[0][:200] if text else 'no detail'}"


def save_distilled(path: str | Path, distilled: Distilled) -> None:
    """Only deterministic content goes in here (no timings), so the same seed and config
    give the same bytes."""
    cpu = lambda tensor: tensor.detach().cpu().contiguous()  # noqa: E731
    payload = {
        "format": FORMAT,
        "images": cpu(distilled.images),
        "labels": cpu(distilled.labels),
        "lrs": cpu(distilled.lrs),
        "raw_lrs": cpu(distilled.raw_lrs),
        "init_seed": distilled.settings.seed,
        "iterations": distilled.iterations,
        "data_source": distilled.data_source,
        "settings": distilled.settings.to_dict(),
    }
    if distilled.best is not None:  # the set chosen by the selection subset
        payload["best"] = asdict(distilled.best)
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
    return Distilled(settings=RunSettings.from_dict(payload["settings"]),
                     images=payload["images"], labels=payload["labels"], lrs=payload["lrs"],
                     raw_lrs=payload["raw_lrs"], iterations=payload["iterations"],
                     data_source=payload["data_source"],
                     best=best_set_from_dict(payload.get("best")))


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


def run_records(metrics: list[str | Path], distill_logs: list[str | Path]) -> list[dict[str, Any]]:
    """Each run's evaluation (metrics.json) with its distill log (distill_log.json, the file
    beside it) under "distill": one record per run, what the tables and figures read."""
    if len(metrics) != len(distill_logs):
        raise ValueError(f"{len(metrics)} metrics files but {len(distill_logs)} distill logs")
    records = []
    for metrics_file, log_file in zip(map(Path, metrics), map(Path, distill_logs)):
        if metrics_file.parent != log_file.parent:
            raise ValueError(f"{metrics_file} and {log_file} are not of the same run")
        records.append({**read_json(metrics_file), "distill": read_json(log_file)})
    return records
