"""Bradley-Terry reward-model training data and settings (plain Python, no torch, so that
``cgpo train-rm`` checks them before loading a model)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cgpo.config.validate import number, string
from cgpo.errors import ConfigError


@dataclass
class PreferencePair:
    """A Bradley-Terry training example: the chosen response is preferred to the rejected one."""

    prompt: list[dict[str, str]]
    chosen: str
    rejected: str


@dataclass
class RewardTrainingConfig:
    """``cgpo train-rm``: Bradley-Terry training of a scalar-head reward model."""

    data: str = field(metadata={"help": "JSONL with prompt (text or messages), chosen, rejected."})
    output_dir: str = field(metadata={"help": "Where the Hugging Face checkpoint is written."})
    base_model: str = field(
        default="smollm2", metadata={"help": "'smollm2' or a Hugging Face checkpoint path."}
    )
    num_layers: int = field(
        default=0,
        metadata={"help": "Keep only the first N transformer layers of the base (0 keeps all)."},
    )
    epochs: int = field(default=2, metadata={"help": "Passes over the pairs."})
    learning_rate: float = field(default=5e-5, metadata={"help": "AdamW learning rate."})
    batch_size: int = field(default=8, metadata={"help": "Pairs per optimizer step."})
    max_length: int = field(default=512, metadata={"help": "Truncate conversations to N tokens."})
    seed: int = field(default=0, metadata={"help": "Shuffling and head initialisation seed."})

    def __post_init__(self) -> None:
        string("data", self.data)
        string("output_dir", self.output_dir)
        string("base_model", self.base_model)
        number("num_layers", self.num_layers, integer=True, minimum=0)
        number("epochs", self.epochs, integer=True, minimum=1)
        number("learning_rate", self.learning_rate, minimum=0.0, strict=True)
        number("batch_size", self.batch_size, integer=True, minimum=1)
        number("max_length", self.max_length, integer=True, minimum=8)
        number("seed", self.seed, integer=True, minimum=0)


def load_pairs(path: str | Path) -> list[PreferencePair]:
    """Reads a JSONL file of {prompt | messages, chosen, rejected} rows."""
    pairs = []
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"data: file {str(p)!r} does not exist")
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        for key in ("chosen", "rejected"):
            if not isinstance(row.get(key), str):
                raise ConfigError(f"data: {p}:{n} needs a string column {key!r}")
        prompt = row.get("messages", row.get("prompt"))
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        if not isinstance(prompt, list):
            raise ConfigError(f"data: {p}:{n} needs a 'prompt' string or 'messages' list")
        pairs.append(PreferencePair(prompt, row["chosen"], row["rejected"]))
    if not pairs:
        raise ConfigError(f"data: {p} has no pairs")
    return pairs
