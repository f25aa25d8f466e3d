"""CRPG, Calibrated-Regularized Policy Gradient (docs/method.md, "CRPG").

Per response: ``w = max(1 - log_ratio / kl_max, 0) * sigmoid(r - r_baseline) * satisfied``, the
advantage ``w - mean(w)`` and the loss ``-mean(A * log pi(a|s))``. The weights come from the Rust
selection (:func:`cgpo.selection.crpg_weights`) inside :func:`cgpo.losses.crpg_loss`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cgpo.algorithms.base import Algorithm, AlgorithmSettings, LossResult, Models

if TYPE_CHECKING:
    from cgpo.rollout.batch import RolloutBatch


@dataclass
class CRPGSettings(AlgorithmSettings):
    kl_max: float = field(default=10.0, metadata={"help": "KL bound on log pi - log pi_ref."})


class CRPG(Algorithm):
    name = "crpg"
    settings_type = CRPGSettings
    min_samples_per_prompt = 2

    def loss(self, batch: RolloutBatch, models: Models, settings: CRPGSettings) -> LossResult:
        import torch

        from cgpo.losses import crpg_loss, loss_stats
        from cgpo.rollout.logprobs import policy_logprobs
        from cgpo.rollout.microbatch import backward_on_rollout, satisfied_reference

        kept = batch.without_errors()
        stats: dict[str, float] = {"rows_used": 0.0}
        ranks = models.ranks
        if ranks.size == 1 and (kept is None or not kept.satisfied.any()):
            # every weight w_i is 0, so every advantage is 0: the gradient is exactly zero and
            # the forward/backward passes can be skipped
            return None, stats
        if kept is None:  # this rank's share has no row; the others still need its zeros
            ranks.all_sum([0.0, 0.0])
            return None, stats
        r = kept.rollout
        # a violated row's weight is 0 whatever its log-ratio: the reference runs on the
        # satisfied rows only
        logp_now = policy_logprobs(models.policy, r)  # (N, T), no graph
        ref, log_ratio = satisfied_reference(models.reference, r, logp_now, kept.satisfied)
        dev = ref.device
        rewards = torch.as_tensor(kept.rewards, device=dev)
        base = torch.as_tensor(kept.baseline_rewards, device=dev)
        satisfied = torch.as_tensor(np.asarray(kept.satisfied), device=dev)

        weight_mean = None
        if ranks.size > 1:
            # A = w - mean(w) takes its mean over the task's whole minibatch, every rank's rows
            _, s0 = crpg_loss(
                logp_now, ref, r.completion_mask, rewards, base, satisfied, settings.kl_max
            )
            total, count = ranks.all_sum([float(s0["weights"].sum()), float(len(kept.rewards))])
            weight_mean = total / count
            if weight_mean == 0.0:  # no rank has a weight: the gradient is exactly zero
                return None, stats

        def loss_fn(logp: torch.Tensor) -> tuple[torch.Tensor, object]:
            return crpg_loss(
                logp,
                ref,
                r.completion_mask,
                rewards,
                base,
                satisfied,
                settings.kl_max,
                weight_mean=weight_mean,
            )

        loss, s = backward_on_rollout(
            models.policy,
            r,
            loss_fn,
            scale=models.loss_scale,
            micro_batch_size=models.micro_batch_size,
        )
        stats.update(loss_stats(s))
        # over the rows the reference scored (the satisfied ones), not diluted by the others
        stats["loss/log_ratio_mean"] = float(log_ratio.mean())
        stats["loss/kl_clipped_frac"] = float((log_ratio >= settings.kl_max).float().mean())
        stats["kl"] = float(log_ratio.mean())
        stats["rows_used"] = float(len(kept.rewards))
        return loss, stats
