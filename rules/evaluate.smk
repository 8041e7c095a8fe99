rule evaluate:
    """Train the run's fixed initialisation on its distilled images; test accuracy."""
    input:
        distilled=f"{RUN}/distilled.pt",
        distill_log=f"{RUN}/distill_log.json",
        manifest=manifest,
        # a change of the evaluation's code re-evaluates (a minute per run at the paper budget)
        code=job_code("evaluate.py"),
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
        test_images=BUDGET["eval_test_images"],
    script:
        "../scripts/evaluate.py"
