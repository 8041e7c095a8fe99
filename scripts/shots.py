"""Rule shots: one quantum run's accuracy with finite shots on lightning.qubit."""

from qdistill.logs import start_job
from qdistill.runs import shots_run

start_job(snakemake.log[0], snakemake.threads)
# not a param: where the bytes come from is the manifest's record, and no reason to rerun
mirror = snakemake.config["data_mirror"] or None
shots_run(snakemake.input.distilled, snakemake.output[0], snakemake.params.root,
          mirror, snakemake.params.shots, snakemake.params.n_images,
          snakemake.params.device)
