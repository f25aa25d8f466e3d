"""One CGPO training step on the default setup, split into its parts, next to TRL's GRPOTrainer
doing the same work (same model, prompts, K, completion length, dtype, judge and reward model).

Each trainer runs in its own child process, so each peak RSS (``resource.getrusage``, the
kernel's high-water mark) is that trainer's alone. Prints a markdown table.

    python benches/bench_train_step.py                      # 8 prompts x 4 samples x 64 tokens
    python benches/bench_train_step.py --prompts 2 --k 4 --tokens 32 --steps 2
    python benches/bench_train_step.py --rounds 2             # cgpo, trl, cgpo, trl
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
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
    # use_judges: false (CGPO without judges, still judged and logged): every response counts
    # as satisfied, so every step makes a real update over all B*K rows, as TRL's does
    task = Task(
        name="instructions",
        data=_prompts(args.prompts),  # the same prompts every step, as TRL's below
        judges=[{"type": "instructions"}],
        algorithm="crpg",
        use_judges=False,
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
            micro_batch_size=args.micro_batch,
        )
        trainer = CGPOTrainer(model, tok, config=config, log=lambda s: None)
        records = []
        for _ in range(args.steps):
            c0 = _cpu_s()
            (rec,) = trainer.step()
            rec["cpu_s"] = _cpu_s() - c0
            records.append(rec)
    # the first step also generates and scores the baseline responses (once per prompt)
    steady = records[1:] or records

    def mean(key: str) -> float:
        return sum(float(r[key]) for r in steady) / len(steady)

    step = mean("step_time")
    return {
        "trainer": "cgpo",
        "step_s": step,
        "cpu_s": mean("cpu_s"),
        "split": {
            "generation": mean("time_generation"),
            "log-probs": mean("time_reference"),
            "judges (wait)": mean("time_judges_wait"),
            "reward model": mean("time_reward_model"),
            "update": mean("time_update") - mean("time_reference") + step - mean("time_task"),
            "other": mean("time_baseline"),  # baselines: once per prompt, in the first step
        },
        "judges_busy_s": mean("time_judges"),
        "first_step_s": float(records[0]["step_time"]),
        "completion_tokens": mean("tokens"),
        "updated_every_step": all(r["loss"] is not None for r in records),
        "peak_rss_gib": _peak_rss_gib(),
    }


class _Clock:
    """Seconds spent inside wrapped callables, by part (for TRL's split)."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}

    def wrap(self, part: Any, fn: Any) -> Any:
        def timed(*a: Any, **k: Any) -> Any:
            name = part() if callable(part) else part
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.parts[name] = self.parts.get(name, 0.0) + time.perf_counter() - t0

        return timed


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

    clock = _Clock()
    tokens: list[int] = []

    def rm_reward(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return rm.score(prompts, texts)

    rm_reward = clock.wrap("reward model", rm_reward)

    rows = _prompts(args.prompts)  # one epoch per step
    ds = Dataset.from_list([{"prompt": r["messages"]} for r in rows])
    # the judge's metadata by prompt text (IFEval kwargs dicts do not survive Arrow unchanged)
    meta = {r["messages"][-1]["content"]: {k: r[k] for k in META} for r in rows}
    judge = create_judge({"type": "instructions"})

    def judge_reward(
        prompts: list[Any], completions: list[Any], completion_ids: list[Any], **_: Any
    ) -> list[float]:
        tokens.append(sum(len(c) for c in completion_ids))
        samples = [
            Sample(p[-1]["content"], c[-1]["content"], meta[p[-1]["content"]])
            for p, c in zip(prompts, completions, strict=True)
        ]
        return [float(v == Verdict.SATISFIED) for v in judge.judge(samples)]

    judge_reward.__name__ = "judge_reward"
    timed_judge = clock.wrap("judges", judge_reward)
    timed_judge.__name__ = "judge_reward"  # type: ignore[attr-defined]
    rm_reward.__name__ = "rm_reward"  # type: ignore[attr-defined]

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
            reward_funcs=[timed_judge, rm_reward],
            callbacks=[Timer()],
        )
        trainer._generate = clock.wrap("generation", trainer._generate)
        # without a graph: the old-policy and reference log-probs; with one: the update's
        trainer._get_per_token_logps_and_entropies = clock.wrap(
            lambda: "update logps" if torch.is_grad_enabled() else "log-probs",
            trainer._get_per_token_logps_and_entropies,
        )
        marks: list[dict[str, float]] = []

        class Marks(TrainerCallback):  # type: ignore[misc]
            def on_step_end(self, *a: Any, **k: Any) -> None:
                marks.append(dict(clock.parts))

        trainer.add_callback(Marks())
        trainer.train()
    steady = times[1:] or times
    step = sum(steady) / len(steady)
    # per-step part times: differences of the running totals at each step's end
    first = 1 if len(times) > 1 else 0
    prev = marks[first - 1] if first else {}
    parts = {
        k: (marks[-1].get(k, 0.0) - prev.get(k, 0.0)) / len(steady)
        for k in ("generation", "log-probs", "judges", "reward model")
    }
    parts["update"] = step - sum(parts.values())
    return {
        "trainer": "trl GRPOTrainer",
        "step_s": step,
        "split": {
            "generation": parts["generation"],
            "log-probs": parts["log-probs"],
            "judges (wait)": parts["judges"],
            "reward model": parts["reward model"],
            "update": parts["update"],
            "other": 0.0,
        },
        "completion_tokens": sum(tokens[first:]) / len(steady),
        "cpu_s": sum(cpu[1:] or cpu) / len(cpu[1:] or cpu),
        "first_step_s": times[0],
        "peak_rss_gib": _peak_rss_gib(),
    }


def _run_worker(which: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", which]
    for flag in ("prompts", "k", "tokens", "steps", "micro_batch"):
        cmd += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"{which} worker failed ({proc.returncode})")
    res: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    res["tokens_per_s"] = res["completion_tokens"] / res["step_s"]
    return res


def _median(rs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(float(r[key]) for r in rs))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=8, help="prompts per step (B)")
    p.add_argument("--k", type=int, default=4, help="samples per prompt (K)")
    p.add_argument("--tokens", type=int, default=64, help="max completion tokens")
    p.add_argument("--steps", type=int, default=2, help="steps per trainer (the first is warm-up)")
    p.add_argument("--micro-batch", type=int, default=8, help="cgpo's micro_batch_size")
    p.add_argument("--rounds", type=int, default=1, help="cgpo, trl, cgpo, trl, ... (medians)")
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
    load = os.getloadavg()
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):  # interleaved, so a change in machine load hits both
        for which in [args.only] if args.only else ["cgpo", "trl"]:
            runs.setdefault(which, []).append(_run_worker(which, args))
    load_end = os.getloadavg()
    print(
        f"\nsetup: SmolLM2-135M-Instruct fp32 CPU, instruction prompts, {args.prompts} prompts "
        f"x {args.k} samples x {args.tokens} new tokens, an update every step, {args.steps} "
        f"steps per run (mean of the steps after the first), {args.rounds} interleaved round(s) "
        f"(medians), torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}, load average "
        f"{load[0]:.1f} at start / {load_end[0]:.1f} at end\n"
    )
    print("| trainer | completion tokens/s (whole step) | s/step | CPU s/step | peak RSS (GiB) |")
    print("|---|---|---|---|---|")
    for rs in runs.values():
        print(
            f"| {rs[0]['trainer']} | {_median(rs, 'tokens_per_s'):.2f} | "
            f"{_median(rs, 'step_s'):.1f} | {_median(rs, 'cpu_s'):.1f} | "
            f"{_median(rs, 'peak_rss_gib'):.2f} |"
        )
    parts = ["generation", "log-probs", "judges (wait)", "reward model", "update", "other"]
    print("\n| split (s/step) | " + " | ".join(parts) + " |")
    print("|---|" + "---|" * len(parts))
    for rs in runs.values():
        row = [statistics.median(r["split"][k] for r in rs) for k in parts]
        print(f"| {rs[0]['trainer']} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    if "cgpo" in runs and "trl" in runs:
        c, t = runs["cgpo"], runs["trl"]
        speed = _median(c, "tokens_per_s") / _median(t, "tokens_per_s")
        print(
            f"\ncgpo / trl: throughput x{speed:.2f}"
            f", peak RSS x{_median(c, 'peak_rss_gib') / _median(t, 'peak_rss_gib'):.2f}; cgpo "
            f"judges busy {_median(c, 'judges_busy_s'):.2f} s/step (overlapped with generation)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
