"""The built-in default run: its data, its judge-verified reward-model pairs, and (slow) the
whole `cgpo train` default command on the real SmolLM2-135M-Instruct."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from cgpo.data import prepare_tasks
from cgpo.judges.base import Sample, Verdict
from cgpo.judges.registry import create_judge
from cgpo.tasks import default_config
from cgpo.tasks.code import eval_rows as code_eval_rows
from cgpo.tasks.code import humaneval_rows
from cgpo.tasks.instructions import eval_rows as instruction_eval_rows
from cgpo.tasks.math_words import math_rows
from cgpo.tasks.reward_model import default_preference_pairs


def test_math_problems_have_exact_answers_the_math_judge_accepts():
    rows = math_rows(50)
    assert len({r["messages"][-1]["content"] for r in rows}) == 50
    judge = create_judge({"type": "math"})
    samples = [
        Sample(
            r["messages"][-1]["content"],
            f"So the answer is \\boxed{{{r['answer']}}}.",
            {"answer": r["answer"]},
        )
        for r in rows
    ]
    assert all(v == Verdict.SATISFIED for v in judge.judge(samples))
    assert math_rows(5) == math_rows(5)  # fixed seed


def test_default_tasks_load_and_pass_the_checks():
    prepared = prepare_tasks(default_config().tasks)
    sizes = {t.name: len(recs) for t, recs in prepared}
    assert sizes == {"math": 256, "instructions": 192, "code": 128}
    held_out = {r["task_id"] for r in humaneval_rows(held_out=True)}
    assert not held_out & {r["task_id"] for r in humaneval_rows()}


def test_reward_model_pairs_are_judge_verified():
    pairs = default_preference_pairs()
    kinds = Counter(p["kind"] for p in pairs)
    assert kinds["math"] == 64 and kinds["instructions"] == 192 and kinds["code"] == 64
    # the reward model never sees a held-out instruction topic or code problem
    held = {r["messages"][-1]["content"] for r in code_eval_rows()}
    held |= {r["prompt"].split(" Answer in")[0] for r in instruction_eval_rows()}
    assert not held & {p["messages"][-1]["content"].split(" Answer in")[0] for p in pairs}
    for kind, keys in (("math", ["answer"]), ("instructions", ["instruction_id_list", "kwargs"])):
        judge = create_judge({"type": kind})
        group = [p for p in pairs if p["kind"] == kind]
        meta = [{k: p[k] for k in keys} for p in group]
        good = judge.judge(
            [
                Sample(p["messages"][-1]["content"], p["chosen"], m)
                for p, m in zip(group, meta, strict=True)
            ]
        )
        bad = judge.judge(
            [
                Sample(p["messages"][-1]["content"], p["rejected"], m)
                for p, m in zip(group, meta, strict=True)
            ]
        )
        assert all(v == Verdict.SATISFIED for v in good)
        assert all(v == Verdict.VIOLATED for v in bad)


@pytest.mark.slow
@pytest.mark.timeout(7200)  # the real default run: reward model, 24 steps, 2 x 366 evaluations
def test_default_run_end_to_end(tmp_path, capsys):
    from cgpo.cli import main

    out = tmp_path / "run"
    assert main(["train", "--max-steps", "1", "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "before" in printed and "after" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["eval"]) == {"math", "instructions", "code"}
    assert json.loads((out / "eval.json").read_text())["tasks"] == summary["eval"]
    assert (out / "rollouts.jsonl").is_file() and (out / "eval_samples.jsonl").is_file()
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["task"] for x in lines] == ["math", "instructions", "code"]
    assert (out / "final" / "config.json").is_file()
