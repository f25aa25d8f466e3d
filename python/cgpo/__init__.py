"""cgpo: Constrained Generative Policy Optimization with a Rust core.

See ``cgpo.judges`` for the rule-based judges and the judge API.
"""

from cgpo._core import __version__
from cgpo.errors import CgpoError, ConfigError, InvalidInputError, JudgeInternalError
from cgpo.judges.math import MathJudge
from cgpo.judges.instructions import InstructionJudge

__all__ = [
    "CgpoError",
    "ConfigError",
    "InstructionJudge",
    "InvalidInputError",
    "JudgeInternalError",
    "MathJudge",
    "__version__",
]
