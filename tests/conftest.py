"""Shared fixtures: the real datasets from the local mirror, and the repository's config;
the `slow` marker on the tests that run whole workflows, kills or lanes, which also run
first (under pytest-xdist the longest work starts at once, beside the rest)."""

import os
from pathlib import Path

import pytest

from qdistill.config import load_config
from qdistill.data import load_dataset

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("QDISTILL_DATA_MIRROR", REPO.parent / "shared" / "datasets")).resolve()


# Fixtures that run a whole workflow, a kill or a lane: every test using one is `slow`.
SLOW_FIXTURES = {"smoke_run", "shipped_workflow", "uninterrupted", "campaign"}
SLOW_TESTS = {"test_fault_killed_snakemake_finishes_without_recomputing",
              "test_fault_corrupt_mirror_fails_the_download_rule_by_name",
              "test_sigterm_to_snakemake_finishes_running_jobs_and_says_so_once"}


def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(item.fixturenames) or item.originalname in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The dataset mirror: without it most tests cannot prove anything, so they fail (never
    skip) with the fix."""
    if not (MIRROR / "MNIST" / "raw").is_dir():
        pytest.fail(f"no dataset mirror at {MIRROR} (it must hold MNIST/raw/*.gz and the "
                    "CIFAR-10 copy, see README 'Data'): set QDISTILL_DATA_MIRROR=/path/to/it, "
                    "or DATA_MIRROR=... for make test", pytrace=False)
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
