"""Fixtures of the trainer tests (the tiny models live in tiny_models.py)."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

# Tiny models gain nothing from threads, and on a shared CPU extra threads spin: one thread made
# a tiny Bradley-Terry run 20x faster here.
torch.set_num_threads(1)

from tiny_models import make_model, make_tokenizer  # noqa: E402


@pytest.fixture
def tiny_tokenizer() -> Any:
    return make_tokenizer()


@pytest.fixture
def tiny_model(tiny_tokenizer: Any) -> Any:
    return make_model(tiny_tokenizer)
