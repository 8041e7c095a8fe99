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
import math

import pennylane as qml
import torch
from torch import nn

OBSERVABLES = ("pauliz", "hermitian-fixed", "hermitian")


class EmbeddingError(ValueError):
    """Features that amplitude embedding cannot normalise: an all-zero vector. (Non-finite
    features give NaN outputs, which the distillation reports as divergence.)"""

BACKENDS = ("fast", "pennylane", "lightning")  # lightning: evaluation with shots only

PAULI_Z = ((1.0, 0.0), (0.0, -1.0))


def hermitian_from_raw(raw: torch.Tensor) -> torch.Tensor:
    """H = (A + A^H) / 2 for A = raw[..., 0] + i raw[..., 1]: Hermitian by construction.

    raw has shape (n_qubits, 2, 2, 2) and is real, so that Module.to(dtype) keeps it intact.
    """
    a = torch.view_as_complex(raw)
    return (a + a.mH) * 0.5


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


def lightning_expvals(features: torch.Tensor, angles: torch.Tensor, observables: torch.Tensor,
                      shots: int | None, seed: int) -> torch.Tensor:
    """The circuit on pennylane-lightning's lightning.qubit, for evaluation: expectation
    values estimated from `shots` samples per execution (None: analytic), batched over the
    features (B, 2**n) -> (B, n). Not differentiable; same dtype and device as features."""
    n_qubits = observables.shape[0]
    wires = list(range(n_qubits))
    device = qml.device("lightning.qubit", wires=wires, seed=seed)
    angles_np = angles.detach().cpu().double().numpy()
    h = observables.detach().cpu().to(torch.complex128).numpy()

    @qml.set_shots(shots)
    @qml.qnode(device, interface=None, diff_method=None)
    def circuit(x):
        qml.AmplitudeEmbedding(x, wires=wires, normalize=True)
        qml.StronglyEntanglingLayers(angles_np, wires=wires)
        return [qml.expval(qml.Hermitian(h[q], wires=q)) for q in wires]

    values = circuit(features.detach().cpu().double().numpy())
    out = torch.stack([torch.as_tensor(v).reshape(-1) for v in values], dim=-1)
    return out.to(features.device, features.dtype)


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
def stacked_entangler_rows(n_qubits: int, n_layers: int,
                           device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """The CNOT rings as one permutation of the rows of the stacked layers (n_layers * 2**n
    rows): a single index op in the forward."""
    perms = entangler_permutations(n_qubits, n_layers, device)
    return (perms + torch.arange(n_layers, device=device)[:, None] * 2**n_qubits).flatten()


@functools.lru_cache(maxsize=None)
def qubit_major_order(n_qubits: int, device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """order[q] lists the basis states with qubit q as the most significant bit (the others
    keep their order), so that psi[..., order[q]] viewed as (2, 2**(n-1)) has qubit q first.
    Shape (n, 2**n); cached per device."""
    index = torch.arange(2**n_qubits).reshape([2] * n_qubits)
    return torch.stack([index.movedim(q, 0).reshape(-1) for q in range(n_qubits)]).to(device)


@functools.lru_cache(maxsize=None)
def rot_coefficients(device: torch.device,
                     dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Rot(phi, theta, omega) = [[e^{-ia} c, -e^{ib} s], [e^{-ib} s, e^{ia} c]] with
    a = (phi + omega)/2, b = (phi - omega)/2, c = cos(theta/2), s = sin(theta/2).
    Linear maps from (phi, theta, omega) to the four entries' phases and to the arguments
    of their magnitudes as cosines (-s = cos(theta/2 + pi/2), s = cos(theta/2 - pi/2))."""
    weight = torch.tensor([[-0.5, 0.5, -0.5, 0.5, 0.0, 0.0, 0.0, 0.0],
                           [0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5],
                           [-0.5, -0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0]], dtype=dtype)
    bias = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0], dtype=dtype)
    return weight.to(device), bias.to(device)  # cached per device and dtype


def rot_matrices(angles: torch.Tensor) -> torch.Tensor:
    """PennyLane's Rot matrices for angles (..., 3) -> (..., 2, 2), in five ops (the
    distillation differentiates through them twice per inner step, so ops count)."""
    weight, bias = rot_coefficients(angles.device, angles.dtype)
    linear = torch.addmm(bias, angles.reshape(-1, 3), weight)
    entries = torch.cos(linear[:, 4:]) * torch.exp(linear[:, :4] * 1j)
    return entries.reshape(*angles.shape[:-1], 2, 2)


def kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kronecker product of the trailing square matrices, batched over leading dims."""
    da, db = a.shape[-1], b.shape[-1]
    return (a[..., :, None, :, None] * b[..., None, :, None, :]).reshape(
        *a.shape[:-2], da * db, da * db)


def circuit_layers(angles: torch.Tensor, n_qubits: int) -> torch.Tensor:
    """The 2**n x 2**n unitaries of the entangling layers, (n_layers, 2**n, 2**n), wire 0 =
    most significant bit, built with few, batched ops (the distillation differentiates
    through them twice per inner step): the Rot matrices, their Kronecker product over
    qubits for all layers at once (neighbours paired first), the CNOT rings as row
    permutations."""
    n_layers = angles.shape[0]
    factors = rot_matrices(angles)  # (layers, qubits, 2, 2)
    while factors.shape[1] % 2 == 0:  # neighbours in pairs: fewer, larger products
        factors = kron(factors[:, 0::2], factors[:, 1::2])
    local = factors[:, 0]
    for q in range(1, factors.shape[1]):
        local = kron(local, factors[:, q])
    rows = stacked_entangler_rows(n_qubits, n_layers, local.device)
    return local.flatten(0, 1)[rows].unflatten(0, (n_layers, -1))


def circuit_unitary(angles: torch.Tensor, n_qubits: int) -> torch.Tensor:
    """The unitary of the entangling layers: equal to
    qml.matrix(StronglyEntanglingLayers(angles)) (wire 0 = most significant bit)."""
    layers = circuit_layers(angles, n_qubits)
    unitary = layers[0]
    for layer in layers[1:]:
        unitary = layer @ unitary
    return unitary


def reduced_density_matrices(psi: torch.Tensor) -> torch.Tensor:
    """rho_q = Tr_{not q} |psi><psi| for every qubit q of states psi (B, 2**n): (B, n, 2, 2)."""
    n_qubits = psi.shape[-1].bit_length() - 1
    by_qubit = psi[:, qubit_major_order(n_qubits, psi.device)].unflatten(-1, (2, -1))
    return torch.einsum("bqax,bqcx->bqac", by_qubit, by_qubit.conj())


def quadratic_forms(unitary: torch.Tensor, observables: torch.Tensor) -> torch.Tensor:
    """M_q = Re(U^H O_q U), O_q = H_q on qubit q, for every q: (n, 2**n, 2**n), real
    symmetric. With U's rows in qubit-major order (V_q), O_q is H_q on the leading axis."""
    n_qubits = observables.shape[0]
    by_qubit = unitary[qubit_major_order(n_qubits, unitary.device)].unflatten(1, (2, -1))
    return torch.einsum("qaxi,qac,qcxj->qij", by_qubit.conj(), observables, by_qubit).real


# Up to this batch size the states U x are cheaper to form than the quadratic forms M_q
# (B * 2**n versus n * 2**n * 2**n complex products); both orders give the same numbers.
# Measured crossover of a double-differentiated inner step on 2 CPU cores: about 130.
STATE_PATH_MAX_BATCH = 128


def fast_expvals(features: torch.Tensor, angles: torch.Tensor,
                 observables: torch.Tensor) -> torch.Tensor:
    """Same values as the PennyLane circuit, as batched matrix products. (B, n_qubits).

    With x the normalised features: small batches evaluate Tr(rho_q H_q) with the reduced
    density matrices of the states psi = U x; large ones the real quadratic forms
    x^T M_q x, M_q shared by the batch.
    """
    n_qubits = observables.shape[0]
    state = features / features.norm(dim=-1, keepdim=True)
    if len(state) <= STATE_PATH_MAX_BATCH:
        psi = state.to(observables.dtype)
        for layer in circuit_layers(angles, n_qubits):  # cheaper than forming U for few states
            psi = psi @ layer.transpose(0, 1)
        rho = reduced_density_matrices(psi)
        return torch.einsum("bqac,qca->bq", rho, observables).real.to(state.dtype)
    forms = quadratic_forms(circuit_unitary(angles, n_qubits), observables)
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
        self.shots: int | None = None  # for backend "lightning" (evaluation only)
        self.shot_seed = 0
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
        zero = features.detach().norm(dim=-1) == 0
        if bool(zero.any()):
            raise EmbeddingError(
                f"QuantumLayer: {int(zero.sum())} of {len(zero)} samples have all-zero features "
                "(the F2 output), which amplitude embedding cannot normalise into a state. "
                "Blank input images do this at the zero-bias initialisation.")
        observables = self.observable_matrices()
        if self.backend == "fast":
            return fast_expvals(features, self.angles, observables)
        if self.backend == "lightning":
            return lightning_expvals(features, self.angles, observables, self.shots,
                                     self.shot_seed)
        circuit = pennylane_qnode(self.n_qubits, self.observable)
        out = torch.stack(circuit(features, self.angles, observables), dim=-1)
        return out.to(features.dtype)
