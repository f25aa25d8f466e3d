"""The reward server behind ``cgpo serve``: a judge over HTTP (FastAPI).

Endpoints:

``GET /health``
    ``{"status": "ok", "judge": NAME, "stats": {...}}``.
``POST /judge``
    ``{"samples": [{"prompt", "completion", "metadata"}]}`` ->
    ``{"verdicts": [1|0|-1, ...], "reasons": [...]}``.
``POST /get_reward``
    OpenRLHF's remote reward protocol: ``{"query": [...], "prompts": [...], "labels": [...]}``
    -> ``{"rewards": [...]}`` (plus ``verdicts`` and ``reasons``). The completion is the query
    after its prompt (the whole query when no prompts are sent); the label is the judge's gold:
    the math answer, the code tests, or a JSON object of metadata (an IFEval spec
    ``{"instruction_id_list", "kwargs"}``, or any judge's metadata keys).

Malformed JSON gets HTTP 400; a request the judge cannot take (a sample missing a metadata
key, a wrong type) gets 422 with ``{"error": "sample 3: metadata is missing the key
'answer'"}``; a judge that breaks gets 500. None of them stops the server. Requests are judged
concurrently on a thread pool (the Rust judges release the GIL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from cgpo.errors import InvalidInputError
from cgpo.judges.base import Judge, JudgeResult, JudgeStats, Sample, Verdict

__all__ = ["create_app", "label_key_of", "label_metadata"]


class BadRequest(Exception):
    """A request that cannot be judged: HTTP ``status`` with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def label_key_of(judge: Judge) -> str | None:
    """The metadata key a plain-text label fills: the math answer or the code tests."""
    if judge.name == "math":
        return str(getattr(judge, "answer_key", "answer"))
    if judge.name == "code":
        return "tests"
    return None


def label_metadata(label: Any, key: str | None, index: int) -> dict[str, Any]:
    """A sample's metadata from its OpenRLHF label (see the module docstring)."""
    if isinstance(label, dict):
        return label
    if isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            parsed = json.loads(label)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    if key is not None and isinstance(label, (str, int, float)) and not isinstance(label, bool):
        return {key: label}
    want = "a JSON object of metadata" if key is None else f"the {key!r} or a JSON object"
    raise BadRequest(422, f"sample {index}: `labels[{index}]` must be {want}, got {label!r:.80}")


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body)
    except RecursionError:
        raise BadRequest(400, "malformed JSON: nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not text
        raise BadRequest(400, f"malformed JSON: {e}") from None
    if not isinstance(obj, dict):
        raise BadRequest(400, f"the body must be a JSON object, got {type(obj).__name__}")
    return obj


def string_list(obj: Mapping[str, Any], key: str, n: int | None = None) -> list[str]:
    values = obj.get(key)
    if not isinstance(values, list):
        raise BadRequest(422, f"`{key}` must be a list of strings")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise BadRequest(422, f"sample {i}: `{key}[{i}]` must be a string, got {v!r:.80}")
    if n is not None and len(values) != n:
        raise BadRequest(422, f"`{key}` has {len(values)} entries for {n} queries")
    return values


def judge_samples(obj: Mapping[str, Any]) -> list[Sample]:
    """The samples of a ``/judge`` request."""
    rows = obj.get("samples")
    if not isinstance(rows, list):
        raise BadRequest(422, "`samples` must be a list of {prompt, completion, metadata}")
    samples = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BadRequest(422, f"sample {i}: must be an object, got {type(row).__name__}")
        for key in ("prompt", "completion"):
            if not isinstance(row.get(key), str):
                raise BadRequest(422, f"sample {i}: `{key}` must be a string")
        metadata = row.get("metadata", {})
        if not isinstance(metadata, dict):
            raise BadRequest(422, f"sample {i}: `metadata` must be an object")
        samples.append(Sample(row["prompt"], row["completion"], metadata))
    return samples


def reward_samples(obj: Mapping[str, Any], key: str | None) -> list[Sample]:
    """The samples of a ``/get_reward`` request (OpenRLHF's remote reward protocol)."""
    queries = string_list(obj, "query")
    n = len(queries)
    prompts = string_list(obj, "prompts", n) if obj.get("prompts") is not None else [""] * n
    labels = obj.get("labels")
    if labels is None:
        labels = [{}] * n
    if not isinstance(labels, list) or len(labels) != n:
        raise BadRequest(422, f"`labels` must be a list of {n} labels, one per query")
    samples = []
    for i, (q, p, label) in enumerate(zip(queries, prompts, labels, strict=True)):
        at = q.find(p)
        if at < 0:
            raise BadRequest(422, f"sample {i}: `query[{i}]` does not contain `prompts[{i}]`")
        samples.append(Sample(p, q[at + len(p) :], label_metadata(label, key, i)))
    return samples


def judged(judge: Judge, samples: list[Sample]) -> list[JudgeResult]:
    try:
        return judge.explain(samples)
    except InvalidInputError as e:
        raise BadRequest(422, str(e)) from None
    except Exception as e:  # a broken judge fails this request, never the server
        raise BadRequest(500, f"the judge failed: {type(e).__name__}: {e}") from None


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII characters escaped: a lone surrogate in a message cannot be encoded
    as UTF-8, as an escape it can."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


def create_app(judge: Judge, *, error_reward: float = 0.0) -> FastAPI:
    """The FastAPI application serving ``judge`` (``error_reward``: ``/get_reward``'s reward
    for a ``Verdict.ERROR``)."""
    app = FastAPI(title="cgpo reward server", docs_url=None, redoc_url=None)
    label_key = label_key_of(judge)
    values = {Verdict.SATISFIED: 1.0, Verdict.VIOLATED: 0.0, Verdict.ERROR: float(error_reward)}

    async def answer(request: Request, handle: Callable[[dict[str, Any]], Any]) -> JSONResponse:
        try:
            obj = parse_body(await request.body())
            return AsciiJSONResponse(await run_in_threadpool(handle, obj))
        except BadRequest as e:
            return AsciiJSONResponse({"error": e.message}, status_code=e.status)

    def judge_handler(obj: dict[str, Any]) -> dict[str, Any]:
        results = judged(judge, judge_samples(obj))
        return {
            "verdicts": [int(r.verdict) for r in results],
            "reasons": [r.reason for r in results],
        }

    def reward_handler(obj: dict[str, Any]) -> dict[str, Any]:
        results = judged(judge, reward_samples(obj, label_key))
        return {
            "rewards": [values[r.verdict] for r in results],
            "verdicts": [int(r.verdict) for r in results],
            "reasons": [r.reason for r in results],
        }

    @app.get("/health")
    def health() -> dict[str, Any]:
        stats = getattr(judge, "stats", None)
        return {
            "status": "ok",
            "judge": judge.name,
            "stats": stats.as_dict() if isinstance(stats, JudgeStats) else {},
        }

    @app.post("/judge")
    async def judge_endpoint(request: Request) -> JSONResponse:
        return await answer(request, judge_handler)

    @app.post("/get_reward")
    async def get_reward(request: Request) -> JSONResponse:
        return await answer(request, reward_handler)

    return app
