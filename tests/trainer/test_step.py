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
    loss.backward()
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
