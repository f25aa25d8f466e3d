"""The command line: ``cgpo judge --judge math`` and ``cgpo bench``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cgpo
from cgpo.cli import main
from cgpo.judges.registry import available_judges, make_judge


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_judge_writes_one_result_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"prompt": "1+1", "completion": "\\boxed{2}", "metadata": {"answer": "2"}},
            {"prompt": "1+1", "completion": "#### 3", "metadata": {"answer": 2}},
            {"prompt": "1+1", "completion": "two", "metadata": {"answer": "2"}},
        ],
    )
    assert main(["judge", "--judge", "math", str(src)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out == [
        {"verdict": 1, "reason": "equivalent"},
        {"verdict": 0, "reason": "not_equivalent"},
        {"verdict": 0, "reason": "no_answer"},
    ]


def test_judge_output_file_and_small_batches(tmp_path: Path) -> None:
    rows = [
        {"prompt": "", "completion": f"\\boxed{{{k}}}", "metadata": {"answer": "5"}}
        for k in range(10)
    ]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    dst = tmp_path / "out.jsonl"
    assert main(["judge", "--judge", "math", str(src), "-o", str(dst), "--batch-size", "3"]) == 0
    verdicts = [json.loads(line)["verdict"] for line in dst.read_text().splitlines()]
    assert verdicts == [1 if k == 5 else 0 for k in range(10)]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "line 2: invalid JSON"),
        ('["a"]', "line 2: expected a JSON object"),
        ('{"prompt": "p", "metadata": {"answer": "1"}}', "line 2: `completion` must be a string"),
        (
            '{"prompt": "p", "completion": "c", "metadata": 3}',
            "line 2: `metadata` must be an object",
        ),
        (
            '{"prompt": "p", "completion": "c", "metadata": {}}',
            "line 2: metadata is missing the key 'answer'",
        ),
        (
            '{"prompt": "p", "completion": "c", "metadata": {"answer": []}}',
            "line 2: metadata['answer'] must be",
        ),
    ],
)
def test_malformed_input_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad_line: str, message: str
) -> None:
    good = json.dumps({"prompt": "p", "completion": "\\boxed{1}", "metadata": {"answer": "1"}})
    src = tmp_path / "in.jsonl"
    src.write_text(good + "\n" + bad_line + "\n" + good + "\n", encoding="utf-8")
    assert main(["judge", "--judge", "math", str(src)]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["judge", "--judge", "math", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_unknown_judge_is_rejected() -> None:
    with pytest.raises(SystemExit):
        main(["judge", "--judge", "nope", "x.jsonl"])
    assert "math" in available_judges()
    assert make_judge("math").name == "math"


def test_progress_bar_goes_to_stderr(tmp_path: Path) -> None:
    rows = [{"prompt": "", "completion": "\\boxed{1}", "metadata": {"answer": "1"}}] * 1200
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    # The child must import this checkout's cgpo, also when pytest was started without
    # PYTHONPATH (pytest's `pythonpath` setting only reaches this process).
    package_root = str(Path(cgpo.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "cgpo.cli", "judge", "--judge", "math", str(src), "--progress"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert len(proc.stdout.splitlines()) == 1200
    assert "1200/1200" in proc.stderr


def test_bench_runs_on_the_builtin_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--limit", "40", "--no-math-verify"]) == 0
    out = capsys.readouterr().out
    assert "cgpo MathJudge (Rust)" in out and "cgpo.reference (Python)" in out
    assert "Rust == reference verdict: 40/40" in out
