"""Held-out evaluation: each task's judge pass rate on prompts it never trains on, before and after.

Every task is scored on its evaluation split (for ``builtin:NAME`` data, the set's held-out split;
see :mod:`cgpo.tasks`), which must share no prompt with its training prompts. Responses are
greedy, so a change between the two evaluations is the policy's, not the sampler's, and every
response is judged by the task's Mixture of Judges. The before/after comparison is paired over
prompts (:func:`cgpo.stats.paired_change`: Newcombe's paired score interval).

Files written to the run's output directory:

- ``eval.json``: ``{"tasks": {NAME: {"n", "before", "after", "delta", "delta_ci95", ...}}}``;
- ``eval_samples.jsonl``: one line per task, phase and prompt: ``{"task", "phase", "prompt",
  "completion", "metadata", "verdict"}`` (verdict 1, 0 or -1 as the mixture gave it).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cgpo.config.task import Task
from cgpo.data import PromptRecord, build_prompts, load_rows
from cgpo.errors import ConfigError
from cgpo.judges.base import Sample, Verdict
from cgpo.stats import paired_change

__all__ = [
    "EvalOutcome",
    "EvalSet",
    "build_eval_sets",
    "check_disjoint",
    "compare",
    "format_table",
    "heldout_rows",
    "run_eval",
    "write_eval",
]

# (chat-formatted prompts, max new tokens) -> one greedy response per prompt
Generate = Callable[[list[str], int], list[str]]


@dataclass
class EvalSet:
    """One task's held-out prompts and the mixture that judges them."""

    task: str
    records: list[PromptRecord]
    mixture: Any
    max_new_tokens: int


@dataclass
class EvalOutcome:
    """Greedy responses to an :class:`EvalSet` and the mixture's verdicts (1, 0, -1)."""

    completions: list[str]
    verdicts: list[int]

    @property
    def passed(self) -> list[bool]:
        return [v == int(Verdict.SATISFIED) for v in self.verdicts]


def heldout_rows(task: Task) -> list[Mapping[str, Any]] | None:
    """The rows of ``task.eval_data``, else the held-out split of ``builtin:NAME`` data, else
    ``None`` (the task has no evaluation split)."""
    if task.eval_data is not None:
        held_out = copy.copy(task)  # the task's settings, reading eval_data as its data
        held_out.data, held_out.max_prompts = task.eval_data, None
        return load_rows(held_out)
    if isinstance(task.data, str) and task.data.startswith("builtin:"):
        from cgpo.tasks import builtin_eval_rows

        rows = builtin_eval_rows(task.data[len("builtin:") :])
        return list(rows) if rows is not None else None
    return None


def check_disjoint(task: str, train_prompts: Sequence[str], eval_prompts: Sequence[str]) -> None:
    """Raises :class:`cgpo.ConfigError` when an evaluation prompt is also a training prompt."""
    seen = set(train_prompts)
    shared = [p for p in eval_prompts if p in seen]
    if shared:
        raise ConfigError(
            f"task {task!r}: {len(shared)} evaluation prompt(s) are also training prompts, e.g. "
            f"{shared[0][:80]!r}; a held-out evaluation needs disjoint prompts"
        )


def build_eval_sets(
    tasks: Sequence[tuple[Task, Sequence[PromptRecord], Any]], num_prompts: int
) -> tuple[list[EvalSet], list[str]]:
    """Each task's first ``num_prompts`` held-out prompts, checked disjoint from its training
    prompts. ``tasks`` holds (task, training records, mixture); returns the sets and the names
    of the tasks that have no evaluation split."""
    sets: list[EvalSet] = []
    missing: list[str] = []
    for task, train, mixture in tasks:
        rows = heldout_rows(task)
        if not rows:
            missing.append(task.name)
            continue
        records = build_prompts(task, rows[:num_prompts])
        check_disjoint(task.name, [r.prompt for r in train], [r.prompt for r in records])
        sets.append(EvalSet(task.name, records, mixture, task.generation.max_new_tokens))
    return sets, missing


def run_eval(sets: Sequence[EvalSet], tokenizer: Any, generate: Generate) -> dict[str, EvalOutcome]:
    """Greedy responses to every set's prompts, judged by the set's mixture."""
    out: dict[str, EvalOutcome] = {}
    for s in sets:
        texts = [
            tokenizer.apply_chat_template(
                list(r.messages), add_generation_prompt=True, tokenize=False
            )
            for r in s.records
        ]
        completions = generate(texts, s.max_new_tokens)
        samples = [
            Sample(r.prompt, c, dict(r.metadata))
            for r, c in zip(s.records, completions, strict=True)
        ]
        out[s.task] = EvalOutcome(list(completions), [int(v) for v in s.mixture.judge(samples)])
    return out


def compare(before: Mapping[str, EvalOutcome], after: Mapping[str, EvalOutcome]) -> dict[str, Any]:
    """``eval.json``'s content: per task, n, the pass rates, the rise and its paired 95% CI."""
    tasks: dict[str, Any] = {}
    for name, b in before.items():
        if name not in after:
            continue
        change = paired_change(b.passed, after[name].passed)
        tasks[name] = change.as_dict()
        tasks[name]["errors_before"] = sum(v == int(Verdict.ERROR) for v in b.verdicts)
        tasks[name]["errors_after"] = sum(v == int(Verdict.ERROR) for v in after[name].verdicts)
    return {"tasks": tasks}


def write_eval(
    output_dir: str | Path,
    sets: Sequence[EvalSet],
    before: Mapping[str, EvalOutcome],
    after: Mapping[str, EvalOutcome] | None,
) -> dict[str, Any] | None:
    """Writes ``eval_samples.jsonl`` (both phases where present) and, with ``after``,
    ``eval.json``; returns the latter's content."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    phases = [("before", before)] + ([("after", after)] if after is not None else [])
    with open(out / "eval_samples.jsonl", "w", encoding="utf-8") as f:
        for s in sets:
            for phase, outcomes in phases:
                o = outcomes.get(s.task)
                if o is None:
                    continue
                for r, c, v in zip(s.records, o.completions, o.verdicts, strict=True):
                    row = {
                        "task": s.task,
                        "phase": phase,
                        "prompt": r.prompt,
                        "completion": c,
                        "metadata": dict(r.metadata),
                        "verdict": v,
                    }
                    f.write(json.dumps(row, default=str) + "\n")
    if after is None:
        return None
    result = compare(before, after)
    (out / "eval.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def format_table(result: Mapping[str, Any]) -> str:
    """The before/after table the command line prints."""
    lines = [
        f"{'task':<14} {'n':>5} {'before':>8} {'after':>8} {'rise':>8}   95% CI (paired)   "
        f"{'up':>4} {'down':>4}"
    ]
    for name, r in result["tasks"].items():
        lo, hi = r["delta_ci95"]
        lines.append(
            f"{name:<14} {r['n']:>5} {r['before']:>8.3f} {r['after']:>8.3f} {r['delta']:>+8.3f}"
            f"   [{lo:+.3f}, {hi:+.3f}]   {r['improved']:>4} {r['regressed']:>4}"
        )
    return "\n".join(lines)
