"""The circuits of the quantum LeNet: their PennyLane definitions and fast, equal paths.

The QNN (PAPER.md): amplitude embedding of 2**n features on n qubits (normalised),
StronglyEntanglingLayers, then one expectation value per qubit of a 2x2 observable.
Extensions: angle embedding (n features, one RX each), 4x4 Hermitian observables
on the n neighbouring pairs (q, q+1 mod n), and a quanvolutional layer for the front end.

The fast path uses that the state after embedding is a real unit vector x (up to fixed
phases D for angle embedding), so with U the (input-independent) unitary of the
entangling layers and O_g the observable on wires g,

    <O_g> = x^T Re(D^H U^H O_g U D) x = x^T M_g x,

a real quadratic form: all samples of a batch then share n 2**n x 2**n matrices and the
whole layer is a few batched matrix products. tests/test_quantum.py proves every path equal
to its PennyLane circuit, with first and second derivatives.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

OBSERVABLES = ("pauliz", "hermitian-fixed", "hermitian", "hermitian-pair")
TRAINABLE_OBSERVABLES = ("hermitian", "hermitian-pair")
EMBEDDINGS = ("amplitude", "angle")


class EmbeddingError(ValueError):
    """Features that amplitude embedding cannot normalise: an all-zero vector. (Non-finite
    features give NaN outputs, which the distillation reports as divergence.)"""

BACKENDS = ("fast", "pennylane", "lightning")  # lightning: evaluation with shots only

PAULI_Z = ((1.0, 0.0), (0.0, -1.0))


def hermitian_from_raw(raw: torch.Tensor) -> torch.Tensor:
    """H = (A + A^H) / 2 for A = raw[..., 0] + i raw[..., 1]: Hermitian by construction.

    raw has shape (n_observables, d, d, 2) and is real, so that Module.to(dtype) keeps it
    intact. A d x d Hermitian has d**2 real degrees of freedom (of the 2 d**2 in raw).
    """
    a = torch.view_as_complex(raw)
    return (a + a.mH) * 0.5


def observable_wires(n_qubits: int, observable: str) -> tuple[tuple[int, ...], ...]:
    """The wires of each observable: every qubit, or every neighbouring pair of the ring."""
    if observable == "hermitian-pair":
        return tuple((q, (q + 1) % n_qubits) for q in range(n_qubits))
    return tuple((q,) for q in range(n_qubits))


def observable_groups(observables: torch.Tensor) -> tuple[tuple[int, ...], ...]:
    """The wires of each of n observables (n, d, d): one qubit each (d = 2) or the ring of
    neighbouring pairs (d = 4)."""
    return observable_wires(observables.shape[0],
                            "hermitian-pair" if observables.shape[-1] == 4 else "hermitian")


# PennyLane is imported where a circuit is defined, not at the top: the fast path needs
# none of it, and the import costs about 3.5 CPU-seconds in every job.
def embed(features, wires: list[int], embedding: str) -> None:
    """The embedding of the features, as PennyLane operations (inside a circuit)."""
    import pennylane as qml

    if embedding == "amplitude":
        qml.AmplitudeEmbedding(features, wires=wires, normalize=True)
    else:
        qml.AngleEmbedding(features, wires=wires, rotation="X")


@functools.lru_cache(maxsize=None)
def pennylane_qnode(n_qubits: int, observable: str, embedding: str = "amplitude"):
    """The QNN's definition: a QNode(features, angles, observables) -> list of n_qubits expvals."""
    import pennylane as qml

    wires = list(range(n_qubits))
    device = qml.device("default.qubit", wires=wires)

    @qml.qnode(device, interface="torch", diff_method="backprop")
    def circuit(features, angles, observables):
        embed(features, wires, embedding)
        qml.StronglyEntanglingLayers(angles, wires=wires)
        if observable == "pauliz":
            return [qml.expval(qml.PauliZ(q)) for q in wires]
        return [qml.expval(qml.Hermitian(observables[i], wires=list(group)))
                for i, group in enumerate(observable_wires(n_qubits, observable))]

    return circuit


def lightning_expvals(features: torch.Tensor, angles: torch.Tensor, observables: torch.Tensor,
                      shots: int | None, seed: int, embedding: str = "amplitude") -> torch.Tensor:
    """The circuit on pennylane-lightning's lightning.qubit, for evaluation: expectation
    values estimated from `shots` samples per execution (None: analytic), batched over the
    features (B, n_features) -> (B, n). Not differentiable; same dtype and device as
    features."""
    import pennylane as qml

    n_qubits, groups = angles.shape[1], observable_groups(observables)
    wires = list(range(n_qubits))
    device = qml.device("lightning.qubit", wires=wires, seed=seed)
    angles_np = angles.detach().cpu().double().numpy()
    h = observables.detach().cpu().to(torch.complex128).numpy()

    @qml.set_shots(shots)
    @qml.qnode(device, interface=None, diff_method=None)
    def circuit(x):
        embed(x, wires, embedding)
        qml.StronglyEntanglingLayers(angles_np, wires=wires)
        return [qml.expval(qml.Hermitian(h[i], wires=list(g))) for i, g in enumerate(groups)]

    values = circuit(features.detach().cpu().double().numpy())
    out = torch.stack([torch.as_tensor(v).reshape(-1) for v in values], dim=-1)
    return out.to(features.device, features.dtype)


def entangler_ranges(n_qubits: int, n_layers: int) -> list[int]:
    """StronglyEntanglingLayers' default ranges: layer l puts CNOT(i, i + r_l mod n) on
    every qubit i in turn, with r_l = l mod (n - 1) + 1 (no CNOTs on a single qubit)."""
    return [l % (n_qubits - 1) + 1 if n_qubits > 1 else 0 for l in range(n_layers)]


@functools.lru_cache(maxsize=None)
def entangler_permutations(n_qubits: int, n_layers: int,
                           device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """The fixed CNOT ring of each layer as a permutation matrix P_l, returned as row
    indices: P_l @ A == A[perm[l]]. A basis state k (wire 0 = most significant bit) comes
    from the state the ring maps to it: the CNOTs undone in reverse order. Equal to
    PennyLane's qml.matrix of the ring (tests/test_quantum.py). Shape (n_layers, 2**n)."""
    bit = [n_qubits - 1 - wire for wire in range(n_qubits)]
    perms = []
    for r in entangler_ranges(n_qubits, n_layers):
        k = torch.arange(2**n_qubits)
        for control in reversed(range(n_qubits) if r else []):
            target = (control + r) % n_qubits
            k = k ^ (((k >> bit[control]) & 1) << bit[target])
        perms.append(k)
    return torch.stack(perms).to(device)  # cached per device: no copy in the forward


@functools.lru_cache(maxsize=None)
def stacked_entangler_rows(n_qubits: int, n_layers: int,
                           device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """The CNOT rings as one permutation of the rows of the stacked layers (n_layers * 2**n
    rows): a single index op in the forward."""
    perms = entangler_permutations(n_qubits, n_layers, device)
    return (perms + torch.arange(n_layers, device=device)[:, None] * 2**n_qubits).flatten()


@functools.lru_cache(maxsize=None)
def wire_major_order(n_qubits: int, groups: tuple[tuple[int, ...], ...],
                     device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """order[g] lists the basis states with the wires of group g as the most significant
    bits, in the group's order (the others keep theirs), so that psi[..., order[g]] viewed
    as (2**k, 2**(n-k)) has the group first. Shape (len(groups), 2**n); cached per device."""
    index = torch.arange(2**n_qubits).reshape([2] * n_qubits)
    return torch.stack([index.movedim(g, tuple(range(len(g)))).reshape(-1)
                        for g in groups]).to(device)


def product_state(cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """The real product state (cos_0, sin_0) x ... x (cos_{n-1}, sin_{n-1}) of (..., n)
    half-angle cosines and sines: (..., 2**n), wire 0 = most significant bit."""
    state = torch.stack([cos[..., 0], sin[..., 0]], dim=-1)
    for q in range(1, cos.shape[-1]):
        factor = torch.stack([cos[..., q], sin[..., q]], dim=-1)
        state = (state[..., :, None] * factor[..., None, :]).flatten(-2)
    return state


@functools.lru_cache(maxsize=None)
def rx_phases(n_qubits: int, device: torch.device = torch.device("cpu")) -> torch.Tensor:
    """RX(x)|0> = (cos(x/2), -i sin(x/2)): the angle-embedded state is the real product state
    times (-i)**(number of ones in the basis state), a fixed diagonal D. (2**n,) complex128."""
    ones = torch.tensor([bin(i).count("1") for i in range(2**n_qubits)])
    return torch.tensor([1, -1j, -1, 1j], dtype=torch.complex128)[ones % 4].to(device)


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


def single_qubits(n_qubits: int) -> tuple[tuple[int, ...], ...]:
    return observable_wires(n_qubits, "hermitian")


def reduced_density_matrices(psi: torch.Tensor, groups: tuple[tuple[int, ...], ...] | None = None
                             ) -> torch.Tensor:
    """rho_g = Tr_{not g} |psi><psi| for every group of wires g (default: every qubit) of
    states psi (B, 2**n): (B, len(groups), 2**k, 2**k)."""
    n_qubits = psi.shape[-1].bit_length() - 1
    groups = groups or single_qubits(n_qubits)
    order = wire_major_order(n_qubits, groups, psi.device)
    by_group = psi[:, order].unflatten(-1, (2 ** len(groups[0]), -1))
    return torch.einsum("bgax,bgcx->bgac", by_group, by_group.conj())


def quadratic_forms(unitary: torch.Tensor, observables: torch.Tensor,
                    groups: tuple[tuple[int, ...], ...] | None = None) -> torch.Tensor:
    """M_g = Re(U^H O_g U), O_g = H_g on the wires of group g (default: every qubit):
    (len(groups), 2**n, 2**n), real symmetric. With U's rows in wire-major order, O_g is
    H_g on the leading axis."""
    n_qubits = unitary.shape[-1].bit_length() - 1
    groups = groups or single_qubits(n_qubits)
    order = wire_major_order(n_qubits, groups, unitary.device)
    by_group = unitary[order].unflatten(1, (2 ** len(groups[0]), -1))
    return torch.einsum("gaxi,gac,gcxj->gij", by_group.conj(), observables, by_group).real


# Up to this batch size the states U x are cheaper to form than the quadratic forms M_q
# (B * 2**n versus n * 2**n * 2**n complex products); both orders give the same numbers.
# Measured crossover of a double-differentiated inner step on 2 CPU cores: about 130.
STATE_PATH_MAX_BATCH = 128


def embedded_state(features: torch.Tensor, embedding: str) -> tuple[torch.Tensor, bool]:
    """The embedded state as a real unit vector x (B, 2**n), and whether the fixed RX phases
    D (rx_phases) multiply it: amplitude embedding normalises the features; angle embedding
    is the product of (cos(x_q/2), sin(x_q/2)) over qubits, times D."""
    if embedding == "amplitude":
        return features / features.norm(dim=-1, keepdim=True), False
    half = features * 0.5
    return product_state(torch.cos(half), torch.sin(half)), True


def fast_expvals(features: torch.Tensor, angles: torch.Tensor, observables: torch.Tensor,
                 embedding: str = "amplitude") -> torch.Tensor:
    """Same values as the PennyLane circuit, as batched matrix products. (B, n_observables).

    With x the embedded real state: small batches evaluate Tr(rho_g H_g) with the reduced
    density matrices of the states psi = U D x; large ones the real quadratic forms
    x^T M_g x, M_g shared by the batch.
    """
    n_qubits, groups = angles.shape[1], observable_groups(observables)
    state, phased = embedded_state(features, embedding)
    phases = rx_phases(n_qubits, state.device).to(observables.dtype) if phased else None
    if len(state) <= STATE_PATH_MAX_BATCH:
        psi = state.to(observables.dtype)
        if phased:
            psi = psi * phases
        for layer in circuit_layers(angles, n_qubits):  # cheaper than forming U for few states
            psi = psi @ layer.transpose(0, 1)
        rho = reduced_density_matrices(psi, groups)
        return torch.einsum("bgac,gca->bg", rho, observables).real.to(state.dtype)
    unitary = circuit_unitary(angles, n_qubits)
    if phased:
        unitary = unitary * phases  # U D: D scales the columns
    forms = quadratic_forms(unitary, observables, groups)
    return torch.einsum("bi,gij,bj->bg", state, forms.to(state.dtype), state)


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


QUANV_QUBITS = 4  # one per pixel of a 2x2 patch


@functools.lru_cache(maxsize=None)
def quanvolution_qnode(n_layers: int):
    """The quanvolutional filter's definition: QNode(patches (..., 4), angles) -> 4 <Z>:
    each pixel an RY angle on its qubit (row-major in the patch), StronglyEntanglingLayers,
    Pauli-Z on every qubit. Broadcast over the patches."""
    import pennylane as qml

    wires = list(range(QUANV_QUBITS))
    device = qml.device("default.qubit", wires=wires)

    @qml.qnode(device, interface="torch", diff_method="backprop")
    def circuit(patches, angles):
        for q in wires:
            qml.RY(patches[..., q], wires=q)
        qml.StronglyEntanglingLayers(angles, wires=wires)
        return [qml.expval(qml.PauliZ(q)) for q in wires]

    return circuit


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
