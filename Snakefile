# qdistill: Table I of "Dataset Distillation for Quantum Neural Networks" (arXiv 2503.17935)
# from nothing: data -> distillation runs -> evaluation -> tables, figures, report.
#
#   snakemake --cores all                          # the paper's budget (default)
#   snakemake --cores all --config budget=quick    # minutes
#   snakemake --report results/report.html
import ast
import dataclasses
import functools
import math
import os
import re
import shutil
import sys

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version

min_version("9.0")

# The library lives in src/qdistill. The Snakefile imports it from there, and every job gets
# it first on PYTHONPATH (Snakemake runs a copy of a script from .snakemake/scripts, so the
# script's own folder is no help): the jobs of this workflow copy run this copy's library,
# in a venv, a conda env or on a cluster node, installed or not.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])))

from qdistill.config import (
    DATASET_FACTS,
    check_cross_keys,
    dataset_spec,
    dataset_title,
    run_settings,
    type_command_line_values,
    validate_schema,
)
from qdistill.estimate import PlannedJob, estimate_message
from qdistill.files import ArtifactError
from qdistill.logs import SayOnce
from qdistill.published import check_shipped_run, run_folder, shipped_runs, table1_models


configfile: "config.yaml"


type_command_line_values(config)
validate_schema(config, "config.yaml (with --config overrides)")
check_cross_keys(config, "config.yaml (with --config overrides)")

# Snakemake's scheduler repeats its graceful-stop notice at every wake-up while jobs
# finish (dozens of times after one SIGTERM): let it through once.
logger.addFilter(SayOnce("Will exit after finishing currently running jobs"))


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/distill.smk"
include: "rules/baseline.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/cost.smk"
include: "rules/transfer.smk"
include: "rules/extensions.smk"
include: "rules/shipped.smk"


# The report opens on Table I once the landing rule has written it.
report: os.path.abspath(LANDING) if os.path.exists(LANDING) else "rules/captions/workflow.rst"


rule all:
    default_target: True
    input:
        final_targets(),
