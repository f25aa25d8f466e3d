"""One step of each constrained algorithm moves log-probabilities the way CGPO says it should."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from tiny_models import make_batch, make_rollout, sequence_logps, task_loss  # noqa: E402

from cgpo.config.task import Task  # noqa: E402
from cgpo.rollout.generation import rollout_from_texts  # noqa: E402


def _one_step(
    task: Task,
    model: Any,
    tok: Any,
    verdicts: list[int],
    rewards: list[float],
    baseline_ok: bool = False,
    lr: float = 0.05,
) -> tuple[torch.Tensor, torch.Tensor]:
    batch = make_batch(tok, verdicts, rewards, baseline_ok=baseline_ok)
    before = sequence_logps(model, batch.rollout)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss, _ = task_loss(task, model, tok, batch)
    assert loss is not None
    if loss.requires_grad:  # else the algorithm has backpropagated it (micro-batched)
        loss.backward()
    opt.step()
    return before, sequence_logps(model, batch.rollout)


def test_crpg_pushes_satisfied_high_reward_up_and_violated_down(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], algorithm="crpg", kl_max=10.0)
    before, after = _one_step(
        task, tiny_model, tiny_tokenizer, verdicts=[1, 1, 0, 0], rewards=[3.0, -3.0, 5.0, 5.0]
    )
    delta = (after - before).tolist()
    assert delta[0] > 0  # satisfied, high reward: w = sigmoid(3) ~ .95, A > 0
    assert delta[2] < 0 and delta[3] < 0  # violated despite the highest reward: w = 0, A < 0


def test_crpg_without_satisfied_responses_has_no_loss(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], algorithm="crpg")
    batch = make_batch(tiny_tokenizer, [0, 0, 0, 0], [0.0, 1.0, 2.0, 3.0])
    loss, _ = task_loss(task, tiny_model, tiny_tokenizer, batch)
    assert loss is None  # all w = 0 -> all advantages 0 -> no gradient to compute


def test_crpg_skips_error_rows(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], algorithm="crpg", on_error="skip")
    batch = make_batch(tiny_tokenizer, [-1, -1, -1, -1], [0.0] * 4)
    loss, stats = task_loss(task, tiny_model, tiny_tokenizer, batch)
    assert loss is None and stats["rows_used"] == 0


def test_crraft_pushes_the_selected_response_up(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], algorithm="crraft", kl_max=10.0)
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


def test_crraft_skips_a_prompt_without_a_pass_by_default(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], algorithm="crraft")
    batch = make_batch(tiny_tokenizer, [0, 0, 0, 0], [1.0] * 4, baseline_ok=True)
    loss, _ = task_loss(task, tiny_model, tiny_tokenizer, batch)
    assert loss is None  # the baseline is accepted, but the fallback is opt-in


def test_crraft_falls_back_to_an_accepted_baseline(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], algorithm="crraft", baseline_fallback=True)
    batch = make_batch(tiny_tokenizer, [0, 0, 0, 0], [1.0] * 4, baseline_ok=True)
    loss, stats = task_loss(task, tiny_model, tiny_tokenizer, batch)
    assert loss is not None
    assert stats["selected"] == 0 and stats["baseline_fallbacks"] == 1
    # the fallback trains on the baseline response itself: its likelihood goes up
    baseline = make_rollout(tiny_tokenizer, ["aaab"])
    before = sequence_logps(tiny_model, baseline)
    assert not loss.requires_grad  # the algorithm has backpropagated it, micro-batched
    torch.optim.SGD(tiny_model.parameters(), lr=0.2).step()
    assert float(sequence_logps(tiny_model, baseline)[0]) > float(before[0])
    # nothing satisfied and the baseline rejected: the prompt is skipped
    batch.baseline_satisfied[:] = False
    loss, _ = task_loss(task, tiny_model, tiny_tokenizer, batch)
    assert loss is None


def test_codpo_moves_chosen_above_rejected(tiny_model, tiny_tokenizer):
    task = Task(name="t", data=[{"prompt": "x"}], algorithm="codpo", beta=0.5, lam=0.0)
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


def test_select_trims_padding(tiny_tokenizer):
    r = rollout_from_texts(tiny_tokenizer, ["ab", "abcdef"], ["x", "xyz12"], [0, 1])
    sub = r.select([0])
    assert sub.prompt_ids.shape == (1, 2) and sub.completion_ids.shape == (1, 2)  # "x" + EOS
    assert sub.texts == ["x"] and sub.group_ids.tolist() == [0]


def _grads(model: Any) -> list[torch.Tensor]:
    out = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=False)
    return out


def _plain_loss(algorithm: str, model: Any, ref_model: Any, batch: Any, task: Task) -> Any:
    """The algorithm's loss over the whole batch with one graph (the textbook computation)."""
    import numpy as np

    from cgpo import selection
    from cgpo.losses import codpo_loss, crpg_loss, crraft_loss
    from cgpo.rollout.logprobs import completion_logprobs as lp

    r, mask = batch.rollout, batch.rollout.completion_mask
    rewards, verdicts = batch.rewards, batch.update_verdicts
    with torch.no_grad():
        ref = lp(ref_model, r)
    if algorithm == "crpg":
        return crpg_loss(
            lp(model, r),
            ref,
            mask,
            torch.tensor(rewards),
            torch.zeros(len(rewards)),
            torch.tensor(verdicts),
            task.kl_max,
        )[0]
    if algorithm == "crraft":
        log_ratio = ((lp(model, r).detach() - ref) * mask).sum(1).double().numpy()
        sel = selection.crraft_select(
            np.zeros(len(rewards), dtype=np.int64), rewards, verdicts == 1, log_ratio, task.kl_max
        )
        row = int(sel.selected[0])
        assert row >= 0
        x = r.select([row])
        w = torch.sigmoid(torch.tensor([rewards[row]], dtype=torch.float32))
        return crraft_loss(lp(model, x), x.completion_mask, w)[0]
    pairs = selection.codpo_pairs(np.zeros(len(rewards), dtype=np.int64), rewards, verdicts == 1)
    x = r.select([int(pairs.chosen[0]), int(pairs.rejected[0])])
    seq = (lp(model, x) * x.completion_mask).sum(1)
    rseq = (lp(ref_model, x) * x.completion_mask).sum(1)
    lengths = x.completion_mask[:1].sum(1).float()
    return codpo_loss(seq[:1], seq[1:], rseq[:1], rseq[1:], lengths, beta=task.beta, lam=task.lam)[
        0
    ]


@pytest.mark.parametrize("algorithm", ["crpg", "crraft", "codpo"])
@pytest.mark.parametrize("kept_logprobs", [False, True])
def test_micro_batches_give_the_full_batch_gradient(
    tiny_model: Any, tiny_tokenizer: Any, algorithm: str, kept_logprobs: bool
) -> None:
    import copy

    from cgpo.algorithms import Models, get_algorithm
    from cgpo.rollout.logprobs import Reference, completion_logprobs

    task = Task(name="t", data=[{"prompt": "x"}], algorithm=algorithm, kl_max=0.5)
    model = tiny_model.requires_grad_(True)
    ref_model = copy.deepcopy(model).requires_grad_(False)
    with torch.no_grad():  # a reference that differs, so some log-ratios pass kl_max
        for p in ref_model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    batch = make_batch(
        tiny_tokenizer,
        [1, 1, 0, 1, 0, 1],
        [0.5, 2.0, 3.0, -1.0, 0.0, 1.0],
        completions=["aaaa", "bbbbbb", "zzz", "qqqqq", "ab", "cccccccc"],
    )
    (0.5 * _plain_loss(algorithm, model, ref_model, batch, task)).backward()
    full = _grads(model)

    if kept_logprobs:  # as the sampler hands them over
        with torch.no_grad():
            batch.rollout.logprobs = completion_logprobs(model, batch.rollout).float()
    alg = get_algorithm(algorithm)
    models = Models(model, Reference(ref_model), tiny_tokenizer, micro_batch_size=1, loss_scale=0.5)
    got, _ = alg.loss(batch, models, alg.settings(task))
    assert got is not None and not got.requires_grad  # backpropagated already
    for a, b in zip(_grads(model), full, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-6)


def test_a_zero_weight_task_runs_no_backward(tiny_model: Any, tiny_tokenizer: Any) -> None:
    import copy

    from cgpo.algorithms import Models, get_algorithm
    from cgpo.rollout.logprobs import Reference

    alg = get_algorithm("crpg")
    batch = make_batch(tiny_tokenizer, [1, 0, 1, 0], [0.0, 1.0, 2.0, 3.0])
    models = Models(
        tiny_model, Reference(copy.deepcopy(tiny_model)), tiny_tokenizer, loss_scale=0.0
    )
    task = Task(name="t", data=[{"prompt": "x"}], algorithm="crpg")
    loss, _ = alg.loss(batch, models, alg.settings(task))
    assert loss is not None
    assert all(p.grad is None for p in tiny_model.parameters())
