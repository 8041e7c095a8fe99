"""tools/outer_step_sizes.py, which docs/paper.md uses to show why q-res-herm seed 1 froze."""

import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from outer_step_sizes import last_steps  # noqa: E402


def test_outer_step_sizes_gives_the_step_adam_last_took():
    """The step last_steps reads from Adam's state against the change Adam really made,
    with the distillation's betas, 40 steps after a spike of huge gradients."""
    stream = torch.Generator().manual_seed(0)
    images = torch.randn(2, 3, 4, generator=stream, requires_grad=True)
    raw_lrs = torch.randn(3, generator=stream, requires_grad=True)
    adam = torch.optim.Adam([images, raw_lrs], lr=0.01, betas=(0.5, 0.999))
    for scale in (1.0, 1e6) + (1.0,) * 40:
        before = [images.detach().clone(), raw_lrs.detach().clone()]
        images.grad = scale * torch.randn(images.shape, generator=stream)
        raw_lrs.grad = scale * torch.randn(raw_lrs.shape, generator=stream)
        adam.step()
    steps = last_steps(adam.state_dict())
    torch.testing.assert_close(steps["images"], before[0] - images.detach())
    torch.testing.assert_close(steps["raw_lrs"], before[1] - raw_lrs.detach())
    # the first moment has forgotten the spike, the second has not: steps of ~lr / 3e4
    assert steps["images"].abs().max() < 1e-5
