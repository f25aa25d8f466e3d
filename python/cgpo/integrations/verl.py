"""cgpo's judges as verl reward functions.

verl calls a custom reward function with the row's ``data_source`` and
``reward_model.ground_truth``; these functions pick the judge from the data source:

- gsm8k / MATH-style names (``openai/gsm8k``, ``lighteval/MATH``, ``HuggingFaceH4/MATH-500``,
  ``math_dapo``, ``aime*``, ``amc*``, ``numina*``, ...) -> :class:`cgpo.MathJudge`, the ground
  truth being the gold answer;
- IFEval-style names (``google/IFEval``, ``ifeval``, ``ifbench``) ->
  :class:`cgpo.InstructionJudge`, the ground truth being ``{"instruction_id_list", "kwargs"}``
  (a mapping or its JSON);
- HumanEval / MBPP-style names (``openai_humaneval``, ``mbpp``, ``evalplus/*``, ``apps``,
  ``codecontests``, ``livecodebench``, ...) -> :class:`cgpo.CodeJudge`, the ground truth being
  test code (``entry_point`` from the ground truth mapping or ``extra_info`` for
  ``check(candidate)`` tests), or ``{"inputs": [...], "outputs": [...]}`` stdin/stdout cases.

An unknown or ambiguous data source raises :class:`cgpo.InvalidInputError` naming it; pass
``judge="math"`` (verl: ``custom_reward_function.reward_kwargs``) to choose the judge yourself.
A score is 1.0 (SATISFIED) or 0.0 (VIOLATED); a sample the judge could not decide
(``Verdict.ERROR``) scores ``error_score`` (0.0 by default). With ``return_dict=True`` each score
is ``{"score", "verdict", "reason"}``, which verl logs next to the reward.

verl config (``reward_model.reward_manager=batch`` for the batch form)::

    custom_reward_function:
      path: <site-packages>/cgpo/integrations/verl.py
      name: compute_score            # or compute_score_batch with the batch reward manager

The judges are built on first use and kept for the life of the process (the code judge's
sandbox workers are expensive to start); :func:`close_judges` stops them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from cgpo.errors import InvalidInputError
from cgpo.judges.base import Judge, JudgeResult, Sample, Verdict
from cgpo.judges.batching import renumber
from cgpo.judges.registry import make_judge

__all__ = [
    "FAMILIES",
    "close_judges",
    "compute_score",
    "compute_score_batch",
    "judge_for",
    "to_sample",
]

#: judge type -> name prefixes of the data sources it scores (matched per word of the name).
FAMILIES: dict[str, tuple[str, ...]] = {
    "math": (
        "gsm8k",
        "math",
        "aime",
        "amc",
        "numina",
        "olympiad",
        "deepscaler",
        "competition",
    ),
    "instructions": ("ifeval", "ifbench"),
    "code": (
        "humaneval",
        "mbpp",
        "evalplus",
        "apps",
        "codecontests",
        "livecodebench",
        "taco",
        "codeforces",
        "leetcode",
    ),
}

_WORD = re.compile(r"[a-z0-9]+")
_JUDGES: dict[str, Judge] = {}
_LOCK = threading.Lock()


def judge_for(data_source: str) -> str:
    """The judge type that scores ``data_source`` (``"math"``, ``"instructions"``, ``"code"``).

    Each word of the lower-cased name, and each pair of neighbouring words run together
    (``human_eval`` -> ``humaneval``), is compared with the prefixes in :data:`FAMILIES`.

    >>> judge_for("openai/gsm8k"), judge_for("google/IFEval"), judge_for("openai_humaneval")
    ('math', 'instructions', 'code')
    """
    if not isinstance(data_source, str):
        raise InvalidInputError(
            f"data source must be a string, got {type(data_source).__name__}: {data_source!r}"
        )
    words = _WORD.findall(data_source.lower())
    words += [a + b for a, b in pairwise(words)]
    found = sorted(
        family
        for family, prefixes in FAMILIES.items()
        if any(w.startswith(p) for w in words for p in prefixes)
    )
    if len(found) == 1:
        return found[0]
    why = f"it matches {' and '.join(found)}" if found else "no cgpo judge is known for it"
    raise InvalidInputError(
        f"unknown data source {data_source!r}: {why}; cgpo scores gsm8k/MATH-style sources with "
        "the math judge, IFEval-style with the instruction judge and HumanEval/MBPP-style with "
        "the code judge (pass judge='math'|'instructions'|'code' to choose)"
    )


def _plain(x: Any) -> Any:
    """Parquet rows reach verl as numpy arrays and scalars: make them lists, dicts, scalars."""
    if isinstance(x, (str, bytes, bool, int, float)) or x is None:
        return x
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if hasattr(x, "tolist"):  # numpy array or scalar
        return _plain(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _mapping(ground_truth: Any) -> dict[str, Any] | None:
    if isinstance(ground_truth, str) and ground_truth.lstrip().startswith("{"):
        try:
            parsed = json.loads(ground_truth)
        except (ValueError, RecursionError):
            return None
        return parsed if isinstance(parsed, dict) else None
    return ground_truth if isinstance(ground_truth, dict) else None


def _code_metadata(gt: Any, extra: Mapping[str, Any]) -> dict[str, Any]:
    spec = _mapping(gt)
    if spec is not None and "inputs" in spec and "outputs" in spec:
        ins, outs = spec["inputs"], spec["outputs"]
        if not isinstance(ins, list) or not isinstance(outs, list) or len(ins) != len(outs):
            raise InvalidInputError(
                "sample 0: ground truth 'inputs' and 'outputs' must be lists of equal length"
            )
        return {"io_tests": [{"input": i, "output": o} for i, o in zip(ins, outs, strict=True)]}
    meta = dict(spec) if spec is not None else {"tests": gt}
    entry = meta.get("entry_point", extra.get("entry_point"))
    if entry is not None:
        meta["entry_point"] = entry
    tests = meta.get("tests")
    if isinstance(tests, str) and "def check(" in tests and entry is None:
        # Without an entry point nothing calls check(), and every program would pass.
        raise InvalidInputError(
            "sample 0: the ground truth defines check(candidate) but no 'entry_point' is "
            "given (put it in extra_info or in the ground truth mapping)"
        )
    return meta


def to_sample(
    family: str, solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None
) -> Sample:
    """The :class:`Sample` a judge of ``family`` reads for one verl row."""
    gt = _plain(ground_truth)
    extra = _plain(extra_info) if isinstance(extra_info, Mapping) else {}
    prompt = extra.get("question", extra.get("prompt", ""))
    prompt = prompt if isinstance(prompt, str) else ""
    if family == "math":
        meta: dict[str, Any] = {"answer": gt}
    elif family == "instructions":
        spec = _mapping(gt)
        if spec is None:
            raise InvalidInputError(
                "sample 0: an IFEval ground truth must be a mapping (or its JSON) with "
                f"'instruction_id_list' and 'kwargs', got {type(gt).__name__}"
            )
        meta = dict(spec)
        kwargs = meta.get("kwargs")
        if isinstance(kwargs, list):
            # Parquet gives every kwargs dict the union of all keys, unused ones as None.
            meta["kwargs"] = [
                {k: v for k, v in kw.items() if v is not None} if isinstance(kw, dict) else kw
                for kw in kwargs
            ]
    else:
        meta = _code_metadata(gt, extra)
    return Sample(prompt, solution_str, meta)


def _judge(family: str) -> Judge:
    with _LOCK:
        if family not in _JUDGES:
            _JUDGES[family] = make_judge(family)
        return _JUDGES[family]


def close_judges() -> None:
    """Stops the judges built so far (the code judge's sandbox workers); the next call builds
    them again."""
    with _LOCK:
        judges = list(_JUDGES.values())
        _JUDGES.clear()
    for judge in judges:
        close = getattr(judge, "close", None)
        if callable(close):
            close()


def _score(r: JudgeResult, error_score: float, return_dict: bool) -> float | dict[str, Any]:
    if r.verdict == Verdict.SATISFIED:
        score = 1.0
    elif r.verdict == Verdict.VIOLATED:
        score = 0.0
    else:
        score = float(error_score)
    if return_dict:
        return {"score": score, "verdict": int(r.verdict), "reason": r.reason}
    return score


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    judge: str | None = None,
    error_score: float = 0.0,
    return_dict: bool = False,
) -> list[float | dict[str, Any]]:
    """Scores a batch (verl's batch reward manager): one judge call per judge type, scores in
    input order. Errors name the sample's index in the batch."""
    n = len(solution_strs)
    extras = list(extra_infos) if extra_infos is not None else [None] * n
    if not (len(data_sources) == len(ground_truths) == len(extras) == n):
        raise InvalidInputError(
            f"got {len(data_sources)} data sources, {n} solutions, {len(ground_truths)} ground "
            f"truths and {len(extras)} extra infos; they must be equally long"
        )
    groups: dict[str, list[int]] = {}
    samples: list[Sample] = []
    for i in range(n):
        try:
            family = judge if judge is not None else judge_for(data_sources[i])
            if family not in FAMILIES:
                raise InvalidInputError(f"judge must be one of {sorted(FAMILIES)}, got {family!r}")
            samples.append(to_sample(family, solution_strs[i], ground_truths[i], extras[i]))
        except InvalidInputError as e:
            message = str(e).removeprefix("sample 0: ")
            raise InvalidInputError(f"sample {i}: {message}") from None
        groups.setdefault(family, []).append(i)
    out: list[float | dict[str, Any]] = [0.0] * n
    for family, idx in groups.items():
        try:
            results = _judge(family).explain([samples[i] for i in idx])
        except InvalidInputError as e:
            raise InvalidInputError(renumber(str(e), idx)) from None
        for i, r in zip(idx, results, strict=True):
            out[i] = _score(r, error_score, return_dict)
    return out


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    judge: str | None = None,
    error_score: float = 0.0,
    return_dict: bool = False,
) -> float | dict[str, Any]:
    """Scores one response (verl's ``custom_reward_function``): 1.0, 0.0 or ``error_score``.

    >>> compute_score("openai/gsm8k", "... so the answer is #### 72", "72")
    1.0
    """
    try:
        return compute_score_batch(
            [data_source],
            [solution_str],
            [ground_truth],
            [extra_info],
            judge=judge,
            error_score=error_score,
            return_dict=return_dict,
        )[0]
    except InvalidInputError as e:
        raise InvalidInputError(str(e).removeprefix("sample 0: ")) from None
