"""The offline DPO baseline (``optimizer: dpo``): fixed preference pairs from the task's data
(``chosen_column`` / ``rejected_column``), the loss of :func:`cgpo.losses.dpo_loss` (CODPO without
its lambda term), no judges and no reward model in the update.

The trainer still samples, judges and scores responses of the step's prompts for the logs, so DPO
curves sit on the same axes as the online optimizers'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from cgpo.errors import InvalidInputError
from cgpo.losses import dpo_loss
from cgpo.trainer.config import Task
from cgpo.trainer.data import PromptRecord
from cgpo.trainer.generation import Rollout, rollout_from_texts, sequence_logprobs
from cgpo.trainer.step import Reference


def preference_rollout(
    tokenizer: Any,
    task: Task,
    prompt_texts: Sequence[str],
    records: Sequence[PromptRecord],
    device: torch.device | str = "cpu",
) -> Rollout:
    """The chosen responses of ``records`` (rows 0..n-1), then their rejected ones (n..2n-1)."""
    chosen: list[str] = []
    rejected: list[str] = []
    for rec in records:
        for key, out in ((task.chosen_column, chosen), (task.rejected_column, rejected)):
            value = rec.metadata.get(key)
            if not isinstance(value, str) or not value:
                raise InvalidInputError(
                    f"task {task.name!r}: sample {rec.index}: column {key!r} must be a non-empty "
                    f"string for dpo, got {type(value).__name__}"
                )
            out.append(value)
    n = len(records)
    return rollout_from_texts(
        tokenizer, list(prompt_texts) * 2, chosen + rejected, list(range(n)) * 2, device
    )


def dpo_task_loss(
    task: Task, policy: Any, reference: Reference, pairs: Rollout
) -> tuple[torch.Tensor, dict[str, float]]:
    """DPO on ``pairs`` (from :func:`preference_rollout`), with the task's ``beta``."""
    n = len(pairs.texts) // 2
    logp = sequence_logprobs(
        policy, pairs.prompt_ids, pairs.prompt_mask, pairs.completion_ids, pairs.completion_mask
    ).sum(dim=1)  # (2n,)
    ref = reference.logprobs(pairs).sum(dim=1)
    loss, s = dpo_loss(logp[:n], logp[n:], ref[:n], ref[n:], beta=task.beta)
    stats = {f"loss/{k}": float(v) for k, v in s.items()}
    stats.update(
        kl=float((logp.detach()[:n] - ref[:n]).mean()), rows_used=float(2 * n), pairs=float(n)
    )
    return loss, stats
