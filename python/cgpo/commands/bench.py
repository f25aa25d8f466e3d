"""``cgpo bench``: the math judge benchmark on the built-in real corpus (see docs/math.md)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit", type=int, default=2000, help="pairs in the corpus (default 2000; 0 = all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="corpus sampling seed")
    parser.add_argument(
        "--no-math-verify", action="store_true", help="skip Math-Verify (not installed, or slow)"
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the pure-Python reference judge"
    )
    parser.add_argument("--examples", type=int, default=3, help="examples per disagreement kind")


def run(args: argparse.Namespace) -> int:
    from cgpo.benchmarks.math import run_benchmark

    report = run_benchmark(
        limit=args.limit,
        seed=args.seed,
        math_verify=not args.no_math_verify,
        reference=not args.no_reference,
        examples=args.examples,
    )
    print(report)
    return 0
