"""Time per decision of the math judge on hand-labelled pathological answers (huge powers,
factorials, long digit strings, deep nesting, enormous values against small answers).

Usage: PYTHONPATH=python python benches/bench_math_pathological.py [--repeat N] [--reference]

Each case is one call (the gold is prepared every time), timed ``--repeat`` times; the table
gives the median and the worst time per case, and whether the verdict is the labelled one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from cgpo import reference
from cgpo.benchmarks.math_pathological import CASES
from cgpo.judges import MathJudge, Sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reference", action="store_true", help="time the Python reference too")
    args = parser.parse_args()
    judges = [("rust", MathJudge())]
    if args.reference:
        judges.append(("reference", reference.MathJudge()))
    for name, judge in judges:
        print(f"\n{name}: {len(CASES)} cases, {args.repeat} runs each")
        print("| answer | gold | verdict | labelled | median ms | max ms |")
        print("|---|---|---|---|---|---|")
        worst, right = 0.0, 0
        for answer, gold, expected in CASES:
            sample = [Sample("q", f"\\boxed{{{answer}}}", {"answer": gold})]
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                got = judge.judge(sample)[0]
                times.append((time.perf_counter() - t0) * 1000)
            worst = max(worst, max(times))
            right += got == expected
            short = (answer if len(answer) <= 40 else answer[:37] + "...").replace("|", "\\|")
            g = gold if len(gold) <= 30 else gold[:27] + "..."
            print(
                f"| `{short}` | `{g}` | {got.name} | {'yes' if got == expected else 'NO'} | "
                f"{statistics.median(times):.3f} | {max(times):.3f} |"
            )
        print(f"\n{name}: {right}/{len(CASES)} as labelled; slowest decision {worst:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
