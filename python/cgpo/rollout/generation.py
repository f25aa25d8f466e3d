"""Sampling responses: the :class:`Generator` interface the trainer talks to, and
:class:`HFGenerator`, the transformers ``generate`` backend.

A generator takes chat-formatted prompts and returns a :class:`~cgpo.rollout.batch.Rollout`; the
vLLM engine (:mod:`cgpo.rollout.vllm_backend`) implements the same method. :class:`HFGenerator`
samples with :mod:`cgpo.rollout.sampler` (prefill once per prompt, finished rows dropped,
log-probs kept) and can report each response as soon as it ends, so judging starts early.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch

from cgpo.config.generation import GenerationConfig
from cgpo.rollout.batch import Rollout
from cgpo.rollout.sampler import OnFinished, sample


class Generator(Protocol):
    """Anything that samples K responses for each chat-formatted prompt (rows of a prompt
    adjacent, ``group_ids`` the prompt's position). A generator whose ``generate`` also takes
    ``on_finished`` (as :class:`HFGenerator`) lets the trainer judge rows as they end."""

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
    """Batched sampling over a Hugging Face causal LM with :func:`cgpo.rollout.sampler.sample`:
    each prompt prefilled once for its K samples, finished rows dropped from the batch, the
    sampled tokens' log-probabilities kept, and each row reported (``on_finished``) as it ends.
    """

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.eos_ids = eos_token_ids(model, tokenizer)
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.eos_ids[0]

    def generate(
        self,
        prompts: Sequence[str],
        num_samples: int,
        settings: GenerationConfig,
        on_finished: OnFinished | None = None,
    ) -> Rollout:
        device = next(self.model.parameters()).device
        ids, mask = encode_prompts(self.tokenizer, prompts, device)
        out = sample(
            self.model,
            ids,
            mask,
            num_samples,
            max_new_tokens=settings.max_new_tokens,
            eos_ids=self.eos_ids,
            pad_id=self.pad_id,
            temperature=settings.temperature,
            top_k=settings.top_k,
            top_p=settings.top_p,
            on_finished=on_finished,
        )
        texts = self.tokenizer.batch_decode(
            [c[m.bool()] for c, m in zip(out.completion_ids, out.completion_mask, strict=True)],
            skip_special_tokens=True,
        )
        groups = torch.arange(len(prompts), device=device).repeat_interleave(num_samples)
        return Rollout(
            ids.repeat_interleave(num_samples, dim=0),  # (N, P)
            mask.repeat_interleave(num_samples, dim=0),
            out.completion_ids,
            out.completion_mask,
            texts,
            groups,
            out.logprobs,
        )


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
