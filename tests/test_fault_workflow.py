"""Faults at the workflow level: bad config values stop Snakemake at parse time; a corrupt
dataset fails the download rule by name; a killed `snakemake` finishes on the next run
without recomputing finished runs, and interrupted runs resume from their checkpoints."""

import os
import re
import shutil
import signal
import subprocess
import time
from base64 import urlsafe_b64encode
from pathlib import Path

import pytest
import yaml
from workflow_helpers import SNAKEMAKE, copy_workflow, snakemake

# A budget whose distillations last several seconds (about 94 outer iterations at batch 256,
# a checkpoint every 4), so that a kill lands in the middle of some of them.
KILL_BUDGET = {"epochs": 0.4, "decay_epochs": 0.1, "decay_factor": 0.5, "outer_lr": 0.01,
               "outer_betas": [0.5, 0.999], "batch_size": 256, "seeds": [0],
               "log_every": 10, "checkpoint_every": 4, "random_real_draws": 1,
               "shot_test_images": 50, "baseline_epochs": 0.02, "transfer_inits": 1,
               "log_test_images": 100, "selection_images": 100, "eval_test_images": 500}
KILL_MODELS = ["classical", "q-res-herm", "q-nores-pauliz", "q-res-fixedherm"]


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("workflow"))


@pytest.mark.parametrize("override, message", [
    ("budget=huge", "key 'budget': unknown budget 'huge'; allowed: paper, paper-clip, quick, smoke"),
    ("models=[classical,q-res-hermm]", "key 'models': unknown model id 'q-res-hermm'"),
    ("data_mirror=/no/such/dir", "key 'data_mirror': folder '/no/such/dir' does not exist"),
    ("qnn_backend=qiskit", "'qiskit' is not one of"),
    ("datasets=[mnist,svhn]", "'svhn' is not one of ['mnist', 'cifar10']"),
    ("seeds=[0,0]", "key '(top level)': Additional properties are not allowed ('seeds' was "
                    "unexpected). Fix the value in config.yaml (with --config overrides) or in "
                    "--config. 'seeds' is a budget's key: budgets.<budget>.seeds"),
])
def test_fault_bad_config_fails_at_parse_time(workflow_copy, override, message):
    proc = snakemake(workflow_copy, "-n", "--config", override, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert len((proc.stdout + proc.stderr).splitlines()) < 30  # the error, not the schema
    assert not (workflow_copy / "results").exists()


def test_nested_command_line_values_get_their_types(workflow_copy):
    """Snakemake reads a nested --config value as strings; the seeds of one budget can still
    be changed from the command line, and a value the schema rejects still fails by key."""
    proc = snakemake(workflow_copy, "-n", "--quiet", "rules", "--config",
                     "budgets={quick: {seeds: [0, 1]}}", "datasets=[mnist]")
    assert re.search(r"(?m)^distill\s+26$", proc.stdout), proc.stdout  # 13 models x 2 seeds
    proc = snakemake(workflow_copy, "-n", "--config", "budgets={quick: {seeds: [0, x]}}",
                     check=False)
    assert proc.returncode != 0
    assert "key 'budgets.quick.seeds.1': 'x' is not of type 'integer'" in proc.stdout + proc.stderr


@pytest.mark.parametrize("change, messages", [
    ({"seeds": [0, -3]}, ["key 'budgets.paper.seeds.1': -3 is less than the minimum of 0"]),
    ({"batch_size": 100_000}, ["key 'budgets.paper.batch_size': 100000 is larger than the "
                               "50000 training images of cifar10; allowed: 1 to 50000"]),
])
def test_fault_bad_budget_values_fail_at_parse_time(workflow_copy, tmp_path, change, messages):
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"budgets": {"paper": {**KILL_BUDGET, **change}}}))
    proc = snakemake(workflow_copy, "-n", "--configfile", str(extra), check=False)
    assert proc.returncode != 0
    for message in messages:
        assert message in proc.stdout + proc.stderr


def test_fault_corrupt_mirror_fails_the_download_rule_by_name(workflow_copy, mirror, tmp_path):
    fake = tmp_path / "mirror" / "MNIST" / "raw"
    fake.mkdir(parents=True)
    for f in (mirror / "MNIST" / "raw").glob("*.gz"):
        shutil.copy(f, fake / f.name)
    (fake / "train-images-idx3-ubyte.gz").write_bytes(b"truncated")
    root = tmp_path / "root"
    proc = snakemake(workflow_copy, "--cores", "1", str(root / "mnist.manifest.json"),
                     "--config", f"data_mirror={tmp_path / 'mirror'}", f"data_root={root}",
                     check=False)
    assert proc.returncode != 0
    log = (root / "mnist.download.log").read_text()  # the data root's own log
    assert "train-images-idx3-ubyte.gz: md5 " in log
    assert "does not match the expected f68b3c2dcbeaaa9fbdd348bbdeb94873" in log
    assert not (root / "mnist.manifest.json").exists()
    assert not (root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").exists()


def runs_of(workdir: Path, name: str) -> list[Path]:
    return sorted(workdir.glob(f"results/kill/runs/*/*/seed*/{name}"))


def recorded_as_finished(workdir: Path, output: Path) -> bool:
    """Snakemake has recorded the job of this output as finished: its metadata record is
    written and its incomplete marker gone (.snakemake/{metadata,incomplete}/<base64 path>)."""
    key = urlsafe_b64encode(str(output.relative_to(workdir)).encode()).decode()
    return ((workdir / ".snakemake/metadata" / key).exists()
            and not (workdir / ".snakemake/incomplete" / key).exists())


def test_fault_killed_snakemake_finishes_without_recomputing(tmp_path, mirror, data_root):
    workdir = copy_workflow(tmp_path / "workflow")
    extra = tmp_path / "kill.yaml"
    no_extensions = {"reference": "q-res-herm", "models": [], "transfer_models": [],
                     "transfer_first_seed": 1000}
    extra.write_text(yaml.safe_dump({"budget": "kill", "budgets": {"kill": KILL_BUDGET},
                                     "datasets": ["mnist"], "models": KILL_MODELS,
                                     "extensions": no_extensions,
                                     "random_init": {"models": [], "n_nets": 1,
                                                     "distill_steps": 10}}))
    # Table I is the target: its runs are what a kill interrupts (no cost or shots jobs)
    command = [SNAKEMAKE, "--cores", "2", "results/kill/tables/table1.csv", "--configfile",
               str(extra), "--config", f"data_mirror={mirror}", f"data_root={data_root}"]

    # Kill snakemake and its jobs (the whole process group, SIGKILL: a crash, no clean-up)
    # once one run is finished and recorded as such by Snakemake and another is between
    # checkpoints.
    proc = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 400
    try:
        while True:
            finished = {p.parent for p in runs_of(workdir, "distilled.pt")
                        if recorded_as_finished(workdir, p)}
            midway = {p.parent for p in runs_of(workdir, "checkpoint.pt")
                      if not (p.parent / "distilled.pt").exists()}
            if finished and midway:
                break
            assert proc.poll() is None, f"workflow ended before the kill:\n{proc.stderr.read()}"
            assert time.monotonic() < deadline, "no finished and unfinished run within 400 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finished_mtimes = {run / "distilled.pt": (run / "distilled.pt").stat().st_mtime_ns
                       for run in finished}
    interrupted = [p.parent for p in runs_of(workdir, "checkpoint.pt")
                   if not (p.parent / "distilled.pt").exists()]
    assert interrupted

    # The same command again. A hard kill leaves Snakemake's lock behind, and Snakemake
    # says how to clear it; after `snakemake --unlock` (README) the same command finishes.
    # The profile has rerun-incomplete on, so no flag is needed for the interrupted jobs.
    locked = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert locked.returncode != 0
    assert "It can be removed with the --unlock argument" in locked.stdout + locked.stderr
    snakemake(workdir, "--unlock", "--configfile", str(extra))
    again = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr

    for path, mtime in finished_mtimes.items():  # finished runs were not recomputed
        assert path.stat().st_mtime_ns == mtime, f"{path} was recomputed"
    for run in interrupted:  # interrupted runs resumed from their checkpoints
        log = Path(workdir, "results/kill/logs/distill", *run.parts[-3:]).with_suffix(".log")
        assert "resuming from the checkpoint of iteration" in log.read_text(), log
    assert len(runs_of(workdir, "metrics.json")) == len(KILL_MODELS)
    assert not runs_of(workdir, "checkpoint.pt")
    assert (workdir / "results/kill/tables/table1.csv").exists()
    leftovers = [p for p in (workdir / "results").rglob(".*") if p.is_file()]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def test_sigterm_to_snakemake_finishes_running_jobs_and_says_so_once(tmp_path, mirror,
                                                                      data_root):
    """SIGTERM to snakemake (what a scheduler or `kill` sends) lets the running jobs finish;
    Snakemake's notice of it is printed once, not at every scheduler wake-up."""
    workdir = copy_workflow(tmp_path / "workflow")
    extra = tmp_path / "term.yaml"
    extra.write_text(yaml.safe_dump({"budget": "kill", "budgets": {"kill": KILL_BUDGET},
                                     "datasets": ["mnist"], "models": KILL_MODELS}))
    command = [SNAKEMAKE, "--cores", "2", "results/kill/tables/table1.csv", "--configfile",
               str(extra), "--config", f"data_mirror={mirror}", f"data_root={data_root}"]
    proc = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not runs_of(workdir, "checkpoint.pt"):
        assert proc.poll() is None, f"workflow ended before the signal:\n{proc.stdout.read()}"
        assert time.monotonic() < deadline, "no distillation started within 300 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert output.count("Will exit after finishing currently running jobs") == 1, output
    assert "Expected: " in output  # the estimate printed before the run started
    # the running jobs finished; nothing else started
    assert 1 <= len(runs_of(workdir, "distilled.pt")) < len(KILL_MODELS)
