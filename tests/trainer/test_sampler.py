"""The prefill-once sampler (cgpo.rollout.sampler) against transformers' ``generate``."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from tiny_models import chat_prompt  # noqa: E402

from cgpo.config.generation import GenerationConfig  # noqa: E402
from cgpo.rollout.batch import Rollout  # noqa: E402
from cgpo.rollout.generation import HFGenerator, completion_mask, encode_prompts  # noqa: E402
from cgpo.rollout.logprobs import completion_logprobs  # noqa: E402
from cgpo.rollout.sampler import logits_warpers, sample  # noqa: E402

# prompts of different lengths, so the batch is left-padded
PROMPTS = ["say a", "hello there, friend"]


def _generate(model: Any, tok: Any, prompts: list[str], k: int, settings: Any) -> Rollout:
    """transformers' ``generate`` on the prompts repeated K times (the former backend)."""
    gen = HFGenerator(model, tok)  # for its eos and pad ids
    ids, mask = encode_prompts(tok, prompts, torch.device("cpu"))
    ids, mask = ids.repeat_interleave(k, dim=0), mask.repeat_interleave(k, dim=0)
    kwargs: dict[str, Any] = {"do_sample": False, "temperature": None, "top_p": None}
    if not settings.greedy:
        kwargs = {"do_sample": True, "temperature": settings.temperature}
        kwargs.update(top_p=settings.top_p, top_k=settings.top_k)
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=settings.max_new_tokens,
            pad_token_id=gen.pad_id,
            eos_token_id=gen.eos_ids,
            top_k=kwargs.pop("top_k", None),
            **kwargs,
        )
    completion = out[:, ids.shape[1] :]
    cmask = completion_mask(completion, gen.eos_ids)
    completion = torch.where(cmask.bool(), completion, torch.full_like(completion, gen.pad_id))
    groups = torch.arange(len(prompts)).repeat_interleave(k)
    return Rollout(ids, mask, completion, cmask, [""] * len(ids), groups)


def _run(model: Any, tok: Any, settings: GenerationConfig, k: int, seed: int) -> tuple[Any, Any]:
    """(generate's rollout, the sampler's samples) from the same seed."""
    gen = HFGenerator(model, tok)
    prompts = [chat_prompt(tok, p) for p in PROMPTS]
    torch.manual_seed(seed)
    ref = _generate(model, tok, prompts, k, settings)
    ids, mask = encode_prompts(tok, prompts, torch.device("cpu"))
    torch.manual_seed(seed)
    got = sample(
        model,
        ids,
        mask,
        k,
        max_new_tokens=settings.max_new_tokens,
        eos_ids=gen.eos_ids,
        pad_id=gen.pad_id,
        temperature=settings.temperature,
        top_k=settings.top_k,
        top_p=settings.top_p,
    )
    return ref, got


def test_hf_generator_rollout_carries_the_sampled_logprobs(
    tiny_model: Any, tiny_tokenizer: Any
) -> None:
    gen = HFGenerator(tiny_model, tiny_tokenizer)
    torch.manual_seed(0)
    r = gen.generate([chat_prompt(tiny_tokenizer)], 3, GenerationConfig(10))
    assert r.logprobs is not None and r.logprobs.shape == r.completion_ids.shape
    with torch.no_grad():
        forced = completion_logprobs(tiny_model, r)
    torch.testing.assert_close(r.logprobs, forced, atol=1e-5, rtol=1e-5)


def test_greedy_equals_generate(tiny_model: Any, tiny_tokenizer: Any) -> None:
    ref, got = _run(tiny_model, tiny_tokenizer, GenerationConfig(24, temperature=0.0), 3, 0)
    assert torch.equal(got.completion_mask, ref.completion_mask)
    assert torch.equal(got.completion_ids, ref.completion_ids)


@pytest.mark.parametrize(
    "settings",
    [
        GenerationConfig(16, temperature=1.0),
        GenerationConfig(16, temperature=0.7, top_k=20, top_p=0.9),
        GenerationConfig(16, temperature=1.3, top_p=0.5),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_tokens_as_generate_until_a_row_ends(
    tiny_model: Any, tiny_tokenizer: Any, settings: GenerationConfig, seed: int
) -> None:
    # generate keeps sampling the finished rows (then overwrites them with padding), so both draw
    # the same random numbers, and so the same tokens, up to the step where the first row ends;
    # after it the sampler draws fewer numbers per step.
    ref, got = _run(tiny_model, tiny_tokenizer, settings, 4, seed)
    lengths = ref.completion_mask.sum(dim=1)
    first_end = int(lengths.min())
    assert first_end >= 1
    assert torch.equal(got.completion_ids[:, :first_end], ref.completion_ids[:, :first_end])


@pytest.mark.parametrize("temperature", [0.0, 1.0, 0.7])
def test_logprobs_equal_a_teacher_forced_forward(
    tiny_model: Any, tiny_tokenizer: Any, temperature: float
) -> None:
    # rows end at different steps: a row that outlives finished ones must still see its own
    # cache, which the teacher-forced forward checks token by token
    ref, got = _run(tiny_model, tiny_tokenizer, GenerationConfig(40, temperature=temperature), 4, 5)
    r = Rollout(
        ref.prompt_ids, ref.prompt_mask, got.completion_ids, got.completion_mask, [], ref.group_ids
    )
    with torch.no_grad():
        forced = completion_logprobs(tiny_model, r)
    torch.testing.assert_close(got.logprobs, forced, atol=1e-5, rtol=1e-5)
    assert bool((got.logprobs[got.completion_mask.bool()] < 0).all())
    assert bool((got.logprobs[~got.completion_mask.bool()] == 0).all())


@pytest.mark.parametrize("compact_every", [1, 4])
def test_rows_end_at_eos_and_are_reported_once(
    tiny_model: Any, tiny_tokenizer: Any, compact_every: int
) -> None:
    ids, mask = encode_prompts(
        tiny_tokenizer, [chat_prompt(tiny_tokenizer, p) for p in PROMPTS], torch.device("cpu")
    )
    seen: dict[int, list[int]] = {}

    def on_finished(rows: list[int], token_ids: list[list[int]]) -> None:
        for r, t in zip(rows, token_ids, strict=True):
            assert r not in seen
            seen[r] = t

    # the eos set is every odd token id, so most rows end within a few steps
    eos = list(range(1, len(tiny_tokenizer), 2))
    torch.manual_seed(0)
    got = sample(
        tiny_model,
        ids,
        mask,
        5,
        max_new_tokens=30,
        eos_ids=eos,
        pad_id=0,
        on_finished=on_finished,
        compact_every=compact_every,
    )
    assert sorted(seen) == list(range(10))
    lengths = got.completion_mask.sum(dim=1)
    assert got.completion_ids.shape[1] == int(lengths.max())
    for r, t in seen.items():
        assert got.completion_ids[r, : len(t)].tolist() == t
        assert len(t) == int(lengths[r])
        assert t[-1] % 2 == 1 or len(t) == 30  # ended by an eos token or by the limit
        assert bool((got.completion_ids[r, len(t) :] == 0).all())
    assert int(lengths.min()) < 30
    r = Rollout(
        ids.repeat_interleave(5, 0),
        mask.repeat_interleave(5, 0),
        got.completion_ids,
        got.completion_mask,
        [],
        torch.zeros(10, dtype=torch.long),
    )
    with torch.no_grad():
        forced = completion_logprobs(tiny_model, r)
    torch.testing.assert_close(got.logprobs, forced, atol=1e-5, rtol=1e-5)


def test_warpers_match_generate_settings() -> None:
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    assert len(logits_warpers(1.0, 0, 1.0)) == 0
    kinds = [type(w) for w in logits_warpers(0.5, 10, 0.9)]
    assert kinds == [TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper]


def test_the_model_mode_is_restored(tiny_model: Any, tiny_tokenizer: Any) -> None:
    ids, mask = encode_prompts(tiny_tokenizer, [chat_prompt(tiny_tokenizer)], torch.device("cpu"))
    tiny_model.train()
    sample(tiny_model, ids, mask, 2, max_new_tokens=3, eos_ids=[1], pad_id=0)
    assert tiny_model.training
