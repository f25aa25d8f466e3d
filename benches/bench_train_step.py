"""One CGPO training step on the default setup, split into its parts, next to TRL's GRPOTrainer
doing the same work (same model, prompts, K, completion length, dtype, judge and reward model).

Each trainer runs in its own child process, so each peak RSS (``resource.getrusage``, the
kernel's high-water mark) is that trainer's alone. Prints a markdown table.

    python benches/bench_train_step.py                      # 8 prompts x 4 samples x 64 tokens
    python benches/bench_train_step.py --prompts 2 --k 4 --tokens 32 --steps 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _prompts(n: int) -> list[dict[str, Any]]:
    # the instruction prompts: SmolLM2-135M satisfies some of them, so CRPG has a non-zero
    # advantage and really runs its forward/backward (with nothing satisfied it skips them)
    from cgpo.tasks.instructions import instruction_rows

    rows = instruction_rows()[:n]
    return [
        {
            "messages": [{"role": "user", "content": r["prompt"]}],
            "instruction_id_list": r["instruction_id_list"],
            "kwargs": r["kwargs"],
        }
        for r in rows
    ]


META = ["instruction_id_list", "kwargs"]


def worker_cgpo(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from cgpo.models import load_smollm2
    from cgpo.trainer import CGPOConfig, CGPOTrainer, GenerationConfig, Task

    model, tok = load_smollm2(dtype=torch.float32)
    task = Task(
        name="instructions",
        data=_prompts(args.prompts * args.steps),
        judges=[{"type": "instructions"}],
        algorithm="crpg",
        samples_per_prompt=args.k,
        prompts_per_step=args.prompts,
        generation=GenerationConfig(max_new_tokens=args.tokens, temperature=1.0),
        metadata_columns=META,
    )
    with tempfile.TemporaryDirectory() as out:
        config = CGPOConfig(
            tasks=[task],
            max_steps=args.steps,
            save_steps=0,
            output_dir=out,
            progress_bar=False,
            tensorboard=False,
            learning_rate=1e-6,
        )
        trainer = CGPOTrainer(model, tok, config=config, log=lambda s: None)
        records = []
        for _ in range(args.steps):
            c0 = _cpu_s()
            (rec,) = trainer.step()
            rec["cpu_s"] = _cpu_s() - c0
            records.append(rec)
        # With nothing satisfied in a batch CRPG skips its passes (zero gradient), so the timed
        # steps may contain no update. Time one update on a fresh rollout of the same size
        # with every other response marked satisfied, to know what a step with an update costs.
        import numpy as np

        from cgpo import selection

        run = trainer.runs[0]
        batch = run.batch(tok, list(range(args.prompts)))
        batch.rollout = trainer.generator.generate(batch.prompt_texts, args.k, task.generation)
        n = len(batch.rollout.texts)
        batch.verdicts = batch.update_verdicts = np.arange(n) % 2
        batch.rewards, batch.baseline_rewards = np.linspace(-1, 1, n), np.zeros(n)
        batch.calibrated = selection.calibrated_reward(batch.rewards, batch.baseline_rewards)
        batch.baseline_satisfied = np.zeros(args.prompts, dtype=bool)
        t0 = time.perf_counter()
        loss, _ = run.algorithm.loss(batch, trainer.models, run.settings)
        assert loss is not None
        loss.backward()
        forced_update = time.perf_counter() - t0
    # the first step also generates and scores the baseline responses (once per prompt)
    steady = records[1:] or records

    def mean(key: str) -> float:
        return sum(float(r[key]) for r in steady) / len(steady)

    step = mean("step_time")
    return {
        "trainer": "cgpo",
        "step_s": step,
        "steps_per_s": 1.0 / step,
        "cpu_s": mean("cpu_s"),
        "generation_s": mean("time_generation"),
        "baseline_s": mean("time_baseline"),
        "judges_s": mean("time_judges"),
        "reward_model_s": mean("time_reward_model"),
        "update_s": mean("time_update"),
        "optimizer_s": step - mean("time_task"),
        "forced_update_s": forced_update,
        "step_with_update_s": step - mean("time_update") + forced_update,
        "judge_share": mean("time_judges") / step,
        "first_step_s": float(records[0]["step_time"]),
        "completion_tokens": mean("tokens"),
        "peak_rss_gib": _peak_rss_gib(),
    }


def worker_trl(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from cgpo.judges.base import Sample, Verdict
    from cgpo.judges.registry import create_judge
    from cgpo.models import load_smollm2
    from cgpo.tasks.reward_model import default_reward_model

    model, tok = load_smollm2(dtype=torch.float32)
    rm = default_reward_model("cpu", log=lambda s: None)

    def rm_reward(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return rm.score(prompts, texts)

    rows = _prompts(args.prompts * args.steps)
    ds = Dataset.from_list([{"prompt": r["messages"]} for r in rows])
    # the judge's metadata by prompt text (IFEval kwargs dicts do not survive Arrow unchanged)
    meta = {r["messages"][-1]["content"]: {k: r[k] for k in META} for r in rows}
    judge = create_judge({"type": "instructions"})

    def judge_reward(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        samples = [
            Sample(p[-1]["content"], c[-1]["content"], meta[p[-1]["content"]])
            for p, c in zip(prompts, completions, strict=True)
        ]
        return [float(v == Verdict.SATISFIED) for v in judge.judge(samples)]

    times: list[float] = []
    cpu: list[float] = []

    class Timer(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.t0, self.c0 = time.perf_counter(), _cpu_s()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            times.append(time.perf_counter() - self.t0)
            cpu.append(_cpu_s() - self.c0)

    with tempfile.TemporaryDirectory() as out:
        cfg = GRPOConfig(
            output_dir=out,
            use_cpu=True,
            bf16=False,
            fp16=False,
            max_steps=args.steps,
            per_device_train_batch_size=args.prompts * args.k,
            num_generations=args.k,
            gradient_accumulation_steps=1,
            max_completion_length=args.tokens,
            temperature=1.0,
            learning_rate=1e-6,
            beta=0.04,
            report_to="none",
            save_strategy="no",
            logging_steps=1,
            dataloader_num_workers=0,
            shuffle_dataset=False,
        )
        trainer = GRPOTrainer(
            model=model,
            processing_class=tok,
            args=cfg,
            train_dataset=ds,
            reward_funcs=[judge_reward, rm_reward],
            callbacks=[Timer()],
        )
        trainer.train()
    steady = times[1:] or times
    step = sum(steady) / len(steady)
    return {
        "trainer": "trl GRPOTrainer",
        "step_s": step,
        "steps_per_s": 1.0 / step,
        "cpu_s": sum(cpu[1:] or cpu) / len(cpu[1:] or cpu),
        "first_step_s": times[0],
        "peak_rss_gib": _peak_rss_gib(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=8, help="prompts per step (B)")
    p.add_argument("--k", type=int, default=4, help="samples per prompt (K)")
    p.add_argument("--tokens", type=int, default=64, help="max completion tokens")
    p.add_argument("--steps", type=int, default=2, help="steps per trainer (the first is warm-up)")
    p.add_argument("--only", choices=["cgpo", "trl"], help="run one trainer")
    p.add_argument("--worker", choices=["cgpo", "trl"], help=argparse.SUPPRESS)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    if args.worker:
        res = worker_cgpo(args) if args.worker == "cgpo" else worker_trl(args)
        print("RESULT " + json.dumps(res), flush=True)
        return
    from cgpo.tasks.reward_model import default_reward_model

    default_reward_model("cpu")  # trained once and cached before timing anything
    results = []
    for which in [args.only] if args.only else ["cgpo", "trl"]:
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            which,
            "--prompts",
            str(args.prompts),
            "--k",
            str(args.k),
            "--tokens",
            str(args.tokens),
            "--steps",
            str(args.steps),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
            raise SystemExit(f"{which} worker failed ({proc.returncode})")
        results.append(json.loads(lines[-1][len("RESULT ") :]))
    print(
        f"\nsetup: SmolLM2-135M-Instruct fp32 CPU, instruction prompts, {args.prompts} prompts "
        f"x {args.k} samples x "
        f"{args.tokens} tokens, {args.steps} steps (mean of steps after the first), "
        f"torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}\n"
    )
    print("| trainer | s/step (wall) | steps/s | CPU s/step | first step (s) | peak RSS (GiB) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['trainer']} | {r['step_s']:.1f} | {r['steps_per_s']:.4f} | "
            f"{r['cpu_s']:.1f} | {r['first_step_s']:.1f} | {r['peak_rss_gib']:.2f} |"
        )
    for r in results:
        if r["trainer"] == "cgpo":
            print(
                f"\ncgpo step with an update (the timed step, its update replaced by one timed "
                f"forward+backward with half the responses satisfied): "
                f"{r['step_with_update_s']:.1f} s (update {r['forced_update_s']:.1f} s)"
            )
            print(
                "\ncgpo step split (s): "
                + ", ".join(
                    f"{k[:-2]} {r[k]:.2f}"
                    for k in (
                        "generation_s",
                        "baseline_s",
                        "judges_s",
                        "reward_model_s",
                        "update_s",
                        "optimizer_s",
                    )
                )
                + f"; judges' share {100 * r['judge_share']:.2f}%"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
