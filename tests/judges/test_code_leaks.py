"""10,000 executions leave no zombie, no open descriptor and no temporary directory behind."""

from __future__ import annotations

import os
import tempfile

import pytest

from cgpo.judges import CodeJudge, Sample, Verdict


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def zombie_children() -> list[int]:
    me = str(os.getpid())
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and fields[1] == me:
            found.append(int(pid))
    return found


def temp_entries() -> set[str]:
    """Host temp entries this process's sandboxes made (only level `minimal` makes any; other
    processes on the host may be making their own right now)."""
    mine = f"cgpo-sandbox-{os.getpid()}-"
    return {e for e in os.listdir(tempfile.gettempdir()) if e.startswith(mine)}


def run_many(n: int, isolation: str = "auto") -> None:
    programs = [
        "def f(x):\n    return x + 1\n",
        "def f(x):\n    return x\n",
        "import os\nif os.fork() == 0:\n    os._exit(0)\ndef f(x):\n    return x + 1\n",
        "open('scratch.txt', 'w').write('x' * 1000)\ndef f(x):\n    return x + 1\n",
        "raise SystemExit(0)\n",
    ]
    before_fds, before_tmp = open_fds(), temp_entries()
    with CodeJudge(timeout_s=5.0, isolation=isolation) as judge:
        first = None
        samples = [
            Sample("", programs[i % len(programs)], {"tests": "assert f(1) == 2"}) for i in range(n)
        ]
        for start in range(0, n, 500):
            verdicts = judge.judge(samples[start : start + 500])
            expected = [
                Verdict.SATISFIED if (start + i) % 5 in (0, 2, 3) else Verdict.VIOLATED
                for i in range(len(verdicts))
            ]
            assert verdicts == expected
            # Workers start lazily: count after the first batch has started all of them.
            first = first or open_fds()
        # The pool holds a fixed number of pipes: executions add none.
        assert open_fds() == first
        assert zombie_children() == []
    assert open_fds() == before_fds
    assert zombie_children() == []
    assert temp_entries() == before_tmp


def test_a_thousand_executions_leak_nothing() -> None:
    run_many(1000)


def test_a_thousand_executions_leak_nothing_at_level_minimal() -> None:
    run_many(1000, isolation="minimal")


@pytest.mark.slow
def test_ten_thousand_executions_leak_nothing() -> None:
    run_many(10_000)
