"""Settings of the baseline optimizers the paper compares CGPO with (PPO and offline DPO), and the
checks :class:`cgpo.Task` runs for them.

Plain Python (no torch), like the rest of the configuration: a bad value fails with a one-line
:class:`cgpo.ConfigError` before any model is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cgpo.errors import ConfigError

BASELINE_OPTIMIZERS = ("ppo", "dpo")


@dataclass
class PPOConfig:
    """PPO's settings (``optimizer: ppo``). Defaults are common RLHF choices (the paper gives
    none): a per-token KL penalty of 0.05, undiscounted returns, GAE lambda 0.95."""

    kl_coef: float = field(
        default=0.05,
        metadata={
            "help": "Per-token KL penalty: r_t = -kl_coef * (log pi - log pi_ref), plus the "
            "reward model's score on the last token."
        },
    )
    gamma: float = field(default=1.0, metadata={"help": "Discount of GAE, in [0, 1]."})
    gae_lambda: float = field(default=0.95, metadata={"help": "GAE's lambda, in [0, 1]."})
    clip_eps: float = field(default=0.2, metadata={"help": "Clip range of the probability ratio."})
    value_clip: float = field(default=0.2, metadata={"help": "Clip range of the value update."})
    vf_coef: float = field(default=0.5, metadata={"help": "Weight of the value loss."})
    whiten_advantages: bool = field(
        default=True, metadata={"help": "Normalise advantages over the task's batch."}
    )

    def __post_init__(self) -> None:
        from cgpo.trainer.config import _number

        _number("ppo.kl_coef", self.kl_coef, minimum=0.0)
        _number("ppo.gamma", self.gamma, minimum=0.0, maximum=1.0)
        _number("ppo.gae_lambda", self.gae_lambda, minimum=0.0, maximum=1.0)
        _number("ppo.clip_eps", self.clip_eps, minimum=0.0, strict=True)
        _number("ppo.value_clip", self.value_clip, minimum=0.0, strict=True)
        _number("ppo.vf_coef", self.vf_coef, minimum=0.0)
        if not isinstance(self.whiten_advantages, bool):
            raise ConfigError(
                f"ppo.whiten_advantages: expected true or false, got {self.whiten_advantages!r}"
            )


def check_baseline_settings(task: Any, where: str) -> None:
    """Validates a task's ``ppo``, ``use_judges`` and DPO column settings (called by ``Task``)."""
    from cgpo.trainer.config import _build, _string

    if isinstance(task.ppo, Mapping):
        task.ppo = _build(PPOConfig, task.ppo, f"{where}.ppo")
    if not isinstance(task.ppo, PPOConfig):
        raise ConfigError(f"{where}.ppo: expected a mapping of PPO settings")
    if not isinstance(task.use_judges, bool):
        raise ConfigError(f"{where}.use_judges: expected true or false, got {task.use_judges!r}")
    _string(f"{where}.chosen_column", task.chosen_column)
    _string(f"{where}.rejected_column", task.rejected_column)
    if task.optimizer == "dpo":
        if task.chosen_column == task.rejected_column:
            raise ConfigError(
                f"{where}.rejected_column: must differ from chosen_column ({task.chosen_column!r})"
            )
        if task.metadata_columns is not None:
            for key in ("chosen_column", "rejected_column"):
                col = getattr(task, key)
                if col not in task.metadata_columns:
                    raise ConfigError(
                        f"{where}.metadata_columns: dpo reads the preference column {col!r} "
                        f"({key}); add it to metadata_columns or leave metadata_columns unset"
                    )


def required_columns(task: Any) -> list[str]:
    """Data columns the task's optimizer reads besides the judges' (DPO: chosen and rejected)."""
    return [task.chosen_column, task.rejected_column] if task.optimizer == "dpo" else []
