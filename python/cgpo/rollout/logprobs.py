"""Log-probabilities of a rollout's completion tokens under the policy and the reference.

:func:`completion_logprobs` is per token, (N, T); :func:`cgpo.losses.sequence_logprobs` sums
such a tensor into one log pi(a|s) per sequence.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from cgpo.rollout.batch import Rollout


def completion_logprobs(model: Any, rollout: Rollout) -> torch.Tensor:
    """Per-token log pi(a_t | s, a_<t) of the completion tokens: (N, T), 0 where masked.

    Positions follow the attention mask (as ``generate`` does), so left padding does not shift
    them, and the LM head runs only on the completion positions.
    """
    ids = torch.cat([rollout.prompt_ids, rollout.completion_ids], dim=1)  # (N, P+T)
    mask = torch.cat([rollout.prompt_mask, rollout.completion_mask], dim=1)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    t = rollout.completion_ids.shape[1]
    logits = (
        model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=t + 1)
        .logits[:, :-1]
        .float()
    )  # (N, T, V)
    # log_softmax gathered at the chosen token, without materialising the (N, T, V) result twice
    chosen = torch.gather(logits, 2, rollout.completion_ids.unsqueeze(-1)).squeeze(-1)  # (N, T)
    logp = chosen - torch.logsumexp(logits, dim=-1)
    return logp * rollout.completion_mask


class Reference:
    """log pi_ref of a rollout: a frozen copy of the policy, or the policy with its LoRA adapter
    turned off (PEFT), so no second copy of the weights is kept."""

    def __init__(self, model: Any, *, peft_policy: Any = None) -> None:
        self.model = model
        self.peft_policy = peft_policy
        self.busy_s = 0.0  # seconds in forward passes, for the step's time split

    @torch.no_grad()
    def logprobs(self, rollout: Rollout) -> torch.Tensor:
        t0 = time.perf_counter()
        try:
            return self._logprobs(rollout)
        finally:
            self.busy_s += time.perf_counter() - t0

    def _logprobs(self, rollout: Rollout) -> torch.Tensor:
        if self.peft_policy is not None:
            with self.peft_policy.disable_adapter():
                return completion_logprobs(self.peft_policy, rollout)
        return completion_logprobs(self.model, rollout)


def policy_logprobs(policy: Any, rollout: Rollout) -> torch.Tensor:
    """log pi(a_t | ...) at the policy's current weights, without a graph: (N, T) float32.

    The rollout's own log-probabilities when it carries them (kept from sampling: the weights
    have not moved since, as the optimizer steps only after every task's backward), else one
    forward pass without a graph."""
    if rollout.logprobs is not None:
        return rollout.logprobs.to(rollout.completion_ids.device).float()
    with torch.no_grad():
        return completion_logprobs(policy, rollout).float()
