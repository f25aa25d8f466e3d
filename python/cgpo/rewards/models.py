"""Reward models R_l: the protocol, a Hugging Face sequence-classification model, any callable, and
Bradley-Terry training that writes a Hugging Face checkpoint.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from cgpo.errors import ConfigError, InvalidInputError
from cgpo.precision import autocast
from cgpo.rewards.preferences import PreferencePair

Messages = Sequence[Mapping[str, str]]


@runtime_checkable
class RewardModel(Protocol):
    """Scores responses: one float per (prompt messages, response) pair, higher is better."""

    def score(self, prompts: Sequence[Messages], responses: Sequence[str]) -> list[float]: ...


class CallableRewardModel:
    """Wraps ``fn(prompts, responses) -> floats`` (prompts are chat message lists)."""

    def __init__(self, fn: Callable[[Sequence[Messages], Sequence[str]], Sequence[float]]) -> None:
        self.fn = fn

    def score(self, prompts: Sequence[Messages], responses: Sequence[str]) -> list[float]:
        out = [float(x) for x in self.fn(prompts, responses)]
        if len(out) != len(responses):
            raise InvalidInputError(
                f"reward function returned {len(out)} scores for {len(responses)} responses"
            )
        for i, x in enumerate(out):
            if not math.isfinite(x):
                raise InvalidInputError(f"sample {i}: reward function returned {x}")
        return out


def as_reward_model(obj: Any) -> RewardModel:
    """A :class:`RewardModel` from a reward model or a plain callable."""
    if isinstance(obj, RewardModel):
        return obj
    if callable(obj):
        return CallableRewardModel(obj)
    raise ConfigError(
        f"reward_model: expected a RewardModel, a callable or a checkpoint path, "
        f"got {type(obj).__name__}"
    )


def format_pairs(
    tokenizer: Any, prompts: Sequence[Messages], responses: Sequence[str]
) -> list[str]:
    """Chat-formats (prompt, response) as one conversation, the text a reward model reads."""
    return [
        tokenizer.apply_chat_template([*p, {"role": "assistant", "content": r}], tokenize=False)
        for p, r in zip(prompts, responses, strict=True)
    ]


def _last_token_scores(
    model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, device: torch.device
) -> torch.Tensor:
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # the score is read at the last position of every row
    try:
        enc = tokenizer(
            list(texts),
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=max_length,
            add_special_tokens=False,
        )
    finally:
        tokenizer.padding_side = side
    ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    backbone = getattr(model, model.base_model_prefix)
    out = backbone(input_ids=ids, attention_mask=mask, position_ids=positions)
    hidden = out.last_hidden_state[:, -1]  # (N, H)
    return model.score(hidden).squeeze(-1).float()  # (N,)


class HFRewardModel:
    """An ``AutoModelForSequenceClassification`` with one label, read at the last token."""

    def __init__(
        self, model: Any, tokenizer: Any, *, batch_size: int = 32, max_length: int = 1024
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = max_length
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def from_pretrained(
        cls, path: str | Path, *, device: str = "cpu", dtype: torch.dtype = torch.float32
    ) -> HFRewardModel:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if not Path(path).is_dir():
            raise ConfigError(f"reward_model: checkpoint directory {str(path)!r} does not exist")
        model = AutoModelForSequenceClassification.from_pretrained(str(path), dtype=dtype)
        tok = AutoTokenizer.from_pretrained(str(path))
        return cls(model.to(device), tok)

    @torch.no_grad()
    def score(self, prompts: Sequence[Messages], responses: Sequence[str]) -> list[float]:
        texts = format_pairs(self.tokenizer, prompts, responses)
        device = next(self.model.parameters()).device
        out: list[float] = []
        for i in range(0, len(texts), self.batch_size):
            chunk = texts[i : i + self.batch_size]
            out.extend(
                _last_token_scores(
                    self.model, self.tokenizer, chunk, self.max_length, device
                ).tolist()
            )
        return out


def reward_model_from_causal_lm(causal_lm: Any, num_layers: int = 0, seed: int = 0) -> Any:
    """A one-label ``AutoModelForSequenceClassification`` sharing the causal LM's backbone weights,
    optionally truncated to its first ``num_layers`` layers (a cheap reward model)."""
    from transformers import AutoModelForSequenceClassification

    config = causal_lm.config.__class__.from_dict(causal_lm.config.to_dict())
    config.num_labels = 1
    if num_layers:
        config.num_hidden_layers = min(num_layers, config.num_hidden_layers)
        if getattr(config, "layer_types", None):
            config.layer_types = config.layer_types[: config.num_hidden_layers]
    torch.manual_seed(seed)
    rm = AutoModelForSequenceClassification.from_config(config, dtype=causal_lm.dtype)
    backbone = getattr(causal_lm, causal_lm.base_model_prefix)
    missing, _ = getattr(rm, rm.base_model_prefix).load_state_dict(
        backbone.state_dict(), strict=False
    )
    if missing:
        raise InvalidInputError(f"reward model backbone is missing weights: {missing[:3]}")
    torch.nn.init.normal_(rm.score.weight, std=1.0 / math.sqrt(config.hidden_size))
    return rm


def train_reward_model(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[PreferencePair],
    *,
    epochs: int = 2,
    learning_rate: float = 5e-5,
    batch_size: int = 8,
    max_length: int = 512,
    seed: int = 0,
    output_dir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    mixed_precision: str = "no",
) -> dict[str, float]:
    """Bradley-Terry training: minimises -mean(logsigmoid(r(s, a+) - r(s, a-))).

    ``mixed_precision='bf16'`` runs the forward passes under bfloat16 autocast with float32
    weights (:mod:`cgpo.precision`).

    Writes a Hugging Face checkpoint (model + tokenizer) to ``output_dir`` when given and returns
    the final training loss and pairwise accuracy.
    """
    from cgpo.losses import bradley_terry_loss

    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    device = next(model.parameters()).device
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    stats: dict[str, float] = {}
    model.train()
    for epoch in range(epochs):
        rng.shuffle(order)
        losses, correct = [], 0
        for i in range(0, len(order), batch_size):
            batch = [pairs[j] for j in order[i : i + batch_size]]
            prompts = [p.prompt for p in batch]
            texts = format_pairs(tokenizer, prompts, [p.chosen for p in batch]) + format_pairs(
                tokenizer, prompts, [p.rejected for p in batch]
            )
            with autocast(device, mixed_precision, cache=False):
                scores = _last_token_scores(model, tokenizer, texts, max_length, device)  # (2n,)
            chosen, rejected = scores[: len(batch)], scores[len(batch) :]
            loss, _ = bradley_terry_loss(chosen, rejected)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            correct += int((chosen > rejected).sum())
        stats = {
            "epoch": epoch + 1,
            "loss": sum(losses) / len(losses),
            "accuracy": correct / len(pairs),
        }
        if log:
            log(
                f"reward model epoch {epoch + 1}: loss {stats['loss']:.4f} "
                f"accuracy {stats['accuracy']:.3f}"
            )
    model.eval()
    if output_dir is not None:
        out = Path(output_dir)
        tmp = out.with_name(out.name + ".tmp")
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / "cgpo_reward_training.json").write_text(json.dumps(stats, indent=2))
        if out.exists():
            import shutil

            shutil.rmtree(out)
        tmp.rename(out)
    return stats
