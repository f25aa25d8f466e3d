"""``cgpo train [CONFIG.yaml]``: a CGPO run; without a config, the built-in default run.

The config, the data and the judges are checked before torch is imported or a model is loaded,
so a mistake costs a second, not a model load.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="YAML config (default: the built-in run)")
    parser.add_argument("--max-steps", type=int, help="override max_steps")
    parser.add_argument("--output-dir", help="override output_dir")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the newest checkpoint in the output directory",
    )


def load_config(args: argparse.Namespace) -> Any:
    from cgpo.config.run import CGPOConfig

    overrides: dict[str, Any] = {}
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    if args.output_dir is not None:
        overrides["output_dir"] = args.output_dir
    if args.config:
        from cgpo.config.validate import load_yaml

        raw = load_yaml(args.config)
        if not isinstance(raw, dict):
            return CGPOConfig.from_dict(raw)  # raises the "must be a mapping" error
        return CGPOConfig.from_dict({**raw, **overrides})
    from cgpo.tasks import default_config

    return default_config(**overrides)


def load_policy(config: Any) -> tuple[Any, Any]:
    import torch

    from cgpo.errors import ConfigError

    dtype = getattr(torch, config.dtype)
    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: 'cuda' was asked for but no CUDA device is available; use 'cpu'")
    from cgpo.distributed import init_from_env
    from cgpo.models import load_causal_lm

    _, device = init_from_env(device)  # under torchrun: join the group, cuda:LOCAL_RANK

    model, tokenizer = load_causal_lm(config.model, dtype=dtype)
    return model.to(device), tokenizer


def run(args: argparse.Namespace) -> int:
    from cgpo.distributed import shutdown

    try:
        return _run(args)
    finally:
        shutdown()


def _run(args: argparse.Namespace) -> int:
    from cgpo.data import prepare_tasks

    start = time.perf_counter()
    config = load_config(args)
    prepare_tasks(config.tasks)  # bad data, columns or judges fail here, before any model

    from cgpo.trainer.trainer import CGPOTrainer

    policy, tokenizer = load_policy(config)
    trainer = CGPOTrainer(policy, tokenizer, config.tasks, config)
    out = Path(config.output_dir)
    summary: dict[str, Any] = {"world_size": trainer.ranks.size}
    main = trainer.ranks.is_main  # under torchrun, rank 0 alone evaluates and writes
    if config.eval_prompts and main:
        from cgpo.evaluation import format_table, write_eval

        print(
            f"held-out judge pass rate of the model before training, up to {config.eval_prompts} "
            "prompts per task (greedy)...",
            flush=True,
        )
        t0 = time.perf_counter()
        sets, before = trainer.evaluate_heldout(config.eval_prompts, reference=True)
        write_eval(out, sets, before, None)
        summary["eval_seconds"] = time.perf_counter() - t0
    t_train = time.perf_counter()
    trainer.train(resume=args.resume)
    train_time = time.perf_counter() - t_train
    trainer.save_model(out / "final")
    summary.update(steps=trainer.step_count, train_seconds=train_time)
    if config.eval_prompts and main:
        t0 = time.perf_counter()
        sets, after = trainer.evaluate_heldout(config.eval_prompts)
        result = write_eval(out, sets, before, after)
        summary["eval_seconds"] += time.perf_counter() - t0
        if result is not None:
            print(format_table(result))
            summary["eval"] = result["tasks"]
    if not main:
        return 0
    summary["total_seconds"] = time.perf_counter() - start
    summary["cpu_seconds"] = time.process_time()
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(
        f"done: {trainer.step_count} steps in {train_time:.0f} s of training, "
        f"{summary['total_seconds']:.0f} s in all; model in {out / 'final'}, metrics in "
        f"{out / 'metrics.jsonl'}"
    )
    return 0
