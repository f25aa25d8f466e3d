"""cgpo.models: the offline SmolLM2 loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from cgpo.models import cache_dir, load_smollm2, smollm2_gguf_path


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CGPO_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("CGPO_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "cgpo"


def test_the_gguf_file_ships_with_the_package() -> None:
    path = smollm2_gguf_path()
    assert path.suffix == ".gguf"
    assert path.stat().st_size > 50_000_000


@pytest.mark.slow
def test_smollm2_loads_and_answers_greedily() -> None:
    import torch

    model, tokenizer = load_smollm2()
    assert tokenizer.padding_side == "left"
    messages = [{"role": "user", "content": "What is 2+2?"}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
    ids = ids if torch.is_tensor(ids) else ids["input_ids"]
    out = model.generate(ids, max_new_tokens=20, do_sample=False)
    assert "4" in tokenizer.decode(out[0][ids.shape[1] :])
