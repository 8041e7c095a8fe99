"""Shared fixtures: the real datasets from the local mirror, and the repository's config."""

import os
from pathlib import Path

import pytest

from qdistill.config import load_config
from qdistill.data import load_dataset

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("QDISTILL_DATA_MIRROR", REPO.parent / "shared" / "datasets")).resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "MNIST" / "raw").is_dir():
        pytest.skip(f"no dataset mirror at {MIRROR}; set QDISTILL_DATA_MIRROR")
    return MIRROR


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """One dataset root for the whole session (CIFAR's JPEG decode is cached there)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def mnist(mirror, data_root):
    return load_dataset("mnist", data_root, mirror)


@pytest.fixture(scope="session")
def cifar10(mirror, data_root):
    return load_dataset("cifar10", data_root, mirror)


@pytest.fixture
def smoke_config(mirror, data_root):
    return load_config(overrides={"budget": "smoke", "data_mirror": str(mirror),
                                  "data_root": str(data_root)})
