"""The offline DPO baseline (``algorithm: dpo``, docs/method.md "Baselines"): fixed preference
pairs from the task's data (``chosen_column`` / ``rejected_column``), the loss of
:func:`cgpo.losses.dpo_loss` (CODPO without its lambda term), no judges and no reward model in
the update.

The trainer still samples, judges and scores responses of the step's prompts for the logs, so
DPO curves sit on the same axes as the online algorithms'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cgpo.algorithms.base import Algorithm, AlgorithmSettings, LossResult, Models
from cgpo.config.validate import Problems
from cgpo.errors import InvalidInputError

if TYPE_CHECKING:
    from cgpo.rollout.batch import Rollout, RolloutBatch


@dataclass
class DPOSettings(AlgorithmSettings):
    beta: float = field(default=0.1, metadata={"help": "DPO temperature beta."})
    chosen_column: str = field(default="chosen", metadata={"help": "The preferred response."})
    rejected_column: str = field(default="rejected", metadata={"help": "The dispreferred one."})


def preference_rollout(
    tokenizer: Any, batch: RolloutBatch, settings: DPOSettings, device: Any = "cpu"
) -> Rollout:
    """The chosen responses of the batch's prompts (rows 0..B-1), then their rejected ones
    (B..2B-1), read from the prompts' metadata."""
    from cgpo.rollout.generation import rollout_from_texts

    chosen: list[str] = []
    rejected: list[str] = []
    for index, meta in zip(batch.indices, batch.metadata, strict=True):
        for key, out in ((settings.chosen_column, chosen), (settings.rejected_column, rejected)):
            value = meta.get(key)
            if not isinstance(value, str) or not value:
                raise InvalidInputError(
                    f"task {batch.task!r}: sample {index}: column {key!r} must be a non-empty "
                    f"string for dpo, got {type(value).__name__}"
                )
            out.append(value)
    n = len(batch.indices)
    return rollout_from_texts(
        tokenizer, list(batch.prompt_texts) * 2, chosen + rejected, list(range(n)) * 2, device
    )


class DPO(Algorithm):
    name = "dpo"
    settings_type = DPOSettings

    def check(self, task: Any, where: str, problems: Problems) -> None:
        super().check(task, where, problems)
        if task.chosen_column == task.rejected_column:
            problems.add(
                f"{where}.rejected_column: must differ from chosen_column ({task.chosen_column!r})"
            )
        if task.metadata_columns is not None:
            for key in ("chosen_column", "rejected_column"):
                col = getattr(task, key)
                if col not in task.metadata_columns:
                    problems.add(
                        f"{where}.metadata_columns: dpo reads the preference column {col!r} "
                        f"({key}); add it to metadata_columns or leave metadata_columns unset"
                    )

    def required_columns(self, task: Any) -> list[str]:
        return [task.chosen_column, task.rejected_column]

    def loss(self, batch: RolloutBatch, models: Models, settings: DPOSettings) -> LossResult:
        """DPO on the batch prompts' fixed preference pairs, with the task's ``beta``."""
        from cgpo.losses import dpo_loss
        from cgpo.rollout.logprobs import completion_logprobs

        pairs = preference_rollout(models.tokenizer, batch, settings, models.device)
        n = len(pairs.texts) // 2
        logp = completion_logprobs(models.policy, pairs).sum(dim=1)  # (2n,)
        ref = models.reference.logprobs(pairs).sum(dim=1)
        loss, s = dpo_loss(logp[:n], logp[n:], ref[:n], ref[n:], beta=settings.beta)
        stats = {f"loss/{k}": float(v) for k, v in s.items()}
        stats.update(
            kl=float((logp.detach()[:n] - ref[:n]).mean()), rows_used=float(2 * n), pairs=float(n)
        )
        return loss, stats
