"""`cgpo train` / `cgpo train-rm` / `cgpo plot` with bad input: one line naming the field and the
allowed values, exit status 2, no traceback, and no model loaded (torch not even imported)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cgpo.cli import main

ROOT = Path(__file__).resolve().parents[2]

# Runs the CLI in a fresh interpreter and reports whether torch got imported.
RUNNER = (
    "import sys; from cgpo.cli import main; rc = main(sys.argv[1:]); "
    "print('TORCH_IMPORTED' if 'torch' in sys.modules else 'TORCH_NOT_IMPORTED'); sys.exit(rc)"
)


def cgpo_subprocess(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT / "python"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cgpo(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Runs the CLI in this process; loading a model fails the test."""
    import cgpo.commands.train as train_cmd

    def no_model(*a: Any, **k: Any) -> Any:
        raise AssertionError("a model was loaded before the config was checked")

    monkeypatch.setattr(train_cmd, "load_policy", no_model)

    def run(*args: str) -> Result:
        rc = main(list(args))
        out = capsys.readouterr()
        return Result(rc, out.out + "TORCH_NOT_CHECKED", out.err)

    return run


def _yaml(tmp_path: Path, text: str) -> str:
    p = tmp_path / "config.yaml"
    p.write_text(text)
    return str(p)


def _assert_clean_failure(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0]
    assert "TORCH_IMPORTED" not in r.stdout


def test_a_bad_config_fails_before_torch_is_imported(tmp_path):
    cfg = _yaml(tmp_path, "tasks:\n  - name: m\n    data: builtin:math\n    algorithm: sft\n")
    r = cgpo_subprocess("train", cfg)
    _assert_clean_failure(r, "algorithm", "'crpg', 'crraft', 'codpo'")
    assert "TORCH_NOT_IMPORTED" in r.stdout


def test_unknown_algorithm_under_its_deprecated_key(cgpo, tmp_path):
    # `optimizer:` still names the update rule (with a DeprecationWarning); the error names the
    # key the file used
    cfg = _yaml(tmp_path, "tasks:\n  - name: m\n    data: builtin:math\n    optimizer: sft\n")
    with pytest.warns(DeprecationWarning, match="optimizer is deprecated"):
        r = cgpo("train", cfg)
    _assert_clean_failure(r, "task 'm'.optimizer: 'sft'", "'crpg', 'crraft', 'codpo'")


def test_every_problem_gets_its_own_error_line(cgpo, tmp_path):
    cfg = _yaml(tmp_path, "max_steps: 0\nlearning_rate: -1\ntasks: []\n")
    r = cgpo("train", cfg)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "cgpo train: error: learning_rate: must be > 0.0, got -1",
        "cgpo train: error: max_steps: must be >= 1, got 0",
    ]


def test_unknown_torch_optimizer_and_unknown_key(cgpo, tmp_path):
    cfg = _yaml(tmp_path, "optimizer: lion\ntasks: []\n")
    _assert_clean_failure(cgpo("train", cfg), "optimizer: 'lion'", "'adamw', 'adam', 'sgd'")
    cfg = _yaml(tmp_path, "max_step: 3\n")
    _assert_clean_failure(cgpo("train", cfg), "unknown setting 'max_step'", "max_steps")


def test_unknown_judge(cgpo, tmp_path):
    cfg = _yaml(
        tmp_path, "tasks:\n  - name: m\n    data: builtin:math\n    judges: [{type: chess}]\n"
    )
    _assert_clean_failure(
        cgpo("train", cfg), "task 'm'.judges[0].type: unknown judge 'chess'", "'math'"
    )


def test_missing_metadata_column(cgpo, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"prompt": "1+1?", "solution": "2"}) + "\n")
    cfg = _yaml(tmp_path, f"tasks:\n  - name: m\n    data: {data}\n    judges: [{{type: math}}]\n")
    _assert_clean_failure(cgpo("train", cfg), "metadata column 'answer'", "prompt, solution")


def test_missing_and_malformed_config_files(cgpo, tmp_path):
    _assert_clean_failure(cgpo("train", str(tmp_path / "nope.yaml")), "does not exist")
    _assert_clean_failure(cgpo("train", _yaml(tmp_path, "- 1\n- 2\n")), "must be a mapping")
    _assert_clean_failure(cgpo("train", "--max-steps", "0"), "max_steps: must be >= 1")


def test_train_rm_and_plot_errors(cgpo, tmp_path):
    cfg = _yaml(tmp_path, f"data: {tmp_path / 'pairs.jsonl'}\noutput_dir: {tmp_path / 'rm'}\n")
    _assert_clean_failure(cgpo("train-rm", cfg), "data: file", "does not exist")
    _assert_clean_failure(cgpo("plot", str(tmp_path)), "has no metrics.jsonl")


@pytest.mark.parametrize("command", ["train", "train-rm", "plot"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0 and "usage: cgpo " + command in capsys.readouterr().out
