"""Faults: a NaN or inf outer loss stops the run with the iteration and the last finite
values in the message, and writes nothing that looks like success."""

import pytest

import qdistill.hypergradient as hypergradient_module
from qdistill.artifacts import DISTILL_LOG, DISTILLED, METRICS
from qdistill.cli import main
from qdistill.config import run_settings
from qdistill.distill import DistillationDiverged, distill


@pytest.fixture
def poisoned_at_iteration_3(monkeypatch):
    """The outer loss turns NaN (or inf) at the third outer iteration."""
    calls = {"n": 0}
    real_batch_gradient = hypergradient_module.real_batch_gradient

    def poison(value):
        def poisoned(*args):
            calls["n"] += 1
            loss, grads = real_batch_gradient(*args)
            return (loss * value if calls["n"] == 3 else loss), grads
        monkeypatch.setattr(hypergradient_module, "real_batch_gradient", poisoned)
    return poison


@pytest.mark.parametrize("value, shown", [(float("nan"), "nan"), (float("inf"), "inf")])
def test_fault_non_finite_outer_loss_stops_with_iteration_and_last_values(
        smoke_config, mnist, poisoned_at_iteration_3, value, shown):
    poisoned_at_iteration_3(value)
    settings = run_settings(smoke_config, "mnist", "classical", 0)
    with pytest.raises(DistillationDiverged,
                       match=rf"outer loss is {shown} at iteration 3 of classical on mnist "
                             r"\(seed 0\); last finite value: \(2, 2\.\d+\); step sizes "
                             r"\[0\.0\d+, .*\]\. Nothing was written; lower outer_lr"):
        distill(settings, mnist, iterations=5, progress=False)


def test_fault_diverged_cli_run_writes_no_outputs(poisoned_at_iteration_3, tmp_path, capsys,
                                                  mirror, data_root):
    poisoned_at_iteration_3(float("nan"))
    assert main(["distill", "--dataset", "mnist", "--model", "classical", "--budget", "smoke",
                 "--out", str(tmp_path), "--data-root", str(data_root), "--data-mirror",
                 str(mirror), "--device", "cpu", "--no-progress"]) == 2
    assert "outer loss is nan at iteration 3" in capsys.readouterr().err
    for name in (DISTILLED, DISTILL_LOG, METRICS):
        assert not (tmp_path / name).exists()


def test_fault_diverging_quantum_model_is_reported_as_divergence(smoke_config, mnist):
    """Huge inner step sizes blow the quantum LeNet's features up to inf/NaN: the run stops
    as diverged (the QNN passes non-finite values on; only all-zero ones are its error)."""
    config = dict(smoke_config)
    config["dataset_settings"] = dict(config["dataset_settings"])
    config["dataset_settings"]["mnist"] = dict(config["dataset_settings"]["mnist"],
                                               distill_lr_init=50.0)
    settings = run_settings(config, "mnist", "q-res-herm", 0)
    with pytest.raises(DistillationDiverged, match=r"outer loss is nan at iteration 1 of "
                                                   r"q-res-herm on mnist"):
        distill(settings, mnist, iterations=3, progress=False)
