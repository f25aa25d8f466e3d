"""The PPO and DPO baselines: one step moves log-probabilities the expected way, PPO's per-token
reward is what docs/method.md says, and their settings are validated."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny_models import (  # noqa: E402
    make_batch,
    make_model,
    make_parity_judge,
    make_tokenizer,
    sequence_logps,
)

from cgpo.algorithms import Models, get_algorithm  # noqa: E402
from cgpo.algorithms.dpo import DPOSettings, preference_rollout  # noqa: E402
from cgpo.config.generation import GenerationConfig  # noqa: E402
from cgpo.config.run import CGPOConfig  # noqa: E402
from cgpo.config.task import Task  # noqa: E402
from cgpo.data import build_prompts  # noqa: E402
from cgpo.errors import ConfigError, InvalidInputError  # noqa: E402
from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict  # noqa: E402
from cgpo.rollout.batch import Rollout, RolloutBatch  # noqa: E402
from cgpo.rollout.logprobs import Reference  # noqa: E402
from cgpo.rollout.value_head import (  # noqa: E402
    VALUE_HEAD,
    attach_value_head,
    logprobs_and_values,
    token_rewards,
)
from cgpo.trainer import CGPOTrainer  # noqa: E402

# -- PPO -----------------------------------------------------------------------------------------


def test_token_rewards_hand_worked():
    logp = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.5, 0.0]])
    ref = torch.tensor([[-1.5, -1.0, -3.0], [-1.0, -0.5, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    r = token_rewards(torch.tensor([2.0, -1.0]), logp, ref, mask, kl_coef=0.1)
    # row 0: -0.1 * (0.5, -1, 0) and the score 2 on the last token (index 2)
    # row 1: -0.1 * (0.5, 0) and the score -1 on index 1; the pad position stays 0
    expected = torch.tensor([[-0.05, 0.1, 2.0], [-0.05, -1.0, 0.0]])
    assert torch.allclose(r, expected, atol=1e-6)


def _ppo_step(
    model: Any, tok: Any, scores: list[float], task: Task, lr: float = 0.05
) -> tuple[torch.Tensor, torch.Tensor, Any, Rollout, dict[str, float]]:
    batch = make_batch(tok, [0] * len(scores), scores)  # judges ignored by PPO
    r = batch.rollout
    reference = Reference(copy.deepcopy(model).requires_grad_(False))
    ppo = get_algorithm("ppo")
    ppo.prepare_policy(model)
    before = sequence_logps(model, r)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss, stats = ppo.loss(batch, Models(model, reference, tok), ppo.settings(task))
    loss.backward()
    opt.step()
    return before, sequence_logps(model, r), reference, r, stats


def test_ppo_pushes_positive_advantage_responses_up(tiny_model, tiny_tokenizer):
    task = Task(
        name="t",
        data=[{"prompt": "x"}],
        algorithm="ppo",
        samples_per_prompt=4,
        ppo={"kl_coef": 0.0},
    )
    before, after, _, _, stats = _ppo_step(tiny_model, tiny_tokenizer, [2.0, 2.0, -2.0, -2.0], task)
    delta = (after - before).tolist()
    # the value head starts at 0, so whitened advantages follow the scores' signs
    assert delta[0] > 0 and delta[1] > 0
    assert delta[2] < 0 and delta[3] < 0
    assert stats["kl"] == pytest.approx(0.0, abs=1e-5)  # policy == reference before the step


def test_ppo_ignores_judges_and_trains_the_value_head(tiny_model, tiny_tokenizer):
    task = Task(
        name="t",
        data=[{"prompt": "x"}],
        algorithm="ppo",
        samples_per_prompt=4,
        ppo={"kl_coef": 0.0, "whiten_advantages": False, "value_clip": 100.0},
    )
    head = attach_value_head(tiny_model)
    assert any(p is head.weight for p in tiny_model.parameters())  # the optimizer sees it
    _, _, _, r, _ = _ppo_step(tiny_model, tiny_tokenizer, [1.0, 1.0, 1.0, 1.0], task, lr=0.5)
    # every return is 1 (gamma = 1, no KL): one SGD step moves the zero values towards it
    with torch.no_grad():
        _, values = logprobs_and_values(tiny_model, r)
    m = r.completion_mask.bool()
    assert float(values[m].mean()) > 0.0
    assert float(getattr(tiny_model, VALUE_HEAD).bias.detach()) > 0.0


# -- DPO -----------------------------------------------------------------------------------------

PAIRS = [
    {"prompt": "say a", "chosen": "aaaa", "rejected": "zzzz"},
    {"prompt": "say b", "chosen": "bbb", "rejected": "qqqqqq"},
]


def _dpo_task(**kw: Any) -> Task:
    return Task(name="p", data=PAIRS, algorithm="dpo", beta=0.5, **kw)


def _batch(tok: Any, task: Task, rows: list[dict[str, Any]]) -> RolloutBatch:
    records = build_prompts(task, rows, ["chosen", "rejected"])
    prompts = [
        str(tok.apply_chat_template(list(r.messages), add_generation_prompt=True, tokenize=False))
        for r in records
    ]
    return RolloutBatch.from_records(task.name, 1, records, prompts)


def _pairs(tok: Any, task: Task) -> Rollout:
    return preference_rollout(tok, _batch(tok, task, PAIRS), DPOSettings.from_task(task))


def test_dpo_moves_chosen_above_rejected_relative_to_reference(tiny_model, tiny_tokenizer):
    task = _dpo_task()
    pairs = _pairs(tiny_tokenizer, task)
    assert pairs.texts == ["aaaa", "bbb", "zzzz", "qqqqqq"]
    reference = Reference(copy.deepcopy(tiny_model).requires_grad_(False))
    ref = reference.logprobs(pairs).sum(1)
    before = sequence_logps(tiny_model, pairs)
    opt = torch.optim.SGD(tiny_model.parameters(), lr=0.05)
    dpo = get_algorithm("dpo")
    models = Models(tiny_model, reference, tiny_tokenizer)
    batch = _batch(tiny_tokenizer, task, PAIRS)
    loss, stats = dpo.loss(batch, models, dpo.settings(task))
    # policy == reference: the margin is 0 and the loss is log 2
    assert float(loss.detach()) == pytest.approx(float(np.log(2.0)), abs=1e-5)
    assert stats["pairs"] == 2
    loss.backward()
    opt.step()
    after = sequence_logps(tiny_model, pairs)
    for i in range(2):
        margin_before = (before[i] - ref[i]) - (before[i + 2] - ref[i + 2])
        margin_after = (after[i] - ref[i]) - (after[i + 2] - ref[i + 2])
        assert float(margin_before) == pytest.approx(0.0, abs=1e-5)
        assert float(margin_after) > 0.0
    _, stats2 = dpo.loss(batch, models, dpo.settings(task))
    assert stats2["loss/reward_accuracy"] == 1.0


def test_dpo_names_the_sample_and_column_of_a_bad_pair(tiny_tokenizer):
    task = Task(name="p", data=PAIRS, algorithm="dpo")
    rows = [dict(PAIRS[0]), {"prompt": "say c", "chosen": "c", "rejected": None}]
    with pytest.raises(InvalidInputError, match=r"sample 1: column 'rejected'"):
        preference_rollout(
            tiny_tokenizer, _batch(tiny_tokenizer, task, rows), DPOSettings.from_task(task)
        )


# -- configuration -------------------------------------------------------------------------------

DATA = [{"prompt": "2+2?", "answer": "4"}]


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({"algorithm": "ppo", "ppo": {"kl_coef": -1}}, "ppo.kl_coef: must be >= 0.0"),
        ({"algorithm": "ppo", "ppo": {"gae_lambda": 1.5}}, "ppo.gae_lambda: must be <= 1.0"),
        (
            {"algorithm": "ppo", "ppo": {"epochs": 2}},
            "task 'm'.ppo: unknown setting 'epochs'; allowed: clip_eps, gae_lambda, gamma",
        ),
        ({"algorithm": "ppo", "ppo": 3}, "task 'm'.ppo: expected a mapping of PPO settings"),
        ({"use_judges": "no"}, "task 'm'.use_judges: expected true or false"),
        (
            {"algorithm": "dpo", "chosen_column": "a", "rejected_column": "a"},
            "task 'm'.rejected_column: must differ from chosen_column",
        ),
        (
            {"algorithm": "dpo", "metadata_columns": ["answer", "rejected"]},
            "task 'm'.metadata_columns: dpo reads the preference column 'chosen'",
        ),
        (
            {"algorithm": "adam"},
            "task 'm'.algorithm: 'adam' is not allowed; choose one of 'crpg', 'crraft', 'codpo', "
            "'ppo', 'dpo'",
        ),
    ],
)
def test_bad_baseline_settings_name_the_field(task, message):
    with pytest.raises(ConfigError) as e:
        CGPOConfig.from_dict({"tasks": [{"name": "m", "data": DATA, **task}]})
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_baseline_settings_load_from_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(
        "tasks:\n  - name: m\n    data: builtin:math\n    algorithm: ppo\n"
        "    samples_per_prompt: 1\n    ppo: {kl_coef: 0.2, gae_lambda: 1.0}\n"
        "  - name: n\n    data: builtin:math\n    use_judges: false\n"
    )
    c = CGPOConfig.from_yaml(p)
    assert c.tasks[0].ppo.kl_coef == 0.2 and c.tasks[0].ppo.gae_lambda == 1.0
    assert c.tasks[0].ppo.clip_eps == 0.2  # defaults kept
    assert c.tasks[1].use_judges is False and c.tasks[0].use_judges is True


def test_dpo_data_needs_the_preference_columns():
    from cgpo.data import prepare_tasks

    task = Task(name="p", data=[{"prompt": "x", "chosen": "a"}], algorithm="dpo")
    with pytest.raises(ConfigError, match="'rejected'"):
        prepare_tasks([task])


# -- inside the trainer --------------------------------------------------------------------------


class _Always(BaseJudge):
    name = "always"

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        return [JudgeResult(Verdict.SATISFIED, "ok") for _ in samples]


def _byte_reward(prompts: Sequence[Any], responses: Sequence[str]) -> list[float]:
    return [sum(ord(c) % 7 for c in r) / max(len(r), 1) for r in responses]


TRAIN_DATA = [
    {"prompt": p, "chosen": c, "rejected": r}
    for p, c, r in [("add two", "aa", "zzz"), ("say hi", "hi", "qq"), ("count", "123", "x")]
]


def _trainer_task(name: str, algorithm: str, judges: list[Any], **kw: Any) -> Task:
    return Task(
        name=name,
        data=TRAIN_DATA,
        judges=judges,
        reward_model=_byte_reward,
        algorithm=algorithm,
        samples_per_prompt=3,
        prompts_per_step=2,
        kl_max=5.0,
        generation=GenerationConfig(max_new_tokens=6),
        **kw,
    )


def _make_trainer(tasks: list[Task], tmp: Path) -> CGPOTrainer:
    tok = make_tokenizer()
    config = CGPOConfig(
        output_dir=str(tmp),
        learning_rate=1e-2,
        save_steps=0,
        progress_bar=False,
        tensorboard=False,
        seed=3,
    )
    return CGPOTrainer(make_model(tok), tok, tasks, config, log=lambda s: None)


def _grads(trainer: CGPOTrainer) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    records = trainer.accumulate_gradients()
    grads = {n: p.grad.clone() for n, p in trainer.policy.named_parameters() if p.grad is not None}
    return grads, records


def test_use_judges_false_updates_as_if_every_response_were_satisfied(tmp_path):
    nojudge, rec_a = _grads(
        _make_trainer(
            [_trainer_task("m", "crpg", [make_parity_judge("parity")], use_judges=False)],
            tmp_path / "a",
        )
    )
    always, rec_b = _grads(_make_trainer([_trainer_task("m", "crpg", [_Always()])], tmp_path / "b"))
    assert set(nojudge) == set(always) and nojudge
    for name, g in nojudge.items():
        torch.testing.assert_close(g, always[name])
    # the same samples, but the logged pass rate is the parity judge's real one
    assert rec_b[0]["satisfied"] == 1.0
    assert rec_a[0]["satisfied"] < 1.0
    assert rec_a[0]["judge/parity/pass_rate"] == rec_a[0]["satisfied"]


def test_trainer_steps_ppo_and_dpo_tasks_and_checkpoints_the_value_head(tmp_path):
    tasks = [
        _trainer_task("p", "ppo", [make_parity_judge("parity")]),
        _trainer_task("d", "dpo", [make_parity_judge("parity")]),
    ]
    trainer = _make_trainer(tasks, tmp_path)
    head = getattr(trainer.policy, VALUE_HEAD)
    assert any(p is head.weight for g in trainer.optimizer.param_groups for p in g["params"])
    assert not hasattr(trainer.reference.model, VALUE_HEAD)
    records = trainer.step()
    assert [r["optimizer"] for r in records] == ["ppo", "dpo"]
    for r in records:
        assert r["loss"] is not None and 0.0 <= r["satisfied"] <= 1.0
    assert records[1]["pairs"] == 2.0
    assert float(head.bias.detach().abs()) > 0  # the value loss reached the head
    path = trainer.save_checkpoint()
    resumed = _make_trainer(tasks, tmp_path / "other")
    resumed.load_checkpoint(path)
    torch.testing.assert_close(getattr(resumed.policy, VALUE_HEAD).bias, head.bias)
