"""``cgpo judge --judge NAME INPUT.jsonl > OUTPUT.jsonl``: judge a file of samples.

Input: one JSON object per line with ``prompt`` and ``completion`` (strings) and ``metadata``
(an object, e.g. ``{"answer": "42"}``). Output: one ``{"verdict": 1|0|-1, "reason": "..."}``
per input line, in order. Blank lines are errors (they would shift the output).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from cgpo.errors import InvalidInputError
from cgpo.judges.base import Judge, Sample
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
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"progress bar on stderr (default: on for files of {PROGRESS_MIN_LINES}+ lines)",
    )


def parse_line(line: str, lineno: int) -> Sample:
    """One input line as a :class:`Sample`; errors name the line."""
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as e:
        raise InvalidInputError(
            f"line {lineno}: invalid JSON: {e.msg} (column {e.colno})"
        ) from None
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


def _batches(lines: list[str], size: int) -> Iterator[tuple[int, list[Sample]]]:
    for start in range(0, len(lines), size):
        chunk = lines[start : start + size]
        yield start, [parse_line(line, start + k + 1) for k, line in enumerate(chunk)]


def judge_lines(
    judge: Judge, lines: list[str], out: IO[str], batch_size: int, progress: bool
) -> None:
    from tqdm import tqdm

    with tqdm(total=len(lines), unit="sample", disable=not progress, file=sys.stderr) as bar:
        for start, samples in _batches(lines, batch_size):
            try:
                results = judge.explain(samples)
            except InvalidInputError:
                # Find the offending line: judge one at a time and report its line number.
                for k, s in enumerate(samples):
                    try:
                        judge.explain([s])
                    except InvalidInputError as e:
                        msg = str(e).removeprefix("sample 0: ")
                        raise InvalidInputError(f"line {start + k + 1}: {msg}") from None
                raise
            for r in results:
                out.write(json.dumps({"verdict": int(r.verdict), "reason": r.reason}) + "\n")
            bar.update(len(samples))


def run(args: argparse.Namespace) -> int:
    if args.batch_size <= 0:
        raise InvalidInputError("--batch-size must be positive")
    judge = make_judge(args.judge)
    if args.input == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.input, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise InvalidInputError(f"cannot read {args.input}: {e.strerror}") from None
    lines = text.splitlines()
    if lines and lines[-1] == "":
        lines.pop()
    progress = args.progress if args.progress is not None else len(lines) >= PROGRESS_MIN_LINES
    if args.output == "-":
        judge_lines(judge, lines, sys.stdout, args.batch_size, progress)
        sys.stdout.flush()
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            judge_lines(judge, lines, out, args.batch_size, progress)
    return 0
