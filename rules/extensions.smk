# Beyond the paper: the extension models of config `extensions.models`, distilled
# and evaluated by the same rules as Table I's, against the reference model, plus the
# transfer rows (rules/transfer.smk).

# the reference and the extension models, once each (none without extension models)
COMPARED_MODELS = (
    list(dict.fromkeys([EXTENSION_REFERENCE, *EXTENSION_MODELS])) if EXTENSION_MODELS else []
)
HAS_EXTENSIONS = bool(EXTENSION_MODELS or TRANSFER_MODELS)


rule extensions:
    """extensions.csv (+ .md, .tex): each extension against the reference model, and the
    transfer of distilled sets to other initialisations; every compared run
    (extension_runs.csv, like runs.csv); a figure per dataset."""
    input:
        metrics=expand(f"{RUN}/metrics.json", dataset=DATASETS, model=COMPARED_MODELS, seed=SEEDS),
        transfer=expand(f"{RUN}/transfer.json", dataset=DATASETS, model=TRANSFER_MODELS, seed=SEEDS),
        code=job_code("extensions.py"),
    output:
        csv=report(
            f"{TABLES}/extensions.csv", caption="captions/extensions.rst", category="Extensions"
        ),
        md=f"{TABLES}/extensions.md",
        html=report(
            f"{TABLES}/extensions.html", caption="captions/extensions.rst", category="Extensions"
        ),
        tex=f"{TABLES}/extensions.tex",
        runs=f"{TABLES}/extension_runs.csv",
        figures=report(
            expand(
                f"{FIGURES}/extensions_{{dataset}}.png",
                dataset=DATASETS if EXTENSION_MODELS else [],
            ),
            caption="captions/extensions_figure.rst",
            category="Extensions",
        ),
        figures_pdf=expand(
            f"{FIGURES}/extensions_{{dataset}}.pdf", dataset=DATASETS if EXTENSION_MODELS else []
        ),
    log:
        f"{RESULTS}/logs/extensions.log",
    benchmark:
        f"{RESULTS}/benchmarks/extensions.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        datasets=DATASETS,
        reference=EXTENSION_REFERENCE,
        models=EXTENSION_MODELS,
        compared=COMPARED_MODELS,
        variants=config["model_variants"],
    script:
        "../scripts/extensions.py"
