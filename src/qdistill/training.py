"""The inner loop and what every use of a distilled set shares: the device and dtype of a
run, theta0 split into trained parameters and constants, the learned step sizes, the T
inner steps (kept differentiable for the hypergradient, or plain for evaluation) and
accuracy. distill, evaluate, baseline, shots and transfer all train and test this way.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from .models import stays_at_init

Params = dict[str, torch.Tensor]


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was asked for, but torch sees no CUDA device; "
                           "set device to auto or cpu.")
    return torch.device(device)


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def inverse_softplus(y: float) -> float:
    return math.log(math.expm1(y))


def step_sizes(raw_lrs: torch.Tensor) -> torch.Tensor:
    """The learned inner step sizes softplus(raw). softplus underflows to 0 for raw below
    about -104 in float32 (Adam could drive raw there in a long run); the floor at the
    smallest positive normal number keeps every step size positive and changes nothing
    above it."""
    return F.softplus(raw_lrs).clamp_min(torch.finfo(raw_lrs.dtype).tiny)


def split_parameters(net: nn.Module, frozen_circuit: bool) -> tuple[Params, Params]:
    """theta0 as (inner-trained parameters, constants). Constants are the circuit angles of
    a frozen circuit; buffers (fixed observables) stay in the module."""
    trained, constants = {}, {}
    for name, p in net.named_parameters():
        frozen = stays_at_init(name, frozen_circuit)
        (constants if frozen else trained)[name] = p.detach().clone().requires_grad_(not frozen)
    return trained, constants


def inner_schedule(images: torch.Tensor, labels: torch.Tensor, lrs: torch.Tensor,
                   distill_epochs: int) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The T (images, labels, step size) of the inner loop: the groups cycled
    distill_epochs times, each step with its own step size."""
    groups = len(images)
    return [(images[t % groups], labels[t % groups], lrs[t])
            for t in range(groups * distill_epochs)]


def train_steps(net: nn.Module, theta0: Params, constants: Params, steps,
                create_graph: bool) -> Params:
    """Apply the inner gradient steps from theta0. create_graph=True keeps the graph for
    the hypergradient; False trains plainly (evaluation)."""
    params = theta0
    for images, labels, lr in steps:
        loss = F.cross_entropy(functional_call(net, {**params, **constants}, (images,)), labels)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
        params = {name: p - lr * g for (name, p), g in zip(params.items(), grads)}
        if not create_graph:
            params = {name: p.detach().requires_grad_() for name, p in params.items()}
    return params


@torch.no_grad()
def accuracy(net: nn.Module, params: Params, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 2048) -> float:
    """Accuracy in percent of net(params) on already-normalised images."""
    correct = 0
    for x, y in zip(images.split(batch_size), labels.split(batch_size)):
        correct += (functional_call(net, params, (x,)).argmax(1) == y).sum().item()
    return 100.0 * correct / len(labels)
