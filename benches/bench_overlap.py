"""Judging overlapped with generation, with a judge made slow on purpose.

The code judge is wrapped so that every sample costs ``--delay`` extra seconds (sleeping, as a
sandbox waiting on a slow program does; the GIL is free meanwhile), then the same rollout stage
runs twice per round on SmolLM2-135M-Instruct and HumanEval prompts, same seed: once judging
after generation returns (the former order), once judging each response on the worker thread
as soon as it ends (:func:`cgpo.rollout.overlap.generate_and_judge`). Prints a markdown table.

    python benches/bench_overlap.py                        # 4 prompts x 4 samples x 64 tokens
    python benches/bench_overlap.py --delay 0.5 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch

from cgpo.config.generation import GenerationConfig
from cgpo.judges.registry import create_judge
from cgpo.models import load_smollm2
from cgpo.rollout.batch import RolloutBatch
from cgpo.rollout.generation import HFGenerator
from cgpo.rollout.overlap import generate_and_judge
from cgpo.tasks.code import humaneval_rows


class SlowJudge:
    """``inner`` plus ``delay`` seconds per sample."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay = inner, delay

    def judge(self, samples: Sequence[Any]) -> list[Any]:
        time.sleep(self.delay * len(samples))
        return list(self.inner.judge(samples))


class AfterGeneration:
    """The generator without ``on_finished``: its responses are judged once it returns."""

    def __init__(self, gen: HFGenerator) -> None:
        self.gen = gen

    def generate(self, prompts: Sequence[str], k: int, settings: Any) -> Any:
        return self.gen.generate(prompts, k, settings)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=4)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--delay", type=float, default=1.0, help="extra judge seconds per sample")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    model, tok = load_smollm2(dtype=torch.float32)
    rows = humaneval_rows()[: args.prompts]
    judge = SlowJudge(create_judge({"type": "code"}), args.delay)
    settings = GenerationConfig(max_new_tokens=args.tokens, temperature=1.0)
    gen = HFGenerator(model, tok)
    modes = {"judge after generation": AfterGeneration(gen), "overlapped": gen}
    res: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    load = os.getloadavg()[0]
    for i in range(args.rounds):
        for mode, g in modes.items():
            batch = RolloutBatch(
                task="code",
                samples_per_prompt=args.k,
                indices=list(range(len(rows))),
                messages=[r["messages"] for r in rows],
                prompts=[r["messages"][-1]["content"] for r in rows],
                prompt_texts=[
                    tok.apply_chat_template(
                        r["messages"], add_generation_prompt=True, tokenize=False
                    )
                    for r in rows
                ],
                metadata=[{"tests": r["tests"], "entry_point": r["entry_point"]} for r in rows],
            )
            torch.manual_seed(i)
            t0 = time.perf_counter()
            times = generate_and_judge(g, judge, batch, settings)
            times["step"] = time.perf_counter() - t0
            assert batch.rollout is not None
            times["capped"] = float(
                (batch.rollout.completion_mask.sum(dim=1) == args.tokens).float().mean()
            )
            res[mode].append(times)
    print(
        f"\nSmolLM2-135M-Instruct fp32 CPU, HumanEval prompts, {args.prompts} prompts x {args.k} "
        f"samples x {args.tokens} tokens, code judge + {args.delay} s per sample, {args.rounds} "
        f"interleaved rounds (medians), torch threads {torch.get_num_threads()}, load average "
        f"{load:.1f} at start / {os.getloadavg()[0]:.1f} at end\n"
    )
    print(
        "| judging | generation (s) | judges busy (s) | judges after generation (s) "
        "| generation + judging (s) | rows at the length cap |"
    )
    print("|---|---|---|---|---|---|")
    for mode, rs in res.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        print(
            f"| {mode} | {med['generation']:.1f} | {med['judges']:.1f} | "
            f"{med['judges_wait']:.1f} | {med['step']:.1f} | {med['capped']:.0%} |"
        )


if __name__ == "__main__":
    main()
