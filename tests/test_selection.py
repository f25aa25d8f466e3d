"""cgpo.selection (Rust) against hand-worked cases and the numpy reference (hypothesis)."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgpo import InvalidInputError, _core
from cgpo import selection as sel
from cgpo.reference import selection as ref


def test_calibrated_reward_by_hand() -> None:
    out = sel.calibrated_reward([0.0, math.log(3.0), -800.0], [0.0, 0.0, 0.0])
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [0.5, 0.75, 0.0])


def test_crpg_weights_by_hand() -> None:
    # max(1 - lr/2, 0) = [1, 0.5, 0, 0.5]; sigmoid = [0.5, 0.75, 0.5, 0.5]; sat = [1, 1, 1, 0]
    w = sel.crpg_weights(
        [0.0, math.log(3.0), 0.0, 0.0], [0.0] * 4, [1, 1, 1, 0], [0.0, 1.0, 3.0, 1.0], kl_max=2.0
    )
    np.testing.assert_allclose(w, [0.5, 0.375, 0.0, 0.0])


def test_crraft_by_hand() -> None:
    s = sel.crraft_select(
        group_ids=[5, 5, 5, 2, 2, 9],
        rewards=[1.0, 3.0, 2.0, 1.0, 1.0, 7.0],
        satisfied=[True, True, True, True, True, False],
        log_ratio=[0.0, 0.9, 0.1, 0.0, 0.0, 0.0],
        kl_max=0.5,
    )
    # group 2: tie -> lowest index; group 5: sample 1 is past the KL bound; group 9: violated
    assert s.groups.tolist() == [2, 5, 9]
    assert s.selected.tolist() == [3, 2, -1]
    groups, selected = s  # a NamedTuple unpacks
    assert groups.dtype == np.int64 and selected.dtype == np.int64


def test_codpo_by_hand() -> None:
    p = sel.codpo_pairs(
        group_ids=[1, 1, 1, 1, 0, 0, 0, 3, 4, 4, 4],
        rewards=[0.5, 2.0, -1.0, -3.0, 1.0, 0.0, 1.0, 5.0, 2.0, 2.0, 2.0],
        satisfied=[1, 1, 0, 0, 1, 1, 1, 1, 0, 0, -1],
    )
    assert p.groups.tolist() == [0, 1, 3, 4]
    assert p.chosen.tolist() == [4, 1, -1, -1]
    assert p.rejected.tolist() == [5, 3, -1, -1]


def test_codpo_pairs_unpack_as_chosen_rejected() -> None:
    chosen, rejected = sel.codpo_pairs([4, 4, 1, 1], [1.0, 2.0, 0.0, 3.0], [1, 0, 1, 1])
    assert chosen.tolist() == [3, 0]
    assert rejected.tolist() == [2, 1]
    p = sel.codpo_pairs([4, 4], [1.0, 2.0], [1, 0])
    assert len(p) == 2 and p.groups.dtype == np.int64 and chosen.dtype == np.int64
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, sel.CodpoPairs) and q.groups.tolist() == [4]
    assert q.chosen.tolist() == [0] and q.rejected.tolist() == [1]
    assert copy.copy(p).groups.tolist() == [4]
    assert "groups=array([4])" in repr(p)


def test_bool_verdicts_are_read_without_a_copy_and_ints_are_accepted() -> None:
    a = sel.codpo_pairs([0, 0], [1.0, 2.0], np.array([True, False]))
    b = sel.codpo_pairs(np.array([0, 0], dtype=np.int32), [1, 2], np.array([1, 0], dtype=np.int64))
    assert a.chosen.tolist() == b.chosen.tolist() == [0]
    assert a.rejected.tolist() == b.rejected.tolist() == [1]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sel.codpo_pairs([], [], []), "empty"),
        (
            lambda: sel.codpo_pairs([0, 0], [1.0], [1, 1]),
            r"`rewards`: has 1 entries but `group_ids` has 2",
        ),
        (
            lambda: sel.codpo_pairs([0, 0], [1.0, float("nan")], [1, 1]),
            r"sample 1: `rewards`: is NaN",
        ),
        (lambda: sel.crraft_select([0], [1.0], [1], [float("inf")], 1.0), "sample 0: `log_ratio`"),
        (lambda: sel.crraft_select([0], [1.0], [1], [0.0], 0.0), "kl_max"),
        (lambda: sel.crraft_select([0], [1.0], [1], [0.0], float("nan")), "kl_max"),
        (lambda: sel.crpg_weights([1.0], [1.0], [-1], [0.0], 1.0), r"sample 0: `satisfied`: is -1"),
        (lambda: sel.codpo_pairs([0, 0], [1.0, 1.0], [1, 256]), r"sample 1: `satisfied`: is 256"),
        (lambda: sel.codpo_pairs([0, 0], [1.0, 1.0], [1, 0.5]), r"sample 1: `satisfied`"),
        (lambda: sel.codpo_pairs([0.5, 1.0], [1.0, 1.0], [1, 1]), "group_ids.*integers"),
        (lambda: sel.codpo_pairs([[0]], [[1.0]], [[1]]), "1-D"),
        (lambda: sel.calibrated_reward(["a"], [1.0]), "rewards.*numbers"),
        (lambda: sel.calibrated_reward([1.0, 2.0], [1.0]), "baseline_rewards"),
    ],
)
def test_bad_input_raises_a_clear_error(call: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        call()  # type: ignore[operator]


def test_non_contiguous_input_is_copied_not_refused() -> None:
    r = np.arange(10, dtype=np.float64)[::2]
    np.testing.assert_allclose(sel.calibrated_reward(r, r), np.full(5, 0.5))


# ------------------------------------------------------------------ hypothesis vs the reference
# Few distinct reward values so that ties (and their lowest-index rule) are frequent.
@st.composite
def batches(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(1, 60))
    ids = st.sampled_from([-3, 0, 1, 2, 7, 2**40]) if draw(st.booleans()) else st.integers(0, 5)
    return {
        "group_ids": np.array(draw(st.lists(ids, min_size=n, max_size=n)), dtype=np.int64),
        "rewards": np.array(
            draw(st.lists(st.sampled_from([-1.5, 0.0, 0.25, 2.0, 1e300]), min_size=n, max_size=n))
        ),
        "satisfied": np.array(
            draw(st.lists(st.sampled_from([-1, 0, 1]), min_size=n, max_size=n)), dtype=np.int8
        ),
        "log_ratio": np.array(
            draw(st.lists(st.sampled_from([-0.5, 0.0, 0.5, 1.0, 3.0]), min_size=n, max_size=n))
        ),
        "baseline": np.array(draw(st.lists(st.floats(-50, 50), min_size=n, max_size=n))),
    }


@settings(max_examples=200, deadline=None)
@given(batches(), st.sampled_from([0.25, 1.0, math.inf]))
def test_crraft_matches_reference(b: dict[str, np.ndarray], kl_max: float) -> None:
    got = sel.crraft_select(b["group_ids"], b["rewards"], b["satisfied"], b["log_ratio"], kl_max)
    want = ref.crraft_select(b["group_ids"], b["rewards"], b["satisfied"], b["log_ratio"], kl_max)
    np.testing.assert_array_equal(got.groups, want[0])
    np.testing.assert_array_equal(got.selected, want[1])


@settings(max_examples=200, deadline=None)
@given(batches())
def test_codpo_matches_reference(b: dict[str, np.ndarray]) -> None:
    got = sel.codpo_pairs(b["group_ids"], b["rewards"], b["satisfied"])
    want = ref.codpo_pairs(b["group_ids"], b["rewards"], b["satisfied"])
    np.testing.assert_array_equal(got.groups, np.unique(b["group_ids"]))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


@settings(max_examples=200, deadline=None)
@given(batches(), st.sampled_from([0.25, 1.0, math.inf]))
def test_weights_match_reference(b: dict[str, np.ndarray], kl_max: float) -> None:
    sat = b["satisfied"] == 1
    got = sel.crpg_weights(b["rewards"], b["baseline"], sat, b["log_ratio"], kl_max)
    want = ref.crpg_weights(b["rewards"], b["baseline"], sat, b["log_ratio"], kl_max)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(
        sel.calibrated_reward(b["rewards"], b["baseline"]),
        ref.calibrated_reward(b["rewards"], b["baseline"]),
        rtol=1e-12,
        atol=0,
    )


def test_large_input_parallel_equals_sequential_and_reference() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    ids = rng.integers(0, n // 8, n)
    rewards = rng.integers(0, 50, n).astype(np.float64)
    sat = rng.integers(-1, 2, n).astype(np.int8)
    lr = rng.random(n)
    par = sel.codpo_pairs(ids, rewards, sat)
    _core.set_parallelism(False)
    try:
        seq = sel.codpo_pairs(ids, rewards, sat)
    finally:
        _core.set_parallelism(True)
    want = ref.codpo_pairs(ids, rewards, sat)
    for a, b, c in zip(par, seq, want, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    got = sel.crraft_select(ids, rewards, sat, lr, 0.5)
    want2 = ref.crraft_select(ids, rewards, sat, lr, 0.5)
    np.testing.assert_array_equal(got.selected, want2[1])
