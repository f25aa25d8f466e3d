"""Judging on a worker thread while generation goes on (cgpo.rollout.overlap)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from tiny_models import chat_prompt  # noqa: E402

from cgpo.rollout.generation import encode_prompts  # noqa: E402
from cgpo.rollout.overlap import BackgroundJudging  # noqa: E402
from cgpo.rollout.sampler import sample  # noqa: E402


def test_verdicts_come_back_in_row_order() -> None:
    batches: list[list[str]] = []

    def judge(samples: Sequence[str]) -> list[str]:
        batches.append(list(samples))
        return [s.upper() for s in samples]

    with BackgroundJudging(judge, 4) as bj:
        bj.submit([2, 0], ["c", "a"])
        bj.submit([3], ["d"])
        bj.submit([1], ["b"])
        assert bj.results() == ["A", "B", "C", "D"]
    assert sorted(s for b in batches for s in b) == ["a", "b", "c", "d"]
    assert bj.busy_s >= 0.0


def test_a_judge_error_reaches_the_caller() -> None:
    def judge(samples: Sequence[str]) -> list[str]:
        raise ValueError("judge broke")

    bj = BackgroundJudging(judge, 1)
    bj.submit([0], ["x"])
    with pytest.raises(ValueError, match="judge broke"):
        bj.results()


def test_a_wrong_verdict_count_is_an_error() -> None:
    bj = BackgroundJudging(lambda s: [], 1)
    bj.submit([0], ["x"])
    with pytest.raises(ValueError):
        bj.results()


def test_a_row_never_submitted_is_an_error() -> None:
    bj = BackgroundJudging(lambda s: list(s), 2)
    bj.submit([0], ["x"])
    with pytest.raises(RuntimeError, match=r"rows \[1\]"):
        bj.results()


def test_judging_starts_while_rows_are_still_generating(
    tiny_model: Any, tiny_tokenizer: Any
) -> None:
    started = threading.Event()
    still_running: list[bool] = []
    n = 6

    def judge(samples: Sequence[Any]) -> list[int]:
        started.set()
        return [1] * len(samples)

    ids, mask = encode_prompts(tiny_tokenizer, [chat_prompt(tiny_tokenizer)], torch.device("cpu"))
    eos = list(range(1, len(tiny_tokenizer), 2))  # odd ids end a row: rows end at varied steps
    finished = 0
    with BackgroundJudging(judge, n) as bj:

        def on_finished(rows: list[int], tokens: list[list[int]]) -> None:
            nonlocal finished
            finished += len(rows)
            bj.submit(rows, tokens)
            if not started.is_set() and finished < n:
                # generation waits here until the worker has begun judging these rows: were
                # judging to start only after generation, this wait would time out
                still_running.append(started.wait(timeout=60))

        torch.manual_seed(0)
        sample(
            tiny_model,
            ids,
            mask,
            n,
            max_new_tokens=40,
            eos_ids=eos,
            pad_id=0,
            on_finished=on_finished,
        )
        assert bj.results() == [1] * n
    assert still_running and all(still_running)
