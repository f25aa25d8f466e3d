"""Data parallelism under ``torchrun``: who this process is, its share of a batch, and the few
collectives the trainer needs (docs/trainer.md, "Data-parallel training").

Every rank holds the whole policy, draws the same B prompts of a task, and generates, judges and
scores its own share of them. Each rank's loss is its share of the task's loss over the whole
minibatch (a task's mean over rows runs over every rank's rows, see
:meth:`Ranks.share`); the gradients are summed across ranks once per step, before clipping and
the optimizer step, so every rank takes the same step and the parameters stay equal. This is
DDP's replication with one reduction per step instead of one per backward pass: a rank whose
share contributes no row (nothing satisfied, nothing selected) then runs no backward at all,
which DDP's per-backward hooks cannot allow.

With one process (no ``torchrun``), :class:`Ranks` is ``Ranks(0, 1)`` and every method is the
identity, so a single-process run computes exactly what it did without this module.

torch is imported inside the functions: :class:`cgpo.algorithms.base.Models` holds a
:class:`Ranks`, and the algorithms' modules load without torch.
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["Ranks", "TaskGradients", "current", "init_from_env", "is_torchrun", "shutdown"]


def is_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: str) -> tuple[Ranks, str]:
    """Joins the process group ``torchrun`` describes in the environment (``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``): NCCL when ``device`` is
    CUDA, gloo on the CPU. Returns the ranks and this process's device (``cuda:LOCAL_RANK`` on
    CUDA). Without ``torchrun``: ``Ranks(0, 1)`` and ``device`` unchanged."""
    import torch
    import torch.distributed as dist

    if not is_torchrun():
        return Ranks(), device
    cuda = device.startswith("cuda")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_initialized():
        # rank 0 evaluates the model alone before and after training while the others wait
        timeout = datetime.timedelta(hours=2)
        dist.init_process_group("nccl" if cuda else "gloo", timeout=timeout)
    return current(), device


def shutdown() -> None:
    """Leaves the process group, if this process joined one (imports nothing otherwise: a
    config error must not cost a torch import)."""
    if "torch.distributed" not in sys.modules:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def current() -> Ranks:
    """The ranks of the default process group, or ``Ranks(0, 1)`` when there is none."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size())
    return Ranks()


@dataclass(frozen=True)
class Ranks:
    """This process's ``rank`` among ``size`` data-parallel processes."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes files (metrics, rollouts, checkpoints, the final model)."""
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> list[T]:
        """This rank's contiguous share of ``items`` (sizes differ by at most one, rank order)."""
        n = len(items)
        start = self.rank * n // self.size
        return list(items[start : (self.rank + 1) * n // self.size])

    def all_sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sums over the ranks (float64)."""
        if self.size == 1:
            return [float(v) for v in values]
        import torch
        import torch.distributed as dist

        t = torch.tensor(list(values), dtype=torch.float64, device=_comm_device())
        dist.all_reduce(t)
        return [float(v) for v in t.tolist()]

    def share(self, count: float) -> float:
        """``count / (sum of every rank's count)``: the weight of this rank's mean in the mean
        over all ranks' rows (1 with one process; 0 when no rank has a row)."""
        if self.size == 1:
            return 1.0
        (total,) = self.all_sum([count])
        return count / total if total > 0 else 0.0

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj`` (picklable), in rank order, on every rank."""
        if self.size == 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.size > 1:
            import torch.distributed as dist

            dist.barrier()

    def broadcast_module(self, module: Any) -> None:
        """Rank 0's parameters and buffers on every rank (as DDP does when it wraps a model):
        the ranks start equal even where an initialisation is random (PPO's value head)."""
        if self.size == 1:
            return
        import torch.distributed as dist

        for t in [*module.parameters(), *module.buffers()]:
            dist.broadcast(t.data, src=0)

    def sum_gradients(self, params: Iterable[Any]) -> None:
        """Sums every parameter's ``.grad`` over the ranks, one flat all-reduce per dtype and
        device (a missing ``.grad`` counts as zeros, so every rank sends the same layout)."""
        if self.size == 1:
            return
        import torch
        import torch.distributed as dist

        groups: dict[tuple[Any, Any], list[Any]] = {}
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            groups.setdefault((p.dtype, p.device), []).append(p)
        for ps in groups.values():
            flat = torch.cat([p.grad.reshape(-1) for p in ps])
            dist.all_reduce(flat)
            offset = 0
            for p in ps:
                n = p.grad.numel()
                p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
                offset += n


def _comm_device() -> Any:
    import torch
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


class TaskGradients:
    """Per-task gradient shares on one rank: a task's backward passes add its gradient into
    ``.grad``; :meth:`end_task` scales that task's part by this rank's :meth:`Ranks.share` of the
    task's rows and adds it to what earlier tasks left. Only used with more than one rank (one
    extra gradient buffer); with one, a task's own mean is already the whole minibatch's."""

    def __init__(self, params: Sequence[Any]) -> None:
        self.params = list(params)
        self.acc: list[Any] = [None] * len(self.params)

    def begin_task(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self.acc[i] = p.grad if self.acc[i] is None else self.acc[i].add_(p.grad)
            p.grad = None

    def end_task(self, share: float) -> None:
        for p in self.params:
            if p.grad is not None:
                p.grad.mul_(share)
        self.begin_task()

    def restore(self) -> None:
        """Puts the accumulated gradients back into ``.grad`` (after the last task)."""
        for p, g in zip(self.params, self.acc, strict=True):
            p.grad = g
        self.acc = [None] * len(self.params)
