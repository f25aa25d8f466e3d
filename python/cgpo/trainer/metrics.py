"""Where a run's numbers go: ``metrics.jsonl`` (one object per task and step), TensorBoard when it
is installed, and a tqdm progress bar."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard


class MetricsLogger:
    """Appends per-task metrics to ``RUN_DIR/metrics.jsonl``.

    On resume from step S, lines of steps after S (written by the interrupted run after its last
    checkpoint) are dropped first, so the file reads like one uninterrupted run.
    """

    def __init__(
        self, output_dir: str | Path, *, tensorboard: bool = True, resume_step: int | None = None
    ) -> None:
        self.path = Path(output_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is None:
            self.path.write_text("")
        elif self.path.exists():
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step
            ]
            self.path.write_text("".join(line + "\n" for line in kept))
        self._tb: Any = _tensorboard(Path(output_dir) / "tensorboard") if tensorboard else None

    def log(self, record: Mapping[str, Any]) -> None:
        clean = {k: _json_value(v) for k, v in record.items()}
        with self.path.open("a") as f:
            f.write(json.dumps(clean) + "\n")
        if self._tb is not None:
            step, task = int(record["step"]), record.get("task", "all")
            for k, v in clean.items():
                if k not in ("step", "task") and isinstance(v, (int, float)) and v is not None:
                    self._tb.add_scalar(f"{task}/{k}", v, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.flush()
            self._tb.close()
            self._tb = None


def _tensorboard(log_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # TensorBoard is optional
        return None
    return SummaryWriter(log_dir=str(log_dir))


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item") and callable(v.item):
        return _json_value(v.item())
    return v


class progress_bar:
    """A tqdm bar over the steps showing each task's satisfied rate and calibrated reward."""

    def __init__(self, total: int, initial: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=initial, desc="cgpo", unit="step")

    def update(self, records: list[dict[str, Any]]) -> None:
        self.bar.update(1)
        self.bar.set_postfix(
            {r["task"]: f"sat {r['satisfied']:.2f} R {r['calibrated_reward']:.2f}" for r in records}
        )

    def close(self) -> None:
        self.bar.close()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    p = Path(run_dir) / "metrics.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def task_record(
    task: Any,
    batch: Any,
    loss: float | None,
    stats: dict[str, float],
    times: Mapping[str, float],
    judge_counts: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> dict[str, Any]:
    """One task's metrics for one step: rewards, pass and error rates (of the real verdicts, also
    when the update runs without judges), lengths, throughput, the stages' times, each member
    judge's rates over this step, and the algorithm's statistics."""
    from cgpo.judges.base import Verdict

    verdicts, rewards, base = batch.verdicts, batch.rewards, batch.baseline_rewards
    tokens = batch.rollout.num_tokens
    total = times["task"]
    rec: dict[str, Any] = {
        "task": task.name,
        "algorithm": task.algorithm,
        "optimizer": task.algorithm,  # the key metrics.jsonl has always had
        "loss": loss,
        "reward": float(rewards.mean()),
        "calibrated_reward": float(batch.calibrated.mean()),
        "baseline_reward": float(base.mean()),
        "satisfied": float((verdicts == int(Verdict.SATISFIED)).mean()),
        "judge_error_rate": float((verdicts == int(Verdict.ERROR)).mean()),
        "kl": stats.pop("kl", None),
        "response_length": float(batch.rollout.completion_mask.sum(dim=1).float().mean()),
        "tokens": tokens,
        "responses": len(batch.rollout.texts),
        "tokens_per_s": tokens / times["generation"] if times["generation"] > 0 else None,
        **{f"time_{k}": v for k, v in times.items()},
        "judge_time_share": times["judges"] / total if total > 0 else 0.0,
    }
    before, after = judge_counts
    for name, a in after.items():
        b = before[name]
        n = a.total - b.total
        rec[f"judge/{name}/pass_rate"] = (a.satisfied - b.satisfied) / n if n else None
        rec[f"judge/{name}/error_rate"] = (a.errors - b.errors) / n if n else None
    rec.update(stats)
    return rec


# How one task's records of the data-parallel ranks combine into the step's record: counts add
# up, a stage takes as long as its slowest rank, the loss is weighted by each rank's count of
# the terms it averages (``loss_terms``: rows, or PPO's tokens), anything else is a mean over the
# ranks' responses.
_SUMMED = {
    "tokens",
    "tokens_per_s",
    "responses",
    "rows_used",
    "selected",
    "baseline_fallbacks",
    "pairs",
}


def merge_rank_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One task's metrics over every rank's share of its minibatch (records in rank order)."""
    out = dict(records[0])
    out.pop("loss_terms", None)
    for key, first in records[0].items():
        if isinstance(first, (str, bool)) or key in ("step", "world_size", "loss_terms"):
            continue
        vals = [r.get(key) for r in records]
        if key in _SUMMED:
            out[key] = sum(v for v in vals if _finite(v))
        elif key.startswith("time_"):
            out[key] = max((float(v) for v in vals if _finite(v)), default=None)
        else:
            weight = "loss_terms" if key == "loss" else "responses"
            pairs = [
                (float(v), float(r.get(weight) or 0.0))
                for v, r in zip(vals, records, strict=True)
                if _finite(v)
            ]
            total = sum(w for _, w in pairs)
            out[key] = sum(v * w for v, w in pairs) / total if total > 0 else None
    return out


def _finite(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
