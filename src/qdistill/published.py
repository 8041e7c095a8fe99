"""Finished runs shipped with the repository, so that a user builds the paper-budget
Table I without the CPU-days of distilling it.

A shipped run lives in published/{budget}/{dataset}/{model}/seed{seed}/ and holds the run's
distilled.pt, distill_log.json and metrics.json as the workflow writes them, and
provenance.json: the command, the code commit, the data's md5, wall and CPU time. A run
that could not finish in one sitting is carried over as checkpoint.pt (with its
provenance) instead, and resumed from there. The workflow takes the finished ones in as the
outputs of its distill rule (config `shipped_runs: true`, `make paper-tables`).
"""

from __future__ import annotations

import datetime
import platform
import shutil
from pathlib import Path
from typing import Any

from .artifacts import (
    CHECKPOINT,
    DISTILL_LOG,
    DISTILLED,
    METRICS,
    load_checkpoint,
    load_distilled,
)
from .files import ArtifactError, read_json, sha256_of, write_atomic, write_json
from .config import REPO_ROOT

PUBLISHED_ROOT = REPO_ROOT / "published"
PROVENANCE = "provenance.json"
SHIPPED_FILES = (DISTILLED, DISTILL_LOG, METRICS)


def run_folder(root: str | Path, budget: str, dataset: str, model: str, seed: int) -> Path:
    return Path(root) / budget / dataset / model / f"seed{seed}"


def shipped_runs(root: str | Path, budget: str) -> list[dict[str, Any]]:
    """The finished runs of a budget under root: {dataset, model, seed}, sorted."""
    runs = []
    for distilled in sorted(Path(root, budget).glob(f"*/*/seed*/{DISTILLED}")):
        folder = distilled.parent
        runs.append({"dataset": folder.parent.parent.name, "model": folder.parent.name,
                     "seed": int(folder.name.removeprefix("seed"))})
    return sorted(runs, key=lambda r: (r["dataset"], r["model"], r["seed"]))


def table1_models(config: dict[str, Any], shipped: list[dict[str, Any]]) -> list[str]:
    """Table I's models of the config, and each shipped frozen-circuit extension beside the
    model it freezes: the paper's numbers come from code that never trains the circuit
    angles."""
    models, reference = list(config["models"]), config["extensions"]["reference"]
    for frozen in config["extensions"]["models"]:
        if config["model_variants"][frozen].get("frozen_circuit") and any(
                r["model"] == frozen for r in shipped):
            at = models.index(reference) + 1 if reference in models else len(models)
            models.insert(at, frozen)
    return models


def check_shipped_run(folder: str | Path) -> None:
    """A shipped run's distilled.pt loads and is the run its folder names; else an error
    naming the file and the two ways on (its copy in git, or leaving the cell out)."""
    folder = Path(folder)
    try:
        settings = load_distilled(folder / DISTILLED).settings
        found = (settings.dataset.name, settings.model.model_id, f"seed{settings.seed}")
        if found != (folder.parent.parent.name, folder.parent.name, folder.name):
            raise ArtifactError(f"{folder / DISTILLED} holds the run {'/'.join(found)}")
        read_json(folder / DISTILL_LOG)
    except ArtifactError as err:
        reason = str(err).split("; ")[0]
        raise ArtifactError(
            f"shipped run {folder} is damaged ({reason}). Restore it from git (git checkout -- "
            f"{folder}), or move the folder out of {folder.parent.parent.parent} to leave its "
            "cell out of the tables.") from err


def missing_cells(shipped: list[dict[str, Any]], datasets: list[str], models: list[str],
                  seeds: list[int]) -> list[dict[str, Any]]:
    """The dataset x model x seed of the budget that are not shipped."""
    have = {(r["dataset"], r["model"], r["seed"]) for r in shipped}
    return [{"dataset": d, "model": m, "seed": s} for d in datasets for m in models
            for s in seeds if (d, m, s) not in have]


def _copy(src: Path, dest: Path) -> None:
    with open(src, "rb") as source:
        write_atomic(dest, lambda handle: shutil.copyfileobj(source, handle))


def provenance(settings: dict[str, Any], distill_log: dict[str, Any] | None,
               data_md5: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    """Where a shipped run comes from: what `extra` says (the command line that ran it,
    measured times, the commit it ran at) over what its distill log recorded."""
    log = distill_log or {}
    command = (f"python -m qdistill distill --dataset {settings['dataset']['name']} "
               f"--model {settings['model']['model_id']} --seed {settings['seed']} "
               f"--budget {settings['budget']}")
    record = {
        "dataset": settings["dataset"]["name"], "model": settings["model"]["model_id"],
        "seed": settings["seed"], "budget": settings["budget"],
        "command": command,
        "source_commit": log.get("source_commit"),
        "qdistill_version": log.get("qdistill_version"),
        "torch_version": log.get("torch_version"),
        "python": log.get("python"),
        "threads": log.get("threads"),
        "iterations": log.get("iterations"),
        "wall_time_s": log.get("wall_time_s"),
        "cpu_time_s": log.get("cpu_time_s"),
        "data_md5": data_md5 or log.get("data_md5"),
        "shipped_by": platform.node(),
        "shipped_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    record.update({k: v for k, v in extra.items() if v is not None})
    return record


def publish(run_dir: str | Path, root: str | Path, data_md5: str | None,
            extra: dict[str, Any] | None = None) -> Path:
    """Ship a finished and evaluated run (distilled.pt, distill_log.json, metrics.json in
    run_dir) to root; a carried checkpoint of the same run there is removed."""
    run_dir = Path(run_dir)
    for name in SHIPPED_FILES:
        if not (run_dir / name).is_file():
            fix = ("evaluate it first: python -m qdistill evaluate " + str(run_dir)
                   if name == METRICS else "the run has not finished")
            raise ArtifactError(f"{run_dir / name} not found; {fix}.")
    settings = load_distilled(run_dir / DISTILLED).settings.to_dict()
    if read_json(run_dir / METRICS).get("distilled_sha256") != sha256_of(run_dir / DISTILLED):
        raise ArtifactError(f"{run_dir / METRICS} belongs to another distilled set; evaluate "
                            f"{run_dir} again.")
    dest = run_folder(root, settings["budget"], settings["dataset"]["name"],
                      settings["model"]["model_id"], settings["seed"])
    for name in SHIPPED_FILES:
        _copy(run_dir / name, dest / name)
    write_json(dest / PROVENANCE, provenance(settings, read_json(run_dir / DISTILL_LOG),
                                             data_md5, extra or {}))
    (dest / CHECKPOINT).unlink(missing_ok=True)
    return dest


def carry(run_dir: str | Path, root: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Ship an unfinished run's checkpoint.pt, to be resumed later (resume_carried)."""
    run_dir = Path(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINT)
    settings = state["identity"]["settings"]
    dest = run_folder(root, settings["budget"], settings["dataset"]["name"],
                      settings["model"]["model_id"], settings["seed"])
    if (dest / DISTILLED).exists():
        raise ArtifactError(f"{dest} already holds the finished run; nothing to carry.")
    _copy(run_dir / CHECKPOINT, dest / CHECKPOINT)
    record = provenance(settings, None, None, extra or {})
    record.update(carried_at_iteration=state["iteration"],
                  iterations=state["identity"]["iterations"])
    write_json(dest / PROVENANCE, record)
    return dest


def resume_carried(root: str | Path, budget: str, dataset: str, model: str, seed: int,
                   run_dir: str | Path) -> bool:
    """Put a carried checkpoint into run_dir so that the same distill command resumes it;
    False if none is carried."""
    carried = run_folder(root, budget, dataset, model, seed) / CHECKPOINT
    if not carried.is_file():
        return False
    _copy(carried, Path(run_dir) / CHECKPOINT)
    return True
