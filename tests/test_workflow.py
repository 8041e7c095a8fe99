"""The Snakemake workflow: lint, the paper budget's plan, and a real end-to-end run at the
smoke budget on MNIST and the CIFAR-10 JPEG copy from the mirror (a few minutes)."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_helpers import REPO, copy_workflow, snakemake

from qdistill.artifacts import load_distilled
from qdistill.files import ArtifactError
from qdistill.report.table1 import TABLE1_COLUMNS, paper_numbers

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
EXTENSIONS = CONFIG["extensions"]
NO_EXTENSIONS = {"extensions": dict(EXTENSIONS, models=[], transfer_models=[]),
                 "random_init": dict(CONFIG["random_init"], models=[])}


def planned_jobs(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> count."""
    table = output[output.index("Job stats:"):]
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("workflow"))


def test_lint_reports_nothing(workflow_copy):
    proc = snakemake(workflow_copy, "--lint")
    assert "Lints for" not in proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_rules_are_formatted():
    """snakefmt (settings in pyproject.toml) would change nothing."""
    proc = subprocess.run([str(Path(sys.executable).parent / "snakefmt"), "--check",
                           "Snakefile", "rules"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, f"run snakefmt Snakefile rules:\n{proc.stderr}"


def test_paper_dry_run_plans_every_job(workflow_copy, mirror):
    proc = snakemake(workflow_copy, "-n", "--config", "budget=paper", f"data_mirror={mirror}")
    paper = CONFIG["budgets"]["paper"]
    runs = len(CONFIG["datasets"]) * len(CONFIG["models"]) * len(paper["seeds"])
    assert runs == 42
    quantum_runs = runs - len(CONFIG["datasets"]) * len(paper["seeds"])
    extension_runs = 2 * len(EXTENSIONS["models"]) * len(paper["seeds"])
    assert extension_runs == 24  # the reference model's runs are Table I's
    random_runs = 2 * len(CONFIG["random_init"]["models"]) * len(paper["seeds"])
    assert random_runs == 12
    distilled = runs + extension_runs + random_runs
    # real-image baselines once per dataset, seed and labels layout: MNIST's 1 x 10 images and
    # the random-init mode's 10 x 10; CIFAR-10's 10 x 10 serve both
    layouts = {"mnist": 2, "cifar10": 1}
    assert planned_jobs(proc.stdout) == {
        "download": 2, "distill": distilled, "evaluate": distilled,
        "summary_sets": sum(layouts.values()) * len(paper["seeds"]),
        "baseline": 2 * len(paper["seeds"]), "table": 1, "figures": 1, "stability": 1,
        "landing": 1, "all": 1,
        "shots": quantum_runs,
        "full_data": 2 * len(CONFIG["cost"]["models"]) * len(paper["seeds"]), "cost": 1,
        "transfer": 2 * len(EXTENSIONS["transfer_models"]) * len(paper["seeds"]),
        "transfer_table": 1, "extensions": 1}


def test_the_first_run_is_mnist_table1_alone(workflow_copy, mirror):
    """`make reproduce` runs the seven MNIST Table I runs, their evaluations, the ceiling,
    the tables, the figures and the report's first page: a finished report in minutes."""
    plan = subprocess.run(["make", "-n", "reproduce", f"DATA_MIRROR={mirror}"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout
    command = next(line for line in plan.splitlines() if line.startswith("snakemake --cores all "))
    args = command.removeprefix("snakemake --cores all ").replace("'", "").split()
    jobs = planned_jobs(snakemake(workflow_copy, "-n", *args).stdout)
    assert jobs == {"download": 1, "distill": 7, "evaluate": 7, "summary_sets": 1,
                    "baseline": 1, "table": 1, "figures": 1, "stability": 1, "landing": 1}


def test_a_seed_or_model_is_one_config_line(workflow_copy, mirror, tmp_path):
    extra = tmp_path / "more.yaml"
    extra.write_text(yaml.safe_dump({
        "budgets": {"quick": dict(CONFIG["budgets"]["quick"], seeds=[0, 7])},
        "models": ["classical", "q-res-herm"], "datasets": ["mnist"], **NO_EXTENSIONS}))
    proc = snakemake(workflow_copy, "-n", "--configfile", str(extra), "--config",
                     "budget=quick", f"data_mirror={mirror}")
    jobs = planned_jobs(proc.stdout)
    assert jobs["distill"] == 4 and jobs["evaluate"] == 4 and jobs["download"] == 1
    assert "results/quick/runs/mnist/q-res-herm/seed7/distilled.pt" in proc.stdout


def test_classical_only_plans_no_cost_jobs(workflow_copy, mirror, tmp_path):
    extra = tmp_path / "classical.yaml"
    extra.write_text(yaml.safe_dump({"models": ["classical"], **NO_EXTENSIONS}))
    proc = snakemake(workflow_copy, "-n", "--configfile", str(extra), "--config",
                     "budget=quick", f"data_mirror={mirror}")
    jobs = planned_jobs(proc.stdout)
    assert jobs["distill"] == 2
    assert not {"shots", "full_data", "cost", "transfer", "extensions"} & set(jobs)


def test_an_extension_is_one_config_line(workflow_copy, mirror, tmp_path):
    """Extension models run through the same rules; transfer alone needs no extension model."""
    extra = tmp_path / "one.yaml"
    extra.write_text(yaml.safe_dump({
        "models": ["classical"], "datasets": ["mnist"],
        "extensions": dict(EXTENSIONS, models=["q-res-herm-quanv"],
                           transfer_models=["classical"]),
        "random_init": NO_EXTENSIONS["random_init"]}))
    proc = snakemake(workflow_copy, "-n", "--configfile", str(extra), "--config",
                     "budget=quick", f"data_mirror={mirror}")
    jobs = planned_jobs(proc.stdout)
    assert jobs["distill"] == 3 and jobs["transfer"] == 1 and jobs["extensions"] == 1
    assert "results/quick/runs/mnist/q-res-herm-quanv/seed0/distilled.pt" in proc.stdout


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, mirror, data_root):
    """The whole DAG at budget=smoke on real data, then the report."""
    workdir = copy_workflow(tmp_path_factory.mktemp("smoke"))
    config = ["--config", "budget=smoke", f"data_mirror={mirror}", f"data_root={data_root}"]
    snakemake(workdir, "--cores", "2", *config, timeout=3600)  # 98 jobs
    snakemake(workdir, "--report", "results/smoke/report.html", *config)
    return workdir, config


def test_smoke_run_builds_table1(smoke_run):
    workdir, _ = smoke_run
    table = pd.read_csv(workdir / "results/smoke/tables/table1.csv")
    assert list(table.columns) == TABLE1_COLUMNS
    assert len(table) == 14
    assert list(zip(table.dataset, table.model)) == [
        (d, m) for d in CONFIG["datasets"] for m in CONFIG["models"]]
    assert table.acc_mean.between(0, 100).all() and (table.n_seeds == 1).all()
    assert (table.budget == "smoke").all()
    assert set(table[table.dataset == "mnist"].data_source) == {"official"}
    assert set(table[table.dataset == "cifar10"].data_source) == {"jpeg-copy"}
    paper = paper_numbers().set_index(["dataset", "model"])
    for row in table.itertuples():
        key = (row.dataset, row.model)
        if key in paper.index:
            assert row.paper_acc == pytest.approx(paper.paper_acc[key])
            if paper.comparable[key]:
                assert row.delta == pytest.approx(row.acc_mean - row.paper_acc, abs=0.011)
            else:  # measured on another architecture: no difference is claimed
                assert math.isnan(row.delta)
        else:
            assert math.isnan(row.paper_acc) and math.isnan(row.delta)
    assert table.set_index(["dataset", "model"]).paper_acc[("mnist", "q-res-herm")] == 91.9
    runs = pd.read_csv(workdir / "results/smoke/tables/runs.csv")
    assert len(runs) == 14
    for row in table.itertuples():  # the table is the mean of the runs' metrics
        accs = runs[(runs.dataset == row.dataset) & (runs.model == row.model)].test_acc
        assert row.acc_mean == pytest.approx(accs.mean(), abs=0.006)
    md = (workdir / "results/smoke/tables/table1.md").read_text()
    assert "not reported" in md and "| MNIST" in md and "CIFAR-10" in md
    assert "54.0 [" in md and "AlexCifarNet" in md  # the paper's CIFAR-10 classical caveat
    assert "\\begin{tabular}" in (workdir / "results/smoke/tables/table1.tex").read_text()
    baseline = pd.read_csv(workdir / "results/smoke/tables/full_data_baseline.csv")
    assert list(baseline.dataset) == ["mnist", "cifar10"]
    assert baseline.acc_mean.between(0, 100).all()


def test_smoke_run_draws_every_figure_and_the_report(smoke_run):
    workdir, _ = smoke_run
    figures = workdir / "results/smoke/figures"
    expected = [f"distilled_{d}_{m}" for d in CONFIG["datasets"]
                for m in CONFIG["models"] + EXTENSIONS["models"] + CONFIG["random_init"]["models"]]
    expected += [f"{kind}_{d}" for kind in ("accuracy", "curves", "progress", "stability", "cost",
                                            "shots", "extensions", "transfer")
                 for d in CONFIG["datasets"]]
    for name in expected:
        for ext, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF")):
            path = figures / f"{name}{ext}"
            assert path.read_bytes()[:4] == magic, path
            assert path.stat().st_size > 5_000, path
    report = (workdir / "results/smoke/report.html").read_text(errors="replace")
    assert "table1.csv" in report and "accuracy_mnist.png" in report
    # the grids under their dataset, each labelled with its model and seed
    categories = json.loads(re.search(r"var categories = (\{.*\});", report).group(1))
    grid_models = CONFIG["models"] + EXTENSIONS["models"] + CONFIG["random_init"]["models"]
    assert {sub: sorted(Path(f).name for f in files)
            for sub, files in categories["Distilled images"].items()} == {
        "MNIST": sorted(f"distilled_mnist_{m}.png" for m in grid_models),
        "CIFAR-10": sorted(f"distilled_cifar10_{m}.png" for m in grid_models)}
    assert set(categories["Accuracy"]) == {"MNIST", "CIFAR-10"}
    # labels are text: the report shows a label 0 as an empty cell
    assert '"labels": {"model": "q-res-herm", "seed": "0"}' in report
    assert not re.search(r'"labels": \{[^}]*": \d', report)
    assert "This report holds 14 runs" in report  # the landing page: what it holds
    assert "table1.html" in report and "stability.html" in report  # tables shown inline
    html = (workdir / "results/smoke/tables/table1.html").read_text()
    assert "<table" in html and "q-res-herm" in html and "not reported" in html
    assert "cost.csv" in report and "shots_cifar10.png" in report
    assert "extensions.csv" in report and "transfer_mnist.png" in report


def test_smoke_run_builds_the_extensions_table(smoke_run):
    """extensions.csv: per dataset the reference, each extension against it, and the transfer
    rows; transfer.csv: the own-init accuracy of a run is its Table I accuracy."""
    workdir, _ = smoke_run
    table = pd.read_csv(workdir / "results/smoke/tables/extensions.csv")
    per_dataset = 1 + len(EXTENSIONS["models"]) + len(EXTENSIONS["transfer_models"])
    assert len(table) == 2 * per_dataset
    runs = pd.read_csv(workdir / "results/smoke/tables/extension_runs.csv").set_index(
        ["dataset", "model"])
    assert len(runs) == 2 * (1 + len(EXTENSIONS["models"]))
    for row in table[table.extension != "transfer to other initialisations"].itertuples():
        assert row.acc_mean == pytest.approx(runs.test_acc[(row.dataset, row.model)], abs=0.006)
        assert row.reference_acc == pytest.approx(
            runs.test_acc[(row.dataset, EXTENSIONS["reference"])], abs=0.006)
    mnist = table[table.dataset == "mnist"].set_index("model")
    assert mnist.extension["q-res-herm-angle"] == "angle embedding (open question 2)"
    assert mnist.delta["q-res-herm-pair"] == pytest.approx(
        mnist.acc_mean["q-res-herm-pair"] - mnist.reference_acc["q-res-herm-pair"], abs=0.011)
    # circuit executions per training sample (src/qdistill/cost.py, tests/test_cost.py)
    executions = mnist.executions_per_sample.dropna()
    assert executions[["q-res-herm", "q-res-herm-angle", "q-res-herm-pair",
                       "q-res-herm-quanv", "q-res-herm-frozen"]].tolist() == [
        259, 145, 614, 259 + 196, 151]
    assert mnist.observables["q-res-herm-pair"] == 96 and mnist.circuit_angles[
        "q-res-herm-frozen"] == 0
    transfer = pd.read_csv(workdir / "results/smoke/tables/transfer.csv")
    assert len(transfer) == 2 * len(EXTENSIONS["transfer_models"]) * (
        1 + CONFIG["budgets"]["smoke"]["transfer_inits"])
    own = transfer[transfer.own].set_index(["dataset", "model"])
    table1_runs = pd.read_csv(workdir / "results/smoke/tables/runs.csv").set_index(["dataset", "model"])
    for key, acc in own.test_acc.items():
        if key[1] in CONFIG["models"]:
            assert acc == pytest.approx(table1_runs.test_acc[key], abs=0.006)
    assert set(transfer.model) == set(EXTENSIONS["transfer_models"])
    assert set(transfer[~transfer.own].init_seed) == {1000, 1001}
    md = (workdir / "results/smoke/tables/extensions.md").read_text()
    assert "quanvolution front end (open question 1)" in md and "| MNIST" in md


def test_smoke_run_counts_circuit_executions_and_shots(smoke_run):
    """cost.csv: per quantum run, executions of training on its distilled set (T steps of
    10 images, 259 or 235 executions per sample) against full-data training; shots.csv:
    accuracy per shots setting, the analytic one equal to the fast path's."""
    workdir, _ = smoke_run
    cost = pd.read_csv(workdir / "results/smoke/tables/cost.csv")
    quantum = [m for m in CONFIG["models"] if m != "classical"]
    per_run = 1 + len(CONFIG["cost"]["shots"])  # analytic and each shots setting
    assert set(cost.model) == set(quantum) and len(cost) == 2 * len(quantum) * per_run
    herm = cost[(cost.model == "q-res-herm") & cost.shots.isna()].set_index("dataset")
    assert herm.executions_per_sample.tolist() == [259, 259]
    assert herm.distilled_executions["mnist"] == 3 * 10 * 259
    assert herm.distilled_executions["cifar10"] == 30 * 10 * 259
    assert herm.full_data_executions_per_epoch["mnist"] == 60_000 * 259
    with_shots = cost[cost.shots == 1000]
    assert (with_shots.distilled_circuit_runs == 1000 * with_shots.distilled_executions).all()
    shots = pd.read_csv(workdir / "results/smoke/tables/shots.csv")
    analytic = shots[shots.shots.isna()]
    assert len(analytic) == 2 * len(quantum) and (analytic.test_acc == analytic.fast_path_acc).all()
    assert set(shots.shots.dropna()) == set(CONFIG["cost"]["shots"])
    assert shots.test_acc.between(0, 100).all()


def test_rerun_does_nothing_and_touching_the_table_script_reruns_only_the_table(smoke_run):
    workdir, config = smoke_run
    assert "Nothing to be done" in snakemake(workdir, "-n", "--cores", "2", *config).stdout
    os.utime(workdir / "scripts/table.py")
    proc = snakemake(workdir, "-n", "--cores", "2", *config)
    assert planned_jobs(proc.stdout) == {"table": 1, "landing": 1, "all": 1}
    figure = workdir / "results/smoke/figures/accuracy_mnist.png"
    before = figure.stat().st_mtime_ns
    snakemake(workdir, "--cores", "2", *config)
    assert figure.stat().st_mtime_ns == before
    assert "Nothing to be done" in snakemake(workdir, "-n", "--cores", "2", *config).stdout


def test_a_change_of_library_code_reruns_the_jobs_that_run_it(smoke_run):
    """A job's inputs include the qdistill modules its script imports (rules/common.smk
    job_code): the report code reruns the tables and figures, the evaluation code every
    evaluation; neither reruns a distillation or a full-data training."""
    workdir, config = smoke_run
    report = {"table", "figures", "stability", "landing", "cost", "extensions",
              "transfer_table", "all"}
    for module in ("report/cells.py", "evaluate.py"):
        path = workdir / "src/qdistill" / module
        original, stat = path.read_bytes(), path.stat()
        # a real change: Snakemake 9 ignores a newer input whose checksum it has recorded
        path.write_bytes(original + b"\n# changed\n")
        try:
            jobs = planned_jobs(snakemake(workdir, "-n", "--cores", "1", *config).stdout)
        finally:  # the other tests need the finished state
            path.write_bytes(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        if module == "report/cells.py":
            assert jobs == dict.fromkeys(report, 1)
        else:
            assert jobs["evaluate"] == 26 and set(jobs) >= report
            assert not {"distill", "baseline", "full_data", "download"} & set(jobs)


def test_the_mirror_spelled_otherwise_reruns_nothing(smoke_run, mirror):
    """Where the bytes came from is the manifest's record, not a setting of a run."""
    workdir, config = smoke_run
    relative = os.path.relpath(mirror, workdir)
    other = [f"data_mirror={relative}" if c.startswith("data_mirror=") else c for c in config]
    assert "Nothing to be done" in snakemake(workdir, "-n", "--cores", "2", *other).stdout


def test_a_distillation_setting_reruns_no_baseline(smoke_run, tmp_path):
    """Normal training on the full set depends on no distillation setting: a new outer_lr
    reruns every distillation and nothing trained on the full set."""
    workdir, config = smoke_run
    extra = tmp_path / "outer_lr.yaml"
    extra.write_text(yaml.safe_dump(
        {"budgets": {"smoke": {**CONFIG["budgets"]["smoke"], "outer_lr": 0.02}}}))
    jobs = planned_jobs(snakemake(workdir, "-n", "--cores", "1", "--configfile", str(extra),
                                  *config).stdout)
    assert jobs["distill"] == 26 and "baseline" not in jobs and "full_data" not in jobs


def test_a_deleted_run_folder_is_distilled_again(smoke_run, tmp_path, monkeypatch):
    """The recovery the damaged-file message gives (delete the run folder, name it as a
    target) plans that run and what reads it, not the unrelated jobs."""
    workdir, config = smoke_run
    monkeypatch.chdir(workdir)  # the workflow's relative paths
    run = Path("results/smoke/runs/mnist/classical/seed0")
    with pytest.raises(ArtifactError) as damaged:
        load_distilled(run / "metrics.json")  # not a distilled set: the same message
    command = re.search(r"in the workflow: (snakemake .*)\)", str(damaged.value)).group(1)
    kept = tmp_path / "seed0"
    (workdir / run).rename(kept)
    try:
        # Snakemake 9 does not redo a run whose folder went missing under finished tables
        assert "Nothing to be done" in snakemake(workdir, "-n", "--cores", "1", *config).stdout
        jobs = planned_jobs(snakemake(workdir, "-n", *command.split()[1:], *config).stdout)
        assert {rule: jobs.get(rule) for rule in ("distill", "evaluate", "table")} == {
            "distill": 1, "evaluate": 1, "table": 1}
        assert "baseline" not in jobs and "shots" not in jobs  # they do not read the run
    finally:
        kept.rename(workdir / run)
    assert "Nothing to be done" in snakemake(workdir, "-n", "--cores", "2", *config).stdout
