"""The losses of CGPO and of the baselines it is compared with, as small pure PyTorch functions.

Conventions shared by every function here:

- per-token tensors are ``(B, T)`` with a 0/1 ``mask`` (1 on response tokens);
- a sequence log-probability is the masked sum over tokens, ``sum_t mask * logprobs``;
- per-sequence tensors are ``(B,)``;
- every function returns ``(loss, stats)``: a scalar loss to backpropagate and a dict of
  detached values for logging (floats, or ``(B,)`` tensors where a per-sample view helps).

Equation references are to Xu et al. 2024, "The Perfect Blend: Redefining RLHF with Mixture of
Judges" (arXiv 2409.20370), restated with this project's choices in ``docs/method.md``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from cgpo import selection
from cgpo.errors import InvalidInputError

Stats = dict[str, Any]

__all__ = [
    "bradley_terry_loss",
    "codpo_loss",
    "crpg_loss",
    "crraft_loss",
    "dpo_loss",
    "gae",
    "loss_stats",
    "masked_mean",
    "ppo_loss",
    "sequence_logprobs",
]


def _check_2d(mask: torch.Tensor, **tensors: torch.Tensor) -> None:
    if mask.dim() != 2:
        raise InvalidInputError(f"`mask` must be (B, T), got shape {tuple(mask.shape)}")
    for name, t in tensors.items():
        if t.shape != mask.shape:
            raise InvalidInputError(
                f"`{name}` must have the shape of `mask` {tuple(mask.shape)}, got {tuple(t.shape)}"
            )


def _check_1d(n: int, **tensors: torch.Tensor) -> None:
    for name, t in tensors.items():
        if t.dim() != 1 or t.shape[0] != n:
            raise InvalidInputError(
                f"`{name}` must be ({n},), one value per sequence, got {tuple(t.shape)}"
            )


def _check_binary(name: str, t: torch.Tensor) -> torch.Tensor:
    # An ERROR verdict (-1) must never reach a loss as if it were a number: the trainer decides
    # what an ERROR means (violated, or left out) before calling us.
    if t.dtype != torch.bool and bool(((t != 0) & (t != 1)).any()):
        raise InvalidInputError(
            f"`{name}` must be 0/1 or bool (map Verdict.ERROR to 0 or drop the sample first)"
        )
    return t


def loss_stats(stats: Stats | None) -> dict[str, float]:
    """The scalar entries of a loss's ``stats`` as floats under ``loss/NAME`` (for the logs)."""
    out = {}
    for k, v in dict(stats or {}).items():
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            out[f"loss/{k}"] = float(v)
        elif isinstance(v, (int, float)):
            out[f"loss/{k}"] = float(v)
    return out


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over the positions where ``mask`` is 1 (0 when the mask is empty)."""
    return (x * mask).sum() / mask.sum().clamp(min=1)


def sequence_logprobs(logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log pi(a|s) of each sequence: ``sum_t mask * logprobs``, ``(B, T) -> (B,)``."""
    _check_2d(mask, logprobs=logprobs)
    return (logprobs * mask).sum(dim=-1)  # (B,)


def crpg_loss(
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    rewards: torch.Tensor,
    baseline_rewards: torch.Tensor,
    satisfied: torch.Tensor,
    kl_max: float,
    *,
    weight_mean: float | None = None,
) -> tuple[torch.Tensor, Stats]:
    """Calibrated-Regularized Policy Gradient (CRPG; docs/method.md, "CRPG")::

        lr_i   = sum_t mask * (logprobs - ref_logprobs)                (detached)
        w_i    = max(1 - max(lr_i, 0) / kl_max, 0) * sigmoid(r_i - r_baseline_i) * [a_i satisfied]
        A_i    = w_i - mean_j w_j
        loss   = -(1/B) * sum_i A_i * sum_t mask * logprobs

    The factor is capped at 1 (``lr_i`` below 0 counts as 0): the paper's ``1 - lr/KL_max``
    exceeds 1 when the policy gives a response *less* likelihood than the reference, and would
    then reward moving away from the reference, the opposite of a regulariser (our choice,
    marked in docs/method.md).

    A violated response, or one past the KL bound, has ``w = 0`` and so a negative advantage:
    its likelihood is pushed down. There is no separate KL penalty: the factor on ``w`` is the
    regularisation. The weights come from the Rust selection (:func:`cgpo.selection.crpg_weights`,
    the formula's one home), computed in float64 and cast to the log-probabilities' dtype.

    Parameters
    ----------
    logprobs, ref_logprobs, mask : (B, T)
        Token log-probabilities under the policy (with grad) and the frozen reference.
    rewards, baseline_rewards : (B,)
        Reward-model scores of the response and of the prompt's baseline response.
    satisfied : (B,)
        1/True when the Mixture of Judges accepts the response, else 0/False.
    kl_max : float
        The task's KL bound (> 0).
    weight_mean : float, optional
        ``mean_j w_j`` over the task's whole minibatch when this batch is one data-parallel
        rank's share of it (:mod:`cgpo.distributed`); default: this batch's own mean.
    """
    if kl_max <= 0:
        raise InvalidInputError(f"`kl_max` must be > 0, got {kl_max}")
    _check_2d(mask, logprobs=logprobs, ref_logprobs=ref_logprobs)
    b = mask.shape[0]
    _check_1d(b, rewards=rewards, baseline_rewards=baseline_rewards, satisfied=satisfied)
    _check_binary("satisfied", satisfied)

    seq = (logprobs * mask).sum(dim=-1)  # (B,)
    ref_seq = (ref_logprobs * mask).sum(dim=-1)  # (B,)
    log_ratio = (seq - ref_seq).detach()  # (B,)
    with torch.no_grad():
        r = rewards.detach().double().cpu().numpy()
        rb = baseline_rewards.detach().double().cpu().numpy()
        w = selection.crpg_weights(
            r,
            rb,
            satisfied.detach().cpu().numpy(),
            log_ratio.clamp(min=0.0).double().cpu().numpy(),  # the factor stays <= 1
            kl_max,
        )
        calib = torch.as_tensor(selection.calibrated_reward(r, rb)).to(seq)  # (B,)
        weights = torch.as_tensor(w).to(seq)  # (B,)
        advantages = weights - (weights.mean() if weight_mean is None else weight_mean)  # (B,)
    loss = -(advantages * seq).mean()
    stats: Stats = {
        "loss": loss.item(),
        "log_ratio_mean": log_ratio.mean().item(),
        "weight_mean": weights.mean().item(),
        "calibrated_reward_mean": calib.mean().item(),
        "satisfied_frac": satisfied.float().mean().item(),
        "kl_clipped_frac": (log_ratio >= kl_max).float().mean().item(),
        "weights": weights,
        "advantages": advantages,
    }
    return loss, stats


def crraft_loss(
    logprobs: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, Stats]:
    """Calibrated-Regularized Reward-rAnked FineTuning (CRRAFT; docs/method.md, "CRRAFT")::

        loss = -(1/B) * sum_i weights_i * sum_t mask * logprobs

    The batch holds only the selected responses (one per prompt, see
    :func:`cgpo.selection.crraft_select`); ``weights`` are their calibrated rewards
    ``sigmoid(r - r_baseline)`` (treated as constants).

    Parameters
    ----------
    logprobs, mask : (B, T)
    weights : (B,)
    """
    _check_2d(mask, logprobs=logprobs)
    _check_1d(mask.shape[0], weights=weights)
    seq = (logprobs * mask).sum(dim=-1)  # (B,)
    w = weights.detach().to(seq.dtype)  # (B,)
    loss = -(w * seq).mean()
    stats: Stats = {
        "loss": loss.item(),
        "weight_mean": w.mean().item(),
        "logprob_mean": seq.detach().mean().item(),
    }
    return loss, stats


def _preference_margin(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
) -> torch.Tensor:
    if chosen_logps.dim() != 1:
        raise InvalidInputError(f"`chosen_logps` must be (B,), got {tuple(chosen_logps.shape)}")
    _check_1d(
        chosen_logps.shape[0],
        chosen_logps=chosen_logps,
        rejected_logps=rejected_logps,
        ref_chosen_logps=ref_chosen_logps,
        ref_rejected_logps=ref_rejected_logps,
    )
    # (log pi(a+) - log pi(a-)) - (log pi_ref(a+) - log pi_ref(a-))
    return (chosen_logps - rejected_logps) - (
        ref_chosen_logps - ref_rejected_logps
    ).detach()  # (B,)


def dpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float = 0.1,
) -> tuple[torch.Tensor, Stats]:
    """Direct Preference Optimization (Rafailov et al. 2023; the paper's offline DPO baseline)::

        loss = -mean( logsigmoid( beta * ((pc - pr) - (rc - rr)) ) )

    with ``pc, pr`` the policy's sequence log-probabilities of the chosen and rejected
    responses and ``rc, rr`` the reference's. All inputs are ``(B,)``.
    """
    margin = _preference_margin(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    logits = beta * margin  # (B,)
    loss = -F.logsigmoid(logits).mean()
    with torch.no_grad():
        chosen_reward = beta * (chosen_logps - ref_chosen_logps)
        rejected_reward = beta * (rejected_logps - ref_rejected_logps)
    stats: Stats = {
        "loss": loss.item(),
        "reward_margin": (chosen_reward - rejected_reward).mean().item(),
        "reward_accuracy": (chosen_reward > rejected_reward).float().mean().item(),
        "chosen_reward": chosen_reward.mean().item(),
        "rejected_reward": rejected_reward.mean().item(),
    }
    return loss, stats


def codpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    chosen_lengths: torch.Tensor,
    beta: float = 0.1,
    lam: float = 5.0,
) -> tuple[torch.Tensor, Stats]:
    """Constrained Online DPO (CODPO; docs/method.md, "CODPO")::

        loss = -mean( logsigmoid( beta * ((pc - pr) - (rc - rr)) ) + (lam / len_c) * pc )

    DPO plus a length-normalised NLL term on the chosen response, which keeps the likelihood of
    the judge-approved response from falling (a failure mode of plain DPO). The pairs come from
    :func:`cgpo.selection.codpo_pairs`. ``beta = 0.1, lam = 5.0`` are our defaults; the paper
    gives none.

    Parameters
    ----------
    chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps : (B,)
        Sequence log-probabilities (masked sums).
    chosen_lengths : (B,)
        Token count of each chosen response (> 0).
    """
    margin = _preference_margin(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps)
    _check_1d(margin.shape[0], chosen_lengths=chosen_lengths)
    if bool((chosen_lengths <= 0).any()):
        raise InvalidInputError("`chosen_lengths` must be > 0 (a chosen response has tokens)")
    dpo_term = F.logsigmoid(beta * margin)  # (B,)
    nll_term = lam / chosen_lengths.to(chosen_logps.dtype) * chosen_logps  # (B,)
    loss = -(dpo_term + nll_term).mean()
    with torch.no_grad():
        chosen_reward = beta * (chosen_logps - ref_chosen_logps)
        rejected_reward = beta * (rejected_logps - ref_rejected_logps)
    stats: Stats = {
        "loss": loss.item(),
        "dpo_loss": -dpo_term.detach().mean().item(),
        "nll_loss": -nll_term.detach().mean().item(),
        "reward_margin": (chosen_reward - rejected_reward).mean().item(),
        "reward_accuracy": (chosen_reward > rejected_reward).float().mean().item(),
    }
    return loss, stats


def bradley_terry_loss(
    chosen_rewards: torch.Tensor, rejected_rewards: torch.Tensor
) -> tuple[torch.Tensor, Stats]:
    """Bradley-Terry reward-model loss::

        loss = -mean( logsigmoid( r(s, a_chosen) - r(s, a_rejected) ) )

    ``chosen_rewards`` and ``rejected_rewards`` are the scalar head's outputs, ``(B,)``.
    """
    if chosen_rewards.dim() != 1:
        raise InvalidInputError(f"`chosen_rewards` must be (B,), got {tuple(chosen_rewards.shape)}")
    _check_1d(chosen_rewards.shape[0], rejected_rewards=rejected_rewards)
    diff = chosen_rewards - rejected_rewards  # (B,)
    loss = -F.logsigmoid(diff).mean()
    stats: Stats = {
        "loss": loss.item(),
        "accuracy": (diff.detach() > 0).float().mean().item(),
        "margin": diff.detach().mean().item(),
    }
    return loss, stats


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized Advantage Estimation (Schulman et al. 2016) over token positions::

        delta_t = r_t + gamma * m_{t+1} * V_{t+1} - V_t
        A_t     = delta_t + gamma * lam * m_{t+1} * A_{t+1}
        R_t     = A_t + V_t

    ``rewards, values, mask`` are ``(B, T)``; a position past the response (``m_{t+1} = 0``, or
    the end of the row) bootstraps from 0, so the episode ends at the last response token.
    Returns ``(advantages, returns)``, both ``(B, T)``, detached and zero where ``mask`` is 0.
    """
    _check_2d(mask, rewards=rewards, values=values)
    with torch.no_grad():
        m = mask.to(values.dtype)
        t_len = values.shape[1]
        advantages = torch.zeros_like(values)  # (B, T)
        next_adv = torch.zeros_like(values[:, 0])  # (B,)
        next_value = torch.zeros_like(values[:, 0])  # (B,)
        next_mask = torch.zeros_like(values[:, 0])  # (B,)
        for t in reversed(range(t_len)):
            delta = rewards[:, t] + gamma * next_mask * next_value - values[:, t]
            next_adv = delta + gamma * lam * next_mask * next_adv
            advantages[:, t] = next_adv
            next_value, next_mask = values[:, t], m[:, t]
        advantages = advantages * m
        returns = (advantages + values) * m
    return advantages, returns


def ppo_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
    value_clip: float = 0.2,
    vf_coef: float = 0.5,
) -> tuple[torch.Tensor, Stats]:
    """PPO's clipped surrogate plus clipped value loss, token-level (Schulman et al. 2017)::

        rho_t   = exp(logprobs_t - old_logprobs_t)
        L_pg    = masked_mean( max(-A_t * rho_t, -A_t * clip(rho_t, 1 - eps, 1 + eps)) )
        V'_t    = old_V_t + clip(V_t - old_V_t, -value_clip, value_clip)
        L_vf    = 0.5 * masked_mean( max((V_t - R_t)^2, (V'_t - R_t)^2) )
        loss    = L_pg + vf_coef * L_vf

    The KL penalty to the reference policy belongs in the per-token rewards fed to :func:`gae`
    (as in the paper's PPO baseline), not here. All tensors are ``(B, T)``; ``advantages`` and
    ``returns`` come from :func:`gae` and are treated as constants.
    """
    _check_2d(
        mask,
        logprobs=logprobs,
        old_logprobs=old_logprobs,
        advantages=advantages,
        values=values,
        old_values=old_values,
        returns=returns,
    )
    m = mask.to(logprobs.dtype)
    adv = advantages.detach()
    ratio = torch.exp(logprobs - old_logprobs.detach())  # (B, T)
    pg_unclipped = -adv * ratio  # (B, T)
    pg_clipped = -adv * ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps)  # (B, T)
    pg_loss = masked_mean(torch.maximum(pg_unclipped, pg_clipped), m)

    ret = returns.detach()
    old_v = old_values.detach()
    v_clipped = old_v + (values - old_v).clamp(-value_clip, value_clip)  # (B, T)
    vf_loss = 0.5 * masked_mean(torch.maximum((values - ret) ** 2, (v_clipped - ret) ** 2), m)

    loss = pg_loss + vf_coef * vf_loss
    with torch.no_grad():
        log_r = logprobs - old_logprobs
        stats: Stats = {
            "loss": loss.item(),
            "pg_loss": pg_loss.item(),
            "vf_loss": vf_loss.item(),
            "clip_frac": masked_mean((pg_clipped > pg_unclipped).to(m.dtype), m).item(),
            "vf_clip_frac": masked_mean(
                ((v_clipped - ret) ** 2 > (values - ret) ** 2).to(m.dtype), m
            ).item(),
            # k3 estimator of KL(old || new): non-negative and low-variance.
            "approx_kl": masked_mean(torch.exp(-log_r) - 1 + log_r, m).item(),
            "ratio_mean": masked_mean(ratio, m).item(),
        }
    return loss, stats
