"""Exceptions raised by cgpo.

All of them derive from :class:`CgpoError`, so ``except cgpo.CgpoError`` catches anything the
library raises on purpose. The Rust core raises the same classes (they are imported into the
extension module), so there is one hierarchy for both halves of the library.
"""

from __future__ import annotations


class CgpoError(Exception):
    """Base class of every error cgpo raises."""


class InvalidInputError(CgpoError, ValueError):
    """The caller's input is wrong: a missing metadata key, a wrong type, mismatched lengths.

    The message names the sample index and the key when there is one.
    """


class JudgeInternalError(CgpoError, RuntimeError):
    """A judge broke (a bug or a caught Rust panic), as opposed to the input being wrong."""


class ConfigError(CgpoError, ValueError):
    """A configuration value is invalid; the message names the field and the allowed values."""


__all__ = ["CgpoError", "ConfigError", "InvalidInputError", "JudgeInternalError"]
