rule download:
    """Download one dataset with torchvision (md5 checked), taking files from the
    data_mirror of config first; the manifest records the source used."""
    output:
        manifest=f"{DATA_ROOT}/{{dataset}}.manifest.json",
    params:
        root=lambda wildcards, output: os.path.dirname(output.manifest),
    log:
        f"{RESULTS}/logs/download/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/download/{{dataset}}.tsv"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/download.py"
