"""One CGPO task D_l (:class:`Task`): its data, judges, reward model, algorithm and budget.

Plain Python: a task is validated when it is built, every problem reported at once, each as a
one-line :class:`cgpo.ConfigError` naming the field. The algorithm-specific checks and settings
belong to the algorithms (:mod:`cgpo.algorithms`), found through their registry.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any

from cgpo.algorithms.base import available_algorithms, get_algorithm
from cgpo.algorithms.ppo import PPOSettings
from cgpo.config.generation import GenerationConfig
from cgpo.config.validate import Problems, boolean, choice, number, string

ON_ERROR = ("violate", "skip", "raise")


@dataclass
class Task:
    """One CGPO task D_l: its prompts, judges J_l, reward model R_l, update rule
    (``algorithm``, the paper's optimizer O_l) and budget.

    ``data`` is a JSONL path, a directory written by ``datasets.save_to_disk``, the name of a
    locally cached Hugging Face dataset, ``builtin:math`` / ``builtin:instructions`` /
    ``builtin:humaneval`` (the prompt sets of the default run), or (from Python) a list of dicts or
    a ``datasets.Dataset``. Each record has a ``prompt`` string or chat ``messages``, the metadata
    columns its judges read, and optionally a baseline response.
    """

    name: str = field(metadata={"help": "Unique task name (used in logs and metrics)."})
    data: Any = field(
        metadata={"help": "JSONL path, saved/cached HF dataset, builtin:NAME, or list of dicts."}
    )
    judges: list[Any] = field(
        default_factory=list,
        metadata={"help": "Judge configs ({'type': 'math'}, ...) or judge objects; all must pass."},
    )
    reward_model: Any = field(
        default="default",
        metadata={"help": "'default' (built-in BT model), an HF checkpoint path, or a callable."},
    )
    algorithm: str = field(
        default="crpg",
        metadata={
            "help": "Update rule: crpg, crraft or codpo (CGPO's constrained optimizers), or a "
            "baseline: ppo, dpo (any name in cgpo.algorithms' registry)."
        },
    )
    kl_max: float = field(
        default=10.0, metadata={"help": "KL bound on the sequence log-ratio log pi - log pi_ref."}
    )
    samples_per_prompt: int = field(
        default=4, metadata={"help": "K: responses sampled per prompt."}
    )
    prompts_per_step: int = field(default=2, metadata={"help": "B: prompts sampled per step."})
    weight: float = field(default=1.0, metadata={"help": "rho: this task's weight in the sum."})
    generation: GenerationConfig = field(
        default_factory=GenerationConfig, metadata={"help": "Sampling settings of this task."}
    )
    on_error: str = field(
        default="violate",
        metadata={
            "help": "A judge ERROR: 'violate' (counts as violated), 'skip' (drop the "
            "sample from the update) or 'raise'."
        },
    )
    beta: float = field(default=0.1, metadata={"help": "CODPO's DPO temperature beta."})
    lam: float = field(default=5.0, metadata={"help": "CODPO's chosen-likelihood weight lambda."})
    prompt_column: str = field(default="prompt", metadata={"help": "Column with the prompt text."})
    messages_column: str = field(
        default="messages", metadata={"help": "Column with chat messages (used if present)."}
    )
    system_prompt: str | None = field(
        default=None, metadata={"help": "System message prepended to every prompt."}
    )
    metadata_columns: list[str] | None = field(
        default=None,
        metadata={"help": "Columns passed to the judges as metadata (default: all the others)."},
    )
    baseline_column: str | None = field(
        default=None,
        metadata={
            "help": "Column with the baseline response; without it the reference policy's "
            "greedy response is generated once per prompt and cached."
        },
    )
    data_split: str = field(default="train", metadata={"help": "Split of a Hugging Face dataset."})
    max_prompts: int | None = field(
        default=None, metadata={"help": "Use only the first N prompts of the data."}
    )
    eval_data: Any = field(
        default=None,
        metadata={
            "help": "Held-out prompts for the before/after evaluation (same forms as data; "
            "must share no prompt with it). Default: the held-out split of builtin:NAME data; "
            "other data without eval_data is not evaluated."
        },
    )
    use_judges: bool = field(
        default=True,
        metadata={
            "help": "false: the update treats every response as satisfied (CGPO without "
            "judges); pass rates are still measured and logged."
        },
    )
    baseline_fallback: bool = field(
        default=False,
        metadata={
            "help": "CRRAFT: when no sampled response of a prompt passes, fine-tune on its "
            "baseline response if the judges accept it (the paper's fallback; off by default: "
            "with answer-only baselines it turned CRRAFT into SFT on them)."
        },
    )
    ppo: PPOSettings = field(
        default_factory=PPOSettings, metadata={"help": "PPO's settings (algorithm: ppo)."}
    )
    chosen_column: str = field(
        default="chosen", metadata={"help": "DPO: column with the preferred response."}
    )
    rejected_column: str = field(
        default="rejected", metadata={"help": "DPO: column with the dispreferred response."}
    )
    optimizer: InitVar[str | None] = None  # deprecated name of `algorithm`

    def __post_init__(self, optimizer: str | None) -> None:
        where = f"task {self.name!r}" if isinstance(self.name, str) else "task"
        p = Problems()
        p.check(string, f"{where}.name", self.name)
        key = "algorithm"
        if optimizer is not None:
            warnings.warn(
                f"{where}.optimizer is deprecated: the update rule is `algorithm` "
                "(`optimizer` is the torch optimizer of CGPOConfig)",
                DeprecationWarning,
                stacklevel=3,
            )
            self.algorithm, key = optimizer, "optimizer"
        if isinstance(self.generation, Mapping):
            self.generation = p.build(GenerationConfig, self.generation, f"{where}.generation")
        elif not isinstance(self.generation, GenerationConfig):
            p.add(f"{where}.generation: expected a mapping of generation settings")
        if isinstance(self.ppo, Mapping):
            self.ppo = p.build(PPOSettings, self.ppo, f"{where}.ppo")
        elif not isinstance(self.ppo, PPOSettings):
            p.add(f"{where}.ppo: expected a mapping of PPO settings")
        p.check(boolean, f"{where}.use_judges", self.use_judges)
        p.check(boolean, f"{where}.baseline_fallback", self.baseline_fallback)
        p.check(string, f"{where}.chosen_column", self.chosen_column)
        p.check(string, f"{where}.rejected_column", self.rejected_column)
        p.check(choice, f"{where}.on_error", self.on_error, ON_ERROR)
        p.check(number, f"{where}.kl_max", self.kl_max, minimum=0.0, strict=True)
        counts_ok = p.check(
            number, f"{where}.samples_per_prompt", self.samples_per_prompt, integer=True, minimum=1
        )
        p.check(number, f"{where}.prompts_per_step", self.prompts_per_step, integer=True, minimum=1)
        p.check(number, f"{where}.weight", self.weight, minimum=0.0)
        p.check(number, f"{where}.beta", self.beta, minimum=0.0, strict=True)
        p.check(number, f"{where}.lam", self.lam, minimum=0.0)
        if self.data is None or (isinstance(self.data, str) and not self.data):
            p.add(f"{where}.data: expected a JSONL path, a dataset or builtin:NAME")
        p.check(string, f"{where}.prompt_column", self.prompt_column)
        p.check(string, f"{where}.messages_column", self.messages_column)
        p.check(string, f"{where}.system_prompt", self.system_prompt, optional=True)
        p.check(string, f"{where}.baseline_column", self.baseline_column, optional=True)
        p.check(string, f"{where}.data_split", self.data_split)
        if self.max_prompts is not None:
            p.check(number, f"{where}.max_prompts", self.max_prompts, integer=True, minimum=1)
        columns_ok = self.metadata_columns is None or (
            isinstance(self.metadata_columns, list)
            and all(isinstance(c, str) for c in self.metadata_columns)
        )
        if not columns_ok:
            p.add(f"{where}.metadata_columns: expected a list of column names")
        known = p.check(choice, f"{where}.{key}", self.algorithm, available_algorithms())
        if known and counts_ok and columns_ok:  # the algorithm's own checks read these
            get_algorithm(self.algorithm).check(self, where, p)
        self._check_judges(where, p)
        if isinstance(self.reward_model, Mapping) or self.reward_model is None:
            p.add(
                f"{where}.reward_model: expected 'default', a checkpoint path, or (from Python) a "
                "callable or RewardModel"
            )
        p.raise_any()

    def _check_judges(self, where: str, p: Problems) -> None:
        if not isinstance(self.judges, list):
            p.add(f"{where}.judges: expected a list of judge configs or judges")
            return
        for i, spec in enumerate(self.judges):
            if isinstance(spec, Mapping):
                if not isinstance(spec.get("type"), str):
                    p.add(
                        f"{where}.judges[{i}].type: every judge config needs a 'type' "
                        "(e.g. {'type': 'math'})"
                    )
            elif not (hasattr(spec, "judge") and hasattr(spec, "explain")):
                p.add(
                    f"{where}.judges[{i}]: expected a judge config mapping or an object with the "
                    f"judge API (judge/explain), got {type(spec).__name__}"
                )


def _optimizer(self: Task) -> str:
    warnings.warn(
        "Task.optimizer is deprecated: read Task.algorithm", DeprecationWarning, stacklevel=2
    )
    return self.algorithm


# Reading the deprecated name still works (with a warning); the dataclass keeps `optimizer` as an
# init-only argument, so it is neither stored twice nor written back by to_dict().
Task.optimizer = property(_optimizer)  # type: ignore[attr-defined]
