"""Command line: `python -m qdistill distill ...`, `python -m qdistill evaluate DIR`,
`python -m qdistill transfer DIR` (the distilled set from other initialisations) and
`python -m qdistill publish DIR` (ship a finished run, or carry an unfinished one, into
published/).

Settings come from config.yaml (the same file the workflow reads); flags override its
top-level keys.
"""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

import torch

from .artifacts import DISTILL_LOG, DISTILLED, ArtifactError, load_distilled, read_json
from .config import ConfigError, budget_settings, load_config, run_settings
from .data import DataError, load_dataset
from .distill import DistillationDiverged, RunInterrupted
from .logs import setup_logging
from .published import PUBLISHED_ROOT, carry, publish
from .quantum import EmbeddingError
from .runs import distill_run, evaluate_run, transfer_run

log = logging.getLogger("qdistill")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="config file (default: the repository's config.yaml)")
    p.add_argument("--data-root", help="dataset folder (config key data_root)")
    p.add_argument("--data-mirror", help="local mirror copied in before any download "
                   "(config key data_mirror), e.g. ../shared/datasets")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="config key device")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1, as the workflow's jobs: the bytes of "
                        "distilled.pt depend on the thread count)")
    p.add_argument("--log", help="log file (default: DIR/<command>.log)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qdistill", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    d = sub.add_parser("distill", help="distill one dataset x model x seed into DIR")
    d.add_argument("--dataset", required=True, help="mnist or cifar10")
    d.add_argument("--model", required=True, help="a model id of config.yaml's model_variants")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", required=True, help="run folder: distilled.pt, distill_log.json")
    d.add_argument("--budget", help="smoke | quick | paper (config key budget)")
    d.add_argument("--qnn-backend", choices=["fast", "pennylane"])
    d.add_argument("--dtype", choices=["float32", "float64"])
    d.add_argument("--freeze-circuit", action="store_true", default=None,
                   help="ablation: never train the circuit angles (the reference's behaviour)")
    d.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_common(d)

    e = sub.add_parser("evaluate", help="evaluate DIR/distilled.pt into DIR/metrics.json")
    e.add_argument("run_dir", metavar="DIR")
    _add_common(e)

    t = sub.add_parser("transfer", help="train DIR/distilled.pt from other initialisations "
                                        "into DIR/transfer.json")
    t.add_argument("run_dir", metavar="DIR")
    t.add_argument("--inits", type=int, help="other initialisations (default: the budget's "
                                             "transfer_inits)")
    t.add_argument("--first-seed", type=int,
                   help="first other init seed (default: extensions.transfer_first_seed)")
    _add_common(t)

    s = sub.add_parser("publish", help="ship DIR (distilled.pt, distill_log.json, metrics.json) "
                                       "into published/, or its checkpoint.pt if unfinished")
    s.add_argument("run_dir", metavar="DIR")
    s.add_argument("--meta", help="JSON file whose fields go into provenance.json over the "
                                  "distill log's (command, source_commit, wall_time_s, ...)")
    s.add_argument("--root", default=str(PUBLISHED_ROOT),
                   help="where shipped runs live (default: the repository's published/)")
    _add_common(s)
    return parser


def budget_of_run(config: dict, run_dir: Path) -> dict:
    """The budget settings a distilled set was made with (the config's budget if unknown)."""
    budget = load_distilled(run_dir / DISTILLED)["settings"]["budget"]
    return config["budgets"].get(budget, budget_settings(config))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_dir = Path(args.out if args.command == "distill" else args.run_dir)
    setup_logging(None)
    if args.command == "transfer" and args.inits is not None and args.inits < 1:
        log.error("--inits must be at least 1, got %d", args.inits)
        return 2
    torch.set_num_threads(args.threads)
    overrides = {"data_root": args.data_root, "data_mirror": args.data_mirror,
                 "device": args.device}
    try:
        if args.command == "distill":
            overrides.update(budget=args.budget, qnn_backend=args.qnn_backend, dtype=args.dtype,
                             freeze_circuit=args.freeze_circuit)
            config = load_config(args.config, overrides)
            settings = run_settings(config, args.dataset, args.model, args.seed)
            setup_logging(args.log or run_dir / "distill.log")  # only once the input is good
            budget = budget_settings(config)
            distill_run(settings, run_dir, config["data_root"], config["data_mirror"],
                        log_every=budget["log_every"], progress=not args.no_progress,
                        checkpoint_every=budget["checkpoint_every"],
                        log_test_images=budget["log_test_images"],
                        selection_images=budget["selection_images"])
        elif args.command == "evaluate":
            config = load_config(args.config, overrides)
            # draws of random real images: as the budget the set was distilled with says
            draws = budget_of_run(config, run_dir)["random_real_draws"]
            setup_logging(args.log or run_dir / "evaluate.log")
            evaluate_run(run_dir, config["data_root"], config["data_mirror"], config["device"],
                         random_real_draws=draws)
        elif args.command == "publish":
            config = load_config(args.config, overrides)
            setup_logging(args.log)
            extra = read_json(args.meta) if args.meta else {}
            if not (run_dir / DISTILLED).exists():
                log.info("%s is unfinished: carried to %s", run_dir,
                         carry(run_dir, args.root, extra))
                return 0
            data_md5 = read_json(run_dir / DISTILL_LOG).get("data_md5")
            if data_md5 is None:  # a log written before it recorded the data's md5
                dataset = load_distilled(run_dir / DISTILLED)["settings"]["dataset"]["name"]
                data_md5 = load_dataset(dataset, config["data_root"],
                                        config["data_mirror"]).content_md5()
            log.info("shipped to %s", publish(run_dir, args.root, data_md5, extra))
        else:
            config = load_config(args.config, overrides)
            inits = args.inits or budget_of_run(config, run_dir)["transfer_inits"]
            first = (config["extensions"]["transfer_first_seed"] if args.first_seed is None
                     else args.first_seed)
            setup_logging(args.log or run_dir / "transfer.log")
            transfer_run(run_dir / DISTILLED, run_dir / "transfer.json", config["data_root"],
                         config["data_mirror"], config["device"], first, inits)
    except (ConfigError, DataError, ArtifactError, DistillationDiverged, EmbeddingError) as err:
        log.error("%s", err)
        return 2
    except RunInterrupted as stop:
        log.warning("%s", stop)
        return 128 + signal.SIGTERM  # the shell's code for "ended by SIGTERM"
    return 0
