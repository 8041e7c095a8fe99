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
def entangler_permutations(n_qubits: int, n_layers: int,
                           device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """The fixed CNOT ring of each StronglyEntanglingLayers layer, taken from PennyLane
    itself (the template's own default ranges): a permutation matrix P_l, returned as row
    indices, P_l @ A == A[perm[l]]. Shape (n_layers, 2**n)."""
    wires = list(range(n_qubits))
    template = qml.StronglyEntanglingLayers(torch.zeros(n_layers, n_qubits, 3), wires=wires)
    perms = []
    for r in template.hyperparameters["ranges"]:
        ring = qml.matrix(qml.StronglyEntanglingLayers(torch.zeros(1, n_qubits, 3), wires=wires,
                                                       ranges=[r]), wire_order=wires).real
        assert torch.equal(ring.sum(0), torch.ones(2**n_qubits)), "CNOT ring is a permutation"
        perms.append(ring.argmax(dim=1))
    return torch.stack(perms).to(device)  # cached per device: no copy in the forward


@functools.lru_cache(maxsize=None)
def single_qubit_units(n_qubits: int, device: torch.device = torch.device("cpu"),
                       dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """E[q, a, b] = I (x) |a><b| (x) I with |a><b| on qubit q: shape (n, 2, 2, 2**n, 2**n).
    Then sum_ab H_q[a, b] E[q, a, b] is H_q acting on qubit q of the register."""
    dim = 2**n_qubits
    units = torch.zeros(n_qubits, 2, 2, dim, dim)
    index = torch.arange(dim)
    for q in range(n_qubits):
        bit = (index >> (n_qubits - 1 - q)) & 1  # wire 0 is the most significant bit
        for a in range(2):
            for b in range(2):
                rows = index[bit == a]
                units[q, a, b, rows, rows + (b - a) * 2 ** (n_qubits - 1 - q)] = 1
    return units.to(device, dtype)  # cached per device and dtype: no copy in the forward


def circuit_unitary(angles: torch.Tensor, n_qubits: int) -> torch.Tensor:
    """The 2**n x 2**n unitary of the entangling layers (wire 0 = most significant bit).

    Equal to qml.matrix(StronglyEntanglingLayers(angles)), built with few, batched ops (the
    distillation differentiates through it twice per inner step): PennyLane's Rot matrices,
    their Kronecker product over qubits for all layers at once, the CNOT rings as row
    permutations, then the product of the layers.
    """
    n_layers = angles.shape[0]
    flat = angles.reshape(-1, 3)
    rots = qml.Rot.compute_matrix(flat[:, 0], flat[:, 1], flat[:, 2])
    rots = rots.reshape(n_layers, n_qubits, 2, 2)
    local = rots[:, 0]
    for q in range(1, n_qubits):
        d = local.shape[-1]
        local = (local[:, :, None, :, None] * rots[:, q, None, :, None, :]).reshape(
            n_layers, 2 * d, 2 * d)
    perms = entangler_permutations(n_qubits, n_layers, local.device)
    layers = local[torch.arange(n_layers, device=local.device)[:, None], perms]
    unitary = layers[0]
    for layer in layers[1:]:
        unitary = layer @ unitary
    return unitary


def register_observables(observables: torch.Tensor) -> torch.Tensor:
    """O_q = I (x) H_q (x) I on the whole register, for all qubits q: (n, 2**n, 2**n)."""
    units = single_qubit_units(observables.shape[0], observables.device, observables.dtype)
    return torch.einsum("qab,qabij->qij", observables, units)


def quadratic_forms(unitary: torch.Tensor, observables: torch.Tensor) -> torch.Tensor:
    """M_q = Re(U^H O_q U) for every qubit q; shape (n_qubits, 2**n, 2**n), real symmetric."""
    return (unitary.conj().transpose(0, 1) @ register_observables(observables) @ unitary).real


# Up to this batch size the states U x are cheaper to form than the quadratic forms M_q
# (B * 2**n versus n * 2**n * 2**n complex products); both orders give the same numbers.
STATE_PATH_MAX_BATCH = 64


def fast_expvals(features: torch.Tensor, angles: torch.Tensor,
                 observables: torch.Tensor) -> torch.Tensor:
    """Same values as the PennyLane circuit, as batched matrix products. (B, n_qubits).

    With x the normalised features: small batches evaluate <psi| O_q |psi> for the states
    psi = U x; large ones the real quadratic forms x^T M_q x, M_q shared by the batch.
    """
    n_qubits = observables.shape[0]
    unitary = circuit_unitary(angles, n_qubits)
    state = features / features.norm(dim=-1, keepdim=True)
    if len(state) <= STATE_PATH_MAX_BATCH:
        psi = state.to(unitary.dtype) @ unitary.transpose(0, 1)
        o_psi = torch.einsum("qij,bj->bqi", register_observables(observables), psi)
        return (psi.conj()[:, None, :] * o_psi).sum(-1).real.to(state.dtype)
    forms = quadratic_forms(unitary, observables)
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
