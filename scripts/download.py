"""Rule download: fetch or copy one dataset and write its manifest."""

from qdistill.artifacts import write_json
from qdistill.data import prepare_dataset
from qdistill.logs import start_job

start_job(snakemake.log[0], snakemake.threads)
# not a param: where the bytes come from is the manifest's record, and no reason to rerun
mirror = snakemake.config["data_mirror"] or None
write_json(snakemake.output.manifest,
           prepare_dataset(snakemake.wildcards.dataset, snakemake.params.root,
                           mirror))
