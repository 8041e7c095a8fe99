rule evaluate:
    """Train the run's fixed initialisation on its distilled images; test accuracy."""
    input:
        distilled=f"{RUN}/distilled.pt",
        distill_log=f"{RUN}/distill_log.json",
        manifest=manifest,
    output:
        metrics=f"{RUN}/metrics.json",
    params:
        root=lambda wildcards, input: os.path.dirname(input.manifest),
        mirror=config["data_mirror"] or "",
        device=config["device"],
        random_real_draws=BUDGET["random_real_draws"],
    log:
        f"results/logs/evaluate/{{dataset}}/{{model}}/seed{{seed}}.log",
    benchmark:
        "results/benchmarks/evaluate/{dataset}/{model}/seed{seed}.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    script:
        "../scripts/evaluate.py"
