"""Micro-batched backward passes through per-token log-probabilities.

Every CGPO loss is a function of the policy's per-token log-probabilities ``logp`` (N, T) of a
rollout. Its gradient is ``sum_it dL/dlogp_it * grad(logp_it)``: given the log-probabilities at
the current weights (kept from sampling, or from one forward without a graph), the coefficients
``dL/dlogp`` come from the loss alone, and the policy's forward and backward can then run a few
rows at a time, each micro-batch backpropagating ``sum(coef * logp)``. The gradient is the one
full-batch backpropagation gives, at the memory of one micro-batch, and rows whose coefficients
are all exactly zero (a zero loss weight) never reach the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

# rows (m,) int64 -> their per-token log-probs (m, T') with a graph, T' <= T (trailing padding cut)
RowsForward = Callable[[torch.Tensor], torch.Tensor]
LossFn = Callable[[torch.Tensor], tuple[torch.Tensor, Any]]


def backward_through_logprobs(
    logprobs: torch.Tensor,
    lengths: torch.Tensor,
    loss_fn: LossFn,
    forward: RowsForward,
    *,
    scale: float = 1.0,
    micro_batch_size: int = 8,
) -> tuple[torch.Tensor, Any]:
    """Backpropagates ``scale * loss_fn(logp)`` into the policy, a micro-batch of rows at a time.

    Parameters
    ----------
    logprobs : (N, T)
        The policy's log-probabilities at its current weights (no graph needed): from sampling,
        or from a forward pass under ``torch.no_grad``.
    lengths : (N,)
        Completion lengths; micro-batches take rows of similar length, so little padding is run.
    loss_fn
        ``logp (N, T) -> (loss, stats)``; differentiable in ``logp``.
    forward
        Computes the log-probabilities of some rows with a graph to the policy's weights.
    scale
        Multiplies the gradient (a task's weight rho); 0 skips every pass.

    Returns the loss (detached) and its stats, as ``loss_fn`` gave them.
    """
    if micro_batch_size < 1:
        raise ValueError(f"micro_batch_size must be >= 1, got {micro_batch_size}")
    leaf = logprobs.detach().float().requires_grad_(True)
    with torch.enable_grad():
        loss, stats = loss_fn(leaf)
        (coef,) = torch.autograd.grad(loss, leaf)  # (N, T): dL/dlogp, 0 where masked
    if scale == 0.0:
        return loss.detach(), stats
    coef = coef * scale
    live = (coef != 0).any(dim=1).nonzero().squeeze(1)  # rows with a non-zero weight
    order = live[torch.argsort(lengths[live].to(coef.device), stable=True)]
    for rows in order.split(micro_batch_size):
        logp = forward(rows)  # (m, T')
        t = logp.shape[1]
        (logp * coef[rows, :t].to(logp.dtype)).sum().backward()
    return loss.detach(), stats
