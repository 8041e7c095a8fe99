# Transfer across initialisations: each distilled set of TRANSFER_MODELS trained from the
# budget's transfer_inits other init seeds (from extensions.transfer_first_seed on, the
# run's own seed skipped), beside its own init.


rule transfer:
    """One run's distilled set trained from its own and from other initialisations."""
    input:
        distilled=f"{RUN}/distilled.pt",
        manifest=manifest,
        code=job_code("transfer.py"),
    output:
        f"{RUN}/transfer.json",
    log:
        f"{RESULTS}/logs/transfer/{{dataset}}/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/transfer/{{dataset}}/{{model}}/seed{{seed}}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        first_seed=config["extensions"]["transfer_first_seed"],
        n_inits=BUDGET["transfer_inits"],
        test_images=BUDGET["eval_test_images"],
        device=config["device"],
    script:
        "../scripts/transfer.py"


rule transfer_table:
    """transfer.csv (every run x init), its summary as Markdown and LaTeX, and a figure
    per dataset."""
    input:
        transfer=[f"{RUN}/transfer.json".format(**r) for r in transfer_runs()],
        code=job_code("transfer_table.py"),
    output:
        csv=report(f"{TABLES}/transfer.csv", caption="captions/transfer.rst", category="Extensions"),
        md=f"{TABLES}/transfer.md",
        html=report(
            f"{TABLES}/transfer.html", caption="captions/transfer.rst", category="Extensions"
        ),
        tex=f"{TABLES}/transfer.tex",
        figures=report(
            expand(f"{FIGURES}/transfer_{{dataset}}.png", dataset=DATASETS),
            caption="captions/transfer_figure.rst",
            category="Extensions",
        ),
        figures_pdf=expand(f"{FIGURES}/transfer_{{dataset}}.pdf", dataset=DATASETS),
    log:
        f"{RESULTS}/logs/transfer_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/transfer_table.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        datasets=DATASETS,
        variants=config["model_variants"],
    script:
        "../scripts/transfer_table.py"
