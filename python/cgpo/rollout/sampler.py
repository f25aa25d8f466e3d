"""A sampling loop over a Hugging Face causal LM that wastes nothing.

:func:`sample` draws K responses for each of B prompts with the same distribution as
``model.generate(do_sample=True, temperature=..., top_k=..., top_p=...)`` (it applies the very
logits warpers ``generate`` builds, in the same order), but:

- each prompt is prefilled once and its KV cache is expanded to its K samples, instead of
  prefilling the prompt K times;
- a row that has emitted EOS leaves the batch (its cache rows are dropped), so later steps compute
  only the rows still running, instead of decoding padding until the longest row ends (on a
  GPU every ``compact_every`` steps, so the host does not wait for the device at every step);
- the log-probability of every sampled token under the model (the raw distribution, temperature
  1, as the losses need it) is kept, so the trainer does not run the "old policy" forward again;
- a callback hears about each row as soon as it ends, so judging can start while the other rows
  are still being generated.

Greedy decoding (``temperature == 0``) is ``argmax``, as in ``generate(do_sample=False)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

# Called with the indices (into the N = B*K rows) of rows that just ended and their token ids.
OnFinished = Callable[[list[int], list[list[int]]], None]


@dataclass
class Samples:
    """N = B*K sampled completions, row ``i`` answering prompt ``i // K``."""

    completion_ids: torch.Tensor  # (N, T) right-padded with the pad id
    completion_mask: torch.Tensor  # (N, T) 1 up to and including the first EOS
    logprobs: torch.Tensor  # (N, T) float32 log pi(a_t | s, a_<t), 0 where masked


def logits_warpers(temperature: float, top_k: int, top_p: float) -> Any:
    """The warpers ``generate`` applies when sampling with these settings, in its order
    (temperature, top-k, top-p); top_k 0 and top_p 1 switch theirs off, as in ``generate``."""
    from transformers import (
        LogitsProcessorList,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    warpers = LogitsProcessorList()
    if temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(temperature))
    if top_k != 0:
        warpers.append(TopKLogitsWarper(top_k=top_k, min_tokens_to_keep=1))
    if top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p=top_p, min_tokens_to_keep=1))
    return warpers


def _next_tokens(
    logits: torch.Tensor, warpers: Any, greedy: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draws one token per row from (n, V) float32 logits: (n,) ids and their raw log-probs."""
    if greedy:
        tokens = torch.argmax(logits, dim=-1)  # (n,)
    else:
        scores = warpers(None, logits)  # the warpers never read input_ids
        probs = torch.softmax(scores, dim=-1)
        tokens = torch.multinomial(probs, num_samples=1).squeeze(1)  # (n,)
    chosen = logits.gather(1, tokens.unsqueeze(1)).squeeze(1)
    return tokens, chosen - torch.logsumexp(logits, dim=-1)  # (n,), (n,)


@torch.no_grad()
def sample(
    model: Any,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    num_samples: int,
    *,
    max_new_tokens: int,
    eos_ids: Sequence[int],
    pad_id: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    on_finished: OnFinished | None = None,
    compact_every: int | None = None,
) -> Samples:
    """Samples ``num_samples`` completions of each left-padded prompt.

    Parameters
    ----------
    model
        A Hugging Face causal LM (a PEFT model works too); it is put in eval mode for the call.
    prompt_ids, prompt_mask : (B, P)
        Left-padded prompt ids and their attention mask.
    num_samples
        K, the samples per prompt; rows ``b*K .. b*K+K-1`` answer prompt ``b``.
    eos_ids, pad_id
        The tokens that end a response, and the id written after the end.
    temperature, top_k, top_p
        ``generate``'s sampling settings; ``temperature == 0`` decodes greedily.
    on_finished
        Called as rows end (EOS or the length limit), with their row indices and token ids.
    compact_every
        Finished rows leave the batch every this many steps; default 1 on the CPU, 8 on a GPU.
    """
    from transformers import DynamicCache

    b, _ = prompt_ids.shape
    n = b * num_samples
    device = prompt_ids.device
    greedy = temperature == 0.0
    warpers = None if greedy else logits_warpers(temperature, top_k, top_p)
    eos = torch.as_tensor(list(eos_ids), dtype=torch.long, device=device)
    tokens = torch.full((n, max_new_tokens), pad_id, dtype=torch.long, device=device)  # (N, T)
    logps = torch.zeros((n, max_new_tokens), dtype=torch.float32, device=device)  # (N, T)
    lengths = torch.zeros(n, dtype=torch.long, device=device)  # (N,)

    was_training = model.training
    model.eval()
    try:
        # Positions follow the mask (as in generate), so left padding does not shift them.
        positions = (prompt_mask.cumsum(dim=1) - 1).clamp(min=0)  # (B, P)
        cache = DynamicCache(config=model.config)
        out = model(
            input_ids=prompt_ids,
            attention_mask=prompt_mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        logits = out.logits[:, -1].float().repeat_interleave(num_samples, dim=0)  # (N, V)
        cache.batch_repeat_interleave(num_samples)
        attn = prompt_mask.repeat_interleave(num_samples, dim=0)  # (N, P)
        next_pos = positions[:, -1].repeat_interleave(num_samples) + 1  # (N,)
        rows = torch.arange(n, device=device)  # the original row of each row still running
        alive = torch.ones(n, dtype=torch.bool, device=device)  # not ended yet
        # Reading `alive` on the host waits for the device; on a GPU that stall costs more than
        # a few steps of finished rows, so there the batch is compacted every few steps only.
        every = compact_every or (1 if device.type == "cpu" else 8)
        for t in range(max_new_tokens):
            tok, lp = _next_tokens(logits, warpers, greedy)
            tok = torch.where(alive, tok, pad_id)  # a row past its EOS gets padding
            tokens[rows, t] = tok
            logps[rows, t] = lp * alive
            lengths[rows] += alive.long()
            alive = alive & ~torch.isin(tok, eos)
            last = t + 1 == max_new_tokens
            if last or (t + 1) % every == 0:
                if last:
                    alive = torch.zeros_like(alive)
                if not bool(alive.all()):
                    ended = rows[~alive]
                    if on_finished is not None:
                        ends = lengths[ended].tolist()
                        on_finished(
                            ended.tolist(),
                            [
                                tokens[r, :e].tolist()
                                for r, e in zip(ended.tolist(), ends, strict=True)
                            ],
                        )
                    keep = alive.nonzero().squeeze(1)  # (n',)
                    if len(keep) == 0:
                        break
                    # drop the finished rows from every later step (their cache rows too)
                    cache.batch_select_indices(keep)
                    rows, tok, attn, next_pos = rows[keep], tok[keep], attn[keep], next_pos[keep]
                    alive = alive[keep]
            attn = torch.cat([attn, attn.new_ones((len(rows), 1))], dim=1)
            out = model(
                input_ids=tok.unsqueeze(1),
                attention_mask=attn,
                position_ids=next_pos.unsqueeze(1),
                past_key_values=cache,
                use_cache=True,
            )
            logits = out.logits[:, -1].float()  # (n', V)
            next_pos = next_pos + 1
    finally:
        model.train(was_training)
    t_max = max(int(lengths.max()), 1)  # as generate, stop at the longest response
    mask = (torch.arange(t_max, device=device) < lengths.unsqueeze(1)).long()  # (N, T)
    return Samples(tokens[:, :t_max], mask, logps[:, :t_max] * mask)
