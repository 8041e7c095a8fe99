"""Real MNIST and the CIFAR-10 JPEG copy from the mirror; corrupt or missing files are
named in the error; the reference's normalisation and augmentation."""

import shutil

import pytest
import torch

from qdistill.config import dataset_spec, load_config
from qdistill.data import (SOURCE_JPEG, SOURCE_OFFICIAL, DataError, RealBatches, augment,
                           load_dataset, normalize)

CONFIG = load_config()


def test_mnist_from_mirror(mnist):
    assert mnist.source == SOURCE_OFFICIAL
    assert mnist.train_images.shape == (60_000, 1, 28, 28)
    assert mnist.test_images.shape == (10_000, 1, 28, 28)
    assert mnist.train_images.dtype == torch.uint8
    assert torch.equal(mnist.train_labels.bincount(), torch.tensor(
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]))


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


def test_corrupt_mnist_archive_is_named(mirror, tmp_path):
    root = tmp_path / "root"
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    bad = raw / "train-labels-idx1-ubyte.gz"
    bad.write_bytes((mirror / "MNIST" / "raw" / bad.name).read_bytes()[:1000])
    with pytest.raises(DataError, match=rf"{bad}: md5 \w+ does not match the expected "
                                        r"d53e105ee54ea40749a09fcbcd1e9432.*Delete"):
        load_dataset("mnist", root, mirror)


def test_corrupt_mirror_file_is_named(mirror, tmp_path):
    fake = tmp_path / "mirror" / "MNIST" / "raw"
    fake.mkdir(parents=True)
    for f in (mirror / "MNIST" / "raw").iterdir():
        shutil.copy(f, fake / f.name)
    (fake / "t10k-images-idx3-ubyte.gz").write_bytes(b"not a gzip")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: md5 .* in the mirror"):
        load_dataset("mnist", tmp_path / "root", tmp_path / "mirror")


def test_missing_data_offline_says_how_to_fix(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv_mnist

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    with pytest.raises(DataError, match="Set data_mirror .* MNIST/raw"):
        load_dataset("mnist", tmp_path / "empty")


def test_truncated_jpeg_archive_is_named(mirror, tmp_path):
    archive = tmp_path / "mirror" / "cifar10" / "cifar10-jpeg.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes((mirror / "cifar10" / archive.name).read_bytes()[:200_000])
    with pytest.raises(DataError, match=rf"{archive}: .*truncated or corrupt"):
        load_dataset("cifar10", tmp_path / "root", tmp_path / "mirror")
    assert not (tmp_path / "root" / "cifar10-jpeg.uint8.pt").exists()


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


def test_real_batches_cover_an_epoch(mnist):
    spec = dataset_spec(CONFIG, "mnist")
    batches = RealBatches(mnist, spec, 1024, torch.Generator().manual_seed(0), torch.float32)
    assert len(batches) == 59  # ceil(60000 / 1024), as the reference loader
    it = iter(batches)
    sizes = [len(next(it)[1]) for _ in range(59)]
    assert sizes[:58] == [1024] * 58 and sizes[58] == 60_000 - 58 * 1024
    with pytest.raises(ValueError, match="batch_size 70000 is larger than the 60000"):
        RealBatches(mnist, spec, 70_000, torch.Generator(), torch.float32)
