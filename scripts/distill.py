"""Rule distill: one dataset x model x seed into distilled.pt and distill_log.json."""

import logging
import signal
import sys
from pathlib import Path

from qdistill.config import RunSettings
from qdistill.distill import RunInterrupted
from qdistill.logs import start_job
from qdistill.runs import distill_run

start_job(snakemake.log[0], snakemake.threads)
# not a param: where the bytes come from is the manifest's record, and no reason to rerun
mirror = snakemake.config["data_mirror"] or None
out_dir = Path(snakemake.output.distilled).parent
# What a run logs and how often it checkpoints come from the config, not params: changing
# them must not rerun distillations.
budget = snakemake.config["budgets"][snakemake.config["budget"]]
try:
    distill_run(RunSettings.from_dict(snakemake.params.settings), out_dir, snakemake.params.root,
                mirror, log_every=budget["log_every"],
                checkpoint_every=budget["checkpoint_every"],
                log_test_images=budget["log_test_images"],
                selection_images=budget["selection_images"])
except RunInterrupted as stop:  # SIGTERM (e.g. SLURM preemption): resumes on the next run
    logging.getLogger("qdistill").warning("%s", stop)
    sys.exit(128 + signal.SIGTERM)
