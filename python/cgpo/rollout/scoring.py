"""Scoring: each task's reward model, and the stage that scores a rollout batch and calibrates
its rewards against each prompt's baseline response (docs/method.md, "Calibrated reward").

The calibrated reward ``sigmoid(r(s, a) - r(s, a_bar))`` is computed by the Rust selection
(:func:`cgpo.selection.calibrated_reward`), the formula's one home.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from cgpo import selection
from cgpo.rewards.models import HFRewardModel, RewardModel, as_reward_model
from cgpo.rollout.batch import RolloutBatch
from cgpo.tasks.reward_model import default_reward_model


class RewardModels:
    """Resolves a task's ``reward_model`` setting: a name given to the trainer, ``'default'``
    (the built-in model, trained once and cached), a checkpoint path, or a callable. A model
    named by a string is loaded once and shared by the tasks that name it."""

    def __init__(
        self, named: Mapping[str, Any], device: Any, log: Callable[[str], None] = print
    ) -> None:
        self.named = dict(named)
        self.device = device
        self.log = log
        self._loaded: dict[str, RewardModel] = {}

    def get(self, spec: Any) -> RewardModel:
        if not isinstance(spec, str):
            return as_reward_model(spec)
        if spec in self.named:
            return as_reward_model(self.named[spec])
        if spec not in self._loaded:
            if spec == "default":
                self._loaded[spec] = default_reward_model(self.device, log=self.log)
            else:
                self._loaded[spec] = HFRewardModel.from_pretrained(spec, device=str(self.device))
        return self._loaded[spec]


def score_batch(
    reward_model: RewardModel,
    batch: RolloutBatch,
    baseline_rewards: np.ndarray,
    baseline_satisfied: np.ndarray,
    *,
    use_judges: bool = True,
) -> None:
    """Fills ``batch.rewards`` (r(s, a) of every response), ``batch.baseline_rewards`` (each
    row's r(s, a_bar), from the per-prompt ``baseline_rewards``), ``batch.calibrated`` and
    ``batch.baseline_satisfied`` (what the update sees: all True without judges)."""
    assert batch.rollout is not None
    rows = batch.row_prompts()
    batch.rewards = np.asarray(
        reward_model.score([list(batch.messages[p]) for p in rows], batch.rollout.texts),
        dtype=np.float64,
    )
    batch.baseline_rewards = np.asarray(baseline_rewards, dtype=np.float64)[rows]
    batch.calibrated = selection.calibrated_reward(batch.rewards, batch.baseline_rewards)
    batch.baseline_satisfied = np.asarray(baseline_satisfied, dtype=bool) | (not use_judges)
