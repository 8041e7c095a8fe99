rule summary_sets:
    """The field's real-image baselines for one dataset, seed and labels layout: class means
    and k-means centroids of the training images, shared by every evaluation of that layout."""
    input:
        manifest=manifest,
        code=job_code("summary_sets.py"),
    output:
        SUMMARY_SETS,
    log:
        f"{RESULTS}/logs/summary_sets/{{dataset}}/seed{{seed}}-{{steps}}x{{per_class}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/summary_sets/{{dataset}}/seed{{seed}}-{{steps}}x{{per_class}}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        dataset=lambda w: dataclasses.asdict(dataset_spec(config, w.dataset)),
        dtype=config["dtype"],
    script:
        "../scripts/summary_sets.py"


rule evaluate:
    """Train the run's fixed initialisation on its distilled images; test accuracy."""
    input:
        distilled=f"{RUN}/distilled.pt",
        distill_log=f"{RUN}/distill_log.json",
        summary_sets=summary_sets_of_run,
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
