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
    from cgpo.models import load_causal_lm

    model, tokenizer = load_causal_lm(config.model, dtype=dtype)
    return model.to(device), tokenizer


def _table(before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = [f"{'task':<14} {'judge pass rate':>16} {'before':>8} {'after':>8}"]
    for task, b in before.items():
        for key in b:
            if key.endswith("pass_rate"):
                label = "all judges" if key == "pass_rate" else key[: -len("/pass_rate")]
                lines.append(f"{task:<14} {label:>16} {b[key]:>8.3f} {after[task][key]:>8.3f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from cgpo.data import prepare_tasks

    start = time.perf_counter()
    config = load_config(args)
    prepare_tasks(config.tasks)  # bad data, columns or judges fail here, before any model

    from cgpo.trainer.trainer import CGPOTrainer

    policy, tokenizer = load_policy(config)
    trainer = CGPOTrainer(policy, tokenizer, config.tasks, config)
    out = Path(config.output_dir)
    before: dict[str, Any] = {}
    if config.eval_prompts:
        print(
            f"judge pass rate of the reference policy on {config.eval_prompts} prompts per "
            "task (greedy)...",
            flush=True,
        )
        before = trainer.evaluate(config.eval_prompts, reference=True)
    t_train = time.perf_counter()
    trainer.train(resume=args.resume)
    train_time = time.perf_counter() - t_train
    trainer.save_model(out / "final")
    summary: dict[str, Any] = {"steps": trainer.step_count, "train_seconds": train_time}
    if config.eval_prompts:
        after = trainer.evaluate(config.eval_prompts)
        print(_table(before, after))
        summary.update(before=before, after=after)
    summary["total_seconds"] = time.perf_counter() - start
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(
        f"done: {trainer.step_count} steps in {train_time:.0f} s of training, "
        f"{summary['total_seconds']:.0f} s in all; model in {out / 'final'}, metrics in "
        f"{out / 'metrics.jsonl'}"
    )
    return 0
