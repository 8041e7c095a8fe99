"""Rule cost: cost.csv, shots.csv and their figures (PNG and PDF) from finished runs."""

from qdistill.files import read_json
from qdistill.logs import start_job
from qdistill.report.cost import cost_figure, cost_frame, shots_figure, shots_frame
from qdistill.report.plotting import save

start_job(snakemake.log[0], snakemake.threads)
params, output = snakemake.params, snakemake.output
full_data = [read_json(f) for f in snakemake.input.full_data]
cost = cost_frame([read_json(f) for f in snakemake.input.metrics], full_data, params.shots)
shots = shots_frame([read_json(f) for f in snakemake.input.shots])
cost.to_csv(output.cost, index=False, float_format="%.4f")
shots.to_csv(output.shots, index=False, float_format="%.4g")
for i, dataset in enumerate(params.datasets):  # outputs are in params.datasets order
    save(cost_figure(cost[cost.dataset == dataset],
                     [f for f in full_data if f["dataset"] == dataset], dataset),
         output.cost_figures[i], output.cost_pdf[i])
    save(shots_figure(shots[shots.dataset == dataset], dataset),
         output.shots_figures[i], output.shots_pdf[i])
print(cost.to_string(index=False))
print(shots.to_string(index=False))
