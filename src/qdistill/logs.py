"""Logging set-up for the CLI and for the workflow's jobs, and where a job's data is (kept
free of heavy imports)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: str | Path | None) -> None:
    """INFO to stderr, and to log_file when given (appended: a resumed CLI run keeps the
    log of its first part; Snakemake starts a rerun job's log afresh)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True, format=FORMAT)


def start_job(log_file: str | Path, threads: int) -> None:
    """For workflow scripts: everything (logging, progress bars, warnings) into the rule's
    log file, and torch on the job's share of the cores."""
    import torch

    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    sys.stderr = open(log_file, "a", buffering=1)  # noqa: SIM115 (lives as long as the job)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True, format=FORMAT)
    torch.set_num_threads(max(1, int(threads)))


def job_data(snakemake: Any) -> dict[str, str | None]:
    """data_root and data_mirror of a workflow job: the folder of the dataset manifest it
    reads (or, for download, writes), and the config's mirror. Neither is a param: where
    the bytes came from is the manifest's record, so a mirror spelled otherwise, or moved,
    reruns nothing."""
    manifest = snakemake.input.get("manifest") or snakemake.output.get("manifest")
    return {"data_root": str(Path(manifest).parent),
            "data_mirror": snakemake.config["data_mirror"] or None}


class SayOnce(logging.Filter):
    """Let a log line that starts with one of `prefixes` through the first time only."""

    def __init__(self, *prefixes: str):
        super().__init__()
        self.prefixes, self.seen = prefixes, set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if not message.startswith(self.prefixes):
            return True
        fresh = message not in self.seen
        self.seen.add(message)
        return fresh
