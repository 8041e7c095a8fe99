"""The quantum layers of the models: the QNN (QuantumLayer) and the quanvolutional front end
(QuanvolutionLayer). A layer's backend is fixed when it is built: fast (fast_circuits.py),
pennylane (the definitions of circuits.py on default.qubit) or, for evaluation with shots,
lightning (lightning.qubit).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .circuits import (
    EMBEDDINGS,
    OBSERVABLES,
    PAULI_Z,
    QUANV_QUBITS,
    TRAINABLE_OBSERVABLES,
    lightning_expvals,
    observable_wires,
    pennylane_qnode,
    quanvolution_qnode,
)
from .fast_circuits import circuit_unitary, fast_expvals, product_state, quadratic_forms

BACKENDS = ("fast", "pennylane", "lightning")  # lightning: evaluation with shots only


class EmbeddingError(ValueError):
    """Features that amplitude embedding cannot normalise: an all-zero vector. (Non-finite
    features give NaN outputs, which the distillation reports as divergence.)"""


def hermitian_from_raw(raw: torch.Tensor) -> torch.Tensor:
    """H = (A + A^H) / 2 for A = raw[..., 0] + i raw[..., 1]: Hermitian by construction.

    raw has shape (n_observables, d, d, 2) and is real, so that Module.to(dtype) keeps it
    intact. A d x d Hermitian has d**2 real degrees of freedom (of the 2 d**2 in raw).
    """
    a = torch.view_as_complex(raw)
    return (a + a.mH) * 0.5


class QuantumLayer(nn.Module):
    """n_qubits expectation values of the circuit, for a batch of embedded features
    (2**n_qubits for amplitude embedding, n_qubits for angle embedding).

    Parameters: `angles` (n_layers, n_qubits, 3) always; `observable_raw` (n_qubits, d, d, 2),
    d = 2 (one qubit) or 4 (a pair), is a parameter for the trainable Hermitians and a
    buffer (fixed) otherwise.
    """

    def __init__(self, n_qubits: int, n_layers: int, observable: str, backend: str = "fast",
                 embedding: str = "amplitude", shots: int | None = None, shot_seed: int = 0):
        super().__init__()
        if observable not in OBSERVABLES:
            raise ValueError(f"observable must be one of {OBSERVABLES}, got {observable!r}")
        if backend not in BACKENDS:
            raise ValueError(f"qnn_backend must be one of {BACKENDS}, got {backend!r}")
        if embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {EMBEDDINGS}, got {embedding!r}")
        if observable == "hermitian-pair" and n_qubits < 3:
            raise ValueError(f"observable 'hermitian-pair' needs at least 3 qubits (a ring of "
                             f"distinct pairs), got {n_qubits}")
        if shots is not None and backend != "lightning":
            raise ValueError(f"shots are measured on lightning.qubit only, not with backend "
                             f"{backend!r}")
        self.n_qubits, self.n_layers = n_qubits, n_layers
        self.observable, self.backend, self.embedding = observable, backend, embedding
        # backend "lightning" (evaluation only): None is analytic, else shots per execution
        self.shots, self.shot_seed = shots, shot_seed
        self.angles = nn.Parameter(torch.zeros(n_layers, n_qubits, 3))
        dim = 2 ** len(observable_wires(n_qubits, observable)[0])
        raw = torch.zeros(n_qubits, dim, dim, 2)
        if observable == "pauliz":
            raw[..., 0] = torch.tensor(PAULI_Z)
        if observable in TRAINABLE_OBSERVABLES:
            self.observable_raw = nn.Parameter(raw)
        else:
            self.register_buffer("observable_raw", raw)

    @property
    def n_features(self) -> int:
        return 2**self.n_qubits if self.embedding == "amplitude" else self.n_qubits

    def reset_parameters(self, angles: torch.Generator, observables: torch.Generator) -> None:
        """Angles xavier-normal (as the reference); Hermitian entries N(0, 1). One generator
        each, so the angles of a seed are the same whatever the observable."""
        with torch.no_grad():
            nn.init.xavier_normal_(self.angles, generator=angles)
            if self.observable != "pauliz":
                self.observable_raw.normal_(generator=observables)

    def observable_matrices(self) -> torch.Tensor:
        return hermitian_from_raw(self.observable_raw)

    def on_lightning(self, shots: int | None, shot_seed: int) -> "QuantumLayer":
        """The same circuit and parameters, measured on lightning.qubit with `shots` (None:
        analytic expectation values)."""
        layer = QuantumLayer(self.n_qubits, self.n_layers, self.observable, "lightning",
                             self.embedding, shots, shot_seed).to(self.angles)
        layer.load_state_dict(self.state_dict())  # after .to: no rounding through float32
        return layer

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.shape[-1] != self.n_features:
            raise ValueError(f"QuantumLayer on {self.n_qubits} qubits ({self.embedding} "
                             f"embedding) needs {self.n_features} features, got "
                             f"{features.shape[-1]}")
        if self.embedding == "amplitude":
            zero = features.detach().norm(dim=-1) == 0
            if bool(zero.any()):
                raise EmbeddingError(
                    f"QuantumLayer: {int(zero.sum())} of {len(zero)} samples have all-zero "
                    "features (the F2 output), which amplitude embedding cannot normalise "
                    "into a state. Blank input images do this at the zero-bias initialisation.")
        observables = self.observable_matrices()
        if self.backend == "fast":
            return fast_expvals(features, self.angles, observables, self.embedding)
        if self.backend == "lightning":
            return lightning_expvals(features, self.angles, observables, self.shots,
                                     self.shot_seed, self.embedding)
        circuit = pennylane_qnode(self.n_qubits, self.observable, self.embedding)
        out = torch.stack(circuit(features, self.angles, observables), dim=-1)
        return out.to(features.dtype)


def image_patches(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H/2, W/2, 4): the 2x2 patches of stride 2, pixels row-major."""
    b, c, h, w = images.shape
    return images.reshape(b, c, h // 2, 2, w // 2, 2).transpose(3, 4).reshape(
        b, c, h // 2, w // 2, 4)


class QuanvolutionLayer(nn.Module):
    """A quanvolutional layer (Henderson et al. 2019) in place of C1: every 2x2 patch of
    every channel (stride 2) is encoded as RY angles on 4 qubits, passed through a small
    StronglyEntanglingLayers circuit shared by all patches, and read out as 4 Pauli-Z
    expectation values: (B, C, H, W) -> (B, 4C, H/2, W/2), channel c*4 + q.

    The patch state is a real product state r (16 values), so <Z_q> = r^T M_q r with
    M_q = Re(U^H Z_q U): four 16 x 16 forms shared by every patch. With a fixed circuit
    (`trainable=False`, the angles a buffer) they are computed once per device and dtype
    and cached; a trainable circuit recomputes them (cheaply) every forward.
    """

    def __init__(self, n_layers: int, trainable: bool, backend: str = "fast"):
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f"qnn_backend must be one of {BACKENDS}, got {backend!r}")
        self.n_layers, self.trainable, self.backend = n_layers, trainable, backend
        angles = torch.zeros(n_layers, QUANV_QUBITS, 3)
        if trainable:
            self.angles = nn.Parameter(angles)
        else:
            self.register_buffer("angles", angles)
        # (the angles tensor, its version, its forms): holding the tensor keeps the key unique
        self._cached_forms: tuple[torch.Tensor, int, torch.Tensor] | None = None

    def reset_parameters(self, generator: torch.Generator) -> None:
        """A random circuit: angles uniform on [0, 2 pi), as Henderson et al.'s."""
        with torch.no_grad():
            self.angles.uniform_(0, 2 * math.pi, generator=generator)
        self._cached_forms = None

    def _apply(self, fn, recurse=True):  # .to(), .double(), ...: the cache would be stale
        self._cached_forms = None
        return super()._apply(fn, recurse)

    def forms(self, angles: torch.Tensor) -> torch.Tensor:
        """M_q = Re(U^H Z_q U), (4, 16, 16); cached while the angles are a fixed, unchanged
        tensor (never when they need gradients: the forms then belong to a graph)."""
        cached = self._cached_forms
        if cached and cached[0] is angles and cached[1] == angles._version:
            return cached[2]
        z = torch.tensor(PAULI_Z, dtype=angles.dtype, device=angles.device)
        unitary = circuit_unitary(angles, QUANV_QUBITS)
        forms = quadratic_forms(unitary, z.to(unitary.dtype).expand(QUANV_QUBITS, 2, 2))
        if not angles.requires_grad:
            self._cached_forms = (angles, angles._version, forms)
        return forms

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] % 2 or images.shape[-2] % 2:
            raise ValueError(f"quanvolution needs even image sides, got {tuple(images.shape)}")
        patches = image_patches(images)
        if self.backend == "pennylane":
            flat = patches.reshape(-1, QUANV_QUBITS)  # PennyLane broadcasts over one axis
            out = torch.stack(quanvolution_qnode(self.n_layers)(flat, self.angles), dim=-1)
            out = out.reshape(patches.shape).to(images.dtype)
        else:  # fast (also under "lightning": the front end is evaluated exactly)
            half = patches * 0.5
            state = product_state(torch.cos(half), torch.sin(half))
            out = torch.einsum("...i,qij,...j->...q", state, self.forms(self.angles), state)
        b, c, h, w, _ = out.shape
        return out.permute(0, 1, 4, 2, 3).reshape(b, c * QUANV_QUBITS, h, w)
