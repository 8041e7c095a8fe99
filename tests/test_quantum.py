"""The fast QNN path equals the PennyLane circuit (its definition): outputs, first and
second derivatives, in float64, on random inputs and parameters, for every observable and
embedding (the paper's amplitude embedding, and the extensions' angle embedding and
two-qubit Hermitians)."""

import functools

import pennylane as qml
import pytest
import torch
from workflow_helpers import fresh_python

from qdistill.circuits import OBSERVABLES, TRAINABLE_OBSERVABLES
from qdistill.fast_circuits import (
    STATE_PATH_MAX_BATCH,
    entangler_permutations,
    entangler_ranges,
)
from qdistill.quantum import QuantumLayer, hermitian_from_raw

TOL = 1e-9

# (observable, embedding): every observable with the paper's amplitude embedding, and the
# extensions' angle embedding with a one- and a two-qubit observable.
CIRCUITS = [(o, "amplitude") for o in OBSERVABLES] + [("hermitian", "angle"),
                                                       ("hermitian-pair", "angle"),
                                                       ("pauliz", "angle")]


def random_pair(observable, seed, embedding="amplitude"):
    """A fast and a PennyLane layer with the same random float64 parameters."""
    fast = QuantumLayer(6, 3, observable, "fast", embedding).double()
    fast.reset_parameters(torch.Generator().manual_seed(seed),
                          torch.Generator().manual_seed(seed + 2))
    with torch.no_grad():  # angles over the whole circle, not only near 0
        fast.angles.uniform_(-3.2, 3.2, generator=torch.Generator().manual_seed(seed + 1))
    circuit = QuantumLayer(6, 3, observable, "pennylane", embedding).double()
    circuit.load_state_dict(fast.state_dict())
    return fast, circuit


def random_features(layer, batch):
    """Amplitude: any real vector; angle: angles over more than a full turn."""
    return torch.randn(batch, layer.n_features, dtype=torch.float64) * (
        1.0 if layer.embedding == "amplitude" else 3.0)


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
@pytest.mark.parametrize("observable,embedding", CIRCUITS)
def test_outputs_equal_circuit(observable, embedding, batch):
    fast, circuit = random_pair(observable, 0, embedding)
    features = random_features(fast, batch)
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
@pytest.mark.parametrize("observable,embedding", CIRCUITS)
def test_first_derivatives_equal(observable, embedding, batch):
    fast, circuit = random_pair(observable, 1, embedding)
    features = random_features(fast, batch)
    weights = torch.randn(batch, 6, dtype=torch.float64)  # a random cotangent
    grads = {}
    for name, layer in (("fast", fast), ("pennylane", circuit)):
        x, angles, raw = differentiable_inputs(layer, features)
        out = (run(layer, x, angles, raw) * weights).sum()
        inputs = [x, angles] + ([raw] if observable in TRAINABLE_OBSERVABLES else [])
        grads[name] = torch.autograd.grad(out, inputs)
    for g_fast, g_circ in zip(grads["fast"], grads["pennylane"]):
        assert g_circ.abs().max() > 1e-6  # a real, non-trivial derivative
        torch.testing.assert_close(g_fast, g_circ, rtol=0, atol=TOL)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("observable,embedding", CIRCUITS)
def test_second_derivatives_equal(observable, embedding, batch):
    """Hessian-vector products in every pair of (inputs, angles, observables): what the
    distillation's hypergradient differentiates."""
    fast, circuit = random_pair(observable, 2, embedding)
    features = random_features(fast, batch)
    weights = torch.randn(batch, 6, dtype=torch.float64)
    gen = torch.Generator().manual_seed(7)
    results = {}
    for name, layer in (("fast", fast), ("pennylane", circuit)):
        x, angles, raw = differentiable_inputs(layer, features)
        inputs = [x, angles] + ([raw] if observable in TRAINABLE_OBSERVABLES else [])
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


@pytest.mark.parametrize("dim", [2, 4])
def test_hermitian_by_construction(dim):
    raw = torch.randn(6, dim, dim, 2, dtype=torch.float64)
    h = hermitian_from_raw(raw)
    torch.testing.assert_close(h, h.conj().transpose(-1, -2), rtol=0, atol=0)
    assert torch.linalg.eigvals(h).imag.abs().max() < 1e-12


def test_pair_hermitians_stay_hermitian_after_training_steps():
    """Gradient steps change the raw entries; the observables stay Hermitian and 4x4."""
    layer = QuantumLayer(6, 3, "hermitian-pair").double()
    layer.reset_parameters(torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    for _ in range(3):
        optimizer.zero_grad()
        layer(torch.randn(8, 64, dtype=torch.float64)).pow(2).sum().backward()
        optimizer.step()
    h = layer.observable_matrices()
    assert h.shape == (6, 4, 4)
    torch.testing.assert_close(h, h.mH, rtol=0, atol=0)


def test_a_pair_hermitian_has_16_real_pauli_coefficients():
    """The 16 real degrees of freedom of a 4x4 Hermitian are its coefficients on the 16
    two-qubit Pauli products (open question 3's 4**n terms), all present for a random one;
    the layer stores 32 raw reals per pair, of which the Hermitian part keeps 16."""
    layer = QuantumLayer(6, 3, "hermitian-pair").double()
    layer.reset_parameters(torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))
    assert layer.observable_raw[0].numel() == 32
    h = layer.observable_matrices()[0].detach()
    decomposition = qml.pauli_decompose(h.numpy(), wire_order=[0, 1], pauli=True)
    assert len(decomposition) == 16
    assert all(abs(c.imag) < 1e-12 for c in decomposition.values())
    rebuilt = qml.matrix(decomposition.operation(), wire_order=[0, 1])
    torch.testing.assert_close(torch.as_tensor(rebuilt), h, rtol=0, atol=1e-12)


def test_pair_observables_sit_on_the_ring_of_neighbours():
    from qdistill.circuits import observable_wires
    assert observable_wires(6, "hermitian-pair") == ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5),
                                                     (5, 0))
    with pytest.raises(ValueError, match="at least 3 qubits"):
        QuantumLayer(2, 1, "hermitian-pair")


def test_pair_observable_of_a_product_is_its_single_qubit_parts():
    """Sanity check of the wire order: H = A (x) B on pair (q, q+1) of a product observable
    gives <A_q B_(q+1)>; with B = I that is the single-qubit <A_q>."""
    single = QuantumLayer(6, 2, "hermitian").double()
    single.reset_parameters(torch.Generator().manual_seed(3), torch.Generator().manual_seed(4))
    pair = QuantumLayer(6, 2, "hermitian-pair").double()
    with torch.no_grad():
        pair.angles.copy_(single.angles)
        h = single.observable_matrices()
        product = torch.stack([torch.kron(h[q], torch.eye(2, dtype=h.dtype)) for q in range(6)])
        pair.observable_raw.copy_(torch.view_as_real(product))
    features = torch.randn(5, 64, dtype=torch.float64)
    torch.testing.assert_close(pair(features), single(features), rtol=0, atol=1e-12)


def test_angle_embedding_needs_no_normalisation():
    """Zero features are a valid angle-embedded state (|0...0>), unlike amplitude embedding."""
    from qdistill.quantum import EmbeddingError
    layer = QuantumLayer(6, 3, "pauliz", embedding="angle").double()
    layer.reset_parameters(torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))
    assert layer.n_features == 6
    assert torch.isfinite(layer(torch.zeros(2, 6, dtype=torch.float64))).all()
    with pytest.raises(EmbeddingError):
        QuantumLayer(6, 3, "pauliz").double()(torch.zeros(2, 64, dtype=torch.float64))


def test_observable_kinds_are_parameters_or_fixed():
    for kind in TRAINABLE_OBSERVABLES:
        assert isinstance(QuantumLayer(6, 3, kind).observable_raw, torch.nn.Parameter)
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
    from qdistill.fast_circuits import circuit_unitary
    angles = torch.rand(3, 6, 3, dtype=torch.float64) * 6.3
    expected = qml.matrix(qml.StronglyEntanglingLayers(angles, wires=range(6)),
                          wire_order=range(6))
    torch.testing.assert_close(circuit_unitary(angles, 6), expected, rtol=0, atol=1e-12)


def embedded(h: torch.Tensor, q: int, n: int = 6) -> torch.Tensor:
    """h on qubit q of an n-qubit register, by explicit Kronecker products."""
    eye = functools.partial(torch.eye, dtype=h.dtype)
    return torch.kron(torch.kron(eye(2**q), h), eye(2 ** (n - 1 - q)))


def test_quadratic_forms_are_the_observables_in_the_heisenberg_picture():
    from qdistill.fast_circuits import circuit_unitary, quadratic_forms
    h = hermitian_from_raw(torch.randn(6, 2, 2, 2, dtype=torch.float64))
    u = circuit_unitary(torch.rand(3, 6, 3, dtype=torch.float64) * 6.3, 6)
    forms = quadratic_forms(u, h)
    for q in range(6):
        torch.testing.assert_close(forms[q], (u.conj().T @ embedded(h[q], q) @ u).real,
                                   rtol=0, atol=1e-12)


def test_reduced_density_matrices_equal_pennylane_partial_trace():
    from qdistill.fast_circuits import reduced_density_matrices
    psi = torch.randn(3, 64, dtype=torch.complex128)
    psi = psi / psi.norm(dim=-1, keepdim=True)
    rho = reduced_density_matrices(psi)
    for q in range(6):
        expected = qml.math.reduce_statevector(psi, indices=[q])
        torch.testing.assert_close(rho[:, q], expected, rtol=0, atol=1e-12)


def test_reduced_density_matrices_of_pairs_equal_pennylane_partial_trace():
    from qdistill.circuits import observable_wires
    from qdistill.fast_circuits import reduced_density_matrices
    psi = torch.randn(3, 64, dtype=torch.complex128)
    psi = psi / psi.norm(dim=-1, keepdim=True)
    pairs = observable_wires(6, "hermitian-pair")
    rho = reduced_density_matrices(psi, pairs)
    for i, pair in enumerate(pairs):
        expected = qml.math.reduce_statevector(psi, indices=list(pair))  # in pair order
        torch.testing.assert_close(rho[:, i], expected, rtol=0, atol=1e-12)


# The quanvolutional front end (extension): the fast path equals its PennyLane filter.

def quanvolution_pair(trainable, seed):
    from qdistill.quantum import QuanvolutionLayer
    fast = QuanvolutionLayer(2, trainable, "fast").double()
    fast.reset_parameters(torch.Generator().manual_seed(seed))
    circuit = QuanvolutionLayer(2, trainable, "pennylane").double()
    circuit.load_state_dict(fast.state_dict())
    return fast, circuit


def run_quanvolution(layer, images, angles):
    return torch.func.functional_call(layer, {"angles": angles}, (images,))


@pytest.mark.parametrize("trainable", [False, True])
def test_quanvolution_outputs_and_derivatives_equal_circuit(trainable):
    """Outputs, gradients and Hessian-vector products in (pixels, filter angles): the
    distillation differentiates the filter's output in the synthetic pixels twice."""
    fast, circuit = quanvolution_pair(trainable, 0)
    images = torch.randn(2, 3, 6, 8, dtype=torch.float64) * 2
    weights = torch.randn(2, 12, 3, 4, dtype=torch.float64)
    results = {}
    for name, layer in (("fast", fast), ("pennylane", circuit)):
        x = images.clone().requires_grad_()
        angles = layer.angles.detach().clone().requires_grad_()
        out = run_quanvolution(layer, x, angles)
        assert out.shape == (2, 12, 3, 4)
        first = torch.autograd.grad((out * weights).sum(), [x, angles], create_graph=True)
        vectors = [torch.randn(g.shape, generator=torch.Generator().manual_seed(5),
                               dtype=torch.float64) for g in first]
        second = torch.autograd.grad(sum((g * v).sum() for g, v in zip(first, vectors)),
                                     [x, angles])
        results[name] = [out, *first, *second]
    for fast_value, circuit_value in zip(results["fast"], results["pennylane"]):
        assert circuit_value.abs().max() > 1e-6
        torch.testing.assert_close(fast_value, circuit_value, rtol=0, atol=TOL)


def test_quanvolution_channels_are_the_patch_expvals():
    """Channel c*4 + q at (i, j) is <Z_q> of the patch rows 2i..2i+1, columns 2j..2j+1 of
    channel c, pixels row-major on qubits 0..3."""
    from qdistill.circuits import quanvolution_qnode
    fast, _ = quanvolution_pair(False, 1)
    images = torch.randn(1, 3, 4, 6, dtype=torch.float64)
    patch = images[0, 2, 2:4, 4:6].reshape(4)
    expected = torch.stack(quanvolution_qnode(2)(patch, fast.angles), -1)
    torch.testing.assert_close(fast(images)[0, 8:12, 1, 2], expected, rtol=0, atol=TOL)


def test_fixed_quanvolution_caches_its_forms_until_the_angles_change():
    fast, _ = quanvolution_pair(False, 2)
    first = fast.forms(fast.angles)
    assert fast.forms(fast.angles) is first  # cached
    fast.load_state_dict({"angles": fast.angles + 0.1})  # in place: a new version
    second = fast.forms(fast.angles)
    assert second is not first and not torch.equal(second, first)
    fast.float()
    assert fast.forms(fast.angles).dtype == torch.float32
    trainable, _ = quanvolution_pair(True, 2)
    assert trainable.forms(trainable.angles) is not trainable.forms(trainable.angles)


@pytest.mark.parametrize("n_qubits, n_layers", [(2, 2), (3, 4), (4, 3), (6, 3), (6, 7)])
def test_entangler_permutations_are_pennylanes_cnot_rings(n_qubits, n_layers):
    """The CNOT ring of every layer, computed without PennyLane, is the permutation matrix
    PennyLane builds for StronglyEntanglingLayers with its default ranges."""
    wires = list(range(n_qubits))
    template = qml.StronglyEntanglingLayers(torch.zeros(n_layers, n_qubits, 3), wires=wires)
    assert list(template.hyperparameters["ranges"]) == entangler_ranges(n_qubits, n_layers)
    perms = entangler_permutations(n_qubits, n_layers)
    for layer, r in enumerate(template.hyperparameters["ranges"]):
        ring = qml.matrix(qml.StronglyEntanglingLayers(torch.zeros(1, n_qubits, 3), wires=wires,
                                                       ranges=[r]), wire_order=wires).real
        assert torch.equal(ring, torch.eye(2**n_qubits, dtype=ring.dtype)[perms[layer]])


def test_the_fast_path_needs_no_pennylane():
    """Jobs on the fast path never import PennyLane (about 3.5 CPU-seconds each)."""
    code = ("import sys, torch\n"
            "from qdistill.quantum import QuantumLayer\n"
            "layer = QuantumLayer(6, 3, 'hermitian')\n"
            "layer.reset_parameters(torch.Generator().manual_seed(0), "
            "torch.Generator().manual_seed(1))\n"
            "layer(torch.rand(4, 64))\n"
            "print('pennylane' in sys.modules)")
    assert fresh_python(code) == "False"
