# The ceiling beside Table I: normal training on the full training set.


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
