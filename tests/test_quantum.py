"""The fast QNN path equals the PennyLane circuit (its definition): outputs, first and
second derivatives, in float64, on random inputs and parameters, for every observable."""

import functools

import pennylane as qml
import pytest
import torch

from qdistill.quantum import OBSERVABLES, STATE_PATH_MAX_BATCH, QuantumLayer, hermitian_from_raw

TOL = 1e-9


def random_pair(observable, seed):
    """A fast and a PennyLane layer with the same random float64 parameters."""
    fast = QuantumLayer(6, 3, observable, "fast").double()
    fast.reset_parameters(torch.Generator().manual_seed(seed),
                          torch.Generator().manual_seed(seed + 2))
    with torch.no_grad():  # angles over the whole circle, not only near 0
        fast.angles.uniform_(-3.2, 3.2, generator=torch.Generator().manual_seed(seed + 1))
    circuit = QuantumLayer(6, 3, observable, "pennylane").double()
    circuit.load_state_dict(fast.state_dict())
    return fast, circuit


def differentiable_inputs(layer, features):
    """features, angles, observable_raw as leaves that require grad."""
    raw = layer.observable_raw.detach().clone().requires_grad_()
    angles = layer.angles.detach().clone().requires_grad_()
    return features.clone().requires_grad_(), angles, raw


def run(layer, features, angles, raw):
    return torch.func.functional_call(layer, {"angles": angles, "observable_raw": raw},
                                      (features,))


# The fast path contracts small batches through the states U x and large ones through the
# quadratic forms M_q (STATE_PATH_MAX_BATCH): every test covers both.
BATCHES = [STATE_PATH_MAX_BATCH // 8, STATE_PATH_MAX_BATCH + 16]


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("observable", OBSERVABLES)
def test_outputs_equal_circuit(observable, batch):
    fast, circuit = random_pair(observable, 0)
    features = torch.randn(batch, 64, dtype=torch.float64)
    expected = circuit(features)
    assert expected.shape == (batch, 6)
    torch.testing.assert_close(fast(features), expected, rtol=0, atol=TOL)


def test_pauliz_matches_pennylane_pauliz_directly():
    """The Pauli-Z variant is exactly <Z_q> of the embedded, entangled state."""
    fast, _ = random_pair("pauliz", 3)
    features = torch.randn(4, 64, dtype=torch.float64)
    dev = qml.device("default.qubit", wires=6)

    @qml.qnode(dev, interface="torch")
    def reference(x, w):
        qml.AmplitudeEmbedding(x, wires=range(6), normalize=True)
        qml.StronglyEntanglingLayers(w, wires=range(6))
        return [qml.expval(qml.PauliZ(q)) for q in range(6)]

    expected = torch.stack(reference(features, fast.angles.detach()), -1)
    torch.testing.assert_close(fast(features), expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("observable", OBSERVABLES)
def test_first_derivatives_equal(observable, batch):
    fast, circuit = random_pair(observable, 1)
    features = torch.randn(batch, 64, dtype=torch.float64)
    weights = torch.randn(batch, 6, dtype=torch.float64)  # a random cotangent
    grads = {}
    for name, layer in (("fast", fast), ("pennylane", circuit)):
        x, angles, raw = differentiable_inputs(layer, features)
        out = (run(layer, x, angles, raw) * weights).sum()
        inputs = [x, angles] + ([raw] if observable == "hermitian" else [])
        grads[name] = torch.autograd.grad(out, inputs)
    for g_fast, g_circ in zip(grads["fast"], grads["pennylane"]):
        assert g_circ.abs().max() > 1e-6  # a real, non-trivial derivative
        torch.testing.assert_close(g_fast, g_circ, rtol=0, atol=TOL)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("observable", OBSERVABLES)
def test_second_derivatives_equal(observable, batch):
    """Hessian-vector products in every pair of (inputs, angles, observables): what the
    distillation's hypergradient differentiates."""
    fast, circuit = random_pair(observable, 2)
    features = torch.randn(batch, 64, dtype=torch.float64)
    weights = torch.randn(batch, 6, dtype=torch.float64)
    gen = torch.Generator().manual_seed(7)
    results = {}
    for name, layer in (("fast", fast), ("pennylane", circuit)):
        x, angles, raw = differentiable_inputs(layer, features)
        inputs = [x, angles] + ([raw] if observable == "hermitian" else [])
        out = (run(layer, x, angles, raw) * weights).sum()
        first = torch.autograd.grad(out, inputs, create_graph=True)
        gen.manual_seed(7)
        vectors = [torch.randn(g.shape, generator=gen, dtype=torch.float64) for g in first]
        inner = sum((g * v).sum() for g, v in zip(first, vectors))
        results[name] = torch.autograd.grad(inner, inputs)
    for h_fast, h_circ in zip(results["fast"], results["pennylane"]):
        assert h_circ.abs().max() > 1e-6
        torch.testing.assert_close(h_fast, h_circ, rtol=0, atol=TOL)


def test_full_hessian_in_angles_equal():
    fast, circuit = random_pair("hermitian", 4)
    features = torch.randn(3, 64, dtype=torch.float64)

    def loss(layer):
        return lambda a: torch.func.functional_call(layer, {"angles": a}, (features,)).pow(2).sum()

    angles = fast.angles.detach()
    h_fast = torch.autograd.functional.hessian(loss(fast), angles)
    h_circ = torch.autograd.functional.hessian(loss(circuit), angles)
    assert h_fast.shape == (3, 6, 3, 3, 6, 3)
    torch.testing.assert_close(h_fast, h_circ, rtol=0, atol=TOL)


def test_hermitian_by_construction():
    raw = torch.randn(6, 2, 2, 2, dtype=torch.float64)
    h = hermitian_from_raw(raw)
    torch.testing.assert_close(h, h.conj().transpose(-1, -2), rtol=0, atol=0)
    assert torch.linalg.eigvals(h).imag.abs().max() < 1e-12


def test_observable_kinds_are_parameters_or_fixed():
    assert isinstance(QuantumLayer(6, 3, "hermitian").observable_raw, torch.nn.Parameter)
    for kind in ("hermitian-fixed", "pauliz"):
        layer = QuantumLayer(6, 3, kind)
        assert not isinstance(layer.observable_raw, torch.nn.Parameter)
        assert "observable_raw" in dict(layer.named_buffers())
    z = QuantumLayer(6, 3, "pauliz").observable_matrices()
    torch.testing.assert_close(z[2], torch.tensor([[1, 0], [0, -1]], dtype=z.dtype))


def test_angle_count_and_wrong_width():
    layer = QuantumLayer(6, 3, "pauliz")
    assert layer.angles.numel() == 54
    with pytest.raises(ValueError, match="needs 64 features, got 10"):
        layer(torch.randn(2, 10))


def test_circuit_unitary_equals_pennylane_matrix():
    from qdistill.quantum import circuit_unitary
    angles = torch.rand(3, 6, 3, dtype=torch.float64) * 6.3
    expected = qml.matrix(qml.StronglyEntanglingLayers(angles, wires=range(6)),
                          wire_order=range(6))
    torch.testing.assert_close(circuit_unitary(angles, 6), expected, rtol=0, atol=1e-12)


def embedded(h: torch.Tensor, q: int, n: int = 6) -> torch.Tensor:
    """h on qubit q of an n-qubit register, by explicit Kronecker products."""
    eye = functools.partial(torch.eye, dtype=h.dtype)
    return torch.kron(torch.kron(eye(2**q), h), eye(2 ** (n - 1 - q)))


def test_quadratic_forms_are_the_observables_in_the_heisenberg_picture():
    from qdistill.quantum import circuit_unitary, quadratic_forms
    h = hermitian_from_raw(torch.randn(6, 2, 2, 2, dtype=torch.float64))
    u = circuit_unitary(torch.rand(3, 6, 3, dtype=torch.float64) * 6.3, 6)
    forms = quadratic_forms(u, h)
    for q in range(6):
        torch.testing.assert_close(forms[q], (u.conj().T @ embedded(h[q], q) @ u).real,
                                   rtol=0, atol=1e-12)


def test_reduced_density_matrices_equal_pennylane_partial_trace():
    from qdistill.quantum import reduced_density_matrices
    psi = torch.randn(3, 64, dtype=torch.complex128)
    psi = psi / psi.norm(dim=-1, keepdim=True)
    rho = reduced_density_matrices(psi)
    for q in range(6):
        expected = qml.math.reduce_statevector(psi, indices=[q])
        torch.testing.assert_close(rho[:, q], expected, rtol=0, atol=1e-12)
