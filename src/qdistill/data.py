"""MNIST and CIFAR-10 as in-memory uint8 tensors, from torchvision or a local mirror.

Sources, in order of preference:
- MNIST: the official archives under `<root>/MNIST/raw`, copied in from `<mirror>/MNIST/raw`
  when missing (md5 checked against torchvision's list), else downloaded by torchvision;
  read once into a tensor cache `<root>/MNIST/mnist-uint8.pt`.
- CIFAR-10: the official `cifar-10-python.tar.gz` (in root or mirror; torchvision checks
  its md5), else the lossy JPEG copy (`<mirror>/cifar10/cifar10-jpeg.tar.gz` or an
  ImageFolder tree `cifar10-jpeg/{train,test}/<class>/*.jpg`), else a torchvision download.
The source used is recorded in `ImageData.source` and from there in every result.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import math
import shutil
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .config import DATASET_FACTS, DatasetSpec
from .files import write_atomic

log = logging.getLogger(__name__)

CIFAR10_CLASSES = DATASET_FACTS["cifar10"].classes
CIFAR10_OFFICIAL_ARCHIVE = "cifar-10-python.tar.gz"  # torchvision.datasets.CIFAR10.filename
CIFAR10_JPEG_ARCHIVE = "cifar10-jpeg.tar.gz"
CIFAR10_JPEG_TREE = "cifar10-jpeg"
CIFAR10_JPEG_CACHE = "cifar10-jpeg.uint8.pt"

# torchvision.datasets.MNIST.resources (tests/test_data.py checks that they agree)
MNIST_ARCHIVES = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                  "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                  "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                  "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
MNIST_CACHE = "MNIST/mnist-uint8.pt"

SOURCE_OFFICIAL = "official"
SOURCE_JPEG = "jpeg-copy"


class DataError(RuntimeError):
    """A dataset file is missing or corrupt; the message names the file and the fix."""


@dataclass
class ImageData:
    train_images: torch.Tensor  # uint8 (N, C, H, W)
    train_labels: torch.Tensor  # int64 (N,)
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    source: str  # SOURCE_OFFICIAL or SOURCE_JPEG

    def content_md5(self) -> str:
        """md5 of the decoded images and labels (train, then test): the same for the same
        data whatever files it was read from."""
        digest = hashlib.md5()
        for t in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            digest.update(t.cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def with_test_subset(self, n: int | None) -> "ImageData":
        """The same data scored on n test images: the first n / classes of each class in the
        test set's order (the CIFAR-10 copy is sorted by class, so a plain head would not
        do); all of them when n is None or covers the test set."""
        if n is None or n >= len(self.test_labels):
            return self
        classes = len(self.classes)
        if n % classes:
            raise ValueError(f"a class-balanced test subset needs a multiple of {classes} "
                             f"images, got {n}")
        keep = torch.cat([(self.test_labels == c).nonzero().squeeze(1)[: n // classes]
                          for c in range(classes)]).sort().values
        return ImageData(self.train_images, self.train_labels, self.test_images[keep],
                         self.test_labels[keep], self.classes, self.source)

    def to(self, device: torch.device | str) -> "ImageData":
        move = lambda t: t.to(device)  # noqa: E731
        return ImageData(move(self.train_images), move(self.train_labels),
                         move(self.test_images), move(self.test_labels), self.classes, self.source)


def _copy_atomic(src: Path, dest: Path) -> None:
    with open(src, "rb") as source:
        write_atomic(dest, lambda handle: shutil.copyfileobj(source, handle))


def _check_md5(path: Path, md5: str, fix: str, remove: bool = False) -> None:
    """Raise a DataError naming path and both checksums; with remove, the bad file goes
    first (a partial download in the data root must not stay behind)."""
    with open(path, "rb") as handle:
        actual = hashlib.file_digest(handle, "md5").hexdigest()
    if actual != md5:
        if remove:
            path.unlink()
        raise DataError(f"{path}: md5 {actual} does not match the expected {md5} "
                        f"(truncated or corrupt file). {fix}")


def _read_idx(path: Path) -> torch.Tensor:
    """A gzipped idx file (MNIST's format: a magic number whose last byte is the number of
    dimensions, the dimensions as big-endian uint32, then the uint8 values)."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).view(shape)


def _mnist_archives(root: Path, mirror: Path | None) -> Path:
    """The four official archives in root/MNIST/raw, md5-checked: from the mirror first,
    else downloaded by torchvision."""
    raw = root / "MNIST" / "raw"
    for filename, md5 in MNIST_ARCHIVES.items():
        dest = raw / filename
        if dest.exists():
            _check_md5(dest, md5, "It was deleted; run again to fetch it anew.", remove=True)
        elif mirror is not None and (mirror / "MNIST" / "raw" / filename).exists():
            src = mirror / "MNIST" / "raw" / filename
            _check_md5(src, md5, f"Replace {src} in the mirror with the official file.")
            _copy_atomic(src, dest)
    if all((raw / filename).exists() for filename in MNIST_ARCHIVES):
        return raw
    import torchvision  # only to download: its import costs a CPU-second or more

    try:
        for train in (True, False):
            torchvision.datasets.MNIST(str(root), train=train, download=True)
    except Exception as err:  # torchvision raises plain RuntimeError/URLError offline
        raise DataError(f"MNIST could not be found or downloaded under {raw} ({err}). Offline? "
                        "Set data_mirror (config key, or --data-mirror) to a folder holding "
                        "MNIST/raw/*.gz, e.g. ../shared/datasets.") from err
    return raw


def _mnist(root: Path, mirror: Path | None) -> ImageData:
    """MNIST from a uint8 tensor cache under root, made once from the official archives and
    stamped with their md5s (a cache of other archives is made anew)."""
    cache = root / MNIST_CACHE
    tensors = None
    if cache.exists():
        try:
            tensors = torch.load(cache, weights_only=True)
        except Exception as err:
            raise DataError(f"{cache}: unreadable cache of the MNIST archives ({err}). Delete "
                            "it; it is rebuilt from the archives.") from err
    if tensors is None or tensors.get("archives") != MNIST_ARCHIVES:
        raw = _mnist_archives(root, mirror)
        tensors = {split: {"images": _read_idx(raw / f"{prefix}-images-idx3-ubyte.gz"),
                           "labels": _read_idx(raw / f"{prefix}-labels-idx1-ubyte.gz")}
                   for split, prefix in (("train", "train"), ("test", "t10k"))}
        tensors["archives"] = MNIST_ARCHIVES
        write_atomic(cache, lambda handle: torch.save(tensors, handle))
    train, test = tensors["train"], tensors["test"]
    return ImageData(train["images"].unsqueeze(1).contiguous(), train["labels"].long(),
                     test["images"].unsqueeze(1).contiguous(), test["labels"].long(),
                     tuple(str(c) for c in range(10)), SOURCE_OFFICIAL)


def _cifar_official(root: Path) -> ImageData:
    def as_tensors(ds):
        return (torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous(),
                torch.tensor(ds.targets, dtype=torch.long))

    import torchvision

    try:
        train = torchvision.datasets.CIFAR10(str(root), train=True, download=True)
        test = torchvision.datasets.CIFAR10(str(root), train=False, download=True)
    except Exception as err:
        raise DataError(f"CIFAR-10 could not be found or downloaded under {root} ({err}). "
                        f"Offline? Set data_mirror to a folder holding cifar-10-python.tar.gz "
                        f"or cifar10/{CIFAR10_JPEG_ARCHIVE}, e.g. ../shared/datasets.") from err
    return ImageData(*as_tensors(train), *as_tensors(test), tuple(train.classes), SOURCE_OFFICIAL)


def _expected_md5(archive: Path) -> str | None:
    """The md5 listed for the archive in an MD5SUMS file of the mirror, if any."""
    for folder in (archive.parent, archive.parent.parent):
        sums = folder / "MD5SUMS"
        if sums.is_file():
            for line in sums.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and (folder / parts[1]).resolve() == archive.resolve():
                    return parts[0]
    return None


def _jpeg_members(source: Path):
    """Yield (split, class, name, jpeg bytes) from the archive or the ImageFolder tree."""
    if source.is_dir():
        for path in sorted(source.glob("*/*/*.jpg")):
            yield path.parts[-3], path.parts[-2], path.name, path.read_bytes()
        return
    with tarfile.open(source, "r:gz") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if member.isfile() and member.name.endswith(".jpg") and len(parts) >= 3:
                yield parts[-3], parts[-2], parts[-1], tar.extractfile(member).read()


def _decode_jpeg_copy(source: Path) -> dict[str, torch.Tensor]:
    images: dict[str, list] = {"train": [], "test": []}
    try:
        for split, cls, name, data in _jpeg_members(source):
            if split not in images or cls not in CIFAR10_CLASSES:
                raise DataError(f"{source}: unexpected entry {split}/{cls}/{name}; expected "
                                f"{{train,test}}/<one of {', '.join(CIFAR10_CLASSES)}>/*.jpg.")
            images[split].append((CIFAR10_CLASSES.index(cls), name, data))
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{source}: cannot read the CIFAR-10 JPEG copy ({err}); the archive is "
                        "truncated or corrupt. Replace it with an intact copy.") from err
    tensors = {}
    for split, expected in (("train", 50_000), ("test", 10_000)):
        items = sorted(images[split], key=lambda t: (t[0], t[1]))
        if len(items) != expected:
            raise DataError(f"{source}: {len(items)} {split} images, expected {expected}; "
                            "the copy is incomplete. Replace it with an intact copy.")
        decoded = np.stack([np.asarray(Image.open(io.BytesIO(d)).convert("RGB"))
                            for _, _, d in items])
        tensors[f"{split}_images"] = torch.from_numpy(decoded).permute(0, 3, 1, 2).contiguous()
        tensors[f"{split}_labels"] = torch.tensor([c for c, _, _ in items], dtype=torch.long)
    return tensors


def _cifar_jpeg(root: Path, source: Path) -> ImageData:
    """Decode the JPEG copy once into a uint8 tensor cache under root (written atomically)."""
    cache = root / CIFAR10_JPEG_CACHE
    if not cache.exists():
        if source.is_file():
            md5 = _expected_md5(source)
            if md5 is not None:
                _check_md5(source, md5, "Replace it with an intact copy.")
        log.info("decoding the CIFAR-10 JPEG copy %s into %s", source, cache)
        tensors = _decode_jpeg_copy(source)
        write_atomic(cache, lambda handle: torch.save(tensors, handle))
    try:
        t = torch.load(cache, weights_only=True)
    except Exception as err:
        raise DataError(f"{cache}: unreadable cache of the CIFAR-10 JPEG copy ({err}). "
                        "Delete it; it is rebuilt from the JPEG copy.") from err
    return ImageData(t["train_images"], t["train_labels"], t["test_images"], t["test_labels"],
                     CIFAR10_CLASSES, SOURCE_JPEG)


def _cifar10(root: Path, mirror: Path | None) -> ImageData:
    official = CIFAR10_OFFICIAL_ARCHIVE
    if (root / "cifar-10-batches-py").is_dir() or (root / official).exists():
        return _cifar_official(root)
    candidates = [mirror / official, mirror / "cifar10" / official] if mirror else []
    for src in candidates:
        if src.exists():
            _copy_atomic(src, root / official)  # torchvision checks its md5 on use
            return _cifar_official(root)
    jpeg_sources = [root / CIFAR10_JPEG_CACHE]
    if mirror:
        jpeg_sources += [mirror / "cifar10" / CIFAR10_JPEG_ARCHIVE, mirror / CIFAR10_JPEG_ARCHIVE,
                         mirror / "cifar10" / CIFAR10_JPEG_TREE, mirror / CIFAR10_JPEG_TREE]
    for src in jpeg_sources:
        if src.exists():
            return _cifar_jpeg(root, src)
    return _cifar_official(root)


def load_dataset(name: str, root: str | Path, mirror: str | Path | None = None) -> ImageData:
    """Train and test sets of `name` as uint8 tensors; files taken from `mirror` first."""
    root = Path(root)
    mirror = Path(mirror) if mirror else None
    if mirror is not None and not mirror.is_dir():
        raise DataError(f"data mirror {mirror} does not exist; fix data_mirror / --data-mirror.")
    root.mkdir(parents=True, exist_ok=True)
    if name == "mnist":
        return _mnist(root, mirror)
    if name == "cifar10":
        return _cifar10(root, mirror)
    raise DataError(f"unknown dataset {name!r}; allowed: mnist, cifar10.")


def synthetic_labels(num_classes: int, images_per_class: int, steps: int) -> torch.Tensor:
    """The labels of a distilled set, (steps, images per step): class-ordered in every step."""
    labels = torch.arange(num_classes).repeat_interleave(images_per_class)
    return labels.expand(steps, len(labels)).contiguous()


def normalize(images: torch.Tensor, spec: DatasetSpec, dtype: torch.dtype) -> torch.Tensor:
    """uint8 images -> the reference's normalised float images. In place on one new tensor:
    a fresh tensor per step of a 1024-image batch costs more in page faults than in
    arithmetic (measured 16 ms against 1.2 ms on CIFAR-10); the bytes are the same."""
    mean = torch.tensor(spec.mean, dtype=dtype, device=images.device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, dtype=dtype, device=images.device).view(1, -1, 1, 1)
    return images.to(dtype, copy=True).div_(255).sub_(mean).div_(std)


def augment(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Reflect-pad by `pad`, crop back at a random offset and flip half, per image, batched:
    one gather of every output pixel from its padded image. Pixels only move, so it works on
    any dtype, and normalising before or after gives the same bytes."""
    n, channels, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), mode="reflect")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(images.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    rows = dy[:, None] + torch.arange(h, device=images.device)  # (n, h)
    cols = torch.arange(w, device=images.device).expand(n, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols) + dx[:, None]  # (n, w)
    pixels = rows[:, :, None] * (w + 2 * pad) + cols[:, None, :]  # (n, h, w) in padded rows
    pixels = pixels.flatten(1)[:, None, :].expand(n, channels, h * w)
    return padded.flatten(2).gather(2, pixels).view(n, channels, h, w)


class RealBatches:
    """Shuffled batches of real training images, normalised (and augmented if the protocol
    says so), like the reference's loader without drop_last: ceil(N / batch) per epoch.

    An endless iterator, epoch after epoch, each in a new random order. Its state (the
    generator, the epoch's order, the position in it) can be saved and restored, so that a
    resumed distillation sees exactly the batches an uninterrupted one would."""

    def __init__(self, data: ImageData, spec: DatasetSpec, batch_size: int,
                 generator: torch.Generator, dtype: torch.dtype):
        n = len(data.train_labels)
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} is larger than the {n} training images "
                             f"of {spec.name}; lower batch_size in the budget.")
        self.data, self.spec, self.batch_size = data, spec, batch_size
        self.generator, self.dtype = generator, dtype
        self.order: torch.Tensor | None = None  # this epoch's permutation
        self.position = 0  # batches of it already served

    def __len__(self) -> int:
        return math.ceil(len(self.data.train_labels) / self.batch_size)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.order is None or self.position == len(self):
            self.order = torch.randperm(len(self.data.train_labels), generator=self.generator)
            self.position = 0
        start = self.position * self.batch_size
        idx = self.order[start:start + self.batch_size].to(self.data.train_images.device)
        self.position += 1
        images = self.data.train_images[idx]
        if self.spec.augment:  # on the uint8 pixels: a quarter of the bytes to move
            images = augment(images, self.generator)
        return normalize(images, self.spec, self.dtype), self.data.train_labels[idx]

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "order": self.order,
                "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.order, self.position = state["order"], state["position"]


def prepare_dataset(name: str, root: str | Path, mirror: str | Path | None = None) -> dict:
    """Fetch (or copy from the mirror) and check one dataset; return its manifest."""
    data = load_dataset(name, root, mirror)
    return {"dataset": name, "source": data.source, "root": str(root),
            "mirror": str(mirror) if mirror else None, "classes": list(data.classes),
            "train_images": int(len(data.train_labels)),
            "test_images": int(len(data.test_labels)),
            "image_shape": list(data.train_images.shape[1:]), "md5": data.content_md5()}
