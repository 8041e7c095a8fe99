rule download:
    """Download one dataset with torchvision (md5 checked), taking files from the
    data_mirror of config first; the manifest records the source used."""
    output:
        manifest=f"{DATA_ROOT}/{{dataset}}.manifest.json",
    # beside the manifest: another data root is another download, with its own log
    log:
        f"{DATA_ROOT}/{{dataset}}.download.log",
    benchmark:
        f"{DATA_ROOT}/{{dataset}}.download.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../scripts/download.py"
