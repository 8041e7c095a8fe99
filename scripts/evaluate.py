"""Rule evaluate: metrics.json of one run."""

from pathlib import Path

from qdistill.logs import start_job
from qdistill.runs import evaluate_run

start_job(snakemake.log[0], snakemake.threads)
evaluate_run(Path(snakemake.output.metrics).parent, snakemake.params.root,
             snakemake.params.mirror or None, snakemake.params.device,
             snakemake.params.random_real_draws)
