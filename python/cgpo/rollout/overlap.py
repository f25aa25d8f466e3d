"""Judging off the critical path: responses are judged on a worker thread as they finish, while
the policy keeps generating the others.

The rule judges run in Rust without the GIL (and a code judge mostly waits on its sandboxes), so
with a slow judge a step costs about max(generation, judging) instead of their sum. The worker
takes every response that has arrived since its last call as one batch, so the judges still see
batches to spread over their threads.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

_DONE = object()


class BackgroundJudging:
    """Runs ``judge(samples) -> verdicts`` on a worker thread over rows submitted as they finish.

    Parameters
    ----------
    judge
        A batch judge (a Mixture of Judges' ``judge``): one verdict per sample, in order.
    num_rows
        N, the rows of the step; each must be submitted exactly once before :meth:`results`.
    """

    def __init__(self, judge: Callable[[Sequence[Any]], Sequence[Any]], num_rows: int) -> None:
        self._judge = judge
        self._verdicts: list[Any] = [None] * num_rows
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self.busy_s = 0.0  # seconds the worker spent inside ``judge``
        self._thread = threading.Thread(target=self._work, name="cgpo-judging", daemon=True)
        self._thread.start()

    def submit(self, rows: Sequence[int], samples: Sequence[Any]) -> None:
        """Queues finished rows (indices into the step's N rows) and their samples."""
        self._queue.put((list(rows), list(samples)))

    def _work(self) -> None:
        stop = False
        while not stop:
            items = [self._queue.get()]
            while True:  # everything that arrived meanwhile joins the batch
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(it is _DONE for it in items)
            rows = [r for it in items if it is not _DONE for r in it[0]]
            samples = [s for it in items if it is not _DONE for s in it[1]]
            if not samples or self._error is not None:
                continue
            t0 = time.perf_counter()
            try:
                verdicts = list(self._judge(samples))
                for r, v in zip(rows, verdicts, strict=True):
                    self._verdicts[r] = v
            except BaseException as e:  # handed to the caller by results()
                self._error = e
            finally:
                self.busy_s += time.perf_counter() - t0

    def close(self) -> None:
        """Lets the worker finish what it has and stop (safe to call twice)."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()

    def __enter__(self) -> BackgroundJudging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def results(self) -> list[Any]:
        """Waits for the worker and returns one verdict per row, in row order."""
        self.close()
        if self._error is not None:
            raise self._error
        missing = [i for i, v in enumerate(self._verdicts) if v is None]
        if missing:
            raise RuntimeError(f"rows {missing[:5]} were never submitted for judging")
        return self._verdicts


def generate_and_judge(
    generator: Any,
    mixture: Any,
    batch: Any,
    settings: Any,
    *,
    use_judges: bool = True,
) -> dict[str, float]:
    """The generation and judging stages of a :class:`~cgpo.rollout.batch.RolloutBatch`, overlapped:
    fills ``batch.rollout``, ``batch.verdicts`` and ``batch.update_verdicts`` (as
    :func:`cgpo.rollout.judging.judge_batch` does) and returns the times: ``generation``,
    ``judges`` (the judges' busy time) and ``judges_wait`` (what was left after generation).

    A generator whose ``generate`` takes ``on_finished`` hands over each response as it ends;
    another one's responses are judged after it returns.
    """
    import inspect

    import numpy as np

    from cgpo.judges.base import Sample

    k = batch.samples_per_prompt
    n = len(batch.prompts) * k
    tokenizer: Any = getattr(generator, "tokenizer", None)

    def submit(rows: list[int], texts: list[str]) -> None:
        samples = [
            Sample(batch.prompts[j // k], text, batch.metadata[j // k])
            for j, text in zip(rows, texts, strict=True)
        ]
        judging.submit(rows, samples)

    def on_finished(rows: list[int], token_ids: list[list[int]]) -> None:
        submit(rows, tokenizer.batch_decode(token_ids, skip_special_tokens=True))

    params = inspect.signature(generator.generate).parameters
    streams = tokenizer is not None and "on_finished" in params
    t0 = time.perf_counter()
    with BackgroundJudging(mixture.judge, n) as judging:
        if streams:
            batch.rollout = generator.generate(batch.prompt_texts, k, settings, on_finished)
        else:
            batch.rollout = generator.generate(batch.prompt_texts, k, settings)
            submit(list(range(n)), batch.rollout.texts)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        verdicts = np.array([int(v) for v in judging.results()], dtype=np.int64)
    t_wait = time.perf_counter() - t0
    batch.verdicts = verdicts
    batch.update_verdicts = verdicts if use_judges else np.ones_like(verdicts)
    return {"generation": t_gen, "judges": judging.busy_s, "judges_wait": t_wait}
