"""The judge API shared by every judge: samples, verdicts, stats, errors, TRL reward functions."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

import cgpo
from cgpo.judges import BaseJudge, Judge, JudgeResult, Sample, Verdict, as_reward_function
from cgpo.judges.base import require_metadata


class LengthJudge(BaseJudge):
    """SATISFIED when the completion has metadata['n'] characters; ERROR when n < 0."""

    name = "length"

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        out = []
        for s, n in zip(samples, require_metadata(samples, "n", int), strict=True):
            if n < 0:
                out.append(JudgeResult(Verdict.ERROR, "negative"))
            elif len(s.completion) == n:
                out.append(JudgeResult(Verdict.SATISFIED, "ok"))
            else:
                out.append(
                    JudgeResult(Verdict.VIOLATED, "wrong_length", {"got": len(s.completion)})
                )
        return out


def test_verdict_values_match_the_paper_plus_error() -> None:
    assert [int(v) for v in (Verdict.SATISFIED, Verdict.VIOLATED, Verdict.ERROR)] == [1, 0, -1]


def test_sample_is_frozen_with_empty_default_metadata() -> None:
    s = Sample("p", "c")
    assert dict(s.metadata) == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.completion = "x"  # type: ignore[misc]


def test_base_judge_counts_every_verdict() -> None:
    j = LengthJudge()
    assert isinstance(j, Judge)
    samples = [Sample("", "ab", {"n": 2}), Sample("", "ab", {"n": 3}), Sample("", "", {"n": -1})]
    assert j.judge(samples) == [Verdict.SATISFIED, Verdict.VIOLATED, Verdict.ERROR]
    assert j.stats.as_dict() == {
        "total": 3,
        "satisfied": 1,
        "violated": 1,
        "errors": 1,
        "pass_rate": pytest.approx(1 / 3),
        "error_rate": pytest.approx(1 / 3),
    }
    assert j.explain(samples[1:2])[0].details == {"got": 2}
    j.reset_stats()
    assert j.stats.total == 0


def test_empty_batch_returns_empty_list() -> None:
    assert LengthJudge().judge([]) == []


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (Sample("p", "c"), "wrap a single sample in a list"),
        ("text", "expected a sequence"),
        ([Sample("p", "c", {"n": 1}), ("p", "c")], "sample 1: expected cgpo.judges.Sample"),
        ([Sample("p", 3, {"n": 1})], "sample 0: `completion` must be str"),  # type: ignore[arg-type]
        (
            [Sample("p", "c", {"n": 1}), Sample("p", "c")],
            "sample 1: metadata is missing the key 'n'",
        ),
        ([Sample("p", "c", {"n": "1"})], "sample 0: metadata['n'] must be int, got str"),
    ],
)
def test_bad_input_names_the_sample_and_the_key(batch: object, message: str) -> None:
    with pytest.raises(cgpo.InvalidInputError, match=message.replace("[", r"\[")) as info:
        LengthJudge().judge(batch)  # type: ignore[arg-type]
    assert isinstance(info.value, cgpo.CgpoError)
    assert isinstance(info.value, ValueError)


def test_reward_function_has_trl_signature_and_maps_verdicts() -> None:
    reward = as_reward_function(LengthJudge(), error=-1.0)
    assert reward.__name__ == "length_reward"
    out = reward(prompts=["a", "b", "c"], completions=["xy", "x", "z"], n=[2, 2, -1])
    assert out == [1.0, 0.0, -1.0]


def test_reward_function_default_error_is_none_and_reads_chat_messages() -> None:
    reward = as_reward_function(LengthJudge())
    prompts = [[{"role": "user", "content": "hi"}], [{"role": "user", "content": "yo"}]]
    completions = [
        [{"role": "assistant", "content": "abc"}],
        [{"role": "assistant", "content": ""}],
    ]
    assert reward(prompts, completions, n=[3, -5]) == [1.0, None]


def test_reward_function_ignores_non_per_sample_columns_and_checks_lengths() -> None:
    reward = as_reward_function(LengthJudge())
    assert reward(["p"], ["ab"], n=[2], trainer_state=object()) == [1.0]
    with pytest.raises(cgpo.InvalidInputError, match="2 prompts but 1 completions"):
        reward(["p", "q"], ["ab"], n=[2])
    strict = as_reward_function(LengthJudge(), metadata_columns=["n"])
    with pytest.raises(cgpo.InvalidInputError, match="dataset column 'n'"):
        strict(["p"], ["ab"])


def test_parallelism_switch_round_trips() -> None:
    from cgpo import _core

    before = _core.get_parallelism()
    try:
        _core.set_parallelism(False)
        assert _core.get_parallelism() is False
    finally:
        _core.set_parallelism(before)


def test_docstring_examples_run() -> None:
    import doctest

    import cgpo.judges.base

    result = doctest.testmod(cgpo.judges.base)
    assert result.attempted > 0
    assert result.failed == 0
