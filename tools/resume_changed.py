"""What a change of the distillation settings does from a point of a run on: resume a
checkpoint under the changed settings and log it as the run logs.

    python tools/resume_changed.py CHECKPOINT --set outer_grad_clip=10 --until 6000 \
        --out results/resume_changed/q-res-herm-seed1-clip10.json [--mirror DIR]

The checkpoint's state (images, step sizes, Adam, the real batches' stream) is loaded as
it is; only the settings named by --set differ from the run's, so up to the first
iteration the change acts on, the resumed run is the original to the byte, and its log
points can be compared with the shipped distill_log.json. A run that resumes under other
settings is refused everywhere else (Distillation.resume): here it is the point.
The log (`history` as in distill_log.json) is rewritten whole at every log point, so a
stopped experiment keeps what it did.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

import torch

from qdistill.artifacts import ArtifactError, load_checkpoint
from qdistill.config import RunSettings
from qdistill.data import load_dataset
from qdistill.distill import Distillation
from qdistill.files import write_json

CHANGEABLE = {"outer_grad_clip": float, "outer_lr": float}


def parse_changes(assignments: list[str]) -> dict:
    values = {}
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        if key not in CHANGEABLE or not value:
            raise SystemExit(f"--set {assignment!r}: expected KEY=VALUE with KEY one of "
                             f"{sorted(CHANGEABLE)}")
        values[key] = CHANGEABLE[key](value)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--until", type=int, required=True, help="last outer iteration")
    parser.add_argument("--log-every", type=int, default=200)
    parser.add_argument("--out", required=True)
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--data-root", default="resources/data")
    args = parser.parse_args()
    torch.set_num_threads(1)
    values = parse_changes(args.set)
    if not Path(args.checkpoint).is_file():
        raise SystemExit(f"{args.checkpoint}: no such checkpoint (a carried one from the "
                         "history of published/: git show COMMIT:PATH/checkpoint.pt > FILE)")
    try:
        state = load_checkpoint(args.checkpoint)
    except ArtifactError as err:
        raise SystemExit(str(err)) from None
    original = RunSettings.from_dict(state["identity"]["settings"])
    settings = dataclasses.replace(original, distill=dataclasses.replace(original.distill,
                                                                         **values))
    data = load_dataset(original.dataset.name, args.data_root, args.mirror)
    run = Distillation(settings, data, state["identity"]["iterations"], None, 10_000)
    run.load_state_dict(state)
    run.history = []  # the log from the checkpoint on
    start = run.iterations_done
    commit = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or None
    for it in range(start + 1, min(args.until, run.iterations) + 1):
        run.step()
        if it % args.log_every == 0:
            run.log_point()
            write_json(args.out, {
                "command": ["python", "tools/resume_changed.py", *sys.argv[1:]],
                "commit": commit, "checkpoint": str(args.checkpoint), "resumed_at": start,
                "until": args.until, "changed": values, "settings": settings.to_dict(),
                "history": run.history})


if __name__ == "__main__":
    main()
