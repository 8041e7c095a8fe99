"""Faults: a distillation run killed (SIGKILL) or stopped (SIGTERM, what SLURM sends before
a kill) resumes from its last checkpoint and ends with the same distilled.pt bytes as an
uninterrupted run; checkpoints of other settings are not resumed, corrupt ones are named."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from qdistill.artifacts import CHECKPOINT, load_checkpoint

REPO = Path(__file__).resolve().parents[1]

# About 40 outer iterations at batch 256, a checkpoint every 4: a run takes seconds.
RESUME_BUDGET = {"epochs": 0.17, "decay_epochs": 0.05, "decay_factor": 0.5, "outer_lr": 0.01,
                 "outer_betas": [0.5, 0.999], "batch_size": 256, "seeds": [0], "log_every": 5,
                 "checkpoint_every": 4, "random_real_draws": 1, "shot_test_images": 50,
                 "baseline_epochs": 0.01, "transfer_inits": 1,
                 "log_test_images": 100, "selection_images": 100, "eval_test_images": 500}
# CIFAR: augmentation RNG too; random init: the stream of fresh initialisations
CASES = [("mnist", "q-res-herm"), ("cifar10", "classical"), ("mnist", "classical-random")]


@pytest.fixture(scope="module")
def resume_config(tmp_path_factory):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["budgets"]["resume"] = RESUME_BUDGET
    config["budget"] = "resume"
    path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def distill_command(config, out, dataset, model, mirror, data_root, seed=0):
    return [sys.executable, "-m", "qdistill", "distill", "--config", str(config),
            "--dataset", dataset, "--model", model, "--seed", str(seed), "--out", str(out),
            "--data-root", str(data_root), "--data-mirror", str(mirror), "--device", "cpu",
            "--threads", "1", "--no-progress"]


def run_to_end(command):
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc


def start_and_wait_for_checkpoint(command, out):
    """Start a run and return it once its first checkpoint is on disk."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (out / CHECKPOINT).exists():
        assert proc.poll() is None, f"run ended before its first checkpoint:\n{proc.stderr.read()}"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    return proc


@pytest.fixture(scope="module")
def uninterrupted(resume_config, mirror, data_root, tmp_path_factory):
    """distilled.pt bytes of each case, run without interruption."""
    out = {}
    for dataset, model in CASES:
        run = tmp_path_factory.mktemp("reference") / f"{dataset}-{model}"
        run_to_end(distill_command(resume_config, run, dataset, model, mirror, data_root))
        assert not (run / CHECKPOINT).exists(), "a finished run removes its checkpoint"
        out[(dataset, model)] = (run / "distilled.pt").read_bytes()
    return out


@pytest.mark.parametrize("dataset,model", CASES)
def test_fault_sigkill_resumes_to_identical_bytes(dataset, model, resume_config, mirror,
                                                  data_root, uninterrupted, tmp_path):
    command = distill_command(resume_config, tmp_path, dataset, model, mirror, data_root)
    proc = start_and_wait_for_checkpoint(command, tmp_path)
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait(timeout=60)
    assert not (tmp_path / "distilled.pt").exists()
    killed_at = load_checkpoint(tmp_path / CHECKPOINT)["iteration"]
    assert killed_at >= 4

    run_to_end(command)
    log = (tmp_path / "distill.log").read_text()
    assert f"resuming from the checkpoint of iteration {killed_at}" in log
    assert (tmp_path / "distilled.pt").read_bytes() == uninterrupted[(dataset, model)]
    assert not (tmp_path / CHECKPOINT).exists()


@pytest.mark.parametrize("dataset,model", CASES[:1])
def test_fault_sigterm_checkpoints_then_resumes_to_identical_bytes(
        dataset, model, resume_config, mirror, data_root, uninterrupted, tmp_path):
    command = distill_command(resume_config, tmp_path, dataset, model, mirror, data_root)
    proc = start_and_wait_for_checkpoint(command, tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    stopped_at = load_checkpoint(tmp_path / CHECKPOINT)["iteration"]
    assert f"stopped by SIGTERM after iteration {stopped_at}" in stderr
    assert not (tmp_path / "distilled.pt").exists()

    run_to_end(command)
    assert (f"resuming from the checkpoint of iteration {stopped_at}"
            in (tmp_path / "distill.log").read_text())
    assert (tmp_path / "distilled.pt").read_bytes() == uninterrupted[(dataset, model)]


def test_fault_checkpoint_of_other_settings_is_not_resumed(resume_config, mirror, data_root,
                                                          uninterrupted, tmp_path):
    """A checkpoint left by seed 1 in seed 0's folder: ignored, the run starts over."""
    other = distill_command(resume_config, tmp_path, "mnist", "q-res-herm", mirror, data_root,
                            seed=1)
    proc = start_and_wait_for_checkpoint(other, tmp_path)
    proc.kill()
    proc.wait(timeout=60)
    run_to_end(distill_command(resume_config, tmp_path, "mnist", "q-res-herm", mirror,
                               data_root))
    assert "belongs to other settings" in (tmp_path / "distill.log").read_text()
    assert (tmp_path / "distilled.pt").read_bytes() == uninterrupted[("mnist", "q-res-herm")]


def test_fault_corrupt_checkpoint_is_named_and_nothing_is_written(resume_config, mirror,
                                                                  data_root, tmp_path):
    (tmp_path / CHECKPOINT).write_bytes(b"PK\x03\x04 this is not a checkpoint")
    proc = subprocess.run(distill_command(resume_config, tmp_path, "mnist", "classical",
                                          mirror, data_root),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    assert f"{tmp_path / CHECKPOINT} is truncated or corrupt" in proc.stderr
    assert "delete it to start the run over" in proc.stderr
    assert not (tmp_path / "distilled.pt").exists()
