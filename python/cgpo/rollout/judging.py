"""Judging: a task's Mixture of Judges built from its config, the checks the command line runs
first, and the stage that judges a rollout batch.

Judge configs (``{"type": "math"}``) go through the judge registry in ``cgpo.judges``; judge
objects written in Python are used as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cgpo.config.task import Task
from cgpo.errors import CgpoError, ConfigError
from cgpo.judges.base import Sample

if TYPE_CHECKING:
    from cgpo.rollout.batch import RolloutBatch

# The metadata columns each rule judge reads (the judges check them again at run time; knowing
# them here lets a bad config fail before a model is loaded).
REQUIRED_METADATA: dict[str, tuple[str, ...]] = {
    "math": ("answer",),
    "instructions": ("instruction_id_list", "kwargs"),
    "code": ("tests", "entry_point"),
}


def judge_types() -> list[str]:
    """The judge ``type`` names the registry knows."""
    from cgpo.judges.registry import available_judges

    return available_judges()


def check_task_judges(task: Task) -> list[str]:
    """Validates the task's judge configs; returns the metadata columns they need."""
    needed: list[str] = []
    if not task.judges:
        return needed
    known = judge_types() if any(isinstance(s, Mapping) for s in task.judges) else []
    for i, spec in enumerate(task.judges):
        if not isinstance(spec, Mapping):
            needed.extend(getattr(spec, "required_metadata", ()))
            continue
        kind = spec["type"]
        if kind not in known:
            raise ConfigError(
                f"task {task.name!r}.judges[{i}].type: unknown judge {kind!r}; "
                f"choose one of {', '.join(map(repr, known))}"
            )
        needed.extend(REQUIRED_METADATA.get(kind, ()))
    return list(dict.fromkeys(needed))


def build_judges(task: Task) -> list[Any]:
    """The task's member judges (configs are created through the registry)."""
    out = []
    for i, spec in enumerate(task.judges):
        if isinstance(spec, Mapping):
            try:
                out.append(create_judge(dict(spec)))
            except CgpoError as e:
                raise ConfigError(f"task {task.name!r}.judges[{i}]: {e}") from None
        else:
            out.append(spec)
    return out


def create_judge(spec: dict[str, Any]) -> Any:
    """One judge from a config entry ``{"type": name, **options}``, through the registry."""
    from cgpo.judges.registry import create_judge as create

    return create(spec)


def build_mixture(task: Task, members: Sequence[Any]) -> Any:
    """CGPO's J_l: satisfied only when every member is."""
    from cgpo.judges import MixtureOfJudges

    policy: Any = task.on_error  # validated against ON_ERROR by Task
    return MixtureOfJudges(list(members), on_error=policy)


def member_names(members: Sequence[Any]) -> list[str]:
    """A name per member judge, unique within the task (a repeated name gets its index)."""
    names = [str(getattr(m, "name", type(m).__name__)) for m in members]
    return [n if names.count(n) == 1 else f"{n}{i}" for i, n in enumerate(names)]


def member_counts(mixture: Any, members: Sequence[Any], names: Sequence[str]) -> dict[str, Any]:
    """Cumulative verdict counts per member judge (the mixture keeps them; a member judge that
    is a plain ``BaseJudge`` keeps its own)."""
    per_member = getattr(mixture, "member_stats", None)
    if per_member is not None:
        return {n: copy.copy(s) for n, s in per_member.items()}
    return {
        n: copy.copy(m.stats)
        for n, m in zip(names, members, strict=True)
        if hasattr(getattr(m, "stats", None), "total")
    }


def judge_batch(mixture: Any, batch: RolloutBatch, *, use_judges: bool = True) -> None:
    """Fills ``batch.verdicts`` with the mixture's verdict on every response, and
    ``batch.update_verdicts`` with what the update sees: the verdicts, or all satisfied when the
    task runs without judges (``use_judges: false``; its pass rates are still measured)."""
    assert batch.rollout is not None
    rows = batch.row_prompts()
    samples = [
        Sample(batch.prompts[p], text, batch.metadata[p])
        for p, text in zip(rows, batch.rollout.texts, strict=True)
    ]
    verdicts = np.array([int(v) for v in mixture.judge(samples)], dtype=np.int64)
    batch.verdicts = verdicts
    batch.update_verdicts = verdicts if use_judges else np.ones_like(verdicts)
