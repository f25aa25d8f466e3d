"""Judges: decide whether a response satisfies a constraint (CGPO's J(s, a)).

Every judge takes a batch of :class:`Sample` and returns a list of :class:`Verdict`.
"""

from cgpo.judges.base import (
    BaseJudge,
    Judge,
    JudgeResult,
    JudgeStats,
    Sample,
    Verdict,
    as_reward_function,
)
from cgpo.judges.math import MathJudge

__all__ = [
    "BaseJudge",
    "Judge",
    "JudgeResult",
    "JudgeStats",
    "MathJudge",
    "Sample",
    "Verdict",
    "as_reward_function",
]
