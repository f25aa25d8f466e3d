"""A task's Mixture of Judges, built from its config, and the checks the command line runs first.

Judge configs (``{"type": "math"}``) go through the judge registry in ``cgpo.judges``; judge
objects written in Python are used as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cgpo.errors import CgpoError, ConfigError
from cgpo.trainer.config import Task

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

    return MixtureOfJudges(list(members), on_error=task.on_error)
