"""Rule table: Table I (CSV, Markdown, LaTeX), the per-run table and the full-data ceiling."""

from qdistill.files import read_json
from qdistill.logs import start_job
from qdistill.report.table1 import baseline_frame, runs_frame, table1, write_table1

start_job(snakemake.log[0], snakemake.threads)
runs = runs_frame([read_json(p) for p in snakemake.input.metrics])
baselines = baseline_frame([read_json(p) for p in snakemake.input.baselines])
params = snakemake.params
table = table1(runs, params.datasets, params.models, params.variants, params.seeds,
               params.allow_missing)
write_table1(table, baselines, snakemake.output.csv, snakemake.output.md, snakemake.output.tex)
runs.to_csv(snakemake.output.runs, index=False, float_format="%.4g")
baselines.to_csv(snakemake.output.baselines, index=False, float_format="%.2f")
print(table.to_string(index=False))
