"""Data parallelism (cgpo.distributed): 2 gloo ranks on the CPU, each with half of every task's
prompts, train the same parameters as 1 process on the whole minibatch; rank 0 alone writes, and
every metrics row carries ``world_size``.

The ranks are 2 processes of ``torch.multiprocessing`` joined through a file store; gloo binds the
loopback interface only (GLOO_SOCKET_IFNAME=lo). Responses come from a fixed generator (a
function of the prompt and the sample's number), so both runs train on the same rollouts.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from tiny_models import make_model, make_parity_judge, make_tokenizer  # noqa: E402

from cgpo.trainer import CGPOConfig, CGPOTrainer, GenerationConfig, Task  # noqa: E402

WORDS = ["bb", "a", "dddd", "ccc", "ff", "e", "hhhhh", "g"]
DATA = [{"prompt": f"question {i}", "reference": WORDS[i % len(WORDS)]} for i in range(12)]


class FixedGenerator:
    """Response j to a prompt: a word picked from the prompt's text and j (no sampling)."""

    def __init__(self, tokenizer: Any, device: str = "cpu") -> None:
        self.tokenizer, self.device = tokenizer, device

    def generate(self, prompts: Sequence[str], num_samples: int, settings: Any) -> Any:
        from cgpo.rollout.generation import rollout_from_texts

        texts, rows, groups = [], [], []
        for g, p in enumerate(prompts):
            for j in range(num_samples):
                texts.append(p)
                rows.append(WORDS[(zlib.crc32(p.encode()) + 3 * j) % len(WORDS)])
                groups.append(g)
        return rollout_from_texts(self.tokenizer, texts, rows, groups, self.device)


def byte_reward(prompts: Sequence[Any], responses: Sequence[str]) -> list[float]:
    return [sum(ord(c) % 7 for c in r) / max(len(r), 1) for r in responses]


def _tasks() -> list[Task]:
    def task(name: str, algorithm: str, b: int, k: int, weight: float) -> Task:
        return Task(
            name=name,
            data=DATA,
            judges=[make_parity_judge()],
            reward_model=byte_reward,
            baseline_column="reference",
            algorithm=algorithm,
            samples_per_prompt=k,
            prompts_per_step=b,
            weight=weight,
            kl_max=5.0,
            generation=GenerationConfig(max_new_tokens=6),
        )

    return [
        task("pg", "crpg", 5, 3, 1.0),  # 5 prompts: the ranks get 2 and 3
        task("raft", "crraft", 4, 2, 0.5),
        task("dpo", "codpo", 4, 2, 2.0),
        task("ppo", "ppo", 3, 2, 1.0),  # means over tokens, whitening over every rank's
    ]


def _train(out: Path, steps: int, resume: bool = False, device: str = "cpu") -> CGPOTrainer:
    tok = make_tokenizer()
    config = CGPOConfig(
        learning_rate=1e-2,
        max_steps=steps,
        save_steps=1,
        output_dir=str(out),
        progress_bar=False,
        tensorboard=False,
        eval_prompts=0,
        micro_batch_size=2,
    )
    model = make_model(tok).to(device)
    trainer = CGPOTrainer(
        model, tok, _tasks(), config, generator=FixedGenerator(tok, device), log=lambda _: None
    )
    trainer.train(resume=resume)
    return trainer


def _params(trainer: CGPOTrainer) -> dict[str, Any]:
    return {k: v.detach().cpu().clone() for k, v in trainer.policy.named_parameters()}


def _worker(rank: int, store: str, out: str, steps: int, resume_at: int, backend: str) -> None:
    import torch.distributed as dist

    # bind the loopback interface only
    os.environ["GLOO_SOCKET_IFNAME"] = os.environ["NCCL_SOCKET_IFNAME"] = "lo"
    torch.set_num_threads(1)
    device = "cpu"
    if backend == "nccl":
        device = f"cuda:{rank}"
        torch.cuda.set_device(rank)
    dist.init_process_group(backend, init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        if resume_at:
            _train(Path(out), resume_at, device=device)
        trainer = _train(Path(out), steps, resume=bool(resume_at), device=device)
        torch.save(_params(trainer), Path(out) / f"params-rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _two_ranks(tmp_path: Path, steps: int, resume_at: int = 0, backend: str = "gloo") -> Path:
    import torch.multiprocessing as mp

    out = tmp_path / ("ddp-resume" if resume_at else "ddp")
    out.mkdir()
    mp.spawn(
        _worker,
        args=(str(tmp_path / f"store-{out.name}"), str(out), steps, resume_at, backend),
        nprocs=2,
    )
    return out


def _assert_same(a: dict[str, Any], b: dict[str, Any], tol: float = 1e-4) -> None:
    # Adam divides by sqrt(v): a gradient near 0 turns float rounding into ~1e-6 in a parameter
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(
            a[k], b[k], rtol=tol, atol=tol / 10, msg=lambda m, k=k: f"{k}: {m}"
        )


@pytest.mark.timeout(600)
def test_two_ranks_train_the_parameters_of_one_process(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    one = _train(tmp_path / "single", 2)
    out = _two_ranks(tmp_path, 2)
    rank0 = torch.load(out / "params-rank0.pt")
    rank1 = torch.load(out / "params-rank1.pt")
    for k in rank0:  # the ranks stay equal, bit for bit
        assert torch.equal(rank0[k], rank1[k]), k
    start = _params(CGPOTrainer(make_model(make_tokenizer()), make_tokenizer(), _tasks()))
    assert any(not torch.equal(start[k], rank0[k]) for k in start)  # training moved them
    _assert_same(_params(one), rank0)

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["task"]) for r in rows] == [
        (s, t) for s in (1, 2) for t in ("pg", "raft", "dpo", "ppo")
    ]
    assert all(r["world_size"] == 2 for r in rows)
    single = [
        json.loads(line) for line in (tmp_path / "single/metrics.jsonl").read_text().splitlines()
    ]
    for r1, r2 in zip(single, rows, strict=True):
        assert r1["world_size"] == 1
        assert r2["responses"] == r1["responses"]
        for key in ("reward", "satisfied", "loss", "rows_used"):
            assert r2[key] == pytest.approx(r1[key], rel=1e-5, abs=1e-6), key
    # every rank's responses, written once
    logged = (out / "rollouts.jsonl").read_text().splitlines()
    assert len(logged) == sum(r["responses"] for r in rows)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("checkpoint")) == [
        "checkpoint-1",
        "checkpoint-2",
    ]


@pytest.mark.timeout(600)
def test_two_ranks_resume_exactly(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    straight = _two_ranks(tmp_path, 2)
    resumed = _two_ranks(tmp_path, 2, resume_at=1)
    _assert_same(torch.load(straight / "params-rank0.pt"), torch.load(resumed / "params-rank0.pt"))
    steps = [
        json.loads(line)["step"] for line in (resumed / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == [1] * 4 + [2] * 4


def test_a_rank_share_of_a_list() -> None:
    from cgpo.distributed import Ranks

    items = list(range(5))
    assert [Ranks(r, 2).shard(items) for r in range(2)] == [[0, 1], [2, 3, 4]]
    assert [x for r in range(3) for x in Ranks(r, 3).shard(items)] == items
    assert Ranks().shard(items) == items and Ranks().share(0.0) == 1.0


@pytest.mark.gpu
@pytest.mark.timeout(600)
def test_two_cuda_ranks_over_nccl_train_the_parameters_of_one_process(tmp_path: Path) -> None:
    if not torch.cuda.is_available() or torch.cuda.device_count() < 2:
        pytest.skip("needs 2 CUDA devices")
    import torch.distributed as dist

    if not dist.is_nccl_available():
        pytest.skip("needs NCCL")
    one = _train(tmp_path / "single", 2, device="cuda:0")
    out = _two_ranks(tmp_path, 2, backend="nccl")
    # GPU kernels sum in other orders than the CPU's: a looser tolerance
    _assert_same(_params(one), torch.load(out / "params-rank0.pt"), tol=1e-3)
