"""Rule distill: one dataset x model x seed into distilled.pt and distill_log.json."""

from pathlib import Path

from qdistill.config import RunSettings
from qdistill.logs import start_job
from qdistill.runs import distill_run

start_job(snakemake.log[0], snakemake.threads)
out_dir = Path(snakemake.output.distilled).parent
# log_every comes from the config, not a param: changing it must not rerun distillations.
log_every = snakemake.config["budgets"][snakemake.config["budget"]]["log_every"]
distill_run(RunSettings.from_dict(snakemake.params.settings), out_dir, snakemake.params.root,
            snakemake.params.mirror or None, log_every=log_every)
