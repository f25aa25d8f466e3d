"""The vLLM generation backend (``generation: {backend: vllm}``; CUDA only, optional).

A vLLM engine runs in the training process next to the policy, on the same GPU. After every
optimizer step the trainer calls :meth:`VLLMGenerator.sync_weights`, which hands the policy's
tensors to the engine's model in memory (``load_weights``; no checkpoint written to disk) and
drops the engine's prefix cache, whose keys and values the old weights computed.

Written against vLLM's documented offline API (``LLM``, ``SamplingParams``, token-id prompts,
``LLM.reset_prefix_cache``) and the in-process weight load TRL's colocate mode uses; vLLM is not a
dependency of the project (``pip install vllm``). Sampling follows the HF backend's settings:
temperature (0: greedy), top-p, and top-k (0 off; vLLM spells "off" -1). The sampled tokens'
log-probabilities come from different kernels than the trainer's forward pass, so the rollout
carries none and the update recomputes them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from cgpo.errors import ConfigError


def vllm_sampling_params(
    num_samples: int, max_new_tokens: int, temperature: float, top_p: float, top_k: int
) -> dict[str, Any]:
    """``SamplingParams`` keyword arguments equivalent to the HF backend's settings."""
    return {
        "n": num_samples,
        "temperature": temperature,  # vLLM samples greedily at 0, as the HF backend does
        "top_p": top_p,
        "top_k": top_k if top_k > 0 else -1,
        "max_tokens": max_new_tokens,
        "skip_special_tokens": True,
    }


def _named_tensors(policy: Any) -> Iterator[tuple[str, torch.Tensor]]:
    """The policy's weights under the names of the base model's checkpoint (a PEFT adapter is
    merged into its base weights on the fly; a value head is not part of the LM)."""
    if hasattr(policy, "merge_adapter"):  # PEFT: push W + BA, then restore the adapter
        policy.merge_adapter()
        try:
            base = policy.get_base_model()
            for name, p in base.state_dict().items():
                if "lora_" in name or "cgpo_value_head" in name:
                    continue
                yield name.replace(".base_layer", ""), p.detach()
        finally:
            policy.unmerge_adapter()
        return
    for name, p in policy.state_dict().items():
        if not name.startswith("cgpo_value_head"):
            yield name, p.detach()


class VLLMGenerator:
    """Samples rollouts with an in-process vLLM engine that mirrors ``policy``'s weights.

    Parameters
    ----------
    policy, tokenizer
        The trained model (on a CUDA device) and its tokenizer; the engine loads the same
        checkpoint (``policy.name_or_path``) and then takes the policy's weights at every sync.
    gpu_memory_utilization
        The share of the GPU vLLM may take for weights and KV cache (the rest is the trainer's).
    """

    def __init__(self, policy: Any, tokenizer: Any, gpu_memory_utilization: float = 0.3) -> None:
        if not torch.cuda.is_available():
            raise ConfigError("generation.backend: 'vllm' needs a CUDA device; use 'hf' on CPU")
        try:
            from vllm import LLM
        except ImportError as e:
            raise ConfigError(
                "generation.backend: 'vllm' needs the vllm package (pip install vllm)"
            ) from e
        from cgpo.rollout.generation import eos_token_ids

        # the engine must live in this process for the in-memory weight load below
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        self.policy, self.tokenizer = policy, tokenizer
        self.eos_ids = eos_token_ids(policy, tokenizer)
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.eos_ids[0]
        dtype = next(policy.parameters()).dtype
        self.llm = LLM(
            model=str(policy.config.name_or_path),
            tokenizer=str(policy.config.name_or_path),
            dtype=str(dtype).removeprefix("torch."),
            gpu_memory_utilization=gpu_memory_utilization,
            enable_prefix_caching=True,  # the K samples of a prompt share its prefill
        )
        self.sync_weights()

    def _engine_model(self) -> Any:
        engine = self.llm.llm_engine
        return engine.model_executor.driver_worker.model_runner.model

    @torch.no_grad()
    def sync_weights(self) -> None:
        """Copies the policy's current weights into the engine (in memory) and drops the
        engine's cached prefixes, computed by the old weights."""
        model = self._engine_model()
        for name, tensor in _named_tensors(self.policy):
            model.load_weights([(name, tensor)])
        self.llm.reset_prefix_cache()

    def generate(self, prompts: Sequence[str], num_samples: int, settings: Any) -> Any:
        from vllm import SamplingParams

        from cgpo.rollout.batch import Rollout
        from cgpo.rollout.generation import encode_prompts

        device = next(self.policy.parameters()).device
        ids, mask = encode_prompts(self.tokenizer, prompts, device)  # (B, P) left-padded
        requests = [
            {"prompt_token_ids": row[m.bool()].tolist()} for row, m in zip(ids, mask, strict=True)
        ]
        params = SamplingParams(
            **vllm_sampling_params(
                num_samples,
                settings.max_new_tokens,
                settings.temperature,
                settings.top_p,
                settings.top_k,
            )
        )
        outputs = self.llm.generate(requests, sampling_params=params, use_tqdm=False)
        seqs = [list(o.token_ids) for out in outputs for o in out.outputs]  # (N,) ragged
        texts = [o.text for out in outputs for o in out.outputs]
        t = max(max((len(s) for s in seqs), default=1), 1)
        completion = torch.full((len(seqs), t), self.pad_id, dtype=torch.long)  # (N, T)
        cmask = torch.zeros((len(seqs), t), dtype=torch.long)
        for j, s in enumerate(seqs):
            completion[j, : len(s)] = torch.tensor(s, dtype=torch.long)
            cmask[j, : len(s)] = 1
        groups = torch.arange(len(prompts), device=device).repeat_interleave(num_samples)
        return Rollout(
            ids.repeat_interleave(num_samples, dim=0),
            mask.repeat_interleave(num_samples, dim=0),
            completion.to(device),
            cmask.to(device),
            texts,
            groups,
        )
