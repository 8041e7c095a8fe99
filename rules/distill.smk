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
