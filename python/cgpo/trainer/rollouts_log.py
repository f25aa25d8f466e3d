"""``rollouts.jsonl``: every sampled training response with its verdict and rewards.

One line per response: ``{"step", "task", "prompt", "prompt_index", "completion", "reward",
"calibrated_reward", "baseline_reward", "satisfied", "verdict"}``. It is what users read to see
what the policy wrote, and how anyone checks that no held-out prompt was trained on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from cgpo.rollout.batch import RolloutBatch


def rollout_rows(step: int, batch: RolloutBatch) -> Iterator[dict[str, Any]]:
    """The lines of one task's batch at optimizer step ``step`` (1-based)."""
    if batch.rollout is None or batch.verdicts is None or batch.rewards is None:
        return
    k = batch.samples_per_prompt
    for j, text in enumerate(batch.rollout.texts):
        g = j // k
        verdict = int(batch.verdicts[j])
        yield {
            "step": step,
            "task": batch.task,
            "prompt": batch.prompts[g],
            "prompt_index": int(batch.indices[g]),
            "completion": text,
            "reward": float(batch.rewards[j]),
            "calibrated_reward": (
                float(batch.calibrated[j]) if batch.calibrated is not None else None
            ),
            "baseline_reward": (
                float(batch.baseline_rewards[j]) if batch.baseline_rewards is not None else None
            ),
            "satisfied": verdict == 1,
            "verdict": verdict,
        }


class RolloutsWriter:
    """Appends to ``OUTPUT_DIR/rollouts.jsonl`` (a fresh run starts the file anew)."""

    def __init__(self, output_dir: str | Path, *, resume: bool = False) -> None:
        path = Path(output_dir)
        path.mkdir(parents=True, exist_ok=True)
        self.path = path / "rollouts.jsonl"
        self._file: IO[str] | None = open(self.path, "a" if resume else "w", encoding="utf-8")

    def write(self, step: int, batch: RolloutBatch) -> None:
        self.write_rows(rollout_rows(step, batch))

    def write_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """Lines made by :func:`rollout_rows` (with data parallelism, every rank's)."""
        if self._file is None:
            return
        for row in rows:
            self._file.write(json.dumps(row) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
