"""Cutting a batch into parts and putting the parts' error messages back in batch terms.

Judges name a bad sample by its index in the call (``sample 3: metadata is missing the key
'answer'``). Whoever splits a batch into parts (Ray actors, data-source groups, file batches)
uses these helpers to report the index the caller knows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["renumber", "sample_index", "split_evenly", "without_index"]

_SAMPLE_INDEX = re.compile(r"^sample (\d+): ")


def split_evenly(n: int, parts: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges cutting ``range(n)`` into at most ``parts`` contiguous pieces
    whose sizes differ by at most one (no empty piece).

    >>> split_evenly(5, 2)
    [(0, 3), (3, 5)]
    """
    if n <= 0:
        return []
    parts = max(1, min(parts, n))
    size, extra = divmod(n, parts)
    out, start = [], 0
    for k in range(parts):
        stop = start + size + (1 if k < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def sample_index(message: str, n: int | None = None) -> int | None:
    """The index a message starts with (``sample 3: ...``), if any (and below ``n``)."""
    m = _SAMPLE_INDEX.match(message)
    if m is None or (n is not None and int(m.group(1)) >= n):
        return None
    return int(m.group(1))


def without_index(message: str) -> str:
    """The message without its leading ``sample k: ``."""
    return _SAMPLE_INDEX.sub("", message, count=1)


def renumber(message: str, indices: Sequence[int] | int) -> str:
    """``sample k: ...`` of a part, as the caller's ``sample indices[k]: ...``.

    ``indices`` maps a part's positions to batch positions, or is the part's offset.

    >>> renumber("sample 1: metadata is missing the key 'answer'", 10)
    "sample 11: metadata is missing the key 'answer'"
    """
    k = sample_index(message)
    if k is None:
        return message
    if isinstance(indices, int):
        new = indices + k
    elif k < len(indices):
        new = indices[k]
    else:
        return message
    return f"sample {new}: {without_index(message)}"
