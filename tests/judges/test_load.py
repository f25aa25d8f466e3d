"""Load held: big batches and several threads on one judge lose, duplicate or cross no result.

Every sample carries its own identity (a program prints its id; a math answer is unique), and
whether it passes follows a pattern of its own, so a result that went to another sample, another
call or another thread shows. The sizes of issue 18 run with ``-m slow``; the default run keeps a
smaller version of each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from cgpo.judges import CodeJudge, MathJudge, Sample, Verdict


def passes(tag: str) -> bool:
    return hashlib.blake2b(tag.encode(), digest_size=1).digest()[0] % 3 != 0


def code_sample(tag: str) -> Sample:
    k = int(hashlib.blake2b(tag.encode(), digest_size=4).hexdigest(), 16)
    expected = k if passes(tag) else k + 1
    program = f"```python\nprint({tag!r})\ndef f():\n    return {k}\n```"
    return Sample("", program, {"tests": f"assert f() == {expected}"})


def check_code(tags: list[str], judge: CodeJudge) -> None:
    results = judge.explain([code_sample(t) for t in tags])
    assert len(results) == len(tags)
    assert [r.details["stdout"].strip() for r in results] == tags  # nothing lost or crossed
    assert [r.verdict for r in results] == [Verdict(int(passes(t))) for t in tags]


def math_sample(thread: int, i: int) -> tuple[Sample, str]:
    answer = str(thread * 10_000_000 + i)
    given = answer if passes(f"{thread}-{i}") else answer + "1"
    return Sample("", rf"so \boxed{{{given}}}", {"answer": answer}), given


def run_threads(threads: int, work: Callable[[int], None]) -> None:
    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(work, t) for t in range(threads)]:
            f.result()


@pytest.fixture(scope="module")
def code_judge() -> CodeJudge:
    with CodeJudge(timeout_s=10) as judge:
        yield judge


@pytest.mark.parametrize(
    "n", [pytest.param(400, id="400"), pytest.param(10_000, id="10000", marks=pytest.mark.slow)]
)
def test_code_samples_in_one_call(code_judge: CodeJudge, n: int) -> None:
    check_code([f"one-call-{i}" for i in range(n)], code_judge)


@pytest.mark.parametrize(
    "per_thread",
    [pytest.param(60, id="4x60"), pytest.param(600, id="4x600", marks=pytest.mark.slow)],
)
def test_threads_share_one_code_judge(code_judge: CodeJudge, per_thread: int) -> None:
    def work(t: int) -> None:
        for start in range(0, per_thread, 50):
            tags = [f"thread{t}-{i}" for i in range(start, min(start + 50, per_thread))]
            check_code(tags, code_judge)

    before = code_judge.stats.total
    run_threads(4, work)
    assert code_judge.stats.total - before == 4 * per_thread


@pytest.mark.parametrize(
    "total",
    [pytest.param(20_000, id="20000"), pytest.param(200_000, id="200000", marks=pytest.mark.slow)],
)
def test_rule_judge_samples_from_threads(total: int) -> None:
    judge = MathJudge()
    per_thread = total // 4

    def work(t: int) -> None:
        for start in range(0, per_thread, 2_500):
            made = [math_sample(t, i) for i in range(start, min(start + 2_500, per_thread))]
            results = judge.explain([s for s, _ in made])
            assert [r.details["extracted"] for r in results] == [g for _, g in made]
            want = [Verdict(int(passes(f"{t}-{i}"))) for i in range(start, start + len(made))]
            assert [r.verdict for r in results] == want

    run_threads(4, work)
    assert judge.stats.total == total
