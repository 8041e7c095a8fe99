"""Rule figures: distilled image grids, accuracy per model, distillation curves."""

from qdistill import figures
from qdistill.artifacts import load_distilled, read_json
from qdistill.data import CIFAR10_CLASSES
from qdistill.logs import start_job
from qdistill.tables import DATASET_TITLES, runs_frame

start_job(snakemake.log[0], snakemake.threads)
datasets, models = snakemake.params.datasets, snakemake.params.models
classes = {"mnist": [str(d) for d in range(10)], "cifar10": list(CIFAR10_CLASSES)}
metrics = [read_json(p) for p in snakemake.input.metrics]
runs, history = runs_frame(metrics), figures.history_frame(metrics)

grids = zip(snakemake.params.grid_runs, snakemake.input.distilled, snakemake.output.grids,
            snakemake.output.grids_pdf)
for run, distilled_path, png, pdf in grids:
    title = f"{DATASET_TITLES[run['dataset']]}, {run['model']}, seed {run['seed']}"
    figures.save(figures.image_grid(load_distilled(distilled_path), classes[run["dataset"]],
                                    title), png, pdf)
for i, dataset in enumerate(datasets):
    figures.save(figures.accuracy_plot(runs, dataset, models),
                 snakemake.output.accuracy[i], snakemake.output.accuracy_pdf[i])
    figures.save(figures.curves_plot(history, dataset, models),
                 snakemake.output.curves[i], snakemake.output.curves_pdf[i])
    figures.save(figures.progress_plot(history, dataset, models),
                 snakemake.output.progress[i], snakemake.output.progress_pdf[i])
