"""Pure-Python reference implementations of cgpo's Rust judges.

Written for clarity, not speed: the property tests check that the Rust judges give the same
verdicts, and the benchmarks measure how much faster the Rust ones are.
"""

from cgpo.reference.math import MathJudge

__all__: list[str] = ["MathJudge"]
