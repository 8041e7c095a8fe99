"""Transfer across initialisations: does a distilled set still train networks that start
from another initialisation than the one it was distilled for?

Fixed-initialisation distillation learns images (and step sizes) for one theta0, the run's
seed. Here the same T learned steps on the distilled images are taken from theta0 of other
init seeds (transfer_other_inits) and the test accuracy is measured. For context, from every
init: one draw of random real images with the same labels layout and step sizes, and the
untrained network. The run's own init is evaluated too and reproduces evaluate()'s
test_acc exactly, which ties this table to Table I. The table and figure:
report/transfer.py.
"""

from __future__ import annotations

import time
from typing import Any

from .artifacts import Distilled
from .data import ImageData
from .evaluate import accuracies, network, on_device, run_identity, test_set
from .rng import generator

def transfer_other_inits(seed: int, first_seed: int, count: int) -> list[int]:
    """The `count` init seeds other than the run's `seed`: first_seed, first_seed + 1, ...,
    skipping `seed`, so a run is never counted as its own transfer."""
    if count < 0:
        raise ValueError(f"transfer_inits must be >= 0, got {count}.")
    seeds, candidate = [], first_seed
    while len(seeds) < count:
        if candidate != seed:
            seeds.append(candidate)
        candidate += 1
    return seeds


def evaluate_transfer(distilled: Distilled, data: ImageData, init_seeds: list[int],
                      device: str = "auto", test_images: int | None = None) -> dict[str, Any]:
    """Test accuracy (percent) of the distilled set trained from the run's own init and from
    each of `init_seeds`, with one random-real draw and the untrained accuracy per init, on
    `test_images` test images (evaluate()'s class-balanced subset; None: all)."""
    start = time.perf_counter()
    run, subset = on_device(distilled, data.with_test_subset(test_images), device)
    settings, test = run.settings, test_set(run, subset)
    if settings.seed in init_seeds or len(set(init_seeds)) != len(init_seeds):
        raise ValueError(f"init_seeds {init_seeds} must be distinct and exclude the run's own "
                         f"seed {settings.seed}; use transfer_other_inits.")
    results = []
    for init_seed in [settings.seed, *init_seeds]:
        # evaluate()'s network and accuracies, with init_seed for the run's seed
        accs = accuracies(run, subset, test, *network(run, init_seed),
                          generator(init_seed, "transfer-random-real"), 1)
        results.append({"init_seed": init_seed, "own": init_seed == settings.seed,
                        "test_acc": accs["test_acc"],
                        "random_real_acc": accs["random_real_accs"][0],
                        "init_acc": accs["init_acc"]})
    return {
        **run_identity(settings, distilled),
        "n_test_images": int(len(test[1])),
        "own_init_acc": results[0]["test_acc"],
        "results": results,
        "wall_time_s": time.perf_counter() - start,
    }
