"""Rule full_data: a quantum LeNet trained on the full training set, accuracy against
circuit executions."""

from qdistill.config import RunSettings
from qdistill.logs import job_data, start_job
from qdistill.runs import baseline_run

start_job(snakemake.log[0], snakemake.threads)
baseline_run(RunSettings.from_dict(snakemake.params.settings), snakemake.output[0],
             epochs=snakemake.params.epochs, lr=snakemake.params.lr,
             batch_size=snakemake.params.batch_size, eval_every=snakemake.params.eval_every,
             **job_data(snakemake))
