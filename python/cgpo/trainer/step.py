"""One task's update (CGPO Algorithm 1, steps 2-3): from judged and scored rollouts to a loss.

The trainer owns sampling, judging and scoring; this module turns their results into the loss of
the task's constrained optimizer (CRPG, CRRAFT or CODPO), computing policy log-probabilities only
for the rows the loss uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

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

    @torch.no_grad()
    def logprobs(self, rollout: Rollout) -> torch.Tensor:
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
    )


def _logprobs(policy: Any, r: Rollout) -> torch.Tensor:
    return sequence_logprobs(
        policy, r.prompt_ids, r.prompt_mask, r.completion_ids, r.completion_mask
    )


def task_loss(
    task: Task,
    policy: Any,
    reference: Reference,
    scored: ScoredRollout,
    baseline_rollout: Callable[[list[int]], Rollout],
) -> tuple[torch.Tensor | None, dict[str, float]]:
    """The task's loss (None when no row contributes, e.g. nothing satisfied) and its statistics.

    ``baseline_rollout(groups)`` tokenises the baselines of those prompts, for CRRAFT's fallback.
    Rows whose verdict is ERROR (``on_error="skip"``) are left out before selection.
    """
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
        from cgpo.losses import crpg_loss

        logp = _logprobs(policy, r)  # (N, T)
        ref = reference.logprobs(r)
        dev = logp.device
        loss, s = crpg_loss(
            logp,
            ref,
            r.completion_mask,
            torch.as_tensor(rewards, device=dev),
            torch.as_tensor(base, device=dev),
            torch.as_tensor(satisfied, device=dev),
            task.kl_max,
        )
        log_ratio = ((logp.detach() - ref) * r.completion_mask).sum(dim=1)
        stats.update(_plain_stats(s))
        stats["kl"] = float(log_ratio.mean())
        stats["rows_used"] = float(len(keep))
        return loss, stats

    from cgpo import selection

    if task.optimizer == "crraft":
        from cgpo.losses import crraft_loss

        with torch.no_grad():
            log_ratio_t = ((_logprobs(policy, r) - reference.logprobs(r)) * r.completion_mask).sum(
                1
            )
        seq_log_ratio = log_ratio_t.cpu().numpy().astype(np.float64)
        stats["kl"] = float(seq_log_ratio.mean())
        sel_groups = selection.crraft_select(groups, rewards, satisfied, seq_log_ratio, task.kl_max)
        group_order = np.asarray(sel_groups.groups, dtype=np.int64)
        picked = np.asarray(sel_groups.selected, dtype=np.int64)
        rows = picked[picked >= 0]
        fallback = [
            int(g)
            for g, p in zip(group_order, picked, strict=True)
            if p < 0 and scored.baseline_satisfied[int(g)]
        ]
        weights: list[float] = []
        seq_logps: list[torch.Tensor] = []
        if len(rows):
            sel = select_rows(r, rows)
            seq_logps.append(_logprobs(policy, sel).sum(dim=1))  # (n,)
            weights.extend(_sigmoid(rewards[rows] - base[rows]).tolist())
        if fallback:
            seq_logps.append(_logprobs(policy, baseline_rollout(fallback)).sum(dim=1))
            weights.extend([0.5] * len(fallback))  # sigmoid(r(a_bar) - r(a_bar))
        stats["selected"] = float(len(rows))
        stats["baseline_fallbacks"] = float(len(fallback))
        if not seq_logps:
            return None, stats
        seq = torch.cat(seq_logps).unsqueeze(1)  # (n, 1): sequence sums, one "token" each
        w = torch.as_tensor(weights, dtype=seq.dtype, device=seq.device)
        loss, s = crraft_loss(seq, torch.ones_like(seq), w)
        stats.update(_plain_stats(s))
        stats["rows_used"] = float(len(weights))
        return loss, stats

    from cgpo.losses import codpo_loss

    pairs = selection.codpo_pairs(groups, rewards, satisfied)
    chosen = np.asarray(pairs.chosen, dtype=np.int64)
    rejected = np.asarray(pairs.rejected, dtype=np.int64)
    ok = (chosen >= 0) & (rejected >= 0)
    stats["pairs"] = float(ok.sum())
    if not ok.any():
        return None, stats
    both = select_rows(r, np.concatenate([chosen[ok], rejected[ok]]))
    n = int(ok.sum())
    logp = _logprobs(policy, both).sum(dim=1)  # (2n,)
    ref = (reference.logprobs(both)).sum(dim=1)
    lengths = both.completion_mask[:n].sum(dim=1).to(logp.dtype)
    loss, s = codpo_loss(
        logp[:n], logp[n:], ref[:n], ref[n:], lengths, beta=task.beta, lam=task.lam
    )
    stats.update(_plain_stats(s))
    stats["kl"] = float((logp.detach() - ref).mean())
    stats["rows_used"] = float(2 * n)
    return loss, stats


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
