"""Shot-noise evaluation on pennylane-lightning: analytic lightning.qubit equals the fast
path; finite shots are reproducible per seed and scatter around the analytic values."""

import pytest
import torch
from torch.func import functional_call

from qdistill import shots
from qdistill.artifacts import load_distilled
from qdistill.config import run_settings
from qdistill.circuits import OBSERVABLES, lightning_expvals
from qdistill.data import normalize
from qdistill.evaluate import network, on_device, trained_parameters
from qdistill.quantum import QuantumLayer
from qdistill.runs import distill_run
from qdistill.shots import evaluate_shots


def layer_and_inputs(observable, embedding="amplitude"):
    layer = QuantumLayer(6, 3, observable, embedding=embedding).double()
    layer.reset_parameters(torch.Generator().manual_seed(3), torch.Generator().manual_seed(4))
    x = torch.randn(12, layer.n_features, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(5))
    return layer, x


@pytest.mark.parametrize("observable,embedding", [(o, "amplitude") for o in OBSERVABLES]
                         + [("hermitian", "angle"), ("hermitian-pair", "angle")])
def test_analytic_lightning_equals_the_fast_path(observable, embedding):
    layer, x = layer_and_inputs(observable, embedding)
    with torch.no_grad():
        fast = layer(x)
        analytic = lightning_expvals(x, layer.angles, layer.observable_matrices(), None, 0,
                                     embedding)  # the wire groups follow from the matrices
        assert torch.equal(layer.on_lightning(None, 0)(x), analytic)
        assert layer.backend == "fast"  # a new layer, this one unchanged
    torch.testing.assert_close(analytic, fast, rtol=0, atol=1e-12)


def test_finite_shots_are_reproducible_and_close_to_analytic():
    layer, x = layer_and_inputs("hermitian")
    h, angles = layer.observable_matrices().detach(), layer.angles.detach()
    exact = lightning_expvals(x, angles, h, None, 0)
    first = lightning_expvals(x, angles, h, 4000, seed=11)
    assert torch.equal(first, lightning_expvals(x, angles, h, 4000, seed=11))
    assert not torch.equal(first, lightning_expvals(x, angles, h, 4000, seed=12))
    # |eigenvalues| of these observables are below 3: the std of a 4000-shot mean < 0.05
    assert (first - exact).abs().max() < 0.25 and (first - exact).abs().mean() < 0.05


def test_a_layer_measured_with_shots_is_built_so():
    layer, x = layer_and_inputs("hermitian")
    measured = layer.on_lightning(4000, 11)
    with torch.no_grad():
        assert torch.equal(measured(x), lightning_expvals(
            x, layer.angles, layer.observable_matrices(), 4000, seed=11))
    with pytest.raises(ValueError, match="shots are measured on lightning.qubit only"):
        QuantumLayer(6, 3, "hermitian", "fast", shots=100)


def test_evaluate_shots_reproduces_the_fast_path_analytically(smoke_config, mnist, mirror,
                                                              data_root, tmp_path):
    settings = run_settings(smoke_config, "mnist", "q-res-herm", 0)
    distilled = load_distilled(distill_run(settings, tmp_path, data_root, mirror, progress=False))
    result = evaluate_shots(distilled, mnist, [100, 10000], 60, "cpu")
    assert result["n_test_images"] == 60
    assert [r["shots"] for r in result["results"]] == [None, 100, 10000]
    # The fast path's accuracy, computed here: the trained network (fast backend) in float64
    # on the same 60 test images. Analytic lightning.qubit must score exactly the same.
    run, _ = on_device(distilled, mnist, "cpu")
    net, theta0, constants = network(run, settings.seed, backend="fast")
    trained = trained_parameters(net, theta0, constants, run.images, run.labels, run.lrs,
                                 settings.distill.distill_epochs)
    idx = shots.test_subset(mnist, 60)  # (imported by module: pytest would collect test_*)
    images = normalize(mnist.test_images[idx], settings.dataset, torch.float64)
    with torch.no_grad():
        logits = functional_call(net.double(), {k: v.double() for k, v in trained.items()},
                                 (images,))
    fast_acc = 100.0 * (logits.argmax(1) == mnist.test_labels[idx]).sum().item() / 60
    analytic = result["results"][0]["test_acc"]
    assert analytic == fast_acc and result["fast_acc"] == fast_acc
    assert result["analytic_equals_fast"] is True  # the report's flag says what was measured
    assert all(0 <= r["test_acc"] <= 100 for r in result["results"])
