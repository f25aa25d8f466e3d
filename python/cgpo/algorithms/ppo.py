"""The PPO baseline (``algorithm: ppo``, docs/method.md "Baselines"): one reward model, a value
head, GAE, the clipped surrogate, and a KL penalty to the reference in the per-token reward.

Judges play no part in the update (the trainer still runs and logs them). The value head and the
per-token tensors live in :mod:`cgpo.rollout.value_head`. The trainer takes one optimizer step
per rollout, so the probability ratio is 1 when the loss is computed and the clip never binds;
the clipped form is kept so the same loss is right if a caller reuses a rollout for several
epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cgpo.algorithms.base import Algorithm, AlgorithmSettings, LossResult, Models
from cgpo.config.validate import Problems, boolean, number

if TYPE_CHECKING:
    from cgpo.rollout.batch import RolloutBatch


@dataclass
class PPOSettings(AlgorithmSettings):
    """PPO's settings (the task's ``ppo:`` mapping). Defaults are common RLHF choices (the paper
    gives none): a per-token KL penalty of 0.05, undiscounted returns, GAE lambda 0.95."""

    kl_coef: float = field(
        default=0.05,
        metadata={
            "help": "Per-token KL penalty: r_t = -kl_coef * (log pi - log pi_ref), plus the "
            "reward model's score on the last token."
        },
    )
    gamma: float = field(default=1.0, metadata={"help": "Discount of GAE, in [0, 1]."})
    gae_lambda: float = field(default=0.95, metadata={"help": "GAE's lambda, in [0, 1]."})
    clip_eps: float = field(default=0.2, metadata={"help": "Clip range of the probability ratio."})
    value_clip: float = field(default=0.2, metadata={"help": "Clip range of the value update."})
    vf_coef: float = field(default=0.5, metadata={"help": "Weight of the value loss."})
    whiten_advantages: bool = field(
        default=True, metadata={"help": "Normalise advantages over the task's batch."}
    )

    def __post_init__(self) -> None:
        p = Problems()
        p.check(number, "ppo.kl_coef", self.kl_coef, minimum=0.0)
        p.check(number, "ppo.gamma", self.gamma, minimum=0.0, maximum=1.0)
        p.check(number, "ppo.gae_lambda", self.gae_lambda, minimum=0.0, maximum=1.0)
        p.check(number, "ppo.clip_eps", self.clip_eps, minimum=0.0, strict=True)
        p.check(number, "ppo.value_clip", self.value_clip, minimum=0.0, strict=True)
        p.check(number, "ppo.vf_coef", self.vf_coef, minimum=0.0)
        p.check(boolean, "ppo.whiten_advantages", self.whiten_advantages)
        p.raise_any()

    @classmethod
    def from_task(cls, task: Any) -> PPOSettings:
        settings: PPOSettings = task.ppo
        return settings


class PPO(Algorithm):
    name = "ppo"
    settings_type = PPOSettings

    def prepare_policy(self, policy: Any) -> None:
        from cgpo.rollout.value_head import attach_value_head

        attach_value_head(policy)

    def loss_terms(self, stats: dict[str, Any]) -> float:
        return float(stats.get("tokens_used") or 0.0)  # its means run over response tokens

    def loss(self, batch: RolloutBatch, models: Models, settings: PPOSettings) -> LossResult:
        """PPO's loss on the batch, scored by the reward model (raw scores r(s, a))."""
        import torch

        from cgpo.losses import gae, ppo_loss
        from cgpo.rollout.value_head import logprobs_and_values, token_rewards, whiten

        assert batch.rollout is not None and batch.rewards is not None
        r = batch.rollout
        logp, values = logprobs_and_values(models.policy, r)  # (N, T) each, with gradients
        ref = models.reference.logprobs(r)
        mask = r.completion_mask
        scores = torch.as_tensor(batch.rewards, dtype=torch.float32, device=logp.device)
        with torch.no_grad():
            rewards = token_rewards(scores, logp.detach(), ref, mask, settings.kl_coef)
            advantages, returns = gae(
                rewards, values.detach(), mask, gamma=settings.gamma, lam=settings.gae_lambda
            )
            if settings.whiten_advantages:
                advantages = whiten(advantages, mask, models.ranks)
        loss, s = ppo_loss(
            logp,
            logp.detach(),
            advantages,
            values,
            values.detach(),
            returns,
            mask,
            clip_eps=settings.clip_eps,
            value_clip=settings.value_clip,
            vf_coef=settings.vf_coef,
        )
        log_ratio = ((logp.detach() - ref) * mask).sum(dim=1)  # (N,)
        stats = {f"loss/{k}": float(v) for k, v in s.items()}
        stats.update(
            kl=float(log_ratio.mean()),
            rows_used=float(len(log_ratio)),
            tokens_used=float(mask.sum()),
            value_mean=float((values.detach() * mask).sum() / mask.sum().clamp(min=1)),
        )
        return loss, stats
