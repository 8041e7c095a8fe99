"""Random-initialisation distillation (Wang et al.'s unknown_init) and the field's baselines
(per-class average and k-means centroids of real images)."""

import pytest
import torch

from qdistill.config import DEFAULT_CONFIG, ConfigError, load_config, run_settings
from qdistill.data import normalize
from qdistill.distill import Initialisations, distill, init_synthetic
from qdistill.hypergradient import hypergradient, outer_loss
from qdistill.training import inner_schedule, split_parameters, step_sizes
from qdistill.artifacts import load_summary_sets
from qdistill.files import ArtifactError
from qdistill.evaluate import (
    checked_summary_sets,
    euclidean_distances_to,
    kmeans,
    real_summary_sets,
)
from qdistill.models import make_network
from qdistill.runs import summary_sets_run


def test_random_init_settings_leave_table1_settings_alone(smoke_config):
    random = run_settings(smoke_config, "mnist", "q-res-herm-random", 0)
    assert random.model.init == "random" and random.distill.distill_steps == 10
    assert random.to_dict()["model"]["init"] == "random"
    fixed = run_settings(smoke_config, "mnist", "q-res-herm", 0).to_dict()
    assert "init" not in fixed["model"] and "n_nets" not in fixed["distill"]
    two = dict(smoke_config, random_init=dict(smoke_config["random_init"], n_nets=2))
    assert run_settings(two, "mnist", "classical-random", 0).to_dict()["distill"]["n_nets"] == 2


def test_random_init_models_must_be_random_variants():
    """The error names the file, the key, the bad value and the allowed values (the fix)."""
    variants = load_config()["model_variants"]
    allowed = [m for m, v in variants.items() if v.get("init") == "random"]
    assert allowed  # else the message below would list nothing
    with pytest.raises(ConfigError) as refused:
        load_config(overrides={"random_init": {"models": ["classical"], "n_nets": 1,
                                               "distill_steps": 10}})
    assert str(refused.value) == (f"{DEFAULT_CONFIG}: key 'random_init.models': 'classical' "
                                  "is not a model variant with init: random; allowed: "
                                  f"{', '.join(allowed)}.")


@pytest.mark.parametrize("model_id", ["classical-random", "q-res-herm-random"])
def test_gradient_over_drawn_nets_is_the_mean_hypergradient(smoke_config, mnist, model_id):
    """hypergradient over two drawn networks: the mean of the definition's outer losses and
    its gradient (float64), and finite differences agree."""
    config = dict(smoke_config, dtype="float64",
                  random_init=dict(smoke_config["random_init"], distill_steps=1))
    settings = run_settings(config, "mnist", model_id, 0)
    inits = Initialisations(settings, None, torch.float64, torch.device("cpu"))
    networks = [inits.networks()[0] for _ in range(2)]
    assert not torch.equal(networks[0][1]["trunk.conv1.weight"], networks[1][1]["trunk.conv1.weight"])
    images, labels, raw_lrs = init_synthetic(settings, torch.Generator().manual_seed(0),
                                             torch.float64)
    real_x = normalize(mnist.train_images[::997][:16], settings.dataset, torch.float64)
    real_y = mnist.train_labels[::997][:16]

    def mean_loss(images, raw_lrs):
        steps = inner_schedule(images, labels, step_sizes(raw_lrs), 3)
        return sum(outer_loss(n, t, c, steps, real_x, real_y) for n, t, c in networks) / 2

    images.requires_grad_()
    raw_lrs.requires_grad_()
    want = torch.autograd.grad(mean_loss(images, raw_lrs), [images, raw_lrs])
    got = hypergradient(networks, images, labels, raw_lrs, 3, real_x, real_y, chunk=5)
    torch.testing.assert_close(got, mean_loss(images, raw_lrs).detach(), rtol=1e-13, atol=0)
    torch.testing.assert_close(images.grad, want[0], rtol=1e-11, atol=1e-14)
    torch.testing.assert_close(raw_lrs.grad, want[1], rtol=1e-11, atol=1e-14)
    eps, v = 1e-6, torch.randn(images.shape, generator=torch.Generator().manual_seed(1),
                               dtype=torch.float64)
    fd = (mean_loss(images.detach() + eps * v, raw_lrs.detach())
          - mean_loss(images.detach() - eps * v, raw_lrs.detach())) / (2 * eps)
    assert fd.item() == pytest.approx((images.grad * v).sum().item(), rel=1e-6)


def test_random_init_draws_fresh_nets_reproducibly(smoke_config, mnist):
    config = dict(smoke_config, device="cpu",
                  random_init=dict(smoke_config["random_init"], n_nets=2, distill_steps=2))
    settings = run_settings(config, "mnist", "classical-random", 0)
    first = distill(settings, mnist, iterations=4, log_every=2, progress=False,
                    log_test_images=100, selection_images=100)
    again = distill(settings, mnist, iterations=4, log_every=2, progress=False,
                    log_test_images=100, selection_images=100)
    first, again = first.distilled, again.distilled
    assert torch.equal(first.images, again.images) and torch.equal(first.raw_lrs, again.raw_lrs)
    assert first.images.shape == (2, 10, 1, 28, 28)
    fixed = run_settings(config, "mnist", "classical", 0)
    net = make_network(fixed.model, fixed.dataset, 0)
    theta0, constants = split_parameters(net, False)
    inits = Initialisations(fixed, (net, theta0, constants), torch.float32,
                            torch.device("cpu"))
    assert inits.networks()[0][1] is theta0  # fixed: the run's own theta0 every time
    random = Initialisations(settings, None, torch.float32, torch.device("cpu"))
    seen = [random.networks() for _ in range(2)]
    assert len(seen[0]) == 2
    weights = [n[1]["trunk.conv1.weight"] for drawn in seen for n in drawn]
    assert all(not torch.equal(a, b) for i, a in enumerate(weights) for b in weights[i + 1:])


def test_kmeans_finds_separated_clusters_and_k1_is_the_mean():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = torch.cat([c + 0.1 * torch.randn(50, 2, generator=gen) for c in centres])
    found = kmeans(points, 3, torch.Generator().manual_seed(1))
    assert torch.allclose(found.sort(0).values, centres.sort(0).values, atol=0.1)
    assert torch.equal(kmeans(points, 3, torch.Generator().manual_seed(1)), found)
    assert torch.equal(kmeans(points, 1, gen), points.mean(0, keepdim=True))


def cdist_kmeans(points, k, stream, max_iterations=100):
    """kmeans() written with torch.cdist: the definition the faster distances must keep."""
    centres = points[torch.randint(len(points), (), generator=stream)].unsqueeze(0)
    for _ in range(1, k):
        d2 = torch.cdist(points, centres).pow(2).min(1).values
        pick = torch.multinomial(d2.cpu().double(), 1, generator=stream).item()
        centres = torch.cat([centres, points[pick].unsqueeze(0)])
    assign = None
    for _ in range(max_iterations):
        new = torch.cdist(points, centres).argmin(1)
        if assign is not None and torch.equal(new, assign):
            break
        assign = new
        sums = torch.zeros_like(centres).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=k).unsqueeze(1)
        centres = torch.where(counts > 0, sums / counts.clamp_min(1), centres)
    return centres


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kmeans_distances_are_cdists_to_the_bit(dtype):
    points = torch.randn(300, 50, generator=torch.Generator().manual_seed(0), dtype=dtype)
    distances = euclidean_distances_to(points)
    for k in (1, 3, 10):
        assert torch.equal(distances(points[:k] + 0.5), torch.cdist(points, points[:k] + 0.5))


def test_kmeans_centroids_of_a_real_class_equal_the_cdist_definition(mnist):
    sixes = mnist.train_images[mnist.train_labels == 6][:2000].flatten(1).float() / 255
    assert torch.equal(kmeans(sixes, 10, torch.Generator().manual_seed(3)),
                       cdist_kmeans(sixes, 10, torch.Generator().manual_seed(3)))


def test_summary_sets_made_once_are_those_of_the_run_and_refused_for_another(
        smoke_config, mnist, mirror, data_root, tmp_path):
    settings = run_settings(smoke_config, "mnist", "classical-random", 0)
    d = settings.distill
    path = tmp_path / "sets.pt"
    summary_sets_run(settings.dataset, 0, d.distill_steps, d.images_per_class, settings.dtype,
                     path, data_root, mirror)
    made = load_summary_sets(path)
    _, labels, _ = init_synthetic(settings, torch.Generator().manual_seed(0), torch.float32)
    direct = real_summary_sets(mnist, labels, settings.dataset, torch.float32, 0)
    assert torch.equal(made["labels"], labels)
    assert torch.equal(made["kmeans"], direct["kmeans"])
    assert torch.equal(made["average"], direct["average"])

    class Run:  # what checked_summary_sets reads of a Distilled
        def __init__(self, seed):
            self.settings = run_settings(smoke_config, "mnist", "classical-random", seed)
            self.labels, self.device, self.dtype = labels, torch.device("cpu"), torch.float32

    assert torch.equal(checked_summary_sets(made, Run(0), mnist)["kmeans"], direct["kmeans"])
    with pytest.raises(ArtifactError, match=r"the summary sets given \(\{'dataset': 'mnist', "
                                            r"'seed': 0.* are not this run's \(.*'seed': 1"):
        checked_summary_sets(made, Run(1), mnist)


def test_summary_sets_are_class_means_and_centroids(smoke_config, mnist):
    settings = run_settings(smoke_config, "mnist", "classical-random", 0)
    _, labels, _ = init_synthetic(settings, torch.Generator().manual_seed(0), torch.float32)
    sets = real_summary_sets(mnist, labels, settings.dataset, torch.float32, 0)
    assert sets["average"].shape == sets["kmeans"].shape == (10, 10, 1, 28, 28)
    sevens = normalize(mnist.train_images[mnist.train_labels == 7], settings.dataset,
                       torch.float32)
    torch.testing.assert_close(sets["average"][3, 7], sevens.mean(0))
    # 10 different centroids of class 7, one per step
    centroids = sets["kmeans"][:, 7].flatten(1)
    assert torch.cdist(centroids, centroids).add(torch.eye(10) * 1e9).min() > 0
