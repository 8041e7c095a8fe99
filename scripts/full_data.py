"""Rule full_data: a quantum LeNet trained on the full training set, accuracy against
circuit executions."""

from qdistill.config import RunSettings
from qdistill.logs import start_job
from qdistill.runs import baseline_run

start_job(snakemake.log[0], snakemake.threads)
# not a param: where the bytes come from is the manifest's record, and no reason to rerun
mirror = snakemake.config["data_mirror"] or None
baseline_run(RunSettings.from_dict(snakemake.params.settings), snakemake.output[0],
             snakemake.params.root, mirror, snakemake.params.epochs,
             snakemake.params.lr, snakemake.params.batch_size,
             eval_every=snakemake.params.eval_every)
