"""The seven model ids build the architectures PAPER.md describes, from config."""

import pytest
import torch

from qdistill.config import dataset_spec, load_config, model_spec
from qdistill.models import LeNet, QuantumLeNet, make_network

CONFIG = load_config()
QUANTUM_IDS = [m for m in CONFIG["models"] if m != "classical"]
EXTENSION_IDS = CONFIG["extensions"]["models"]


def test_the_seven_model_ids():
    assert CONFIG["models"] == ["classical", "q-res-herm", "q-res-fixedherm", "q-res-pauliz",
                                "q-nores-herm", "q-nores-fixedherm", "q-nores-pauliz"]
    expected = {"q-res-herm": (True, "hermitian"), "q-res-fixedherm": (True, "hermitian-fixed"),
                "q-res-pauliz": (True, "pauliz"), "q-nores-herm": (False, "hermitian"),
                "q-nores-fixedherm": (False, "hermitian-fixed"),
                "q-nores-pauliz": (False, "pauliz")}
    for model_id, (residual, observable) in expected.items():
        spec = model_spec(CONFIG, model_id)
        assert (spec.kind, spec.residual, spec.observable) == ("quantum", residual, observable)
        assert (spec.n_qubits, spec.n_layers) == (6, 3)


# Forward shape and finiteness of every model variant on both datasets: one test,
# test_fault_numerics.py::test_fault_huge_pixel_values_give_finite_outputs.


def trainable(net):
    return {n: p.numel() for n, p in net.named_parameters()}


def test_quantum_lenet_parameters():
    ds = dataset_spec(CONFIG, "mnist")
    herm = make_network(model_spec(CONFIG, "q-res-herm"), ds, seed=0)
    params = trainable(herm)
    assert params["qnn.angles"] == 54
    assert params["qnn.observable_raw"] == 6 * 8  # a free complex 2x2 per qubit
    assert params["alpha"] == 1 and herm.alpha.item() == 0.5
    assert herm.fc2.out_features == 64 and herm.fc3.in_features == 6
    assert herm.fc_res.in_features == 64 and herm.fc_final.in_features == 10
    fixed = trainable(make_network(model_spec(CONFIG, "q-res-fixedherm"), ds, seed=0))
    assert "qnn.observable_raw" not in fixed and fixed["qnn.angles"] == 54
    nores = trainable(make_network(model_spec(CONFIG, "q-nores-pauliz"), ds, seed=0))
    assert "alpha" not in nores and not any(n.startswith("fc_res") for n in nores)


def test_classical_lenet_is_wangs():
    net = make_network(model_spec(CONFIG, "classical"), dataset_spec(CONFIG, "mnist"), seed=0)
    assert isinstance(net, LeNet)
    assert sum(trainable(net).values()) == 61_706  # LeNet-5 on 28 px with padding 2
    assert net.trunk.conv1.padding == (2, 2)
    cifar = make_network(model_spec(CONFIG, "classical"), dataset_spec(CONFIG, "cifar10"), 0)
    assert cifar.trunk.conv1.padding == (0, 0) and cifar.trunk.conv1.in_channels == 3


def test_fixed_initialisation_depends_only_on_seed():
    ds = dataset_spec(CONFIG, "cifar10")
    spec = model_spec(CONFIG, "q-res-fixedherm")
    a, b = make_network(spec, ds, seed=3), make_network(spec, ds, seed=3)
    torch.manual_seed(123)  # the global RNG must not matter
    c = make_network(spec, ds, seed=4)
    for (name, ta), tb, tc in zip(a.state_dict().items(), b.state_dict().values(),
                                  c.state_dict().values()):
        assert torch.equal(ta, tb), name
        if name.endswith("weight") or name.startswith("qnn."):
            assert not torch.equal(ta, tc), name
    assert all(m.bias.abs().max().item() == 0 for m in a.modules() if hasattr(m, "bias")
               and isinstance(m.bias, torch.Tensor))


def test_wrong_channel_count_is_a_clear_error():
    net = make_network(model_spec(CONFIG, "q-res-herm"), dataset_spec(CONFIG, "mnist"), 0)
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, 28, 28\), "
                                         r"got \(2, 3, 28, 28\)"):
        net(torch.randn(2, 3, 28, 28))


def test_backends_give_the_same_network_output():
    ds = dataset_spec(CONFIG, "mnist")
    spec = model_spec(CONFIG, "q-nores-herm")
    fast = make_network(spec, ds, 1, "fast", torch.float64)
    slow = make_network(spec, ds, 1, "pennylane", torch.float64)
    assert isinstance(slow, QuantumLeNet) and slow.qnn.backend == "pennylane"
    x = torch.randn(3, 1, 28, 28, dtype=torch.float64)
    torch.testing.assert_close(fast(x), slow(x), rtol=0, atol=1e-9)


def test_ablations_of_a_seed_share_their_starting_point():
    """Paired ablations: layers that two variants both have start equal, so a difference
    in results is the variant's, not the draw's."""
    ds = dataset_spec(CONFIG, "mnist")
    nets = {m: make_network(model_spec(CONFIG, m), ds, seed=5).state_dict()
            for m in ("classical", "q-res-herm", "q-res-pauliz", "q-nores-fixedherm")}
    for name in ("trunk.conv1.weight", "trunk.conv2.weight", "trunk.fc1.weight"):
        assert all(torch.equal(nets["classical"][name], sd[name]) for sd in nets.values())
    for name in ("fc2.weight", "fc3.weight", "fc_final.weight", "qnn.angles"):
        assert torch.equal(nets["q-res-herm"][name], nets["q-res-pauliz"][name]), name
        assert torch.equal(nets["q-res-herm"][name], nets["q-nores-fixedherm"][name]), name
    assert torch.equal(nets["q-res-herm"]["qnn.observable_raw"],
                       nets["q-nores-fixedherm"]["qnn.observable_raw"])


def test_named_random_streams_are_independent():
    from qdistill.rng import generator
    a = torch.randn(1000, generator=generator(0, "synthetic"))
    b = torch.randn(1000, generator=generator(0, "init/trunk.conv1"))
    assert torch.equal(a, torch.randn(1000, generator=generator(0, "synthetic")))
    assert abs(torch.corrcoef(torch.stack([a, b]))[0, 1]) < 0.15


def test_extension_architectures():
    """Each extension is q-res-herm with one change (config model_variants)."""
    from qdistill.models import quantum_parameter_counts
    ds = dataset_spec(CONFIG, "mnist")
    nets = {m: make_network(model_spec(CONFIG, m), ds, seed=0)
            for m in ["q-res-herm", *EXTENSION_IDS]}
    assert nets["q-res-herm-angle"].fc2.out_features == 6  # F2 reduced to 6 angles
    assert nets["q-res-herm-angle"].fc_res.in_features == 6
    assert nets["q-res-herm-pair"].qnn.observable_matrices().shape == (6, 4, 4)
    quanv = nets["q-res-herm-quanv"].trunk
    assert not hasattr(quanv, "conv1") and quanv.conv2.in_channels == 4
    counts = {m: quantum_parameter_counts(net, model_spec(CONFIG, m).frozen_circuit)
              for m, net in nets.items()}
    assert counts["q-res-herm"] == {"circuit_angles": 54, "observables": 24, "quanvolution": 0}
    assert counts["q-res-herm-pair"]["observables"] == 6 * 16  # a 4x4 Hermitian: 16 reals
    assert counts["q-res-herm-frozen"]["circuit_angles"] == 0
    cifar = make_network(model_spec(CONFIG, "q-res-herm-quanv"), dataset_spec(CONFIG, "cifar10"), 0)
    assert cifar.trunk.conv2.in_channels == 12 and cifar.trunk.fc1.in_features == 16 * 6 * 6


@pytest.mark.parametrize("model_id", EXTENSION_IDS)
def test_extension_backends_give_the_same_network_output(model_id):
    """The whole network on the PennyLane circuits (QNN and quanvolution) equals the fast
    path, for every extension."""
    ds = dataset_spec(CONFIG, "mnist")
    spec = model_spec(CONFIG, model_id)
    fast = make_network(spec, ds, 2, "fast", torch.float64)
    slow = make_network(spec, ds, 2, "pennylane", torch.float64)
    x = torch.randn(2, 1, 28, 28, dtype=torch.float64)
    torch.testing.assert_close(fast(x), slow(x), rtol=0, atol=1e-9)


def test_extensions_share_the_reference_starting_point():
    """Layers an extension has in common with q-res-herm start equal (paired comparison)."""
    ds = dataset_spec(CONFIG, "mnist")
    ref = make_network(model_spec(CONFIG, "q-res-herm"), ds, seed=3).state_dict()
    for model_id in EXTENSION_IDS:
        sd = make_network(model_spec(CONFIG, model_id), ds, seed=3).state_dict()
        shared = [n for n in sd if n in ref and sd[n].shape == ref[n].shape]
        assert "qnn.angles" in shared and "fc_final.weight" in shared
        for name in shared:
            assert torch.equal(sd[name], ref[name]), (model_id, name)


def test_trunk_pools_before_relu_with_the_same_numbers(mnist):
    """ReLU after the pooling gives bit for bit the values and gradients of LeNet's
    conv -> ReLU -> pool, first and second order, on real images (whose flat background
    makes ties in the pooling windows common)."""
    import torch.nn.functional as F
    from torch.func import functional_call

    from qdistill.config import DatasetSpec, ModelSpec
    from qdistill.data import normalize

    spec = DatasetSpec("mnist", 1, 28, 10, (0.1307,), (0.3081,), False)
    net = make_network(ModelSpec("classical", "classical"), spec, 0)
    x = normalize(mnist.train_images[:64], spec, torch.float32)
    params = {name: p.detach().requires_grad_() for name, p in net.named_parameters()}

    def reference(params, x):  # the textbook order
        out = F.max_pool2d(F.relu(F.conv2d(x, params["trunk.conv1.weight"],
                                           params["trunk.conv1.bias"], padding=2)), 2)
        out = F.max_pool2d(F.relu(F.conv2d(out, params["trunk.conv2.weight"],
                                           params["trunk.conv2.bias"])), 2)
        out = F.relu(F.linear(out.flatten(1), params["trunk.fc1.weight"],
                              params["trunk.fc1.bias"]))
        out = F.relu(F.linear(out, params["fc2.weight"], params["fc2.bias"]))
        return F.linear(out, params["fc3.weight"], params["fc3.bias"])

    results = []
    for forward in (reference, lambda p, x: functional_call(net, p, (x,))):
        logits = forward(params, x)
        loss = F.cross_entropy(logits, mnist.train_labels[:64])
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        hvp = torch.autograd.grad(sum((g * g).sum() for g in grads), list(params.values()))
        results.append([logits, *grads, *hvp])
    for ours, theirs in zip(*results):
        assert torch.equal(ours, theirs)
