"""Rule evaluate: metrics.json of one run."""

from qdistill.logs import job_data, start_job
from qdistill.runs import evaluate_run

start_job(snakemake.log[0], snakemake.threads)
evaluate_run(snakemake.input.distilled, snakemake.output.metrics,
             device=snakemake.params.device,
             random_real_draws=snakemake.params.random_real_draws,
             test_images=snakemake.params.test_images,
             summary_sets=snakemake.input.summary_sets,
             distill_log=snakemake.input.distill_log, **job_data(snakemake))
