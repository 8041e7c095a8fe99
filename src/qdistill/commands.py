"""The commands of `python -m qdistill` (cli.py parses the arguments)."""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

import torch

from .artifacts import DISTILL_LOG, DISTILLED, METRICS, load_distilled
from .files import ArtifactError, read_json
from .config import ConfigError, DistillOptions, budget_settings, load_config, run_settings
from .data import DataError, load_dataset
from .distill import DistillationDiverged, RunInterrupted
from .logs import setup_logging
from .published import PUBLISHED_ROOT, carry, publish
from .quantum import EmbeddingError
from .runs import distill_run, evaluate_run, transfer_run

log = logging.getLogger("qdistill")


def budget_of_run(config: dict, run_dir: Path) -> dict:
    """The budget settings a distilled set was made with (the config's budget if unknown)."""
    budget = load_distilled(run_dir / DISTILLED).settings.budget
    return config["budgets"].get(budget, budget_settings(config))


def distill(args: argparse.Namespace, run_dir: Path, overrides: dict) -> None:
    overrides.update(budget=args.budget, qnn_backend=args.qnn_backend, dtype=args.dtype,
                     freeze_circuit=args.freeze_circuit)
    config = load_config(args.config, overrides)
    settings = run_settings(config, args.dataset, args.model, args.seed)
    setup_logging(args.log or run_dir / "distill.log")  # only once the input is good
    distill_run(settings, run_dir, config["data_root"], config["data_mirror"],
                DistillOptions.of_budget(config), progress=not args.no_progress)


def evaluate(args: argparse.Namespace, run_dir: Path, overrides: dict) -> None:
    config = load_config(args.config, overrides)
    # draws and test images: as the budget the set was distilled with says
    budget = budget_of_run(config, run_dir)
    setup_logging(args.log or run_dir / "evaluate.log")
    log_file = run_dir / DISTILL_LOG
    evaluate_run(run_dir / DISTILLED, run_dir / METRICS, config["data_root"],
                 config["data_mirror"], config["device"],
                 random_real_draws=budget["random_real_draws"],
                 test_images=budget["eval_test_images"],
                 distill_log=log_file if log_file.exists() else None)


def publish_or_carry(args: argparse.Namespace, run_dir: Path, overrides: dict) -> None:
    config = load_config(args.config, overrides)
    setup_logging(args.log)
    extra = read_json(args.meta) if args.meta else {}
    root = args.root or PUBLISHED_ROOT
    if not (run_dir / DISTILLED).exists():
        log.info("%s is unfinished: carried to %s", run_dir, carry(run_dir, root, extra))
        return
    data_md5 = read_json(run_dir / DISTILL_LOG).get("data_md5")
    if data_md5 is None:  # the oldest shipped logs do not record it
        dataset = load_distilled(run_dir / DISTILLED).settings.dataset.name
        data_md5 = load_dataset(dataset, config["data_root"],
                                config["data_mirror"]).content_md5()
    log.info("shipped to %s", publish(run_dir, root, data_md5, extra))


def transfer(args: argparse.Namespace, run_dir: Path, overrides: dict) -> None:
    config = load_config(args.config, overrides)
    budget = budget_of_run(config, run_dir)
    inits = args.inits or budget["transfer_inits"]
    first = (config["extensions"]["transfer_first_seed"] if args.first_seed is None
             else args.first_seed)
    setup_logging(args.log or run_dir / "transfer.log")
    transfer_run(run_dir / DISTILLED, run_dir / "transfer.json", config["data_root"],
                 config["data_mirror"], config["device"], first, inits,
                 test_images=budget["eval_test_images"])


COMMANDS = {"distill": distill, "evaluate": evaluate, "publish": publish_or_carry,
            "transfer": transfer}


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; 0 on success, 2 on bad input (the error logged)."""
    run_dir = Path(args.out if args.command == "distill" else args.run_dir)
    setup_logging(None)
    torch.set_num_threads(args.threads)
    overrides = {"data_root": args.data_root, "data_mirror": args.data_mirror,
                 "device": args.device}
    try:
        COMMANDS[args.command](args, run_dir, overrides)
    except (ConfigError, DataError, ArtifactError, DistillationDiverged, EmbeddingError) as err:
        log.error("%s", err)
        return 2
    except RunInterrupted as stop:
        log.warning("%s", stop)
        return 128 + signal.SIGTERM  # the shell's code for "ended by SIGTERM"
    return 0
