"""The circuits of circuits.py as batched linear algebra: the path every run takes.

The state after embedding is a real unit vector x (up to fixed phases D for angle
embedding), so with U the (input-independent) unitary of the entangling layers and O_g the
observable on wires g,

    <O_g> = x^T Re(D^H U^H O_g U D) x = x^T M_g x,

a real quadratic form: all samples of a batch then share n 2**n x 2**n matrices and the
whole layer is a few batched matrix products. tests/test_quantum.py proves every path equal
to its PennyLane circuit, with first and second derivatives.
"""

from __future__ import annotations

import functools
import math

import torch

from .circuits import observable_groups, observable_wires

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
