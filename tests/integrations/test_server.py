"""The reward server (``cgpo serve``) on 127.0.0.1 and a free port: /health, /judge, OpenRLHF's
/get_reward; 400 for malformed JSON, 422 naming the sample and the key, 500 for a broken judge,
and it keeps serving; concurrent requests get their own answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import uvicorn

import cgpo
from cgpo.commands.serve import bind
from cgpo.integrations.server import create_app
from cgpo.judges import CodeJudge, InstructionJudge, JudgeResult, MathJudge, Sample, Verdict
from cgpo.judges.base import BaseJudge

Post = Callable[..., tuple[int, Any]]


def request(url: str, body: bytes | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class Boom(BaseJudge):
    """Breaks (raises) on the completion "boom", like a judge with a bug."""

    name = "boom"

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        if any(s.completion == "boom" for s in samples):
            raise RuntimeError("kaboom")
        return [JudgeResult(Verdict.SATISFIED, "ok") for _ in samples]


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[[Any], str]]:
    """Starts a server for a judge on 127.0.0.1 (a free port) and returns its base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(judge: Any) -> str:
        sock = bind("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(create_app(judge), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def math_url(serve: Callable[[Any], str]) -> str:
    return serve(MathJudge())


def post(url: str, obj: Any) -> tuple[int, Any]:
    return request(url, json.dumps(obj).encode())


def test_health(math_url: str) -> None:
    status, body = request(f"{math_url}/health")
    assert status == 200 and body["status"] == "ok" and body["judge"] == "math"


def test_judge_endpoint_matches_the_judge(math_url: str) -> None:
    rows = [
        {"prompt": "1+1", "completion": r"\boxed{2}", "metadata": {"answer": "2"}},
        {"prompt": "1+1", "completion": "#### 3", "metadata": {"answer": 2}},
        {"prompt": "1+1", "completion": "two", "metadata": {"answer": "2"}},
    ]
    status, body = post(f"{math_url}/judge", {"samples": rows})
    want = MathJudge().explain([Sample(r["prompt"], r["completion"], r["metadata"]) for r in rows])
    assert status == 200
    assert body == {"verdicts": [int(r.verdict) for r in want], "reasons": [r.reason for r in want]}
    assert body["verdicts"] == [1, 0, 0]


def test_get_reward_math(math_url: str) -> None:
    prompts = ["<s>Q: 1+1? A:", "<s>Q: 2+2? A:", "<s>Q: 3+3? A:"]
    answers = [r" \boxed{2}", " #### 5", " I think 6"]
    status, body = post(
        f"{math_url}/get_reward",
        {
            "query": [p + a for p, a in zip(prompts, answers, strict=True)],
            "prompts": prompts,
            "labels": ["2", "4", "6"],
        },
    )
    assert status == 200
    assert body["rewards"] == [1.0, 0.0, 0.0]
    assert body["reasons"] == ["equivalent", "not_equivalent", "no_answer"]


def test_get_reward_without_prompts_judges_the_whole_query(math_url: str) -> None:
    status, body = post(f"{math_url}/get_reward", {"query": [r"\boxed{7}"], "labels": [7]})
    assert (status, body["rewards"]) == (200, [1.0])


def test_get_reward_instructions_and_code(serve: Callable[[Any], str]) -> None:
    spec = {"instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]}
    url = serve(InstructionJudge())
    status, body = post(
        f"{url}/get_reward",
        {
            "query": ["P: all lower.", "P: Not Lower."],
            "prompts": ["P:", "P:"],
            "labels": [json.dumps(spec), spec],
        },
    )
    assert (status, body["rewards"]) == (200, [1.0, 0.0])
    code = CodeJudge(timeout_s=5, workers=1)
    url = serve(code)
    program = "```python\ndef inc(x):\n    return x + 1\n```"
    status, body = post(
        f"{url}/get_reward",
        {
            "query": ["Write inc.\n" + program] * 2,
            "prompts": ["Write inc.\n"] * 2,
            "labels": ["assert inc(1) == 2", "assert inc(1) == 3"],
        },
    )
    assert (status, body["rewards"], body["reasons"]) == (200, [1.0, 0.0], ["pass", "fail"])
    code.close()  # later tests count the sandbox's processes


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"samples": [', 400, "malformed JSON"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "malformed JSON: nested too deeply"),
        (b'{"samples": "\xff\xfe"}', 400, "malformed JSON"),
        (b"[1, 2]", 400, "the body must be a JSON object"),
        (b'{"samples": 3}', 422, "`samples` must be a list"),
        (b'{"samples": [{"prompt": "p"}]}', 422, "sample 0: `completion` must be a string"),
        (
            b'{"samples": [{"prompt": "", "completion": "#### 1", "metadata": {"answer": "1"}},'
            b' {"prompt": "", "completion": "#### 1", "metadata": {}}]}',
            422,
            "sample 1: metadata is missing the key 'answer'",
        ),
        (
            b'{"samples": [{"prompt": "", "completion": "1", "metadata": {"answer": []}}]}',
            422,
            "sample 0: metadata['answer'] must be",
        ),
    ],
)
def test_bad_judge_requests(math_url: str, body: bytes, status: int, message: str) -> None:
    got, reply = request(f"{math_url}/judge", body)
    assert got == status and message in reply["error"]
    assert request(f"{math_url}/health")[0] == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": "x"}, "`query` must be a list of strings"),
        ({"query": ["a", 3]}, "sample 1: `query[1]` must be a string"),
        ({"query": ["a"], "prompts": ["a", "b"], "labels": ["1"]}, "`prompts` has 2 entries"),
        ({"query": ["a", "b"], "labels": ["1"]}, "`labels` must be a list of 2 labels"),
        (
            {"query": ["a", "b"], "prompts": ["a", "zz"], "labels": ["1", "1"]},
            "sample 1: `query[1]` does not contain `prompts[1]`",
        ),
        ({"query": ["a", "b"], "labels": ["1", [2]]}, "sample 1: `labels[1]` must be"),
        ({"query": ["a", "b"], "labels": ["1", {}]}, "sample 1: metadata is missing the key"),
    ],
)
def test_bad_reward_requests(math_url: str, body: Any, message: str) -> None:
    status, reply = post(f"{math_url}/get_reward", body)
    assert status == 422 and message in reply["error"]


def test_a_broken_judge_fails_the_request_not_the_server(serve: Callable[[Any], str]) -> None:
    url = serve(Boom())
    row = {"prompt": "", "completion": "boom", "metadata": {}}
    status, reply = post(f"{url}/judge", {"samples": [row]})
    assert status == 500 and "RuntimeError: kaboom" in reply["error"]
    row["completion"] = "\ud800 fine"
    assert post(f"{url}/judge", {"samples": [row]}) == (200, {"verdicts": [1], "reasons": ["ok"]})
    assert request(f"{url}/health")[0] == 200


def test_concurrent_requests_get_their_own_answers(math_url: str) -> None:
    # Each request has its own answers and its own pattern of right and wrong ones, so a
    # response that went to the wrong request, or lost or swapped a sample, shows.
    def one(k: int) -> tuple[int, list[float]]:
        answers = [str(k * 100 + j) for j in range(20)]
        completions = [
            rf"\boxed{{{a}}}" if (k + j) % 3 else "#### -1" for j, a in enumerate(answers)
        ]
        status, body = post(f"{math_url}/get_reward", {"query": completions, "labels": answers})
        return status, body["rewards"]

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(one, range(64)))
    assert got == [(200, [float((k + j) % 3 != 0) for j in range(20)]) for k in range(64)]


def test_cgpo_serve_command(tmp_path: Path) -> None:
    config = tmp_path / "judge.yaml"
    config.write_text("type: mixture\njudges:\n  - type: math\n  - type: math\n", encoding="utf-8")
    package_root = str(Path(cgpo.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cgpo.cli",
            "serve",
            "--judge",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "cgpo serve: judge 'moj' on http://127.0.0.1:" in line, line
        url = line.split(" on ")[1].split(" ")[0]
        assert request(f"{url}/health")[1]["judge"] == "moj"
        status, body = post(
            f"{url}/get_reward", {"query": ["#### 4"], "labels": ['{"answer": "4"}']}
        )
        assert (status, body["rewards"]) == (200, [1.0])
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_cgpo_serve_bad_judge(capsys: pytest.CaptureFixture[str]) -> None:
    from cgpo.cli import main

    assert main(["serve", "--judge", "chess"]) == 2
    assert "neither a judge name" in capsys.readouterr().err
    assert main(["serve", "--judge", "nope.yaml"]) == 2
    assert "cannot read nope.yaml" in capsys.readouterr().err
