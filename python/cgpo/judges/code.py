"""Code judge: runs the completion's program against unit tests in a sandbox.

The program is the last fenced ```` ```python ```` block of the completion (``py``/``python3``
also count; the block must be closed), else the whole completion. Each sample's metadata says
what to check:

- ``tests`` (str): Python test code (asserts) that calls the program's functions by name.
  With ``entry_point`` (str), the tests define ``check(candidate)`` and the judge calls
  ``check(<entry_point>)`` (the HumanEval convention).
- ``io_tests`` (list of ``{"input": str, "output": str}``): each case runs the program in a
  fresh process with ``input`` on stdin; it passes when stdout matches ``output`` line by line
  after stripping ASCII whitespace at both ends of every line and dropping trailing empty lines
  (``\\r\\n`` counts as ``\\n``). Cases run in order and stop at the first failure.

By default (``test_mode="safe"``) the tests run in a sandboxed process of their own and call the
program's functions in the program's process with plain data only, so the verdict depends on
nothing the program can write; ``metadata["test_mode"] = "inprocess"`` runs the tests in the
program's interpreter instead, for tests that need its objects. A sample is satisfied only when
every test ran and passed, as reported by the tests' harness through a private pipe with a
per-run nonce; exit codes, printed text and ``SystemExit`` count for nothing.
``explain`` gives one status per sample as the ``reason``: ``pass``, ``fail``, ``timeout``,
``memory``, ``runtime_error``, ``syntax_error`` or ``sandbox_error`` (the judge could not
decide: ``Verdict.ERROR``), with the failing test and a bounded stderr excerpt in ``details``.

The sandbox (Rust, ``rust/src/sandbox/``) is a pool of warm Python interpreters ("zygotes"), one
per worker, each forking one child per execution inside its own namespaces; see docs/code.md.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from cgpo import _core
from cgpo.errors import InvalidInputError
from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict

STATUSES = (
    "pass",
    "fail",
    "timeout",
    "memory",
    "runtime_error",
    "syntax_error",
    "sandbox_error",
)

JobTuple = tuple[str, str | None, str | None, list[tuple[str, str]] | None, bool]
TEST_MODES = ("safe", "inprocess")


def _check_text(index: int, field: str, text: str) -> None:
    """Text that cannot cross into the sandbox (lone surrogates are legal in a Python str and in
    JSON, not in UTF-8) is the caller's mistake: an error naming the sample and the field."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidInputError(
            f"sample {index}: {field} holds {text[e.start : e.end]!r} at position {e.start}, "
            "a lone surrogate that is not valid Unicode text"
        ) from None


def job_of(index: int, sample: Sample, test_mode: str = "safe") -> JobTuple:
    """Validates a sample's metadata into (completion, tests, entry_point, io_tests, in_process).

    A completion with a lone surrogate is the policy's output, not the caller's mistake: its
    program cannot be valid source text, so the sample gets ``syntax_error`` (see ``_explain``).
    """
    meta: Mapping[str, Any] = sample.metadata
    mode = meta.get("test_mode", test_mode)
    if mode not in TEST_MODES:
        raise InvalidInputError(
            f"sample {index}: metadata['test_mode'] must be 'safe' or 'inprocess', got {mode!r}"
        )
    has_tests = "tests" in meta and meta["tests"] is not None
    has_io = "io_tests" in meta and meta["io_tests"] is not None
    if has_tests == has_io:
        raise InvalidInputError(
            f"sample {index}: metadata needs exactly one of 'tests' (test code) or "
            "'io_tests' (a list of {'input', 'output'} cases)"
        )
    if has_io:
        cases = meta["io_tests"]
        if not isinstance(cases, Sequence) or isinstance(cases, (str, bytes)) or not cases:
            raise InvalidInputError(
                f"sample {index}: metadata['io_tests'] must be a non-empty list of "
                "{'input': str, 'output': str}"
            )
        io: list[tuple[str, str]] = []
        for k, case in enumerate(cases):
            if (
                not isinstance(case, Mapping)
                or not isinstance(case.get("input"), str)
                or not isinstance(case.get("output"), str)
            ):
                raise InvalidInputError(
                    f"sample {index}: metadata['io_tests'][{k}] must be "
                    "{'input': str, 'output': str}"
                )
            for key in ("input", "output"):
                _check_text(index, f"metadata['io_tests'][{k}][{key!r}]", case[key])
            io.append((case["input"], case["output"]))
        return (sample.completion, None, None, io, False)
    tests = meta["tests"]
    if not isinstance(tests, str) or not tests.strip():
        raise InvalidInputError(f"sample {index}: metadata['tests'] must be a non-empty str")
    entry = meta.get("entry_point")
    if entry is not None and (not isinstance(entry, str) or not entry.isidentifier()):
        raise InvalidInputError(
            f"sample {index}: metadata['entry_point'] must be a Python identifier, got {entry!r}"
        )
    if entry is not None and "def check(" not in tests:
        raise InvalidInputError(
            f"sample {index}: metadata['tests'] must define `check(candidate)` when "
            "'entry_point' is given"
        )
    _check_text(index, "metadata['tests']", tests)
    return (sample.completion, tests, entry, None, mode == "inprocess")


class CodeJudge(BaseJudge):
    """Satisfied iff the completion's program passes all of the sample's tests in the sandbox.

    Parameters
    ----------
    timeout_s:
        Wall-clock limit per execution (per io case); the CPU-time limit is ``timeout_s + 1``.
    memory_mb:
        Address-space limit of an execution (``RLIMIT_AS``).
    workers:
        Parallel executions (one warm interpreter each); default: the usable CPU cores.
    max_processes:
        Process limit of an execution (a fork bomb stops there).
    max_file_mb, max_open_files:
        Largest file an execution may write (stdout included) and its open-file limit.
    capture_bytes:
        Bytes of stdout/stderr read back per execution; stdout is what io cases compare, so it
        must exceed the longest expected output.
    tmpfs_mb:
        Size of each worker's private ``/tmp`` (the execution's working directory lives there).
    excerpt_chars:
        Length of the stdout/stderr excerpts in ``explain`` details.
    isolation:
        ``"auto"`` (the strongest the kernel allows), ``"full"``, ``"userns"`` or ``"minimal"``.
    test_mode:
        ``"safe"`` (default): the tests run in a sandboxed process of their own, which holds
        the expected values and computes the verdict, and call the program's functions in the
        program's process over a pipe; arguments and return values cross as plain data (None,
        bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset), so nothing
        the program writes or returns can change the verdict. ``"inprocess"``: the tests run in
        the program's interpreter (needed when they use the program's objects: instances of
        its classes, generators, callbacks); a hostile program can fool such tests. A sample's
        ``metadata["test_mode"]`` overrides it. io tests are always safe.
    harness_thread:
        In-process mode only: run the program and its tests on a thread of their own, whose
        frames end before the harness's (default). ``False`` runs them on the harness's thread:
        fewer thread switches, but a program can then reach its frames and forge a pass.
    python:
        Interpreter that runs the programs (default: this process's ``sys.executable``; Python
        >= 3.9); it is started with ``-I -S``, so programs see the standard library only.

    The workers are stopped by :meth:`close`, by leaving a ``with`` block, when the judge is
    garbage collected, or at interpreter exit; a closed judge restarts them on its next call. A
    judge is safe to share between threads, and a forked child process gets its own workers.

    Examples
    --------
    >>> from cgpo.judges import CodeJudge, Sample
    >>> with CodeJudge(timeout_s=2) as judge:
    ...     s = Sample("", "```python\\ndef inc(x):\\n    return x + 1\\n```",
    ...                {"tests": "assert inc(1) == 2"})
    ...     judge.explain([s])[0].reason
    'pass'
    """

    name = "code"

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        memory_mb: int = 512,
        workers: int | None = None,
        max_processes: int = 64,
        max_file_mb: int = 16,
        max_open_files: int = 64,
        capture_bytes: int = 1 << 20,
        tmpfs_mb: int = 256,
        excerpt_chars: int = 1000,
        isolation: str = "auto",
        python: str | None = None,
        test_mode: str = "safe",
        harness_thread: bool = True,
    ) -> None:
        super().__init__()
        if test_mode not in TEST_MODES:
            raise InvalidInputError(f"`test_mode` must be 'safe' or 'inprocess', got {test_mode!r}")
        self.test_mode = test_mode
        if workers is None:
            workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        for key, value in (
            ("memory_mb", memory_mb),
            ("workers", workers),
            ("max_processes", max_processes),
            ("max_file_mb", max_file_mb),
            ("max_open_files", max_open_files),
            ("capture_bytes", capture_bytes),
            ("tmpfs_mb", tmpfs_mb),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise InvalidInputError(f"`{key}` must be a positive int, got {value!r}")
        if max_open_files < 16:
            raise InvalidInputError("`max_open_files` must be >= 16 (Python needs a few)")
        if not isinstance(timeout_s, (int, float)) or isinstance(timeout_s, bool):
            raise InvalidInputError(f"`timeout_s` must be a number of seconds, got {timeout_s!r}")
        self.timeout_s = float(timeout_s)
        self._options: dict[str, Any] = {
            "python": python or sys.executable,
            "workers": workers,
            "timeout_s": self.timeout_s,
            "memory_mb": memory_mb,
            "max_processes": max_processes,
            "max_file_mb": max_file_mb,
            "max_open_files": max_open_files,
            "capture_bytes": capture_bytes,
            "tmpfs_mb": tmpfs_mb,
            "excerpt_bytes": excerpt_chars,
            "isolation": isolation,
            "harness_thread": bool(harness_thread),
        }
        self._start()

    def _start(self) -> None:
        options = dict(self._options)
        self._sandbox = _core.CodeSandbox(options.pop("python"), **options)
        self._pid = os.getpid()
        # Stops the workers when the judge is collected or the interpreter exits.
        self._finalizer = weakref.finalize(self, self._sandbox.close)

    def _ensure_own_workers(self) -> None:
        # After os.fork (e.g. data-loader workers) the child must not talk to the parent's
        # workers over the inherited pipes: it starts its own, and leaves the parent's alone.
        if os.getpid() != self._pid:
            self._finalizer.detach()
            self._start()

    @property
    def isolation(self) -> str:
        """The isolation level in force: ``full``, ``userns`` or ``minimal`` (docs/code.md)."""
        return self._sandbox.isolation

    @property
    def workers(self) -> int:
        return self._sandbox.workers

    @property
    def run_memory_cap(self) -> str | None:
        """``"cgroup v2"`` or ``"cgroup v1"`` when each run's processes together are held to
        ``memory_mb`` and ``max_processes`` (a cgroup per worker); ``None`` where the kernel or
        the privileges allow no cgroup, and only the per-process limits hold (docs/code.md)."""
        return self._sandbox.run_memory_cap

    def close(self) -> None:
        """Stops the worker processes; the next call starts them again."""
        if os.getpid() == self._pid:
            self._sandbox.close()

    def __enter__(self) -> CodeJudge:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        jobs = [job_of(i, s, self.test_mode) for i, s in enumerate(samples)]
        # A completion that is not valid Unicode text (a lone surrogate) cannot be a program:
        # that sample alone gets syntax_error, the others run.
        unencodable = {i for i, s in enumerate(samples) if not _encodes(s.completion)}
        runnable = [job for i, job in enumerate(jobs) if i not in unencodable]
        self._ensure_own_workers()
        ran = iter(self._sandbox.run(runnable))
        out = []
        for i in range(len(jobs)):
            if i in unencodable:
                detail = "the completion holds a lone surrogate: it is not valid Unicode text"
                out.append(
                    JudgeResult(
                        Verdict.VIOLATED,
                        "syntax_error",
                        _details("syntax_error", detail, "", "", 0.0),
                    )
                )
                continue
            verdict, status, detail, stdout, stderr, elapsed = next(ran)
            details = _details(status, detail, stdout, stderr, elapsed)
            out.append(JudgeResult(Verdict(verdict), status, details))
        return out

    def __repr__(self) -> str:
        return f"CodeJudge(timeout_s={self.timeout_s}, isolation={self.isolation!r})"


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _details(status: str, detail: str, stdout: str, stderr: str, elapsed: float) -> dict[str, Any]:
    details: dict[str, Any] = {
        "status": status,
        "detail": detail,
        "stdout": stdout,
        "stderr": stderr,
        "elapsed_s": elapsed,
    }
    if status == "fail":
        details["failing_test"] = detail
    return details


__all__ = ["STATUSES", "TEST_MODES", "CodeJudge"]
