"""Property tests: the Rust sandbox and the plain-Python reference give the same verdicts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgpo import _core
from cgpo.judges import CodeJudge, Sample
from cgpo.reference import CodeJudge as ReferenceJudge
from cgpo.reference.code import extract_program, outputs_match

TIMEOUT = 0.5

PREFIXES = [
    "",
    "print('hello')\n",
    "print('passed ' * 500)\n",
    "import sys\nprint('x', file=sys.stderr)\n",
    "import sys\nsys.exit(0)\n",
    "import os\nos._exit(0)\n",
    "raise KeyError(1)\n",
    "raise SystemExit(3)\n",
    "def broken(x) return\n",
    "x = [0] * 10**10\n",
]
BODIES = [
    "return x + 1",
    "return x",
    "return None",
    "raise ValueError('no')",
    "return f(x)",
    "print('PASS')\n    return x + 1",
    "import sys\n    sys.exit(0)",
    "while True:\n        pass",
]
TESTS = "assert f(1) == 2\nassert f(-3) == -2\n"


@pytest.fixture(scope="module")
def judges() -> Iterator[tuple[CodeJudge, ReferenceJudge]]:
    with CodeJudge(timeout_s=TIMEOUT) as fast:
        yield fast, ReferenceJudge(timeout_s=TIMEOUT)


def statuses(judges: tuple[CodeJudge, ReferenceJudge], sample: Sample) -> tuple[str, str]:
    fast, ref = judges
    return fast.explain([sample])[0].reason, ref.explain([sample])[0].reason


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.sampled_from(PREFIXES),
    body=st.sampled_from(BODIES),
    printed=st.text(max_size=30),
    fenced=st.booleans(),
)
def test_same_status_on_generated_programs(
    judges: tuple[CodeJudge, ReferenceJudge], prefix: str, body: str, printed: str, fenced: bool
) -> None:
    program = f"{prefix}print({printed!r})\ndef f(x):\n    {body}\n"
    completion = f"Here you go:\n```python\n{program}```\n" if fenced else program
    fast, ref = statuses(judges, Sample("", completion, {"tests": TESTS}))
    assert fast == ref


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    transform=st.sampled_from(["s", "s.upper()", "s[::-1]", "int(s)", "s + ' '", "s * 2"]),
    lines=st.lists(st.text(alphabet="ab 1\t", max_size=6), min_size=1, max_size=3),
    trailing=st.sampled_from(["", "\n", "\n\n", "\r\n"]),
)
def test_same_status_on_io_programs(
    judges: tuple[CodeJudge, ReferenceJudge], transform: str, lines: list[str], trailing: str
) -> None:
    program = f"import sys\nfor s in sys.stdin.read().split(chr(10)):\n    print({transform})\n"
    given_input = "\n".join(lines)
    expected = "\n".join(lines) + trailing
    meta = {"io_tests": [{"input": given_input, "output": expected}]}
    fast, ref = statuses(judges, Sample("", program, meta))
    assert fast == ref


FENCE_PIECES = [
    "```python\n",
    "```py\n",
    "```Python3 extra\n",
    "```bash\n",
    "```\n",
    "  ```  \n",
    "```",
    "x = 1\n",
    "print(2)\n",
    "\r\n",
    "\n",
    "\x0b```\n",
    "```PYTHON\r\n",
    "text ",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FENCE_PIECES), max_size=12).map("".join))
def test_program_extraction_matches_reference(completion: str) -> None:
    assert _core.code_extract_program(completion) == extract_program(completion)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="a1 \t\r\n\x0b\x0c\x1c", max_size=12),
    st.text(alphabet="a1 \t\r\n\x0b\x0c\x1c", max_size=12),
)
def test_output_rule_matches_reference(actual: str, expected: str) -> None:
    assert _core.code_outputs_match(actual, expected) == outputs_match(actual, expected)
    assert _core.code_outputs_match(actual, actual)
