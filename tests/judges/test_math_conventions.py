"""The answer conventions of real training sets (MATH, NuminaMath, OpenThoughts), for the Rust
judge and the Python reference, and the strictness kept around them (issue 17). The cases are
written after the kinds found in Math-Verify's regression suite, in our own words."""

from __future__ import annotations

import pytest

from cgpo import reference
from cgpo.judges import MathJudge, Sample, Verdict

JUDGES = [MathJudge, reference.MathJudge]


@pytest.fixture(params=JUDGES, ids=["rust", "reference"])
def judge(request: pytest.FixtureRequest) -> MathJudge:
    return request.param()


def verdict(judge: MathJudge, completion: str, gold: str) -> Verdict:
    return judge.judge([Sample("q", completion, {"answer": gold})])[0]


# (completion, gold): SATISFIED
ACCEPTED = {
    "latex_thousands": [
        ("so $\\boxed{45,\\! 678}$", "45678"),
        ("$\\boxed{12,\\!345,\\! 678}$", "12345678"),
        ("\\boxed{7{,}204}", "7204"),
    ],
    "several_boxes": [
        ("\\boxed{(1, 4)}, \\boxed{(4, 1)}", "(4,1),(1,4)"),
        ("\\boxed{3} and \\boxed{-5}", "-5, 3"),
        ("\\[\\boxed{2} \\quad \\text{and} \\quad \\boxed{9}\\]", "2, 9"),
        ("\\(\\boxed{0}\\), \\(\\boxed{1}\\)", "\\{0, 1\\}"),
        ("$a = \\boxed{5}$ and $b = \\boxed{7}$", "a = 5, b = 7"),
        ("\\boxed{1},\\boxed{1},\\boxed{2}", "1, 2"),
    ],
    "joined_in_one_box": [
        ("\\boxed{x = 2 \\quad \\text{or} \\quad x = -3}", "-3, 2"),
        ("\\boxed{(2, 3) \\text{ and } (3, 2)}", "(3,2),(2,3)"),
        ("\\boxed{4 \\quad 6}", "4, 6"),
    ],
    "gold_lists": [
        ("\\boxed{-3, -2, -1}", "-1;-2;-3"),
        ("\\boxed{(5, 6), (6, 5)}", "(6,5)or(5,6)"),
        ("\\boxed{\\{0, 2\\}}", "2 \\text{ or } 0"),
        ("\\boxed{(1, 0, 2), (0, 1, 2)}", "(1;0;2),(0;1;2)"),
    ],
    "labelled_gold": [
        ("\\boxed{(4, 1)}", "(a,b)=(4,1)"),
        ("\\boxed{7, 3}", "m = 7, n = 3"),
        ("\\boxed{5:9}", "V_1:V_2=5:9"),
        ("\\boxed{10:18}", "5:9"),
        ("\\boxed{\\frac{5}{9}}", "5:9"),
        ("\\boxed{m = 7} \\quad \\text{and} \\quad \\boxed{n = 3}", "m = 7, n = 3"),
    ],
    "worked_solution_gold": [
        ("\\boxed{12}", "We add the parts, so the total is $\\boxed{12}$."),
        ("\\boxed{-2, 1}", "Both roots work: $x = \\boxed{1}$ and $x = \\boxed{-2}$."),
        (
            "\\boxed{36}",
            "Each side is 6. Final Answer: The final answer is $36$. I hope it is correct.",
        ),
        ("\\boxed{72}", "Half of 144 is 72.\n#### 72"),
        ("\\boxed{\\frac{1}{2}}", "$$\\frac{1}{2}$$"),
    ],
    "doubled_backslashes": [
        (
            "\\boxed{\\left( 2, \\frac{\\pi}{3} \\right)}",
            "$\\\\left(2,\\\\frac{\\\\pi}{3}\\\\right)$",
        ),
        ("$\\\\boxed{\\\\frac{3}{4}}$", "0.75"),
    ],
    "left_right_tuples": [
        ("\\boxed{\\left( \\frac{1}{2}, -1 \\right)}", "(\\frac12,-1)"),
        ("\\boxed{(12,102)}", "\\left(12, 102\\right)"),
    ],
}

# (completion, gold): VIOLATED -- the strictness kept around the conventions.
REJECTED = {
    "superset_is_not_the_set": [
        ("\\boxed{1}, \\boxed{2}, \\boxed{3}", "1, 2"),
        ("\\boxed{1, 2, 3}", "1;2"),
        ("\\boxed{(1, 4)}, \\boxed{(4, 1)}", "(1,4)"),
    ],
    "subset_is_not_the_set": [("\\boxed{1}", "1;2"), ("\\boxed{(1, 4)}", "(4,1)or(1,4)")],
    "gold_multiplicity_kept": [("\\boxed{1, 2}", "1, 2, 2")],
    "wrong_variable": [
        ("\\boxed{b = 4}", "a = 4"),
        ("\\boxed{m = 3} \\quad \\text{and} \\quad \\boxed{n = 7}", "m = 7, n = 3"),
        ("$y = \\boxed{1}$ and $x = \\boxed{2}$", "x = 1, y = 2"),
    ],
    "labels_do_not_reorder": [("\\boxed{(1, 4)}", "(a,b)=(4,1)"), ("\\boxed{9:5}", "V_1:V_2=5:9")],
    "an_intermediate_box_is_not_an_answer": [
        ("so \\boxed{3}. Then the total is \\boxed{5}", "3, 5"),
        ("\\boxed{3} \\text{ for part (a) and } \\boxed{5}", "3, 5"),
    ],
    "separators_need_digits": [("\\boxed{1,\\! 2345}", "12345"), ("\\boxed{(12,102)}", "12102")],
    "ratios": [("\\boxed{5:9}", "5:10"), ("\\boxed{0:0}", "0:0:0")],
}


@pytest.mark.parametrize(
    ("completion", "gold"), [pair for pairs in ACCEPTED.values() for pair in pairs]
)
def test_accepted(judge: MathJudge, completion: str, gold: str) -> None:
    assert verdict(judge, completion, gold) == Verdict.SATISFIED


@pytest.mark.parametrize(
    ("completion", "gold"), [pair for pairs in REJECTED.values() for pair in pairs]
)
def test_rejected(judge: MathJudge, completion: str, gold: str) -> None:
    assert verdict(judge, completion, gold) == Verdict.VIOLATED


@pytest.mark.parametrize(
    ("completion", "extracted"),
    [
        ("\\boxed{1}, \\boxed{2}", "1, 2"),
        ("$p = \\boxed{3}$, $q = \\boxed{5}$", "p = 3, q = 5"),
        ("\\boxed{1}. So \\boxed{2}", "2"),
        ("\\boxed{1} \\boxed{2} \\quad\\text{ or }\\; \\boxed{3}", "1, 2, 3"),
        ("\\boxed{\\boxed{1}}", "1"),
        ("x = \\boxed{4}", "4"),
    ],
)
def test_final_boxes(judge: MathJudge, completion: str, extracted: str) -> None:
    r = judge.explain([Sample("q", completion, {"answer": "0"})])[0]
    assert r.details["extracted"] == extracted
