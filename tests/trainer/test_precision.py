"""Mixed precision (``mixed_precision: bf16``): bfloat16 products, float32 weights, and
gradients that reach the weights although sampling ran under the same autocast."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from test_trainer import _task, _trainer  # noqa: E402

from cgpo.precision import autocast  # noqa: E402


def test_autocast_runs_products_in_bfloat16_and_no_is_a_no_op():
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with autocast("cpu", "bf16"):
        assert (a @ b).dtype == torch.bfloat16
    with autocast("cpu", "no"):
        assert (a @ b).dtype == torch.float32


@pytest.mark.parametrize("algorithm", ["crpg", "crraft", "codpo", "ppo"])
def test_a_bf16_step_updates_the_float32_weights(tmp_path: Path, algorithm: str):
    trainer = _trainer([_task("t", algorithm=algorithm)], tmp_path, mixed_precision="bf16")
    before = {n: p.detach().clone() for n, p in trainer.policy.named_parameters()}
    records = []
    for _ in range(3):  # a step may have no satisfied response to learn from
        records += trainer.step()
        if any(r["grad_norm"] > 0 for r in records):
            break
    assert any(r["grad_norm"] > 0 for r in records), records
    params = dict(trainer.policy.named_parameters())
    assert all(p.dtype == torch.float32 for p in params.values())
    changed = [n for n, p in params.items() if not torch.equal(p.detach(), before[n])]
    assert changed
    assert all(torch.isfinite(p).all() for p in params.values())
