"""One task's update (CGPO Algorithm 1, steps 2-3): from judged and scored rollouts to a loss.

The trainer owns sampling, judging and scoring; this module turns their results into the loss of
the task's constrained optimizer (CRPG, CRRAFT or CODPO), computing policy log-probabilities only
for the rows the loss uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cgpo.rollout.microbatch import backward_through_logprobs
from cgpo.trainer.config import Task
from cgpo.trainer.generation import Rollout, sequence_logprobs


@dataclass
class ScoredRollout:
    """A task's rollout with its judges' verdicts and its reward model's scores (N rows)."""

    rollout: Rollout
    verdicts: np.ndarray  # (N,) int: 1 satisfied, 0 violated, -1 error (left out of the update)
    rewards: np.ndarray  # (N,) float64
    baseline_rewards: np.ndarray  # (N,) float64: r(s, a_bar) of each row's prompt
    baseline_satisfied: np.ndarray  # (B,) bool: the judges accept the prompt's baseline


class Reference:
    """log pi_ref of a rollout: a frozen copy of the policy, or the policy with its LoRA adapter
    turned off (PEFT), so no second copy of the weights is kept."""

    def __init__(self, model: Any, *, peft_policy: Any = None) -> None:
        self.model = model
        self.peft_policy = peft_policy
        self.busy_s = 0.0  # seconds spent in forward passes, for the step's time split

    @torch.no_grad()
    def logprobs(self, rollout: Rollout) -> torch.Tensor:
        t0 = time.perf_counter()
        try:
            return self._logprobs(rollout)
        finally:
            self.busy_s += time.perf_counter() - t0

    def _logprobs(self, rollout: Rollout) -> torch.Tensor:
        args = (
            rollout.prompt_ids,
            rollout.prompt_mask,
            rollout.completion_ids,
            rollout.completion_mask,
        )
        if self.peft_policy is not None:
            with self.peft_policy.disable_adapter():
                return sequence_logprobs(self.peft_policy, *args)
        return sequence_logprobs(self.model, *args)


def select_rows(rollout: Rollout, rows: Sequence[int] | np.ndarray) -> Rollout:
    """The rollout restricted to ``rows``, its padding trimmed to the longest kept completion."""
    idx = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=rollout.completion_ids.device)
    cmask = rollout.completion_mask[idx]
    t = max(int(cmask.sum(dim=1).max()) if len(idx) else 1, 1)
    pmask = rollout.prompt_mask[idx]
    p0 = int((pmask.sum(dim=0) > 0).nonzero()[0]) if len(idx) else 0  # drop all-pad columns
    return Rollout(
        rollout.prompt_ids[idx, p0:],
        pmask[:, p0:],
        rollout.completion_ids[idx, :t],
        cmask[:, :t],
        [rollout.texts[int(i)] for i in idx],
        rollout.group_ids[idx],
        rollout.logprobs[idx, :t] if rollout.logprobs is not None else None,
    )


def _logprobs(policy: Any, r: Rollout) -> torch.Tensor:
    return sequence_logprobs(
        policy, r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask
    )


def policy_logprobs(policy: Any, r: Rollout) -> torch.Tensor:
    """log pi(a_t | ...) at the policy's current weights, without a graph: (N, T).

    The rollout's own log-probabilities when it carries them (kept from sampling; the weights
    have not moved since, as the optimizer steps only after every task's backward), else one
    forward pass."""
    if r.logprobs is not None:
        return r.logprobs.to(r.completion_ids.device)
    with torch.no_grad():
        return _logprobs(policy, r).float()


def _backward(
    policy: Any,
    r: Rollout,
    logp: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], tuple[torch.Tensor, Any]],
    update: UpdateSettings,
) -> tuple[torch.Tensor, Any]:
    return backward_through_logprobs(
        logp,
        r.completion_mask.sum(dim=1),
        loss_fn,
        lambda rows: _logprobs(policy, select_rows(r, rows)),
        scale=update.scale,
        micro_batch_size=update.micro_batch_size,
    )


@dataclass
class UpdateSettings:
    """How a task's loss reaches the gradients: ``scale`` (its weight rho) multiplies it; the
    policy's forward/backward runs ``micro_batch_size`` rows at a time."""

    scale: float = 1.0
    micro_batch_size: int = 8


def task_loss(
    task: Task,
    policy: Any,
    reference: Reference,
    scored: ScoredRollout,
    baseline_rollout: Callable[[list[int]], Rollout],
    update: UpdateSettings | None = None,
) -> tuple[torch.Tensor | None, dict[str, float]]:
    """Backpropagates the task's loss, scaled by ``update.scale``, into the policy's gradients;
    returns the loss (detached; None when no row contributes, e.g. nothing satisfied) and its
    statistics.

    ``baseline_rollout(groups)`` tokenises the baselines of those prompts, for CRRAFT's fallback.
    Rows whose verdict is ERROR (``on_error="skip"``) are left out before selection. The
    reference runs only on the rows whose log-ratio the update reads (the satisfied ones for
    CRPG and CRRAFT: a violated row's weight is 0 whatever its log-ratio), so ``kl`` is the mean
    over those rows.
    """
    update = update or UpdateSettings()
    keep = np.flatnonzero(scored.verdicts >= 0)
    stats: dict[str, float] = {"rows_used": 0.0}
    if len(keep) == 0:
        return None, stats
    r = select_rows(scored.rollout, keep) if len(keep) < len(scored.verdicts) else scored.rollout
    rewards = np.ascontiguousarray(scored.rewards[keep], dtype=np.float64)
    base = np.ascontiguousarray(scored.baseline_rewards[keep], dtype=np.float64)
    satisfied = scored.verdicts[keep] == 1
    groups = r.group_ids.cpu().numpy().astype(np.int64)

    if task.optimizer == "crpg":
        return _crpg(task, policy, reference, r, rewards, base, satisfied, update)
    if task.optimizer == "crraft":
        return _crraft(
            task, policy, reference, r, scored, (rewards, base, satisfied), baseline_rollout, update
        )
    return _codpo(task, policy, reference, r, groups, rewards, satisfied, update)


def _satisfied_ref(
    reference: Reference, r: Rollout, logp: torch.Tensor, satisfied: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """log pi_ref (N, T), computed on the satisfied rows only (the others get the policy's own
    log-probs, a log-ratio of 0 that no weight reads), and the satisfied rows' (n,) log-ratios."""
    rows = np.flatnonzero(satisfied)
    ref = logp.clone()
    sel = select_rows(r, rows)
    idx = torch.as_tensor(rows, device=logp.device)
    t = sel.completion_ids.shape[1]
    ref[idx] = 0.0
    ref[idx, :t] = reference.logprobs(sel).float()
    log_ratio = ((logp[idx] - ref[idx]) * r.completion_mask[idx]).sum(dim=1)  # (n,)
    return ref, log_ratio


def _crpg(
    task: Task,
    policy: Any,
    reference: Reference,
    r: Rollout,
    rewards: np.ndarray,
    base: np.ndarray,
    satisfied: np.ndarray,
    update: UpdateSettings,
) -> tuple[torch.Tensor | None, dict[str, float]]:
    from cgpo.losses import crpg_loss

    stats: dict[str, float] = {"rows_used": 0.0}
    if not satisfied.any():
        # every weight w_i is 0, so every advantage is 0: the gradient is exactly zero and
        # the forward/backward passes can be skipped
        return None, stats
    logp = policy_logprobs(policy, r)  # (N, T)
    ref, log_ratio = _satisfied_ref(reference, r, logp, satisfied)
    dev = logp.device
    mask = r.completion_mask

    def loss_fn(lp: torch.Tensor) -> tuple[torch.Tensor, Any]:
        return crpg_loss(
            lp,
            ref,
            mask,
            torch.as_tensor(rewards, device=dev),
            torch.as_tensor(base, device=dev),
            torch.as_tensor(satisfied, device=dev),
            task.kl_max,
        )

    loss, s = _backward(policy, r, logp, loss_fn, update)
    stats.update(_plain_stats(s))
    # over the rows the reference scored (the satisfied ones), not diluted by the others' zeros
    stats["loss/log_ratio_mean"] = float(log_ratio.mean())
    stats["loss/kl_clipped_frac"] = float((log_ratio >= task.kl_max).float().mean())
    stats["kl"] = float(log_ratio.mean())
    stats["rows_used"] = float(len(rewards))
    return loss, stats


def _crraft(
    task: Task,
    policy: Any,
    reference: Reference,
    r: Rollout,
    scored: ScoredRollout,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    baseline_rollout: Callable[[list[int]], Rollout],
    update: UpdateSettings,
) -> tuple[torch.Tensor | None, dict[str, float]]:
    from cgpo import selection
    from cgpo.losses import crraft_loss

    rewards, base, satisfied = arrays
    stats: dict[str, float] = {"rows_used": 0.0}
    if not satisfied.any() and not scored.baseline_satisfied.any():
        # nothing can be selected and no prompt has an accepted baseline to fall back on
        stats.update(selected=0.0, baseline_fallbacks=0.0)
        return None, stats
    # only a satisfied row can be picked, so only those need a log-ratio (and a reference pass)
    seq_log_ratio = np.zeros(len(rewards), dtype=np.float64)
    if satisfied.any():
        logp = policy_logprobs(policy, r)
        _, log_ratio = _satisfied_ref(reference, r, logp, satisfied)
        seq_log_ratio[np.flatnonzero(satisfied)] = log_ratio.cpu().numpy()
        stats["kl"] = float(log_ratio.mean())
    groups = r.group_ids.cpu().numpy().astype(np.int64)
    sel_groups = selection.crraft_select(groups, rewards, satisfied, seq_log_ratio, task.kl_max)
    group_order = np.asarray(sel_groups.groups, dtype=np.int64)
    picked = np.asarray(sel_groups.selected, dtype=np.int64)
    rows = picked[picked >= 0]
    fallback = [
        int(g)
        for g, p in zip(group_order, picked, strict=True)
        if p < 0 and scored.baseline_satisfied[int(g)]
    ]
    stats["selected"] = float(len(rows))
    stats["baseline_fallbacks"] = float(len(fallback))
    parts = ([select_rows(r, rows)] if len(rows) else []) + (
        [baseline_rollout(fallback)] if fallback else []
    )
    if not parts:
        return None, stats
    weights = _sigmoid(rewards[rows] - base[rows]).tolist() + [0.5] * len(fallback)
    batch = concat_rollouts(parts)
    w = torch.as_tensor(weights, dtype=torch.float32, device=batch.completion_ids.device)
    loss, s = _backward(
        policy,
        batch,
        policy_logprobs(policy, batch),
        lambda lp: crraft_loss(lp, batch.completion_mask, w),
        update,
    )
    stats.update(_plain_stats(s))
    stats["rows_used"] = float(len(weights))
    return loss, stats


def _codpo(
    task: Task,
    policy: Any,
    reference: Reference,
    r: Rollout,
    groups: np.ndarray,
    rewards: np.ndarray,
    satisfied: np.ndarray,
    update: UpdateSettings,
) -> tuple[torch.Tensor | None, dict[str, float]]:
    from cgpo import selection
    from cgpo.losses import codpo_loss

    pairs = selection.codpo_pairs(groups, rewards, satisfied)
    chosen = np.asarray(pairs.chosen, dtype=np.int64)
    rejected = np.asarray(pairs.rejected, dtype=np.int64)
    ok = (chosen >= 0) & (rejected >= 0)
    stats: dict[str, float] = {"rows_used": 0.0, "pairs": float(ok.sum())}
    if not ok.any():
        return None, stats
    both = select_rows(r, np.concatenate([chosen[ok], rejected[ok]]))
    n = int(ok.sum())
    ref = reference.logprobs(both).sum(dim=1).float()  # (2n,)
    mask = both.completion_mask
    lengths = mask[:n].sum(dim=1).float()
    logp = policy_logprobs(policy, both)

    def loss_fn(lp: torch.Tensor) -> tuple[torch.Tensor, Any]:
        seq = (lp * mask).sum(dim=1)  # (2n,)
        return codpo_loss(seq[:n], seq[n:], ref[:n], ref[n:], lengths, beta=task.beta, lam=task.lam)

    loss, s = _backward(policy, both, logp, loss_fn, update)
    stats.update(_plain_stats(s))
    stats["kl"] = float(((logp * mask).sum(dim=1) - ref).mean())
    stats["rows_used"] = float(2 * n)
    return loss, stats


def concat_rollouts(parts: Sequence[Rollout]) -> Rollout:
    """Rows of several rollouts in one (prompts left-padded, completions right-padded anew)."""
    if len(parts) == 1:
        return parts[0]
    p = max(x.prompt_ids.shape[1] for x in parts)
    t = max(x.completion_ids.shape[1] for x in parts)

    def pad(x: torch.Tensor, width: int, left: bool, value: float = 0) -> torch.Tensor:
        extra = width - x.shape[1]
        return torch.nn.functional.pad(x, (extra, 0) if left else (0, extra), value=value)

    keep_lp = all(x.logprobs is not None for x in parts)
    return Rollout(
        torch.cat([pad(x.prompt_ids, p, True) for x in parts]),
        torch.cat([pad(x.prompt_mask, p, True) for x in parts]),
        torch.cat([pad(x.completion_ids, t, False) for x in parts]),
        torch.cat([pad(x.completion_mask, t, False) for x in parts]),
        [s for x in parts for s in x.texts],
        torch.cat([x.group_ids for x in parts]),
        torch.cat([pad(x.logprobs, t, False) for x in parts])  # type: ignore[arg-type]
        if keep_lp
        else None,
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def _plain_stats(s: Any) -> dict[str, float]:
    out = {}
    for k, v in dict(s or {}).items():
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            out[f"loss/{k}"] = float(v)
        elif isinstance(v, (int, float)):
            out[f"loss/{k}"] = float(v)
    return out
