"""``cgpo judge`` with hostile files: lines split on ``\\n`` only, invalid UTF-8, deep JSON, lone
surrogates and judges that raise give a line-numbered message (never a traceback); every line is
checked before any is judged; ``--keep-going`` writes error records and judges the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import cgpo
import cgpo.commands.judge as judge_cmd
from cgpo.cli import main
from cgpo.errors import InvalidInputError
from cgpo.judges import CodeJudge, JudgeResult, Sample, Verdict, register_judge
from cgpo.judges.base import BaseJudge


class Touchy(BaseJudge):
    """SATISFIED for any completion, but raises on "boom" (a bug) and rejects "bad" (input)."""

    name = "touchy"

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        for i, s in enumerate(samples):
            if s.completion == "bad":
                raise InvalidInputError(f"sample {i}: this judge does not take 'bad'")
            if s.completion == "boom":
                raise RuntimeError("kaboom")
        return [JudgeResult(Verdict.SATISFIED, "ok") for _ in samples]


register_judge("touchy", Touchy, overwrite=True)


def row(completion: str, answer: Any = "1", prompt: str = "") -> bytes:
    return json.dumps(
        {"prompt": prompt, "completion": completion, "metadata": {"answer": answer}},
        ensure_ascii=False,
    ).encode("utf-8")


def run(
    tmp_path: Path, lines: Sequence[bytes], *args: str, judge: str = "math"
) -> tuple[int, list[dict[str, Any]]]:
    """Runs ``cgpo judge`` in this process on the lines; the exit status and the records."""
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(line + b"\n" for line in lines))
    dst = tmp_path / "out.jsonl"
    rc = main(["judge", "--judge", judge, str(src), "-o", str(dst), *args])
    out = [json.loads(x) for x in dst.read_text().splitlines()] if dst.exists() else []
    return rc, out


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\x1d", "\x0b"])
def test_lines_split_on_newline_only(tmp_path: Path, char: str) -> None:
    # U+2028/U+2029/U+0085 are legal raw inside JSON strings; the control characters are not
    # (strict JSON), but must still be reported on their own line, not split it in two.
    raw = row(f"a{char}b \\boxed{{1}}").replace(json.dumps(char)[1:-1].encode(), char.encode())
    assert char.encode() in raw
    lines = [row(r"\boxed{1}"), raw, row("#### 2")]
    rc, out = run(tmp_path, lines, "--keep-going")
    assert rc == 0 and len(out) == 3
    assert out[0]["verdict"] == 1 and out[2]["verdict"] == 0
    if char in "\u2028\u2029\u0085":
        assert out[1] == {"verdict": 1, "reason": "equivalent"}
    else:
        assert out[1]["line"] == 2 and "invalid JSON" in out[1]["error"]


def test_crlf_lines(tmp_path: Path) -> None:
    rc, out = run(tmp_path, [row(r"\boxed{1}") + b"\r", row("#### 3") + b"\r"])
    assert rc == 0 and [r["verdict"] for r in out] == [1, 0]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            b'{"prompt": "", "completion": "\xff\xfe", "metadata": {"answer": "1"}}',
            "line 2: invalid UTF-8 (byte 31 of the line: invalid start byte)",
        ),
        (b'{"prompt": "\xed\xa0\x80", "completion": "", "metadata": {}}', "line 2: invalid UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "line 2: invalid JSON: nested too deeply"),
        (
            b'{"prompt": "", "completion": "x", "metadata": '
            + b'{"a": ' * 100_000
            + b"1"
            + b"}" * 100_001,
            "line 2: invalid JSON: nested too deeply",
        ),
        (b"", "line 2: invalid JSON"),
    ],
)
def test_unreadable_lines_are_named_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: bytes, message: str
) -> None:
    rc, out = run(tmp_path, [row(r"\boxed{1}"), bad, row(r"\boxed{1}")])
    assert rc == 2 and out == []
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_lone_surrogate_never_gives_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Whether the judge decides such a sample (ERROR) or raises, the command reports the line.
    lines = [
        row(r"\boxed{1}"),
        rb'{"prompt": "", "completion": "\ud800 \\boxed{1}", '
        rb'"metadata": {"answer": "1\udfff"}}',
        row(r"\boxed{2}"),
    ]
    rc, out = run(tmp_path, lines, "--keep-going")
    assert rc == 0 and len(out) == 3
    assert out[0]["verdict"] == 1 and out[2]["verdict"] == 0
    assert out[1]["verdict"] in (-1, 0)
    rc, _ = run(tmp_path, lines)
    err = capsys.readouterr().err
    assert rc in (0, 2) and "Traceback" not in err
    if rc == 2:
        assert "line 2: " in err


def test_keep_going_writes_error_records_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        row(r"\boxed{1}"),
        b"{not json",
        json.dumps({"prompt": "", "completion": "1", "metadata": {}}).encode(),
        row("#### 5", answer=5),
        b'{"prompt": "", "completion": "\xc3", "metadata": {}}',
        row("#### 6", answer=7),
        b'["a"]',
    ]
    rc, out = run(tmp_path, lines, "--keep-going", "--batch-size", "2")
    assert rc == 0
    assert out == [
        {"verdict": 1, "reason": "equivalent"},
        {
            "line": 2,
            "verdict": -1,
            "reason": "invalid_input",
            "error": "invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        },
        {
            "line": 3,
            "verdict": -1,
            "reason": "invalid_input",
            "error": "metadata is missing the key 'answer'",
        },
        {"verdict": 1, "reason": "equivalent"},
        {
            "line": 5,
            "verdict": -1,
            "reason": "invalid_input",
            "error": "invalid UTF-8 (byte 31 of the line: invalid continuation byte)",
        },
        {"verdict": 0, "reason": "not_equivalent"},
        {
            "line": 7,
            "verdict": -1,
            "reason": "invalid_input",
            "error": "expected a JSON object, got list",
        },
    ]
    assert "4 of 7 lines could not be judged" in capsys.readouterr().err


def test_a_judge_that_raises_costs_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    completions = ["a", "b", "boom", "c", "bad", "d", "e", "boom"]
    lines = [row(c) for c in completions]
    rc, out = run(tmp_path, lines, "--keep-going", judge="touchy")
    assert rc == 0
    assert [(r.get("line"), r["reason"]) for r in out] == [
        (None, "ok"),
        (None, "ok"),
        (3, "judge_error"),
        (None, "ok"),
        (5, "invalid_input"),
        (None, "ok"),
        (None, "ok"),
        (8, "judge_error"),
    ]
    assert out[2]["error"] == "RuntimeError: kaboom"
    assert out[4]["error"] == "this judge does not take 'bad'"
    rc, out = run(tmp_path, lines, judge="touchy")
    err = capsys.readouterr().err
    assert rc == 2 and "line 3: the judge failed: RuntimeError: kaboom" in err
    assert "Traceback" not in err


class CountingCodeJudge(CodeJudge):
    """A CodeJudge that records the size of every batch it is asked to judge."""

    def __init__(self) -> None:
        super().__init__(timeout_s=5, workers=2)
        self.calls: list[int] = []

    def explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        self.calls.append(len(samples))
        return super().explain(samples)


@pytest.fixture
def code_judge(monkeypatch: pytest.MonkeyPatch) -> Any:
    judge = CountingCodeJudge()
    monkeypatch.setattr(judge_cmd, "make_judge", lambda name: judge)
    yield judge
    judge.close()


def code_row(src: str, tests: str | None) -> bytes:
    meta = {} if tests is None else {"tests": tests}
    return json.dumps(
        {"prompt": "", "completion": f"```python\n{src}\n```", "metadata": meta}
    ).encode()


def test_code_bad_line_is_reported_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], code_judge: CountingCodeJudge
) -> None:
    sleeper = code_row("import time\ntime.sleep(3)\ndef f():\n    return 1", "assert f() == 1")
    lines = [sleeper] * 8 + [code_row("def f():\n    return 1", None)]
    rc, out = run(tmp_path, lines, "--batch-size", "2", judge="code")
    assert rc == 2 and out == []
    assert "line 9: metadata needs exactly one of 'tests'" in capsys.readouterr().err
    assert code_judge.calls == [] and code_judge.stats.total == 0  # nothing ran


def test_code_good_lines_are_judged_in_batches_around_bad_ones(
    tmp_path: Path, code_judge: CountingCodeJudge
) -> None:
    good = code_row("def f():\n    return 1", "assert f() == 1")
    wrong = code_row("def f():\n    return 2", "assert f() == 1")
    lines = [good, wrong, code_row("def f(): pass", None), good, wrong, good, b"oops", good]
    rc, out = run(tmp_path, lines, "--keep-going", "--batch-size", "4", judge="code")
    assert rc == 0
    assert [r["verdict"] for r in out] == [1, 0, -1, 1, 0, 1, -1, 1]
    assert [r.get("line") for r in out] == [None, None, 3, None, None, None, 7, None]
    assert code_judge.calls == [3, 3]  # two parallel batches, the bad lines left out


def test_stdin_bytes_and_no_traceback_in_a_fresh_process(tmp_path: Path) -> None:
    package_root = str(Path(cgpo.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
    }
    data = row(r"\boxed{1}") + b"\n" + b"\xff\n" + row("x\u2028 #### 1") + b"\n"
    proc = subprocess.run(
        [sys.executable, "-m", "cgpo.cli", "judge", "--judge", "math", "-", "--keep-going"],
        input=data,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [r["verdict"] for r in out] == [1, -1, 1]
    assert b"Traceback" not in proc.stderr and b"1 of 3 lines" in proc.stderr
