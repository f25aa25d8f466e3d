"""CGPO's update rules (CRPG, CRRAFT, CODPO) and the baselines (PPO, DPO), found by name.

See :mod:`cgpo.algorithms.base` for the interface and the registry.
"""

from __future__ import annotations

from cgpo.algorithms.base import (
    Algorithm,
    AlgorithmSettings,
    LossResult,
    Models,
    available_algorithms,
    get_algorithm,
    register_algorithm,
)

__all__ = [
    "Algorithm",
    "AlgorithmSettings",
    "LossResult",
    "Models",
    "available_algorithms",
    "get_algorithm",
    "register_algorithm",
]
