"""Independent, named random streams derived from a run's seed."""

from __future__ import annotations

import hashlib

import torch


def generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one purpose of one seed. Streams with different names are
    independent, and a stream draws the same numbers whatever model uses it, so the
    ablations of a seed share their starting point wherever their layers coincide."""
    digest = hashlib.sha256(f"{seed}/{stream}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
