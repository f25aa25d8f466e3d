"""The hostile battery: every case contained, with the right verdict, leaving nothing behind.

Runs in-process as the test user (root in CI: isolation `full`); `test_battery_unprivileged`
re-runs the whole battery as `nobody` (isolation `userns`) through run_code_battery.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from code_battery import (
    CASES,
    FILESYSTEM_CASES,
    FORGERY_CASES,
    TESTS,
    Case,
    breaches,
    make_context,
    render,
    run_case,
    zygote_processes,
)

from cgpo.judges import CodeJudge, Sample, Verdict

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def ctx() -> Iterator[dict[str, Any]]:
    with make_context() as c:
        yield c


@pytest.fixture(scope="module")
def judge(ctx: dict[str, Any]) -> Iterator[CodeJudge]:
    # Created after the secret is in the environment, so the workers could inherit it if the
    # sandbox did not clear it. Full stdout excerpts: the leak checks read all of it.
    with CodeJudge(timeout_s=1.5, memory_mb=256, excerpt_chars=1 << 20) as j:
        assert j.isolation == ("full" if os.geteuid() == 0 else "userns")
        yield j


ALL_CASES = CASES + FILESYSTEM_CASES + FORGERY_CASES


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_hostile_case(judge: CodeJudge, ctx: dict[str, Any], case: Case) -> None:
    result = judge.explain([Sample("", render(case, ctx), case.metadata())])[0]
    stdout = result.details["stdout"]
    assert result.reason in case.expected, (result.reason, result.details["detail"])
    assert breaches(case, ctx, stdout) == []
    if case.followup:
        status, _, found = run_case(judge, case, ctx)
        assert (status, found) == (result.reason, [])
    if case.name == "fork_bomb_counted":
        forks = int(stdout.split()[-1])
        assert 0 < forks < 64  # max_processes
    if case.name == "write_outside_workdir":
        assert "WROTE []" in stdout
    if case.name == "udp_and_unix_sockets":
        assert "CONNECTED" not in stdout and stdout.count("blocked") == 2
    # Only the zygotes themselves are alive between executions.
    assert len(zygote_processes()) <= judge.workers
    # The judge still works after every case.
    good = Sample("", "def f(x):\n    return x + 1\n", {"tests": "assert f(1) == 2"})
    assert judge.judge([good]) == [Verdict.SATISFIED]


@pytest.mark.slow
@pytest.mark.parametrize("test_mode", ["safe", "inprocess"])
def test_battery_as_one_parallel_batch(
    judge: CodeJudge, ctx: dict[str, Any], test_mode: str
) -> None:
    # In-process mode is not safe from the forgeries (docs/code.md): only the classic battery.
    cases = ALL_CASES if test_mode == "safe" else CASES + FILESYSTEM_CASES
    samples = [Sample("", render(c, ctx), {**c.metadata(), "test_mode": test_mode}) for c in cases]
    results = judge.explain(samples)
    wrong = [
        (c.name, r.reason)
        for c, r in zip(cases, results, strict=True)
        if r.reason not in (c.inprocess or c.expected if test_mode == "inprocess" else c.expected)
    ]
    assert wrong == []
    assert [
        b
        for c, r in zip(cases, results, strict=True)
        for b in breaches(c, ctx, r.details["stdout"])
    ] == []


@pytest.mark.slow
def test_battery_unprivileged() -> None:
    """The whole battery as `nobody`, with the system interpreter (the test venv is under /root)."""
    setpriv = shutil.which("setpriv")
    system_python = "/usr/bin/python3"
    if os.geteuid() != 0 or setpriv is None or not os.access(system_python, os.X_OK):
        pytest.skip("needs root, setpriv and /usr/bin/python3 to switch to an unprivileged user")
    version = subprocess.run(
        [system_python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(f"/usr/bin/python3 is {version}, the extension is built for this interpreter")
    python_dir = Path(__import__("cgpo").__file__).resolve().parent.parent
    proc = subprocess.run(
        [
            setpriv,
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            system_python,
            str(HERE / "run_code_battery.py"),
            str(python_dir),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "CGPO_BATTERY_SECRET": "set-by-root-test"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["uid"] == 65534
    assert report["isolation"] == "userns"
    assert report["wrong"] == []
    assert report["breaches"] == []
    assert report["workers_seen"] > 0
    assert report["left_after_close"] == []


MANY_PROCESSES = """import os, time
kids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            x = b"\\x01" * (200 << 20)
        except MemoryError:
            os._exit(1)
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
time.sleep(2.0)
print("alive", sum(os.waitpid(p, os.WNOHANG) == (0, 0) for p in kids))
def f(x):
    return x + 1
"""

MEMFD_FILES = """import os
fds = []
for _ in range(60):
    fd = os.memfd_create("x")
    for _ in range(15):
        os.write(fd, b"\\x01" * (1 << 20))
        print("MiB", 1, flush=True)
    fds.append(fd)
def f(x):
    return x + 1
"""


@pytest.fixture(scope="module")
def capped() -> Iterator[CodeJudge]:
    with CodeJudge(timeout_s=6.0, memory_mb=256, workers=1) as j:
        if j.run_memory_cap is None:
            pytest.skip("no writable cgroup hierarchy here: only per-process limits hold")
        yield j


def test_processes_of_one_run_share_the_memory_cap(capped: CodeJudge) -> None:
    # 4 processes of 200 MiB each fit their per-process limit (256 MiB); together they must not
    # exceed the run's 256 MiB: at most one of them can hold its memory.
    result = capped.explain([Sample("", MANY_PROCESSES, {"tests": "assert f(1) == 2"})])[0]
    assert result.reason in ("pass", "memory"), result.details
    alive = int(result.details["stdout"].split()[-1]) if result.details["stdout"] else 0
    assert alive <= 1


def test_memfd_files_count_against_the_run_cap(capped: CodeJudge) -> None:
    # 900 MiB of memfd files (RLIMIT_AS does not see them) end at the run's 256 MiB.
    result = capped.explain([Sample("", MEMFD_FILES, {"tests": "assert f(1) == 2"})])[0]
    assert result.reason == "memory", result.details
    assert result.details["stdout"].count("MiB") < 256
    # The worker is clean afterwards.
    assert capped.judge(
        [Sample("", "def f(x):\n    return x + 1\n", {"tests": "assert f(1) == 2"})]
    ) == [Verdict.SATISFIED]


def test_the_task_cap_counts_threads_and_processes_of_the_run(capped: CodeJudge) -> None:
    program = (
        "import threading, time\nn = 0\ntry:\n    for _ in range(1000):\n"
        "        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "        n += 1\nexcept RuntimeError:\n    pass\nprint(n)\n"
        "def f(x):\n    return x + 1\n"
    )
    result = capped.explain([Sample("", program, {"tests": "assert f(1) == 2"})])[0]
    assert result.reason == "pass", result.details
    assert 0 < int(result.details["stdout"]) < 64  # max_processes


def test_four_threads_on_one_judge_get_their_own_results(judge: CodeJudge) -> None:
    # Each thread judges programs that return its own numbers, half of them wrong: a lost,
    # duplicated or crossed result shows as a wrong verdict at its position.
    from concurrent.futures import ThreadPoolExecutor

    def batch(t: int) -> list[Verdict]:
        samples = []
        for k in range(40):
            value = t * 1000 + k
            returned = value if k % 2 == 0 else value + 1
            samples.append(
                Sample(
                    "", f"def f():\n    return {returned}\n", {"tests": f"assert f() == {value}"}
                )
            )
        return judge.judge(samples)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(batch, range(4)))
    expected = [Verdict.SATISFIED if k % 2 == 0 else Verdict.VIOLATED for k in range(40)]
    assert results == [expected] * 4


def test_a_worker_killed_mid_batch_costs_only_its_job() -> None:
    import signal
    import threading
    import time

    slow = Sample(
        "", "import time\ntime.sleep(0.4)\ndef f(x):\n    return x + 1\n", {"tests": TESTS}
    )
    with CodeJudge(timeout_s=5.0, workers=2) as j:
        assert j.judge([slow, slow]) == [Verdict.SATISFIED] * 2  # both workers started
        zygotes = [p for p in zygote_processes() if _is_zygote_of(p, set(zygote_processes()))]

        def kill_one() -> None:
            time.sleep(0.6)
            os.kill(zygotes[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one)
        killer.start()
        results = j.explain([slow] * 12)
        killer.join()
        reasons = [r.reason for r in results]
        # The killed zygote is gone; the request it was serving is retried once on a fresh one
        # (the pool retries a job whose worker died before replying), so nothing is lost.
        assert not os.path.exists(f"/proc/{zygotes[0]}/cmdline") or zygotes[0] not in set(
            zygote_processes()
        )
        assert len(results) == 12
        assert reasons.count("sandbox_error") <= 1, reasons
        assert reasons.count("pass") == len(reasons) - reasons.count("sandbox_error")
        assert all("worker" in r.details["detail"] for r in results if r.reason == "sandbox_error")
        assert j.judge([slow] * 4) == [Verdict.SATISFIED] * 4


def _is_zygote_of(pid: int, family: set[int]) -> bool:
    """A zygote (its parent is no zygote-signature process), not one of its jobs."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            parent = int(fh.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return False
    return parent not in family
