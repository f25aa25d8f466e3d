"""Sampling throughput: transformers' ``generate`` (the trainer's former backend) against the
prefill-once sampler of :mod:`cgpo.rollout.sampler`, on SmolLM2-135M-Instruct, interleaved in one
process so machine load hits both alike. Prints a markdown table.

    python benches/bench_generation.py                 # 8 prompts x 4 samples x 64 tokens
    python benches/bench_generation.py --prompts 16 --k 8 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from cgpo.models import load_smollm2
from cgpo.rollout.generation import HFGenerator, completion_mask, encode_prompts
from cgpo.rollout.sampler import sample
from cgpo.tasks.instructions import instruction_rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=8)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--temperature", type=float, default=1.0)
    args = p.parse_args()
    model, tok = load_smollm2(dtype=torch.float32)
    prompts = [
        tok.apply_chat_template(
            [{"role": "user", "content": r["prompt"]}], add_generation_prompt=True, tokenize=False
        )
        for r in instruction_rows()[: args.prompts]
    ]
    gen = HFGenerator(model, tok)  # for its eos and pad ids
    ids, mask = encode_prompts(tok, prompts, torch.device("cpu"))

    @torch.no_grad()
    def run_generate() -> int:
        # the former backend: each prompt repeated K times, prefilled K times
        out = model.generate(
            input_ids=ids.repeat_interleave(args.k, dim=0),
            attention_mask=mask.repeat_interleave(args.k, dim=0),
            max_new_tokens=args.tokens,
            do_sample=True,
            temperature=args.temperature,
            top_k=None,
            pad_token_id=gen.pad_id,
            eos_token_id=gen.eos_ids,
        )
        completion = out[:, ids.shape[1] :]
        return int(completion_mask(completion, gen.eos_ids).sum())

    def run_sampler() -> int:
        s = sample(
            model,
            ids,
            mask,
            args.k,
            max_new_tokens=args.tokens,
            eos_ids=gen.eos_ids,
            pad_id=gen.pad_id,
            temperature=args.temperature,
        )
        return int(s.completion_mask.sum())

    times: dict[str, list[float]] = {"generate": [], "sampler": []}
    tokens: dict[str, list[int]] = {"generate": [], "sampler": []}
    for i in range(args.repeats):
        for name, fn in (("generate", run_generate), ("sampler", run_sampler)):
            torch.manual_seed(i)
            t0 = time.perf_counter()
            n = fn()
            times[name].append(time.perf_counter() - t0)
            tokens[name].append(n)
    print(
        f"\nSmolLM2-135M-Instruct fp32 CPU, {args.prompts} prompts x {args.k} samples x "
        f"{args.tokens} new tokens, temperature {args.temperature}, prompt length {ids.shape[1]}, "
        f"{args.repeats} interleaved repeats, torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| backend | s/batch (median) | completion tokens | tokens/s | speed-up |")
    print("|---|---|---|---|---|")
    base = statistics.median(times["generate"])
    for name in times:
        t = statistics.median(times[name])
        n = statistics.median(tokens[name])
        print(f"| {name} | {t:.2f} | {n:.0f} | {n / t:.1f} | {base / t:.2f}x |")


if __name__ == "__main__":
    main()
