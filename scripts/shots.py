"""Rule shots: one quantum run's accuracy with finite shots on lightning.qubit."""

from qdistill.logs import start_job
from qdistill.runs import shots_run

start_job(snakemake.log[0], snakemake.threads)
shots_run(snakemake.input.distilled, snakemake.output[0], snakemake.params.root,
          snakemake.params.mirror or None, snakemake.params.shots, snakemake.params.n_images,
          snakemake.params.device)
