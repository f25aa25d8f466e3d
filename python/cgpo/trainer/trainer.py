"""``CGPOTrainer``: CGPO's multi-task loop (Algorithm 2).

Each step, for every task l: draw B_l prompts, sample K_l responses each, judge them with the
task's Mixture of Judges, score them with its reward model (calibrated against the prompt's
baseline response), compute the task's constrained loss and backpropagate rho_l * loss_l. Then one
optimizer step (gradient clipping, learning-rate schedule) updates the policy.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cgpo.errors import ConfigError
from cgpo.judges.base import Sample, Verdict
from cgpo.trainer import checkpoint as ckpt
from cgpo.trainer.config import CGPOConfig, GenerationConfig, Task
from cgpo.trainer.data import PromptRecord, PromptSampler, prepare_tasks, stable_seed
from cgpo.trainer.generation import Generator, HFGenerator, Rollout, rollout_from_texts
from cgpo.trainer.judging import build_judges, build_mixture
from cgpo.trainer.metrics import MetricsLogger
from cgpo.trainer.rewards import HFRewardModel, RewardModel, as_reward_model
from cgpo.trainer.step import Reference, ScoredRollout, task_loss


@dataclass
class _TaskRun:
    """A task and everything built for it once: prompts, judges, reward model, caches."""

    task: Task
    records: list[PromptRecord]
    sampler: PromptSampler
    members: list[Any]
    mixture: Any
    reward_model: RewardModel
    member_names: list[str]
    prompt_texts: dict[int, str] = field(default_factory=dict)
    baselines: dict[int, str] = field(default_factory=dict)
    baseline_rewards: dict[int, float] = field(default_factory=dict)
    baseline_ok: dict[int, bool] = field(default_factory=dict)


def lr_lambda(config: CGPOConfig) -> Callable[[int], float]:
    """Multiplier of the peak learning rate at step s: linear warm-up, then the schedule."""
    warm, total = config.warmup_steps, config.max_steps

    def f(s: int) -> float:
        if s < warm:
            return (s + 1) / (warm + 1)
        if config.lr_scheduler == "constant":
            return 1.0
        frac = (s - warm) / max(total - warm, 1)
        if config.lr_scheduler == "linear":
            return max(1.0 - frac, 0.0)
        return 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0)))

    return f


class CGPOTrainer:
    """Post-trains ``policy`` on ``tasks`` with CGPO.

    Parameters
    ----------
    policy, tokenizer
        A Hugging Face causal LM (optionally a PEFT model: its adapter-free base is then the
        reference) and its tokenizer (with a chat template).
    tasks
        The tasks; ``None`` takes ``config.tasks``.
    config
        Optimisation, checkpointing and logging settings.
    reference
        The frozen reference policy; default: a deep copy of ``policy`` made here.
    generator
        Samples responses (default: :class:`HFGenerator` on the policy).
    reward_models
        Reward models by name, for tasks whose ``reward_model`` is that name (otherwise
        ``'default'`` loads the built-in model and a path loads a checkpoint).
    """

    def __init__(
        self,
        policy: Any,
        tokenizer: Any,
        tasks: Sequence[Task] | None = None,
        config: CGPOConfig | None = None,
        *,
        reference: Any = None,
        generator: Generator | None = None,
        reward_models: Mapping[str, Any] | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.config = config or CGPOConfig()
        tasks = list(tasks) if tasks is not None else list(self.config.tasks)
        if not tasks:
            raise ConfigError("tasks: a CGPO run needs at least one task")
        self.config.tasks = tasks
        self.policy, self.tokenizer, self.log = policy, tokenizer, log
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.device = next(policy.parameters()).device
        if hasattr(policy, "disable_adapter") and reference is None:
            self.reference = Reference(None, peft_policy=policy)
        else:
            ref = reference if reference is not None else copy.deepcopy(policy)
            ref.eval().requires_grad_(False)
            self.reference = Reference(ref)
        if any(t.optimizer == "ppo" for t in tasks):
            # after the reference copy (the reference needs no value head), before the optimizer
            from cgpo.trainer.ppo import attach_value_head

            attach_value_head(policy)
        self.generator = generator or HFGenerator(policy, tokenizer)
        self._ref_generator = (
            HFGenerator(self.reference.model, tokenizer)
            if self.reference.model is not None
            else None
        )
        self._reward_cache: dict[str, RewardModel] = {}
        named = dict(reward_models or {})
        self.runs: list[_TaskRun] = []
        for task, records in prepare_tasks(tasks):
            members = build_judges(task)
            names = [str(getattr(m, "name", type(m).__name__)) for m in members]
            names = [n if names.count(n) == 1 else f"{n}{i}" for i, n in enumerate(names)]
            self.runs.append(
                _TaskRun(
                    task,
                    records,
                    PromptSampler(len(records), self.config.seed, task.name),
                    members,
                    build_mixture(task, members),
                    self._reward_model(task, named),
                    names,
                )
            )
        params = [p for p in policy.parameters() if p.requires_grad]
        c = self.config
        if c.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(
                params, lr=c.learning_rate, weight_decay=c.weight_decay
            )
        else:
            cls = torch.optim.AdamW if c.optimizer == "adamw" else torch.optim.Adam
            self.optimizer = cls(
                params,
                lr=c.learning_rate,
                weight_decay=c.weight_decay,
                betas=(c.adam_beta1, c.adam_beta2),
            )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(c))
        self.step_count = 0

    # -- building blocks -------------------------------------------------------------------------

    def _reward_model(self, task: Task, named: Mapping[str, Any]) -> RewardModel:
        spec = task.reward_model
        if isinstance(spec, str):
            if spec in named:
                return as_reward_model(named[spec])
            if spec not in self._reward_cache:
                if spec == "default":
                    from cgpo.tasks.reward_model import default_reward_model

                    self._reward_cache[spec] = default_reward_model(self.device, log=self.log)
                else:
                    self._reward_cache[spec] = HFRewardModel.from_pretrained(
                        spec, device=str(self.device)
                    )
            return self._reward_cache[spec]
        return as_reward_model(spec)

    def _prompt_text(self, run: _TaskRun, i: int) -> str:
        if i not in run.prompt_texts:
            run.prompt_texts[i] = self.tokenizer.apply_chat_template(
                list(run.records[i].messages), add_generation_prompt=True, tokenize=False
            )
        return run.prompt_texts[i]

    def _ensure_baselines(self, run: _TaskRun, idx: Sequence[int]) -> None:
        """Baseline a_bar of each prompt: the data's, else the reference's greedy response
        (generated once; greedy so it costs no randomness and is the same after a resume)."""
        missing = sorted({i for i in idx if i not in run.baseline_rewards})
        if not missing:
            return
        to_generate = [i for i in missing if run.records[i].baseline is None]
        for i in missing:
            if run.records[i].baseline is not None:
                run.baselines[i] = str(run.records[i].baseline)
        if to_generate:
            settings = GenerationConfig(
                max_new_tokens=run.task.generation.max_new_tokens, temperature=0.0
            )
            prompts = [self._prompt_text(run, i) for i in to_generate]
            texts = self._generate_reference(prompts, settings)
            run.baselines.update(zip(to_generate, texts, strict=True))
        recs = [run.records[i] for i in missing]
        scores = run.reward_model.score(
            [list(r.messages) for r in recs], [run.baselines[i] for i in missing]
        )
        verdicts = run.mixture.judge(
            [
                Sample(r.prompt, run.baselines[i], r.metadata)
                for r, i in zip(recs, missing, strict=True)
            ]
        )
        for i, s, v in zip(missing, scores, verdicts, strict=True):
            run.baseline_rewards[i] = float(s)
            run.baseline_ok[i] = v == Verdict.SATISFIED

    def _baseline_rollout(
        self, run: _TaskRun, idx: Sequence[int]
    ) -> Callable[[list[int]], Rollout]:
        def build(groups: list[int]) -> Rollout:
            return rollout_from_texts(
                self.tokenizer,
                [self._prompt_text(run, idx[g]) for g in groups],
                [run.baselines[idx[g]] for g in groups],
                groups,
                self.device,
            )

        return build

    # -- one step --------------------------------------------------------------------------------

    def _task_step(self, run: _TaskRun) -> dict[str, Any]:
        """Algorithm 1 for one task: sample, judge, score, backpropagate rho * loss."""
        task = run.task
        t_start = time.perf_counter()
        idx = run.sampler.next(task.prompts_per_step)
        records = [run.records[i] for i in idx]
        t0 = time.perf_counter()
        self._ensure_baselines(run, idx)
        t_baseline = time.perf_counter() - t0

        # Each (step, task) draws from its own seed: a task's samples do not depend on which
        # other tasks ran before it, and a resumed run samples exactly what a straight one would.
        torch.manual_seed(stable_seed(self.config.seed, self.step_count, task.name))
        t0 = time.perf_counter()
        rollout = self.generator.generate(
            [self._prompt_text(run, i) for i in idx], task.samples_per_prompt, task.generation
        )
        t_gen = time.perf_counter() - t0
        k = task.samples_per_prompt

        t0 = time.perf_counter()
        before = _member_counts(run)
        samples = [
            Sample(records[j // k].prompt, text, records[j // k].metadata)
            for j, text in enumerate(rollout.texts)
        ]
        verdicts = np.array([int(v) for v in run.mixture.judge(samples)], dtype=np.int64)
        after = _member_counts(run)
        t_judge = time.perf_counter() - t0

        t0 = time.perf_counter()
        rewards = np.asarray(
            run.reward_model.score(
                [list(records[j // k].messages) for j in range(len(samples))], rollout.texts
            ),
            dtype=np.float64,
        )
        t_rm = time.perf_counter() - t0
        base = np.array([run.baseline_rewards[idx[j // k]] for j in range(len(samples))])
        # use_judges: false (CGPO without judges): the update sees every response and baseline
        # as satisfied; the pass rates logged below still come from the real verdicts.
        scored = ScoredRollout(
            rollout,
            verdicts if task.use_judges else np.ones_like(verdicts),
            rewards,
            base,
            np.array([run.baseline_ok[i] or not task.use_judges for i in idx]),
        )

        t0 = time.perf_counter()
        loss: torch.Tensor | None
        if task.optimizer == "ppo":
            from cgpo.trainer.ppo import ppo_task_loss

            loss, stats = ppo_task_loss(task, self.policy, self.reference, scored)
        elif task.optimizer == "dpo":
            from cgpo.trainer.dpo import dpo_task_loss, preference_rollout

            pairs = preference_rollout(
                self.tokenizer, task, [self._prompt_text(run, i) for i in idx], records, self.device
            )
            loss, stats = dpo_task_loss(task, self.policy, self.reference, pairs)
        else:
            loss, stats = task_loss(
                task, self.policy, self.reference, scored, self._baseline_rollout(run, idx)
            )
        if loss is not None and task.weight > 0:
            (task.weight * loss).backward()
        t_update = time.perf_counter() - t0
        total = time.perf_counter() - t_start

        lengths = rollout.completion_mask.sum(dim=1).float()
        calibrated = 1.0 / (1.0 + np.exp(-(rewards - base)))
        rec: dict[str, Any] = {
            "task": task.name,
            "optimizer": task.optimizer,
            "loss": float(loss.detach()) if loss is not None else None,
            "reward": float(rewards.mean()),
            "calibrated_reward": float(calibrated.mean()),
            "baseline_reward": float(base.mean()),
            "satisfied": float((verdicts == int(Verdict.SATISFIED)).mean()),
            "judge_error_rate": float((verdicts == int(Verdict.ERROR)).mean()),
            "kl": stats.pop("kl", None),
            "response_length": float(lengths.mean()),
            "tokens": rollout.num_tokens,
            "tokens_per_s": rollout.num_tokens / t_gen if t_gen > 0 else None,
            "time_generation": t_gen,
            "time_baseline": t_baseline,
            "time_judges": t_judge,
            "time_reward_model": t_rm,
            "time_update": t_update,
            "time_task": total,
            "judge_time_share": t_judge / total if total > 0 else 0.0,
        }
        for name, a in after.items():
            b = before[name]
            n = a.total - b.total
            rec[f"judge/{name}/pass_rate"] = (a.satisfied - b.satisfied) / n if n else None
            rec[f"judge/{name}/error_rate"] = (a.errors - b.errors) / n if n else None
        rec.update(stats)
        return rec

    def accumulate_gradients(self) -> list[dict[str, Any]]:
        """Every task's rho-weighted loss backpropagated into ``.grad`` (no optimizer step)."""
        self.policy.eval()  # no dropout: the sampled and the trained distribution are the same
        return [self._task_step(run) for run in self.runs]

    def step(self) -> list[dict[str, Any]]:
        """One CGPO step (Algorithm 2); returns one metrics record per task."""
        t0 = time.perf_counter()
        records = self.accumulate_gradients()
        params = [p for p in self.policy.parameters() if p.requires_grad]
        grads = [p.grad for p in params if p.grad is not None]
        if self.config.max_grad_norm > 0 and grads:
            norm = float(torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm))
        else:  # no task produced a loss (e.g. nothing satisfied anywhere): nothing to clip
            norm = (
                float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))
                if grads
                else 0.0
            )
        lr = self.scheduler.get_last_lr()[0]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step_count += 1
        dt = time.perf_counter() - t0
        for r in records:
            r.update(step=self.step_count, lr=lr, grad_norm=norm, step_time=dt)
        return records

    # -- evaluation ------------------------------------------------------------------------------

    def _generate_reference(self, prompts: list[str], settings: GenerationConfig) -> list[str]:
        if self._ref_generator is not None:
            return self._ref_generator.generate(prompts, 1, settings).texts
        with self.policy.disable_adapter():
            return self.generator.generate(prompts, 1, settings).texts

    @torch.no_grad()
    def evaluate(self, num_prompts: int, *, reference: bool = False) -> dict[str, dict[str, float]]:
        """Judge pass rates of greedy responses on each task's first ``num_prompts`` prompts, of
        the policy (or of the reference policy, i.e. the model before training)."""
        out: dict[str, dict[str, float]] = {}
        for run in self.runs:
            idx = list(range(min(num_prompts, len(run.records))))
            settings = GenerationConfig(
                max_new_tokens=run.task.generation.max_new_tokens, temperature=0.0
            )
            prompts = [self._prompt_text(run, i) for i in idx]
            texts = (
                self._generate_reference(prompts, settings)
                if reference
                else self.generator.generate(prompts, 1, settings).texts
            )
            samples = [
                Sample(run.records[i].prompt, t, run.records[i].metadata)
                for i, t in zip(idx, texts, strict=True)
            ]
            verdicts = run.mixture.judge(samples)
            res = {"pass_rate": sum(v == Verdict.SATISFIED for v in verdicts) / len(verdicts)}
            for name, m in zip(run.member_names, run.members, strict=True):
                vs = m.judge(samples)
                res[f"{name}/pass_rate"] = sum(v == Verdict.SATISFIED for v in vs) / len(vs)
            out[run.task.name] = res
        return out

    # -- checkpoints -----------------------------------------------------------------------------

    def _state(self, samplers: list[dict[str, int]] | None = None) -> dict[str, Any]:
        return {
            "samplers": samplers or [r.sampler.state_dict() for r in self.runs],
            "tasks": [r.task.name for r in self.runs],
            "baselines": [
                {
                    str(i): [r.baselines[i], r.baseline_rewards[i], r.baseline_ok[i]]
                    for i in r.baseline_rewards
                }
                for r in self.runs
            ],
        }

    def save_checkpoint(self, samplers: list[dict[str, int]] | None = None) -> Path:
        return ckpt.save_checkpoint(
            self.config.output_dir,
            self.step_count,
            self.policy,
            self.optimizer,
            self.scheduler,
            self._state(samplers),
            keep=self.config.save_total_limit,
        )

    def load_checkpoint(self, path: str | Path) -> None:
        state = ckpt.load_checkpoint(path, self.policy, self.optimizer, self.scheduler)
        if state["tasks"] != [r.task.name for r in self.runs]:
            raise ConfigError(
                f"tasks: the checkpoint {path} was written for tasks {state['tasks']}, "
                f"this config has {[r.task.name for r in self.runs]}"
            )
        self.step_count = int(state["step"])
        for run, s, b in zip(self.runs, state["samplers"], state["baselines"], strict=True):
            run.sampler.load_state_dict(s)
            for i, (text, reward, ok) in b.items():
                run.baselines[int(i)] = text
                run.baseline_rewards[int(i)] = float(reward)
                run.baseline_ok[int(i)] = bool(ok)

    # -- the loop --------------------------------------------------------------------------------

    def train(self, *, resume: bool = False, until: int | None = None) -> list[dict[str, Any]]:
        """Runs until ``config.max_steps`` (or stops early after step ``until``, leaving the
        schedule as it is); with ``resume``, continues from the newest checkpoint in
        ``config.output_dir``. Checkpoints every ``save_steps``, at the end, and on Ctrl-C."""
        c = self.config
        stop = c.max_steps if until is None else min(until, c.max_steps)
        resume_step = None
        if resume:
            found = ckpt.list_checkpoints(c.output_dir)
            if found:
                self.load_checkpoint(found[-1])
                resume_step = self.step_count
                self.log(f"resumed from {found[-1]} (step {self.step_count})")
            else:
                self.log(f"no checkpoint in {c.output_dir}; starting from step 0")
        logger = MetricsLogger(c.output_dir, tensorboard=c.tensorboard, resume_step=resume_step)
        history: list[dict[str, Any]] = []
        bar = None
        if c.progress_bar:
            from tqdm.auto import tqdm

            bar = tqdm(total=c.max_steps, initial=self.step_count, desc="cgpo", unit="step")
        try:
            while self.step_count < stop:
                samplers = [r.sampler.state_dict() for r in self.runs]
                try:
                    records = self.step()
                except KeyboardInterrupt:
                    # the interrupted step never happened: drop its gradients and data draws
                    self.optimizer.zero_grad(set_to_none=True)
                    path = self.save_checkpoint(samplers)
                    self.log(f"\ninterrupted: saved {path}; continue with --resume")
                    raise
                for r in records:
                    logger.log(r)
                history.extend(records)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(
                        {
                            r["task"]: f"sat {r['satisfied']:.2f} R {r['calibrated_reward']:.2f}"
                            for r in records
                        }
                    )
                if c.save_steps and self.step_count % c.save_steps == 0:
                    self.save_checkpoint()
            if not (c.save_steps and self.step_count % c.save_steps == 0):
                self.save_checkpoint()
        finally:
            if bar is not None:
                bar.close()
            logger.close()
        return history

    def save_model(self, path: str | Path) -> None:
        """Writes the policy and tokenizer as a Hugging Face checkpoint."""
        self.policy.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))


def _member_counts(run: _TaskRun) -> dict[str, Any]:
    """Cumulative verdict counts per member judge (the mixture keeps them; a member judge that
    is a plain ``BaseJudge`` keeps its own)."""
    per_member = getattr(run.mixture, "member_stats", None)
    if per_member is not None:
        return {n: copy.copy(s) for n, s in per_member.items()}
    return {
        n: copy.copy(m.stats)
        for n, m in zip(run.member_names, run.members, strict=True)
        if hasattr(getattr(m, "stats", None), "total")
    }
