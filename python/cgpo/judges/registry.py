"""Judges by name, for the command line and configs (``cgpo judge --judge NAME``).

A judge family registers one factory here; the factory imports its module lazily so that
``cgpo --help`` does not load every judge.
"""

from __future__ import annotations

from collections.abc import Callable

from cgpo.errors import ConfigError
from cgpo.judges.base import Judge


def _math() -> Judge:
    from cgpo.judges.math import MathJudge

    return MathJudge()


#: name -> factory building the judge with its default settings.
JUDGES: dict[str, Callable[[], Judge]] = {
    "math": _math,
}


def make_judge(name: str) -> Judge:
    """The judge registered as ``name``; :class:`cgpo.ConfigError` lists the known names."""
    try:
        factory = JUDGES[name]
    except KeyError:
        raise ConfigError(f"unknown judge {name!r}; known judges: {', '.join(sorted(JUDGES))}") from None
    return factory()
