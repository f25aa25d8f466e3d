"""The judge API every cgpo judge follows.

A judge takes a batch of :class:`Sample` and returns one :class:`Verdict` per sample::

    judge.judge(samples) -> list[Verdict]
    judge.explain(samples) -> list[JudgeResult]

``Verdict.ERROR`` means the judge could not decide; it is counted (``judge.stats``) and never
silently turned into a 0. Bad input raises :class:`cgpo.InvalidInputError` naming the sample
index and the key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from cgpo.errors import InvalidInputError

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Verdict(IntEnum):
    """A judge's decision on one sample (CGPO's J(s, a), extended with ERROR)."""

    SATISFIED = 1
    VIOLATED = 0
    ERROR = -1


@dataclass(frozen=True)
class Sample:
    """One (prompt, completion) pair and the metadata its judges read (e.g. ``answer``)."""

    prompt: str
    completion: str
    metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class JudgeResult:
    """A verdict with a machine-readable ``reason`` code and free-form ``details``."""

    verdict: Verdict
    reason: str
    details: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@runtime_checkable
class Judge(Protocol):
    """Anything with the judge API: cgpo's judges, and judges users write in Python."""

    name: str

    def judge(self, samples: Sequence[Sample]) -> list[Verdict]: ...

    def explain(self, samples: Sequence[Sample]) -> list[JudgeResult]: ...


@runtime_checkable
class VerdictJudge(Protocol):
    """The least a judge needs to be a member of a mixture: ``judge(samples) -> list[Verdict]``.

    This is the judge a user writes in the TRL style; ``name`` and ``explain`` are optional
    (:class:`cgpo.judges.MixtureOfJudges` falls back to the class name and to the bare verdict).
    """

    def judge(self, samples: Sequence[Sample]) -> list[Verdict]: ...


@dataclass
class JudgeStats:
    """Running counts of a judge's verdicts, for logging pass and error rates."""

    total: int = 0
    satisfied: int = 0
    violated: int = 0
    errors: int = 0

    @property
    def pass_rate(self) -> float:
        return self.satisfied / self.total if self.total else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "total": self.total,
            "satisfied": self.satisfied,
            "violated": self.violated,
            "errors": self.errors,
            "pass_rate": self.pass_rate,
            "error_rate": self.error_rate,
        }


class BaseJudge:
    """Shared plumbing: input validation, counting, and ``judge`` derived from ``explain``.

    Subclasses implement :meth:`_explain` on a validated batch.
    """

    name: str = "judge"

    def __init__(self) -> None:
        self._stats = JudgeStats()
        self._lock = threading.Lock()

    @property
    def stats(self) -> JudgeStats:
        """Counts of every verdict this judge has returned (ERRORs included)."""
        return self._stats

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = JudgeStats()

    def judge(self, samples: Sequence[Sample]) -> list[Verdict]:
        return [r.verdict for r in self.explain(samples)]

    def explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        batch = check_samples(samples)
        results = self._explain(batch) if batch else []
        self._count(results)
        return results

    def __call__(self, samples: Sequence[Sample]) -> list[Verdict]:
        return self.judge(samples)

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        raise NotImplementedError

    def _count(self, results: Sequence[JudgeResult]) -> None:
        with self._lock:
            s = self._stats
            for r in results:
                s.total += 1
                if r.verdict == Verdict.SATISFIED:
                    s.satisfied += 1
                elif r.verdict == Verdict.VIOLATED:
                    s.violated += 1
                else:
                    s.errors += 1

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def check_samples(samples: Sequence[Sample]) -> Sequence[Sample]:
    """Validates a batch: a sequence of :class:`Sample` with ``str`` prompt and completion."""
    if isinstance(samples, (Sample, str, bytes)) or not isinstance(samples, Sequence):
        raise InvalidInputError(
            f"expected a sequence of cgpo.judges.Sample, got {type(samples).__name__}; "
            "wrap a single sample in a list"
        )
    for i, s in enumerate(samples):
        if not isinstance(s, Sample):
            raise InvalidInputError(
                f"sample {i}: expected cgpo.judges.Sample, got {type(s).__name__}"
            )
        if not isinstance(s.prompt, str):
            raise InvalidInputError(
                f"sample {i}: `prompt` must be str, got {type(s.prompt).__name__}"
            )
        if not isinstance(s.completion, str):
            raise InvalidInputError(
                f"sample {i}: `completion` must be str, got {type(s.completion).__name__}"
            )
        if not isinstance(s.metadata, Mapping):
            raise InvalidInputError(
                f"sample {i}: `metadata` must be a mapping, got {type(s.metadata).__name__}"
            )
    return samples


def require_metadata(
    samples: Sequence[Sample], key: str, types: type | tuple[type, ...]
) -> list[Any]:
    """Returns ``metadata[key]`` of every sample, raising a clear error naming index and key."""
    values = []
    for i, s in enumerate(samples):
        if key not in s.metadata:
            raise InvalidInputError(f"sample {i}: metadata is missing the key {key!r}")
        value = s.metadata[key]
        if not isinstance(value, types):
            expected = (
                types.__name__
                if isinstance(types, type)
                else " or ".join(t.__name__ for t in types)
            )
            raise InvalidInputError(
                f"sample {i}: metadata[{key!r}] must be {expected}, got {type(value).__name__}"
            )
        values.append(value)
    return values


RewardFunction = Callable[..., list[float | None]]


def as_reward_function(
    judge: Judge,
    *,
    satisfied: float = 1.0,
    violated: float = 0.0,
    error: float | None = None,
    metadata_columns: Sequence[str] | None = None,
    name: str | None = None,
) -> RewardFunction:
    """Wraps a judge as a TRL-style reward function.

    The returned callable has TRL's signature ``(prompts, completions, **columns)`` and returns
    one float per completion: ``satisfied`` / ``violated`` for the two verdicts and ``error``
    (``None`` by default, which TRL treats as "no reward from this function") for
    ``Verdict.ERROR``. Extra dataset columns passed by the trainer (``answer``, ``tests``...)
    become each sample's metadata; ``metadata_columns`` restricts which ones.

    Conversational prompts/completions (lists of ``{"role", "content"}`` messages) are flattened
    to the text of their last message.

    Examples
    --------
    >>> from cgpo.judges import Verdict, as_reward_function
    >>> class Even:
    ...     name = "even"
    ...     def judge(self, samples):
    ...         return [Verdict(int(len(s.completion) % 2 == 0)) for s in samples]
    ...     def explain(self, samples): ...
    >>> reward = as_reward_function(Even())
    >>> reward(prompts=["p", "q"], completions=["ab", "abc"])
    [1.0, 0.0]
    """

    def reward_fn(
        prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        if len(prompts) != len(completions):
            raise InvalidInputError(
                f"got {len(prompts)} prompts but {len(completions)} completions"
            )
        keys = list(columns) if metadata_columns is None else list(metadata_columns)
        for k in keys:
            if k not in columns:
                raise InvalidInputError(f"reward function expected the dataset column {k!r}")
        samples = []
        for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
            meta = {}
            for k in keys:
                col = columns[k]
                if isinstance(col, Sequence) and not isinstance(col, (str, bytes)):
                    if len(col) != len(completions):
                        continue  # a scalar-like column (e.g. TRL's trainer_state) is not metadata
                    meta[k] = col[i]
            samples.append(Sample(_as_text(p), _as_text(c), meta))
        out: list[float | None] = []
        for v in judge.judge(samples):
            if v == Verdict.SATISFIED:
                out.append(satisfied)
            elif v == Verdict.VIOLATED:
                out.append(violated)
            else:
                out.append(error)
        return out

    reward_fn.__name__ = name or f"{getattr(judge, 'name', type(judge).__name__)}_reward"
    return reward_fn


def _as_text(x: Any) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, Sequence) and x and isinstance(x[-1], Mapping) and "content" in x[-1]:
        return str(x[-1]["content"])
    raise InvalidInputError(f"expected a string or a list of chat messages, got {type(x).__name__}")
