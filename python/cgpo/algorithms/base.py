"""The interface every update rule implements, its settings base, and the registry that finds one
by name (``Task.algorithm``).

An algorithm receives everything as data: the task's :class:`~cgpo.rollout.batch.RolloutBatch`
(prompts, responses, verdicts, rewards, calibrated rewards), the models (:class:`Models`) and its
settings, and returns ``(loss, stats)``; it never calls back into the trainer. Adding one is a
file with an :class:`Algorithm` subclass and a settings dataclass, and one line in
:data:`_REGISTRY` (or a call to :func:`register_algorithm`).

An algorithm module is importable without torch: :class:`cgpo.Task` composes the algorithms'
settings and checks when a config is validated, before any model is loaded, and the update step
imports torch when it runs.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from cgpo.config.validate import Problems
from cgpo.distributed import Ranks
from cgpo.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from cgpo.rollout.batch import RolloutBatch
    from cgpo.rollout.logprobs import Reference

__all__ = [
    "Algorithm",
    "AlgorithmSettings",
    "LossResult",
    "Models",
    "available_algorithms",
    "get_algorithm",
    "register_algorithm",
]

LossResult = tuple["torch.Tensor | None", dict[str, float]]


@dataclass
class AlgorithmSettings:
    """Base of an algorithm's settings. By default each field is read from the task's setting of
    the same name (``kl_max``, ``beta``...), so the YAML keys stay flat on the task."""

    @classmethod
    def from_task(cls, task: Any) -> AlgorithmSettings:
        return cls(**{f.name: getattr(task, f.name) for f in dataclasses.fields(cls)})


@dataclass
class Models:
    """What an update needs besides the batch: the policy (with gradients), the frozen reference,
    and the tokenizer (for responses that were not sampled: baselines, preference pairs).

    An algorithm may backpropagate its loss itself, ``micro_batch_size`` rows at a time and
    multiplied by ``loss_scale`` (the task's weight rho); it then returns the loss detached, and
    the trainer backpropagates only a loss that still has a graph."""

    policy: Any
    reference: Reference
    tokenizer: Any
    device: Any = "cpu"
    micro_batch_size: int = 8
    loss_scale: float = 1.0
    # the data-parallel processes the task's minibatch is split over; an algorithm whose loss
    # needs more than a mean over rows (CRPG's mean weight) gathers it through these
    ranks: Ranks = field(default_factory=Ranks)


class Algorithm:
    """One update rule: a loss from a judged and scored rollout batch."""

    name: ClassVar[str]
    settings_type: ClassVar[type[AlgorithmSettings]] = AlgorithmSettings
    # CRPG and CODPO compare the responses of one prompt, so they need K >= 2
    min_samples_per_prompt: ClassVar[int] = 1

    def settings(self, task: Any) -> AlgorithmSettings:
        return self.settings_type.from_task(task)

    def check(self, task: Any, where: str, problems: Problems) -> None:
        """Records what is wrong with ``task`` for this algorithm (runs while the config is
        validated, so plain Python only)."""
        if task.samples_per_prompt < self.min_samples_per_prompt:
            problems.add(
                f"{where}.samples_per_prompt: {self.name} compares responses of one prompt, "
                f"so it needs >= {self.min_samples_per_prompt}, got {task.samples_per_prompt}"
            )

    def required_columns(self, task: Any) -> list[str]:
        """Data columns the update reads besides the judges' metadata."""
        return []

    def prepare_policy(self, policy: Any) -> None:
        """Adds what the update trains besides the policy (PPO's value head). Runs after the
        reference copy is made and before the torch optimizer is built."""

    def loss_terms(self, stats: dict[str, Any]) -> float:
        """How many terms the loss averages over, from its stats (by default ``rows_used``):
        with data parallelism, a rank's gradient is weighted by its share of every rank's
        terms, so that the sum over ranks is the mean over the whole minibatch."""
        return float(stats.get("rows_used") or 0.0)

    def loss(self, batch: RolloutBatch, models: Models, settings: Any) -> LossResult:
        """``(loss, stats)``; the loss is None when no row contributes (e.g. nothing satisfied)."""
        raise NotImplementedError


# name -> the class, or "module:Class" imported on first use. The order is the order in messages.
_REGISTRY: dict[str, str | type[Algorithm]] = {
    "crpg": "cgpo.algorithms.crpg:CRPG",
    "crraft": "cgpo.algorithms.crraft:CRRAFT",
    "codpo": "cgpo.algorithms.codpo:CODPO",
    "ppo": "cgpo.algorithms.ppo:PPO",
    "dpo": "cgpo.algorithms.dpo:DPO",
}
_INSTANCES: dict[str, Algorithm] = {}


def register_algorithm(
    name: str, algorithm: str | type[Algorithm], *, overwrite: bool = False
) -> None:
    """Makes ``algorithm: name`` use ``algorithm`` (a class or ``"package.module:Class"``)."""
    if not isinstance(name, str) or not name:
        raise ConfigError("an algorithm name must be a non-empty string")
    if name in _REGISTRY and not overwrite:
        raise ConfigError(f"algorithm {name!r} is already registered; pass overwrite=True")
    _REGISTRY[name] = algorithm
    _INSTANCES.pop(name, None)


def available_algorithms() -> list[str]:
    """The registered algorithm names, in registration order."""
    return list(_REGISTRY)


def get_algorithm(name: str) -> Algorithm:
    """The algorithm registered as ``name`` (one instance per name)."""
    if name not in _INSTANCES:
        entry = _REGISTRY.get(name)
        if entry is None:
            raise ConfigError(
                f"unknown algorithm {name!r}; choose one of "
                f"{', '.join(map(repr, available_algorithms()))}"
            )
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
        _INSTANCES[name] = entry()
    return _INSTANCES[name]
