"""The Mixture of Judges: a response satisfies it only when every member judge is satisfied.

ERROR policies (what the mixture does when a member returns ``Verdict.ERROR`` for a sample):

``"violate"`` (default)
    The member's ERROR counts as a violation: the sample is VIOLATED (reason
    ``"error_as_violated"`` unless another member violated it outright). These are counted
    separately (``mixture.errors_as_violated`` and each member's ``errors``), so a judge that
    fails a lot is visible in the logs instead of silently looking like a strict judge.
``"skip"``
    The sample is ERROR (reason ``"error"``), whatever the other members said, and the trainer
    leaves it out of the update: a sample whose judging failed anywhere counts neither as a
    positive nor as a negative.
``"raise"``
    :class:`cgpo.JudgeInternalError` (a :class:`cgpo.CgpoError`) naming the member, the sample
    index and the member's reason.

A member needs only ``judge(samples) -> list[Verdict]`` (a judge written in the TRL style).
``explain`` is optional: without it the member's verdict comes with the generic reason
``"satisfied"``, ``"violated"`` or ``"error"``; an ``explain`` may return plain ``Verdict`` values,
which get the same reasons. ``name`` is optional too (the class name stands in).

A member that *raises* is not an ERROR verdict: input errors (:class:`cgpo.InvalidInputError`,
any :class:`cgpo.CgpoError`) propagate unchanged with a note naming the member, and any other
exception becomes :class:`cgpo.JudgeInternalError` naming the member, whatever the policy.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from cgpo.errors import CgpoError, ConfigError, JudgeInternalError
from cgpo.judges.base import (
    BaseJudge,
    Judge,
    JudgeResult,
    JudgeStats,
    Sample,
    Verdict,
    VerdictJudge,
)

ErrorPolicy = Literal["violate", "skip", "raise"]
ERROR_POLICIES: tuple[str, ...] = ("violate", "skip", "raise")

__all__ = ["ERROR_POLICIES", "ErrorPolicy", "MixtureOfJudges"]


class MixtureOfJudges(BaseJudge):
    """A judge that is SATISFIED only when every member judge is (CGPO's MoJ).

    Parameters
    ----------
    judges : sequence of judges
        cgpo's rule judges, :class:`cgpo.judges.LLMJudge`, or judges written in Python: any
        object with ``judge(samples) -> list[Verdict]`` (``explain`` and ``name`` optional, see
        the module docstring). Members with the same ``name`` are told apart as ``name``,
        ``name#2``, ...
    on_error : {"violate", "skip", "raise"}
        What a member's ``Verdict.ERROR`` does to the sample (see the module docstring).
    name : str
        The mixture's own name (used as a log prefix).

    Members run concurrently on threads, each on the whole batch: Rust judges release the GIL
    and LLM judges batch on their model's device, so the batch costs about as long as the
    slowest member.

    ``explain`` returns, per sample, the mixture's verdict with ``details["members"]`` (each
    member's :class:`JudgeResult`, by member name), ``details["violated_by"]`` and
    ``details["errored"]`` (member names).

    Examples
    --------
    >>> from cgpo.judges import Sample, Verdict
    >>> class Short:
    ...     name = "short"
    ...     def explain(self, samples):
    ...         return [JudgeResult(Verdict(int(len(s.completion) < 5)), "ok") for s in samples]
    ...     def judge(self, samples):
    ...         return [r.verdict for r in self.explain(samples)]
    >>> moj = MixtureOfJudges([Short()])
    >>> moj.judge([Sample("p", "tiny"), Sample("p", "far too long")])
    [<Verdict.SATISFIED: 1>, <Verdict.VIOLATED: 0>]
    >>> class NoDigits:  # TRL style: only `judge`
    ...     def judge(self, samples):
    ...         return [Verdict(int(not any(c.isdigit() for c in s.completion))) for s in samples]
    >>> members = MixtureOfJudges([Short(), NoDigits()]).explain([Sample("p", "4")])[0].details
    >>> {n: (int(r.verdict), r.reason) for n, r in members["members"].items()}
    {'short': (1, 'ok'), 'NoDigits': (0, 'violated')}
    """

    def __init__(
        self,
        judges: Sequence[Judge | VerdictJudge],
        on_error: ErrorPolicy = "violate",
        name: str = "moj",
    ) -> None:
        super().__init__()
        if on_error not in ERROR_POLICIES:
            allowed = ", ".join(map(repr, ERROR_POLICIES))
            raise ConfigError(f"`on_error` must be one of {allowed}, got {on_error!r}")
        if isinstance(judges, (str, bytes)) or not isinstance(judges, Sequence) or not judges:
            raise ConfigError("`judges` must be a non-empty list of judges")
        for k, j in enumerate(judges):
            if not (callable(getattr(j, "judge", None)) or callable(getattr(j, "explain", None))):
                raise ConfigError(
                    f"judges[{k}] ({type(j).__name__}) lacks the judge API: a member needs a "
                    "method judge(samples) -> list[Verdict] (explain(samples) is optional)"
                )
        self.judges: list[Judge | VerdictJudge] = list(judges)
        self.on_error: ErrorPolicy = on_error
        self.name = name
        self.member_names: list[str] = _unique_names(
            [str(getattr(j, "name", type(j).__name__)) for j in self.judges]
        )
        self._member_stats = {n: JudgeStats() for n in self.member_names}
        self._errors_as_violated = 0
        self._mixture_lock = threading.Lock()

    # -- statistics ---------------------------------------------------------------------------
    @property
    def member_stats(self) -> dict[str, JudgeStats]:
        """Each member's verdict counts (pass and error rates) over everything judged so far."""
        return self._member_stats

    @property
    def errors_as_violated(self) -> int:
        """Samples turned VIOLATED only because a member returned ERROR (policy "violate")."""
        return self._errors_as_violated

    def reset_stats(self) -> None:
        super().reset_stats()
        with self._mixture_lock:
            self._member_stats = {n: JudgeStats() for n in self.member_names}
            self._errors_as_violated = 0

    def log_stats(self, prefix: str | None = None) -> dict[str, float]:
        """A flat dict for a logger: the mixture's and each member's pass and error rates.

        Keys are ``"{prefix}/pass_rate"``, ``"{prefix}/{member}/error_rate"``, ... with
        ``prefix`` defaulting to the mixture's name.
        """
        p = self.name if prefix is None else prefix
        out: dict[str, float] = {f"{p}/{k}": float(v) for k, v in self.stats.as_dict().items()}
        out[f"{p}/errors_as_violated"] = float(self._errors_as_violated)
        for member, st in self._member_stats.items():
            for k in ("pass_rate", "error_rate", "total"):
                out[f"{p}/{member}/{k}"] = float(st.as_dict()[k])
        return out

    # -- judging ------------------------------------------------------------------------------
    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        per_member = self._run_members(samples)
        results = [self._combine(i, per_member) for i in range(len(samples))]
        self._count_members(per_member, results)
        return results

    def _run_members(self, samples: Sequence[Sample]) -> list[list[JudgeResult]]:
        if len(self.judges) == 1:
            return [self._run_one(0, samples)]
        with ThreadPoolExecutor(
            max_workers=len(self.judges), thread_name_prefix="cgpo-moj"
        ) as pool:
            futures = [pool.submit(self._run_one, k, samples) for k in range(len(self.judges))]
            return [f.result() for f in futures]

    def _run_one(self, k: int, samples: Sequence[Sample]) -> list[JudgeResult]:
        name = self.member_names[k]
        member = self.judges[k]
        explain = getattr(member, "explain", None)
        try:
            # `explain` when the member has one (its reasons are worth logging), else `judge`.
            raw = list(explain(samples) if callable(explain) else member.judge(samples))
        except CgpoError as e:
            e.add_note(f"(raised by judge {name!r} of the mixture {self.name!r})")
            raise
        except Exception as e:
            raise JudgeInternalError(
                f"judge {name!r} of the mixture {self.name!r} raised {type(e).__name__}: {e}"
            ) from e
        if len(raw) != len(samples):
            raise JudgeInternalError(
                f"judge {name!r} returned {len(raw)} results for {len(samples)} samples"
            )
        return [_as_result(name, i, r) for i, r in enumerate(raw)]

    def _combine(self, i: int, per_member: list[list[JudgeResult]]) -> JudgeResult:
        members = {n: res[i] for n, res in zip(self.member_names, per_member, strict=True)}
        violated_by = [n for n, r in members.items() if r.verdict == Verdict.VIOLATED]
        errored = [n for n, r in members.items() if r.verdict == Verdict.ERROR]
        details: dict[str, Any] = {
            "members": members,
            "violated_by": violated_by,
            "errored": errored,
        }
        if errored and self.on_error == "raise":
            first = errored[0]
            r = members[first]
            raise JudgeInternalError(
                f"sample {i}: judge {first!r} of the mixture {self.name!r} returned ERROR "
                f"(reason {r.reason!r}{_detail_suffix(r)}); on_error='raise'"
            )
        if errored and self.on_error == "skip":
            return JudgeResult(Verdict.ERROR, "error", details)
        if violated_by:
            return JudgeResult(Verdict.VIOLATED, "violated", details)
        if errored:  # on_error == "violate"
            return JudgeResult(Verdict.VIOLATED, "error_as_violated", details)
        return JudgeResult(Verdict.SATISFIED, "ok", details)

    def _count_members(
        self, per_member: list[list[JudgeResult]], results: list[JudgeResult]
    ) -> None:
        with self._mixture_lock:
            for name, res in zip(self.member_names, per_member, strict=True):
                st = self._member_stats[name]
                for r in res:
                    st.total += 1
                    if r.verdict == Verdict.SATISFIED:
                        st.satisfied += 1
                    elif r.verdict == Verdict.VIOLATED:
                        st.violated += 1
                    else:
                        st.errors += 1
            self._errors_as_violated += sum(r.reason == "error_as_violated" for r in results)

    def __repr__(self) -> str:
        members = ", ".join(self.member_names)
        return f"MixtureOfJudges([{members}], on_error={self.on_error!r})"


def _as_result(name: str, i: int, r: object) -> JudgeResult:
    """A member's answer for sample ``i`` as a JudgeResult; a bare Verdict gets a generic reason."""
    if isinstance(r, JudgeResult) and r.verdict in (-1, 0, 1):
        return r
    if isinstance(r, Verdict):
        return JudgeResult(r, r.name.lower())
    raise JudgeInternalError(
        f"judge {name!r}: sample {i}: expected a Verdict or a JudgeResult with a Verdict, got {r!r}"
    )


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _detail_suffix(r: JudgeResult) -> str:
    detail = r.details.get("detail") if isinstance(r.details, dict) else None
    return f": {detail}" if detail else ""
