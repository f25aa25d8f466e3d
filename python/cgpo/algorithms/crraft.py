"""CRRAFT, Calibrated-Regularized Reward-rAnked FineTuning (docs/method.md, "CRRAFT").

Per prompt, the highest-reward response among those the judges accept and within the KL bound
(:func:`cgpo.selection.crraft_select`, in Rust). When none is left, the prompt is skipped; with
``baseline_fallback: true`` the prompt's baseline response is used instead when the judges accept
it (the paper's fallback; off by default, a deliberate deviation: with answer-only baselines it
turned CRRAFT into SFT on them and cost it the task in the reward-hacking experiment). Each
kept response is weighted by its calibrated reward and its likelihood raised
(:func:`cgpo.losses.crraft_loss`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cgpo.algorithms.base import Algorithm, AlgorithmSettings, LossResult, Models

if TYPE_CHECKING:
    from cgpo.rollout.batch import RolloutBatch


@dataclass
class CRRAFTSettings(AlgorithmSettings):
    kl_max: float = field(default=10.0, metadata={"help": "KL bound on log pi - log pi_ref."})
    baseline_fallback: bool = field(
        default=False, metadata={"help": "Fine-tune on an accepted baseline when nothing passes."}
    )


class CRRAFT(Algorithm):
    name = "crraft"
    settings_type = CRRAFTSettings

    def loss(self, batch: RolloutBatch, models: Models, settings: CRRAFTSettings) -> LossResult:
        import torch

        from cgpo import selection
        from cgpo.losses import crraft_loss, loss_stats
        from cgpo.rollout.generation import rollout_from_texts
        from cgpo.rollout.logprobs import policy_logprobs
        from cgpo.rollout.microbatch import (
            backward_on_rollout,
            concat_rollouts,
            satisfied_reference,
        )

        assert batch.baseline_satisfied is not None
        # the baselines a prompt may fall back on (none unless the fallback is turned on)
        fallback_ok = batch.baseline_satisfied & settings.baseline_fallback
        kept = batch.without_errors()
        stats: dict[str, float] = {"rows_used": 0.0}
        if kept is None:
            return None, stats
        if not kept.satisfied.any() and not fallback_ok.any():
            # nothing can be selected and no prompt has an accepted baseline to fall back on
            stats.update(selected=0.0, baseline_fallbacks=0.0)
            return None, stats

        r = kept.rollout
        # only a satisfied row can be picked, so only those need a log-ratio (and a reference
        # pass); the policy's log-probs are the sampler's
        seq_log_ratio = np.zeros(len(kept.rewards), dtype=np.float64)
        if kept.satisfied.any():
            _, log_ratio = satisfied_reference(
                models.reference, r, policy_logprobs(models.policy, r), kept.satisfied
            )
            seq_log_ratio[np.flatnonzero(kept.satisfied)] = log_ratio.cpu().double().numpy()
            stats["kl"] = float(log_ratio.mean())
        sel = selection.crraft_select(
            kept.groups, kept.rewards, kept.satisfied, seq_log_ratio, settings.kl_max
        )
        group_order = np.asarray(sel.groups, dtype=np.int64)
        picked = np.asarray(sel.selected, dtype=np.int64)
        rows = picked[picked >= 0]
        fallback = [
            int(g)
            for g, p in zip(group_order, picked, strict=True)
            if p < 0 and fallback_ok[int(g)]
        ]
        stats["selected"] = float(len(rows))
        stats["baseline_fallbacks"] = float(len(fallback))
        parts = [r.select(rows)] if len(rows) else []
        if fallback:
            parts.append(
                rollout_from_texts(
                    models.tokenizer,
                    [batch.prompt_texts[g] for g in fallback],
                    [batch.baselines[g] for g in fallback],
                    fallback,
                    models.device,
                )
            )
        if not parts:
            return None, stats
        # sigmoid(r(a_bar) - r(a_bar)) = 0.5 for a baseline
        weights = kept.calibrated[rows].tolist() + [0.5] * len(fallback)
        chosen = concat_rollouts(parts)
        w = torch.as_tensor(weights, dtype=torch.float32, device=chosen.completion_ids.device)
        loss, s = backward_on_rollout(
            models.policy,
            chosen,
            lambda logp: crraft_loss(logp, chosen.completion_mask, w),
            scale=models.loss_scale,
            micro_batch_size=models.micro_batch_size,
        )
        stats.update(loss_stats(s))
        stats["rows_used"] = float(len(weights))
        return loss, stats
