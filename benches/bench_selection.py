"""Speed of cgpo.selection (Rust) against the numpy reference (cgpo.reference.selection).

One run per function and layout (no warm-up loop: a selection runs once per training step).
Prints a markdown table. Usage::

    PYTHONPATH=python python benches/bench_selection.py [--n 10000000] [--group-size 8]

"sorted" lays out each prompt's responses next to each other with ascending ids (what a trainer
produces); "shuffled" permutes the same responses, which forces a grouping pass.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from cgpo import _core
from cgpo import selection as rust
from cgpo.reference import selection as ref


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return all(same(x, y) for x, y in zip(a, b, strict=True))
    return (
        bool(np.allclose(a, b, rtol=1e-12, atol=0))
        if a.dtype.kind == "f"
        else bool(np.array_equal(a, b))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="number of responses")
    parser.add_argument("--group-size", type=int, default=8, help="responses per prompt")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    n = args.n
    sorted_ids = np.repeat(np.arange(n // args.group_size + 1, dtype=np.int64), args.group_size)[:n]
    rewards = rng.normal(size=n)
    baseline = rng.normal(size=n)
    satisfied = rng.random(n) < 0.6  # bool, read in place by the Rust side
    log_ratio = rng.exponential(0.5, size=n)
    kl_max = 1.0
    perm = rng.permutation(n)
    layouts = {"sorted": sorted_ids, "shuffled": sorted_ids[perm]}

    print(
        f"n = {n:,} responses, groups of {args.group_size}, cores = {os.cpu_count()}, "
        f"parallel = {_core.get_parallelism()}\n"
    )
    print("| function | layout | numpy reference (s) | Rust (s) | speed-up | same result |")
    print("|---|---|---|---|---|---|")
    elementwise = {
        "calibrated_reward": (
            lambda: rust.calibrated_reward(rewards, baseline),
            lambda: ref.calibrated_reward(rewards, baseline),
        ),
        "crpg_weights": (
            lambda: rust.crpg_weights(rewards, baseline, satisfied, log_ratio, kl_max),
            lambda: ref.crpg_weights(rewards, baseline, satisfied, log_ratio, kl_max),
        ),
    }
    rows: list[tuple[str, str, Callable[[], Any], Callable[[], Any]]] = [
        (name, "-", r, p) for name, (r, p) in elementwise.items()
    ]
    for layout, ids in layouts.items():
        rows.append(
            (
                "crraft_select",
                layout,
                lambda ids=ids: tuple(
                    rust.crraft_select(ids, rewards, satisfied, log_ratio, kl_max)
                ),
                lambda ids=ids: ref.crraft_select(ids, rewards, satisfied, log_ratio, kl_max),
            )
        )
        rows.append(
            (
                "codpo_pairs",
                layout,
                lambda ids=ids: tuple(rust.codpo_pairs(ids, rewards, satisfied)),
                lambda ids=ids: ref.codpo_pairs(ids, rewards, satisfied),
            )
        )
    for name, layout, run_rust, run_ref in rows:
        t_ref, want = timed(run_ref)
        t_rust, got = timed(run_rust)
        print(
            f"| {name} | {layout} | {t_ref:.3f} | {t_rust:.3f} | {t_ref / t_rust:.1f}x | "
            f"{'yes' if same(got, want) else 'NO'} |"
        )


if __name__ == "__main__":
    main()
