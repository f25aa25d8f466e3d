"""Unit tests of the math judge, per category, for the Rust judge and the Python reference."""

from __future__ import annotations

from decimal import Decimal

import pytest

import cgpo
from cgpo import reference
from cgpo.judges import MathJudge, Sample, Verdict

JUDGES = [MathJudge, reference.MathJudge]


@pytest.fixture(params=JUDGES, ids=["rust", "reference"])
def judge(request: pytest.FixtureRequest) -> MathJudge:
    return request.param()


def verdict(judge: MathJudge, answer: str, gold: object) -> Verdict:
    return judge.judge([Sample("q", f"so \\boxed{{{answer}}}", {"answer": gold})])[0]


# (answer, gold): SATISFIED
EQUIVALENT = {
    "integers": [("1000", "1,000"), ("1{,}000", "1000"), ("1\\,000", "1000"), ("-7", "-7")],
    "decimals": [("0.5", "1/2"), ("2.50", "2.5"), (".25", "\\frac14")],
    "fractions": [("\\dfrac{3}{4}", "0.75"), ("\\tfrac{6}{8}", "3/4"), ("-\\frac{1}{2}", "\\frac{-1}{2}")],  # noqa: E501
    "mixed": [("2\\frac{1}{2}", "5/2"), ("1\\frac{3}{4}", "7/4")],
    "scientific": [("1.5e3", "1500"), ("1.5\\times10^{3}", "1500"), ("2E-2", "0.02")],
    "radicals": [("2\\sqrt{2}", "\\sqrt{8}"), ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),
                 ("\\sqrt{12}", "2\\sqrt3"), ("\\sqrt[3]{16}", "2\\sqrt[3]{2}"),
                 ("\\sqrt2-1", "\\frac{1}{1+\\sqrt2}")],
    "pi_e": [("2\\pi", "\\pi\\cdot 2"), ("\\frac{\\pi}{2}", "0.5\\pi"), ("e^2", "e\\cdot e")],
    "complex": [("2i", "\\sqrt{-4}"), ("(1+i)^2", "2i"), ("\\frac{1}{i}", "-i"), ("3+4i", "4i+3")],
    "powers": [("2^{10}", "1024"), ("2^{-1}", "0.5"), ("4^{1/2}", "2"), ("8^{2/3}", "4")],
    "polynomials": [("(x+1)^2", "x^2+2x+1"), ("\\frac{x^2-1}{x-1}", "x+1"), ("2(a+b)", "2a+2b")],
    "tuples": [("(1, 2)", "(1,2)"), ("(\\frac12, 3)", "(0.5, 3)")],
    "sets": [("x=1 \\text{ or } x=2", "1, 2"), ("3 and 5", "5, 3"), ("\\{1, 2\\}", "\\{2, 1\\}"), ("3, 1, 2", "1,2,3"), ("1 \\pm \\sqrt2", "1+\\sqrt2, 1-\\sqrt2")],  # noqa: E501
    "intervals": [("[1, 2)", "[1,2)"), ("(-\\infty, 3]", "(-\\infty,3]"), ("x > 2", "(2, \\infty)")],  # noqa: E501
    "unions": [("(-\\infty,0)\\cup(1,\\infty)", "(1,\\infty)\\cup(-\\infty,0)")],
    "equations": [("x=2", "2"), ("2", "x = 2"), ("y=2x+1", "2x+1"), ("2x+2y=2", "x+y=1"),
                  ("f(x)=x^2+1", "x^2+1"), ("S(n) = 2^{n-1}", "2^{n-1}")],
    "matrices": [("\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}")],  # noqa: E501
    "units_text": [("10\\text{ cm}", "10"), ("30^\\circ", "30"), ("\\$5", "5"), ("50\\%", "50"),
                   ("\\text{5 dollars}", "5"), ("$\\frac{1}{2}$", "0.5"), ("2", "2 inequalities"),
                   ("5", "5\\text{ m}"), ("10", "10\\mbox{ cm}^2")],
    "choices": [("B", "(B)"), ("(C)", "C"), ("\\text{(D)}", "D"), ("B) 12", "B")],
    "plain_text": [("\\text{Monday}", "monday"), ("No", "no"), ("\\text{no solution}", "No Solution")],  # noqa: E501
    "bases": [("123_5", "38"), ("1011_2", "11"), ("101_{2}", "5")],
    "leading_plus": [("+5", "5"), ("+\\frac12", "0.5")],
    "malformed": [("\\sqrt2", "\\sqrt{2}"), ("\\frac12", "0.5"), ("\\sqrt(2)", "\\sqrt{2}"), ("\\frac1{2}", "1/2")],  # noqa: E501
    "logs": [("\\log_2 8", "3"), ("\\ln 1", "0")],
}  # fmt: skip

# (answer, gold): VIOLATED
NOT_EQUIVALENT = {
    "exact": [("0.30000000000000004", "0.3"), ("2^{53}+1", "2^{53}"), ("0.333", "1/3")],
    "big": [("123456789012345678", "123456789012345679"), ("1/2004!", "1/2006!"),
            ("1/2^{99}", "1/2^{98}")],
    "numbers": [("1001", "1,000"), ("-7", "7"), ("2.51", "2.5"), ("3\\frac{1}{2}", "3/2")],
    "radicals": [("\\sqrt{8}", "\\sqrt{2}"), ("\\sqrt{2}", "1.41421356")],
    "pi": [("\\pi", "3.14159265358979"), ("2\\pi", "\\pi")],
    "complex": [("2i", "2"), ("1+i", "1-i")],
    "polynomials": [("(x+1)^2", "x^2+1"), ("x^2", "y^2")],
    "tuples": [("(1,2)", "(2,1)"), ("(1,2)", "(1,2,3)")],
    "sets": [("\\{1,2\\}", "\\{1,3\\}"), ("1, 2", "1, 2, 2")],
    "intervals": [("(1,2)", "[1,2]"), ("[1,2)", "(1,2]"), ("x \\ge 2", "(2, \\infty)")],
    "equations": [("x=3", "2"), ("y=2x+1", "2x-1"), ("2x=4", "4"), ("x^2=4", "4")],
    "matrices": [("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}")],  # noqa: E501
    "choices": [("C", "B"), ("A", "(B)")],
    "text": [("\\text{Tuesday}", "Monday"), ("5", "\\text{no solution}")],
    "bases": [("123_5", "123"), ("129_5", "38")],
    # A bare letter after a number is a variable, not a unit; units go only after numbers.
    "not_units": [("5", "5 m"), ("n+2", "n + 2 cm"), ("2", "2g")],
    # Space-separated digit groups are not products: `1 000` is not 1*0.
    "digit_groups": [("1 000", "0"), ("2 3", "6")],
}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "gold"), [pair for pairs in EQUIVALENT.values() for pair in pairs]
)
def test_equivalent(judge: MathJudge, answer: str, gold: str) -> None:
    assert verdict(judge, answer, gold) == Verdict.SATISFIED


@pytest.mark.parametrize(
    ("answer", "gold"), [pair for pairs in NOT_EQUIVALENT.values() for pair in pairs]
)
def test_not_equivalent(judge: MathJudge, answer: str, gold: str) -> None:
    assert verdict(judge, answer, gold) == Verdict.VIOLATED


@pytest.mark.parametrize(
    ("completion", "extracted"),
    [
        ("first \\boxed{1}, finally \\boxed{\\frac{2}{3}}", "\\frac{2}{3}"),
        ("\\fbox{7}", "7"),
        ("The final answer is $12$. I hope it is correct.", "12"),
        ("The final answer is 12.", "12"),
        ("work\n#### 1,234\n", "1,234"),
        ("Answer: 5", "5"),
        ("**Answer:** 5", "5"),
        ("\\boxed{\\{1,2\\}} nested", "\\{1,2\\}"),
    ],
)
def test_extraction(judge: MathJudge, completion: str, extracted: str) -> None:
    r = judge.explain([Sample("q", completion, {"answer": "0"})])[0]
    assert r.details["extracted"] == extracted
    assert cgpo._core.math_extract(completion, list(judge.extraction)) == extracted


def test_extraction_order_is_configurable() -> None:
    text = "Answer: 1\n#### 2\n\\boxed{3}"
    for order, expected in [
        (("boxed",), "3"),
        (("hashes", "boxed"), "2"),
        (("answer_colon",), "1"),
        (("final_answer",), None),
    ]:
        for cls in JUDGES:
            r = cls(extraction=order).explain([Sample("q", text, {"answer": "2"})])[0]
            if expected is None:
                assert (r.verdict, r.reason) == (Verdict.VIOLATED, "no_answer")
            else:
                assert r.details["extracted"] == expected


def test_reasons_and_details(judge: MathJudge) -> None:
    samples = [
        Sample("q", "\\boxed{4/2}", {"answer": "2"}),
        Sample("q", "\\boxed{3}", {"answer": "2"}),
        Sample("q", "I think it is two", {"answer": "2"}),
    ]
    results = judge.explain(samples)
    assert [(r.verdict, r.reason) for r in results] == [
        (Verdict.SATISFIED, "equivalent"),
        (Verdict.VIOLATED, "not_equivalent"),
        (Verdict.VIOLATED, "no_answer"),
    ]
    assert results[0].details["extracted"] == "4/2"
    assert judge.stats.total == 3 and judge.stats.satisfied == 1


@pytest.mark.parametrize(
    ("gold", "answer"), [(42, "42"), (0.5, "1/2"), (-3, "-3"), (1e-3, "0.001")]
)
def test_numeric_gold_answers(judge: MathJudge, gold: object, answer: str) -> None:
    assert verdict(judge, answer, gold) == Verdict.SATISFIED


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({}, "sample 0: metadata is missing the key 'answer'"),
        ({"answer": None}, r"sample 0: metadata\['answer'\] must be str, int, float"),
        ({"answer": True}, "must be str, int, float, Fraction or Decimal, got bool"),
        ({"answer": 1j}, "got complex"),
        ({"answer": Decimal("NaN")}, "not finite"),
        ({"answer": "1\ud800"}, r"sample 0: metadata\['answer'\] holds a lone surrogate"),
        ({"answer": "  "}, "empty string"),
        ({"answer": float("nan")}, "not finite"),
    ],
)
def test_bad_metadata_raises(judge: MathJudge, metadata: dict[str, object], match: str) -> None:
    with pytest.raises(cgpo.InvalidInputError, match=match):
        judge.judge([Sample("q", "\\boxed{1}", metadata)])


def test_bad_config_raises() -> None:
    for cls in JUDGES:
        with pytest.raises(cgpo.ConfigError, match="unknown strategy"):
            cls(extraction=["latex"])
        with pytest.raises(cgpo.ConfigError):
            cls(extraction="boxed")
    with pytest.raises(cgpo.ConfigError, match="timeout_ms"):
        MathJudge(timeout_ms=0)


def test_batch_order_and_shared_gold() -> None:
    samples = [Sample("q", f"\\boxed{{{k}}}", {"answer": "3" if k % 2 else "4"}) for k in range(50)]
    got = MathJudge().judge(samples)
    assert got == [Verdict.SATISFIED if k in (3, 4) else Verdict.VIOLATED for k in range(50)]
    assert MathJudge().judge([]) == []


HOSTILE = [
    "\\boxed{" + "2^{" * 8 + "2" + "}" * 8 + "}",
    "\\boxed{" + "(" * 300 + "1" + ")" * 300 + "}",
    "x" * (1 << 20) + "\\boxed{1}",
    "\\boxed{" * 5000,
    "\\boxed{a\x00b}",
    "\\boxed{\u202e\U0001f600\u0301\ufeff}",
    "\\boxed{" + "1+" * 100_000 + "1}",
    "\\boxed{(x+y+z+w)^{400}}",
    "\\boxed{10^{10^{10}}}",
    "\\boxed{99999!}",
    "\\boxed{\\frac{1}{0}}",
    "\\boxed{}}}{{{",
]


@pytest.mark.parametrize("completion", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_inputs_return_a_verdict(completion: str) -> None:
    r = MathJudge().explain([Sample("q", completion, {"answer": "1"})])[0]
    assert r.verdict in (Verdict.SATISFIED, Verdict.VIOLATED, Verdict.ERROR)
    if r.verdict == Verdict.ERROR:
        assert r.reason == "budget_exceeded"


def test_exponent_tower_is_rejected_not_an_error() -> None:
    tower = "\\boxed{" + "2^{" * 6 + "2" + "}" * 6 + "}"
    r = MathJudge().explain([Sample("q", tower, {"answer": "5"})])[0]
    assert (r.verdict, r.reason) == (Verdict.VIOLATED, "not_equivalent")


def test_over_budget_is_error() -> None:
    # Equal, and within the size estimates, but too much work to expand within the budget.
    r = MathJudge().explain([Sample("q", "\\boxed{(x+1)^{3000}}", {"answer": "(1+x)^{3000}"})])[0]
    assert (r.verdict, r.reason) == (Verdict.ERROR, "budget_exceeded")
    # Too many terms to expand, but its value at a point mod p is not 1: decided.
    r = MathJudge().explain([Sample("q", "\\boxed{(x+y+z+w)^{400}}", {"answer": "1"})])[0]
    assert (r.verdict, r.reason) == (Verdict.VIOLATED, "not_equivalent")
    assert MathJudge(max_steps=10).judge(
        [Sample("q", "\\boxed{(x+1)^2}", {"answer": "x^2+2x+1"})]
    ) == [Verdict.ERROR]


def test_reward_function() -> None:
    reward = cgpo.judges.as_reward_function(MathJudge())
    assert reward(
        prompts=["a", "b"], completions=["\\boxed{1}", "\\boxed{2}"], answer=["1", "1"]
    ) == [
        1.0,
        0.0,
    ]


def test_exports() -> None:
    assert cgpo.MathJudge is MathJudge
    assert "MathJudge" in cgpo.__all__ and "MathJudge" in cgpo.judges.__all__
    assert "MathJudge" in reference.__all__


def test_hostile_inputs_in_one_parallel_batch() -> None:
    # Batches run on rayon worker threads (smaller stacks than the main thread).
    samples = [Sample("q", c, {"answer": "1"}) for c in HOSTILE * 2]
    results = MathJudge().explain(samples)
    assert len(results) == len(samples)
    assert all(
        r.reason in ("equivalent", "not_equivalent", "no_answer", "budget_exceeded")
        for r in results
    )


def test_deep_but_legal_inputs_are_decided_on_worker_threads() -> None:
    # 480-term sums and 110 nested parentheses are within the parser's limits: decided, not
    # refused, and without exhausting a rayon worker's stack.
    chain = Sample("q", "\\boxed{" + "+".join(["x"] * 480) + "}", {"answer": "480x"})
    nested = Sample("q", "\\boxed{" + "(" * 110 + "1" + ")" * 110 + "}", {"answer": "1"})
    results = MathJudge().explain([chain, nested] * 8)
    assert {r.reason for r in results} == {"equivalent"}


def test_core_equivalent_on_extracted_answers() -> None:
    assert cgpo._core.math_equivalent("x^2+2x+1", "(x+1)^2")[:2] == (1, "equivalent")
    assert cgpo._core.math_equivalent("1", "}{")[:2] == (0, "not_equivalent")
    assert cgpo._core.math_equivalent("3", "")[:2] == (0, "no_answer")


def test_huge_timeout_is_a_clear_error() -> None:
    with pytest.raises(cgpo.InvalidInputError, match="timeout_ms"):
        MathJudge(timeout_ms=1e300).judge([Sample("q", "\\boxed{1}", {"answer": "1"})])


@pytest.mark.parametrize("cls", JUDGES, ids=["rust", "reference"])
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout_ms": 0}, "timeout_ms must be a positive number"),
        ({"timeout_ms": float("nan")}, "timeout_ms must be a positive number"),
        ({"max_steps": 0}, "max_steps must be a positive int"),
        ({"max_steps": True}, "max_steps must be a positive int"),
    ],
)
def test_bad_budget_is_a_config_error(cls: type, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(cgpo.ConfigError, match=message):
        cls(**kwargs)


@pytest.mark.parametrize(
    "completion",
    [
        "The final answer is \xa0*0",  # found by hypothesis: a no-break space before markdown bold
        "The final answer is **0**",
        "Answer:\u2003 0",
    ],
)
def test_marker_followed_by_unicode_space_matches_reference(completion: str) -> None:
    s = [Sample("q", completion, {"answer": "0"})]
    rust, ref = MathJudge().explain(s)[0], reference.MathJudge().explain(s)[0]
    assert (rust.verdict, rust.details) == (ref.verdict, ref.details)
    assert rust.verdict == Verdict.SATISFIED
