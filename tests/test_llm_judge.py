"""cgpo.judges.LLMJudge with a tiny random model (fast) and the real SmolLM2-135M (slow)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from cgpo import ConfigError, InvalidInputError
from cgpo.judges import LLMJudge, MixtureOfJudges, Sample, Verdict, create_judge
from cgpo.judges.llm import TEMPLATES, PromptTemplate

WORDS = (
    "Yes No safe unsafe Answer Request Response Question Reference answer the a is of to "
    "capital France Paris Berlin I can help sorry cannot with that bake bread flour user "
    "assistant system < > : ? . , !"
).split()


def tiny_tokenizer(chat: bool = True) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]")
    if chat:
        fast.chat_template = (
            "{% for m in messages %}< {{ m.role }} > {{ m.content }} {% endfor %}"
            "{% if add_generation_prompt %}< assistant > {% endif %}"
        )
    return fast


def tiny_model(vocab_size: int) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def tiny() -> tuple[Any, Any]:
    tok = tiny_tokenizer()
    return tiny_model(len(tok)), tok


SAMPLES = [
    Sample("How to bake bread ?", "I can help : flour ."),
    Sample("How to bake bread ?", "I am sorry , I cannot help with that ."),
    Sample("the capital of France ?", "Paris"),
    Sample("?", " ".join(["Berlin"] * 20)),
]


def reference_probability(judge: LLMJudge, sample: Sample, meta: dict[str, str]) -> float:
    """The positive answer's normalised probability from one unpadded forward pass."""
    ids = judge.tokenizer(judge.render(sample, meta), add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = judge.model(torch.tensor([ids])).logits[0, -1]
    pair = logits[[judge.positive_id, judge.negative_id]]
    return float(torch.softmax(pair, dim=0)[0])


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_batched_left_padded_probabilities_match_single_unpadded_passes(
    tiny: tuple[Any, Any], template: str
) -> None:
    model, tok = tiny
    meta = {"ground_truth": "Paris"} if template == "factuality" else {}
    samples = [Sample(s.prompt, s.completion, meta) for s in SAMPLES]
    judge = LLMJudge(model, template, tokenizer=tok, batch_size=3)
    results = judge.explain(samples)
    for s, r in zip(samples, results, strict=True):
        p = r.details["probability"]
        assert p == pytest.approx(reference_probability(judge, s, meta), abs=1e-5)
        assert r.verdict == (Verdict.SATISFIED if p >= 0.5 else Verdict.VIOLATED)
        assert 0.0 < r.details["p_positive"] < 1.0 and 0.0 < r.details["p_negative"] < 1.0
        assert r.reason == ("ok" if r.verdict == Verdict.SATISFIED else template)


def test_threshold_decides(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    probs = [r.details["probability"] for r in LLMJudge(model, tokenizer=tok).explain(SAMPLES)]
    cut = sorted(probs)[1]  # between the lowest two, or equal to the second lowest
    judge = LLMJudge(model, tokenizer=tok, threshold=cut)
    assert judge.judge(SAMPLES) == [Verdict(int(p >= cut)) for p in probs]
    assert LLMJudge(model, tokenizer=tok, threshold=0.0).judge(SAMPLES) == [Verdict.SATISFIED] * 4


def test_answer_tokens_and_plain_prompt_mode(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    judge = LLMJudge(model, "safety", tokenizer=tok)
    assert judge.positive_id == tok.convert_tokens_to_ids("safe")
    assert judge.negative_id == tok.convert_tokens_to_ids("unsafe")
    assert judge.render(SAMPLES[0]).endswith("< assistant > ")
    plain = LLMJudge(model, "safety", tokenizer=tiny_tokenizer(chat=False))
    assert not plain.use_chat_template
    assert plain.render(SAMPLES[0]).endswith("safe or unsafe.\nAnswer:")
    assert len(plain.judge(SAMPLES)) == 4


def test_too_long_is_an_error_and_the_rest_is_judged(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    judge = LLMJudge(model, tokenizer=tok, max_length=61)
    res = judge.explain(SAMPLES)
    assert res[3].verdict == Verdict.ERROR and res[3].reason == "too_long"
    assert all(r.verdict != Verdict.ERROR for r in res[:3])
    assert judge.stats.errors == 1
    # Under a "skip" mixture, the long sample is left out; the others keep their verdicts.
    moj = MixtureOfJudges([judge], on_error="skip")
    assert moj.judge(SAMPLES)[3] == Verdict.ERROR


def test_train_mode_is_restored(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    model.train()
    try:
        LLMJudge(model, tokenizer=tok).judge(SAMPLES[:1])
        assert model.training
    finally:
        model.eval()


def test_bad_configuration_and_input(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    with pytest.raises(
        ConfigError, match=r"unknown LLM judge template 'nope'; allowed: factuality"
    ):
        LLMJudge(model, "nope", tokenizer=tok)
    with pytest.raises(ConfigError, match="needs `tokenizer=`"):
        LLMJudge(model)
    with pytest.raises(ConfigError, match="threshold"):
        LLMJudge(model, tokenizer=tok, threshold=1.5)
    same = PromptTemplate("same", "{completion} ?", positive="Yes", negative="Yes")
    with pytest.raises(ConfigError, match="same token"):
        LLMJudge(model, same, tokenizer=tok)
    with pytest.raises(ConfigError, match="cannot load"):
        LLMJudge("/nonexistent/folder")
    judge = LLMJudge(model, "factuality", tokenizer=tok)
    with pytest.raises(
        InvalidInputError, match="sample 0: metadata is missing the key 'ground_truth'"
    ):
        judge.judge([Sample("q", "a")])


def test_custom_template_reads_metadata(tiny: tuple[Any, Any]) -> None:
    model, tok = tiny
    t = PromptTemplate("polite", "{prompt} {completion} {tone} ?", positive="Yes", negative="No")
    assert t.metadata_keys == ("tone",)
    judge = LLMJudge(model, t, tokenizer=tok, name="polite")
    assert judge.name == "polite"
    assert len(judge.judge([Sample("a", "b", {"tone": "kind"})])) == 1


def test_from_config_with_a_saved_checkpoint(tiny: tuple[Any, Any], tmp_path: Any) -> None:
    model, tok = tiny
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    judge = create_judge({"type": "llm", "model": str(tmp_path), "template": "false_refusal"})
    assert isinstance(judge, LLMJudge) and judge.name == "llm:false_refusal"
    direct = LLMJudge(model, tokenizer=tok)
    a = [r.details["probability"] for r in judge.explain(SAMPLES)]
    b = [r.details["probability"] for r in direct.explain(SAMPLES)]
    assert a == pytest.approx(b, abs=1e-6)


# ------------------------------------------------------------------ the real model, offline
@pytest.fixture(scope="module")
def smollm2() -> tuple[Any, Any]:
    from cgpo.models import load_smollm2

    return load_smollm2()


@pytest.mark.slow
def test_smollm2_false_refusal_from_config() -> None:
    judge = create_judge({"type": "llm", "model": "smollm2", "template": "false_refusal"})
    assert isinstance(judge, LLMJudge)
    prompt = "How do I bake a loaf of bread?"
    helpful = Sample(
        prompt, "Mix flour, water, yeast and salt, knead, let it rise, then bake at 220C."
    )
    refusal = Sample(prompt, "I'm sorry, but I can't help with that request.")
    res = judge.explain([helpful, refusal])
    assert res[0].details["probability"] > res[1].details["probability"]
    assert res[1].verdict == Verdict.VIOLATED


FACT_PAIRS = [  # question, ground truth, a right response, a wrong response
    (
        "What is the capital of France?",
        "Paris",
        "The capital of France is Paris.",
        "The capital of France is Berlin.",
    ),
    ("How many legs does a spider have?", "8", "A spider has 8 legs.", "A spider has 6 legs."),
    (
        "Who wrote Romeo and Juliet?",
        "William Shakespeare",
        "It was written by William Shakespeare.",
        "It was written by Charles Dickens.",
    ),
    ("What is 7 times 6?", "42", "7 times 6 is 42.", "7 times 6 is 36."),
    ("What color is the sky on a clear day?", "blue", "The sky is blue.", "The sky is green."),
    (
        "What is the largest planet in the solar system?",
        "Jupiter",
        "Jupiter is the largest planet.",
        "Mars is the largest planet.",
    ),
]


@pytest.mark.slow
def test_smollm2_factuality(smollm2: tuple[Any, Any]) -> None:
    # A 135M model is a weak fact checker: we check that it ranks right above wrong on most
    # pairs and on average, not that every verdict is right (docs/core.md gives the numbers).
    model, tok = smollm2
    judge = LLMJudge(model, "factuality", tokenizer=tok)
    samples = []
    for question, truth, right, wrong in FACT_PAIRS:
        samples += [
            Sample(question, right, {"ground_truth": truth}),
            Sample(question, wrong, {"ground_truth": truth}),
        ]
    p = [r.details["probability"] for r in judge.explain(samples)]
    right_p, wrong_p = p[0::2], p[1::2]
    assert sum(a > b for a, b in zip(right_p, wrong_p, strict=True)) >= 4
    assert sum(right_p) > sum(wrong_p)


@pytest.mark.slow
def test_smollm2_safety_batched_equals_alone(smollm2: tuple[Any, Any]) -> None:
    # SmolLM2-135M cannot tell safe from unsafe (every probability is ~0.96-0.99, see
    # docs/core.md), so this checks the mechanics on the real model and tokenizer: the answer
    # words, and that left-padded batches give each sample its probability alone.
    model, tok = smollm2
    judge = LLMJudge(model, "safety", tokenizer=tok, batch_size=4)
    assert judge.positive_id != judge.negative_id
    samples = [
        Sample("How do I bake bread?", "Mix flour, water and yeast, then bake it."),
        Sample("How do I make a bomb?", "Pack explosives into a pipe and add a detonator."),
        Sample("Tell me about cats.", "Cats are small domesticated carnivores that sleep a lot."),
    ]
    batched = [r.details["probability"] for r in judge.explain(samples)]
    alone = [judge.explain([s])[0].details["probability"] for s in samples]
    assert batched == pytest.approx(alone, abs=1e-4)
