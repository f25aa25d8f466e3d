"""Judges: decide whether a response satisfies a constraint (CGPO's J(s, a)).

Every judge takes a batch of :class:`Sample` and returns a list of :class:`Verdict`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from cgpo.judges.instructions import InstructionJudge, ifeval_metrics
from cgpo.judges.math import MathJudge
from cgpo.judges.mixture import MixtureOfJudges
from cgpo.judges.ray_judge import RayJudge
from cgpo.judges.registry import available_judges, create_judge, from_config, register_judge

if TYPE_CHECKING:
    from cgpo.judges.llm import LLMJudge

__all__ = [
    "BaseJudge",
    "CodeJudge",
    "InstructionJudge",
    "Judge",
    "JudgeResult",
    "JudgeStats",
    "LLMJudge",
    "MathJudge",
    "MixtureOfJudges",
    "RayJudge",
    "Sample",
    "Verdict",
    "as_reward_function",
    "available_judges",
    "create_judge",
    "from_config",
    "ifeval_metrics",
    "register_judge",
]


def __getattr__(name: str) -> Any:
    # The LLM judge imports torch and transformers: only pay for that when it is used.
    if name == "LLMJudge":
        from cgpo.judges.llm import LLMJudge

        return LLMJudge
    raise AttributeError(f"module 'cgpo.judges' has no attribute {name!r}")
