"""Paired before/after intervals against published and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cgpo.errors import InvalidInputError
from cgpo.stats import (
    mcnemar_exact_p,
    paired_bootstrap_ci,
    paired_change,
    paired_difference_ci,
    wilson_interval,
)


def test_wilson_matches_the_formula_worked_by_hand() -> None:
    # 13/64: centre (2*13 + z^2) / (2*(64 + z^2)), half z*sqrt(z^2 + 4*13*51/64) / (2*(64 + z^2))
    z = 1.959963984540054
    centre = (26 + z * z) / (2 * (64 + z * z))
    half = z * math.sqrt(z * z + 4 * 13 * 51 / 64) / (2 * (64 + z * z))
    lo, hi = wilson_interval(13, 64)
    assert lo == pytest.approx(centre - half)
    assert hi == pytest.approx(centre + half)
    assert (lo, hi) == pytest.approx((0.1227, 0.3171), abs=1e-4)


def test_wilson_bounds_at_zero_and_all() -> None:
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)


def test_newcombe_paired_matches_the_published_example() -> None:
    # Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables" (2017), ch. 8:
    # complete response before/after consolidation therapy (Cavo et al. 2012), table
    # [[59, 6], [16, 80]]; Newcombe's square-and-add interval -0.0621 (-0.1186 to -0.0046).
    # Rows are the first measurement: here "after", so 6 passed only after, 16 only before.
    lo, hi = paired_difference_ci(both=59, only_before=16, only_after=6, neither=80)
    assert (lo, hi) == pytest.approx((-0.1186, -0.0046), abs=1e-4)


def test_newcombe_is_antisymmetric_and_zero_centred_without_change() -> None:
    lo, hi = paired_difference_ci(10, 3, 12, 75)
    lo2, hi2 = paired_difference_ci(10, 12, 3, 75)
    assert (lo, hi) == pytest.approx((-hi2, -lo2))
    lo, hi = paired_difference_ci(20, 5, 5, 70)
    assert lo == pytest.approx(-hi) and lo < 0 < hi
    assert paired_difference_ci(0, 0, 0, 100)[0] <= 0.0 <= paired_difference_ci(0, 0, 0, 100)[1]


def test_newcombe_covers_about_95_percent() -> None:
    # a real check of the method, not of its arithmetic: simulate paired outcomes with a known
    # rise of 0.10 and count how often the interval contains it
    rng = np.random.default_rng(0)
    cells = np.array([0.15, 0.05, 0.15, 0.65])  # both, only before, only after, neither
    true = cells[0] + cells[2] - (cells[0] + cells[1])
    hits = 0
    trials = 2000
    for t in rng.multinomial(120, cells, size=trials):
        lo, hi = paired_difference_ci(*(int(x) for x in t))
        hits += lo <= true <= hi
    assert 0.93 <= hits / trials <= 0.975


def test_mcnemar_exact_by_hand() -> None:
    # 28 up, 1 down: 2 * (C(29,0) + C(29,1)) / 2^29 = 2 * 30 / 536870912
    assert mcnemar_exact_p(1, 28) == pytest.approx(60 / 2**29)
    assert mcnemar_exact_p(3, 3) == 1.0
    assert mcnemar_exact_p(0, 0) == 1.0
    # 1 vs 4: 2 * (1 + 5) / 32 = 0.375
    assert mcnemar_exact_p(4, 1) == pytest.approx(0.375)


def test_paired_change_counts_and_rates() -> None:
    before = [True, True, False, False, False, True, False, False]
    after = [True, False, True, True, False, True, True, False]
    c = paired_change(before, after)
    assert (c.n, c.improved, c.regressed) == (8, 3, 1)
    assert (c.before, c.after, c.delta) == (0.375, 0.625, 0.25)
    assert c.delta_ci95 == paired_difference_ci(2, 1, 3, 2)
    d = c.as_dict()
    assert d["delta_ci95"] == list(c.delta_ci95) and d["n"] == 8


def test_paired_change_rejects_mismatched_evaluations() -> None:
    with pytest.raises(InvalidInputError, match="same prompts"):
        paired_change([True, False], [True])
    with pytest.raises(InvalidInputError, match="no prompts"):
        paired_change([], [])


def test_bootstrap_degenerate_cases_are_exact() -> None:
    # every prompt rose by exactly 1 in every seed: every resample's mean is 1
    assert paired_bootstrap_ci([0, 0, 0], [[1, 1, 1], [1, 1, 1]]) == (1.0, 1.0)
    # nothing changed anywhere
    assert paired_bootstrap_ci([1, 0, 1, 0], [[1, 0, 1, 0]]) == (0.0, 0.0)


def test_bootstrap_agrees_with_newcombe_on_one_seed() -> None:
    rng = np.random.default_rng(1)
    before = rng.random(200) < 0.3
    after = np.where(rng.random(200) < 0.2, ~before, before) | (rng.random(200) < 0.15)
    lo, hi = paired_bootstrap_ci(before, [after], resamples=4000)
    c = paired_change(before.tolist(), after.tolist())
    assert lo == pytest.approx(c.delta_ci95[0], abs=0.02)
    assert hi == pytest.approx(c.delta_ci95[1], abs=0.02)


def test_bootstrap_rejects_bad_shapes() -> None:
    with pytest.raises(InvalidInputError, match="expected before"):
        paired_bootstrap_ci([1, 0], [[1, 0, 1]])
