"""The checks every settings dataclass uses: each raises :class:`cgpo.ConfigError` with a one-line
message that names the field and says how to fix it, and :class:`Problems` collects them so a
config reports all its problems at once.

This is the bottom of the configuration: plain Python, importing nothing but the errors.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cgpo.errors import ConfigError

__all__ = [
    "Problems",
    "boolean",
    "build",
    "choice",
    "load_yaml",
    "number",
    "plain",
    "string",
]


def choice(where: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(
            f"{where}: {value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}"
        )


def number(
    where: str,
    value: Any,
    *,
    integer: bool = False,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or (not integer and not math.isfinite(value)):
        kind = "an integer" if integer else "a finite number"
        raise ConfigError(f"{where}: expected {kind}, got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        op = ">" if strict else ">="
        raise ConfigError(f"{where}: must be {op} {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{where}: must be <= {maximum}, got {value!r}")


def string(where: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")


def boolean(where: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")


class Problems:
    """Collects the problems of one config so they are reported together, not only the first.

    One problem keeps its one-line message; several are raised as one :class:`ConfigError`
    with a line each.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []

    def check(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Runs ``fn(*args, **kwargs)``; a :class:`ConfigError` is recorded. True when it passed."""
        try:
            fn(*args, **kwargs)
        except ConfigError as e:
            self.add(str(e))
            return False
        return True

    def build(self, cls: Any, raw: Mapping[str, Any], where: str, **kwargs: Any) -> Any:
        """:func:`build`, its problems recorded (then None)."""
        try:
            return build(cls, raw, where, **kwargs)
        except ConfigError as e:
            self.add(str(e))
            return None

    def add(self, message: str) -> None:
        # a nested config's report may already hold several lines; keep each once
        for line in message.splitlines():
            if line not in self.messages:
                self.messages.append(line)

    def raise_any(self) -> None:
        if self.messages:
            raise ConfigError("\n".join(self.messages))


def build(cls: Any, raw: Mapping[str, Any], where: str, *, extra: Sequence[str] = ()) -> Any:
    """``cls(**raw)`` for a settings dataclass, after rejecting unknown and missing keys.

    ``extra`` names init-only keys that ``dataclasses.fields`` does not list (deprecated aliases).
    """
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    allowed = set(fields) | set(extra)
    problems = Problems()
    for k in raw:
        if k not in allowed:
            problems.add(f"{where}: unknown setting {k!r}; allowed: {', '.join(sorted(fields))}")
    for n, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and n not in raw:
            problems.add(f"{where}.{n}: this setting is required")
    problems.raise_any()
    return cls(**dict(raw))


def load_yaml(path: str | Path) -> Any:
    """Reads a YAML file, turning a missing file or a syntax error into :class:`ConfigError`."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"config file {str(p)!r} is not valid YAML: {first}") from None


def plain(x: Any) -> Any:
    """A config as plain data; Python objects (judges, datasets) are described by type name."""
    if isinstance(x, Mapping):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        if len(x) > 20 and all(isinstance(v, Mapping) for v in x):
            return f"<{len(x)} records>"
        return [plain(v) for v in x]
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    return f"<{type(x).__name__}>"
