"""Rule transfer: one run's distilled set evaluated from other initialisations."""

from qdistill.logs import start_job
from qdistill.runs import transfer_run

start_job(snakemake.log[0], snakemake.threads)
transfer_run(snakemake.input.distilled, snakemake.output[0], snakemake.params.root,
             snakemake.params.mirror or None, snakemake.params.device,
             snakemake.params.first_seed, snakemake.params.n_inits)
