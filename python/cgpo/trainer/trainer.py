"""``CGPOTrainer``: CGPO's multi-task loop (Algorithm 2; docs/method.md).

Each step, for every task l: draw B_l prompts -> sample K_l responses each -> judge them with the
task's Mixture of Judges -> score them with its reward model, calibrated against each prompt's
baseline response -> the task's algorithm turns the batch into a loss -> backpropagate
rho_l * loss_l. Then one optimizer step (gradient clipping, learning-rate schedule), log,
checkpoint. The stages live in :mod:`cgpo.rollout`, the update rules in :mod:`cgpo.algorithms`.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from cgpo.algorithms.base import Models
from cgpo.config.generation import GenerationConfig
from cgpo.config.run import CGPOConfig
from cgpo.config.task import Task
from cgpo.data import stable_seed
from cgpo.distributed import TaskGradients, current
from cgpo.errors import ConfigError
from cgpo.evaluation import EvalOutcome, EvalSet, build_eval_sets, run_eval
from cgpo.precision import autocast, autocast_dtype
from cgpo.rollout.generation import Generator, HFGenerator
from cgpo.rollout.judging import member_counts
from cgpo.rollout.logprobs import Reference
from cgpo.rollout.overlap import generate_and_judge
from cgpo.rollout.scoring import RewardModels, score_batch
from cgpo.trainer import checkpoint as ckpt
from cgpo.trainer.evaluate import evaluate
from cgpo.trainer.metrics import MetricsLogger, merge_rank_records, progress_bar, task_record
from cgpo.trainer.optim import build_optimizer, clip_gradients, lr_lambda
from cgpo.trainer.rollouts_log import RolloutsWriter, rollout_rows
from cgpo.trainer.runs import TaskRun, build_task_runs


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
        Samples responses (default: :class:`~cgpo.rollout.generation.HFGenerator` on the policy).
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
        # under torchrun, each rank takes its share of every task's prompts (cgpo.distributed)
        self.ranks = current()
        for t in tasks:
            if t.prompts_per_step < self.ranks.size:
                raise ConfigError(
                    f"task {t.name!r}.prompts_per_step: {t.prompts_per_step} prompts cannot be "
                    f"shared by {self.ranks.size} ranks; use >= {self.ranks.size}"
                )
        self.policy, self.tokenizer = policy, tokenizer
        self.log = log if self.ranks.is_main else (lambda _: None)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.device = next(policy.parameters()).device
        if hasattr(policy, "disable_adapter") and reference is None:
            self.reference = Reference(None, peft_policy=policy)
        else:
            ref = reference if reference is not None else copy.deepcopy(policy)
            ref.eval().requires_grad_(False)
            self.reference = Reference(ref)
        self.runs: list[TaskRun] = build_task_runs(
            tasks, self.config.seed, RewardModels(reward_models or {}, self.device, log)
        )
        # after the reference copy (it needs no value head), before the optimizer sees the params
        for algorithm in {id(r.algorithm): r.algorithm for r in self.runs}.values():
            algorithm.prepare_policy(policy)
        self.ranks.broadcast_module(policy)
        if self.reference.model is not None:
            self.ranks.broadcast_module(self.reference.model)
        self.generator = generator or HFGenerator(policy, tokenizer)
        self._ref_generator = (
            HFGenerator(self._sampling_copy(self.reference.model), tokenizer)
            if self.reference.model is not None
            else None
        )
        self.vllm: Any = None  # the vLLM engine, when a task asks for it
        if any(t.generation.backend == "vllm" for t in tasks):
            from cgpo.rollout.vllm_backend import VLLMGenerator

            self.vllm = VLLMGenerator(policy, tokenizer)
        self.models = Models(
            policy,
            self.reference,
            tokenizer,
            self.device,
            micro_batch_size=self.config.micro_batch_size,
            ranks=self.ranks,
        )
        self.optimizer = build_optimizer(
            [p for p in policy.parameters() if p.requires_grad], self.config
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(self.config))
        self.step_count = 0
        self.rollouts: RolloutsWriter | None = None
        self._training = False

    def _sampling_copy(self, frozen: Any) -> Any:
        """The frozen reference as it samples baselines: under mixed precision a bfloat16 copy,
        since autocast caches the cast of trainable weights only and would otherwise cast every
        weight again for every token."""
        dtype = autocast_dtype(self.config.mixed_precision)
        if dtype is None:
            return frozen
        return copy.deepcopy(frozen).to(dtype)

    def _autocast(self, *, cache: bool = True) -> Any:
        """``config.mixed_precision``'s autocast block (cache off where a pass backpropagates)."""
        return autocast(self.device, self.config.mixed_precision, cache=cache)

    # -- one step --------------------------------------------------------------------------------

    def _task_step(self, run: TaskRun) -> dict[str, Any]:
        """Algorithm 1 for one task: draw, generate, judge, score, backpropagate rho * loss."""
        task, times = run.task, {}
        t_start = t0 = time.perf_counter()
        idx = self.ranks.shard(run.sampler.next(task.prompts_per_step))
        batch = run.batch(self.tokenizer, idx)
        with self._autocast():
            run.baselines.ensure(
                run.records, idx, self._baseline_generator(run), run.reward_model, run.mixture
            )
        batch.baselines, base_rewards, base_ok = run.baselines.of(idx)
        times["baseline"] = time.perf_counter() - t0

        # Each (step, task) draws from its own seed: a task's samples do not depend on which
        # other tasks ran before it, and a resumed run samples exactly what a straight one would.
        rank = [self.ranks.rank] if self.ranks.size > 1 else []  # ranks sample independently
        torch.manual_seed(stable_seed(self.config.seed, self.step_count, task.name, *rank))
        generator = self.vllm if task.generation.backend == "vllm" else self.generator
        before = member_counts(run.mixture, run.members, run.member_names)
        # responses are judged on a worker thread as they end, while the others still generate
        with self._autocast():
            times.update(
                generate_and_judge(
                    generator, run.mixture, batch, task.generation, use_judges=task.use_judges
                )
            )
        after = member_counts(run.mixture, run.members, run.member_names)

        t0 = time.perf_counter()
        with self._autocast():
            score_batch(run.reward_model, batch, base_rewards, base_ok, use_judges=task.use_judges)
        times["reward_model"] = time.perf_counter() - t0
        if self._training:  # log what the policy wrote, every rank's share on rank 0
            rows = self.ranks.gather(list(rollout_rows(self.step_count + 1, batch)))
            if self.rollouts is not None:
                self.rollouts.write_rows(row for part in rows for row in part)

        t0 = time.perf_counter()
        ref_busy = self.reference.busy_s
        # CRPG, CRRAFT and CODPO backpropagate rho * loss themselves, a micro-batch at a time,
        # and return it detached; a loss that still has a graph is backpropagated here
        models = dataclasses.replace(self.models, loss_scale=task.weight)
        with self._autocast(cache=False):
            loss, stats = run.algorithm.loss(batch, models, run.settings)
            if loss is not None and loss.requires_grad and task.weight > 0:
                (task.weight * loss).backward()
        times["reference"] = self.reference.busy_s - ref_busy
        times["update"] = time.perf_counter() - t0
        times["task"] = time.perf_counter() - t_start
        value = float(loss.detach()) if loss is not None else None
        order = (
            "generation",
            "baseline",
            "judges",
            "judges_wait",
            "reward_model",
            "update",
            "reference",
            "task",
        )
        return task_record(task, batch, value, stats, {k: times[k] for k in order}, (before, after))

    def accumulate_gradients(self) -> list[dict[str, Any]]:
        """Every task's rho-weighted loss backpropagated into ``.grad`` (no optimizer step).

        With several ranks, a task's loss is the mean over this rank's rows; it is weighted by
        the rank's share of the task's rows, so that the sum over ranks (``step``) is the mean
        over the whole minibatch, as one process computes it."""
        self.policy.eval()  # no dropout: the sampled and the trained distribution are the same
        if self.ranks.size == 1:
            return [dict(self._task_step(run), world_size=1) for run in self.runs]
        grads = TaskGradients([p for p in self.policy.parameters() if p.requires_grad])
        records = []
        for run in self.runs:
            grads.begin_task()
            rec = self._task_step(run)
            rec["loss_terms"] = run.algorithm.loss_terms(rec)
            grads.end_task(self.ranks.share(rec["loss_terms"]))
            records.append(
                dict(merge_rank_records(self.ranks.gather(rec)), world_size=self.ranks.size)
            )
        grads.restore()
        return records

    def step(self) -> list[dict[str, Any]]:
        """One CGPO step (Algorithm 2); returns one metrics record per task."""
        t0 = time.perf_counter()
        records = self.accumulate_gradients()
        params = [p for p in self.policy.parameters() if p.requires_grad]
        self.ranks.sum_gradients(params)  # every rank then takes the same step
        norm = clip_gradients(params, self.config.max_grad_norm)
        lr = self.scheduler.get_last_lr()[0]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.vllm is not None:  # the engine samples the next step from the new weights
            self.vllm.sync_weights()
        self.step_count += 1
        dt = time.perf_counter() - t0
        for r in records:
            r.update(step=self.step_count, lr=lr, grad_norm=norm, step_time=dt)
        return records

    # -- generation with the reference, evaluation -----------------------------------------------

    def _generate_reference(self, prompts: list[str], settings: GenerationConfig) -> list[str]:
        if self._ref_generator is not None:
            return self._ref_generator.generate(prompts, 1, settings).texts
        with self.policy.disable_adapter():
            return self.generator.generate(prompts, 1, settings).texts

    def _baseline_generator(self, run: TaskRun) -> Callable[[list[int]], list[str]]:
        settings = GenerationConfig(
            max_new_tokens=run.task.generation.max_new_tokens, temperature=0
        )
        return lambda idx: self._generate_reference(
            [run.prompt_text(self.tokenizer, i) for i in idx], settings
        )

    @torch.no_grad()
    def evaluate(self, num_prompts: int, *, reference: bool = False) -> dict[str, dict[str, float]]:
        """Judge pass rates of greedy responses on each task's first ``num_prompts`` prompts, of
        the policy (or of the reference policy, i.e. the model before training)."""
        generate = (
            self._generate_reference
            if reference
            else lambda p, s: self.generator.generate(p, 1, s).texts
        )
        with self._autocast():
            return evaluate(self.runs, self.tokenizer, generate, num_prompts)

    @torch.no_grad()
    def evaluate_heldout(
        self, num_prompts: int, *, reference: bool = False
    ) -> tuple[list[EvalSet], dict[str, EvalOutcome]]:
        """Greedy responses of the policy (or the reference) to each task's first
        ``num_prompts`` held-out prompts, judged by its mixture (see :mod:`cgpo.evaluation`)."""
        sets, missing = build_eval_sets(
            [(r.task, r.records, r.mixture) for r in self.runs], num_prompts
        )
        for name in missing:
            self.log(f"task {name!r} has no evaluation split (set eval_data); not evaluated")

        def generate(prompts: list[str], max_new_tokens: int) -> list[str]:
            settings = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0)
            if reference:
                return self._generate_reference(prompts, settings)
            return self.generator.generate(prompts, 1, settings).texts

        with self._autocast():
            return sets, run_eval(sets, self.tokenizer, generate)

    # -- checkpoints and the loop ----------------------------------------------------------------

    def save_checkpoint(self, samplers: list[dict[str, int]] | None = None) -> Path:
        """Writes ``checkpoint-STEP`` (rank 0; every rank's cached baselines in it)."""
        if self.ranks.size > 1:
            for run in self.runs:
                for part in self.ranks.gather(run.baselines.state_dict()):
                    run.baselines.load_state_dict(part)
        path = Path(self.config.output_dir) / f"checkpoint-{self.step_count}"
        if self.ranks.is_main:
            path = ckpt.save_checkpoint(
                self.config.output_dir,
                self.step_count,
                self.policy,
                self.optimizer,
                self.scheduler,
                ckpt.runs_state(self.runs, samplers),
                keep=self.config.save_total_limit,
            )
        self.ranks.barrier()  # no rank reads a checkpoint before it is complete
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        state = ckpt.load_checkpoint(path, self.policy, self.optimizer, self.scheduler)
        ckpt.restore_runs(self.runs, state, path)
        self.step_count = int(state["step"])

    def train(self, *, resume: bool = False, until: int | None = None) -> list[dict[str, Any]]:
        """Runs until ``config.max_steps`` (or stops early after step ``until``, leaving the
        schedule as it is); with ``resume``, continues from the newest checkpoint in
        ``config.output_dir``. Checkpoints every ``save_steps``, at the end, and on Ctrl-C."""
        c = self.config
        stop = c.max_steps if until is None else min(until, c.max_steps)
        resume_step = self._resume() if resume else None
        main = self.ranks.is_main  # rank 0 alone writes
        logger = (
            MetricsLogger(c.output_dir, tensorboard=c.tensorboard, resume_step=resume_step)
            if main
            else None
        )
        if main:
            self.rollouts = RolloutsWriter(c.output_dir, resume=resume_step is not None)
        self._training = True
        history: list[dict[str, Any]] = []
        bar = progress_bar(c.max_steps, self.step_count) if c.progress_bar and main else None
        try:
            while self.step_count < stop:
                samplers = [r.sampler.state_dict() for r in self.runs]
                try:
                    records = self.step()
                except KeyboardInterrupt:
                    if self.ranks.size > 1:  # the other ranks may be anywhere in the step
                        raise
                    # the interrupted step never happened: drop its gradients and data draws
                    self.optimizer.zero_grad(set_to_none=True)
                    path = self.save_checkpoint(samplers)
                    self.log(f"\ninterrupted: saved {path}; continue with --resume")
                    raise
                for r in records:
                    if logger is not None:
                        logger.log(r)
                history.extend(records)
                if bar is not None:
                    bar.update(records)
                if c.save_steps and self.step_count % c.save_steps == 0:
                    self.save_checkpoint()
            if not (c.save_steps and self.step_count % c.save_steps == 0):
                self.save_checkpoint()
        finally:
            if bar is not None:
                bar.close()
            if logger is not None:
                logger.close()
            if self.rollouts is not None:
                self.rollouts.close()
            self.rollouts = None
            self._training = False
        return history

    def _resume(self) -> int | None:
        found = ckpt.list_checkpoints(self.config.output_dir)
        if not found:
            self.log(f"no checkpoint in {self.config.output_dir}; starting from step 0")
            return None
        self.load_checkpoint(found[-1])
        self.log(f"resumed from {found[-1]} (step {self.step_count})")
        return self.step_count

    def save_model(self, path: str | Path) -> None:
        """Writes the policy and tokenizer as a Hugging Face checkpoint (rank 0)."""
        if self.ranks.is_main:
            self.policy.save_pretrained(str(path))
            self.tokenizer.save_pretrained(str(path))
        self.ranks.barrier()
