"""Rule summary_sets: the real-image baselines of one dataset, seed and labels layout."""

from qdistill.config import DatasetSpec
from qdistill.logs import job_data, start_job
from qdistill.runs import summary_sets_run

start_job(snakemake.log[0], snakemake.threads)
w = snakemake.wildcards
summary_sets_run(DatasetSpec(**snakemake.params.dataset), int(w.seed), int(w.steps),
                 int(w.per_class), snakemake.params.dtype, snakemake.output[0],
                 **job_data(snakemake))
