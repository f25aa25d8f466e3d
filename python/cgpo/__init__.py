"""cgpo: Constrained Generative Policy Optimization with a Rust core.

See ``cgpo.judges`` for the rule-based judges and the judge API.
"""

from cgpo._core import __version__
from cgpo.config.run import CGPOConfig
from cgpo.config.task import Task
from cgpo.errors import CgpoError, ConfigError, InvalidInputError, JudgeInternalError
from cgpo.judges.code import CodeJudge
from cgpo.judges.instructions import InstructionJudge
from cgpo.judges.math import MathJudge

__all__ = [
    "CGPOConfig",
    "CGPOTrainer",
    "CgpoError",
    "CodeJudge",
    "ConfigError",
    "InstructionJudge",
    "InvalidInputError",
    "JudgeInternalError",
    "MathJudge",
    "Task",
    "__version__",
]


def __getattr__(name: str) -> object:
    # the trainer needs torch: imported on first use so `import cgpo` stays light
    if name == "CGPOTrainer":
        from cgpo.trainer.trainer import CGPOTrainer

        return CGPOTrainer
    raise AttributeError(f"module 'cgpo' has no attribute {name!r}")
