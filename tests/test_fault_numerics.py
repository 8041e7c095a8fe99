"""Faults: extreme inputs through every model, Hermitian observables after training, and
learning rates that cannot reach zero. (Overflowing values inside a run end as NaN and are
reported as divergence: test_fault_divergence.py.)"""

import pytest
import torch
import torch.nn.functional as F

from qdistill.config import dataset_spec, load_config, model_spec
from qdistill.training import split_parameters, step_sizes, train_steps
from qdistill.models import make_network
from qdistill.quantum import EmbeddingError

CONFIG = load_config()
MODELS = list(CONFIG["model_variants"])
# Blank images reach amplitude embedding as zero features only through the convolutional
# trunk; angle embedding takes zero angles, and the quanvolution's outputs are not zero.
BLANK_FAILS = [m for m, v in CONFIG["model_variants"].items() if v["kind"] == "quantum"
               and v.get("embedding", "amplitude") == "amplitude"
               and v.get("front_end", "convolution") == "convolution"]


def network(model_id, dataset="mnist", backend="fast", dtype=torch.float32):
    return make_network(model_spec(CONFIG, model_id), dataset_spec(CONFIG, dataset), 0,
                        backend, dtype)


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
@pytest.mark.parametrize("model_id", MODELS)
def test_fault_huge_pixel_values_give_finite_outputs(model_id, dataset):
    """A million times the largest normalised pixel: every model still gives finite logits
    (amplitude embedding normalises the scale away; the classical head stays in range).
    The one forward shape-and-finiteness test of every model variant (test_models.py has
    none)."""
    spec = dataset_spec(CONFIG, dataset)
    images = 1e6 * torch.rand(4, spec.channels, spec.image_size, spec.image_size,
                              generator=torch.Generator().manual_seed(0))
    out = network(model_id, dataset)(images)
    assert out.shape == (4, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("backend", ["fast", "pennylane"])
@pytest.mark.parametrize("model_id", BLANK_FAILS)
def test_fault_blank_images_get_a_clear_error_from_the_qnn(model_id, backend):
    """All-zero images give all-zero F2 features at the zero-bias initialisation, which
    amplitude embedding cannot normalise: a clear error instead of NaN, on both backends."""
    images = torch.zeros(3, 1, 28, 28)
    images[0] = 1.0  # one sample is fine; the message counts the others
    with pytest.raises(EmbeddingError, match=r"QuantumLayer: 2 of 3 samples have all-zero "
                                             r"features .* Blank input images"):
        network(model_id, backend=backend)(images)


@pytest.mark.parametrize("model_id", [m for m in MODELS if m not in BLANK_FAILS])
def test_fault_blank_images_are_finite_for_the_other_models(model_id):
    out = network(model_id)(torch.zeros(3, 1, 28, 28))
    assert torch.isfinite(out).all()


def test_fault_hermitian_observables_stay_hermitian_under_large_steps():
    """Observables are H = (A + A^H)/2 of trained raw parameters: Hermitian to the bit after
    inner steps with huge step sizes, whatever the gradients do to the raw entries."""
    net = network("q-res-herm", dtype=torch.float64)
    theta0, constants = split_parameters(net, frozen_circuit=False)
    images = torch.randn(10, 1, 28, 28, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(0))
    steps = [(images, torch.arange(10), torch.tensor(50.0, dtype=torch.float64))] * 3
    final = train_steps(net, theta0, constants, steps, create_graph=False)
    moved = final["qnn.observable_raw"] - theta0["qnn.observable_raw"]
    assert moved.abs().max() > 1e-3
    with torch.no_grad():
        net.qnn.observable_raw.copy_(final["qnn.observable_raw"])
    h = net.qnn.observable_matrices()
    assert torch.equal(h, h.mH)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fault_learning_rates_stay_positive_for_any_raw_value(dtype):
    """softplus alone underflows to 0 (float32: raw below about -104); step_sizes does not,
    and equals softplus wherever softplus is a normal positive number."""
    raw = torch.tensor([-1e6, -1e3, -200.0, -104.0, -50.0, 0.0, 50.0, 1e3], dtype=dtype)
    lrs = step_sizes(raw)
    assert (lrs > 0).all() and torch.isfinite(lrs).all()
    normal = F.softplus(raw) >= torch.finfo(dtype).tiny
    assert torch.equal(lrs[normal], F.softplus(raw)[normal])
    if dtype == torch.float32:
        assert F.softplus(raw)[0] == 0  # the fault the floor guards against
