# Runs and ceilings shipped in published/{budget}/ (config shipped_runs): taken in as the
# finished outputs of distill and baseline, so that only evaluate, tables and figures run.

if SHIPPED_RUNS:

    rule shipped_run:
        """A shipped run, copied in as a finished distillation."""
        input:
            distilled=f"{SHIPPED}/{{dataset}}/{{model}}/seed{{seed}}/distilled.pt",
            distill_log=f"{SHIPPED}/{{dataset}}/{{model}}/seed{{seed}}/distill_log.json",
        output:
            distilled=f"{RUN}/distilled.pt",
            distill_log=f"{RUN}/distill_log.json",
        localrule: True
        run:
            shutil.copyfile(input.distilled, output.distilled)
            shutil.copyfile(input.distill_log, output.distill_log)

    rule shipped_baseline:
        """A shipped full-data ceiling, copied in."""
        input:
            SHIPPED_BASELINE,
        output:
            BASELINE,
        localrule: True
        run:
            shutil.copyfile(input[0], output[0])

    ruleorder: shipped_run > distill
    ruleorder: shipped_baseline > baseline
