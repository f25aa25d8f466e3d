"""A judge on a pool of Ray actors, for judging that needs more CPUs than one machine has.

``RayJudge({"type": "code", "timeout_s": 5}, num_actors=8)`` starts eight Ray actors, each
holding the judge that the config mapping describes (the same mapping as in YAML, see
:mod:`cgpo.judges.registry`), and is itself a judge: a batch is split into one contiguous part
per actor, the parts are judged at the same time, and the verdicts come back in input order.
In a YAML config any judge runs this way with ``ray: {num_actors: 8, address: auto}``.

An actor that dies (its process killed, out of memory) is restarted by Ray and its part of the
batch is retried once on the restarted actor; if that dies too, those samples come back as
``Verdict.ERROR`` with reason ``actor_died``: never lost, never a silent 0. Bad input raises
:class:`cgpo.InvalidInputError` naming the sample's index in the whole batch, as the in-process
judge does. Ray is an optional dependency: ``pip install 'cgpo[ray]'``.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from cgpo.errors import ConfigError, InvalidInputError, JudgeInternalError
from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict
from cgpo.judges.batching import renumber, split_evenly
from cgpo.judges.registry import create_judge, judge_factory, register_judge

__all__ = ["JudgeActor", "RayJudge"]


def judge_types(spec: Mapping[str, Any]) -> set[str]:
    """The judge type names a config uses, members of a mixture included."""
    names = {str(spec.get("type"))}
    members = spec.get("judges")
    if isinstance(members, Sequence) and not isinstance(members, (str, bytes)):
        for m in members:
            if isinstance(m, Mapping):
                names |= judge_types(m)
    return names


class JudgeActor:
    """What runs inside one Ray actor: a judge built from a config, and its ``explain``.

    Judge types registered in the driver are registered here too, so a judge the user wrote
    and registered works on the actors as it does in process.
    """

    def __init__(self, spec: Mapping[str, Any], factories: Mapping[str, Any]) -> None:
        self.build_error: str | None = None
        self.judge: Any = None
        try:
            for name, factory in factories.items():
                register_judge(name, factory, overwrite=True)
            self.judge = create_judge(spec)
        except Exception as e:  # reported to the driver by `error()`, which raises it there
            self.build_error = f"{type(e).__name__}: {e}"

    def error(self) -> str | None:
        return self.build_error

    def explain(self, samples: list[Sample]) -> tuple[str, Any]:
        """``("ok", results)``, or ``(kind, message)`` for an exception, which the driver
        raises again with the sample's index in the whole batch."""
        try:
            return "ok", self.judge.explain(samples)
        except InvalidInputError as e:
            return "invalid_input", str(e)
        except Exception as e:
            return "judge_error", f"{type(e).__name__}: {e}"

    def close(self) -> None:
        close = getattr(self.judge, "close", None)
        if callable(close):
            close()


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ConfigError(
            "RayJudge needs Ray, which is not installed: pip install 'cgpo[ray]'"
        ) from e
    return ray


def _kill_all(ray: Any, actors: list[Any]) -> None:
    if not ray.is_initialized():
        return
    for a in actors:
        try:
            ray.kill(a)
        except Exception:  # already gone, or Ray is shutting down: nothing left to stop
            pass


class RayJudge(BaseJudge):
    """The judge ``spec`` describes, run on ``num_actors`` Ray actors (the judge API).

    Parameters
    ----------
    spec:
        A judge config mapping as in YAML: ``{"type": "math"}``, ``{"type": "code",
        "timeout_s": 5}``, a mixture, or a type registered with
        :func:`cgpo.judges.register_judge`.
    num_actors:
        Actors in the pool; a batch is split evenly across them.
    address:
        Passed to ``ray.init`` when Ray is not initialised in this process yet: ``None``
        starts a local Ray instance, ``"auto"`` or ``"ray://host:10001"`` joins a cluster.
    num_cpus:
        CPUs Ray reserves for each actor when it places them.
    start_timeout_s:
        How long the actors may take to start (Ray waits for free CPUs to place them); past
        it the judge raises :class:`cgpo.ConfigError` instead of waiting forever.

    Examples
    --------
    >>> import ray
    >>> from cgpo.judges import RayJudge, Sample
    >>> ray.init(num_cpus=2)  # doctest: +SKIP
    >>> judge = RayJudge({"type": "math"}, num_actors=2)  # doctest: +SKIP
    >>> judge.judge([Sample("", r"\\boxed{2}", {"answer": "2"})])  # doctest: +SKIP
    [<Verdict.SATISFIED: 1>]
    """

    def __init__(
        self,
        spec: Mapping[str, Any],
        num_actors: int = 2,
        address: str | None = None,
        *,
        num_cpus: float = 1.0,
        start_timeout_s: float = 300.0,
    ) -> None:
        super().__init__()
        if not isinstance(spec, Mapping) or "type" not in spec:
            raise ConfigError(
                "RayJudge: `spec` must be a judge config mapping with a 'type', "
                f"e.g. {{'type': 'math'}}, got {spec!r}"
            )
        if "ray" in spec:
            raise ConfigError("RayJudge: `spec` must not itself carry a 'ray' entry")
        if not isinstance(num_actors, int) or isinstance(num_actors, bool) or num_actors < 1:
            raise ConfigError(f"RayJudge: `num_actors` must be a positive int, got {num_actors!r}")
        if address is not None and not isinstance(address, str):
            raise ConfigError(f"RayJudge: `address` must be a string or None, got {address!r}")
        if not isinstance(num_cpus, (int, float)) or isinstance(num_cpus, bool) or num_cpus < 0:
            raise ConfigError(f"RayJudge: `num_cpus` must be a number >= 0, got {num_cpus!r}")
        self.spec = dict(spec)
        self.name = str(spec["type"])
        self.num_actors = num_actors
        factories = {n: judge_factory(n) for n in judge_types(spec)}
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=address)
        # Ray restarts a dead actor and runs its pending task once more on the new one.
        actor_class = ray.remote(JudgeActor).options(
            num_cpus=num_cpus, max_restarts=-1, max_task_retries=1
        )
        self._actors = [actor_class.remote(self.spec, factories) for _ in range(num_actors)]
        self._finalizer = weakref.finalize(self, _kill_all, ray, list(self._actors))
        try:
            started = ray.get([a.error.remote() for a in self._actors], timeout=start_timeout_s)
        except ray.exceptions.GetTimeoutError:
            self._finalizer()
            free = ray.available_resources().get("CPU", 0)
            raise ConfigError(
                f"RayJudge: {num_actors} actors of {num_cpus} CPU each did not start within "
                f"{start_timeout_s} s; the Ray cluster has {free} CPUs free (close other "
                "RayJudges, lower num_actors or num_cpus, or add nodes)"
            ) from None
        errors = [e for e in started if e]
        if errors:
            self.close()
            raise ConfigError(f"RayJudge: the judge {self.spec!r} cannot be built: {errors[0]}")

    def close(self) -> None:
        """Stops the actors (and the judges they hold)."""
        ray = _ray()
        if ray.is_initialized():
            try:
                ray.get([a.close.remote() for a in self._actors])
            except Exception:  # an actor already gone has nothing to close
                pass
        self._finalizer()

    def __enter__(self) -> RayJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        ray = _ray()
        parts = split_evenly(len(samples), len(self._actors))
        refs = [
            actor.explain.remote(list(samples[a:b]))
            for actor, (a, b) in zip(self._actors, parts, strict=False)
        ]
        out: list[JudgeResult] = []
        for (start, stop), ref in zip(parts, refs, strict=True):
            try:
                kind, payload = ray.get(ref)
            except ray.exceptions.RayActorError as e:
                lost = JudgeResult(Verdict.ERROR, "actor_died", {"error": str(e)[:1000]})
                out.extend([lost] * (stop - start))
                continue
            if kind == "invalid_input":
                raise InvalidInputError(renumber(payload, start))
            if kind != "ok":
                raise JudgeInternalError(f"RayJudge({self.name}): {renumber(payload, start)}")
            if len(payload) != stop - start:
                raise JudgeInternalError(
                    f"RayJudge({self.name}): an actor returned {len(payload)} results "
                    f"for {stop - start} samples"
                )
            out.extend(payload)
        return out

    def __repr__(self) -> str:
        return f"RayJudge({self.spec!r}, num_actors={self.num_actors})"
