"""Confidence intervals for a before/after change in a judge pass rate on the same prompts.

Evaluating one model before and after training on the same held-out prompts gives *paired*
binary outcomes. Pairing matters: most prompts pass both times or fail both times, and only the
prompts that changed carry information about the change, so a paired interval is far narrower
than one that treats the two pass rates as independent samples.

- :func:`paired_difference_ci`: Newcombe's hybrid score interval for the difference of two paired
  proportions (Newcombe 1998, "Improved confidence intervals for the difference between binomial
  proportions based on paired data", Statistics in Medicine 17:2635-2650, method 10). It is
  deterministic, stays inside [-1, 1], and holds its nominal coverage at small n and at rates
  near 0 or 1, where the Wald interval does not.
- :func:`mcnemar_exact_p`: the exact (binomial) McNemar test of "no change" on the discordant
  prompts.
- :func:`paired_bootstrap_ci`: a percentile bootstrap over prompts for the mean change over
  several runs (seeds) evaluated on the same prompts; the seeds are kept, the prompts resampled.

Plain Python and numpy: no scipy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cgpo.errors import InvalidInputError

__all__ = [
    "PairedChange",
    "mcnemar_exact_p",
    "paired_bootstrap_ci",
    "paired_change",
    "paired_difference_ci",
    "wilson_interval",
]

Z95 = 1.959963984540054  # the 0.975 quantile of the standard normal


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion ``successes / n``."""
    if n <= 0:
        raise InvalidInputError(f"wilson_interval: n must be > 0, got {n}")
    if not 0 <= successes <= n:
        raise InvalidInputError(f"wilson_interval: successes must be in [0, {n}], got {successes}")
    p = successes / n
    z2 = z * z
    centre = (2 * n * p + z2) / (2 * (n + z2))
    half = z * math.sqrt(z2 + 4 * n * p * (1 - p)) / (2 * (n + z2))
    # the exact bounds at p = 0 and p = 1 (the formula gives them up to rounding)
    lo = 0.0 if successes == 0 else max(centre - half, 0.0)
    hi = 1.0 if successes == n else min(centre + half, 1.0)
    return lo, hi


def paired_difference_ci(
    both: int, only_before: int, only_after: int, neither: int, z: float = Z95
) -> tuple[float, float]:
    """95% (by default) interval for ``after_rate - before_rate`` from the 2x2 table of paired
    outcomes (Newcombe's method 10: Wilson intervals of both rates combined with the phi
    correlation of the pairs).

    Parameters
    ----------
    both, only_before, only_after, neither : int
        Prompts that passed before and after; before only; after only; neither time.
    """
    counts = (both, only_before, only_after, neither)
    if any(c < 0 for c in counts):
        raise InvalidInputError(f"paired_difference_ci: counts must be >= 0, got {counts}")
    n = sum(counts)
    if n == 0:
        raise InvalidInputError("paired_difference_ci: no pairs")
    after, before = both + only_after, both + only_before
    p1, p2 = after / n, before / n
    l1, u1 = wilson_interval(after, n, z)
    l2, u2 = wilson_interval(before, n, z)
    # phi: the correlation of the two outcomes over prompts, with Newcombe's continuity
    # correction of a positive correlation; 0 when a margin is empty
    e, f, g, h = both + only_before, only_after + neither, both + only_after, only_before + neither
    denom = e * f * g * h
    a = both * neither - only_before * only_after
    if denom == 0 or 0 <= a <= n / 2:
        phi = 0.0
    else:
        phi = (a - n / 2 if a > 0 else a) / math.sqrt(denom)
    d = p1 - p2
    lo = d - math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0))
    hi = d + math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0))
    return max(lo, -1.0), min(hi, 1.0)


def mcnemar_exact_p(only_before: int, only_after: int) -> float:
    """Two-sided exact McNemar p-value: under "no change" each discordant prompt is equally
    likely to have moved either way, so ``only_after ~ Binomial(only_before + only_after, 1/2)``."""
    if only_before < 0 or only_after < 0:
        raise InvalidInputError("mcnemar_exact_p: counts must be >= 0")
    m = only_before + only_after
    if m == 0:
        return 1.0
    k = min(only_before, only_after)
    tail = sum(math.comb(m, i) for i in range(k + 1)) / 2**m
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class PairedChange:
    """A before/after pass-rate comparison on ``n`` prompts."""

    n: int
    before: float
    after: float
    delta: float
    delta_ci95: tuple[float, float]
    improved: int  # failed before, passed after
    regressed: int  # passed before, failed after
    mcnemar_p: float

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "before": self.before,
            "after": self.after,
            "delta": self.delta,
            "delta_ci95": [self.delta_ci95[0], self.delta_ci95[1]],
            "improved": self.improved,
            "regressed": self.regressed,
            "mcnemar_p": self.mcnemar_p,
            "ci_method": "newcombe-paired-score",
        }


def paired_change(before: Sequence[bool], after: Sequence[bool]) -> PairedChange:
    """The change in pass rate between two evaluations of the same prompts (in the same order)."""
    if len(before) != len(after):
        raise InvalidInputError(
            f"paired_change: {len(before)} outcomes before but {len(after)} after; the two "
            "evaluations must cover the same prompts"
        )
    if not before:
        raise InvalidInputError("paired_change: no prompts")
    b = np.asarray(before, dtype=bool)
    a = np.asarray(after, dtype=bool)
    both, only_b = int((b & a).sum()), int((b & ~a).sum())
    only_a, neither = int((~b & a).sum()), int((~b & ~a).sum())
    n = len(b)
    return PairedChange(
        n=n,
        before=float(b.mean()),
        after=float(a.mean()),
        delta=float(a.mean() - b.mean()),
        delta_ci95=paired_difference_ci(both, only_b, only_a, neither),
        improved=only_a,
        regressed=only_b,
        mcnemar_p=mcnemar_exact_p(only_b, only_a),
    )


def paired_bootstrap_ci(
    before: Sequence[float] | np.ndarray,
    after: Sequence[Sequence[float]] | np.ndarray,
    *,
    resamples: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``mean(after) - mean(before)`` over prompts.

    ``before`` is ``(P,)`` (one evaluation of the starting model), ``after`` is ``(S, P)`` (one row
    per seed, the same P prompts). Each resample draws P prompts with replacement and keeps every
    seed's outcome on them, so the pairing of a prompt's before and after is preserved; the seeds
    are not resampled (with three of them the interval is conditional on those seeds).
    """
    b = np.asarray(before, dtype=np.float64)  # (P,)
    a = np.asarray(after, dtype=np.float64)  # (S, P)
    if a.ndim == 1:
        a = a[None, :]
    if b.ndim != 1 or a.ndim != 2 or a.shape[1] != b.shape[0] or b.shape[0] == 0:
        raise InvalidInputError(
            f"paired_bootstrap_ci: expected before (P,) and after (S, P) with P > 0, got "
            f"{b.shape} and {a.shape}"
        )
    if not 0 < level < 1:
        raise InvalidInputError(f"paired_bootstrap_ci: level must be in (0, 1), got {level}")
    diff = a.mean(axis=0) - b  # (P,): each prompt's change, averaged over seeds
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diff), size=(resamples, len(diff)))  # (R, P)
    means = diff[idx].mean(axis=1)  # (R,)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(lo), float(hi)
