"""The distillation's hypergradient is exact (finite differences), every network parameter,
circuit angles included, takes part in the inner steps, and freeze_circuit is explicit."""

import math

import pytest
import torch

from qdistill.config import run_settings
from qdistill.data import normalize
from qdistill.distill import distill, init_synthetic
from qdistill.hypergradient import hypergradient, outer_loss
from qdistill.training import inner_schedule, split_parameters, step_sizes, train_steps
from qdistill.models import make_network


def tiny_problem(smoke_config, data, model_id, freeze_circuit=False, epochs=2,
                 dataset="mnist", steps=1, dtype=torch.float64):
    """T = steps x epochs inner steps on 10 synthetic images a step, 16 real images. Built in
    float64, then cast to dtype (so float32 and float64 problems hold the same values)."""
    config = dict(smoke_config, dtype="float64", freeze_circuit=freeze_circuit)
    config["dataset_settings"] = dict(config["dataset_settings"])
    config["dataset_settings"][dataset] = dict(config["dataset_settings"][dataset],
                                               distill_epochs=epochs, distill_steps=steps)
    settings = run_settings(config, dataset, model_id, seed=0)
    net = make_network(settings.model, settings.dataset, 0, "fast", torch.float64)
    theta0, constants = split_parameters(net, settings.frozen_circuit)
    images, labels, raw_lrs = init_synthetic(settings, torch.Generator().manual_seed(0),
                                             torch.float64)
    raw_lrs = raw_lrs + torch.linspace(0.5, 1.5, len(raw_lrs), dtype=torch.float64)  # larger steps
    real_x = normalize(data.train_images[::997][:16], settings.dataset, torch.float64)
    real_y = data.train_labels[::997][:16]
    net, real_x = net.to(dtype), real_x.to(dtype)
    images, raw_lrs = images.to(dtype), raw_lrs.to(dtype)
    theta0 = {name: p.detach().to(dtype).requires_grad_() for name, p in theta0.items()}
    constants = {name: p.to(dtype) for name, p in constants.items()}

    def loss(images, raw_lrs):
        steps = inner_schedule(images, labels, step_sizes(raw_lrs),
                               settings.distill.distill_epochs)
        return outer_loss(net, theta0, constants, steps, real_x, real_y)

    return settings, net, theta0, constants, images, labels, raw_lrs, loss


@pytest.mark.parametrize("model_id", ["classical", "q-res-herm", "q-nores-pauliz"])
def test_hypergradient_matches_finite_differences(smoke_config, mnist, model_id):
    *_, images, labels, raw_lrs, loss = tiny_problem(smoke_config, mnist, model_id)
    check_hypergradient(images, raw_lrs, loss)


@pytest.mark.parametrize("model_id", ["q-res-herm-angle", "q-res-herm-pair", "q-res-herm-quanv"])
def test_extension_hypergradients_match_finite_differences(smoke_config, mnist, model_id):
    """The extensions' circuits (angle embedding, pair Hermitians, quanvolution) inside the
    bilevel problem: exact hypergradients too."""
    *_, images, labels, raw_lrs, loss = tiny_problem(smoke_config, mnist, model_id)
    check_hypergradient(images, raw_lrs, loss)


@pytest.mark.parametrize("model_id", ["classical", "q-res-fixedherm"])
def test_hypergradient_with_several_groups_matches_finite_differences(
        smoke_config, cifar10, model_id):
    """The CIFAR-10 layout: several image groups cycled over epochs (here 2 x 2, T = 4)."""
    *_, images, labels, raw_lrs, loss = tiny_problem(smoke_config, cifar10, model_id,
                                                     dataset="cifar10", steps=2)
    assert images.shape == (2, 10, 3, 32, 32) and raw_lrs.shape == (4,)
    check_hypergradient(images, raw_lrs, loss)


@pytest.mark.parametrize("model_id", ["classical", "q-res-herm", "q-nores-pauliz"])
def test_float32_runs_stay_close_to_float64(smoke_config, mnist, model_id):
    """Runs use float32 (dtype in config.yaml); the tests above prove exactness in float64.
    At the MNIST protocol (T = 3) float32 changes the outer loss by less than 1e-6 and the
    hypergradients by less than 1e-4, relative (measured: about 1e-7 and 5e-6), so
    precision does not steer the distillation."""
    results = {}
    for dtype in (torch.float64, torch.float32):
        *_, images, labels, raw_lrs, loss = tiny_problem(smoke_config, mnist, model_id,
                                                         epochs=3, dtype=dtype)
        images.requires_grad_()
        raw_lrs.requires_grad_()
        value = loss(images, raw_lrs)
        results[dtype] = [value, *torch.autograd.grad(value, [images, raw_lrs])]
    for exact, single in zip(results[torch.float64], results[torch.float32]):
        error = (single.double() - exact).norm() / exact.norm()
        assert error < (1e-6 if exact.dim() == 0 else 1e-4)


@pytest.mark.parametrize("model_id", ["classical", "q-res-herm", "q-res-herm-quanv"])
def test_chunked_hypergradient_is_the_outer_loss_and_its_gradient(smoke_config, mnist,
                                                                  model_id):
    """hypergradient takes the real batch in chunks (here 5 + 5 + 5 + 1 images) and pushes the
    summed dL/dtheta_T through the inner steps once: the loss and hypergradients of the
    definition, to float64 rounding, and finite differences agree with it."""
    settings, net, theta0, constants, images, labels, raw_lrs, loss = tiny_problem(
        smoke_config, mnist, model_id)
    images.requires_grad_()
    raw_lrs.requires_grad_()
    whole = loss(images, raw_lrs)
    expected = torch.autograd.grad(whole, [images, raw_lrs])
    real_x = normalize(mnist.train_images[::997][:16], settings.dataset, torch.float64)
    real_y = mnist.train_labels[::997][:16]

    value = hypergradient([(net, theta0, constants)], images, labels, raw_lrs,
                          settings.distill.distill_epochs, real_x, real_y, chunk=5)
    torch.testing.assert_close(value, whole.detach(), rtol=1e-13, atol=0)
    for got, want in zip([images.grad, raw_lrs.grad], expected):
        torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-14)
    check_hypergradient(images.detach(), raw_lrs.detach(), loss,
                        gradient=[images.grad.clone(), raw_lrs.grad.clone()])


def check_hypergradient(images, raw_lrs, loss, gradient=None):
    """Finite differences of loss against its autograd gradient (or the one given)."""
    images.requires_grad_()
    raw_lrs.requires_grad_()
    g_images, g_lrs = gradient or torch.autograd.grad(loss(images, raw_lrs), [images, raw_lrs])
    assert g_images.abs().max() > 1e-8 and g_lrs.abs().min() > 1e-8
    eps = 1e-6
    gen = torch.Generator().manual_seed(1)
    images, raw_lrs = images.detach(), raw_lrs.detach()
    for _ in range(3):  # directional derivatives along random image directions
        v = torch.randn(images.shape, generator=gen, dtype=torch.float64)
        fd = (loss(images + eps * v, raw_lrs) - loss(images - eps * v, raw_lrs)) / (2 * eps)
        assert math.isclose(fd.item(), (g_images * v).sum().item(), rel_tol=1e-6,
                            abs_tol=1e-9)
    for t in range(len(raw_lrs)):  # every learned step size, one at a time
        e = torch.zeros_like(raw_lrs)
        e[t] = eps
        fd = (loss(images, raw_lrs + e) - loss(images, raw_lrs - e)) / (2 * eps)
        assert math.isclose(fd.item(), g_lrs[t].item(), rel_tol=1e-6, abs_tol=1e-9)


def test_circuit_angles_train_in_inner_steps_and_get_hypergradient(smoke_config, mnist):
    settings, net, theta0, constants, images, labels, raw_lrs, loss = tiny_problem(
        smoke_config, mnist, "q-res-herm")
    assert {"qnn.angles", "qnn.observable_raw", "alpha"} <= set(theta0) and not constants
    steps = inner_schedule(images, labels, step_sizes(raw_lrs), settings.distill.distill_epochs)
    final = train_steps(net, theta0, constants, steps, create_graph=True)
    moved = (final["qnn.angles"] - theta0["qnn.angles"]).abs()
    assert moved.max() > 1e-6 and (moved > 0).sum() > 40  # nearly all 54 angles move
    assert (final["qnn.observable_raw"] - theta0["qnn.observable_raw"]).abs().max() > 1e-6
    # The outer loss depends on the angles through the inner steps: non-zero hypergradient
    # with respect to the initial angles, and the images' hypergradient passes through them.
    images.requires_grad_()
    g_angles, g_images = torch.autograd.grad(loss(images, raw_lrs),
                                             [theta0["qnn.angles"], images])
    assert g_angles.abs().max() > 1e-6 and g_images.abs().max() > 0


def test_freeze_circuit_is_explicit(smoke_config, mnist):
    settings, net, theta0, constants, images, labels, raw_lrs, _ = tiny_problem(
        smoke_config, mnist, "q-res-herm", freeze_circuit=True)
    assert set(constants) == {"qnn.angles"} and "qnn.angles" not in theta0
    steps = inner_schedule(images, labels, step_sizes(raw_lrs), settings.distill.distill_epochs)
    final = train_steps(net, theta0, constants, steps, create_graph=True)
    assert "qnn.angles" not in final
    assert (final["qnn.observable_raw"] - theta0["qnn.observable_raw"]).abs().max() > 1e-6
    assert run_settings(smoke_config, "mnist", "q-res-herm", 0).freeze_circuit is False


def test_frozen_circuit_model_id_freezes_only_its_own_runs(smoke_config, mnist):
    """q-res-herm-frozen is the reference code's behaviour as a model id: its angles are
    constants of the inner steps; the global freeze_circuit stays off for every other id."""
    settings, net, theta0, constants, images, labels, raw_lrs, loss = tiny_problem(
        smoke_config, mnist, "q-res-herm-frozen")
    assert settings.freeze_circuit is False and settings.frozen_circuit is True
    assert set(constants) == {"qnn.angles"} and "qnn.observable_raw" in theta0
    assert not run_settings(smoke_config, "mnist", "q-res-herm", 0).frozen_circuit
    check_hypergradient(images, raw_lrs, loss)


def test_trainable_quanvolution_filter_trains_in_inner_steps(smoke_config, mnist):
    config = dict(smoke_config, quanvolution={"n_layers": 1, "trainable": True})
    settings, net, theta0, constants, images, labels, raw_lrs, _ = tiny_problem(
        config, mnist, "q-res-herm-quanv")
    assert "trunk.quanv.angles" in theta0
    steps = inner_schedule(images, labels, step_sizes(raw_lrs), settings.distill.distill_epochs)
    final = train_steps(net, theta0, constants, steps, create_graph=True)
    assert (final["trunk.quanv.angles"] - theta0["trunk.quanv.angles"]).abs().max() > 1e-8
    fixed = tiny_problem(smoke_config, mnist, "q-res-herm-quanv")[2]
    assert not any(name.startswith("trunk.quanv") for name in fixed)  # a buffer when fixed


def test_inner_schedule_cycles_groups_with_own_step_sizes():
    images = torch.arange(10).view(10, 1)  # 10 groups (the CIFAR layout)
    labels = torch.zeros(10, 1)
    lrs = torch.arange(30.0)
    steps = inner_schedule(images, labels, lrs, distill_epochs=3)
    assert len(steps) == 30
    assert [int(s[0]) for s in steps] == list(range(10)) * 3
    assert [float(s[2]) for s in steps] == list(range(30))


def test_synthetic_init_follows_the_protocol(smoke_config):
    settings = run_settings(smoke_config, "cifar10", "classical", 0)
    images, labels, raw_lrs = init_synthetic(settings, torch.Generator().manual_seed(0),
                                             torch.float32)
    assert images.shape == (10, 10, 3, 32, 32) and labels.shape == (10, 10)
    assert torch.equal(labels[4], torch.arange(10))
    assert raw_lrs.shape == (30,)
    torch.testing.assert_close(step_sizes(raw_lrs), torch.full((30,), 0.001))
    assert abs(images.mean().item()) < 0.05 and abs(images.std().item() - 1) < 0.05


@pytest.mark.parametrize("model_id", ["classical", "q-res-herm"])
def test_distillation_lowers_the_outer_loss(smoke_config, mnist, model_id):
    settings = run_settings(dict(smoke_config, device="cpu"), "mnist", model_id, 0)
    # accuracies on few images at each log point: it is the loss that is tested here
    result = distill(settings, mnist, iterations=40, log_every=1, progress=False,
                     log_test_images=100, selection_images=100)
    losses = [h["outer_loss"] for h in result.history]
    assert len(losses) == 40
    assert sum(losses[-8:]) / 8 < sum(losses[:8]) / 8 - 0.02
    distilled = result.distilled
    assert (distilled.lrs > 0).all()
    assert distilled.images.shape == (1, 10, 1, 28, 28) and not distilled.images.requires_grad
    # one circuit per sample: 3 steps x 10 images + 256 real images per iteration
    per_sample = 0 if model_id == "classical" else 1
    assert result.circuit_evaluations == per_sample * 40 * (3 * 10 + 256)


def test_evaluation_replays_what_distillation_trained(smoke_config, mnist):
    """evaluate's theta0 and inner schedule are distill's: replaying the learned steps on
    each of the log's image sets gives the accuracy the last log line reported."""
    from qdistill.distill import ProgressProbe
    from qdistill.evaluate import accuracy_after_steps

    settings = run_settings(dict(smoke_config, device="cpu"), "mnist", "q-nores-herm", 3)
    result = distill(settings, mnist, iterations=5, progress=False, log_test_images=300,
                     selection_images=400)
    net = make_network(settings.model, settings.dataset, 3, "fast", torch.float32)
    theta0, constants = split_parameters(net, False)
    probe = ProgressProbe.build(mnist, settings, torch.float32, 300, 400)
    assert [len(probe.test_batch[1]), len(probe.test[1]), len(probe.selection[1])] == [256, 300,
                                                                                     400]
    for key, (images, labels) in [("test_batch_acc", probe.test_batch),
                                  ("test_acc", probe.test), ("selection_acc", probe.selection)]:
        distilled = result.distilled
        replayed = accuracy_after_steps(net, theta0, constants, distilled.images,
                                        distilled.labels, distilled.lrs,
                                        settings.distill.distill_epochs, images, labels)
        assert replayed == result.history[-1][key], key


def test_best_set_is_the_first_with_the_highest_selection_accuracy(smoke_config, mnist):
    """The kept set is the one of the log point with the highest selection accuracy (the
    first of equals), its images and step sizes as they were then; keeping it does not
    change the final set."""
    settings = run_settings(dict(smoke_config, device="cpu"), "mnist", "classical", 0)
    result = distill(settings, mnist, iterations=12, log_every=3, progress=False,
                     log_test_images=200, selection_images=300)
    accs = [h["selection_acc"] for h in result.history]
    first_best = accs.index(max(accs))
    assert [h["iteration"] for h in result.history] == [3, 6, 9, 12]
    best = result.distilled.best
    assert best.iteration == result.history[first_best]["iteration"]
    assert best.selection_acc == max(accs)
    assert best.lrs.tolist() == result.history[first_best]["lrs"]
    # a run that stops at the best log point ends with the best set's images
    stopped = distill(settings, mnist, iterations=best.iteration, log_every=3,
                      progress=False, log_test_images=200, selection_images=300)
    assert torch.equal(stopped.distilled.images.cpu(), best.images)
    assert stopped.history[-1]["test_acc"] == result.history[first_best]["test_acc"]
    plain = distill(settings, mnist, iterations=12, log_every=12, progress=False,
                    log_test_images=10, selection_images=10)
    assert torch.equal(plain.distilled.images, result.distilled.images)


def test_log_image_sets_cover_every_class(smoke_config, cifar10):
    """The JPEG copy is stored sorted by class: no image set of the log may be a prefix."""
    from qdistill.distill import ProgressProbe

    settings = run_settings(smoke_config, "cifar10", "classical", 0)
    probe = ProgressProbe.build(cifar10, settings, torch.float32, 500, 500)
    for _, labels in (probe.test_batch, probe.test, probe.selection):
        assert labels.bincount(minlength=10).min() >= 10
