"""Rule transfer: one run's distilled set evaluated from other initialisations."""

from qdistill.logs import job_data, start_job
from qdistill.runs import transfer_run

start_job(snakemake.log[0], snakemake.threads)
transfer_run(snakemake.input.distilled, snakemake.output[0], device=snakemake.params.device,
             first_seed=snakemake.params.first_seed, count=snakemake.params.n_inits,
             test_images=snakemake.params.test_images, **job_data(snakemake))
