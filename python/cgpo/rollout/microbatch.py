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

from cgpo.rollout.batch import Rollout
from cgpo.rollout.logprobs import completion_logprobs, policy_logprobs

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


def backward_on_rollout(
    policy: Any,
    rollout: Rollout,
    loss_fn: LossFn,
    *,
    scale: float = 1.0,
    micro_batch_size: int = 8,
) -> tuple[torch.Tensor, Any]:
    """:func:`backward_through_logprobs` over a rollout's rows: the log-probabilities at the
    current weights come from sampling when the rollout kept them (else one forward pass without
    a graph), the graphs from :func:`completion_logprobs` on a few rows at a time."""
    return backward_through_logprobs(
        policy_logprobs(policy, rollout),
        rollout.completion_mask.sum(dim=1),
        loss_fn,
        lambda rows: completion_logprobs(policy, rollout.select(rows.cpu().numpy())),
        scale=scale,
        micro_batch_size=micro_batch_size,
    )


def satisfied_reference(
    reference: Any, rollout: Rollout, logp: torch.Tensor, satisfied: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """log pi_ref (N, T) computed on the ``satisfied`` rows only (the others get ``logp``
    itself, a log-ratio of 0 that no weight reads), and those rows' (n,) sequence log-ratios."""
    import numpy as np

    rows = np.flatnonzero(np.asarray(satisfied))
    ref = logp.clone()  # (N, T)
    if len(rows) == 0:
        return ref, logp.new_zeros(0)
    sel = rollout.select(rows)
    idx = torch.as_tensor(rows, device=logp.device)
    t = sel.completion_ids.shape[1]
    ref[idx] = 0.0
    ref[idx, :t] = reference.logprobs(sel).float()
    log_ratio = ((logp[idx] - ref[idx]) * rollout.completion_mask[idx]).sum(dim=1)  # (n,)
    return ref, log_ratio


def concat_rollouts(parts: list[Rollout]) -> Rollout:
    """The rows of several rollouts as one (prompts left-padded, completions right-padded anew;
    log-probs kept only when every part has them)."""
    if len(parts) == 1:
        return parts[0]
    p = max(x.prompt_ids.shape[1] for x in parts)
    t = max(x.completion_ids.shape[1] for x in parts)

    def pad(x: torch.Tensor, width: int, left: bool) -> torch.Tensor:
        extra = width - x.shape[1]
        return torch.nn.functional.pad(x, (extra, 0) if left else (0, extra))

    lps = [x.logprobs for x in parts]
    return Rollout(
        torch.cat([pad(x.prompt_ids, p, True) for x in parts]),
        torch.cat([pad(x.prompt_mask, p, True) for x in parts]),
        torch.cat([pad(x.completion_ids, t, False) for x in parts]),
        torch.cat([pad(x.completion_mask, t, False) for x in parts]),
        [s for x in parts for s in x.texts],
        torch.cat([x.group_ids for x in parts]),
        torch.cat([pad(lp, t, False) for lp in lps if lp is not None])
        if all(lp is not None for lp in lps)
        else None,
    )
