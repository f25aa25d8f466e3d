"""Plain-Python reference of :class:`cgpo.judges.CodeJudge`: one fresh interpreter per execution.

Same verdict semantics as the Rust sandbox (program extraction, statuses, the io comparison
rule, the nonce-tagged report pipe), none of its speed or isolation: the child gets rlimits and
its own session (killed as a group), a temporary working directory and an empty environment,
but no namespaces, no seccomp and no privilege drop. It exists to pin down the semantics (the
property tests compare verdicts) and as the benchmark's baseline; never run hostile code with it.
"""

from __future__ import annotations

import json
import os
import re
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict
from cgpo.judges.code import job_of

_WS = " \t\r\n\x0b\x0c"
# Fence lines are trimmed like Rust's `is_ascii_whitespace` (no vertical tab).
_FENCE_WS = " \t\r\n\x0c"


def extract_program(completion: str) -> str:
    """The last closed ```python / ```py / ```python3 block's body, else the whole completion."""
    last: tuple[int, int] | None = None
    open_at: tuple[int, bool] | None = None
    pos = 0
    for piece in completion.split("\n"):
        start = pos
        pos = min(pos + len(piece) + 1, len(completion))
        stripped = piece.strip(_FENCE_WS)
        if open_at is None:
            if stripped.startswith("```"):
                words = [w for w in re.split(r"[ \t\n\r\x0c]+", stripped[3:]) if w]
                lang = words[0] if words else ""
                lang = lang.lower() if lang.isascii() else lang
                open_at = (pos, lang in ("python", "python3", "py"))
        elif stripped == "```":
            if open_at[1]:
                last = (open_at[0], start)
            open_at = None
    return completion[last[0] : last[1]] if last else completion


def _lines(text: str) -> list[str]:
    out = [line.strip(_WS) for line in text.split("\n")]
    while out and out[-1] == "":
        out.pop()
    return out


def outputs_match(actual: str, expected: str) -> bool:
    """Line-wise equality after stripping ASCII whitespace and dropping trailing blank lines."""
    return _lines(actual) == _lines(expected)


_HARNESS = r"""
import _thread, builtins, json, os, sys, time, traceback
job_fd, rep_fd = int(sys.argv[1]), int(sys.argv[2])
with os.fdopen(job_fd, "rb") as f:
    job = json.loads(f.read())
nonce, mode, tests, entry = job["nonce"], job["mode"], job["tests"], job["entry_point"]

def report(status, detail=""):
    # Like the sandbox: a result counts once every thread the program started has finished.
    while _thread._count():
        time.sleep(0.0002)
    for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            s.flush()
        except BaseException:
            pass
    line = f"{nonce} {status} {detail[:2000]}".replace("\n", "\\n")
    try:
        os.write(rep_fd, line.encode("utf-8", "replace") + b"\n")
    finally:
        os._exit(0)

def classify(e, during_tests):
    msg = f"{type(e).__name__}: {e}"[:2000]
    if isinstance(e, MemoryError):
        report("memory", msg)
    if isinstance(e, SystemExit):
        report("runtime_error", f"SystemExit({e.code!r}) raised during the tests")
    if isinstance(e, SyntaxError) and not during_tests:
        report("syntax_error", msg)
    report("runtime_error", msg)

try:
    code = compile(job["program"], "<program>", "exec")
except (SyntaxError, ValueError) as e:
    report("syntax_error", f"{type(e).__name__}: {e}")
except MemoryError:
    report("memory", "MemoryError while compiling")
except RecursionError:
    report("syntax_error", "RecursionError while compiling")
if mode == "tests":
    try:
        tcode = compile(tests, "<tests>", "exec")
    except (SyntaxError, ValueError, RecursionError) as e:
        report("sandbox_error", f"the tests do not compile: {e}")
ns = {"__name__": "__main__", "__builtins__": builtins}
pristine_builtins = dict(builtins.__dict__)
try:
    exec(code, ns)
except SystemExit as e:
    if mode == "io" and e.code in (None, 0):
        report("ran")
    report("runtime_error", f"the program raised SystemExit({e.code!r})")
except BaseException as e:
    classify(e, False)
if mode == "io":
    report("ran")
ns["__builtins__"] = pristine_builtins
try:
    exec(tcode, ns)
    if entry:
        if entry not in ns:
            report("runtime_error", f"the program does not define `{entry}`")
        ns["check"](ns[entry])
except AssertionError as e:
    lines = tests.splitlines()
    where = "assertion failed"
    for fs in traceback.extract_tb(e.__traceback__):
        if fs.filename == "<tests>" and fs.lineno and fs.lineno <= len(lines):
            where = lines[fs.lineno - 1].strip()
    report("fail", where + (f" ({e})" if str(e) else ""))
except BaseException as e:
    classify(e, True)
report("pass")
"""


class CodeJudge(BaseJudge):
    """Reference code judge: a subprocess per execution, sequential. See the module docstring."""

    name = "code_reference"

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        memory_mb: int = 512,
        max_processes: int = 64,
        max_file_mb: int = 16,
        max_open_files: int = 64,
        capture_bytes: int = 1 << 20,
        excerpt_chars: int = 1000,
        python: str | None = None,
    ) -> None:
        super().__init__()
        self.timeout_s = float(timeout_s)
        self.memory = memory_mb << 20
        self.max_processes = max_processes
        self.max_file = max_file_mb << 20
        self.max_open_files = max_open_files
        self.capture_bytes = capture_bytes
        self.excerpt_chars = excerpt_chars
        self.python = python or sys.executable

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        out = []
        for i, s in enumerate(samples):
            # The reference runs the tests in-process (docs/code.md: the two modes agree on
            # honest programs and on the statuses the property tests generate).
            completion, tests, entry, io, _ = job_of(i, s, "inprocess")
            status, detail, stdout, stderr, elapsed = self._judge_one(
                extract_program(completion), tests, entry, io
            )
            verdict = {"pass": Verdict.SATISFIED, "sandbox_error": Verdict.ERROR}.get(
                status, Verdict.VIOLATED
            )
            details: dict[str, Any] = {
                "status": status,
                "detail": detail,
                "stdout": stdout[-self.excerpt_chars :],
                "stderr": stderr[-self.excerpt_chars :],
                "elapsed_s": elapsed,
            }
            if status == "fail":
                details["failing_test"] = detail
            out.append(JudgeResult(verdict, status, details))
        return out

    def _judge_one(
        self, program: str, tests: str | None, entry: str | None, io: list[tuple[str, str]] | None
    ) -> tuple[str, str, str, str, float]:
        if io is None:
            return self._execute("tests", program, tests or "", entry or "", "")
        result = ("pass", "", "", "", 0.0)
        for k, (given, expected) in enumerate(io):
            status, detail, stdout, stderr, elapsed = self._execute("io", program, "", "", given)
            if status != "ran":
                return status, f"io test {k}: {detail}", stdout, stderr, elapsed
            if not outputs_match(stdout, expected):
                detail = f"io test {k}: expected {expected[:200]!r}, got {stdout[:200]!r}"
                return "fail", detail, stdout, stderr, elapsed
            result = ("pass", f"{len(io)} io tests passed", stdout, stderr, elapsed)
        return result

    def _limits(self) -> None:
        cpu = int(self.timeout_s) + 1
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (self.memory, self.memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.max_file, self.max_file))
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.max_open_files, self.max_open_files))
        resource.setrlimit(resource.RLIMIT_NPROC, (self.max_processes, self.max_processes))

    def _execute(
        self, mode: str, program: str, tests: str, entry: str, stdin: str
    ) -> tuple[str, str, str, str, float]:
        nonce = secrets.token_hex(16)
        job = json.dumps(
            {"nonce": nonce, "mode": mode, "program": program, "tests": tests, "entry_point": entry}
        ).encode()
        job_r, job_w = os.pipe()
        rep_r, rep_w = os.pipe()
        with (
            tempfile.TemporaryDirectory(prefix="cgpo-ref-") as workdir,
            tempfile.TemporaryFile() as out,
            tempfile.TemporaryFile() as err,
            tempfile.TemporaryFile() as inp,
        ):
            inp.write(stdin.encode())
            inp.seek(0)
            start = time.monotonic()
            try:
                proc = subprocess.Popen(
                    [self.python, "-I", "-S", "-c", _HARNESS, str(job_r), str(rep_w)],
                    stdin=inp if mode == "io" else subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=workdir,
                    env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
                    pass_fds=(job_r, rep_w),
                    start_new_session=True,
                    preexec_fn=self._limits,
                )
            finally:
                os.close(job_r)
                os.close(rep_w)
            try:
                os.write(job_w, job) if len(job) < 65536 else _write_all(job_w, job)
            except BrokenPipeError:
                pass
            finally:
                os.close(job_w)
            timed_out = False
            try:
                proc.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            elapsed = time.monotonic() - start
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
            os.set_blocking(rep_r, False)
            try:
                data = os.read(rep_r, 65536)
            except BlockingIOError:
                data = b""
            os.close(rep_r)
            out.seek(0)
            err.seek(0)
            stdout = out.read(self.capture_bytes)
            stderr = err.read(self.capture_bytes)
        report = _parse_report(data, nonce)
        status, detail = _status(mode, report, proc.returncode, timed_out, stderr, self.timeout_s)
        return (
            status,
            detail,
            stdout.decode("utf-8", "replace"),
            stderr.decode("utf-8", "replace"),
            elapsed,
        )

    def __repr__(self) -> str:
        return f"reference.CodeJudge(timeout_s={self.timeout_s})"


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _parse_report(data: bytes, nonce: str) -> tuple[str, str] | None:
    for line in data.decode("utf-8", "replace").split("\n"):
        head, _, rest = line.partition(" ")
        if head == nonce:
            status, _, detail = rest.partition(" ")
            return status, detail
    return None


def _status(
    mode: str,
    report: tuple[str, str] | None,
    returncode: int,
    timed_out: bool,
    stderr: bytes,
    timeout_s: float,
) -> tuple[str, str]:
    if timed_out:
        return "timeout", f"wall-clock limit of {timeout_s:g} s exceeded"
    if returncode == -signal.SIGXCPU:
        return "timeout", "CPU-time limit exceeded"
    if report is not None and not (mode == "io" and report[0] == "ran"):
        return report
    if returncode < 0:
        name = signal.Signals(-returncode).name
        if b"MemoryError" in stderr:
            return "memory", f"killed by {name} after a MemoryError"
        return "runtime_error", f"killed by {name}"
    if b"MemoryError" in stderr:
        return "memory", "MemoryError"
    if mode == "io":
        if returncode == 0:
            return "ran", ""
        return "runtime_error", f"exited with status {returncode}"
    return "runtime_error", f"exited with status {returncode} before the tests reported"


__all__ = ["CodeJudge", "extract_program", "outputs_match"]
