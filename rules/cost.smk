# What distillation saves on a quantum computer: circuit executions of training on the
# distilled set against full-data training, and accuracy under shot noise.


rule full_data:
    """A quantum LeNet trained normally on the full training set: test accuracy against
    circuit executions, for the cost comparison."""
    input:
        manifest=manifest,
    output:
        f"{RESULTS}/cost/{{dataset}}/{{model}}/seed{{seed}}/full_data.json",
    log:
        f"{RESULTS}/logs/full_data/{{dataset}}/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/full_data/{{dataset}}/{{model}}/seed{{seed}}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=3000,
        runtime=240,
    params:
        settings=settings_of_full_data,
        epochs=BUDGET["baseline_epochs"],
        lr=config["baseline"]["lr"],
        batch_size=config["baseline"]["batch_size"],
        eval_every=config["cost"]["eval_every"],
    script:
        "../scripts/full_data.py"


rule shots:
    """A quantum run's trained network evaluated with finite shots on lightning.qubit."""
    input:
        distilled=f"{RUN}/distilled.pt",
        manifest=manifest,
        code=job_code("shots.py"),
    output:
        f"{RUN}/shots.json",
    log:
        f"{RESULTS}/logs/shots/{{dataset}}/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/shots/{{dataset}}/{{model}}/seed{{seed}}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=3000,
        runtime=120,
    params:
        shots=config["cost"]["shots"],
        n_images=BUDGET["shot_test_images"],
        device=config["device"],
    script:
        "../scripts/shots.py"


rule cost:
    """cost.csv and shots.csv, and their figures."""
    input:
        metrics=quantum_runs("metrics.json"),
        shots=quantum_runs("shots.json"),
        full_data=expand(
            f"{RESULTS}/cost/{{dataset}}/{{model}}/seed{{seed}}/full_data.json",
            dataset=DATASETS,
            model=COST_MODELS,
            seed=SEEDS,
        ),
        code=job_code("cost.py"),
    output:
        cost=report(f"{TABLES}/cost.csv", caption="captions/cost.rst", category="Cost"),
        shots=report(f"{TABLES}/shots.csv", caption="captions/shots.rst", category="Cost"),
        cost_figures=report(
            expand(f"{FIGURES}/cost_{{dataset}}.png", dataset=DATASETS),
            caption="captions/cost_figure.rst",
            category="Cost",
        ),
        cost_pdf=expand(f"{FIGURES}/cost_{{dataset}}.pdf", dataset=DATASETS),
        shots_figures=report(
            expand(f"{FIGURES}/shots_{{dataset}}.png", dataset=DATASETS),
            caption="captions/shots_figure.rst",
            category="Cost",
        ),
        shots_pdf=expand(f"{FIGURES}/shots_{{dataset}}.pdf", dataset=DATASETS),
    log:
        f"{RESULTS}/logs/cost.log",
    benchmark:
        f"{RESULTS}/benchmarks/cost.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        datasets=DATASETS,
        shots=config["cost"]["shots"],
    script:
        "../scripts/cost.py"
