"""Write requirements.txt, the full lock: every distribution installed in this environment
(transitive ones included) at its installed version, sorted by name. Distributions that are
only needed on Linux (torch's CUDA wheels and triton) carry torch's marker, so the lock
installs on macOS and Windows too.

    make lock          (.venv/bin/python tools/lock_requirements.py > requirements.txt)

tests/test_envs.py checks that the environment the tests run in is exactly this lock and
that envs/*.yaml pin the same versions.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

SKIP = {"qdistill", "pip"}  # the project itself, and the installer (make setup upgrades it)
LINUX = 'platform_system == "Linux"'


def installed() -> dict[str, metadata.Distribution]:
    return {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}


def requirements(dist: metadata.Distribution) -> list[Requirement]:
    return [Requirement(r) for r in dist.requires or []]


def linux_only(dists: dict[str, metadata.Distribution]) -> set[str]:
    """What only torch's Linux requirements pull in (followed through every requirement of
    those, extras included, as far as it is installed)."""
    todo = [canonicalize_name(r.name) for r in requirements(dists["torch"])
            if r.marker is not None and LINUX in str(r.marker)]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in found or name not in dists:
            continue
        found.add(name)
        todo += [canonicalize_name(r.name) for r in requirements(dists[name])]
    elsewhere = {canonicalize_name(r.name) for name, d in dists.items() if name not in found
                 for r in requirements(d) if r.marker is None}
    return found - elsewhere


def lock_lines(dists: dict[str, metadata.Distribution]) -> list[str]:
    linux = linux_only(dists)
    return [f"{d.metadata['Name']}=={d.version}" + (f"; {LINUX}" if name in linux else "")
            for name, d in sorted(dists.items()) if name not in SKIP]


if __name__ == "__main__":
    sys.stdout.write("\n".join(lock_lines(installed())) + "\n")
