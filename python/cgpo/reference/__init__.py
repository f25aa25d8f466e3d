"""Pure-Python reference implementations of cgpo's Rust judges.

Written for clarity, not speed: the property tests check that the Rust judges give the same
verdicts, and the benchmarks measure how much faster the Rust ones are.
"""

from cgpo.reference.code import CodeJudge
from cgpo.reference.instructions import InstructionJudge
from cgpo.reference.math import MathJudge

__all__ = ["CodeJudge", "InstructionJudge", "MathJudge"]
