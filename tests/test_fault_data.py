"""Faults: truncated or corrupt dataset files fail with the file name and checksums and
leave nothing behind that a later run could take for a dataset; missing data offline says
how to fix it."""

import shutil

import pytest

from qdistill.data import CIFAR10_JPEG_CACHE, DataError, load_dataset

MNIST_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_fault_truncated_archive_in_the_data_root_is_named_and_removed(mirror, tmp_path):
    """A partial download left in the data root: named with both md5s, then deleted, so the
    next run fetches it anew (here from the mirror) and succeeds."""
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    bad = raw / "train-labels-idx1-ubyte.gz"
    bad.write_bytes((mirror / "MNIST" / "raw" / bad.name).read_bytes()[:1000])
    with pytest.raises(DataError, match=rf"{bad}: md5 [0-9a-f]{{32}} does not match the "
                                        r"expected d53e105ee54ea40749a09fcbcd1e9432 \(truncated "
                                        r"or corrupt file\). It was deleted; run again"):
        load_dataset("mnist", tmp_path / "root", mirror)
    assert not bad.exists()
    assert len(load_dataset("mnist", tmp_path / "root", mirror).train_labels) == 60_000


def test_fault_corrupt_mirror_file_is_named_and_not_copied(mirror, tmp_path):
    fake = tmp_path / "mirror" / "MNIST" / "raw"
    fake.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copy(mirror / "MNIST" / "raw" / name, fake / name)
    (fake / "t10k-images-idx3-ubyte.gz").write_bytes(b"not a gzip")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: md5 [0-9a-f]{32} does "
                                        r"not match the expected 9fb629c4189551a2d022fa330f9573f3"
                                        r".*Replace .* in the mirror"):
        load_dataset("mnist", tmp_path / "root", tmp_path / "mirror")
    raw = tmp_path / "root" / "MNIST" / "raw"
    assert not (raw / "t10k-images-idx3-ubyte.gz").exists()
    assert not list(raw.glob(".*"))  # no temporary copies either


def test_fault_truncated_jpeg_archive_is_named_and_no_cache_is_written(mirror, tmp_path):
    archive = tmp_path / "mirror" / "cifar10" / "cifar10-jpeg.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes((mirror / "cifar10" / archive.name).read_bytes()[:200_000])
    with pytest.raises(DataError, match=rf"{archive}: .*truncated or corrupt"):
        load_dataset("cifar10", tmp_path / "root", tmp_path / "mirror")
    assert not (tmp_path / "root" / CIFAR10_JPEG_CACHE).exists()
    assert not list((tmp_path / "root").glob(".*"))


def test_fault_missing_data_offline_says_how_to_fix(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv_mnist

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    with pytest.raises(DataError, match=r"MNIST could not be found or downloaded .*network is "
                                        r"unreachable.*Set data_mirror .* MNIST/raw"):
        load_dataset("mnist", tmp_path / "empty")


def test_fault_missing_mirror_folder_is_named(tmp_path):
    with pytest.raises(DataError, match=rf"data mirror {tmp_path / 'nope'} does not exist"):
        load_dataset("mnist", tmp_path / "root", tmp_path / "nope")
