"""PPO's model-side pieces (used by :mod:`cgpo.algorithms.ppo`): a value head on the policy,
log-probabilities and values from one forward pass, and the per-token rewards GAE reads.

The value head is a linear layer on the policy's last hidden state, attached to the policy as a
submodule so the trainer's optimizer, gradient clipping and checkpoints include it with no extra
plumbing. It reads the hidden states detached: the value loss trains the head only and never
moves the policy, which keeps a small policy from being pulled around by a value function that
starts untrained.
"""

from __future__ import annotations

from typing import Any

import torch

from cgpo.distributed import Ranks
from cgpo.rollout.batch import Rollout

VALUE_HEAD = "cgpo_value_head"


def attach_value_head(policy: Any) -> torch.nn.Linear:
    """Adds a zero-initialised value head ``policy.cgpo_value_head`` (hidden -> 1) if missing.

    Zero init: every value starts at 0, so the first advantages are the returns themselves.
    """
    head = getattr(policy, VALUE_HEAD, None)
    if isinstance(head, torch.nn.Linear):
        return head
    ref = next(policy.parameters())
    head = torch.nn.Linear(
        int(policy.config.hidden_size), 1, device=ref.device, dtype=torch.float32
    )
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    policy.add_module(VALUE_HEAD, head)
    return head


def logprobs_and_values(policy: Any, r: Rollout) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log pi(a_t | s, a_<t) and V(s, a_<t) of the completion tokens, from one forward
    pass: both (N, T), 0 where the completion mask is 0."""
    head = getattr(policy, VALUE_HEAD)
    ids = torch.cat([r.prompt_ids, r.completion_ids], dim=1)  # (N, P+T)
    mask = torch.cat([r.prompt_mask, r.completion_mask], dim=1)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    t = r.completion_ids.shape[1]
    out = policy(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        logits_to_keep=t + 1,
        output_hidden_states=True,
    )
    logits = out.logits[:, :-1].float()  # (N, T, V): position j predicts completion token j
    chosen = torch.gather(logits, 2, r.completion_ids.unsqueeze(-1)).squeeze(-1)  # (N, T)
    cmask = r.completion_mask.to(chosen.dtype)
    logp = (chosen - torch.logsumexp(logits, dim=-1)) * cmask
    hidden = out.hidden_states[-1][:, -(t + 1) : -1]  # (N, T, H): the states that predict a_t
    values = head(hidden.detach().float()).squeeze(-1) * cmask  # (N, T)
    return logp, values


def token_rewards(
    scores: torch.Tensor,
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    kl_coef: float,
) -> torch.Tensor:
    """PPO's per-token reward (N, T): ``-kl_coef * (log pi_t - log pi_ref_t)`` on every response
    token, plus the reward model's score ``scores`` (N,) on the response's last token."""
    m = mask.to(logprobs.dtype)
    rewards = -kl_coef * (logprobs - ref_logprobs) * m  # (N, T)
    last = (m.sum(dim=1).long() - 1).clamp(min=0)  # (N,)
    rows = torch.arange(len(last), device=rewards.device)
    rewards[rows, last] += scores.to(rewards.dtype) * (m.sum(dim=1) > 0).to(rewards.dtype)
    return rewards


def whiten(x: torch.Tensor, mask: torch.Tensor, ranks: Ranks | None = None) -> torch.Tensor:
    """``x`` normalised to mean 0 and variance 1 over the masked positions (0 elsewhere); with
    ``ranks``, over every data-parallel rank's positions."""
    m = mask.to(x.dtype)
    if ranks is not None and ranks.size > 1:
        total, count = ranks.all_sum([float((x * m).sum()), float(m.sum())])
        mean_all = total / max(count, 1.0)
        (sq,) = ranks.all_sum([float((((x - mean_all) * m) ** 2).sum())])
        return (x - mean_all) * (sq / max(count, 1.0) + 1e-8) ** -0.5 * m
    n = m.sum().clamp(min=1.0)
    mean = (x * m).sum() / n
    var = (((x - mean) * m) ** 2).sum() / n
    return (x - mean) * torch.rsqrt(var + 1e-8) * m
