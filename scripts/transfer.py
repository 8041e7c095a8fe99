"""Rule transfer: one run's distilled set evaluated from other initialisations."""

from qdistill.logs import start_job
from qdistill.runs import transfer_run

start_job(snakemake.log[0], snakemake.threads)
# not a param: where the bytes come from is the manifest's record, and no reason to rerun
mirror = snakemake.config["data_mirror"] or None
transfer_run(snakemake.input.distilled, snakemake.output[0], snakemake.params.root,
             mirror, snakemake.params.device,
             snakemake.params.first_seed, snakemake.params.n_inits)
