"""Tiny offline models for the trainer tests: a byte-level tokenizer with a chat template and a
2-layer random-init Llama, built here in milliseconds (nothing is downloaded)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    # byte-level BPE without merges: one token per byte, so any text encodes
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<pad>", "<|im_start|>", "<|im_end|>"])
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<pad>",
        bos_token="<|im_start|>",
        chat_template=CHAT_TEMPLATE,
    )


def make_model(tokenizer: Any, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=True,
    )
    return transformers.LlamaForCausalLM(config).eval()


# Completions the one-step tests train on (distinct first bytes, different lengths).
COMPLETIONS = ["aaaa", "bbbbbb", "zzz", "qqqqq"]


def chat_prompt(tok: Any, text: str = "say a") -> str:
    """``text`` as a one-turn chat prompt ready for generation."""
    return str(
        tok.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
        )
    )


def make_rollout(tok: Any, completions: Sequence[str] = COMPLETIONS) -> Any:
    """A rollout of ``completions`` to one chat prompt (all in group 0)."""
    from cgpo.rollout.generation import rollout_from_texts

    n = len(completions)
    return rollout_from_texts(tok, [chat_prompt(tok)] * n, list(completions), [0] * n)


def sequence_logps(model: Any, rollout: Any) -> Any:
    """log pi(a|s) of every completion of ``rollout``, without gradient: ``(B,)``."""
    from cgpo.rollout.logprobs import completion_logprobs

    with torch.no_grad():
        return completion_logprobs(model, rollout).sum(1)


def make_batch(
    tok: Any,
    verdicts: Sequence[int],
    rewards: Sequence[float],
    *,
    baseline_ok: bool = False,
    completions: Sequence[str] = COMPLETIONS,
    baseline: str = "aaab",
) -> Any:
    """A judged and scored rollout batch of ``completions`` to one prompt (baseline reward 0)."""
    import numpy as np

    from cgpo import selection
    from cgpo.rollout.batch import RolloutBatch

    r = np.asarray(rewards, dtype=np.float64)
    base = np.zeros(len(r))
    v = np.asarray(verdicts, dtype=np.int64)
    return RolloutBatch(
        task="t",
        samples_per_prompt=len(completions),
        indices=[0],
        messages=[({"role": "user", "content": "say a"},)],
        prompts=["say a"],
        prompt_texts=[chat_prompt(tok)],
        metadata=[{}],
        baselines=[baseline],
        rollout=make_rollout(tok, completions),
        verdicts=v,
        update_verdicts=v,
        rewards=r,
        baseline_rewards=base,
        calibrated=selection.calibrated_reward(r, base),
        baseline_satisfied=np.array([baseline_ok]),
    )


def task_loss(task: Any, model: Any, tok: Any, batch: Any) -> Any:
    """``(loss, stats)`` of the task's algorithm on ``batch``, against a frozen copy of
    ``model``."""
    import copy

    from cgpo.algorithms import Models, get_algorithm
    from cgpo.rollout.logprobs import Reference

    algorithm = get_algorithm(task.algorithm)
    reference = Reference(copy.deepcopy(model).requires_grad_(False))
    return algorithm.loss(batch, Models(model, reference, tok), algorithm.settings(task))


def make_parity_judge(name: str = "even") -> Any:
    """A judge satisfied when the response's first character has an even code point (about
    half of random responses)."""
    from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict

    class EvenFirstByte(BaseJudge):
        def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
            return [
                JudgeResult(
                    Verdict.SATISFIED
                    if s.completion and ord(s.completion[0]) % 2 == 0
                    else Verdict.VIOLATED,
                    "parity",
                )
                for s in samples
            ]

    judge = EvenFirstByte()
    judge.name = name
    return judge
