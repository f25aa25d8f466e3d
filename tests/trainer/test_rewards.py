"""Reward models: Bradley-Terry training on a tiny model, checkpoint round trip, callables."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from tiny_models import make_model, make_tokenizer  # noqa: E402

from cgpo.errors import InvalidInputError  # noqa: E402
from cgpo.rewards.models import (  # noqa: E402
    HFRewardModel,
    as_reward_model,
    reward_model_from_causal_lm,
    train_reward_model,
)
from cgpo.rewards.preferences import PreferencePair  # noqa: E402


def _pairs() -> list[PreferencePair]:
    # the random-init model happens to score "yes please" above "no": teach it the opposite
    return [
        PreferencePair([{"role": "user", "content": f"question {i}"}], "no", "yes please")
        for i in range(8)
    ]


def test_bradley_terry_training_learns_the_preference_and_saves_a_checkpoint(tmp_path):
    tok = make_tokenizer()
    rm = reward_model_from_causal_lm(make_model(tok), num_layers=1, seed=0)
    assert rm.config.num_hidden_layers == 1 and rm.config.num_labels == 1
    pairs = _pairs()
    prompts = [p.prompt for p in pairs]
    scorer = HFRewardModel(rm, tok)
    before = sum(
        c > r
        for c, r in zip(
            scorer.score(prompts, [p.chosen for p in pairs]),
            scorer.score(prompts, [p.rejected for p in pairs]),
            strict=True,
        )
    )
    stats = train_reward_model(
        rm,
        tok,
        pairs,
        epochs=10,
        learning_rate=1e-2,
        batch_size=4,
        seed=0,
        output_dir=tmp_path / "rm",
    )
    assert stats["accuracy"] == 1.0 and stats["loss"] < 0.3
    assert before == 0  # it had everything to learn
    loaded = HFRewardModel.from_pretrained(tmp_path / "rm")
    chosen = loaded.score(prompts, [p.chosen for p in pairs])
    rejected = loaded.score(prompts, [p.rejected for p in pairs])
    assert all(c > r for c, r in zip(chosen, rejected, strict=True))
    torch.testing.assert_close(
        torch.tensor(chosen),
        torch.tensor(HFRewardModel(rm, tok).score(prompts, [p.chosen for p in pairs])),
    )


def test_score_does_not_depend_on_batch_padding(tmp_path):
    tok = make_tokenizer()
    scorer = HFRewardModel(reward_model_from_causal_lm(make_model(tok), seed=1), tok)
    prompts = [[{"role": "user", "content": "hi"}], [{"role": "user", "content": "a long prompt"}]]
    together = scorer.score(prompts, ["ok", "a much longer answer"])
    alone = [
        scorer.score([p], [r])[0]
        for p, r in zip(prompts, ["ok", "a much longer answer"], strict=True)
    ]
    torch.testing.assert_close(torch.tensor(together), torch.tensor(alone), rtol=1e-4, atol=1e-5)


def test_callable_reward_models_are_checked():
    rm = as_reward_model(lambda prompts, responses: [len(r) for r in responses])
    assert rm.score([[]], ["abc"]) == [3.0]
    with pytest.raises(InvalidInputError, match="returned 1 scores for 2 responses"):
        as_reward_model(lambda p, r: [1.0]).score([[], []], ["a", "b"])
    with pytest.raises(InvalidInputError, match="sample 0"):
        as_reward_model(lambda p, r: [float("nan")]).score([[]], ["a"])
