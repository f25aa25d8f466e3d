"""The math answer judge: is the completion's final answer equivalent to the gold answer?

The work is done in Rust (``cgpo._core.math_judge``): extraction, normalisation, parsing into
exact values (big integers and rationals, radicals, pi, e, i, polynomials) and equivalence, with
a per-decision budget, the GIL released and the batch judged in parallel. See ``docs/math.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from cgpo import _core
from cgpo.errors import ConfigError, InvalidInputError
from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict

_VERDICTS = {int(v): v for v in Verdict}

#: Extraction strategies, in the default order (each takes its last occurrence).
EXTRACTION_STRATEGIES: tuple[str, ...] = ("boxed", "final_answer", "hashes", "answer_colon")


def gold_answers(samples: Sequence[Sample], key: str = "answer") -> list[str]:
    """``metadata[key]`` of every sample as a string (ints and finite floats are accepted).

    Raises :class:`cgpo.InvalidInputError` naming the sample and the key for a missing key, a
    wrong type, an empty string, a bool, or a non-finite float.
    """
    out = []
    for i, s in enumerate(samples):
        v0 = s.metadata.get(key) if isinstance(s.metadata, dict) else None
        if type(v0) is str and v0.strip():  # the common case, checked cheaply
            out.append(v0)
            continue
        if key not in s.metadata:
            raise InvalidInputError(f"sample {i}: metadata is missing the key {key!r}")
        v: Any = s.metadata[key]
        if isinstance(v, bool) or not isinstance(v, (str, Integral, Real)):
            raise InvalidInputError(
                f"sample {i}: metadata[{key!r}] must be str, int or float, got {type(v).__name__}"
            )
        if isinstance(v, str):
            if not v.strip():
                raise InvalidInputError(f"sample {i}: metadata[{key!r}] is an empty string")
            out.append(v)
        elif isinstance(v, Integral):
            out.append(str(int(v)))
        else:
            f = float(v)
            if not math.isfinite(f):
                raise InvalidInputError(f"sample {i}: metadata[{key!r}] is not finite: {f}")
            # repr gives the shortest decimal that round-trips: 0.1 stays "0.1".
            out.append(repr(f))
    return out


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
    ``budget_exceeded`` and ``panic`` (ERROR). ``details["extracted"]`` is the extracted answer.

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
        raw = _core.math_judge(
            [s.completion for s in samples],
            answers,
            list(self.extraction),
            self.timeout_ms,
            self.max_steps,
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
