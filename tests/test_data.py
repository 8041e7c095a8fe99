"""Real MNIST and the CIFAR-10 JPEG copy from the mirror; the reference's normalisation
and augmentation; resumable real batches. (Damaged files: test_fault_data.py.)"""


import pytest
import torch

from qdistill.config import dataset_spec, load_config
from qdistill.data import (
    MNIST_ARCHIVES,
    MNIST_CACHE,
    SOURCE_JPEG,
    SOURCE_OFFICIAL,
    RealBatches,
    augment,
    load_dataset,
    normalize,
)

CONFIG = load_config()


def test_mnist_from_mirror(mnist):
    assert mnist.source == SOURCE_OFFICIAL
    assert mnist.train_images.shape == (60_000, 1, 28, 28)
    assert mnist.test_images.shape == (10_000, 1, 28, 28)
    assert mnist.train_images.dtype == torch.uint8
    assert torch.equal(mnist.train_labels.bincount(), torch.tensor(
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]))


def test_mnist_is_read_as_torchvision_reads_its_archives(mnist, data_root):
    import torchvision

    assert MNIST_ARCHIVES == dict(torchvision.datasets.MNIST.resources)
    for train, images, labels in ((True, mnist.train_images, mnist.train_labels),
                                  (False, mnist.test_images, mnist.test_labels)):
        reference = torchvision.datasets.MNIST(str(data_root), train=train, download=True)
        assert torch.equal(images.squeeze(1), reference.data)
        assert torch.equal(labels, reference.targets)


def test_mnist_cache_of_other_archives_is_made_anew(mirror, tmp_path):
    first = load_dataset("mnist", tmp_path, mirror)
    stale = torch.load(tmp_path / MNIST_CACHE, weights_only=True)
    stale["archives"] = {"train-images-idx3-ubyte.gz": "0" * 32}
    stale["train"]["labels"] = stale["train"]["labels"][:5]
    torch.save(stale, tmp_path / MNIST_CACHE)
    again = load_dataset("mnist", tmp_path, mirror)
    assert torch.equal(again.train_labels, first.train_labels)
    assert torch.load(tmp_path / MNIST_CACHE, weights_only=True)["archives"] == MNIST_ARCHIVES


def test_a_test_subset_is_class_balanced_and_keeps_the_test_order(cifar10):
    subset = cifar10.with_test_subset(1000)
    assert torch.equal(subset.test_labels.bincount(), torch.full((10,), 100))
    for c in range(10):  # the first 100 of each class, in the test set's order
        first = cifar10.test_images[cifar10.test_labels == c][:100]
        assert torch.equal(subset.test_images[subset.test_labels == c], first)
    assert subset.train_images is cifar10.train_images
    assert cifar10.with_test_subset(10_000) is cifar10 and cifar10.with_test_subset(None) is cifar10
    with pytest.raises(ValueError, match="multiple of 10 images, got 995"):
        cifar10.with_test_subset(995)


def test_cifar10_jpeg_copy_from_mirror(cifar10):
    assert cifar10.source == SOURCE_JPEG
    assert cifar10.train_images.shape == (50_000, 3, 32, 32)
    assert cifar10.test_images.shape == (10_000, 3, 32, 32)
    assert cifar10.classes[0] == "airplane" and cifar10.classes[9] == "truck"
    assert torch.equal(cifar10.test_labels.bincount(), torch.full((10,), 1000))
    # real photographs, not blank decodes: per-channel means near CIFAR-10's
    means = cifar10.train_images[::10].float().mean((0, 2, 3)) / 255
    torch.testing.assert_close(means, torch.tensor([0.49, 0.48, 0.45]), atol=0.03, rtol=0)


def test_normalisation_matches_reference(mnist):
    spec = dataset_spec(CONFIG, "mnist")
    x = normalize(mnist.train_images[:10_000], spec, torch.float64)
    assert abs(x.mean().item()) < 0.02 and abs(x.std().item() - 1) < 0.02
    for dtype in (torch.float32, torch.float64):  # in place, the bytes of the plain formula
        pixels = mnist.train_images[:1000]
        plain = (pixels.to(dtype) / 255 - spec.mean[0]) / spec.std[0]
        assert torch.equal(normalize(pixels, spec, dtype), plain)
        assert pixels.dtype == torch.uint8


def test_augment_is_a_padded_crop_or_flip():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, 32, 32)
    out = augment(x, gen)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    for i in range(64):  # each output is one of the 2 x 81 crops of its own padded image
        found = any(torch.equal(out[i], img[:, dy:dy + 32, dx:dx + 32])
                    for img in (padded[i], padded[i].flip(-1))
                    for dy in range(9) for dx in range(9))
        assert found, i
    assert not torch.equal(out, x)


def test_augmenting_pixels_then_normalising_is_normalising_then_augmenting(cifar10):
    """RealBatches augments the uint8 pixels before normalising; pixels only move, so the
    batches are the bytes of augmenting the normalised images."""
    spec = dataset_spec(CONFIG, "cifar10")
    pixels = cifar10.train_images[:256]
    first = normalize(augment(pixels, torch.Generator().manual_seed(3)), spec, torch.float32)
    then = augment(normalize(pixels, spec, torch.float32), torch.Generator().manual_seed(3))
    assert torch.equal(first, then)


def test_real_batches_cover_an_epoch(mnist):
    spec = dataset_spec(CONFIG, "mnist")
    batches = RealBatches(mnist, spec, 1024, torch.Generator().manual_seed(0), torch.float32)
    assert len(batches) == 59  # ceil(60000 / 1024), as the reference loader
    it = iter(batches)
    sizes = [len(next(it)[1]) for _ in range(59)]
    assert sizes[:58] == [1024] * 58 and sizes[58] == 60_000 - 58 * 1024
    with pytest.raises(ValueError, match="batch_size 70000 is larger than the 60000"):
        RealBatches(mnist, spec, 70_000, torch.Generator(), torch.float32)


def test_real_batches_resume_from_their_state(cifar10):
    """Saved mid-epoch and restored into a fresh iterator, the batches continue exactly as
    the uninterrupted ones, augmentation included (checkpoints rely on it)."""
    spec = dataset_spec(CONFIG, "cifar10")
    first = RealBatches(cifar10, spec, 4096, torch.Generator().manual_seed(3), torch.float32)
    for _ in range(len(first) - 2):
        next(first)
    state = first.state_dict()
    expected = [next(first) for _ in range(4)]  # crosses into the next epoch
    resumed = RealBatches(cifar10, spec, 4096, torch.Generator().manual_seed(99),
                          torch.float32)
    resumed.load_state_dict(state)
    for (images, labels), (want_images, want_labels) in zip(
            (next(resumed) for _ in range(4)), expected):
        assert torch.equal(images, want_images) and torch.equal(labels, want_labels)
