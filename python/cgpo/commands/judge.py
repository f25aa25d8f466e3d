"""``cgpo judge --judge NAME INPUT.jsonl > OUTPUT.jsonl``: judge a file of samples.

Input: one JSON object per line with ``prompt`` and ``completion`` (strings) and ``metadata``
(an object, e.g. ``{"answer": "42"}``). Output: one ``{"verdict": 1|0|-1, "reason": "..."}``
per input line, in order. Blank lines are errors (they would shift the output).

Lines are split on ``\\n`` only: U+2028, U+0085 and the other characters that
:meth:`str.splitlines` also splits on are legal inside JSON strings. Every line is read, parsed
and its metadata checked before anything is judged, so a bad line is reported at once (exit 2,
no output), not after the lines before it have run. With ``--keep-going`` a bad line becomes
an error record instead, ``{"line": N, "verdict": -1, "reason": "invalid_input" | "judge_error",
"error": "..."}``, the other lines are judged in order, and the count is reported at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from cgpo.errors import CgpoError, InvalidInputError, JudgeInternalError
from cgpo.judges.base import Judge, JudgeResult, Sample
from cgpo.judges.batching import sample_index, without_index
from cgpo.judges.code import CodeJudge, job_of
from cgpo.judges.instructions import InstructionJudge, ifeval_rows
from cgpo.judges.math import MathJudge, gold_answers
from cgpo.judges.registry import available_judges, make_judge

#: Files with at least this many lines get a progress bar on stderr.
PROGRESS_MIN_LINES = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="JSONL file of {prompt, completion, metadata} ('-' = stdin)")
    rule_judges = [n for n in available_judges() if n not in ("mixture", "llm")]
    parser.add_argument("--judge", required=True, choices=rule_judges, help="which judge")
    parser.add_argument(
        "-o", "--output", default="-", help="where to write results (default stdout)"
    )
    parser.add_argument("--batch-size", type=int, default=4096, help="samples per judge call")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="write an error record (line number, verdict -1, reason) for a bad line and judge "
        "the rest, instead of stopping at the first bad line",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"progress bar on stderr (default: on for files of {PROGRESS_MIN_LINES}+ lines)",
    )


@dataclass(frozen=True)
class Failure:
    """Why one line got no verdict: ``invalid_input`` (the line is wrong) or ``judge_error``."""

    reason: str
    message: str


def parse_line(line: str, lineno: int) -> Sample:
    """One input line as a :class:`Sample`; errors name the line."""
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as e:
        raise InvalidInputError(
            f"line {lineno}: invalid JSON: {e.msg} (column {e.colno})"
        ) from None
    except RecursionError:
        raise InvalidInputError(f"line {lineno}: invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise InvalidInputError(f"line {lineno}: expected a JSON object, got {type(obj).__name__}")
    for key in ("prompt", "completion"):
        if not isinstance(obj.get(key), str):
            got = "missing" if key not in obj else type(obj[key]).__name__
            raise InvalidInputError(f"line {lineno}: `{key}` must be a string, got {got}")
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidInputError(
            f"line {lineno}: `metadata` must be an object, got {type(metadata).__name__}"
        )
    return Sample(obj["prompt"], obj["completion"], metadata)


def decode_line(raw: bytes, lineno: int) -> Sample:
    """A raw input line (UTF-8, without its ``\\n``) as a :class:`Sample`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInputError(
            f"line {lineno}: invalid UTF-8 (byte {e.start + 1} of the line: {e.reason})"
        ) from None
    return parse_line(text, lineno)


def split_lines(data: bytes) -> list[bytes]:
    """The lines of a JSONL file: split on ``\\n`` only; a final newline ends the last line."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def metadata_check(judge: Judge) -> Callable[[Sequence[Sample]], object] | None:
    """The judge's own metadata validation, which runs nothing (None for other judges)."""
    if isinstance(judge, CodeJudge):
        return lambda samples: [job_of(i, s) for i, s in enumerate(samples)]
    if isinstance(judge, MathJudge):
        return lambda samples: gold_answers(samples, judge.answer_key)
    if isinstance(judge, InstructionJudge):
        return ifeval_rows
    return None


def check_metadata(
    check: Callable[[Sequence[Sample]], object], samples: Sequence[Sample]
) -> list[Failure | None]:
    """Runs ``check`` on the batch; when it objects, on each sample, to name every bad one."""
    try:
        check(samples)
        return [None] * len(samples)
    except InvalidInputError:
        pass
    out: list[Failure | None] = []
    for s in samples:
        try:
            check([s])
            out.append(None)
        except InvalidInputError as e:
            out.append(Failure("invalid_input", without_index(str(e))))
    return out


def judge_each(judge: Judge, samples: Sequence[Sample]) -> list[JudgeResult | Failure]:
    """``judge.explain(samples)``, with the samples it fails on isolated instead of raised.

    An error naming a sample (``sample k: ...``) marks that sample and the rest is judged
    again; any other exception is narrowed down by halving the batch, so one odd sample costs
    its own verdict only.
    """
    out: list[JudgeResult | Failure] = []
    start = 0
    while start < len(samples):
        part = samples[start:]
        try:
            out.extend(judge.explain(part))
            return out
        except InvalidInputError as e:
            k = sample_index(str(e), len(part))
            if k is not None:
                out.extend(judge_each(judge, part[:k]))
                out.append(Failure("invalid_input", without_index(str(e))))
                start += k + 1
                continue
            failure = Failure("invalid_input", str(e))
        except Exception as e:  # a judge's bug must cost one line, not the command
            failure = Failure("judge_error", f"{type(e).__name__}: {e}")
        if len(part) == 1:
            out.append(failure)
            return out
        mid = len(part) // 2
        out.extend(judge_each(judge, part[:mid]))
        out.extend(judge_each(judge, part[mid:]))
        return out
    return out


def as_error(failure: Failure, lineno: int) -> CgpoError:
    if failure.reason == "invalid_input":
        return InvalidInputError(f"line {lineno}: {failure.message}")
    return JudgeInternalError(f"line {lineno}: the judge failed: {failure.message}")


class Run:
    """One command run: the parsed lines, the failures found so far, the output."""

    def __init__(self, judge: Judge, lines: list[bytes], keep_going: bool) -> None:
        self.judge = judge
        self.keep_going = keep_going
        self.samples: list[Sample | None] = []
        self.failures: dict[int, Failure] = {}
        for k, raw in enumerate(lines):
            try:
                self.samples.append(decode_line(raw, k + 1))
            except InvalidInputError as e:
                self.samples.append(None)
                self.fail(k, Failure("invalid_input", str(e).removeprefix(f"line {k + 1}: ")))

    def fail(self, k: int, failure: Failure) -> None:
        if not self.keep_going:
            raise as_error(failure, k + 1)
        self.failures[k] = failure

    def check_all(self, batch_size: int) -> None:
        check = metadata_check(self.judge)
        if check is None:
            return
        for start in range(0, len(self.samples), batch_size):
            idx = self.good(start, start + batch_size)
            found = check_metadata(check, [self.sample(k) for k in idx])
            for k, failure in zip(idx, found, strict=True):
                if failure is not None:
                    self.fail(k, failure)

    def good(self, start: int, stop: int) -> list[int]:
        stop = min(stop, len(self.samples))
        return [k for k in range(start, stop) if k not in self.failures]

    def sample(self, k: int) -> Sample:
        s = self.samples[k]
        assert s is not None  # lines that did not parse are in self.failures
        return s

    def judge_all(self, out: IO[str], batch_size: int, progress: bool) -> None:
        from tqdm import tqdm

        n = len(self.samples)
        with tqdm(total=n, unit="sample", disable=not progress, file=sys.stderr) as bar:
            for start in range(0, n, batch_size):
                idx = self.good(start, start + batch_size)
                results = judge_each(self.judge, [self.sample(k) for k in idx])
                for k, r in zip(idx, results, strict=True):
                    if isinstance(r, Failure):
                        self.fail(k, r)
                by_line = dict(zip(idx, results, strict=True))
                for k in range(start, min(start + batch_size, n)):
                    out.write(json.dumps(record(k, self.failures.get(k) or by_line[k])) + "\n")
                bar.update(min(batch_size, n - start))


def record(k: int, r: JudgeResult | Failure) -> dict[str, Any]:
    if isinstance(r, Failure):
        return {"line": k + 1, "verdict": -1, "reason": r.reason, "error": r.message}
    return {"verdict": int(r.verdict), "reason": r.reason}


def read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InvalidInputError(f"cannot read {path}: {e.strerror}") from None


def run(args: argparse.Namespace) -> int:
    if args.batch_size <= 0:
        raise InvalidInputError("--batch-size must be positive")
    judge = make_judge(args.judge)
    lines = split_lines(read_input(args.input))
    job = Run(judge, lines, args.keep_going)
    job.check_all(args.batch_size)
    progress = args.progress if args.progress is not None else len(lines) >= PROGRESS_MIN_LINES
    if args.output == "-":
        try:
            job.judge_all(sys.stdout, args.batch_size, progress)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as other filters do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
    else:
        try:
            out = open(args.output, "w", encoding="utf-8")
        except OSError as e:
            raise InvalidInputError(f"cannot write {args.output}: {e.strerror}") from None
        with out:
            job.judge_all(out, args.batch_size, progress)
    if job.failures:
        print(
            f"cgpo judge: {len(job.failures)} of {len(lines)} lines could not be judged "
            "(error records with verdict -1 written)",
            file=sys.stderr,
        )
    return 0
