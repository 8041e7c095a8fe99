"""What training the quantum LeNet would cost on a quantum computer: circuit executions.

Counted per training sample (one forward pass and one gradient), for hardware that
estimates expectation values from repeated shots and gradients by the parameter-shift rule:

- forward: 1 execution. The n observables sit on different qubits and commute, so one
  circuit, each qubit measured in its observable's eigenbasis, gives all n values.
- circuit angles: 2 executions (+-pi/2 shifts) per trained angle, 3 per qubit and layer.
- trainable Hermitian observables: H_q = V diag(l) V^H has 4 real degrees of freedom. The
  derivatives in the eigenvalues l are the outcome frequencies of the forward execution
  (no extra circuits); the eigenbasis V (2 angles, up to a phase) is a basis-change
  rotation before the measurement, so 2 shifts x 2 angles = 4 executions per qubit. (An
  upper bound: a qubit's basis rotation only changes its own outcome, so all qubits could
  be shifted at once in 4 executions; we count the plain rule.)
  Pauli-Z and fixed Hermitian observables have nothing to train.
- the embedded features: training the classical layers below the circuit needs the
  derivatives of the outputs in its 2**n inputs. Amplitude embedding of a real vector is a
  state preparation of 2**n - 1 RY rotations (Mottonen et al.) whose angles are classical
  functions of the features: 2 shifts each.

Shots multiply everything: an execution of S shots is S runs of the circuit.
No torch here: the report rules import it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .config import ModelSpec


@dataclass(frozen=True)
class ExecutionsPerSample:
    forward: int
    angle_shifts: int
    observable_shifts: int
    embedding_shifts: int

    @property
    def training(self) -> int:
        """One sample's forward pass and gradient."""
        return self.forward + self.angle_shifts + self.observable_shifts + self.embedding_shifts

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "training": self.training}


def executions_per_sample(model: ModelSpec, freeze_circuit: bool = False) -> ExecutionsPerSample:
    """Circuit executions of one training sample of `model` (all zero for the classical LeNet)."""
    if model.kind != "quantum":
        return ExecutionsPerSample(0, 0, 0, 0)
    n = model.n_qubits
    return ExecutionsPerSample(
        forward=1,
        angle_shifts=0 if freeze_circuit else 2 * 3 * model.n_layers * n,
        observable_shifts=4 * n if model.observable == "hermitian" else 0,
        embedding_shifts=2 * (2**n - 1))


def distilled_training_executions(per_sample: ExecutionsPerSample, inner_steps: int,
                                  images_per_step: int) -> int:
    """Training theta0 on a distilled set: T gradient steps on its images."""
    return inner_steps * images_per_step * per_sample.training


def first_reaching(curve: list[dict], accuracy: float) -> tuple[dict | None, dict | None]:
    """The first point of a training curve at or above `accuracy` (None if never), and the
    point before it: the crossing lies between the two."""
    for before, point in zip([None, *curve], curve):
        if point["test_acc"] >= accuracy:
            return point, before
    return None, None


def executions_per_epoch(per_sample: ExecutionsPerSample, train_images: int) -> int:
    return train_images * per_sample.training


def cost_rows(run: dict, full: dict | None, per_sample: ExecutionsPerSample,
              images_per_step: int, shots: list[int]) -> list[dict]:
    """Rows of cost.csv for one distilled run (metrics.json) and, if there is one, the same
    model trained on full data (its curve of test accuracy against executions); one row
    per shots value (and one for analytic expectation values, shots empty). The executions
    full-data training needs to reach the distilled accuracy are the first curve point at
    or above it; the point before is a lower bound."""
    distilled = distilled_training_executions(per_sample, run["inner_steps"], images_per_step)
    reached, before = first_reaching(full["curve"], run["test_acc"]) if full else (None, None)
    base = {
        "dataset": run["dataset"], "model": run["model"], "seed": run["seed"],
        "budget": run["budget"], "distilled_acc": run["test_acc"],
        "executions_per_sample": per_sample.training,
        "distilled_executions": distilled,
        "full_data_executions_per_epoch": (executions_per_epoch(per_sample, full["train_images"])
                                           if full else math.nan),
        "full_data_final_acc": full["test_acc"] if full else math.nan,
        "full_data_executions_to_distilled_acc": reached["executions"] if reached else math.nan,
        "full_data_executions_lower_bound": before["executions"] if before else math.nan,
    }
    base["saving_factor"] = (base["full_data_executions_to_distilled_acc"] / distilled
                             if reached and distilled else math.nan)
    rows = [{**base, "shots": math.nan, "distilled_circuit_runs": math.nan,
             "full_data_circuit_runs_to_distilled_acc": math.nan}]
    for s in shots:
        rows.append({**base, "shots": s, "distilled_circuit_runs": distilled * s,
                     "full_data_circuit_runs_to_distilled_acc":
                         base["full_data_executions_to_distilled_acc"] * s})
    return rows
