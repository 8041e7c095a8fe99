"""Rule evaluate: metrics.json of one run."""

from pathlib import Path

from qdistill.logs import start_job
from qdistill.runs import evaluate_run

start_job(snakemake.log[0], snakemake.threads)
# not a param: where the bytes come from is the manifest's record, and no reason to rerun
mirror = snakemake.config["data_mirror"] or None
evaluate_run(Path(snakemake.output.metrics).parent, snakemake.params.root,
             mirror, snakemake.params.device,
             snakemake.params.random_real_draws)
