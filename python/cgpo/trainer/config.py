"""The configuration's public names where they have always been imported from.

The classes live in :mod:`cgpo.config` (validation helpers at the bottom, the algorithms'
settings beside their algorithms, :class:`Task` and :class:`CGPOConfig` composed from them).
"""

from __future__ import annotations

from cgpo.algorithms.ppo import PPOSettings as PPOConfig
from cgpo.config.generation import GenerationConfig
from cgpo.config.run import CGPOConfig
from cgpo.config.task import Task
from cgpo.config.validate import load_yaml

__all__ = ["CGPOConfig", "GenerationConfig", "PPOConfig", "Task", "load_yaml"]
