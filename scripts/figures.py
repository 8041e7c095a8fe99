"""Rule figures: distilled image grids, accuracy per model, distillation curves."""

from qdistill.artifacts import load_distilled, run_records
from qdistill.config import DATASET_FACTS
from qdistill.logs import start_job
from qdistill.report import figures
from qdistill.report.plotting import save
from qdistill.report.table1 import runs_frame

start_job(snakemake.log[0], snakemake.threads)
datasets, models = snakemake.params.datasets, snakemake.params.models
metrics = run_records(snakemake.input.metrics, snakemake.input.distill_logs)
runs, history = runs_frame(metrics), figures.history_frame(metrics)


def png(stem):
    """The PNGs are named outputs (their file stems), each labelled in the report."""
    return getattr(snakemake.output, stem)


grids = zip(snakemake.params.grid_runs, snakemake.input.distilled, snakemake.output.grids_pdf)
for run, distilled_path, pdf in grids:
    facts = DATASET_FACTS[run["dataset"]]
    title = f"{facts.title}, {run['model']}, seed {run['seed']}"
    grid = figures.image_grid(load_distilled(distilled_path), facts.classes, title)
    save(grid, png(f"distilled_{run['dataset']}_{run['model']}"), pdf)
for i, dataset in enumerate(datasets):
    save(figures.accuracy_plot(runs, dataset, models),
                 png(f"accuracy_{dataset}"), snakemake.output.accuracy_pdf[i])
    save(figures.curves_plot(history, dataset, models),
                 png(f"curves_{dataset}"), snakemake.output.curves_pdf[i])
    save(figures.progress_plot(history, dataset, models),
                 png(f"progress_{dataset}"), snakemake.output.progress_pdf[i])
