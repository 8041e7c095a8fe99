"""Rule shots: one quantum run's accuracy with finite shots on lightning.qubit."""

from qdistill.logs import job_data, start_job
from qdistill.runs import shots_run

start_job(snakemake.log[0], snakemake.threads)
shots_run(snakemake.input.distilled, snakemake.output[0], shots=snakemake.params.shots,
          n_images=snakemake.params.n_images, device=snakemake.params.device,
          **job_data(snakemake))
