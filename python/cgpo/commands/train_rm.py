"""``cgpo train-rm [CONFIG.yaml]``: Bradley-Terry reward-model training to a Hugging Face
checkpoint; without a config, (re)builds the default run's reward model."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config",
        nargs="?",
        help="YAML with data, output_dir and optional base_model, num_layers, epochs, "
        "learning_rate, batch_size, max_length, seed (default: the built-in reward model)",
    )


def run(args: argparse.Namespace) -> int:
    from cgpo.config.validate import build, load_yaml
    from cgpo.errors import ConfigError
    from cgpo.rewards.preferences import RewardTrainingConfig, load_pairs

    if args.config is None:
        from cgpo.tasks.reward_model import build_default_reward_model

        print(f"reward model written to {build_default_reward_model()}")
        return 0
    raw = load_yaml(args.config)
    if not isinstance(raw, dict):
        raise ConfigError("the reward-model config must be a mapping of settings")
    config = build(RewardTrainingConfig, raw, "config")
    pairs = load_pairs(config.data)  # checked before any model is loaded

    import torch

    from cgpo.models import load_causal_lm
    from cgpo.rewards.models import reward_model_from_causal_lm, train_reward_model

    base, tokenizer = load_causal_lm(config.base_model, dtype=torch.float32, where="base_model")
    rm = reward_model_from_causal_lm(base, config.num_layers, seed=config.seed)
    del base
    stats = train_reward_model(
        rm,
        tokenizer,
        pairs,
        epochs=config.epochs,
        learning_rate=config.learning_rate,
        batch_size=config.batch_size,
        max_length=config.max_length,
        seed=config.seed,
        output_dir=config.output_dir,
        log=print,
    )
    print(
        f"reward model written to {config.output_dir} (loss {stats['loss']:.4f}, "
        f"pairwise accuracy {stats['accuracy']:.3f})"
    )
    return 0
