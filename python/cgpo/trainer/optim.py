"""The torch optimizer (``CGPOConfig.optimizer``: AdamW, Adam or SGD) and the learning-rate
schedule shared by every task."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from cgpo.config.run import CGPOConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], c: CGPOConfig) -> torch.optim.Optimizer:
    """The configured torch optimizer over ``params``."""
    if c.optimizer == "sgd":
        return torch.optim.SGD(params, lr=c.learning_rate, weight_decay=c.weight_decay)
    cls = torch.optim.AdamW if c.optimizer == "adamw" else torch.optim.Adam
    return cls(
        params, lr=c.learning_rate, weight_decay=c.weight_decay, betas=(c.adam_beta1, c.adam_beta2)
    )


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


def clip_gradients(params: list[torch.nn.Parameter], max_norm: float) -> float:
    """Clips the global gradient norm to ``max_norm`` (0: no clipping); returns the norm before."""
    grads = [p.grad for p in params if p.grad is not None]
    if max_norm > 0 and grads:
        return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    # no task produced a loss (e.g. nothing satisfied anywhere): nothing to clip
    return float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))) if grads else 0.0
