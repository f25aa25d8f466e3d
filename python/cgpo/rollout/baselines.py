"""Each prompt's baseline response a_bar, its reward r(s, a_bar) and whether the judges accept it
(docs/method.md, "Calibrated reward"), cached for the run and saved in its checkpoints.

The baseline is the data's (``baseline_column``), else the reference policy's greedy response,
generated once: greedy so it costs no randomness and is the same after a resume.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cgpo.data import PromptRecord
from cgpo.judges.base import Sample, Verdict
from cgpo.rewards.models import RewardModel


class Baselines:
    """One task's baselines by prompt index: text, reward, judges' acceptance."""

    def __init__(self) -> None:
        self.texts: dict[int, str] = {}
        self.rewards: dict[int, float] = {}
        self.satisfied: dict[int, bool] = {}

    def ensure(
        self,
        records: Sequence[PromptRecord],
        idx: Sequence[int],
        generate: Callable[[list[int]], list[str]],
        reward_model: RewardModel,
        mixture: Any,
    ) -> None:
        """Makes sure prompts ``idx`` have a scored and judged baseline; ``generate(indices)``
        returns the reference's greedy responses to those prompts."""
        missing = sorted({i for i in idx if i not in self.rewards})
        if not missing:
            return
        to_generate = [i for i in missing if records[i].baseline is None]
        for i in missing:
            if records[i].baseline is not None:
                self.texts[i] = str(records[i].baseline)
        if to_generate:
            self.texts.update(zip(to_generate, generate(to_generate), strict=True))
        recs = [records[i] for i in missing]
        scores = reward_model.score(
            [list(r.messages) for r in recs], [self.texts[i] for i in missing]
        )
        verdicts = mixture.judge(
            [
                Sample(r.prompt, self.texts[i], r.metadata)
                for r, i in zip(recs, missing, strict=True)
            ]
        )
        for i, s, v in zip(missing, scores, verdicts, strict=True):
            self.rewards[i] = float(s)
            self.satisfied[i] = v == Verdict.SATISFIED

    def of(self, idx: Sequence[int]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(texts, rewards (B,), satisfied (B,)) of prompts ``idx``, which must be ensured."""
        return (
            [self.texts[i] for i in idx],
            np.array([self.rewards[i] for i in idx], dtype=np.float64),
            np.array([self.satisfied[i] for i in idx], dtype=bool),
        )

    def state_dict(self) -> dict[str, list[Any]]:
        return {str(i): [self.texts[i], self.rewards[i], self.satisfied[i]] for i in self.rewards}

    def load_state_dict(self, state: Mapping[str, Sequence[Any]]) -> None:
        for i, (text, reward, ok) in state.items():
            self.texts[int(i)] = text
            self.rewards[int(i)] = float(reward)
            self.satisfied[int(i)] = bool(ok)
