"""Sampling responses: the :class:`Generator` interface the trainer talks to, and
:class:`HFGenerator`, the transformers ``generate`` backend.

A generator takes chat-formatted prompts and returns a :class:`~cgpo.rollout.batch.Rollout`; a
vLLM engine implements the same method. :class:`HFGenerator` makes one batched call per task and
step, left-pads so every prompt ends at the same position, keeps the KV cache on, and uses each
task's sampling settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch

from cgpo.config.generation import GenerationConfig
from cgpo.rollout.batch import Rollout


class Generator(Protocol):
    """Anything that samples K responses for each chat-formatted prompt (rows of a prompt
    adjacent, ``group_ids`` the prompt's position)."""

    def generate(
        self, prompts: Sequence[str], num_samples: int, settings: GenerationConfig
    ) -> Rollout: ...


def encode_prompts(
    tokenizer: Any, prompts: Sequence[str], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenises chat-formatted prompt texts, left-padded: (B, P) ids and mask."""
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        enc = tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False)
    finally:
        tokenizer.padding_side = side
    return enc["input_ids"].to(device), enc["attention_mask"].to(device)


def completion_mask(completion_ids: torch.Tensor, eos_ids: Sequence[int]) -> torch.Tensor:
    """1 on every token up to and including the first EOS, 0 after it. (N, T) -> (N, T)."""
    is_eos = torch.zeros_like(completion_ids, dtype=torch.bool)
    for e in eos_ids:
        is_eos |= completion_ids == e
    # number of EOS strictly before each position; a token counts while none came before it
    before = torch.cumsum(is_eos.int(), dim=1) - is_eos.int()
    return (before == 0).long()


def eos_token_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: list[int] = []
    for src in (getattr(model, "generation_config", None), model.config):
        e = getattr(src, "eos_token_id", None) if src is not None else None
        ids.extend([e] if isinstance(e, int) else list(e or []))
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return sorted(set(ids))


class HFGenerator:
    """Batched sampling with ``model.generate`` (KV cache on, left padding)."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.eos_ids = eos_token_ids(model, tokenizer)
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.eos_ids[0]

    @torch.no_grad()
    def generate(
        self, prompts: Sequence[str], num_samples: int, settings: GenerationConfig
    ) -> Rollout:
        device = next(self.model.parameters()).device
        ids, mask = encode_prompts(self.tokenizer, prompts, device)
        ids = ids.repeat_interleave(num_samples, dim=0)  # (B*K, P)
        mask = mask.repeat_interleave(num_samples, dim=0)
        kwargs: dict[str, Any] = {
            "max_new_tokens": settings.max_new_tokens,
            "pad_token_id": self.pad_id,
            "eos_token_id": self.eos_ids,
            "use_cache": True,
        }
        if settings.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(
                do_sample=True,
                temperature=settings.temperature,
                top_p=settings.top_p,
                top_k=settings.top_k,  # 0: no top-k filter
            )
        was_training = self.model.training
        self.model.eval()
        try:
            out = self.model.generate(input_ids=ids, attention_mask=mask, **kwargs)
        finally:
            self.model.train(was_training)
        completion = out[:, ids.shape[1] :]  # (N, T)
        cmask = completion_mask(completion, self.eos_ids)
        completion = torch.where(cmask.bool(), completion, torch.full_like(completion, self.pad_id))
        texts = self.tokenizer.batch_decode(
            [c[m.bool()] for c, m in zip(completion, cmask, strict=True)], skip_special_tokens=True
        )
        groups = torch.arange(len(prompts), device=device).repeat_interleave(num_samples)
        return Rollout(ids, mask, completion, cmask, texts, groups)


def rollout_from_texts(
    tokenizer: Any,
    prompts: Sequence[str],
    completions: Sequence[str],
    group_ids: Sequence[int],
    device: torch.device | str = "cpu",
) -> Rollout:
    """A :class:`Rollout` of given responses (each ended with EOS), e.g. baseline responses."""
    prompt_ids, prompt_mask = encode_prompts(tokenizer, prompts, torch.device(device))
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    seqs = [tokenizer(c, add_special_tokens=False)["input_ids"] + [eos] for c in completions]
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad, dtype=torch.long)  # (N, T)
    mask = torch.zeros((len(seqs), t), dtype=torch.long)
    for j, s in enumerate(seqs):
        ids[j, : len(s)] = torch.tensor(s)
        mask[j, : len(s)] = 1
    return Rollout(
        prompt_ids,
        prompt_mask,
        ids.to(device),
        mask.to(device),
        list(completions),
        torch.as_tensor(list(group_ids), dtype=torch.long, device=device),
    )
