"""cgpo: Constrained Generative Policy Optimization with a Rust core.

See ``cgpo.judges`` for the rule-based judges and the judge API.
"""

from cgpo._core import __version__
from cgpo.errors import CgpoError, ConfigError, InvalidInputError, JudgeInternalError
from cgpo.judges.math import MathJudge
from cgpo.judges.instructions import InstructionJudge
from cgpo.judges.code import CodeJudge

__all__ = [
    "CgpoError",
    "CodeJudge",
    "ConfigError",
    "InstructionJudge",
    "InvalidInputError",
    "JudgeInternalError",
    "MathJudge",
    "__version__",
]
