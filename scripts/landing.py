"""Rule landing: the report's first page (what it holds, Table I, the progress figure)."""

from pathlib import Path

import pandas as pd

from qdistill.logs import start_job
from qdistill.report.table1 import landing_rst

start_job(snakemake.log[0], snakemake.threads)
table = pd.read_csv(snakemake.input.table, dtype={"seeds": str, "missing_seeds": str})
shown = table[table.n_seeds > 0].dataset
figure = next((p for p in snakemake.input.progress
               if not shown.empty and Path(p).stem == f"progress_{shown.iloc[0]}"), None)
Path(snakemake.output[0]).write_text(landing_rst(table, snakemake.params.budget, figure))
