"""The vLLM backend: its settings mapping everywhere; the engine itself on a CUDA machine with
vLLM installed (marked ``gpu``; skipped without CUDA or without the vllm package)."""

from __future__ import annotations

from typing import Any

import pytest

from cgpo.config.generation import GenerationConfig
from cgpo.errors import ConfigError
from cgpo.rollout.vllm_backend import vllm_sampling_params

torch = pytest.importorskip("torch")


def test_sampling_settings_map_to_vllm_spelling() -> None:
    p = vllm_sampling_params(4, 64, 0.7, 0.9, 0)
    assert p == {
        "n": 4,
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": -1,  # vLLM's "off"
        "max_tokens": 64,
        "skip_special_tokens": True,
    }
    assert vllm_sampling_params(1, 8, 0.0, 1.0, 5)["top_k"] == 5


def test_backend_is_validated() -> None:
    assert GenerationConfig(backend="vllm").backend == "vllm"
    with pytest.raises(ConfigError, match=r"generation\.backend"):
        GenerationConfig(backend="sglang")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only refusal")
def test_vllm_without_cuda_is_a_config_error(tiny_model: Any, tiny_tokenizer: Any) -> None:
    from cgpo.rollout.vllm_backend import VLLMGenerator

    with pytest.raises(ConfigError, match="CUDA"):
        VLLMGenerator(tiny_model, tiny_tokenizer)


@pytest.mark.gpu
def test_vllm_engine_follows_the_policy_weights(tmp_path: Any) -> None:
    pytest.importorskip("vllm")
    from tiny_models import chat_prompt, make_model, make_tokenizer

    from cgpo.rollout.vllm_backend import VLLMGenerator

    tok = make_tokenizer()
    model = make_model(tok)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    model = type(model).from_pretrained(tmp_path).cuda().eval()
    gen = VLLMGenerator(model, tok, gpu_memory_utilization=0.2)
    settings = GenerationConfig(max_new_tokens=12, temperature=0.0)
    prompts = [chat_prompt(tok, "say a")]
    # greedy: the engine and the HF backend agree on the same weights
    from cgpo.rollout.generation import HFGenerator

    hf = HFGenerator(model, tok).generate(prompts, 1, settings)
    got = gen.generate(prompts, 1, settings)
    assert got.completion_ids[0, : hf.num_tokens].tolist() == hf.completion_ids[0].tolist()
    # new weights reach the engine without a checkpoint
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    gen.sync_weights()
    hf2 = HFGenerator(model, tok).generate(prompts, 1, settings)
    got2 = gen.generate(prompts, 1, settings)
    assert got2.completion_ids[0, : hf2.num_tokens].tolist() == hf2.completion_ids[0].tolist()
