"""The math answer judge: is the completion's final answer equivalent to the gold answer?

The work is done in Rust (``cgpo._core.math_judge``): extraction, normalisation, parsing into
exact values (big integers and rationals, radicals, pi, e, i, polynomials) and equivalence, with
a per-decision budget, the GIL released and the batch judged in parallel. See ``docs/math.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from numbers import Integral, Rational, Real
from typing import Any

from cgpo import _core
from cgpo.errors import ConfigError, InvalidInputError
from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict

_VERDICTS = {int(v): v for v in Verdict}

#: Extraction strategies, in the default order (each takes its last occurrence).
EXTRACTION_STRATEGIES: tuple[str, ...] = ("boxed", "final_answer", "hashes", "answer_colon")


def gold_answers(samples: Sequence[Sample], key: str = "answer") -> list[str]:
    """``metadata[key]`` of every sample as a string the judge parses exactly.

    Accepted: ``str``; integers of any size (``int``, ``numpy.int64``...); fractions
    (``Fraction(1, 3)`` is ``"1/3"``); ``decimal.Decimal`` (its exact digits); binary floats
    (``float``, ``numpy.float32``...) as the shortest decimal that reads back as the same value
    of their own type (``0.1`` and ``numpy.float32(0.1)`` are both ``"0.1"``).

    Raises :class:`cgpo.InvalidInputError` naming the sample and the key for a missing key, a
    wrong type (``bool``, ``complex``, ``None``...), an empty string, a non-finite number, or a
    string that is not valid Unicode (a lone surrogate such as ``"\\ud800"``).
    """
    out = []
    for i, s in enumerate(samples):
        v0 = s.metadata.get(key) if isinstance(s.metadata, dict) else None
        if type(v0) is str and v0.strip():  # the common case, checked cheaply
            out.append(v0)
            continue
        if key not in s.metadata:
            raise InvalidInputError(f"sample {i}: metadata is missing the key {key!r}")
        out.append(gold_text(s.metadata[key], f"sample {i}: metadata[{key!r}]"))
    return out


def gold_text(v: Any, where: str) -> str:
    """One gold answer as text (see :func:`gold_answers`); ``where`` names it in errors."""
    if isinstance(v, str):
        if not v.strip():
            raise InvalidInputError(f"{where} is an empty string")
        return v
    if isinstance(v, bool) or not isinstance(v, (Real, Decimal)):
        raise InvalidInputError(
            f"{where} must be str, int, float, Fraction or Decimal, got {type(v).__name__}"
        )
    if isinstance(v, Integral):
        return int_to_decimal(int(v))
    if isinstance(v, Rational):
        n, d = int(v.numerator), int(v.denominator)
        return int_to_decimal(n) if d == 1 else f"{int_to_decimal(n)}/{int_to_decimal(d)}"
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise InvalidInputError(f"{where} is not finite: {v}")
        return decimal_text(v)
    f = float(v)
    if not math.isfinite(f):
        raise InvalidInputError(f"{where} is not finite: {f}")
    if type(v) is float:
        # repr gives the shortest decimal that round-trips: 0.1 stays "0.1".
        return repr(f)
    # numpy and other float types print the shortest decimal of their own precision
    # (numpy.float32(0.1) prints "0.1"); use it only when it reads back as the same value.
    text = str(v)
    float_type: Any = type(v)
    try:
        same = _DECIMAL.fullmatch(text) is not None and float_type(text) == v
    except (TypeError, ValueError):
        same = False
    return text if same else repr(f)


_DECIMAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def int_to_decimal(n: int) -> str:
    """``str(n)`` without Python's 4,300-digit limit on int-to-str conversion (divide and
    conquer on powers of ten, so no global setting changes)."""
    if n < 0:
        return "-" + int_to_decimal(-n)
    if n.bit_length() < 10_000:  # ~3,000 digits: within the limit
        return str(n)
    half = (n.bit_length() * 3 // 10) // 2  # about half the number of digits
    high, low = divmod(n, 10**half)
    return int_to_decimal(high) + int_to_decimal(low).rjust(half, "0")


def decimal_text(v: Decimal) -> str:
    """A Decimal's exact value: plain digits, or ``m\\times10^{e}`` for huge exponents."""
    sign, digits, exponent = v.as_tuple()
    assert isinstance(exponent, int)
    if abs(exponent) <= 1000:
        return format(v, "f")
    mantissa = "".join(map(str, digits)) or "0"
    return f"{'-' if sign else ''}{mantissa}\\times10^{{{exponent}}}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> int | None:
    """Index of the first lone surrogate in ``text`` (not valid Unicode), or ``None``."""
    m = _SURROGATE.search(text)
    return m.start() if m else None


def check_gold_unicode(answers: Sequence[str], key: str = "answer") -> None:
    """Raises :class:`cgpo.InvalidInputError` naming the first gold answer that holds a lone
    surrogate (valid in a Python ``str`` and in JSON, but not Unicode text)."""
    for i, a in enumerate(answers):
        k = lone_surrogate(a)
        if k is not None:
            raise InvalidInputError(
                f"sample {i}: metadata[{key!r}] holds a lone surrogate "
                f"(U+{ord(a[k]):04X} at index {k}), which is not valid Unicode text"
            )


def invalid_text(index: int) -> JudgeResult:
    """The verdict on a completion that is not valid Unicode text."""
    return JudgeResult(
        Verdict.ERROR,
        "invalid_text",
        {"error": f"the completion holds a lone surrogate at index {index}"},
    )


def check_budget(timeout_ms: float, max_steps: int) -> tuple[float, int]:
    """Validates a decision's budget (shared by the Rust judge and the reference)."""
    if not (isinstance(timeout_ms, (int, float)) and math.isfinite(timeout_ms) and timeout_ms > 0):
        raise ConfigError(f"timeout_ms must be a positive number, got {timeout_ms!r}")
    if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps <= 0:
        raise ConfigError(f"max_steps must be a positive int, got {max_steps!r}")
    return float(timeout_ms), max_steps


def check_extraction(extraction: Sequence[str]) -> tuple[str, ...]:
    order = tuple(extraction)
    if isinstance(extraction, str) or not order:
        raise ConfigError(
            f"extraction must be a non-empty sequence of {EXTRACTION_STRATEGIES}, "
            f"got {extraction!r}"
        )
    for name in order:
        if name not in EXTRACTION_STRATEGIES:
            raise ConfigError(
                f"extraction: unknown strategy {name!r}; choose from {EXTRACTION_STRATEGIES}"
            )
    return order


class MathJudge(BaseJudge):
    """SATISFIED when the completion's final answer is mathematically equivalent to
    ``metadata["answer"]``.

    Parameters
    ----------
    extraction:
        Strategies tried in order to find the final answer: ``"boxed"`` (last ``\\boxed{}`` or
        ``\\fbox{}``), ``"final_answer"`` ("The final answer is X"), ``"hashes"`` ("#### X"),
        ``"answer_colon"`` ("Answer: X").
    timeout_ms:
        Wall-clock budget of one decision; past it the verdict is ERROR ``budget_exceeded``.
    max_steps:
        Deterministic work budget of one decision (same outcome as the clock, machine-free).
    answer_key:
        The metadata key holding the gold answer.

    Reasons: ``equivalent``, ``not_equivalent``, ``no_answer`` (VIOLATED: nothing extracted),
    ``budget_exceeded``, ``invalid_text`` (a lone surrogate in the completion) and ``panic``
    (ERROR). ``details["extracted"]`` is the extracted answer (``details["error"]`` for ERRORs
    other than ``budget_exceeded``).

    Examples
    --------
    >>> from cgpo.judges import MathJudge, Sample
    >>> judge = MathJudge()
    >>> judge.judge([Sample("1+1?", "so \\\\boxed{\\\\frac{4}{2}}", {"answer": "2"})])
    [<Verdict.SATISFIED: 1>]
    """

    name = "math"

    def __init__(
        self,
        extraction: Sequence[str] = EXTRACTION_STRATEGIES,
        timeout_ms: float = 100.0,
        max_steps: int = 2_000_000,
        answer_key: str = "answer",
    ) -> None:
        super().__init__()
        self.extraction = check_extraction(extraction)
        self.timeout_ms, self.max_steps = check_budget(timeout_ms, max_steps)
        self.answer_key = answer_key

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        answers = gold_answers(samples, self.answer_key)
        completions = [s.completion for s in samples]
        try:
            return self._judge(completions, answers)
        except UnicodeEncodeError:
            pass
        # Some text is not valid Unicode (a lone surrogate) and cannot cross into Rust: the
        # gold answer is the caller's data (an error naming it), a completion is the model's
        # output (ERROR for that sample; every other sample is judged as usual).
        check_gold_unicode(answers, self.answer_key)
        bad = {i: k for i, c in enumerate(completions) if (k := lone_surrogate(c)) is not None}
        keep = [i for i in range(len(samples)) if i not in bad]
        judged = iter(self._judge([completions[i] for i in keep], [answers[i] for i in keep]))
        return [invalid_text(bad[i]) if i in bad else next(judged) for i in range(len(samples))]

    def _judge(self, completions: list[str], answers: list[str]) -> list[JudgeResult]:
        raw = _core.math_judge(
            completions, answers, list(self.extraction), self.timeout_ms, self.max_steps
        )
        return [
            JudgeResult(
                _VERDICTS[v], reason, {"error" if reason == "panic" else "extracted": detail}
            )
            for v, reason, detail in raw
        ]

    def __repr__(self) -> str:
        return (
            f"MathJudge(extraction={self.extraction!r}, timeout_ms={self.timeout_ms}, "
            f"max_steps={self.max_steps})"
        )
