"""Rule download: fetch or copy one dataset and write its manifest."""

from qdistill.files import write_json
from qdistill.data import prepare_dataset
from qdistill.logs import job_data, start_job

start_job(snakemake.log[0], snakemake.threads)
data = job_data(snakemake)
write_json(snakemake.output.manifest,
           prepare_dataset(snakemake.wildcards.dataset, root=data["data_root"],
                           mirror=data["data_mirror"]))
