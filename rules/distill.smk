rule distill:
    """Distill one dataset x model x seed (Wang et al., fixed initialisation)."""
    input:
        manifest=manifest,
    output:
        distilled=f"{RUN}/distilled.pt",
        distill_log=f"{RUN}/distill_log.json",
    log:
        f"{RESULTS}/logs/distill/{{dataset}}/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/distill/{{dataset}}/{{model}}/seed{{seed}}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=3000,
        runtime=distill_runtime,
        # `--resources gpu_slots=N`: at most N distillations share the GPU at once (no
        # limit unless given; on a CPU the slot is never used)
        gpu_slots=1,
    params:
        settings=settings_of_run,
    script:
        "../scripts/distill.py"


rule baseline:
    """The ceiling: the classical LeNet trained normally on the full training set."""
    input:
        manifest=manifest,
    output:
        f"{RESULTS}/baselines/{{dataset}}/seed{{seed}}.json",
    log:
        f"{RESULTS}/logs/baseline/{{dataset}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/baseline/{{dataset}}/seed{{seed}}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=3000,
        runtime=120,
    params:
        settings=settings_of_baseline,
        epochs=BUDGET["baseline_epochs"],
        lr=config["baseline"]["lr"],
        batch_size=config["baseline"]["batch_size"],
    script:
        "../scripts/baseline.py"
