"""Rule transfer_table: transfer.csv (+ .md, .tex) and a figure per dataset."""

from qdistill.files import read_json
from qdistill.logs import start_job
from qdistill.report.transfer import (
    transfer_figure,
    transfer_frame,
    transfer_summary,
    write_transfer_tables,
)

start_job(snakemake.log[0], snakemake.threads)
output = snakemake.output
frame = transfer_frame([read_json(p) for p in snakemake.input.transfer])
summary = transfer_summary(frame, snakemake.params.variants)
write_transfer_tables(frame, summary, output.csv, output.md, output.tex)
for dataset, png in zip(snakemake.params.datasets, output.figures):  # in params' order
    transfer_figure(frame, dataset, png)
print(summary.to_string(index=False))
