"""Mixed precision: float32 master weights, bfloat16 matrix products (``torch.autocast``).

On CPUs with AMX or AVX512-BF16 (and on CUDA GPUs) a bfloat16 matrix product is several times
faster than a float32 one: on the 2-core Xeon this project is developed on, a (256 x 576) @
(576 x 1536) product runs at 1,770 GFLOP/s in bfloat16 against 281 in float32, and a SmolLM2-135M
forward+backward is 3x faster under autocast. The weights, gradients and optimizer state stay in
float32, so small learning-rate steps are not rounded away (they would be in a bfloat16 model).

Autocast caches the bfloat16 copy of each trainable weight for the length of one ``with`` block.
Sampling and evaluation run in a block with the cache on, so the weights are cast once per call
instead of once per token. The update runs in a block of its own with the cache off: a copy
cached under ``torch.no_grad`` must never stand in for the weights in a pass that trains (some
torch releases did reuse it, silently cutting the gradient), and a micro-batch's casts are then
freed with its graph.

torch is imported lazily: the config validates ``mixed_precision`` before torch is loaded.
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["MIXED_PRECISION", "autocast", "autocast_dtype"]

MIXED_PRECISION = ("no", "bf16")


def autocast_dtype(mixed_precision: str) -> Any:
    """The torch dtype matrix products run in (``None``: the weights' own)."""
    import torch

    return torch.bfloat16 if mixed_precision == "bf16" else None


def autocast(device: Any, mixed_precision: str, *, cache: bool = True) -> Any:
    """A ``torch.autocast`` block for ``device`` (a no-op for ``mixed_precision='no'``).

    ``cache`` must be False around any forward pass that backpropagates (see the module doc)."""
    import torch

    dtype = autocast_dtype(mixed_precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype, cache_enabled=cache)
