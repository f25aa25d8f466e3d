"""Sampling responses from the policy.

:class:`Generator` is the interface the trainer talks to (a vLLM backend would implement the same
method); :class:`HFGenerator` is the transformers ``generate`` backend: one batched call per task
and step, left padding so every prompt ends at the same position, the KV cache on, and per-task
sampling settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from cgpo.rollout.sampler import OnFinished, sample
from cgpo.trainer.config import GenerationConfig


@dataclass
class Rollout:
    """N = B*K responses; row ``i`` answers prompt ``group_ids[i]`` (rows of a prompt adjacent)."""

    prompt_ids: torch.Tensor  # (N, P) left-padded
    prompt_mask: torch.Tensor  # (N, P) 1 on prompt tokens
    completion_ids: torch.Tensor  # (N, T) right-padded
    completion_mask: torch.Tensor  # (N, T) 1 up to and including the first EOS
    texts: list[str]
    group_ids: torch.Tensor  # (N,) int64
    # (N, T) float32 log pi(a_t | ...) under the policy that sampled the rollout, kept from
    # sampling; None when unknown (given texts, another backend)
    logprobs: torch.Tensor | None = None

    @property
    def num_tokens(self) -> int:
        return int(self.completion_mask.sum())


class Generator(Protocol):
    """Anything that samples K responses for each chat-formatted prompt."""

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
    each prompt prefilled once for its K samples, finished rows dropped, log-probs kept."""

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


def sequence_logprobs(
    model: Any,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
) -> torch.Tensor:
    """Per-token log pi(a_t | s, a_<t) of the completion tokens: (N, T), 0 where masked.

    Positions follow the attention mask (as ``generate`` does), so left padding does not shift
    them, and the LM head runs only on the completion positions.
    """
    ids = torch.cat([prompt_ids, completion_ids], dim=1)  # (N, P+T)
    mask = torch.cat([prompt_mask, completion_mask], dim=1)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    t = completion_ids.shape[1]
    logits = (
        model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=t + 1)
        .logits[:, :-1]
        .float()
    )  # (N, T, V)
    # log_softmax gathered at the chosen token, without materialising the (N, T, V) result twice
    chosen = torch.gather(logits, 2, completion_ids.unsqueeze(-1)).squeeze(-1)  # (N, T)
    logp = chosen - torch.logsumexp(logits, dim=-1)
    return logp * completion_mask
