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


def spec(observable, n_qubits=2, n_layers=1):
    return ModelSpec(model_id="tiny", kind="quantum", residual=True, observable=observable,
                     n_qubits=n_qubits, n_layers=n_layers)


def test_two_qubits_one_layer_counted_by_hand():
    # forward 1; 2 qubits x 1 layer x 3 angles x 2 shifts = 12; trainable Hermitian:
    # 2 eigenbasis angles x 2 shifts x 2 qubits = 8; embedding: 2**2 - 1 = 3 RY angles x 2
    per = executions_per_sample(spec("hermitian"))
    assert (per.forward, per.angle_shifts, per.observable_shifts, per.embedding_shifts) == (
        1, 12, 8, 6)
    assert per.training == 27
    assert executions_per_sample(spec("pauliz")).training == 19
    assert executions_per_sample(spec("hermitian-fixed")).training == 19
    assert executions_per_sample(spec("hermitian"), freeze_circuit=True).training == 15
    assert executions_per_sample(ModelSpec("classical", "classical")).training == 0
    # three inner steps on 10 distilled images each
    assert distilled_training_executions(per, inner_steps=3, images_per_step=10) == 810


def test_paper_model_counts():
    assert executions_per_sample(spec("hermitian", 6, 3)).training == 1 + 108 + 24 + 126


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
    assert first_reaching(curve, 30.0)["iteration"] == 5
    assert first_reaching(curve, 60.0) is None
    run = {"dataset": "mnist", "model": "tiny", "seed": 0, "budget": "smoke",
           "test_acc": 42.0, "inner_steps": 3, "images_per_step": 10}
    full = {"curve": curve, "train_images": 60_000, "test_acc": 55.0}
    rows = cost_rows(run, full, per, shots=[100, 1000])
    assert [r["shots"] for r in rows][1:] == [100, 1000] and math.isnan(rows[0]["shots"])
    analytic = rows[0]
    assert analytic["distilled_executions"] == 810
    assert analytic["full_data_executions_per_epoch"] == 60_000 * 27
    assert analytic["full_data_executions_to_distilled_acc"] == 1280 * 27
    assert analytic["saving_factor"] == pytest.approx(1280 * 27 / 810)
    assert rows[2]["distilled_circuit_runs"] == 810_000
    no_full = cost_rows(run, None, per, shots=[])[0]
    assert math.isnan(no_full["full_data_executions_to_distilled_acc"])
