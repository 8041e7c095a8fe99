rule evaluate:
    """Train the run's fixed initialisation on its distilled images; test accuracy."""
    input:
        distilled=f"{RUN}/distilled.pt",
        distill_log=f"{RUN}/distill_log.json",
        manifest=manifest,
    output:
        metrics=f"{RUN}/metrics.json",
    log:
        f"{RESULTS}/logs/evaluate/{{dataset}}/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{dataset}}/{{model}}/seed{{seed}}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        device=config["device"],
        random_real_draws=BUDGET["random_real_draws"],
        # Raised when metrics.json gains fields that the tables read, so that runs finished
        # by an older qdistill are re-evaluated (a minute each) instead of misread.
        # 2: settings, quantum_parameters, executions_per_sample.
        metrics_format=2,
    script:
        "../scripts/evaluate.py"
