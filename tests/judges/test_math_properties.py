"""Property tests: equivalent renderings are SATISFIED, perturbed ones VIOLATED, the Rust judge
agrees with the Python reference on every generated input, and no text makes either raise."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgpo import reference
from cgpo.judges import MathJudge, Sample, Verdict

RUST = MathJudge()
REF = reference.MathJudge()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def both(answer: str, gold: str) -> Verdict:
    """The verdict on ``\\boxed{answer}``, asserting Rust and reference agree."""
    s = [Sample("q", f"The result is \\boxed{{{answer}}}.", {"answer": gold})]
    rust, ref = RUST.explain(s)[0], REF.explain(s)[0]
    assert (rust.verdict, rust.reason) == (ref.verdict, ref.reason), (answer, gold)
    return rust.verdict


# ---- rationals -------------------------------------------------------------------------------

rationals = st.builds(Fraction, st.integers(-(10**30), 10**30), st.integers(1, 10**6)) | st.builds(
    Fraction, st.integers(-1000, 1000), st.integers(1, 50)
)


def with_commas(n: int) -> str:
    return f"{n:,}"


def renderings(q: Fraction) -> list[str]:
    p, d = q.numerator, q.denominator
    sign = "-" if q < 0 else ""
    a = abs(p)
    out = [
        f"\\frac{{{p}}}{{{d}}}",
        f"{p}/{d}",
        f"\\dfrac{{{p}}}{{{d}}}",
        f"{sign}\\frac{{{a}}}{{{d}}}",
    ]
    if d == 1:
        out += [str(p), with_commas(p), with_commas(p).replace(",", "{,}"), f"${p}$"]
        if p > 0:
            out.append(f"+{p}")
    # A terminating decimal when the denominator is 2^a 5^b.
    k = d
    for f in (2, 5):
        while k % f == 0:
            k //= f
    if k == 1:
        places = next(n for n in range(60) if (q * 10**n).denominator == 1)
        scaled = abs(q.numerator) * 10**places // q.denominator
        digits = str(scaled).rjust(places + 1, "0")
        dec = digits[: len(digits) - places] + (
            "." + digits[len(digits) - places :] if places else ""
        )
        out.append(sign + dec)
    if d > 1 and a > d and sign == "":
        whole, rest = divmod(a, d)
        out.append(f"{whole}\\frac{{{rest}}}{{{d}}}")
    return out


@SETTINGS
@given(rationals, st.data())
def test_rational_renderings_are_equivalent(q: Fraction, data: st.DataObject) -> None:
    forms = renderings(q)
    a = data.draw(st.sampled_from(forms))
    g = data.draw(st.sampled_from(forms))
    assert both(a, g) == Verdict.SATISFIED


@SETTINGS
@given(rationals, st.sampled_from([Fraction(1), Fraction(-1), Fraction(1, 10**12), Fraction(1, 3)]))
def test_perturbed_rationals_are_rejected(q: Fraction, delta: Fraction) -> None:
    r = q + delta
    assert both(renderings(r)[0], renderings(q)[1]) == Verdict.VIOLATED


# ---- polynomials -----------------------------------------------------------------------------

Poly = dict[int, Fraction]  # exponent of x -> coefficient


def p_add(a: Poly, b: Poly) -> Poly:
    out = dict(a)
    for e, c in b.items():
        out[e] = out.get(e, Fraction(0)) + c
    return {e: c for e, c in out.items() if c}


def p_mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for e1, c1 in a.items():
        for e2, c2 in b.items():
            out[e1 + e2] = out.get(e1 + e2, Fraction(0)) + c1 * c2
    return {e: c for e, c in out.items() if c}


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3) -> tuple[str, str, Poly]:
    """A random expression in x as (LaTeX, plain text, expanded polynomial)."""
    if depth == 0 or draw(st.booleans()):
        if draw(st.booleans()):
            n = draw(st.integers(-9, 9))
            return str(n), str(n), ({0: Fraction(n)} if n else {})
        return "x", "x", {1: Fraction(1)}
    op = draw(st.sampled_from(["+", "-", "*", "^"]))
    la, pa, va = draw(expressions(depth - 1))
    if op == "^":
        k = draw(st.integers(0, 3))
        val: Poly = {0: Fraction(1)}
        for _ in range(k):
            val = p_mul(val, va)
        return f"\\left({la}\\right)^{{{k}}}", f"({pa})^{k}", val
    lb, pb, vb = draw(expressions(depth - 1))
    if op == "+":
        return f"{{{la}}}+{{{lb}}}", f"({pa})+({pb})", p_add(va, vb)
    if op == "-":
        return (
            f"{{{la}}}-\\left({lb}\\right)",
            f"({pa})-({pb})",
            p_add(va, {e: -c for e, c in vb.items()}),
        )
    return f"\\left({la}\\right)\\cdot\\left({lb}\\right)", f"({pa})*({pb})", p_mul(va, vb)


def expanded(p: Poly) -> str:
    if not p:
        return "0"
    terms = []
    for e in sorted(p, reverse=True):
        c = p[e]
        mono = "" if e == 0 else ("x" if e == 1 else f"x^{{{e}}}")
        coef = (
            f"\\frac{{{c.numerator}}}{{{c.denominator}}}"
            if c.denominator != 1
            else str(c.numerator)
        )
        terms.append(f"({coef}){mono}" if mono else f"({coef})")
    return "+".join(terms)


@SETTINGS
@given(expressions())
def test_expression_renderings_are_equivalent(e: tuple[str, str, Poly]) -> None:
    latex, plain, value = e
    assert both(latex, plain) == Verdict.SATISFIED
    assert both(plain, expanded(value)) == Verdict.SATISFIED


@SETTINGS
@given(expressions(), st.sampled_from([(0, 1), (1, 1), (2, -1), (3, 2)]))
def test_perturbed_expressions_are_rejected(
    e: tuple[str, str, Poly], shift: tuple[int, int]
) -> None:
    latex, _, value = e
    exp, delta = shift
    assert both(latex, expanded(p_add(value, {exp: Fraction(delta)}))) == Verdict.VIOLATED


# ---- radicals, sets, tuples ------------------------------------------------------------------


@SETTINGS
@given(st.integers(1, 50), st.sampled_from([2, 3, 5, 6, 7, 10, 11]), st.integers(1, 5))
def test_radicals(k: int, m: int, bump: int) -> None:
    assert both(f"{k}\\sqrt{{{m}}}", f"\\sqrt{{{k * k * m}}}") == Verdict.SATISFIED
    assert both(f"{k}\\sqrt{{{m}}}", f"\\sqrt{{{k * k * m + bump}}}") == Verdict.VIOLATED


@SETTINGS
@given(st.lists(rationals, min_size=2, max_size=5, unique=True), st.randoms())
def test_sets_are_unordered_and_tuples_ordered(items: list[Fraction], rnd: object) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    s1 = ", ".join(renderings(q)[0] for q in items)
    s2 = ", ".join(renderings(q)[1] for q in shuffled)
    assert both(f"\\{{{s1}\\}}", f"\\{{{s2}\\}}") == Verdict.SATISFIED
    expected = Verdict.SATISFIED if shuffled == items else Verdict.VIOLATED
    assert both(f"({s1})", f"({s2})") == expected
    assert both(f"\\{{{s1}\\}}", f"\\{{{s1}, 99999999\\}}") == Verdict.VIOLATED


# ---- anything at all -------------------------------------------------------------------------

latexish = st.lists(
    st.sampled_from([
        *"0123456789+-*/^_()[]{}.,=<>|!xyzie ",
        "\\frac", "\\sqrt", "\\pi", "\\cdot", "\\left(", "\\right)", "\\{", "\\}", "\\pm",
        "\\infty", "\\cup", "\\text{cm}", "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\",
        "\\boxed{", "$", "%", "\\le", "\\log_", "\\sin", "\\binom",
        # the training-set conventions: list separators, labels, ratios, doubled backslashes
        "\\quad", "\\quadx", ";", ":", " or ", "and", ",\\!", "{,}", "\\\\frac", "\\\\left(",
        "\\text{ and }", "\\(", "\\)", "} \\quad \\boxed{", "}, \\boxed{", "y_1 = \\boxed{", "!",
    ]),
    max_size=25,
).map("".join)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=60), latexish), st.one_of(st.text(min_size=1, max_size=30), latexish)
)
def test_arbitrary_text_never_raises_and_both_agree(answer: str, gold: str) -> None:
    if not gold.strip():
        gold = "0"
    for completion in (answer, f"\\boxed{{{answer}}}", f"The final answer is {answer}"):
        s = [Sample("q", completion, {"answer": gold})]
        rust, ref = RUST.explain(s)[0], REF.explain(s)[0]
        assert rust.verdict in (Verdict.SATISFIED, Verdict.VIOLATED, Verdict.ERROR)
        if Verdict.ERROR not in (rust.verdict, ref.verdict):
            assert (rust.verdict, rust.reason) == (ref.verdict, ref.reason), (completion, gold)
