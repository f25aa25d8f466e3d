"""The data that flows through one task's step: :class:`Rollout` (the sampled tokens) inside a
:class:`RolloutBatch` (prompts, responses, verdicts, rewards), and :class:`UpdateRows`, the rows
an update uses.

Each stage fills its part of the batch: drawing prompts the prompt fields, generation
``rollout``, judging ``verdicts``, scoring ``rewards``, ``baseline_rewards`` and ``calibrated``.
Row ``j`` of the per-response arrays (N = B*K) answers prompt ``j // K`` of the per-prompt lists
(B), which is also ``rollout.group_ids[j]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from cgpo.data import PromptRecord


@dataclass
class Rollout:
    """N responses as tokens; row ``i`` answers prompt ``group_ids[i]`` (rows of a prompt adjacent).

    ``logprobs`` holds the sampler's per-token log-probabilities under the policy that sampled
    (the Hugging Face sampler keeps them; None for given texts and for the vLLM engine, whose
    kernels differ from the trainer's forward pass).
    """

    prompt_ids: torch.Tensor  # (N, P) left-padded
    prompt_mask: torch.Tensor  # (N, P) 1 on prompt tokens
    completion_ids: torch.Tensor  # (N, T) right-padded
    completion_mask: torch.Tensor  # (N, T) 1 up to and including the first EOS
    texts: list[str]
    group_ids: torch.Tensor  # (N,) int64
    logprobs: torch.Tensor | None = None  # (N, T) sampling log-probs, 0 where masked

    @property
    def num_tokens(self) -> int:
        return int(self.completion_mask.sum())

    def select(self, rows: Sequence[int] | np.ndarray) -> Rollout:
        """The rollout restricted to ``rows``, its padding trimmed to the longest kept row."""
        idx = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=self.completion_ids.device)
        cmask = self.completion_mask[idx]
        t = max(int(cmask.sum(dim=1).max()) if len(idx) else 1, 1)
        pmask = self.prompt_mask[idx]
        p0 = int((pmask.sum(dim=0) > 0).nonzero()[0]) if len(idx) else 0  # drop all-pad columns
        return Rollout(
            self.prompt_ids[idx, p0:],
            pmask[:, p0:],
            self.completion_ids[idx, :t],
            cmask[:, :t],
            [self.texts[int(i)] for i in idx],
            self.group_ids[idx],
            self.logprobs[idx, :t] if self.logprobs is not None else None,
        )


@dataclass
class UpdateRows:
    """The rows of a batch an update uses (ERROR verdicts left out), as arrays of one length n."""

    rows: np.ndarray  # (n,) int64 indices into the batch's responses
    rollout: Rollout  # (n rows)
    rewards: np.ndarray  # (n,) float64
    baseline_rewards: np.ndarray  # (n,) float64
    calibrated: np.ndarray  # (n,) float64: sigmoid(r - r_baseline)
    satisfied: np.ndarray  # (n,) bool
    groups: np.ndarray  # (n,) int64: the prompt each row answers (its position in the batch)


@dataclass
class RolloutBatch:
    """One task's prompts for one step and everything the stages add to them."""

    task: str
    samples_per_prompt: int  # K
    indices: list[int]  # (B,) the prompts' indices in the task's data
    messages: list[Sequence[Mapping[str, str]]]  # (B,) chat messages (what a reward model reads)
    prompts: list[str]  # (B,) the user's text (what a judge reads as Sample.prompt)
    prompt_texts: list[str]  # (B,) chat-formatted, generation prompt added
    metadata: list[Mapping[str, object]]  # (B,) what the judges read
    baselines: list[str] = field(default_factory=list)  # (B,) baseline responses a_bar
    rollout: Rollout | None = None  # generation
    verdicts: np.ndarray | None = None  # (N,) int64 1/0/-1: the judges' verdicts
    update_verdicts: np.ndarray | None = None  # (N,) what the update sees (use_judges: false -> 1)
    rewards: np.ndarray | None = None  # (N,) float64 r(s, a)
    baseline_rewards: np.ndarray | None = None  # (N,) float64 r(s, a_bar) of each row's prompt
    calibrated: np.ndarray | None = None  # (N,) float64 sigmoid(r(s, a) - r(s, a_bar))
    baseline_satisfied: np.ndarray | None = None  # (B,) bool: the update may use a_bar

    @classmethod
    def from_records(
        cls,
        task: str,
        samples_per_prompt: int,
        records: Sequence[PromptRecord],
        prompt_texts: Sequence[str],
    ) -> RolloutBatch:
        """The prompt part of a batch: ``records`` drawn from the task's data, and their
        chat-formatted texts."""
        return cls(
            task,
            samples_per_prompt,
            [r.index for r in records],
            [r.messages for r in records],
            [r.prompt for r in records],
            list(prompt_texts),
            [r.metadata for r in records],
        )

    def row_prompts(self) -> np.ndarray:
        """(N,) the prompt position of every response row."""
        return np.arange(len(self.prompts) * self.samples_per_prompt) // self.samples_per_prompt

    def without_errors(self) -> UpdateRows | None:
        """The rows whose verdict is not ERROR (``on_error="skip"``), or None when none is left."""
        assert self.rollout is not None and self.update_verdicts is not None
        assert self.rewards is not None and self.baseline_rewards is not None
        assert self.calibrated is not None
        keep = np.flatnonzero(self.update_verdicts >= 0)
        if len(keep) == 0:
            return None
        n = len(self.update_verdicts)
        r = self.rollout.select(keep) if len(keep) < n else self.rollout
        return UpdateRows(
            keep,
            r,
            np.ascontiguousarray(self.rewards[keep], dtype=np.float64),
            np.ascontiguousarray(self.baseline_rewards[keep], dtype=np.float64),
            np.ascontiguousarray(self.calibrated[keep], dtype=np.float64),
            self.update_verdicts[keep] == 1,
            r.group_ids.cpu().numpy().astype(np.int64),
        )
