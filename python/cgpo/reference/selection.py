"""Plain numpy versions of :mod:`cgpo.selection`, written to be read, not to be fast.

The property tests check the Rust functions against these; ``benches/bench_selection.py``
measures the difference. Same conventions: groups in ascending id order, ties to the lowest
sample index, ``satisfied`` as 1/0/-1 with -1 left out of the group-wise selections. No input
validation: these assume well-formed input.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["calibrated_reward", "codpo_pairs", "crpg_weights", "crraft_select"]


def calibrated_reward(rewards: npt.ArrayLike, baseline_rewards: npt.ArrayLike) -> np.ndarray:
    d = np.asarray(rewards, dtype=np.float64) - np.asarray(baseline_rewards, dtype=np.float64)
    with np.errstate(over="ignore"):  # exp overflow -> inf -> sigmoid 0, which is right
        return 1.0 / (1.0 + np.exp(-d))


def crpg_weights(
    rewards: npt.ArrayLike,
    baseline_rewards: npt.ArrayLike,
    satisfied: npt.ArrayLike,
    log_ratio: npt.ArrayLike,
    kl_max: float,
) -> np.ndarray:
    kl_factor = np.maximum(1.0 - np.asarray(log_ratio, dtype=np.float64) / kl_max, 0.0)
    sat = np.asarray(satisfied).astype(np.float64)
    return kl_factor * calibrated_reward(rewards, baseline_rewards) * sat


def _best_per_group(
    inverse: np.ndarray, n_groups: int, keys: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """Per group, the candidate with the smallest key (ties: the lowest index), or -1."""
    idx = np.flatnonzero(candidates)
    # lexsort sorts by the last key first: group, then key, then sample index.
    order = np.lexsort((idx, keys[idx], inverse[idx]))
    ranked = idx[order]
    g = inverse[ranked]
    first = np.ones(len(ranked), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    out = np.full(n_groups, -1, dtype=np.int64)
    out[g[first]] = ranked[first]
    return out


def crraft_select(
    group_ids: npt.ArrayLike,
    rewards: npt.ArrayLike,
    satisfied: npt.ArrayLike,
    log_ratio: npt.ArrayLike,
    kl_max: float,
) -> tuple[np.ndarray, np.ndarray]:
    groups, inverse = np.unique(np.asarray(group_ids, dtype=np.int64), return_inverse=True)
    r = np.asarray(rewards, dtype=np.float64)
    ok = (np.asarray(satisfied) == 1) & (np.asarray(log_ratio, dtype=np.float64) <= kl_max)
    return groups, _best_per_group(inverse, len(groups), -r, ok)


def codpo_pairs(
    group_ids: npt.ArrayLike, rewards: npt.ArrayLike, satisfied: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """``(chosen, rejected)`` per group, groups in ``np.unique(group_ids)`` order."""
    groups, inverse = np.unique(np.asarray(group_ids, dtype=np.int64), return_inverse=True)
    r = np.asarray(rewards, dtype=np.float64)
    sat = np.asarray(satisfied).astype(np.int8)
    n_groups = len(groups)
    chosen = _best_per_group(inverse, n_groups, -r, sat == 1)
    worst_violated = _best_per_group(inverse, n_groups, r, sat == 0)
    others = sat == 1
    others[chosen[chosen >= 0]] = False
    worst_other = _best_per_group(inverse, n_groups, r, others)
    rejected = np.where(worst_violated >= 0, worst_violated, worst_other)
    no_pair = (chosen < 0) | (rejected < 0)
    chosen[no_pair] = -1
    rejected[no_pair] = -1
    return chosen, rejected
