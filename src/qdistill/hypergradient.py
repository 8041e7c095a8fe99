"""One outer iteration of Wang et al.'s dataset distillation from a fixed initialisation,
top to bottom: the outer loss and its exact gradient in the synthetic images and step sizes.

Learned: synthetic images x~ (distill_steps groups of images_per_class images per class)
and one step size per inner step, eta~_t = softplus(raw_t) > 0 (training.step_sizes).
The inner loop starts every outer iteration from the same theta0 and takes
T = distill_steps x distill_epochs gradient steps, group t % distill_steps at step t:

    theta_{t+1} = theta_t - eta~_t * grad_theta CE(f(x~_t; theta_t), y~_t)

The outer loss CE(f(x_real; theta_T), y_real) is differentiated through all T steps by
autograd (create_graph=True: second-order terms included). Every parameter of the network
takes part through torch.func.functional_call, the QNN's angles and trainable observables
included, unless the run's frozen_circuit leaves the angles at theta0 (the constants).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from .training import Params, inner_schedule, step_sizes, train_steps

# Real images per chunk of the outer loss on a CPU: a chunk's activations stay in the cache
# (measured: 0.6x the time of the whole batch at 1024 images). A GPU takes the batch whole.
CPU_REAL_CHUNK = 256


def outer_loss(net: nn.Module, theta0: Params, constants: Params, steps,
               real_images: torch.Tensor, real_labels: torch.Tensor) -> torch.Tensor:
    """The definition: the loss on real data after the inner steps, differentiable in the
    steps' images and step sizes. hypergradient() computes the same numbers chunk-wise."""
    theta_t = train_steps(net, theta0, constants, steps, create_graph=True)
    return F.cross_entropy(functional_call(net, {**theta_t, **constants}, (real_images,)),
                           real_labels)


def real_batch_gradient(net: nn.Module, theta_t: Params, constants: Params,
                        real_images: torch.Tensor, real_labels: torch.Tensor,
                        chunk: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The outer loss at theta_T (a detached scalar) and its gradient in theta_T, the real
    batch taken `chunk` images at a time: each chunk's activations are freed before the
    next, and the gradients summed."""
    at = {name: p.detach().requires_grad_() for name, p in theta_t.items()}
    n = len(real_labels)
    loss, grads = real_images.new_zeros(()), None
    for x, y in zip(real_images.split(chunk), real_labels.split(chunk)):
        part = F.cross_entropy(functional_call(net, {**at, **constants}, (x,)), y,
                               reduction="sum") / n
        part_grads = torch.autograd.grad(part, list(at.values()))
        if grads is None:
            grads = list(part_grads)
        else:
            for total, g in zip(grads, part_grads):
                total.add_(g)
        loss += part.detach()
    return loss, grads


def hypergradient(networks: list[tuple[nn.Module, Params, Params]], images: torch.Tensor,
                  labels: torch.Tensor, raw_lrs: torch.Tensor, distill_epochs: int,
                  real_images: torch.Tensor, real_labels: torch.Tensor,
                  chunk: int) -> torch.Tensor:
    """The outer loss averaged over the networks [(net, theta0, constants), ...] (one for
    a fixed initialisation), returned detached, with its gradient added to images.grad and
    raw_lrs.grad. Per network, by the chain rule dL/dx~ = dL/dtheta_T . dtheta_T/dx~: the
    T inner steps keep their graph, dL/dtheta_T comes from the real batch, and it is pushed
    back once through the inner steps (which frees that network's graph)."""
    losses = []
    for net, theta0, constants in networks:
        steps = inner_schedule(images, labels, step_sizes(raw_lrs), distill_epochs)
        theta_t = train_steps(net, theta0, constants, steps, create_graph=True)
        loss, grad_theta_t = real_batch_gradient(net, theta_t, constants, real_images,
                                                 real_labels, chunk)
        torch.autograd.backward(list(theta_t.values()), grad_theta_t,
                                inputs=[images, raw_lrs])
        losses.append(loss)
    if len(losses) == 1:
        return losses[0]
    images.grad /= len(losses)
    raw_lrs.grad /= len(losses)
    return torch.stack(losses).mean()
