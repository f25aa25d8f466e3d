"""Inputs at the edges of the math judge's contract: gold answers of every numeric type, text
that is not valid Unicode, and answers nested past the parser's limits (Rust and reference)."""

from __future__ import annotations

import sys
from decimal import Decimal
from fractions import Fraction

import pytest

import cgpo
from cgpo import reference
from cgpo.judges import MathJudge, Sample, Verdict
from cgpo.judges.math import gold_text, int_to_decimal

JUDGES = [MathJudge, reference.MathJudge]


@pytest.fixture(params=JUDGES, ids=["rust", "reference"])
def judge(request: pytest.FixtureRequest) -> MathJudge:
    return request.param()


def result(judge: MathJudge, completion: str, gold: object) -> tuple[Verdict, str]:
    r = judge.explain([Sample("q", completion, {"answer": gold})])[0]
    return r.verdict, r.reason


# ---- gold answers of any numeric type --------------------------------------------------------


def test_integers_past_pythons_str_limit(judge: MathJudge) -> None:
    # int -> str is limited to 4,300 digits by default; the judge must not raise ValueError.
    big = 10**4300 + 7
    assert result(judge, "\\boxed{10^{4300}+7}", big) == (Verdict.SATISFIED, "equivalent")
    assert result(judge, "\\boxed{10^{4300}+8}", big) == (Verdict.VIOLATED, "not_equivalent")
    assert result(judge, "\\boxed{-7}", -(10**5000)) == (Verdict.VIOLATED, "not_equivalent")


def test_int_to_decimal_is_exact() -> None:
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        for n in (0, -5, 10**4300, -(3**30_000) + 1, 2**100_000 - 1, 7 * 10**9000):
            assert int_to_decimal(n) == str(n)
    finally:
        sys.set_int_max_str_digits(old)


@pytest.mark.parametrize(
    ("gold", "right", "wrong"),
    [
        (Fraction(1, 3), "\\frac{1}{3}", "0.333"),
        (Fraction(-2, 3), "-\\frac23", "\\frac23"),
        (Fraction(10**5000, 3), "\\frac{10^{5000}}{3}", "\\frac{10^{5000}}{7}"),
        (Fraction(4, 2), "2", "4"),
        (Decimal("0.1"), "\\frac{1}{10}", "0.10000000000000001"),
        (Decimal("-1.50"), "-1.5", "1.5"),
        (Decimal("1E+3000"), "10^{3000}", "10^{2999}"),
        (0.1, "0.1", "0.10000000000000001"),
    ],
)
def test_numbers_are_taken_exactly(judge: MathJudge, gold: object, right: str, wrong: str) -> None:
    assert result(judge, f"\\boxed{{{right}}}", gold)[0] == Verdict.SATISFIED
    assert result(judge, f"\\boxed{{{wrong}}}", gold)[0] == Verdict.VIOLATED


def test_numpy_numbers() -> None:
    np = pytest.importorskip("numpy")
    # A float32 means the shortest decimal of its own precision: float32(0.1) is 0.1.
    assert gold_text(np.float32(0.1), "x") == "0.1"
    assert gold_text(np.float64(0.25), "x") == "0.25"
    assert gold_text(np.int64(-3), "x") == "-3"
    assert gold_text(np.float16(1.5), "x") == "1.5"
    for cls in JUDGES:
        j = cls()
        assert result(j, "\\boxed{\\frac{1}{10}}", np.float32(0.1))[0] == Verdict.SATISFIED
        assert result(j, "\\boxed{0.10000000149011612}", np.float32(0.1))[0] == Verdict.VIOLATED
        with pytest.raises(cgpo.InvalidInputError, match=r"sample 0: metadata\['answer'\]"):
            j.judge([Sample("q", "\\boxed{1}", {"answer": np.float32("nan")})])
        with pytest.raises(cgpo.InvalidInputError, match="got bool"):
            j.judge([Sample("q", "\\boxed{1}", {"answer": np.bool_(True)})])


# ---- text that is not valid Unicode ----------------------------------------------------------


def test_a_lone_surrogate_costs_one_sample(judge: MathJudge) -> None:
    samples = [
        Sample("q", "\\boxed{1}", {"answer": "1"}),
        Sample("q", "\\boxed{1} \ud800", {"answer": "1"}),
        Sample("q", "\\boxed{\udfff}", {"answer": "2"}),
        Sample("q", "\\boxed{2}", {"answer": "1"}),
    ]
    results = judge.explain(samples)
    assert [(r.verdict, r.reason) for r in results] == [
        (Verdict.SATISFIED, "equivalent"),
        (Verdict.ERROR, "invalid_text"),
        (Verdict.ERROR, "invalid_text"),
        (Verdict.VIOLATED, "not_equivalent"),
    ]
    assert "lone surrogate at index 10" in results[1].details["error"]
    assert judge.stats.errors == 2


def test_a_lone_surrogate_in_a_gold_answer_names_the_sample(judge: MathJudge) -> None:
    samples = [Sample("q", "\\boxed{1}", {"answer": "1"}), Sample("q", "x", {"answer": "\ud800"})]
    with pytest.raises(
        cgpo.InvalidInputError, match=r"sample 1: metadata\['answer'\] holds a lone"
    ):
        judge.judge(samples)


def test_reward_function_survives_a_surrogate() -> None:
    reward = cgpo.judges.as_reward_function(MathJudge())
    got = reward(
        prompts=["a", "b"], completions=["\\boxed{1}", "\\boxed{1}\ud83d"], answer=["1", "1"]
    )
    assert got == [1.0, None]


# ---- nesting past the parser's limits --------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        # Redundant parentheses and runs of signs cost no depth: decided.
        ("(" * 200 + "1" + ")" * 200, "1", (Verdict.SATISFIED, "equivalent")),
        ("-" * 1000 + "1", "1", (Verdict.SATISFIED, "equivalent")),
        ("-" * 999 + "1", "1", (Verdict.VIOLATED, "not_equivalent")),
        ("+-" * 501 + "1", "-1", (Verdict.SATISFIED, "equivalent")),
        ("((((2))))" + "-" * 3 + "(((1)))", "1", (Verdict.SATISFIED, "equivalent")),
        # Real nesting past the limit is not guessed: ERROR, as docs/math.md says.
        ("\\sqrt{" * 100 + "1" + "}" * 100, "1", (Verdict.ERROR, "budget_exceeded")),
        ("(1+" * 200 + "0" + ")" * 200, "200", (Verdict.ERROR, "budget_exceeded")),
        ("+".join(["1"] * 1200), "1200", (Verdict.ERROR, "budget_exceeded")),
    ],
)
def test_deep_answers(
    judge: MathJudge, answer: str, gold: str, expected: tuple[Verdict, str]
) -> None:
    assert result(judge, f"\\boxed{{{answer}}}", gold) == expected


def test_nesting_within_the_limits_is_decided_on_worker_threads() -> None:
    # 70 real levels of parentheses and 40 nested roots stay below the depth limit, on rayon
    # worker threads (smaller stacks than the main thread).
    nested = "(1+" * 70 + "0" + ")" * 70
    roots = "\\sqrt{" * 40 + "1" + "}" * 40
    samples = [
        Sample("q", f"\\boxed{{{nested}}}", {"answer": "70"}),
        Sample("q", f"\\boxed{{{roots}}}", {"answer": "1"}),
    ] * 8
    assert {r.reason for r in MathJudge().explain(samples)} == {"equivalent"}
