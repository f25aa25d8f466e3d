"""A task's prompts: loading (JSONL, Hugging Face datasets, built-in sets), checking the columns the
judges need, and a resumable sampler.

Plain Python (no torch): the command line checks a config's data before any model is loaded.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cgpo import tasks as builtin
from cgpo.algorithms.base import get_algorithm
from cgpo.config.task import Task
from cgpo.errors import ConfigError
from cgpo.rollout.judging import check_task_judges


@dataclass(frozen=True)
class PromptRecord:
    """One prompt of a task: chat messages, the metadata its judges read, an optional baseline."""

    index: int
    messages: tuple[Mapping[str, str], ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    baseline: str | None = None

    @property
    def prompt(self) -> str:
        """The user's text (what a judge sees as ``Sample.prompt``)."""
        users = [m["content"] for m in self.messages if m.get("role") == "user"]
        return users[-1] if users else self.messages[-1]["content"]


def load_rows(task: Task) -> list[Mapping[str, Any]]:
    """Reads the raw rows of ``task.data`` (see :class:`cgpo.Task` for the accepted forms)."""
    data = task.data
    where = f"task {task.name!r}.data"
    rows: list[Mapping[str, Any]]
    if isinstance(data, str):
        if data.startswith("builtin:"):
            rows = list(builtin.builtin_rows(data[len("builtin:") :], where))
        else:
            rows = _load_path_or_hub(data, task.data_split, where)
    elif isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        rows = list(data)
    elif hasattr(data, "column_names") and hasattr(data, "__getitem__"):  # a datasets.Dataset
        rows = [dict(r) for r in data]
    else:
        raise ConfigError(
            f"{where}: expected a JSONL path, builtin:NAME, a dataset name or a list of dicts, "
            f"got {type(data).__name__}"
        )
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping):
            raise ConfigError(f"{where}: row {i} is a {type(r).__name__}, expected a mapping")
    if not rows:
        raise ConfigError(f"{where}: the data has no rows")
    if task.max_prompts is not None:
        rows = rows[: task.max_prompts]
    return rows


def _load_path_or_hub(data: str, split: str, where: str) -> list[Mapping[str, Any]]:
    path = Path(data)
    if path.suffix in (".jsonl", ".json") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"{where}: file {data!r} does not exist")
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ConfigError(f"{where}: {data}:{n} is not valid JSON ({e.msg})") from None
        return rows
    try:
        import datasets
    except ImportError:
        raise ConfigError(
            f"{where}: {data!r} is not a file and `datasets` is not installed"
        ) from None
    try:
        if path.is_dir():
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[split]
        else:
            ds = datasets.load_dataset(data, split=split)
    except Exception as e:  # datasets raises many unrelated types for "not found offline"
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(
            f"{where}: cannot load dataset {data!r} split {split!r}: {first}"
        ) from None
    return [dict(r) for r in ds]


def build_prompts(
    task: Task, rows: Sequence[Mapping[str, Any]], required_metadata: Sequence[str] = ()
) -> list[PromptRecord]:
    """Turns rows into :class:`PromptRecord`, checking every column the task and its judges need."""
    where = f"task {task.name!r}"
    first = rows[0]
    if task.messages_column in first:
        text_col = task.messages_column
    elif task.prompt_column in first:
        text_col = task.prompt_column
    else:
        raise ConfigError(
            f"{where}.prompt_column: the data has neither a {task.prompt_column!r} nor a "
            f"{task.messages_column!r} column; columns: {', '.join(sorted(first))}"
        )
    meta_cols = (
        list(task.metadata_columns)
        if task.metadata_columns is not None
        else [c for c in first if c not in (text_col, task.baseline_column)]
    )
    for key in required_metadata:
        if key not in meta_cols:
            raise ConfigError(
                f"{where}.metadata_columns: the judges need the metadata column {key!r}; "
                f"available columns: {', '.join(sorted(first))}"
            )
    out = []
    for i, r in enumerate(rows):
        for col in [text_col, *meta_cols] + (
            [task.baseline_column] if task.baseline_column else []
        ):
            if col not in r:
                raise ConfigError(f"{where}: row {i} is missing the column {col!r}")
        messages = _messages(r[text_col], task, i)
        baseline = r[task.baseline_column] if task.baseline_column else None
        if baseline is not None and not isinstance(baseline, str):
            raise ConfigError(f"{where}: row {i} column {task.baseline_column!r} must be a string")
        out.append(PromptRecord(i, messages, {c: r[c] for c in meta_cols}, baseline))
    return out


def _messages(value: Any, task: Task, i: int) -> tuple[Mapping[str, str], ...]:
    if isinstance(value, str):
        msgs: list[Mapping[str, str]] = [{"role": "user", "content": value}]
    elif (
        isinstance(value, Sequence)
        and all(
            isinstance(m, Mapping)
            and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str)
            for m in value
        )
        and value
    ):
        msgs = [{"role": m["role"], "content": m["content"]} for m in value]
    else:
        raise ConfigError(
            f"task {task.name!r}: row {i}: a prompt must be a string or a non-empty list of "
            "{'role', 'content'} messages"
        )
    if task.system_prompt and msgs[0]["role"] != "system":
        msgs.insert(0, {"role": "system", "content": task.system_prompt})
    return tuple(msgs)


def prepare_tasks(tasks: Sequence[Task]) -> list[tuple[Task, list[PromptRecord]]]:
    """Loads every task's prompts and checks its judges and metadata columns (no model, no
    torch: the command line calls this first)."""
    out = []
    for t in tasks:
        needed = check_task_judges(t) + get_algorithm(t.algorithm).required_columns(t)
        out.append((t, build_prompts(t, load_rows(t), needed)))
    return out


def stable_seed(*parts: object) -> int:
    """A seed from values, stable across processes (Python's ``hash`` of a str is not)."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode())


class PromptSampler:
    """Draws B prompts per step without replacement, epoch by epoch, in a seeded order.

    The order of epoch e is a permutation seeded by (seed, task name, e), so the whole state is
    (epoch, position): :meth:`state_dict` is all a checkpoint needs to continue exactly.
    """

    def __init__(self, n: int, seed: int, name: str) -> None:
        self.n, self.seed, self.name = n, seed, name
        self.epoch, self.position = 0, 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng(stable_seed(self.seed, self.name, epoch)).permutation(self.n)

    def next(self, b: int) -> list[int]:
        out: list[int] = []
        while len(out) < b:
            if self.position == self.n:
                self.epoch, self.position = self.epoch + 1, 0
                self._order = self._permutation(self.epoch)
            take = min(b - len(out), self.n - self.position)
            out.extend(int(x) for x in self._order[self.position : self.position + take])
            self.position += take
        return out

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = self._permutation(self.epoch)
