"""Atomic checkpoints of a run: everything ``--resume`` needs to continue exactly.

A checkpoint is a directory ``checkpoint-STEP/`` holding the trainable parameters
(``policy.safetensors``), the optimizer and scheduler states, the RNG states, and
``trainer_state.json`` (step, data positions, cached baselines). It is written under a temporary
name and renamed into place, so a crash mid-write never leaves a half checkpoint that ``--resume``
would pick up.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from cgpo.errors import CgpoError, ConfigError

if TYPE_CHECKING:
    from cgpo.trainer.runs import TaskRun

_NAME = re.compile(r"^checkpoint-(\d+)$")


def trainable_state(model: Any) -> dict[str, torch.Tensor]:
    """The parameters the optimizer updates (tied weights appear once)."""
    return {
        n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad
    }


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    output_dir: str | Path,
    step: int,
    model: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    trainer_state: dict[str, Any],
    keep: int = 0,
) -> Path:
    """Writes ``output_dir/checkpoint-STEP`` atomically and prunes to the newest ``keep``."""
    from safetensors.torch import save_file

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = out / f"checkpoint-{step}"
    tmp = out / f".checkpoint-{step}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_file(trainable_state(model), str(tmp / "policy.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save(rng_state(), tmp / "rng.pt")
    (tmp / "trainer_state.json").write_text(json.dumps({"step": step, **trainer_state}))
    for f in tmp.iterdir():  # data on disk before the rename makes it visible
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    if keep:
        for old in list_checkpoints(out)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints in ``output_dir``, oldest first."""
    d = Path(output_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(found)]


def load_checkpoint(
    path: str | Path, model: Any, optimizer: torch.optim.Optimizer, scheduler: Any
) -> dict[str, Any]:
    """Restores parameters, optimizer, scheduler and RNG; returns the trainer state."""
    from safetensors.torch import load_file

    p = Path(path)
    params = load_file(str(p / "policy.safetensors"))
    missing_trainable = set(trainable_state(model)) - set(params)
    _, unexpected = model.load_state_dict(params, strict=False)
    if unexpected or missing_trainable:
        raise CgpoError(
            f"checkpoint {p} does not match the model: unexpected {sorted(unexpected)[:3]}, "
            f"missing {sorted(missing_trainable)[:3]}"
        )
    optimizer.load_state_dict(torch.load(p / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(p / "scheduler.pt", weights_only=True))
    # our own file: numpy's and Python's RNG states are not plain tensors
    set_rng_state(torch.load(p / "rng.pt", weights_only=False))
    state: dict[str, Any] = json.loads((p / "trainer_state.json").read_text())
    return state


def runs_state(
    runs: Sequence[TaskRun], samplers: list[dict[str, int]] | None = None
) -> dict[str, Any]:
    """The tasks' part of ``trainer_state.json``: data positions (``samplers``, when given, are
    the positions before an interrupted step) and cached baselines."""
    return {
        "samplers": samplers or [r.sampler.state_dict() for r in runs],
        "tasks": [r.task.name for r in runs],
        "baselines": [r.baselines.state_dict() for r in runs],
    }


def restore_runs(runs: Sequence[TaskRun], state: dict[str, Any], path: str | Path) -> None:
    """Puts the data positions and baselines of ``state`` back into ``runs``."""
    if state["tasks"] != [r.task.name for r in runs]:
        raise ConfigError(
            f"tasks: the checkpoint {path} was written for tasks {state['tasks']}, "
            f"this config has {[r.task.name for r in runs]}"
        )
    for run, s, b in zip(runs, state["samplers"], state["baselines"], strict=True):
        run.sampler.load_state_dict(s)
        run.baselines.load_state_dict(b)
