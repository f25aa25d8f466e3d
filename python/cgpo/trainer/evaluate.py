"""Judge pass rates of greedy responses before and after training (``eval_prompts``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cgpo.config.generation import GenerationConfig
from cgpo.judges.base import Sample, Verdict
from cgpo.trainer.runs import TaskRun

# (prompt texts, settings) -> one response per prompt
Generate = Callable[[list[str], GenerationConfig], list[str]]


def evaluate(
    runs: Sequence[TaskRun], tokenizer: Any, generate: Generate, num_prompts: int
) -> dict[str, dict[str, float]]:
    """Each task's pass rate (all judges, and each member judge) of ``generate``'s greedy
    responses to its first ``num_prompts`` prompts."""
    out: dict[str, dict[str, float]] = {}
    for run in runs:
        idx = list(range(min(num_prompts, len(run.records))))
        settings = GenerationConfig(
            max_new_tokens=run.task.generation.max_new_tokens, temperature=0.0
        )
        texts = generate([run.prompt_text(tokenizer, i) for i in idx], settings)
        samples = [
            Sample(run.records[i].prompt, t, run.records[i].metadata)
            for i, t in zip(idx, texts, strict=True)
        ]
        verdicts = run.mixture.judge(samples)
        res = {"pass_rate": sum(v == Verdict.SATISFIED for v in verdicts) / len(verdicts)}
        for name, m in zip(run.member_names, run.members, strict=True):
            vs = m.judge(samples)
            res[f"{name}/pass_rate"] = sum(v == Verdict.SATISFIED for v in vs) / len(vs)
        out[run.task.name] = res
    return out
