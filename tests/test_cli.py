"""`python -m qdistill distill/evaluate` end to end on real MNIST at the smoke budget:
the output contract, byte-identical reruns, and clear errors that leave nothing behind."""

import json
import subprocess
import sys

import pytest
import torch
from workflow_helpers import fresh_python

from qdistill.artifacts import load_distilled
from qdistill.cli import main


def run_cli(*args):
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def distilled_run(tmp_path_factory, mirror, data_root):
    out = tmp_path_factory.mktemp("run") / "mnist" / "q-res-herm" / "seed0"
    common = ["--data-root", data_root, "--data-mirror", mirror, "--device", "cpu"]
    assert run_cli("distill", "--dataset", "mnist", "--model", "q-res-herm", "--seed", 0,
                   "--out", out, "--budget", "smoke", "--no-progress", *common) == 0
    assert run_cli("evaluate", out, *common) == 0
    return out


def test_run_folder_follows_the_output_contract(distilled_run):
    assert {p.name for p in distilled_run.iterdir()} >= {
        "distilled.pt", "distill_log.json", "metrics.json", "distill.log", "evaluate.log"}
    payload = load_distilled(distilled_run / "distilled.pt")
    assert payload.images.shape == (1, 10, 1, 28, 28)
    assert torch.equal(payload.labels[0], torch.arange(10))
    assert payload.lrs.shape == (3,) and (payload.lrs > 0).all()
    assert payload.settings.seed == 0 and payload.data_source == "official"
    assert payload.settings.model.model_id == "q-res-herm"

    metrics = json.loads((distilled_run / "metrics.json").read_text())
    assert (metrics["dataset"], metrics["model"], metrics["seed"]) == ("mnist", "q-res-herm", 0)
    assert metrics["budget"] == "smoke" and metrics["data_source"] == "official"
    for key in ("test_acc", "random_real_acc_mean", "init_acc"):
        assert 0 <= metrics[key] <= 100
    assert len(metrics["random_real_accs"]) == 2
    assert metrics["n_test_images"] == 1000  # the smoke budget's eval_test_images
    distill_log = json.loads((distilled_run / "distill_log.json").read_text())
    # metrics.json has the log's summary; its history stays in the log
    assert metrics["distill"] == {k: v for k, v in distill_log.items() if k != "history"}
    assert distill_log["iterations"] == 12 and distill_log["wall_time_s"] > 0
    assert distill_log["circuit_evaluations"] == 12 * (3 * 10 + 256)
    assert len(distill_log["history"]) == 12
    first = distill_log["history"][0]
    assert set(first) >= {"iteration", "outer_loss", "test_batch_acc", "lrs"}
    assert "iter 12/12 outer loss" in (distilled_run / "distill.log").read_text()


def test_same_seed_same_bytes(distilled_run, tmp_path, mirror, data_root):
    common = ["--data-root", data_root, "--data-mirror", mirror, "--device", "cpu",
              "--budget", "smoke", "--no-progress", "--dataset", "mnist", "--model", "q-res-herm"]
    assert run_cli("distill", "--seed", 0, "--out", tmp_path / "again", *common) == 0
    assert run_cli("distill", "--seed", 1, "--out", tmp_path / "other", *common) == 0
    original = (distilled_run / "distilled.pt").read_bytes()
    assert (tmp_path / "again" / "distilled.pt").read_bytes() == original
    assert (tmp_path / "other" / "distilled.pt").read_bytes() != original


def test_transfer_from_other_initialisations(distilled_run, mirror, data_root):
    common = ["--data-root", data_root, "--data-mirror", mirror, "--device", "cpu"]
    assert run_cli("transfer", distilled_run, "--inits", 2, "--first-seed", 50, *common) == 0
    result = json.loads((distilled_run / "transfer.json").read_text())
    assert [r["init_seed"] for r in result["results"]] == [0, 50, 51]
    metrics = json.loads((distilled_run / "metrics.json").read_text())
    assert result["own_init_acc"] == metrics["test_acc"]  # the run's own accuracy again
    with pytest.raises(SystemExit) as refused:  # argparse: "--inits: must be at least 1"
        run_cli("transfer", distilled_run, "--inits", 0, *common)
    assert refused.value.code == 2


def test_module_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "qdistill", "distill", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--data-mirror" in out and "--budget" in out and "--freeze-circuit" in out


def test_help_and_version_need_neither_torch_nor_pennylane():
    """--help, --version and bad flags answer before the heavy imports (seconds saved)."""
    code = ("import sys\n"
            "from qdistill.cli import build_parser\n"
            "try:\n"
            "    build_parser().parse_args(['--version'])\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(sorted(m for m in ('torch', 'pennylane') if m in sys.modules))")
    out = fresh_python(code)
    assert out.startswith("qdistill 0.") and out.endswith("[]")


@pytest.mark.parametrize("flag", [["--threads", "0"], ["--inits", "-1"]])
def test_counts_below_one_are_refused_by_name(flag, capsys, tmp_path):
    command = ["transfer", str(tmp_path)] + flag
    with pytest.raises(SystemExit) as stop:
        main(command)
    assert stop.value.code == 2
    assert f"argument {flag[0]}: must be at least 1, got {flag[1]}" in capsys.readouterr().err
