"""Rule stability: stability.csv (+ .md, .tex), stability_runs.csv, a figure per dataset."""

from qdistill.artifacts import run_records
from qdistill.logs import start_job
from qdistill.report.plotting import save
from qdistill.report.stability import (
    stability_figure,
    stability_frame,
    stability_summary,
    write_stability,
)

start_job(snakemake.log[0], snakemake.threads)
params, output = snakemake.params, snakemake.output
frame = stability_frame(run_records(snakemake.input.metrics, snakemake.input.distill_logs))
summary = stability_summary(frame, params.models, params.variants)
write_stability(frame, summary, output.csv, output.runs, output.md, output.tex)
for dataset, png, pdf in zip(params.datasets, output.figures, output.figures_pdf):
    save(stability_figure(frame, dataset, params.models), png, pdf)
print(summary.to_string(index=False))
