"""Sampling settings of one task's rollouts (plain Python, read by the generators)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cgpo.config.validate import Problems, choice, number

GENERATION_BACKENDS = ("hf", "vllm")


@dataclass
class GenerationConfig:
    """Sampling settings of one task's rollouts."""

    max_new_tokens: int = field(
        default=64, metadata={"help": "Most tokens generated per response."}
    )
    temperature: float = field(
        default=1.0, metadata={"help": "Sampling temperature; 0 means greedy decoding."}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass in (0, 1]."})
    top_k: int = field(default=0, metadata={"help": "Keep the top k tokens; 0 turns it off."})
    backend: str = field(
        default="hf",
        metadata={
            "help": "'hf' (a sampling loop over the transformers model, CPU or GPU) or 'vllm' "
            "(an in-process vLLM engine, CUDA only, `pip install vllm`)."
        },
    )

    def __post_init__(self) -> None:
        p = Problems()
        p.check(choice, "generation.backend", self.backend, GENERATION_BACKENDS)
        p.check(number, "generation.max_new_tokens", self.max_new_tokens, integer=True, minimum=1)
        p.check(number, "generation.temperature", self.temperature, minimum=0.0)
        p.check(number, "generation.top_p", self.top_p, minimum=0.0, strict=True, maximum=1.0)
        p.check(number, "generation.top_k", self.top_k, integer=True, minimum=0)
        p.raise_any()

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0
