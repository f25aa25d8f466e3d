"""The multi-task loop on a tiny random model: accumulation, exact resume, Ctrl-C, metrics."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from tiny_models import make_model, make_parity_judge, make_tokenizer  # noqa: E402

from cgpo.trainer import CGPOConfig, CGPOTrainer, GenerationConfig, Task  # noqa: E402


def byte_reward(prompts: Sequence[Any], responses: Sequence[str]) -> list[float]:
    return [sum(ord(c) % 7 for c in r) / max(len(r), 1) for r in responses]


DATA = [{"prompt": p} for p in ["add two", "say hi", "count to three"]]


def _task(name: str, weight: float = 1.0, algorithm: str = "crpg") -> Task:
    return Task(
        name=name,
        data=DATA,
        judges=[make_parity_judge()],
        reward_model=byte_reward,
        algorithm=algorithm,
        samples_per_prompt=3,
        prompts_per_step=2,
        weight=weight,
        kl_max=5.0,
        generation=GenerationConfig(max_new_tokens=6),
    )


def _config(tmp: Path, **kw: Any) -> CGPOConfig:
    base: dict[str, Any] = {
        "output_dir": str(tmp),
        "learning_rate": 1e-2,
        "save_steps": 0,
        "progress_bar": False,
        "tensorboard": False,
        "seed": 3,
    }
    base.update(kw)
    return CGPOConfig(**base)


def _trainer(tasks: list[Task], tmp: Path, **kw: Any) -> CGPOTrainer:
    tok = make_tokenizer()
    return CGPOTrainer(make_model(tok), tok, tasks, _config(tmp, **kw), log=lambda s: None)


def _grads(trainer: CGPOTrainer) -> dict[str, torch.Tensor]:
    trainer.accumulate_gradients()
    return {n: p.grad.clone() for n, p in trainer.policy.named_parameters() if p.grad is not None}


def test_multi_task_gradient_is_the_weighted_sum_of_single_task_gradients(tmp_path):
    both = _grads(_trainer([_task("a", 0.3), _task("b", 2.0)], tmp_path))
    only_a = _grads(_trainer([_task("a", 1.0)], tmp_path))
    only_b = _grads(_trainer([_task("b", 1.0)], tmp_path))
    assert set(both) == set(only_a) == set(only_b)
    assert any(float(g.abs().max()) > 0 for g in both.values())
    for name, g in both.items():
        torch.testing.assert_close(g, 0.3 * only_a[name] + 2.0 * only_b[name], rtol=1e-5, atol=1e-7)


def _params(trainer: CGPOTrainer) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in trainer.policy.named_parameters()}


def _resume_tasks() -> list[Task]:
    return [_task("a", 0.5), _task("b", 1.0, algorithm="crraft")]


RESUME = {"max_steps": 4, "lr_scheduler": "cosine", "warmup_steps": 1, "optimizer": "adamw"}


def test_resume_continues_exactly(tmp_path):
    straight = _trainer(_resume_tasks(), tmp_path / "straight", **RESUME)
    straight.train()

    half = _trainer(_resume_tasks(), tmp_path / "split", **RESUME)
    half.train(until=2)
    assert (tmp_path / "split" / "checkpoint-2" / "policy.safetensors").is_file()
    resumed = _trainer(_resume_tasks(), tmp_path / "split", **RESUME)
    resumed.train(resume=True)

    assert resumed.step_count == straight.step_count == 4
    a, b = _params(straight), _params(resumed)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    lines = [json.loads(x) for x in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["task"]) for r in lines] == [
        (s, t) for s in range(1, 5) for t in ("a", "b")
    ]


def test_ctrl_c_saves_a_checkpoint_that_resumes_exactly(tmp_path):
    straight = _trainer(_resume_tasks(), tmp_path / "straight", **RESUME)
    straight.train()

    interrupted = _trainer(_resume_tasks(), tmp_path / "run", **RESUME)
    real = interrupted.accumulate_gradients
    calls = {"n": 0}

    def flaky() -> list[dict[str, Any]]:
        calls["n"] += 1
        if calls["n"] == 3:  # Ctrl-C in the middle of step 3, after some gradients exist
            real()
            raise KeyboardInterrupt
        return real()

    interrupted.accumulate_gradients = flaky  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        interrupted.train()
    assert (tmp_path / "run" / "checkpoint-2").is_dir()
    assert not any(p.name.startswith(".") for p in (tmp_path / "run").iterdir())

    resumed = _trainer(_resume_tasks(), tmp_path / "run", **RESUME)
    resumed.train(resume=True)
    a, b = _params(straight), _params(resumed)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_metrics_have_the_documented_fields(tmp_path):
    t = _trainer([_task("a")], tmp_path, max_steps=1)
    t.train()
    (rec,) = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    for key in (
        "step",
        "task",
        "reward",
        "calibrated_reward",
        "satisfied",
        "kl",
        "loss",
        "tokens_per_s",
        "judge_time_share",
        "judge/even/pass_rate",
        "judge/even/error_rate",
        "time_generation",
        "time_judges",
        "time_reward_model",
        "time_update",
        "lr",
        "grad_norm",
    ):
        assert key in rec, key
    assert rec["step"] == 1 and rec["task"] == "a"
    assert 0.0 <= rec["satisfied"] <= 1.0
    assert rec["judge/even/pass_rate"] == rec["satisfied"]  # the only judge
    assert (tmp_path / "checkpoint-1").is_dir()


def test_evaluate_reports_pass_rates_of_policy_and_reference(tmp_path):
    t = _trainer([_task("a")], tmp_path, max_steps=1)
    before = t.evaluate(3, reference=True)
    same = t.evaluate(3)
    assert before == same  # untrained policy == reference
    assert set(before["a"]) == {"pass_rate", "even/pass_rate"}


def test_lora_policy_uses_its_base_weights_as_the_reference(tmp_path):
    peft = pytest.importorskip("peft")
    tok = make_tokenizer()
    base = make_model(tok)
    frozen = {n: p.detach().clone() for n, p in base.named_parameters()}
    policy = peft.get_peft_model(
        base,
        peft.LoraConfig(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
        ),
    )
    trainer = CGPOTrainer(
        policy, tok, [_task("a")], _config(tmp_path, max_steps=2), log=lambda s: None
    )
    assert trainer.reference.model is None  # no second copy of the weights
    lora_before = {n: p.detach().clone() for n, p in policy.named_parameters() if p.requires_grad}
    trainer.train()
    lora_after = {n: p.detach() for n, p in policy.named_parameters() if p.requires_grad}
    assert any(not torch.equal(lora_before[n], lora_after[n]) for n in lora_before)
    with policy.disable_adapter():
        for n, p in policy.base_model.model.named_parameters():
            if "lora_" not in n:
                assert torch.equal(p, frozen[n.replace("base_layer.", "")]), n
