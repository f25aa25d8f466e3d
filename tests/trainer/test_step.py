"""One step of each constrained optimizer moves log-probabilities the way CGPO says it should."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny_models import make_rollout, sequence_logps  # noqa: E402

from cgpo.trainer.config import Task  # noqa: E402
from cgpo.trainer.generation import rollout_from_texts  # noqa: E402
from cgpo.trainer.step import Reference, ScoredRollout, select_rows, task_loss  # noqa: E402


def _one_step(
    task: Task,
    model: Any,
    tok: Any,
    verdicts: list[int],
    rewards: list[float],
    baseline_ok: bool = False,
    lr: float = 0.05,
) -> tuple[torch.Tensor, torch.Tensor]:
    r = make_rollout(tok)
    reference = Reference(copy.deepcopy(model).requires_grad_(False))
    scored = ScoredRollout(
        r,
        np.array(verdicts),
        np.array(rewards, dtype=np.float64),
        np.zeros(len(rewards)),
        np.array([baseline_ok]),
    )
    before = sequence_logps(model, r)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss, _ = task_loss(
        task, model, reference, scored, lambda groups: make_rollout(tok, ["aaab"] * len(groups))
    )
    assert loss is not None  # task_loss has backpropagated it
    opt.step()
    return before, sequence_logps(model, r)


def test_crpg_pushes_satisfied_high_reward_up_and_violated_down(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], optimizer="crpg", kl_max=10.0)
    before, after = _one_step(
        task, tiny_model, tiny_tokenizer, verdicts=[1, 1, 0, 0], rewards=[3.0, -3.0, 5.0, 5.0]
    )
    delta = (after - before).tolist()
    assert delta[0] > 0  # satisfied, high reward: w = sigmoid(3) ~ .95, A > 0
    assert delta[2] < 0 and delta[3] < 0  # violated despite the highest reward: w = 0, A < 0


def test_crpg_without_satisfied_responses_has_no_loss(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], optimizer="crpg")
    r = make_rollout(tiny_tokenizer)
    scored = ScoredRollout(
        r, np.zeros(4, dtype=np.int64), np.arange(4.0), np.zeros(4), np.array([False])
    )
    loss, _ = task_loss(task, tiny_model, Reference(copy.deepcopy(tiny_model)), scored, lambda g: r)
    assert loss is None  # all w = 0 -> all advantages 0 -> no gradient to compute


def test_crpg_skips_error_rows(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], optimizer="crpg", on_error="skip")
    r = make_rollout(tiny_tokenizer)
    scored = ScoredRollout(
        r, np.array([-1, -1, -1, -1]), np.zeros(4), np.zeros(4), np.array([False])
    )
    loss, stats = task_loss(
        task, tiny_model, Reference(copy.deepcopy(tiny_model)), scored, lambda g: r
    )
    assert loss is None and stats["rows_used"] == 0


def test_crraft_pushes_the_selected_response_up(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], optimizer="crraft", kl_max=10.0)
    # satisfied: rows 0 and 1; the highest reward among them is row 1
    before, after = _one_step(
        task,
        tiny_model,
        tiny_tokenizer,
        verdicts=[1, 1, 0, 0],
        rewards=[0.0, 2.0, 9.0, 9.0],
        lr=0.2,
    )
    delta = (after - before).tolist()
    assert delta[1] > 0
    assert delta[1] == max(delta)


def test_crraft_falls_back_to_an_accepted_baseline(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], optimizer="crraft")
    r = make_rollout(tiny_tokenizer)
    scored = ScoredRollout(r, np.array([0, 0, 0, 0]), np.ones(4), np.zeros(4), np.array([True]))
    loss, stats = task_loss(
        task,
        tiny_model,
        Reference(copy.deepcopy(tiny_model)),
        scored,
        lambda g: make_rollout(tiny_tokenizer, ["aaab"] * len(g)),
    )
    assert loss is not None
    assert stats["selected"] == 0 and stats["baseline_fallbacks"] == 1
    # nothing satisfied and the baseline rejected: the prompt is skipped
    scored.baseline_satisfied[:] = False
    loss, _ = task_loss(task, tiny_model, Reference(copy.deepcopy(tiny_model)), scored, lambda g: r)
    assert loss is None


def test_codpo_moves_chosen_above_rejected(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], optimizer="codpo", beta=0.5, lam=0.0)
    # chosen: highest reward among satisfied = row 0; rejected: lowest among violated = row 3
    before, after = _one_step(
        task,
        tiny_model,
        tiny_tokenizer,
        verdicts=[1, 1, 0, 0],
        rewards=[2.0, 1.0, 5.0, -1.0],
        lr=0.05,
    )
    assert (after[0] - after[3]) > (before[0] - before[3])


def test_select_rows_trims_padding(tiny_tokenizer):
    r = rollout_from_texts(tiny_tokenizer, ["ab", "abcdef"], ["x", "xyz12"], [0, 1])
    sub = select_rows(r, [0])
    assert sub.prompt_ids.shape == (1, 2) and sub.completion_ids.shape == (1, 2)  # "x" + EOS
    assert sub.texts == ["x"] and sub.group_ids.tolist() == [0]


def _grads(model: Any) -> list[torch.Tensor]:
    out = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=False)
    return out


@pytest.mark.parametrize("optimizer", ["crpg", "crraft", "codpo"])
@pytest.mark.parametrize("kept_logprobs", [False, True])
def test_micro_batches_give_the_full_batch_gradient(
    tiny_model: Any, tiny_tokenizer: Any, optimizer: str, kept_logprobs: bool
) -> None:
    from cgpo.losses import codpo_loss, crpg_loss, crraft_loss
    from cgpo.trainer.generation import sequence_logprobs
    from cgpo.trainer.step import UpdateSettings

    task = Task(name="t", data=[{"prompt": "x"}], optimizer=optimizer, kl_max=0.5)
    model = tiny_model.requires_grad_(True)
    ref_model = copy.deepcopy(model).requires_grad_(False)
    with torch.no_grad():  # a reference that differs, so some log-ratios pass kl_max
        for p in ref_model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    r = make_rollout(tiny_tokenizer, ["aaaa", "bbbbbb", "zzz", "qqqqq", "ab", "cccccccc"])
    verdicts, rewards = np.array([1, 1, 0, 1, 0, 1]), np.array([0.5, 2.0, 3.0, -1.0, 0.0, 1.0])
    scored = ScoredRollout(r, verdicts, rewards, np.zeros(6), np.array([False]))

    def lp(m: Any, x: Any) -> torch.Tensor:
        return sequence_logprobs(
            m, x.prompt_ids, x.prompt_mask, x.completion_ids, x.completion_mask
        )

    # the plain full-batch loss, as one backward pass
    mask = r.completion_mask
    with torch.no_grad():
        ref = lp(ref_model, r)
    if optimizer == "crpg":
        loss, _ = crpg_loss(
            lp(model, r),
            ref,
            mask,
            torch.tensor(rewards),
            torch.zeros(6),
            torch.tensor(verdicts),
            task.kl_max,
        )
    elif optimizer == "crraft":  # picks row 1 (satisfied, top reward) unless its KL is too big
        from cgpo import selection

        log_ratio = ((lp(model, r).detach() - ref) * mask).sum(1).double().numpy()
        sel = selection.crraft_select(
            np.zeros(6, dtype=np.int64), rewards, verdicts == 1, log_ratio, task.kl_max
        )
        row = int(sel.selected[0])
        assert row >= 0
        x = select_rows(r, [row])
        w = torch.sigmoid(torch.tensor([rewards[row]], dtype=torch.float32))
        loss, _ = crraft_loss(lp(model, x), x.completion_mask, w)
    else:  # chosen: row 1 (top satisfied); rejected: row 4 (lowest violated)
        x = select_rows(r, [1, 4])
        seq = (lp(model, x) * x.completion_mask).sum(1)
        rseq = (lp(ref_model, x) * x.completion_mask).sum(1)
        loss, _ = codpo_loss(
            seq[:1],
            seq[1:],
            rseq[:1],
            rseq[1:],
            x.completion_mask[:1].sum(1).float(),
            beta=task.beta,
            lam=task.lam,
        )
    (0.5 * loss).backward()
    full = _grads(model)

    if kept_logprobs:  # as the sampler hands them over
        with torch.no_grad():
            r.logprobs = lp(model, r).float()
    got, _ = task_loss(
        task, model, Reference(ref_model), scored, lambda g: r, UpdateSettings(0.5, 1)
    )
    assert got is not None
    torch.testing.assert_close(float(got), float(loss.detach()), rtol=1e-4, atol=1e-5)
    for a, b in zip(_grads(model), full, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-6)


def test_a_zero_weight_task_runs_no_backward(tiny_model: Any, tiny_tokenizer: Any) -> None:
    from cgpo.trainer.step import UpdateSettings

    task = Task(name="t", data=[{"prompt": "x"}], optimizer="crpg")
    r = make_rollout(tiny_tokenizer)
    scored = ScoredRollout(
        r, np.array([1, 0, 1, 0]), np.arange(4.0), np.zeros(4), np.array([False])
    )
    loss, _ = task_loss(
        task,
        tiny_model,
        Reference(copy.deepcopy(tiny_model)),
        scored,
        lambda g: r,
        UpdateSettings(0.0, 2),
    )
    assert loss is not None
    assert all(p.grad is None for p in tiny_model.parameters())
