TABLES = "results/tables"
FIGURES = "results/figures"
FIRST_SEED = SEEDS[0]


rule table:
    """Table I: mean and std over seeds, the paper's value beside ours."""
    input:
        metrics=all_runs("metrics.json"),
        baselines=all_baselines(),
        code=os.path.join(workflow.basedir, "scripts", "table.py"),
    output:
        csv=report(f"{TABLES}/table1.csv", caption="captions/table1.rst", category="Table I"),
        md=f"{TABLES}/table1.md",
        tex=f"{TABLES}/table1.tex",
        runs=report(f"{TABLES}/runs.csv", caption="captions/runs.rst", category="Table I"),
        baselines=f"{TABLES}/full_data_baseline.csv",
    params:
        datasets=DATASETS,
        models=MODELS,
        variants=config["model_variants"],
    log:
        "results/logs/table.log",
    benchmark:
        "results/benchmarks/table.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/table.py"


rule figures:
    """Distilled images, accuracy per model (every seed, paper marked), progress curves."""
    input:
        metrics=all_runs("metrics.json"),
        distilled=expand(f"{RUN}/distilled.pt", dataset=DATASETS, model=GRID_MODELS,
                         seed=FIRST_SEED),
        code=os.path.join(workflow.basedir, "scripts", "figures.py"),
    output:
        grids=report(
            expand(f"{FIGURES}/distilled_{{dataset}}_{{model}}.png", dataset=DATASETS,
                   model=GRID_MODELS),
            caption="captions/distilled.rst",
            category="Distilled images",
        ),
        grids_pdf=expand(f"{FIGURES}/distilled_{{dataset}}_{{model}}.pdf", dataset=DATASETS,
                         model=GRID_MODELS),
        accuracy=report(
            expand(f"{FIGURES}/accuracy_{{dataset}}.png", dataset=DATASETS),
            caption="captions/accuracy.rst",
            category="Accuracy",
        ),
        accuracy_pdf=expand(f"{FIGURES}/accuracy_{{dataset}}.pdf", dataset=DATASETS),
        curves=report(
            expand(f"{FIGURES}/curves_{{dataset}}.png", dataset=DATASETS),
            caption="captions/curves.rst",
            category="Distillation progress",
        ),
        curves_pdf=expand(f"{FIGURES}/curves_{{dataset}}.pdf", dataset=DATASETS),
    params:
        datasets=DATASETS,
        models=MODELS,
        grid_models=GRID_MODELS,
        seed=FIRST_SEED,
    log:
        "results/logs/figures.log",
    benchmark:
        "results/benchmarks/figures.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/figures.py"
