"""Rule distill: one dataset x model x seed into distilled.pt and distill_log.json."""

import logging
import signal
import sys
from pathlib import Path

from qdistill.config import DistillOptions, RunSettings
from qdistill.distill import RunInterrupted
from qdistill.logs import job_data, start_job
from qdistill.runs import distill_run

start_job(snakemake.log[0], snakemake.threads)
out_dir = Path(snakemake.output.distilled).parent
try:
    # the options come from the config, not params: changing them reruns nothing
    distill_run(RunSettings.from_dict(snakemake.params.settings), out_dir,
                options=DistillOptions.of_budget(snakemake.config), **job_data(snakemake))
except RunInterrupted as stop:  # SIGTERM (e.g. SLURM preemption): resumes on the next run
    logging.getLogger("qdistill").warning("%s", stop)
    sys.exit(128 + signal.SIGTERM)
