"""Command line: `python -m qdistill distill ...`, `python -m qdistill evaluate DIR`,
`python -m qdistill transfer DIR` (the distilled set from other initialisations) and
`python -m qdistill publish DIR` (ship a finished run, or carry an unfinished one, into
published/).

Settings come from config.yaml (the same file the workflow reads); flags override its
top-level keys.
"""

from __future__ import annotations

import argparse

from . import __version__


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="config file (default: the repository's config.yaml)")
    p.add_argument("--data-root", help="dataset folder (config key data_root)")
    p.add_argument("--data-mirror", help="local mirror copied in before any download "
                   "(config key data_mirror), e.g. ../shared/datasets")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="config key device")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="torch CPU threads (default 1, as the workflow's jobs: the bytes of "
                        "distilled.pt depend on the thread count)")
    p.add_argument("--log", help="log file (default: DIR/<command>.log)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qdistill", description=__doc__)
    parser.add_argument("--version", action="version", version=f"qdistill {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    d = sub.add_parser("distill", help="distill one dataset x model x seed into DIR")
    d.add_argument("--dataset", required=True, help="mnist or cifar10")
    d.add_argument("--model", required=True, help="a model id of config.yaml's model_variants")
    d.add_argument("--seed", type=int, default=0,
                   help="the run's seed: its initialisation, synthetic images and batches "
                        "(default 0)")
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
    t.add_argument("--inits", type=positive_int,
                   help="other initialisations (default: the budget's transfer_inits)")
    t.add_argument("--first-seed", type=int,
                   help="first other init seed (default: extensions.transfer_first_seed)")
    _add_common(t)

    s = sub.add_parser("publish", help="ship DIR (distilled.pt, distill_log.json, metrics.json) "
                                       "into published/, or its checkpoint.pt if unfinished")
    s.add_argument("run_dir", metavar="DIR")
    s.add_argument("--meta", help="JSON file whose fields go into provenance.json over the "
                                  "distill log's (command, source_commit, wall_time_s, ...)")
    s.add_argument("--root",
                   help="where shipped runs live (default: the repository's published/)")
    _add_common(s)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .commands import run  # torch and PennyLane load only now: --help and bad flags are quick

    return run(args)
