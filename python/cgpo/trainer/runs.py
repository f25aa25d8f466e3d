"""A task and everything built for it once per run: prompts and their sampler, judges and their
mixture, reward model, algorithm and settings, baselines, chat-formatted prompt texts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cgpo.algorithms.base import Algorithm, AlgorithmSettings, get_algorithm
from cgpo.config.task import Task
from cgpo.data import PromptRecord, PromptSampler, prepare_tasks
from cgpo.rewards.models import RewardModel
from cgpo.rollout.baselines import Baselines
from cgpo.rollout.batch import RolloutBatch
from cgpo.rollout.judging import build_judges, build_mixture, member_names
from cgpo.rollout.scoring import RewardModels


@dataclass
class TaskRun:
    task: Task
    records: list[PromptRecord]
    sampler: PromptSampler
    members: list[Any]
    member_names: list[str]
    mixture: Any
    reward_model: RewardModel
    algorithm: Algorithm
    settings: AlgorithmSettings
    baselines: Baselines = field(default_factory=Baselines)
    texts: dict[int, str] = field(default_factory=dict)

    def prompt_text(self, tokenizer: Any, i: int) -> str:
        """Prompt ``i`` chat-formatted with the generation prompt (formatted once)."""
        if i not in self.texts:
            self.texts[i] = tokenizer.apply_chat_template(
                list(self.records[i].messages), add_generation_prompt=True, tokenize=False
            )
        return self.texts[i]

    def batch(self, tokenizer: Any, idx: Sequence[int]) -> RolloutBatch:
        """The prompt part of a rollout batch for prompts ``idx``."""
        return RolloutBatch.from_records(
            self.task.name,
            self.task.samples_per_prompt,
            [self.records[i] for i in idx],
            [self.prompt_text(tokenizer, i) for i in idx],
        )


def build_task_runs(tasks: Sequence[Task], seed: int, reward_models: RewardModels) -> list[TaskRun]:
    """Loads and checks every task's prompts and judges, and builds what its steps reuse."""
    runs = []
    for task, records in prepare_tasks(tasks):
        members = build_judges(task)
        algorithm = get_algorithm(task.algorithm)
        runs.append(
            TaskRun(
                task,
                records,
                PromptSampler(len(records), seed, task.name),
                members,
                member_names(members),
                build_mixture(task, members),
                reward_models.get(task.reward_model),
                algorithm,
                algorithm.settings(task),
            )
        )
    return runs
