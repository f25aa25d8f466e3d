"""Which sampled responses a CGPO update uses, computed in Rust (numpy in, numpy out).

Every input array has one entry per sampled response. ``group_ids`` (integers, stored as int64)
says which prompt a response belongs to; responses of a group need not be adjacent. Per-group
results come back in **ascending group-id order**, together with the group ids themselves, and
among equal values **the lowest sample index wins**.

``satisfied`` is the Mixture of Judges' verdict per response: ``True``/``1`` satisfied,
``False``/``0`` violated, ``-1`` error (``Verdict.ERROR``, what ``on_error="skip"`` returns).
The group-wise selections leave error samples out (never chosen, never rejected, not counted
as "another response"); :func:`crpg_weights` refuses them, since a weight cannot leave a sample
out: drop them first or map them to 0.

Bad input (mismatched lengths, NaN or infinite values, empty arrays, verdicts other than
1/0/-1, ``kl_max <= 0``) raises :class:`cgpo.InvalidInputError` naming the argument and, where
there is one, the sample index. Arrays that already have the right dtype (float64, int64, bool or
int8) and are C-contiguous are read without a copy; the work runs without the GIL, in parallel
for large inputs (``cgpo._core.set_parallelism(False)`` turns that off).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from cgpo import _core
from cgpo.errors import InvalidInputError

__all__ = [
    "CodpoPairs",
    "CrraftSelection",
    "calibrated_reward",
    "codpo_pairs",
    "crpg_weights",
    "crraft_select",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class CrraftSelection(NamedTuple):
    """CRRAFT's pick: ``groups[k]`` is a group id, ``selected[k]`` its chosen sample or -1."""

    groups: IntArray  # (G,) distinct group ids, ascending
    selected: IntArray  # (G,) sample index into the inputs, or -1


class CodpoPairs(tuple[IntArray, IntArray]):
    """CODPO's pairs, which unpack as ``chosen, rejected = codpo_pairs(...)``.

    For group ``groups[k]``, samples ``chosen[k]`` and ``rejected[k]``; both are -1 together
    when the group yields no pair. ``groups`` is an attribute, not a third element, so that the
    two-value unpacking stays the contract.
    """

    groups: IntArray  # (G,) distinct group ids, ascending

    def __new__(cls, groups: IntArray, chosen: IntArray, rejected: IntArray) -> CodpoPairs:
        self = super().__new__(cls, (chosen, rejected))
        self.groups = groups
        return self

    @property
    def chosen(self) -> IntArray:  # (G,) sample index, or -1
        return self[0]

    @property
    def rejected(self) -> IntArray:  # (G,) sample index, or -1
        return self[1]

    def __getnewargs__(self) -> tuple[IntArray, IntArray, IntArray]:
        return (self.groups, self[0], self[1])  # pickle and copy rebuild it through __new__

    def __repr__(self) -> str:
        return f"CodpoPairs(groups={self.groups!r}, chosen={self[0]!r}, rejected={self[1]!r})"


def _one_d(name: str, x: Any) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise InvalidInputError(f"`{name}`: must be a 1-D array, got shape {a.shape}")
    return a


def _floats(name: str, x: Any) -> FloatArray:
    a = _one_d(name, x)
    if a.size and not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise InvalidInputError(f"`{name}`: must hold numbers, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float64)


def _group_ids(x: Any) -> IntArray:
    a = _one_d("group_ids", x)
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise InvalidInputError(f"`group_ids`: must hold integers, got dtype {a.dtype}")
    if a.dtype == np.uint64 and a.size and int(a.max()) > np.iinfo(np.int64).max:
        raise InvalidInputError("`group_ids`: values must fit in int64")
    return np.ascontiguousarray(a, dtype=np.int64)


def _verdicts(x: Any) -> npt.NDArray[np.int8]:
    a = _one_d("satisfied", x)
    if a.dtype == np.bool_:
        return np.ascontiguousarray(a).view(np.int8)  # zero-copy: True/False are bytes 1/0
    if a.dtype == np.int8:
        return np.ascontiguousarray(a)
    if a.size and not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise InvalidInputError(f"`satisfied`: must be bool or 1/0/-1, got dtype {a.dtype}")
    # Checked before the cast to int8, which would wrap 256 to 0 or truncate 0.5 to 0.
    bad = ~np.isin(a, (-1, 0, 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(
            f"sample {i}: `satisfied`: is {a[i]}; "
            "expected 1 (satisfied), 0 (violated) or -1 (error)"
        )
    return a.astype(np.int8)


def calibrated_reward(rewards: npt.ArrayLike, baseline_rewards: npt.ArrayLike) -> FloatArray:
    """``sigmoid(r - r_baseline)`` per response: the RM's probability that it beats the baseline.

    Examples
    --------
    >>> calibrated_reward([0.0, 2.0], [0.0, 2.0])
    array([0.5, 0.5])
    """
    return _core.calibrated_reward(
        _floats("rewards", rewards), _floats("baseline_rewards", baseline_rewards)
    )


def crpg_weights(
    rewards: npt.ArrayLike,
    baseline_rewards: npt.ArrayLike,
    satisfied: npt.ArrayLike,
    log_ratio: npt.ArrayLike,
    kl_max: float,
) -> FloatArray:
    """CRPG's per-response weight::

        w = max(1 - log_ratio / kl_max, 0) * sigmoid(r - r_baseline) * satisfied

    ``satisfied`` must be 1/0 (bool or int); ``kl_max > 0`` (``inf``: no bound). The same
    formula as inside :func:`cgpo.losses.crpg_loss`, for logging or for a trainer that wants
    the weights before building tensors.

    Examples
    --------
    >>> crpg_weights([1.0, 1.0], [1.0, 1.0], [True, False], [0.5, 0.0], kl_max=1.0)
    array([0.25, 0.  ])
    """
    return _core.crpg_weights(
        _floats("rewards", rewards),
        _floats("baseline_rewards", baseline_rewards),
        _verdicts(satisfied),
        _floats("log_ratio", log_ratio),
        float(kl_max),
    )


def crraft_select(
    group_ids: npt.ArrayLike,
    rewards: npt.ArrayLike,
    satisfied: npt.ArrayLike,
    log_ratio: npt.ArrayLike,
    kl_max: float,
) -> CrraftSelection:
    """CRRAFT: per group, the highest-reward response among those satisfied with
    ``log_ratio <= kl_max``, or -1 when none is left (the trainer then falls back to the
    baseline response, or skips the prompt).

    Returns
    -------
    CrraftSelection
        ``(groups, selected)``: the distinct group ids ascending, and per group the selected
        sample's index into the inputs or -1.

    Examples
    --------
    >>> sel = crraft_select([7, 7, 3, 3], [1.0, 2.0, 5.0, 4.0], [1, 1, 0, 1], [0, 0, 0, 0], 1.0)
    >>> sel.groups.tolist(), sel.selected.tolist()
    ([3, 7], [3, 1])
    """
    groups, selected = _core.crraft_select(
        _group_ids(group_ids),
        _floats("rewards", rewards),
        _verdicts(satisfied),
        _floats("log_ratio", log_ratio),
        float(kl_max),
    )
    return CrraftSelection(groups, selected)


def codpo_pairs(
    group_ids: npt.ArrayLike, rewards: npt.ArrayLike, satisfied: npt.ArrayLike
) -> CodpoPairs:
    """CODPO: per group, ``chosen`` = the highest-reward satisfied response; ``rejected`` = the
    lowest-reward violated response or, when none is violated, the lowest-reward one among the
    group's other responses. ``(-1, -1)`` when nothing is satisfied or the group has no second
    response (error samples do not count).

    Returns
    -------
    CodpoPairs
        ``(chosen, rejected)``: per group, the two sample indices into the inputs (or -1, -1);
        the distinct group ids, ascending, are ``.groups``.

    Examples
    --------
    >>> chosen, rejected = codpo_pairs([0, 0, 0], [3.0, 1.0, 2.0], [1, 1, 0])
    >>> chosen.tolist(), rejected.tolist()
    ([0], [2])
    >>> codpo_pairs([5, 5, 2, 2], [1.0, 0.0, 1.0, 0.0], [1, 0, 0, 0]).groups.tolist()
    [2, 5]
    """
    groups, chosen, rejected = _core.codpo_pairs(
        _group_ids(group_ids), _floats("rewards", rewards), _verdicts(satisfied)
    )
    return CodpoPairs(groups, chosen, rejected)
