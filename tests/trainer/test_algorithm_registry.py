"""Adding an update rule is a class and a registry line: the trainer runs it with no change, and
the config accepts its name and runs its checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny_models import make_parity_judge  # noqa: E402

from cgpo.algorithms import Algorithm, LossResult, Models, base, register_algorithm  # noqa: E402
from cgpo.config.generation import GenerationConfig  # noqa: E402
from cgpo.config.run import CGPOConfig  # noqa: E402
from cgpo.config.task import Task  # noqa: E402
from cgpo.errors import ConfigError  # noqa: E402
from cgpo.rollout.batch import RolloutBatch  # noqa: E402
from cgpo.rollout.logprobs import completion_logprobs  # noqa: E402
from cgpo.trainer import CGPOTrainer  # noqa: E402


class Imitate(Algorithm):
    """Raise the likelihood of the responses the judges accept (rejection-sampling SFT)."""

    name = "imitate"
    min_samples_per_prompt = 3

    def loss(self, batch: RolloutBatch, models: Models, settings: Any) -> LossResult:
        kept = batch.without_errors()
        rows = np.flatnonzero(kept.satisfied) if kept is not None else []
        if kept is None or not len(rows):
            return None, {"rows_used": 0.0}
        logp = completion_logprobs(models.policy, kept.rollout.select(rows)).sum(dim=1)
        return -logp.mean(), {"rows_used": float(len(rows))}


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.setattr(base, "_INSTANCES", {})
    register_algorithm("imitate", Imitate)


def _task(**kw: Any) -> Task:
    return Task(
        name="t",
        data=[{"prompt": p} for p in ["add two", "say hi", "count to three"]],
        judges=[make_parity_judge()],
        reward_model=lambda prompts, responses: [0.0] * len(responses),
        algorithm="imitate",
        prompts_per_step=2,
        generation=GenerationConfig(max_new_tokens=6),
        **kw,
    )


def test_a_registered_algorithm_trains_with_no_change_to_the_trainer(
    registered, tiny_model, tiny_tokenizer, tmp_path
):
    config = CGPOConfig(
        max_steps=1, output_dir=str(tmp_path), progress_bar=False, tensorboard=False
    )
    # without judges the update sees every response as satisfied: all 2 x 4 rows are used
    task = _task(samples_per_prompt=4, use_judges=False)
    trainer = CGPOTrainer(tiny_model, tiny_tokenizer, [task], config)
    before = [p.detach().clone() for p in tiny_model.parameters()]
    (record,) = trainer.step()
    assert record["algorithm"] == "imitate" and record["rows_used"] == 8
    after = list(tiny_model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_a_registered_algorithm_checks_its_settings(registered):
    with pytest.raises(ConfigError, match=r"samples_per_prompt: imitate compares .* needs >= 3"):
        _task(samples_per_prompt=2)
    with pytest.raises(ConfigError, match="already registered"):
        register_algorithm("imitate", Imitate)
