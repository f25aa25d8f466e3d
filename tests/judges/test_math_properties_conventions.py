"""Property tests of the training-set conventions (issue 17): generated inputs of each kind are
accepted in every rendering, perturbed ones rejected, and the Rust judge and the Python
reference give the same verdict and reason on all of them."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgpo import reference
from cgpo.judges import MathJudge, Sample, Verdict

RUST = MathJudge()
REF = reference.MathJudge()
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def both(completion: str, gold: str) -> Verdict:
    """The verdict on ``completion``, asserting Rust and reference agree."""
    s = [Sample("q", completion, {"answer": gold})]
    rust, ref = RUST.explain(s)[0], REF.explain(s)[0]
    assert (rust.verdict, rust.reason) == (ref.verdict, ref.reason), (completion, gold)
    return rust.verdict


small = st.integers(-60, 60)
values = st.builds(Fraction, st.integers(-99, 99), st.integers(1, 9))


def latex(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return f"{sign}\\frac{{{abs(q.numerator)}}}{{{q.denominator}}}"


def plain(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


# ---- thousands separators --------------------------------------------------------------------


@SETTINGS
@given(st.integers(1000, 10**15), st.sampled_from([",\\! ", ",\\!", "{,}", ","]))
def test_thousands_separators(n: int, sep: str) -> None:
    grouped = f"{n:,}".replace(",", sep)
    assert both(f"so $\\boxed{{{grouped}}}$", str(n)) == Verdict.SATISFIED
    assert both(f"\\boxed{{{n}}}", grouped) == Verdict.SATISFIED
    assert both(f"\\boxed{{{grouped}}}", str(n + 1)) == Verdict.VIOLATED


# ---- several answers -------------------------------------------------------------------------

BOX_SEPARATORS = [", ", " and ", ",\\ ", " \\quad \\text{and} \\quad ", "\\quad ", "\\), \\("]
GOLD_SEPARATORS = [";", ", ", " or ", "or", " \\text{ and } ", "\\quad "]


@SETTINGS
@given(
    st.lists(values, min_size=2, max_size=5, unique=True),
    st.sampled_from(BOX_SEPARATORS),
    st.sampled_from(GOLD_SEPARATORS),
    st.randoms(),
)
def test_lists_of_solutions(
    items: list[Fraction], box_sep: str, gold_sep: str, rnd: object
) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    gold = gold_sep.join(plain(q) for q in items)
    boxes = box_sep.join(f"\\boxed{{{latex(q)}}}" for q in shuffled)
    one_box = "\\boxed{" + ", ".join(latex(q) for q in shuffled) + "}"
    assert both(boxes, gold) == Verdict.SATISFIED
    assert both(one_box, gold) == Verdict.SATISFIED
    # A superset, a subset and a changed item are not the set of solutions.
    extra = max(items) + 1
    assert both(f"{boxes}{box_sep}\\boxed{{{latex(extra)}}}", gold) == Verdict.VIOLATED
    subset = box_sep.join(f"\\boxed{{{latex(q)}}}" for q in shuffled[1:])
    assert both(subset, gold) == Verdict.VIOLATED
    changed = [*shuffled[:-1], shuffled[-1] + Fraction(1, 7)]
    if set(changed) != set(items):
        assert (
            both(box_sep.join(f"\\boxed{{{latex(q)}}}" for q in changed), gold) == Verdict.VIOLATED
        )


@SETTINGS
@given(st.lists(st.tuples(small, small), min_size=1, max_size=4, unique=True), st.randoms())
def test_lists_of_tuples(pairs: list[tuple[int, int]], rnd: object) -> None:
    shuffled = list(pairs)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    gold = ",".join(f"({a};{b})" for a, b in pairs)
    answer = ", ".join(f"\\boxed{{\\left( {a}, {b} \\right)}}" for a, b in shuffled)
    assert both(answer, gold) == Verdict.SATISFIED
    swapped = [(b, a) for a, b in shuffled]
    expected = Verdict.SATISFIED if set(swapped) == set(pairs) else Verdict.VIOLATED
    assert both(", ".join(f"\\boxed{{({a}, {b})}}" for a, b in swapped), gold) == expected


# ---- assignments and labelled values ---------------------------------------------------------

names = st.sampled_from(["x", "y", "k", "n", "p", "q", "a_1", "x_{2}", "S"])


@SETTINGS
@given(st.lists(names, min_size=1, max_size=3, unique=True), st.data())
def test_labelled_values(labels: list[str], data: st.DataObject) -> None:
    vals = [data.draw(values) for _ in labels]
    gold = ", ".join(f"{n} = {latex(v)}" for n, v in zip(labels, vals, strict=True))
    bare = "\\boxed{" + ", ".join(latex(v) for v in vals) + "}"
    boxed_each = " \\quad \\text{and} \\quad ".join(
        f"\\boxed{{{n} = {latex(v)}}}" for n, v in zip(labels, vals, strict=True)
    )
    assert both(bare, gold) == Verdict.SATISFIED
    assert both(boxed_each, gold) == Verdict.SATISFIED
    if len(labels) >= 2 and vals[0] != vals[1]:
        # The values given to the wrong variables are not the answer.
        wrong = [vals[1], vals[0], *vals[2:]]
        moved = " \\quad \\text{and} \\quad ".join(
            f"\\boxed{{{n} = {latex(v)}}}" for n, v in zip(labels, wrong, strict=True)
        )
        assert both(moved, gold) == Verdict.VIOLATED
    if len(labels) >= 2:
        tuple_gold = f"({', '.join(labels)}) = ({', '.join(latex(v) for v in vals)})"
        assert (
            both(f"\\boxed{{({', '.join(latex(v) for v in vals)})}}", tuple_gold)
            == Verdict.SATISFIED
        )


@SETTINGS
@given(st.lists(st.integers(1, 40), min_size=2, max_size=3), st.integers(2, 5))
def test_ratios(terms: list[int], k: int) -> None:
    gold = "V_1:V_2" + (":V_3" if len(terms) == 3 else "") + "=" + ":".join(map(str, terms))
    assert both("\\boxed{" + ":".join(str(k * t) for t in terms) + "}", gold) == Verdict.SATISFIED
    bumped = [*terms[:-1], terms[-1] + 1]
    assert both("\\boxed{" + ":".join(map(str, bumped)) + "}", gold) == Verdict.VIOLATED


# ---- gold answers as worked solutions, in $...$, with doubled backslashes ---------------------


@SETTINGS
@given(values, st.sampled_from(["$", "$$", "\\(", "\\["]), st.booleans(), st.booleans())
def test_worked_solution_golds(v: Fraction, delim: str, doubled: bool, marker: bool) -> None:
    close = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}[delim]
    answer = f"\\left({latex(v)}, 1\\right)"
    if marker:
        gold = f"Working it out gives {delim}{answer}{close}.\nThe final answer is ${answer}$."
    else:
        gold = f"We find {delim}\\boxed{{{answer}}}{close} as claimed."
    if doubled:
        gold = gold.replace("\\", "\\\\")
    assert both(f"\\boxed{{({plain(v)}, 1)}}", gold) == Verdict.SATISFIED
    assert both(f"\\boxed{{({plain(v + 1)}, 1)}}", gold) == Verdict.VIOLATED
