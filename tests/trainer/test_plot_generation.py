"""`cgpo plot` output and the completion mask."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from cgpo.rollout.generation import completion_mask  # noqa: E402
from cgpo.trainer.plot import plot_run  # noqa: E402


def test_completion_mask_keeps_tokens_up_to_the_first_eos():
    ids = torch.tensor([[5, 6, 9, 9, 9], [9, 1, 2, 3, 4], [1, 2, 3, 4, 5], [1, 7, 2, 9, 3]])
    assert completion_mask(ids, [9, 7]).tolist() == [
        [1, 1, 1, 0, 0],
        [1, 0, 0, 0, 0],
        [1, 1, 1, 1, 1],
        [1, 1, 0, 0, 0],
    ]


def test_plot_writes_a_png(tmp_path):
    with (tmp_path / "metrics.jsonl").open("w") as f:
        for step in (1, 2, 3):
            for task in ("math", "code"):
                f.write(
                    json.dumps(
                        {
                            "step": step,
                            "task": task,
                            "reward": 0.1 * step,
                            "calibrated_reward": 0.5,
                            "satisfied": 0.25 * step,
                            "kl": 0.01 * step,
                            "judge/math/pass_rate": 0.3,
                        }
                    )
                    + "\n"
                )
    out = plot_run(tmp_path)
    assert out == tmp_path / "curves.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # with a held-out evaluation the same panels also show its before/after pass rate
    held = {"n": 100, "before": 0.2, "after": 0.4, "delta": 0.2, "delta_ci95": [0.1, 0.3]}
    (tmp_path / "eval.json").write_text(json.dumps({"tasks": {"math": held}}))
    assert plot_run(tmp_path, tmp_path / "with_eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
