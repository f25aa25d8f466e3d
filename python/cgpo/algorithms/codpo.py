"""CODPO, Constrained Online DPO (docs/method.md, "CODPO").

Per prompt, a pair from :func:`cgpo.selection.codpo_pairs` (in Rust): the highest-reward response
the judges accept against the lowest-reward one they reject (or, when none is rejected, the
lowest-reward other response); the loss is DPO's plus a length-normalised likelihood term on the
chosen response (:func:`cgpo.losses.codpo_loss`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cgpo.algorithms.base import Algorithm, AlgorithmSettings, LossResult, Models

if TYPE_CHECKING:
    from cgpo.rollout.batch import RolloutBatch


@dataclass
class CODPOSettings(AlgorithmSettings):
    beta: float = field(default=0.1, metadata={"help": "DPO temperature beta (our default)."})
    lam: float = field(default=5.0, metadata={"help": "Chosen-likelihood weight (our default)."})


class CODPO(Algorithm):
    name = "codpo"
    settings_type = CODPOSettings
    min_samples_per_prompt = 2

    def loss(self, batch: RolloutBatch, models: Models, settings: CODPOSettings) -> LossResult:
        import torch

        from cgpo import selection
        from cgpo.losses import codpo_loss, loss_stats
        from cgpo.rollout.logprobs import policy_logprobs
        from cgpo.rollout.microbatch import backward_on_rollout

        kept = batch.without_errors()
        stats: dict[str, float] = {"rows_used": 0.0}
        if kept is None:
            return None, stats
        pairs = selection.codpo_pairs(kept.groups, kept.rewards, kept.satisfied)
        chosen = np.asarray(pairs.chosen, dtype=np.int64)
        rejected = np.asarray(pairs.rejected, dtype=np.int64)
        ok = (chosen >= 0) & (rejected >= 0)
        stats["pairs"] = float(ok.sum())
        if not ok.any():
            return None, stats
        both = kept.rollout.select(np.concatenate([chosen[ok], rejected[ok]]))
        n = int(ok.sum())
        mask = both.completion_mask
        ref = models.reference.logprobs(both).sum(dim=1).float()  # (2n,)
        lengths = mask[:n].sum(dim=1).float()

        def loss_fn(logp: torch.Tensor) -> tuple[torch.Tensor, object]:
            seq = (logp * mask).sum(dim=1)  # (2n,)
            return codpo_loss(
                seq[:n], seq[n:], ref[:n], ref[n:], lengths, beta=settings.beta, lam=settings.lam
            )

        loss, s = backward_on_rollout(
            models.policy,
            both,
            loss_fn,
            scale=models.loss_scale,
            micro_batch_size=models.micro_batch_size,
        )
        seq_old = (policy_logprobs(models.policy, both) * mask).sum(dim=1)
        stats.update(loss_stats(s))
        stats["kl"] = float((seq_old - ref).mean())
        stats["rows_used"] = float(2 * n)
        return loss, stats
