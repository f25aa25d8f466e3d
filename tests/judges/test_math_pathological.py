"""Pathological answers (issue 15): huge powers, factorials, long digit strings, deep nesting,
enormous values against small answers are decided by reasoning about them (sizes, residues
mod p, symbolic reduction) rather than by expanding them; Rust and the reference agree.
The time per decision is measured by benches/bench_math_pathological.py, not asserted here."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgpo import reference
from cgpo.benchmarks.math_pathological import CASES, UNDECIDED
from cgpo.judges import MathJudge, Sample, Verdict

RUST = MathJudge()
REF = reference.MathJudge()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def judged(judge: MathJudge, answer: str, gold: str) -> tuple[Verdict, str]:
    r = judge.explain([Sample("q", f"\\boxed{{{answer}}}", {"answer": gold})])[0]
    return r.verdict, r.reason


def both(answer: str, gold: str) -> Verdict:
    """Rust's verdict; the reference must agree unless one of them ran out of budget (Python
    is ~10x slower per unit of work, see docs/math.md)."""
    rust, ref = judged(RUST, answer, gold), judged(REF, answer, gold)
    if Verdict.ERROR not in (rust[0], ref[0]):
        assert rust == ref, (answer, gold)
    return rust[0]


@pytest.mark.parametrize(("answer", "gold", "expected"), CASES, ids=range(len(CASES)))
def test_labelled_pathological_cases(answer: str, gold: str, expected: Verdict) -> None:
    assert both(answer, gold) == expected


@pytest.mark.parametrize(("answer", "gold"), UNDECIDED, ids=range(len(UNDECIDED)))
def test_what_cannot_be_proven_is_an_error_not_a_guess(answer: str, gold: str) -> None:
    assert judged(RUST, answer, gold) == (Verdict.ERROR, "budget_exceeded")
    assert judged(REF, answer, gold)[0] == Verdict.ERROR


# ---- generated: big exponents, factorials, nested radicals, unions of intervals -------------


@SETTINGS
@given(st.integers(2, 30), st.integers(200, 3_000_000), st.sampled_from([1, -1, 2]))
def test_big_powers(base: int, exp: int, delta: int) -> None:
    power = f"{base}^{{{exp}}}"
    assert both(power, f"{power}+{delta}") == Verdict.VIOLATED
    assert both(f"{base}^{{{exp + 1}}}", power) == Verdict.VIOLATED
    if exp * base.bit_length() < 100_000:  # small enough to compute: decided exactly
        assert both(f"{base}\\cdot{base}^{{{exp - 1}}}", power) == Verdict.SATISFIED


@SETTINGS
@given(st.integers(2, 200_000), st.integers(1, 3))
def test_factorials(n: int, gap: int) -> None:
    assert both(f"\\frac{{{n}!}}{{{n - 1}!}}", str(n)) == Verdict.SATISFIED
    assert (
        both(f"\\frac{{{n + gap}!}}{{{n}!}}", f"\\frac{{{n + gap}!}}{{{n}!}}+1") == Verdict.VIOLATED
    )
    if n > 2:
        assert both(f"{n}!", f"{n - 1}!") == Verdict.VIOLATED
    if n < 1500:
        assert both(f"{n}!", f"{n}\\cdot ({n - 1})!") == Verdict.SATISFIED


@SETTINGS
@given(st.integers(2, 50), st.integers(1, 6), st.integers(1, 3))
def test_nested_radicals(m: int, depth: int, k: int) -> None:
    nested = "\\sqrt{" * depth + str(m**k) + "}" * depth
    exponent = Fraction(k, 2**depth)
    power = f"{m}^{{{exponent.numerator}/{exponent.denominator}}}"
    assert both(nested, power) == Verdict.SATISFIED
    if m not in (4, 9, 16, 25, 36, 49) and m != 2**k:
        other = Fraction(k, 2 ** (depth + 1))
        assert both(nested, f"{m}^{{{other.numerator}/{other.denominator}}}") == Verdict.VIOLATED


BRACKETS = [("(", ")"), ("[", "]"), ("(", "]"), ("[", ")")]


@SETTINGS
@given(
    st.lists(st.integers(-1000, 1000), min_size=2, max_size=10, unique=True),
    st.lists(st.sampled_from(BRACKETS), min_size=5, max_size=5),
    st.randoms(),
)
def test_unions_of_intervals(
    points: list[int], brackets: list[tuple[str, str]], rnd: object
) -> None:
    ends = sorted(points)
    pairs = list(zip(ends[0::2], ends[1::2], strict=False))
    parts = [f"{o}{a}, {c}{cl}" for (a, c), (o, cl) in zip(pairs, brackets, strict=False)]
    shuffled = list(parts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    union = " \\cup ".join(parts)
    assert both(" \\cup ".join(shuffled), union) == Verdict.SATISFIED
    flipped = parts[0].replace("(", "[", 1) if parts[0][0] == "(" else parts[0].replace("[", "(", 1)
    assert both(" \\cup ".join([flipped, *parts[1:]]), union) == Verdict.VIOLATED
