"""The QNN of the quantum LeNet: its PennyLane definition and a fast, equal execution path.

The circuit (PAPER.md): amplitude embedding of 2**n features on n qubits (normalised),
StronglyEntanglingLayers, then one expectation value per qubit of a 2x2 observable.

The fast path uses that the state after embedding is a real unit vector x, so with U the
(input-independent) unitary of the entangling layers and O_q the observable on qubit q,

    <O_q> = x^T Re(U^H O_q U) x = x^T M_q x,

a real quadratic form: all samples of a batch then share six 2**n x 2**n matrices and the
whole layer is a few batched matrix products. tests/test_quantum.py proves it equal to the
PennyLane circuit, with first and second derivatives.
"""

from __future__ import annotations

import functools

import pennylane as qml
import torch
from torch import nn

OBSERVABLES = ("pauliz", "hermitian-fixed", "hermitian")
BACKENDS = ("fast", "pennylane")

PAULI_Z = ((1.0, 0.0), (0.0, -1.0))


def hermitian_from_raw(raw: torch.Tensor) -> torch.Tensor:
    """H = (A + A^H) / 2 for A = raw[..., 0] + i raw[..., 1]: Hermitian by construction.

    raw has shape (n_qubits, 2, 2, 2) and is real, so that Module.to(dtype) keeps it intact.
    """
    a = torch.complex(raw[..., 0], raw[..., 1])
    return (a + a.conj().transpose(-1, -2)) / 2


@functools.lru_cache(maxsize=None)
def pennylane_qnode(n_qubits: int, observable: str):
    """The QNN's definition: a QNode(features, angles, observables) -> list of n_qubits expvals."""
    wires = list(range(n_qubits))
    device = qml.device("default.qubit", wires=wires)

    @qml.qnode(device, interface="torch", diff_method="backprop")
    def circuit(features, angles, observables):
        qml.AmplitudeEmbedding(features, wires=wires, normalize=True)
        qml.StronglyEntanglingLayers(angles, wires=wires)
        if observable == "pauliz":
            return [qml.expval(qml.PauliZ(q)) for q in wires]
        return [qml.expval(qml.Hermitian(observables[q], wires=q)) for q in wires]

    return circuit


@functools.lru_cache(maxsize=None)
def entangler_matrices(n_qubits: int, n_layers: int) -> tuple[torch.Tensor, ...]:
    """The fixed CNOT ring of each StronglyEntanglingLayers layer as a 2**n permutation
    matrix, taken from PennyLane itself (with the template's own default ranges)."""
    wires = list(range(n_qubits))
    template = qml.StronglyEntanglingLayers(torch.zeros(n_layers, n_qubits, 3), wires=wires)
    return tuple(
        qml.matrix(qml.StronglyEntanglingLayers(torch.zeros(1, n_qubits, 3), wires=wires,
                                                ranges=[r]), wire_order=wires).real
        for r in template.hyperparameters["ranges"])


def circuit_unitary(angles: torch.Tensor, n_qubits: int) -> torch.Tensor:
    """The 2**n x 2**n unitary of the entangling layers (wire 0 = most significant bit).

    Equal to qml.matrix(StronglyEntanglingLayers(angles)), built with a handful of batched
    ops: per layer, the Kronecker product of the qubits' Rot gates, then the CNOT ring.
    """
    n_layers = angles.shape[0]
    flat = angles.reshape(-1, 3)
    rots = qml.Rot.compute_matrix(flat[:, 0], flat[:, 1], flat[:, 2])
    rots = rots.reshape(n_layers, n_qubits, 2, 2)
    unitary = None
    for layer, entangler in enumerate(entangler_matrices(n_qubits, n_layers)):
        local = rots[layer, 0]
        for q in range(1, n_qubits):
            local = torch.kron(local, rots[layer, q])
        step = entangler.to(device=local.device, dtype=local.dtype) @ local
        unitary = step if unitary is None else step @ unitary
    return unitary


def quadratic_forms(unitary: torch.Tensor, observables: torch.Tensor) -> torch.Tensor:
    """M_q = Re(U^H O_q U) for every qubit q; shape (n_qubits, 2**n, 2**n), real symmetric.

    O_q = I (x) H_q (x) I acts on axis q of U's row index viewed as n binary axes.
    """
    n = observables.shape[0]
    dim = unitary.shape[0]
    forms = []
    for q in range(n):
        u = unitary.reshape(2**q, 2, 2 ** (n - q - 1), dim)
        o_u = torch.einsum("ab,ibjk->iajk", observables[q], u).reshape(dim, dim)
        forms.append((unitary.conj().transpose(0, 1) @ o_u).real)
    return torch.stack(forms)


def fast_expvals(features: torch.Tensor, angles: torch.Tensor,
                 observables: torch.Tensor) -> torch.Tensor:
    """Same values as the PennyLane circuit, as batched real quadratic forms. (B, n_qubits)."""
    n_qubits = observables.shape[0]
    forms = quadratic_forms(circuit_unitary(angles, n_qubits), observables)
    state = features / features.norm(dim=-1, keepdim=True)
    return torch.einsum("bi,qij,bj->bq", state, forms.to(state.dtype), state)


class QuantumLayer(nn.Module):
    """n_qubits expectation values of the circuit, for a batch of 2**n_qubits features.

    Parameters: `angles` (n_layers, n_qubits, 3) always; `observable_raw` (n_qubits, 2, 2, 2)
    is a parameter for the trainable Hermitian and a buffer (fixed) otherwise.
    """

    def __init__(self, n_qubits: int, n_layers: int, observable: str, backend: str = "fast"):
        super().__init__()
        if observable not in OBSERVABLES:
            raise ValueError(f"observable must be one of {OBSERVABLES}, got {observable!r}")
        if backend not in BACKENDS:
            raise ValueError(f"qnn_backend must be one of {BACKENDS}, got {backend!r}")
        self.n_qubits, self.n_layers = n_qubits, n_layers
        self.observable, self.backend = observable, backend
        self.angles = nn.Parameter(torch.zeros(n_layers, n_qubits, 3))
        raw = torch.zeros(n_qubits, 2, 2, 2)
        if observable == "pauliz":
            raw[..., 0] = torch.tensor(PAULI_Z)
        if observable == "hermitian":
            self.observable_raw = nn.Parameter(raw)
        else:
            self.register_buffer("observable_raw", raw)

    @property
    def n_features(self) -> int:
        return 2**self.n_qubits

    def reset_parameters(self, angles: torch.Generator, observables: torch.Generator) -> None:
        """Angles xavier-normal (as the reference); Hermitian entries N(0, 1). One generator
        each, so the angles of a seed are the same whatever the observable."""
        with torch.no_grad():
            nn.init.xavier_normal_(self.angles, generator=angles)
            if self.observable != "pauliz":
                self.observable_raw.normal_(generator=observables)

    def observable_matrices(self) -> torch.Tensor:
        return hermitian_from_raw(self.observable_raw)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.shape[-1] != self.n_features:
            raise ValueError(f"QuantumLayer on {self.n_qubits} qubits needs {self.n_features} "
                             f"features, got {features.shape[-1]}")
        observables = self.observable_matrices()
        if self.backend == "fast":
            return fast_expvals(features, self.angles, observables)
        circuit = pennylane_qnode(self.n_qubits, self.observable)
        out = torch.stack(circuit(features, self.angles, observables), dim=-1)
        return out.to(features.dtype)
