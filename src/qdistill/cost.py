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

Extensions, counted by the same plain rule:
- 4x4 Hermitians on the n neighbouring pairs of a ring: overlapping pairs do not commute,
  so every circuit runs in 2 measurement settings (3 for odd n), each measuring a set of
  disjoint pairs in their eigenbases. The eigenbasis of a d x d Hermitian has d**2 - d
  real parameters (12 for a pair, 2 for a qubit), counted at 2 shifts each in its own
  setting: an idealised figure, since a general two-qubit basis change compiled into
  gates needs more rotations (about 13 Pauli rotations by a KAK decomposition) and some
  need four-term shift rules; and not a minimal one, since the disjoint pairs of a
  setting could be shifted together.
- angle embedding: one RX per feature, 2 shifts each (instead of 2 (2**n - 1)).
- the quanvolutional front end: one execution per 2x2 patch and channel gives its 4
  outputs; its inputs are the image pixels, which are data, so no shifts for them; a
  trainable filter adds 2 shifts per filter angle and patch. With a fixed filter, the
  patches of a real image need executing only once for all epochs (its features can be
  stored), so the count per sample overstates full-data training, and a saving factor
  computed from it would be too large.

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
    front_end: int = 0

    @property
    def training(self) -> int:
        """One sample's forward pass and gradient."""
        return (self.forward + self.angle_shifts + self.observable_shifts
                + self.embedding_shifts + self.front_end)

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "training": self.training}


def quanvolution_patches(image_shape: tuple[int, int, int]) -> int:
    """2x2 patches (stride 2) over all channels: the quanvolution's circuits per image."""
    channels, height, width = image_shape
    return channels * (height // 2) * (width // 2)


def executions_per_sample(model: ModelSpec, frozen_circuit: bool = False,
                          image_shape: tuple[int, int, int] | None = None) -> ExecutionsPerSample:
    """Circuit executions of one training sample of `model` (all zero for the classical
    LeNet). image_shape (channels, height, width) is needed for a quanvolutional front end."""
    if model.kind != "quantum":
        return ExecutionsPerSample(0, 0, 0, 0)
    n = model.n_qubits
    pairs = model.observable == "hermitian-pair"
    settings = (2 if n % 2 == 0 else 3) if pairs else 1
    dim = 4 if pairs else 2
    trainable = model.observable in ("hermitian", "hermitian-pair")
    features = 2**n - 1 if model.embedding == "amplitude" else n
    front_end = 0
    if model.front_end == "quanvolution":
        if image_shape is None:
            raise ValueError(f"model {model.model_id!r}: the quanvolution front end's "
                             "executions depend on the image shape; pass image_shape.")
        patches = quanvolution_patches(image_shape)
        filter_angles = 3 * model.quanv_layers * 4 if model.quanv_trainable else 0
        front_end = patches * (1 + 2 * filter_angles)
    frozen = frozen_circuit or model.frozen_circuit
    return ExecutionsPerSample(
        forward=settings,
        angle_shifts=0 if frozen else settings * 2 * 3 * model.n_layers * n,
        observable_shifts=n * 2 * (dim**2 - dim) if trainable else 0,
        embedding_shifts=settings * 2 * features,
        front_end=front_end)


def distilled_training_executions(per_sample: int, inner_steps: int,
                                  images_per_step: int) -> int:
    """Training theta0 on a distilled set: T gradient steps on its images (per_sample: the
    executions of one training sample, ExecutionsPerSample.training)."""
    return inner_steps * images_per_step * per_sample


def first_reaching(curve: list[dict], accuracy: float) -> tuple[dict | None, dict | None]:
    """The first point of a training curve at or above `accuracy` (None if never), and the
    point before it: the crossing lies between the two."""
    for before, point in zip([None, *curve], curve):
        if point["test_acc"] >= accuracy:
            return point, before
    return None, None


def executions_per_epoch(per_sample: int, train_images: int) -> int:
    return train_images * per_sample


def cost_rows(run: dict, full: dict | None, shots: list[int]) -> list[dict]:
    """Rows of cost.csv for one distilled run (its metrics.json, which records the executions
    per sample) and, if there is one, the same model trained on full data (its curve of test
    accuracy against executions); one row per shots value (and one for analytic expectation
    values, shots empty). The executions full-data training needs to reach the distilled
    accuracy are the first curve point at or above it; the point before is a lower bound."""
    per_sample = run["executions_per_sample"]
    distilled = distilled_training_executions(per_sample, run["inner_steps"],
                                              run["images_per_step"])
    reached, before = first_reaching(full["curve"], run["test_acc"]) if full else (None, None)
    base = {
        "dataset": run["dataset"], "model": run["model"], "seed": run["seed"],
        "budget": run["budget"], "distilled_acc": run["test_acc"],
        "executions_per_sample": per_sample,
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
