"""CGPO training: the multi-task trainer (Algorithm 2) and its checkpoints, metrics, evaluation.

``Task`` and ``CGPOConfig`` (from :mod:`cgpo.config`) are plain Python; ``CGPOTrainer`` (and
everything that needs torch) is imported on first use, so a config can be validated without
loading torch.
"""

from __future__ import annotations

from typing import Any

from cgpo.config.generation import GenerationConfig
from cgpo.config.run import CGPOConfig
from cgpo.config.task import Task

__all__ = ["CGPOConfig", "CGPOTrainer", "GenerationConfig", "Task"]


def __getattr__(name: str) -> Any:
    if name == "CGPOTrainer":
        from cgpo.trainer.trainer import CGPOTrainer

        return CGPOTrainer
    raise AttributeError(f"module 'cgpo.trainer' has no attribute {name!r}")
