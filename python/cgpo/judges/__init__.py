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
from cgpo.judges.code import CodeJudge

__all__ = [
    "BaseJudge",
    "CodeJudge",
    "Judge",
    "JudgeResult",
    "JudgeStats",
    "Sample",
    "Verdict",
    "as_reward_function",
]
