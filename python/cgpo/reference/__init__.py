"""Pure-Python reference implementations of cgpo's Rust judges.

Written for clarity, not speed: the property tests check that the Rust judges give the same
verdicts, and the benchmarks measure how much faster the Rust ones are.
"""

from cgpo.reference.math import MathJudge

__all__: list[str] = ["MathJudge"]
from cgpo.reference.instructions import InstructionJudge

__all__: list[str] = ["InstructionJudge"]
from cgpo.reference.code import CodeJudge

__all__ = ["CodeJudge"]
