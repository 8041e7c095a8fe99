"""Rule extensions: extensions.csv (+ .md, .tex), extension_runs.csv and a figure per dataset."""

from qdistill.files import read_json
from qdistill.report.figures import accuracy_plot
from qdistill.report.plotting import save
from qdistill.logs import start_job
from qdistill.report.extensions import extension_runs, extensions_frame, write_extensions
from qdistill.report.table1 import runs_frame
from qdistill.report.transfer import transfer_frame, transfer_summary

start_job(snakemake.log[0], snakemake.threads)
params, output = snakemake.params, snakemake.output
metrics = [read_json(p) for p in snakemake.input.metrics]
transfer = [read_json(p) for p in snakemake.input.transfer]
summary = transfer_summary(transfer_frame(transfer)) if transfer else None
table = extensions_frame(extension_runs(metrics), summary, params.datasets, params.reference,
                         params.models, params.variants)
write_extensions(table, output.csv, output.md, output.tex)
runs = runs_frame(metrics)
runs.to_csv(output.runs, index=False, float_format="%.4g")
for dataset, png, pdf in zip(params.datasets, output.figures, output.figures_pdf):
    save(accuracy_plot(runs, dataset, params.compared, "extensions against the reference model"),
         png, pdf)
print(table.to_string(index=False))
