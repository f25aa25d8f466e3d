"""Agreement of the math judge with Math-Verify's own regression cases.

Math-Verify's test suite (https://github.com/huggingface/Math-Verify, ``tests/``) holds
(gold, prediction, expected) triples taken from real model outputs and datasets (MATH,
NuminaMath, OpenThoughts). This script reads them from a checkout of that repository (nothing
is copied into cgpo), judges each pair with cgpo's Rust judge and its Python reference, and
reports the agreement on the cases whose prediction carries a ``\\boxed{}`` answer (the cases
without a final-answer marker differ on purpose: CGPO counts a right answer in the wrong format
as a violation). Every disagreement is printed; docs/math.md says why each is deliberate.

Usage::

    git clone https://github.com/huggingface/Math-Verify /tmp/Math-Verify
    PYTHONPATH=python python benches/math_verify_regressions.py /tmp/Math-Verify/tests [--all]
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys
from dataclasses import dataclass

from cgpo import reference
from cgpo.judges import MathJudge, Sample, Verdict


@dataclass(frozen=True)
class Case:
    where: str  # file::test function
    gold: str
    pred: str
    expected: bool


def load_cases(tests_dir: pathlib.Path) -> list[Case]:
    """Every ``(gold, pred, expected)`` row of a ``pytest.mark.parametrize`` whose argument
    names start with ``gold, pred`` in the test files (read with ``ast``, never executed)."""
    cases = []
    for path in sorted(tests_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef):
                continue
            for deco in fn.decorator_list:
                if not (
                    isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "parametrize"
                ):
                    continue
                names = [n.strip() for n in ast.literal_eval(deco.args[0]).split(",")]
                if names[:2] != ["gold", "pred"] or not isinstance(deco.args[1], ast.List):
                    continue
                label = "expected" if "expected" in names else names[-1]
                for row in deco.args[1].elts:
                    try:
                        values = dict(zip(names, ast.literal_eval(row), strict=True))
                    except ValueError:  # a row built at run time (an f-string): not a literal
                        continue
                    cases.append(
                        Case(
                            f"{path.name}::{fn.name}",
                            values["gold"],
                            values["pred"],
                            bool(values[label]),
                        )
                    )
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "tests", type=pathlib.Path, help="the tests/ folder of a Math-Verify checkout"
    )
    parser.add_argument("--all", action="store_true", help="also the predictions without a box")
    args = parser.parse_args()
    cases = load_cases(args.tests)
    boxed = [c for c in cases if args.all or "\\boxed" in c.pred]
    rust, ref = MathJudge(), reference.MathJudge()
    samples = [Sample("", c.pred, {"answer": c.gold}) for c in boxed]
    got = rust.explain(samples)
    got_ref = ref.explain(samples)
    agree = 0
    for c, r, rr in zip(boxed, got, got_ref, strict=True):
        ok = (r.verdict == Verdict.SATISFIED) == c.expected
        agree += ok
        parity = "" if (r.verdict, r.reason) == (rr.verdict, rr.reason) else " (reference differs!)"
        if not ok or parity:
            print(
                f"{'DISAGREE' if not ok else 'agree'} {c.where}: expected {int(c.expected)}, "
                f"cgpo {r.verdict.name} {r.reason}{parity}"
            )
            print(f"    gold: {c.gold[-150:]!r}\n    pred: {c.pred[-150:]!r}")
            print(f"    extracted: {r.details.get('extracted', '')!r}")
    same = sum(
        (a.verdict, a.reason) == (b.verdict, b.reason) for a, b in zip(got, got_ref, strict=True)
    )
    kind = "all" if args.all else "boxed predictions"
    print(f"\ncases read: {len(cases)}; judged: {len(boxed)} ({kind})")
    share = 100 * agree / len(boxed)
    print(f"agreement with Math-Verify's expected label: {agree}/{len(boxed)} ({share:.1f}%)")
    print(f"Rust == reference (verdict and reason): {same}/{len(boxed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
