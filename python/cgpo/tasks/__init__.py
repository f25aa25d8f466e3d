"""The built-in tasks and the default run: SmolLM2-135M-Instruct, three tasks, a Bradley-Terry
reward model, all built offline from what the installed packages ship.

- ``builtin:math`` (:mod:`cgpo.tasks.math_words`): arithmetic word problems with exact answers.
- ``builtin:instructions`` (:mod:`cgpo.tasks.instructions`): writing prompts with IFEval-style
  instructions.
- ``builtin:humaneval`` (:mod:`cgpo.tasks.code`): HumanEval problems with their tests.
- :mod:`cgpo.tasks.reward_model`: the default reward model's preference pairs and training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cgpo.config.run import CGPOConfig
from cgpo.config.task import Task
from cgpo.errors import ConfigError
from cgpo.tasks import code, instructions, math_words

__all__ = [
    "BUILTIN_DATA",
    "BUILTIN_EVAL_DATA",
    "builtin_eval_rows",
    "builtin_rows",
    "default_config",
    "default_tasks",
]

BUILTIN_DATA: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "math": math_words.train_rows,
    "instructions": instructions.train_rows,
    "code": code.train_rows,
    "humaneval": code.humaneval_rows,
}
# The held-out split of each built-in set: prompts its training split never contains.
BUILTIN_EVAL_DATA: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "math": math_words.eval_rows,
    "instructions": instructions.eval_rows,
    "code": code.eval_rows,
    "humaneval": lambda: code.humaneval_rows(held_out=True),
}


def builtin_rows(name: str, where: str) -> list[dict[str, Any]]:
    if name not in BUILTIN_DATA:
        raise ConfigError(
            f"{where}: unknown built-in data 'builtin:{name}'; choose one of "
            f"{', '.join('builtin:' + k for k in BUILTIN_DATA)}"
        )
    return BUILTIN_DATA[name]()


def builtin_eval_rows(name: str) -> list[dict[str, Any]] | None:
    """The held-out split of ``builtin:NAME`` (``None`` for an unknown name)."""
    fn = BUILTIN_EVAL_DATA.get(name)
    return fn() if fn is not None else None


def default_tasks() -> list[Task]:
    """The three built-in tasks (math, instructions, code)."""
    return [math_words.task(), instructions.task(), code.task()]


def default_config(**overrides: Any) -> CGPOConfig:
    """The run ``cgpo train`` does without a config file: full fine-tuning of SmolLM2-135M with
    AdamW at 2e-5 for 24 steps (sized for 25 minutes on 2 CPU cores, evaluation included), and a
    held-out evaluation of 128 prompts per task (110 for code, its whole split)."""
    settings: dict[str, Any] = {
        "tasks": default_tasks(),
        "model": "smollm2",
        "dtype": "float32",
        "device": "cpu",
        "learning_rate": 2e-5,
        "lr_scheduler": "constant",
        "max_steps": 24,
        "max_grad_norm": 1.0,
        "save_steps": 0,
        "eval_prompts": 128,
        "output_dir": "runs/cgpo-default",
    }
    settings.update(overrides)
    return CGPOConfig(**settings)
