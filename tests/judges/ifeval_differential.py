"""Differential check of the Rust instruction judge against lm-eval's IFEval checkers.

    PYTHONPATH=python:tests/judges python tests/judges/ifeval_differential.py [--limit N]

prints the corpus size and makeup and the per-instruction agreement (strict and loose).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from typing import Any

from cgpo.judges import InstructionJudge, Sample
from cgpo.reference import lmeval_ifeval

Row = tuple[str, str, list[str], list[dict[str, Any]]]


def rust_check(rows: list[Row], strict: bool) -> list[list[bool]]:
    samples = [Sample(p, r, {"instruction_id_list": ids, "kwargs": kws}) for p, r, ids, kws in rows]
    return InstructionJudge(strict=strict).check(samples)


def lmeval_check(rows: list[Row], strict: bool) -> list[list[bool]]:
    return [lmeval_ifeval.check(p, r, ids, kws, strict) for p, r, ids, kws in rows]


def mismatches(rows: list[Row], strict: bool) -> tuple[int, list[tuple[int, str, dict[str, Any]]]]:
    ours = rust_check(rows, strict)
    theirs = lmeval_check(rows, strict)
    total, bad = 0, []
    for i, (row, a, b) in enumerate(zip(rows, ours, theirs, strict=True)):
        for j, (x, y) in enumerate(zip(a, b, strict=True)):
            total += 1
            if x != y:
                bad.append((i, row[2][j], row[3][j]))
    return total, bad


def main(argv: list[str] | None = None) -> int:
    import ifeval_corpus

    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    rows = ifeval_corpus.rows(args.limit)
    pairs = sum(len(r[2]) for r in rows)
    print(f"corpus: {len(rows)} responses, {pairs} (response, instruction) pairs")
    rc = 0
    for strict in (True, False):
        t = time.perf_counter()
        total, bad = mismatches(rows, strict)
        mode = "strict" if strict else "loose"
        print(f"{mode}: {total - len(bad)}/{total} agree ({time.perf_counter() - t:.0f} s)")
        by_id = collections.Counter(b[1] for b in bad)
        for iid, n in by_id.most_common():
            print(f"  {iid}: {n} disagreements")
        for i, iid, kw in bad[:10]:
            print(f"  row {i} {iid} {kw} response={rows[i][1][:120]!r}")
        rc |= bool(bad)
    return rc


if __name__ == "__main__":
    sys.exit(main())
