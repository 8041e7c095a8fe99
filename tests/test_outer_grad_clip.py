"""budgets.*.outer_grad_clip: the hypergradient's norm capped before Adam, and nothing
changed where it is unset (the paper's protocol, and every shipped run's identity)."""

import dataclasses

import pytest
import torch
import yaml

from qdistill.config import (DEFAULT_CONFIG, ConfigError, RunSettings, load_config,
                             run_settings, validate_config)
from qdistill.data import load_dataset
from qdistill.distill import Distillation


def settings(clip):
    config = load_config(overrides={"budget": "smoke", "device": "cpu"})
    s = run_settings(config, "mnist", "q-res-herm", 0)
    return dataclasses.replace(s, distill=dataclasses.replace(s.distill, outer_grad_clip=clip))


def test_unset_it_leaves_the_settings_dict_and_so_every_identity_as_before():
    unset = settings(None).to_dict()
    assert "outer_grad_clip" not in unset["distill"]
    clipped = settings(2.5).to_dict()
    assert clipped["distill"]["outer_grad_clip"] == 2.5
    assert RunSettings.from_dict(clipped) == settings(2.5)
    assert RunSettings.from_dict(unset) == settings(None)


def test_a_bad_value_names_the_key():
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["budgets"]["smoke"]["outer_grad_clip"] = -1
    with pytest.raises(ConfigError, match="outer_grad_clip"):
        validate_config(config, source="config.yaml")


@pytest.fixture(scope="module")
def mnist(mirror):
    return load_dataset("mnist", "resources/data", mirror)


def gradient_given_to_adam(run: Distillation) -> torch.Tensor:
    """The images' and step sizes' .grad as Adam sees them in the next step."""
    seen = {}

    def look(optimizer, args, kwargs):
        seen["grad"] = torch.cat([run.images.grad.flatten(), run.raw_lrs.grad.flatten()])

    run.optimizer.register_step_pre_hook(look)
    run.step()
    return seen["grad"]


def test_the_clip_caps_the_norm_adam_sees_and_keeps_the_direction(mnist):
    free = gradient_given_to_adam(Distillation(settings(None), mnist, 2, 100, 100))
    cap = free.norm().item() / 4
    clipped = gradient_given_to_adam(Distillation(settings(cap), mnist, 2, 100, 100))
    # clip_grad_norm_ scales by cap / (norm + 1e-6): 1e-4 relative at this norm
    torch.testing.assert_close(clipped.norm(), torch.tensor(cap), rtol=1e-3, atol=0)
    torch.testing.assert_close(clipped, free * (cap / free.norm()), rtol=1e-3, atol=1e-9)
    loose = gradient_given_to_adam(Distillation(settings(1e6), mnist, 2, 100, 100))
    assert torch.equal(loose, free)  # a clip above the norm changes nothing
