"""Circuit-execution accounting (src/qdistill/cost.py) on settings small enough to count
by hand, and the embedding count checked against PennyLane's own state preparation."""

import math

import numpy as np
import pennylane as qml
import pytest

from qdistill.config import ModelSpec
from qdistill.cost import (
    cost_rows,
    distilled_training_executions,
    executions_per_sample,
    first_reaching,
)


def spec(observable, n_qubits=2, n_layers=1, **extension):
    return ModelSpec(model_id="tiny", kind="quantum", residual=True, observable=observable,
                     n_qubits=n_qubits, n_layers=n_layers, **extension)


def test_two_qubits_one_layer_counted_by_hand():
    # forward 1; 2 qubits x 1 layer x 3 angles x 2 shifts = 12; trainable Hermitian:
    # 2 eigenbasis angles x 2 shifts x 2 qubits = 8; embedding: 2**2 - 1 = 3 RY angles x 2
    per = executions_per_sample(spec("hermitian"))
    assert (per.forward, per.angle_shifts, per.observable_shifts, per.embedding_shifts) == (
        1, 12, 8, 6)
    assert per.training == 27
    assert executions_per_sample(spec("pauliz")).training == 19
    assert executions_per_sample(spec("hermitian-fixed")).training == 19
    assert executions_per_sample(spec("hermitian"), frozen_circuit=True).training == 15
    assert executions_per_sample(ModelSpec("classical", "classical")).training == 0
    # three inner steps on 10 distilled images each
    assert distilled_training_executions(per.training, inner_steps=3, images_per_step=10) == 810


def test_extensions_counted_by_hand():
    """Four qubits, one layer: forward 1, angles 4 x 3 x 2 = 24, Hermitians 4 x 4 = 16,
    amplitude embedding (16 - 1) x 2 = 30: 71 for the paper's model."""
    assert executions_per_sample(spec("hermitian", 4)).training == 71
    # angle embedding: 4 RX x 2 shifts instead of 30
    assert executions_per_sample(spec("hermitian", 4, embedding="angle")).training == 71 - 30 + 8
    # a frozen circuit trains no angles
    assert executions_per_sample(spec("hermitian", 4, frozen_circuit=True)).training == 71 - 24
    # pairs on a ring of 4: 2 measurement settings for the forward, the angle and the
    # embedding shifts; 4 pairs x 12 eigenbasis angles x 2 shifts in their own setting
    pair = executions_per_sample(spec("hermitian-pair", 4))
    assert (pair.forward, pair.angle_shifts, pair.observable_shifts, pair.embedding_shifts) == (
        2, 48, 96, 60)
    assert executions_per_sample(spec("hermitian-pair", 5)).forward == 3  # odd ring
    # quanvolution: one execution per 2x2 patch and channel (28 px, 1 channel: 196)
    quanv = spec("hermitian", 4, front_end="quanvolution")
    assert executions_per_sample(quanv, image_shape=(1, 28, 28)).front_end == 196
    assert executions_per_sample(quanv, image_shape=(3, 32, 32)).training == 71 + 768
    # a trainable filter (1 layer, 4 qubits x 3 angles) adds 24 shifts per patch
    trainable = spec("hermitian", 4, front_end="quanvolution", quanv_trainable=True)
    assert executions_per_sample(trainable, image_shape=(1, 28, 28)).front_end == 196 * 25
    with pytest.raises(ValueError, match="image_shape"):
        executions_per_sample(quanv)


def test_full_data_curve_is_dense_early_and_respects_freeze_circuit(smoke_config, mnist,
                                                                     monkeypatch):
    """Evaluated after iterations 1, 2, 4, ... and every eval_every; with freeze_circuit the
    angles stay at theta0 and the executions per sample drop the angle shifts."""
    import torch

    import qdistill.baseline as baseline
    from qdistill.config import run_settings

    optimised, real_adam = [], torch.optim.Adam

    def recording_adam(params, lr):
        optimised.extend(params)
        return real_adam(optimised, lr=lr)

    monkeypatch.setattr(baseline.torch.optim, "Adam", recording_adam)
    config = dict(smoke_config, freeze_circuit=True)
    settings = run_settings(config, "mnist", "q-res-herm", 0)
    result = baseline.train_full(settings, mnist, epochs=0.08, lr=0.01, batch_size=128,
                                 progress=False, eval_every=5)  # 38 iterations
    assert [p["iteration"] for p in result["curve"]] == [
        0, 1, 2, 4, 5, 8, 10, 15, 16, 20, 25, 30, 32, 35, 38]
    assert result["executions_per_sample"] == 1 + 24 + 126
    last = result["curve"][-1]
    assert last["samples"] == 38 * 128 and last["executions"] == 38 * 128 * 151
    assert result["test_acc"] == last["test_acc"] > result["curve"][0]["test_acc"]
    assert optimised and not any(p.shape == (3, 6, 3) for p in optimised)  # no angles


@pytest.mark.parametrize("n_qubits", [2, 3, 4])
def test_embedding_gradient_count_is_pennylanes_ry_count(n_qubits):
    """Amplitude embedding of a real vector decomposes (Mottonen) into 2**n - 1 RY
    rotations; the RZ angles of its signs are constant in the features."""
    x = np.random.default_rng(n_qubits).normal(size=2**n_qubits)
    x /= np.linalg.norm(x)

    def gates(op):
        if op.name in ("RY", "RZ", "CNOT") or not op.has_decomposition:
            return [op]
        return [g for sub in op.decomposition() for g in gates(sub)]

    ops = gates(qml.MottonenStatePreparation(x, wires=range(n_qubits)))
    n_ry = sum(op.name == "RY" for op in ops)
    assert executions_per_sample(spec("pauliz", n_qubits)).embedding_shifts == 2 * n_ry


def test_first_reaching_and_cost_rows():
    per = executions_per_sample(spec("hermitian"))
    curve = [{"iteration": 0, "samples": 0, "executions": 0, "test_acc": 10.0},
             {"iteration": 5, "samples": 640, "executions": 640 * 27, "test_acc": 30.0},
             {"iteration": 10, "samples": 1280, "executions": 1280 * 27, "test_acc": 55.0}]
    reached, before = first_reaching(curve, 30.0)
    assert (reached["iteration"], before["iteration"]) == (5, 0)
    assert first_reaching(curve, 60.0) == (None, None)
    run = {"dataset": "mnist", "model": "tiny", "seed": 0, "budget": "smoke",
           "test_acc": 42.0, "inner_steps": 3, "images_per_step": 10,
           "executions_per_sample": per.training}
    full = {"curve": curve, "train_images": 60_000, "test_acc": 55.0}
    rows = cost_rows(run, full, shots=[100, 1000])
    assert [r["shots"] for r in rows][1:] == [100, 1000] and math.isnan(rows[0]["shots"])
    analytic = rows[0]
    assert analytic["distilled_executions"] == 810
    assert analytic["full_data_executions_per_epoch"] == 60_000 * 27
    assert analytic["full_data_executions_to_distilled_acc"] == 1280 * 27
    assert analytic["full_data_executions_lower_bound"] == 640 * 27
    assert analytic["saving_factor"] == pytest.approx(1280 * 27 / 810)
    assert rows[2]["distilled_circuit_runs"] == 810_000
    no_full = cost_rows(run, None, shots=[])[0]
    assert math.isnan(no_full["full_data_executions_to_distilled_acc"])
