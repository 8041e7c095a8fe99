GRID_RUNS = grid_runs()


rule table:
    """Table I: mean and std over seeds, the paper's value beside ours."""
    input:
        metrics=all_runs("metrics.json"),
        baselines=all_baselines(),
        code=job_code("table.py"),
    output:
        csv=report(f"{TABLES}/table1.csv", caption="captions/table1.rst", category="Table I"),
        md=f"{TABLES}/table1.md",
        html=report(f"{TABLES}/table1.html", caption="captions/table1.rst", category="Table I"),
        tex=f"{TABLES}/table1.tex",
        runs=report(f"{TABLES}/runs.csv", caption="captions/runs.rst", category="Table I"),
        baselines=f"{TABLES}/full_data_baseline.csv",
    log:
        f"{RESULTS}/logs/table.log",
    benchmark:
        f"{RESULTS}/benchmarks/table.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # every configured dataset: one with no shipped run is listed as not run
        datasets=config["datasets"],
        models=MODELS,
        seeds=SEEDS,
        # shipped runs may leave cells empty; they are listed, not an error
        allow_missing=SHIPPED_RUNS,
        variants={m: config["model_variants"][m] for m in MODELS},
    script:
        "../scripts/table.py"


rule figures:
    """Distilled images, accuracy per model (every seed, paper marked), progress curves."""
    input:
        metrics=all_runs("metrics.json"),
        distill_logs=all_runs("distill_log.json"),
        distilled=[f"{RUN}/distilled.pt".format(**r) for r in GRID_RUNS],
        code=job_code("figures.py"),
    output:
        **labelled_pngs(
            {
                f"distilled_{r['dataset']}_{r['model']}": (
                    r["dataset"],
                    # the report shows a label 0 as empty: labels are text
                    {"model": r["model"], "seed": str(r["seed"])},
                )
                for r in GRID_RUNS
            },
            caption="captions/distilled.rst",
            category="Distilled images",
        ),
        **per_dataset_pngs("accuracy", "captions/accuracy.rst", "Accuracy"),
        **per_dataset_pngs("curves", "captions/curves.rst", "Distillation progress"),
        **per_dataset_pngs("progress", "captions/progress.rst", "Distillation progress"),
        grids_pdf=[f"{FIGURES}/distilled_{r['dataset']}_{r['model']}.pdf" for r in GRID_RUNS],
        accuracy_pdf=expand(f"{FIGURES}/accuracy_{{dataset}}.pdf", dataset=DATASETS),
        curves_pdf=expand(f"{FIGURES}/curves_{{dataset}}.pdf", dataset=DATASETS),
        progress_pdf=expand(f"{FIGURES}/progress_{{dataset}}.pdf", dataset=DATASETS),
    log:
        f"{RESULTS}/logs/figures.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        datasets=DATASETS,
        models=MODELS,
        grid_runs=GRID_RUNS,
    script:
        "../scripts/figures.py"


rule stability:
    """Stability of the distillation per model: spread over seeds, volatility of the test
    accuracy and of the outer loss along the second half of each run."""
    input:
        metrics=all_runs("metrics.json"),
        distill_logs=all_runs("distill_log.json"),
        code=job_code("stability.py"),
    output:
        csv=report(
            f"{TABLES}/stability.csv", caption="captions/stability.rst", category="Stability"
        ),
        runs=f"{TABLES}/stability_runs.csv",
        md=f"{TABLES}/stability.md",
        html=report(
            f"{TABLES}/stability.html", caption="captions/stability.rst", category="Stability"
        ),
        tex=f"{TABLES}/stability.tex",
        figures=report(
            expand(f"{FIGURES}/stability_{{dataset}}.png", dataset=DATASETS),
            caption="captions/stability_figure.rst",
            category="Stability",
        ),
        figures_pdf=expand(f"{FIGURES}/stability_{{dataset}}.pdf", dataset=DATASETS),
    log:
        f"{RESULTS}/logs/stability.log",
    benchmark:
        f"{RESULTS}/benchmarks/stability.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        datasets=DATASETS,
        models=MODELS,
        variants={m: config["model_variants"][m] for m in MODELS},
    script:
        "../scripts/stability.py"


rule landing:
    """The report's first page: what the report holds, Table I with its verdicts, and the
    test accuracy along the runs."""
    input:
        table=rules.table.output.csv,
        progress=expand(f"{FIGURES}/progress_{{dataset}}.png", dataset=DATASETS),
        code=job_code("landing.py"),
    output:
        LANDING,
    log:
        f"{RESULTS}/logs/landing.log",
    benchmark:
        f"{RESULTS}/benchmarks/landing.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        budget=config["budget"],
    script:
        "../scripts/landing.py"
