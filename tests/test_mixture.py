"""cgpo.judges.MixtureOfJudges and judge creation from config."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from cgpo import CgpoError, ConfigError, InvalidInputError, JudgeInternalError
from cgpo.judges import (
    JudgeResult,
    MixtureOfJudges,
    Sample,
    Verdict,
    available_judges,
    create_judge,
    from_config,
    register_judge,
)
from cgpo.judges.base import BaseJudge


class Scripted(BaseJudge):
    """Returns the verdicts written in each sample's metadata under its own name."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.threads: set[str] = set()

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        self.threads.add(threading.current_thread().name)
        out = []
        for s in samples:
            v = Verdict(s.metadata[self.name])
            out.append(JudgeResult(v, {1: "ok", 0: "wrong", -1: "timeout"}[v], {"detail": "d"}))
        return out


def batch(*rows: tuple[int, int]) -> list[Sample]:
    return [Sample("p", f"c{i}", {"a": a, "b": b}) for i, (a, b) in enumerate(rows)]


#            a  b       violate               skip                  every policy
ROWS = [(1, 1), (1, 0), (1, -1), (0, -1)]


def test_satisfied_only_when_every_member_is_and_explain_names_them() -> None:
    moj = MixtureOfJudges([Scripted("a"), Scripted("b")])
    res = moj.explain(batch(*ROWS))
    assert [r.verdict for r in res] == [
        Verdict.SATISFIED,
        Verdict.VIOLATED,
        Verdict.VIOLATED,
        Verdict.VIOLATED,
    ]
    assert [r.reason for r in res] == ["ok", "violated", "error_as_violated", "violated"]
    assert res[1].details["violated_by"] == ["b"]
    assert res[3].details["violated_by"] == ["a"] and res[3].details["errored"] == ["b"]
    members = res[2].details["members"]
    assert members["a"].verdict == Verdict.SATISFIED and members["a"].reason == "ok"
    assert members["b"].verdict == Verdict.ERROR and members["b"].reason == "timeout"


def test_violate_policy_counts_errors_separately() -> None:
    moj = MixtureOfJudges([Scripted("a"), Scripted("b")], on_error="violate")
    moj.judge(batch(*ROWS))
    assert moj.errors_as_violated == 1
    assert moj.stats.satisfied == 1 and moj.stats.violated == 3 and moj.stats.errors == 0
    b = moj.member_stats["b"]
    assert (b.total, b.satisfied, b.violated, b.errors) == (4, 1, 1, 2)
    assert b.error_rate == 0.5
    log = moj.log_stats()
    assert log["moj/pass_rate"] == 0.25
    assert log["moj/b/error_rate"] == 0.5 and log["moj/a/pass_rate"] == 0.75
    assert log["moj/errors_as_violated"] == 1.0
    moj.reset_stats()
    assert moj.errors_as_violated == 0 and moj.member_stats["b"].total == 0


def test_skip_policy_returns_error_for_any_member_error() -> None:
    moj = MixtureOfJudges([Scripted("a"), Scripted("b")], on_error="skip")
    res = moj.explain(batch(*ROWS))
    assert [r.verdict for r in res] == [
        Verdict.SATISFIED,
        Verdict.VIOLATED,
        Verdict.ERROR,
        Verdict.ERROR,
    ]
    assert res[2].reason == "error" and res[2].details["errored"] == ["b"]
    assert moj.stats.errors == 2


def test_raise_policy_names_member_and_sample() -> None:
    moj = MixtureOfJudges([Scripted("a"), Scripted("b")], on_error="raise")
    assert moj.judge(batch(*ROWS[:2])) == [Verdict.SATISFIED, Verdict.VIOLATED]
    with pytest.raises(
        CgpoError, match=r"sample 2: judge 'b' .* returned ERROR \(reason 'timeout': d\)"
    ):
        moj.judge(batch(*ROWS))


def test_members_run_concurrently() -> None:
    # Each member waits at a two-party barrier: run one after the other, the first would wait
    # for the second forever (the barrier's timeout breaks it and the judge raises).
    barrier = threading.Barrier(2, timeout=30)

    class Meets(Scripted):
        def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
            barrier.wait()
            return super()._explain(samples)

    a, b = Meets("a"), Meets("b")
    assert MixtureOfJudges([a, b]).judge(batch((1, 1))) == [Verdict.SATISFIED]
    assert a.threads.isdisjoint(b.threads)


def test_duplicate_names_are_told_apart() -> None:
    moj = MixtureOfJudges([Scripted("a"), Scripted("a")])
    assert moj.member_names == ["a", "a#2"]


def test_plain_python_judges_are_members() -> None:
    class Even:
        name = "even"

        def explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
            return [JudgeResult(Verdict(int(len(s.completion) % 2 == 0)), "ok") for s in samples]

        def judge(self, samples: Sequence[Sample]) -> list[Verdict]:
            return [r.verdict for r in self.explain(samples)]

    moj = MixtureOfJudges([Even()])
    assert moj.judge([Sample("p", "ab"), Sample("p", "abc")]) == [
        Verdict.SATISFIED,
        Verdict.VIOLATED,
    ]
    assert moj.judge([]) == []


def test_broken_members_raise_naming_the_member() -> None:
    class Short:
        name = "short"

        def explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
            return []

        def judge(self, samples: Sequence[Sample]) -> list[Verdict]:
            return []

    class Crashes(Short):
        name = "crashes"

        def explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
            raise ZeroDivisionError("oops")

    with pytest.raises(JudgeInternalError, match="'short' returned 0 results for 1 samples"):
        MixtureOfJudges([Short()]).judge([Sample("p", "c")])
    with pytest.raises(JudgeInternalError, match=r"'crashes' .* raised ZeroDivisionError: oops"):
        MixtureOfJudges([Crashes(), Scripted("a")]).judge([Sample("p", "c", {"a": 1})])
    # Bad input is the caller's error and stays an InvalidInputError.
    with pytest.raises(InvalidInputError):
        MixtureOfJudges([Scripted("a")]).judge("not a list")  # type: ignore[arg-type]
    # Any other exception of a member is that member's bug.
    with pytest.raises(JudgeInternalError, match=r"judge 'a' .* raised KeyError"):
        MixtureOfJudges([Scripted("a")]).judge([Sample("p", "c")])


def test_bad_construction() -> None:
    with pytest.raises(ConfigError, match="on_error"):
        MixtureOfJudges([Scripted("a")], on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="non-empty"):
        MixtureOfJudges([])
    with pytest.raises(ConfigError, match=r"judges\[0\] \(int\) lacks the judge API"):
        MixtureOfJudges([3])  # type: ignore[list-item]

    class NotCallable:
        judge = "yes"

    with pytest.raises(ConfigError, match=r"judges\[1\] \(NotCallable\) .*judge\(samples\)"):
        MixtureOfJudges([Scripted("a"), NotCallable()])  # type: ignore[list-item]


class TrlStyle:
    """A user's judge with nothing but ``judge``: no name, no explain."""

    def judge(self, samples: Sequence[Sample]) -> list[Verdict]:
        return [Verdict(int("x" not in s.completion)) for s in samples]


def test_a_judge_with_only_judge_is_a_member() -> None:
    moj = MixtureOfJudges([TrlStyle(), Scripted("a")])
    assert moj.member_names == ["TrlStyle", "a"]
    samples = [Sample("p", "ok", {"a": 1}), Sample("p", "x", {"a": 1}), Sample("p", "ok", {"a": 0})]
    res = moj.explain(samples)
    assert [r.verdict for r in res] == [Verdict.SATISFIED, Verdict.VIOLATED, Verdict.VIOLATED]
    assert res[1].details["violated_by"] == ["TrlStyle"]
    member = res[1].details["members"]["TrlStyle"]
    assert member == JudgeResult(Verdict.VIOLATED, "violated")
    assert res[0].details["members"]["TrlStyle"].reason == "satisfied"
    assert moj.member_stats["TrlStyle"].violated == 1
    assert moj.judge(samples) == [Verdict.SATISFIED, Verdict.VIOLATED, Verdict.VIOLATED]


def test_explain_may_return_plain_verdicts_and_errors_follow_the_policy() -> None:
    class Named:
        name = "named"

        def explain(self, samples: Sequence[Sample]) -> list[Verdict]:
            return [Verdict(s.metadata["v"]) for s in samples]

    samples = [Sample("p", "c", {"v": 1}), Sample("p", "c", {"v": -1})]
    res = MixtureOfJudges([Named()]).explain(samples)
    assert [(r.verdict, r.reason) for r in res] == [
        (Verdict.SATISFIED, "ok"),
        (Verdict.VIOLATED, "error_as_violated"),
    ]
    assert res[1].details["members"]["named"] == JudgeResult(Verdict.ERROR, "error")
    skip = MixtureOfJudges([Named()], on_error="skip").judge(samples)
    assert skip == [Verdict.SATISFIED, Verdict.ERROR]
    with pytest.raises(JudgeInternalError, match=r"sample 1: judge 'named' .*reason 'error'"):
        MixtureOfJudges([Named()], on_error="raise").judge(samples)


@pytest.mark.parametrize("bad", [True, 1, "yes", None, 0.0])
def test_a_member_answer_that_is_not_a_verdict_is_a_clear_error(bad: object) -> None:
    class Bad:
        name = "bad"

        def judge(self, samples: Sequence[Sample]) -> list[object]:
            return [Verdict.SATISFIED, bad]

    with pytest.raises(
        JudgeInternalError,
        match=r"judge 'bad': sample 1: expected a Verdict or a JudgeResult with a Verdict, got",
    ):
        MixtureOfJudges([Bad()]).judge([Sample("p", "a"), Sample("p", "b")])  # type: ignore[list-item]


# ------------------------------------------------------------------------------ registry
def test_unknown_type_names_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match=r"unknown judge type 'nope'; allowed: .*llm, math"):
        create_judge({"type": "nope"})
    with pytest.raises(ConfigError, match="needs a 'type'"):
        create_judge({"model": "x"})


def test_registered_factories_build_judges_and_mixtures() -> None:
    register_judge("scripted-test", Scripted, overwrite=True)
    assert "scripted-test" in available_judges()
    j = create_judge({"type": "scripted-test", "name": "a"})
    assert isinstance(j, Scripted) and j.name == "a"
    moj = from_config(
        [{"type": "scripted-test", "name": "a"}, {"type": "scripted-test", "name": "b"}]
    )
    assert isinstance(moj, MixtureOfJudges) and moj.on_error == "violate"
    assert moj.judge(batch((1, 0))) == [Verdict.VIOLATED]
    nested = from_config(
        {"type": "mixture", "on_error": "skip", "judges": [{"type": "scripted-test", "name": "a"}]}
    )
    assert isinstance(nested, MixtureOfJudges) and nested.on_error == "skip"
    with pytest.raises(ConfigError, match="already registered"):
        register_judge("scripted-test", Scripted)


def test_bad_options_name_the_allowed_ones() -> None:
    register_judge("scripted-test", Scripted, overwrite=True)
    with pytest.raises(ConfigError, match=r"'scripted-test'.*options are: name$"):
        create_judge({"type": "scripted-test", "name": "a", "colour": "red"})


def test_a_judge_that_is_not_installed_gives_a_clear_error() -> None:
    register_judge("missing-test", "cgpo.judges.does_not_exist:Nothing", overwrite=True)
    with pytest.raises(
        ConfigError, match=r"cgpo\.judges\.does_not_exist:Nothing, which cannot be imported"
    ):
        create_judge({"type": "missing-test"})
