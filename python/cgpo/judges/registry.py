"""Judges by name, for configuration files: ``{"type": "math"}`` -> a judge object.

A config entry is a mapping with a ``type`` (a registered name) and the keyword arguments of
that judge's constructor::

    {"type": "math"}
    {"type": "llm", "model": "smollm2", "template": "false_refusal"}
    {"type": "mixture", "on_error": "skip", "judges": [{"type": "math"}, {"type": "code"}]}
    {"type": "code", "timeout_s": 5, "ray": {"num_actors": 8, "address": "auto"}}

Any entry may carry ``ray: {num_actors, address, num_cpus}``: the judge then runs on a pool of
Ray actors (:class:`cgpo.judges.RayJudge`; needs ``pip install 'cgpo[ray]'``).

A list of entries is a Mixture of Judges with the default ERROR policy. Built-in judges are
registered by import path and imported only when used, so a config that names one judge does
not pay for importing the others (the LLM judge imports torch). Register your own with
:func:`register_judge`.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cgpo.errors import ConfigError
from cgpo.judges.base import Judge

__all__ = [
    "available_judges",
    "create_judge",
    "from_config",
    "judge_factory",
    "make_judge",
    "register_judge",
]

JudgeFactory = Callable[..., Judge]

_REGISTRY: dict[str, str | JudgeFactory] = {
    "code": "cgpo.judges.code:CodeJudge",
    "instructions": "cgpo.judges.instructions:InstructionJudge",
    "llm": "cgpo.judges.llm:LLMJudge",
    "math": "cgpo.judges.math:MathJudge",
    "mixture": "cgpo.judges.mixture:MixtureOfJudges",
}
_LOCK = threading.Lock()


def register_judge(name: str, factory: str | JudgeFactory, *, overwrite: bool = False) -> None:
    """Makes ``{"type": name, ...}`` build ``factory(**kwargs)``.

    ``factory`` is a callable returning a judge, or ``"package.module:Attribute"`` (imported on
    first use). Registering an existing name needs ``overwrite=True``.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError("a judge type name must be a non-empty string")
    if isinstance(factory, str) and ":" not in factory:
        raise ConfigError(f"judge factory path {factory!r} must look like 'package.module:Name'")
    with _LOCK:
        if name in _REGISTRY and not overwrite:
            raise ConfigError(f"judge type {name!r} is already registered; pass overwrite=True")
        _REGISTRY[name] = factory


def available_judges() -> list[str]:
    """The registered judge type names, sorted."""
    return sorted(_REGISTRY)


def judge_factory(name: str) -> str | JudgeFactory:
    """What ``name`` is registered as: an import path or a callable (as given)."""
    with _LOCK:
        factory = _REGISTRY.get(name)
    if factory is None:
        raise ConfigError(f"unknown judge type {name!r}; allowed: {', '.join(available_judges())}")
    return factory


def _resolve(name: str) -> JudgeFactory:
    with _LOCK:
        factory = _REGISTRY.get(name)
    if factory is None:
        raise ConfigError(f"unknown judge type {name!r}; allowed: {', '.join(available_judges())}")
    if not isinstance(factory, str):
        return factory
    module_name, _, attr = factory.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(
            f"judge type {name!r} is implemented by {factory}, which cannot be imported ({e}); "
            "is that judge part of this installation?"
        ) from e
    resolved = getattr(module, attr, None)
    if resolved is None:
        raise ConfigError(f"judge type {name!r}: {module_name} has no attribute {attr!r}")
    return resolved


def create_judge(config: Mapping[str, Any]) -> Judge:
    """Builds one judge from ``{"type": name, **kwargs}``.

    An unknown type, an option the judge does not take, or a judge whose module cannot be
    imported raises :class:`cgpo.ConfigError` naming the allowed values.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"a judge config must be a mapping with a 'type', got {type(config).__name__}"
        )
    if "type" not in config:
        raise ConfigError(
            f"a judge config needs a 'type' (one of {', '.join(available_judges())}), "
            f"got keys {sorted(config)}"
        )
    name = config["type"]
    if "ray" in config:
        return _on_ray(config)
    kwargs = {k: v for k, v in config.items() if k != "type"}
    factory = _resolve(str(name))
    if name == "mixture" and "judges" in kwargs:
        members = kwargs["judges"]
        if not isinstance(members, Sequence) or isinstance(members, (str, bytes)):
            raise ConfigError("'judges' of a mixture must be a list of judge configs")
        kwargs["judges"] = [m if isinstance(m, Judge) else create_judge(m) for m in members]
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as e:
        params = _parameters(factory)
        raise ConfigError(
            f"judge type {name!r}: {e}; its options are: {', '.join(params) or '(none)'}"
        ) from e
    except ValueError:  # no signature to check (some builtins): let the call decide
        pass
    judge = factory(**kwargs)
    return judge


def _on_ray(config: Mapping[str, Any]) -> Judge:
    options = config["ray"]
    allowed = ("num_actors", "address", "num_cpus")
    if not isinstance(options, Mapping) or not set(options) <= set(allowed):
        raise ConfigError(
            f"judge type {config['type']!r}: 'ray' must be a mapping with keys among "
            f"{', '.join(allowed)} (e.g. {{num_actors: 4, address: auto}}), got {options!r}"
        )
    # Imported here, like every judge the registry names: Ray is an optional extra.
    from cgpo.judges.ray_judge import RayJudge

    return RayJudge({k: v for k, v in config.items() if k != "ray"}, **options)


def make_judge(name: str) -> Judge:
    """The judge registered as ``name``, with its default settings."""
    return create_judge({"type": name})


def from_config(config: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Judge:
    """A judge from one config entry, or a :class:`MixtureOfJudges` from a list of entries."""
    if isinstance(config, Mapping):
        return create_judge(config)
    if isinstance(config, Sequence) and not isinstance(config, (str, bytes)):
        from cgpo.judges.mixture import MixtureOfJudges

        return MixtureOfJudges([create_judge(c) for c in config])
    raise ConfigError(
        f"a judge config is a mapping or a list of mappings, got {type(config).__name__}"
    )


def _parameters(factory: JudgeFactory) -> list[str]:
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in sig.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"
    ]
