"""The circuits of the quantum LeNet as PennyLane defines them: what a reader opens first.

The QNN (PAPER.md): amplitude embedding of 2**n features on n qubits (normalised),
StronglyEntanglingLayers, then one expectation value per qubit of a 2x2 observable.
Extensions: angle embedding (n features, one RX each), 4x4 Hermitian observables on the n
neighbouring pairs (q, q+1 mod n), and a quanvolutional filter for the front end.

fast_circuits.py computes the same values without PennyLane (proven equal, with first and
second derivatives, by tests/test_quantum.py); quantum.py holds the layers built on both.
"""

from __future__ import annotations

import functools

import torch

OBSERVABLES = ("pauliz", "hermitian-fixed", "hermitian", "hermitian-pair")
TRAINABLE_OBSERVABLES = ("hermitian", "hermitian-pair")
EMBEDDINGS = ("amplitude", "angle")
PAULI_Z = ((1.0, 0.0), (0.0, -1.0))
QUANV_QUBITS = 4  # one per pixel of a 2x2 patch


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
