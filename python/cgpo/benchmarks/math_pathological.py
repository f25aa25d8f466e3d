"""Hand-labelled pathological (answer, gold, expected) cases for the math judge: huge powers,
factorials, long digit strings, deep nesting, enormous exact values against small answers.
Shared by tests/judges/test_math_pathological.py (verdicts) and
benches/bench_math_pathological.py (time per decision; docs/math.md gives the figures)."""

from __future__ import annotations

import math

from cgpo.judges import Verdict

S, V = Verdict.SATISFIED, Verdict.VIOLATED

NINES = "9" * 5000
GROUPED = "1" + ",000" * 3000

#: (boxed answer, gold answer, expected verdict)
CASES: list[tuple[str, str, Verdict]] = [
    # huge powers
    ("2^{1000000}", "2^{1000000}+1", V),
    ("2^{1000000}", "2^{999999}", V),
    ("2^{-1000000}", "0", V),
    ("10^{10^{10}}", "10^{10^{10}}+1", V),
    ("3^{3^{3^{3}}}", "3^{3^{3^{3}}}+3", V),
    ("2^{2^{2^{2^{2}}}}", "5", V),
    ("7^{123456}", "7^{123456}", S),
    ("\\sqrt{2^{100}}", "2^{50}", S),
    ("2^{100}", "1267650600228229401496703205376", S),
    ("e^{999999} \\cdot e", "e^{1000000}", S),
    ("\\log_2 2^{100000}", "100000", S),
    ("\\log_{3} 3^{50000}", "50001", V),
    ("4^{500000}", "2^{1000000}", S),
    ("9^{9^{9}}", "9^{387420489}", S),
    ("2\\cdot 2^{999999}", "2^{1000000}", S),
    ("\\frac{6^{1000000}}{3^{1000000}}", "2^{1000000}", S),
    ("(-2)^{1000001}", "-2^{1000001}", S),
    ("(-2)^{1000000}", "-2^{1000000}", V),
    # factorials and binomials
    ("1000000!", "0", V),
    ("\\frac{100000!}{99999!}", "100000", S),
    ("\\frac{2006!}{2004!}", "2006 \\cdot 2005", S),
    ("\\frac{99999!}{100001!}", "\\frac{1}{100001 \\cdot 100000}", S),
    ("\\binom{100000}{50000}", "\\binom{100000}{50001}", V),
    ("\\binom{2000}{1000}", "\\frac{2000!}{1000!^2}", S),
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}", V),
    ("100!", str(math.factorial(100)), S),
    ("20000!", "20000! + 1", V),
    ("100000!", "100000 \\cdot 99999!", S),
    ("100000!", "99999!", V),
    # long digit strings
    ("1" + "0" * 30000, "10^{30000}", S),
    ("1" + "0" * 30000, "10^{30000}+1", V),
    (NINES, "10^{5000}-1", S),
    (NINES, "10^{5000}", V),
    (GROUPED, "10^{9000}", S),
    ("0." + "3" * 3000, "\\frac{1}{3}", V),
    # deep nesting
    ("(" * 300 + "7" + ")" * 300, "7", S),
    ("-" * 1001 + "7", "-7", S),
    ("\\sqrt{\\sqrt{\\sqrt{\\sqrt{\\sqrt{2}}}}}", "2^{1/32}", S),
    ("\\sqrt{\\sqrt{\\sqrt{\\sqrt{\\sqrt{2}}}}}", "2^{1/16}", V),
    ("\\sqrt[3]{\\sqrt{64}}", "2", S),
    ("\\left(2\\sqrt[3]{3}\\right)^{3/2}", "2\\sqrt{6}", S),
    ("(1+\\sqrt{2})^{50}", "6882627592338442563 + 4866752642924153522\\sqrt{2}", S),
    ("(1+\\sqrt{2})^{50}", "6882627592338442563 + 4866752642924153521\\sqrt{2}", V),
    # enormous expressions, small answers
    ("(x+y+z+w)^{400}", "1", V),
    ("(x+1)^{100} - (1+x)^{100} + 3", "3", S),
    ("\\frac{10^{5000}+1}{10^{5000}}", "1", V),
    ("\\frac{2^{100000}}{2^{99999}}", "2", S),
    # intervals
    (
        "(-\\infty, -1) \\cup (-1, 2) \\cup [3, \\infty)",
        "[3,\\infty)\\cup(-\\infty,-1)\\cup(-1,2)",
        S,
    ),
    (
        "(-\\infty, -1) \\cup (-1, 2] \\cup [3, \\infty)",
        "(-\\infty,-1)\\cup(-1,2)\\cup[3,\\infty)",
        V,
    ),
]

#: Equal values the judge cannot prove equal: each side is too big to compute exactly and is
#: not a single product it could compare by prime factorisation. The verdict is ERROR
#: (quickly), never a guess; docs/math.md lists them.
UNDECIDED: list[tuple[str, str]] = [
    ("2^{1000000}+1", "1+2^{1000000}"),
    ("(10^{100}+1)^{1000} - (10^{100}+1)^{1000} + 7", "7"),
    ("2^{1000000}+2^{1000000}", "2^{1000001}"),
]
