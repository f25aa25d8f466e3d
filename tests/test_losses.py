"""cgpo.losses: values and gradients against numbers worked out by hand (in the comments)."""

from __future__ import annotations

import math

import pytest
import torch

from cgpo import InvalidInputError
from cgpo.losses import (
    bradley_terry_loss,
    codpo_loss,
    crpg_loss,
    crraft_loss,
    dpo_loss,
    gae,
    masked_mean,
    ppo_loss,
    sequence_logprobs,
)

D = torch.float64


def t(x: object, grad: bool = False) -> torch.Tensor:
    return torch.tensor(x, dtype=D, requires_grad=grad)


def close(a: torch.Tensor | float, b: object) -> None:
    torch.testing.assert_close(torch.as_tensor(a, dtype=D), torch.as_tensor(b, dtype=D))


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# ---------------------------------------------------------------------------------------------
# CRPG
# seq logp = [-3, -0.5, -2], ref = [-3.5, -1, -4]  -> log_ratio = [0.5, 0.5, 2]
# kl_max = 1 -> factor = [0.5, 0.5, 0]; calib = sigmoid([ln 3, 0, 0]) = [0.75, 0.5, 0.5]
# satisfied = [1, 0, 1] -> w = [0.375, 0, 0], mean 0.125 -> A = [0.25, -0.125, -0.125]
# loss = -(0.25*-3 - 0.125*-0.5 - 0.125*-2) / 3 = 0.4375 / 3 = 7/48
# d loss / d logprobs[i, t] = -A_i * mask[i, t] / 3
# ---------------------------------------------------------------------------------------------
def crpg_inputs() -> dict[str, torch.Tensor]:
    return {
        "logprobs": t([[-1.0, -2.0], [-0.5, -3.0], [-1.0, -1.0]], grad=True),
        "ref_logprobs": t([[-1.5, -2.0], [-1.0, -9.0], [-2.0, -2.0]]),
        "mask": t([[1, 1], [1, 0], [1, 1]]),
        "rewards": t([math.log(3.0), 0.0, 0.0]),
        "baseline_rewards": t([0.0, 0.0, 0.0]),
        "satisfied": torch.tensor([True, False, True]),
    }


def test_crpg_value_and_gradient() -> None:
    x = crpg_inputs()
    loss, stats = crpg_loss(**x, kl_max=1.0)
    close(loss, 7 / 48)
    close(stats["weights"], [0.375, 0.0, 0.0])
    close(stats["advantages"], [0.25, -0.125, -0.125])
    assert stats["kl_clipped_frac"] == pytest.approx(1 / 3)
    loss.backward()
    close(x["logprobs"].grad, [[-1 / 12, -1 / 12], [1 / 24, 0.0], [1 / 24, 1 / 24]])


def test_crpg_accepts_float_satisfied_and_rejects_error_verdicts() -> None:
    x = crpg_inputs()
    x["satisfied"] = t([1.0, 0.0, 1.0])
    loss, _ = crpg_loss(**x, kl_max=1.0)
    close(loss, 7 / 48)
    x["satisfied"] = t([1.0, -1.0, 1.0])
    with pytest.raises(InvalidInputError, match="satisfied"):
        crpg_loss(**x, kl_max=1.0)


def test_crpg_all_equal_weights_give_zero_loss_and_gradient() -> None:
    # A_i = w_i - mean(w) = 0 when every response is equally good: nothing to learn.
    x = crpg_inputs()
    x["satisfied"] = torch.tensor([False, False, False])
    loss, _ = crpg_loss(**x, kl_max=1.0)
    close(loss, 0.0)
    loss.backward()
    close(x["logprobs"].grad, torch.zeros(3, 2, dtype=D))


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("rewards", t([0.0, 0.0]), "rewards"),
        ("ref_logprobs", t([[0.0, 0.0]]), "ref_logprobs"),
        ("mask", t([1.0, 1.0, 1.0]), "mask"),
    ],
)
def test_crpg_shape_errors_name_the_argument(key: str, value: torch.Tensor, match: str) -> None:
    x = crpg_inputs()
    x[key] = value
    with pytest.raises(InvalidInputError, match=match):
        crpg_loss(**x, kl_max=1.0)


def test_crpg_rejects_non_positive_kl_max() -> None:
    with pytest.raises(InvalidInputError, match="kl_max"):
        crpg_loss(**crpg_inputs(), kl_max=0.0)


# ---------------------------------------------------------------------------------------------
# CRRAFT: seq = [-3, -0.5], w = [0.5, 1] -> loss = -(0.5*-3 + 1*-0.5)/2 = 1.0
# grad = -w_i * mask / 2 = [[-0.25, -0.25], [-0.5, 0]]
# ---------------------------------------------------------------------------------------------
def test_crraft_value_and_gradient() -> None:
    logprobs = t([[-1.0, -2.0], [-0.5, -3.0]], grad=True)
    mask = t([[1, 1], [1, 0]])
    loss, stats = crraft_loss(logprobs, mask, t([0.5, 1.0]))
    close(loss, 1.0)
    assert stats["weight_mean"] == pytest.approx(0.75)
    loss.backward()
    close(logprobs.grad, [[-0.25, -0.25], [-0.5, 0.0]])


def test_crraft_weights_are_constants() -> None:
    w = t([0.5, 1.0], grad=True)
    loss, _ = crraft_loss(t([[-1.0], [-2.0]], grad=True), t([[1], [1]]), w)
    loss.backward()
    assert w.grad is None


# ---------------------------------------------------------------------------------------------
# DPO, beta = 0.5: pair 0 margin = (-1 - -2) - (-1.5 - -1.5) = 1 -> softplus(-0.5)
#                  pair 1 margin 0 -> ln 2;  loss = (softplus(-0.5) + ln 2) / 2
# d/d pc_i = -beta * (1 - sigmoid(beta * margin_i)) / 2 ; d/d pr_i = the opposite
# ---------------------------------------------------------------------------------------------
def dpo_inputs() -> tuple[torch.Tensor, ...]:
    return (
        t([-1.0, -3.0], grad=True),  # chosen
        t([-2.0, -3.0], grad=True),  # rejected
        t([-1.5, -3.0]),  # ref chosen
        t([-1.5, -3.0]),  # ref rejected
    )


def test_dpo_value_and_gradient() -> None:
    pc, pr, rc, rr = dpo_inputs()
    loss, stats = dpo_loss(pc, pr, rc, rr, beta=0.5)
    close(loss, (softplus(-0.5) + math.log(2)) / 2)
    assert stats["reward_accuracy"] == pytest.approx(0.5)
    loss.backward()
    g0 = -0.5 * (1 - sigmoid(0.5)) / 2
    g1 = -0.5 * 0.5 / 2
    close(pc.grad, [g0, g1])
    close(pr.grad, [-g0, -g1])


# CODPO = DPO + lam / len_c * pc: lam = 2, len = [2, 4] -> nll = [-1, -1.5]; loss = DPO + 1.25
# d/d pc_i gets an extra -lam / len_i / 2 = [-0.5, -0.25]
def test_codpo_value_and_gradient() -> None:
    pc, pr, rc, rr = dpo_inputs()
    loss, stats = codpo_loss(pc, pr, rc, rr, torch.tensor([2, 4]), beta=0.5, lam=2.0)
    close(loss, (softplus(-0.5) + math.log(2)) / 2 + 1.25)
    assert stats["nll_loss"] == pytest.approx(1.25)
    loss.backward()
    g0 = -0.5 * (1 - sigmoid(0.5)) / 2
    g1 = -0.5 * 0.5 / 2
    close(pc.grad, [g0 - 0.5, g1 - 0.25])
    close(pr.grad, [-g0, -g1])


def test_codpo_with_lam_zero_is_dpo() -> None:
    pc, pr, rc, rr = dpo_inputs()
    a, _ = codpo_loss(pc, pr, rc, rr, torch.tensor([2, 4]), beta=0.3, lam=0.0)
    b, _ = dpo_loss(pc, pr, rc, rr, beta=0.3)
    close(a, b)


def test_codpo_rejects_bad_lengths() -> None:
    pc, pr, rc, rr = dpo_inputs()
    with pytest.raises(InvalidInputError, match="chosen_lengths"):
        codpo_loss(pc, pr, rc, rr, torch.tensor([2, 0]))
    with pytest.raises(InvalidInputError, match="chosen_lengths"):
        codpo_loss(pc, pr, rc, rr, torch.tensor([2]))


def test_reference_logps_get_no_gradient() -> None:
    pc, pr, _, _ = dpo_inputs()
    rc, rr = t([-1.5, -3.0], grad=True), t([-1.5, -3.0], grad=True)
    loss, _ = dpo_loss(pc, pr, rc, rr)
    loss.backward()
    assert rc.grad is None and rr.grad is None


# ---------------------------------------------------------------------------------------------
# Bradley-Terry: d = [1, 0] -> loss = (softplus(-1) + ln 2) / 2; grad chosen = -(1 - sigmoid(d))/2
# ---------------------------------------------------------------------------------------------
def test_bradley_terry_value_and_gradient() -> None:
    rc, rr = t([1.0, 0.0], grad=True), t([0.0, 0.0], grad=True)
    loss, stats = bradley_terry_loss(rc, rr)
    close(loss, (softplus(-1.0) + math.log(2)) / 2)
    assert stats["accuracy"] == pytest.approx(0.5)
    loss.backward()
    g = [-(1 - sigmoid(1.0)) / 2, -0.25]
    close(rc.grad, g)
    close(rr.grad, [-g[0], -g[1]])


def test_bradley_terry_shape_mismatch() -> None:
    with pytest.raises(InvalidInputError, match="rejected_rewards"):
        bradley_terry_loss(t([1.0, 0.0]), t([0.0]))


# ---------------------------------------------------------------------------------------------
# GAE, gamma = 0.9, lam = 0.5, mask = [1, 1, 0], r = [0, 1, 5], V = [0.5, 0.2, 9]
# t=1 (last response token, next masked): delta = 1 - 0.2 = 0.8, A = 0.8
# t=0: delta = 0 + 0.9*0.2 - 0.5 = -0.32, A = -0.32 + 0.9*0.5*0.8 = 0.04
# returns = A + V = [0.54, 1.0, 0]
# ---------------------------------------------------------------------------------------------
def test_gae_by_hand() -> None:
    adv, ret = gae(t([[0.0, 1.0, 5.0]]), t([[0.5, 0.2, 9.0]]), t([[1, 1, 0]]), gamma=0.9, lam=0.5)
    close(adv, [[0.04, 0.8, 0.0]])
    close(ret, [[0.54, 1.0, 0.0]])


def test_gae_with_lam_one_and_gamma_one_is_reward_to_go_minus_value() -> None:
    r = t([[0.1, 0.2, 0.3, 0.4]])
    v = t([[1.0, 2.0, 3.0, 4.0]])
    adv, ret = gae(r, v, t([[1, 1, 1, 1]]), gamma=1.0, lam=1.0)
    close(ret, [[1.0, 0.9, 0.7, 0.4]])
    close(adv, ret - v)


# ---------------------------------------------------------------------------------------------
# PPO, eps = 0.2, mask = [1, 1, 0], ratio = [1.5, 0.5, 1], A = [1, 1, 7]
# t0: max(-1.5, -1.2) = -1.2 (clipped: no gradient); t1: max(-0.5, -0.8) = -0.5 (grad -A*ratio)
# L_pg = (-1.2 - 0.5) / 2 = -0.85; d/d logprobs = [0, -0.5 / 2, 0]
# values V = [1, 0.3, 3], old = [0.5, 0.2, 0], R = [2, 0, 0], value_clip = 0.2
# t0: V' = 0.7, max((1-2)^2, (0.7-2)^2) = 1.69 (clipped: no gradient); t1: V' = V = 0.3 -> 0.09
# L_vf = 0.5 * (1.69 + 0.09) / 2 = 0.445; loss = -0.85 + 0.5 * 0.445 = -0.6275
# d loss/d V1 = 0.5 * 0.5 * 2 * 0.3 / 2 = 0.075
# ---------------------------------------------------------------------------------------------
def test_ppo_value_and_gradient() -> None:
    logprobs = t([[math.log(1.5), math.log(0.5), 0.0]], grad=True)
    values = t([[1.0, 0.3, 3.0]], grad=True)
    loss, stats = ppo_loss(
        logprobs,
        old_logprobs=t([[0.0, 0.0, 0.0]]),
        advantages=t([[1.0, 1.0, 7.0]]),
        values=values,
        old_values=t([[0.5, 0.2, 0.0]]),
        returns=t([[2.0, 0.0, 0.0]]),
        mask=t([[1, 1, 0]]),
        clip_eps=0.2,
        value_clip=0.2,
        vf_coef=0.5,
    )
    close(loss, -0.6275)
    assert stats["pg_loss"] == pytest.approx(-0.85)
    assert stats["vf_loss"] == pytest.approx(0.445)
    assert stats["clip_frac"] == pytest.approx(0.5)
    loss.backward()
    close(logprobs.grad, [[0.0, -0.25, 0.0]])
    close(values.grad, [[0.0, 0.075, 0.0]])


def test_helpers() -> None:
    close(masked_mean(t([[1.0, 2.0, 100.0]]), t([[1, 1, 0]])), 1.5)
    close(masked_mean(t([[1.0]]), t([[0]])), 0.0)
    close(sequence_logprobs(t([[-1.0, -2.0], [-0.5, -3.0]]), t([[1, 1], [1, 0]])), [-3.0, -0.5])


def test_crpg_weights_agree_with_cgpo_selection() -> None:
    import numpy as np

    from cgpo.selection import crpg_weights

    g = torch.Generator().manual_seed(0)
    logprobs = -torch.rand(16, 5, generator=g, dtype=D)
    ref = -torch.rand(16, 5, generator=g, dtype=D)
    mask = (torch.rand(16, 5, generator=g) > 0.3).to(D)
    rewards, baseline = torch.randn(16, generator=g, dtype=D), torch.randn(16, generator=g, dtype=D)
    sat = torch.rand(16, generator=g) > 0.4
    _, stats = crpg_loss(logprobs, ref, mask, rewards, baseline, sat, kl_max=0.7)
    # a negative log-ratio counts as 0, so the KL factor never exceeds 1
    log_ratio = ((logprobs - ref) * mask).sum(-1).clamp(min=0.0)
    want = crpg_weights(rewards.numpy(), baseline.numpy(), sat.numpy(), log_ratio.numpy(), 0.7)
    np.testing.assert_allclose(stats["weights"].numpy(), want, rtol=1e-12, atol=1e-15)


def test_crpg_kl_factor_is_capped_at_one() -> None:
    # worked by hand: a satisfied response the policy likes less than the reference (log-ratio
    # -2) keeps factor 1, not 1 + 2/kl_max; calibrated reward sigmoid(0) = 0.5 -> w = 0.5
    logprobs = t([[-2.0], [-1.0]])
    ref = t([[0.0], [-1.0]])
    mask = t([[1.0], [1.0]])
    _, stats = crpg_loss(
        logprobs, ref, mask, t([0.0, 0.0]), t([0.0, 0.0]), torch.tensor([True, False]), kl_max=1.0
    )
    close(stats["weights"], [0.5, 0.0])
