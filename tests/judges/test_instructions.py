"""InstructionJudge: hand-worked verdicts per IFEval instruction, kwargs handling, API, odd
inputs. Every case runs on the Rust judge and the pure-Python reference."""

from __future__ import annotations

from typing import Any

import pytest

from cgpo import InstructionJudge, InvalidInputError, _core
from cgpo.judges import Sample, Verdict, ifeval_metrics
from cgpo.judges.instructions import INSTRUCTION_IDS, _resources
from cgpo.reference import InstructionJudge as RefJudge
from cgpo.reference import instructions as ref

JUDGES = [InstructionJudge, RefJudge]


def sample(
    response: str, *instructions: tuple[str, dict[str, Any]], prompt: str = "Write"
) -> Sample:
    return Sample(
        prompt,
        response,
        {
            "instruction_id_list": [i for i, _ in instructions],
            "kwargs": [k for _, k in instructions],
        },
    )


LT, AL = "less than", "at least"

# (instruction id, kwargs, response, followed in strict mode)
CASES: list[tuple[str, dict[str, Any], str, bool]] = [
    # keywords are regular expressions, matched case-insensitively
    ("keywords:existence", {"keywords": ["cat", "d.g"]}, "A CAT met a dig.", True),
    ("keywords:existence", {"keywords": ["cat", "dog"]}, "A cat alone.", False),
    ("keywords:existence", {"keywords": ["a+b"]}, "xaaab", True),
    # frequency counts substrings: "the" in "There" and "other"
    (
        "keywords:frequency",
        {"keyword": "the", "frequency": 3, "relation": AL},
        "the There other",
        True,
    ),
    (
        "keywords:frequency",
        {"keyword": "the", "frequency": 4, "relation": AL},
        "the There other",
        False,
    ),
    (
        "keywords:frequency",
        {"keyword": "the", "frequency": 3, "relation": LT},
        "the There other",
        False,
    ),
    (
        "keywords:frequency",
        {"keyword": "the", "frequency": 4, "relation": LT},
        "the There other",
        True,
    ),
    # forbidden words need word boundaries
    ("keywords:forbidden_words", {"forbidden_words": ["cat"]}, "concatenate", True),
    ("keywords:forbidden_words", {"forbidden_words": ["cat"]}, "a Cat!", False),
    ("keywords:forbidden_words", {"forbidden_words": ["cat"]}, "cat_food", True),
    # letter frequency on the lower-cased text
    (
        "keywords:letter_frequency",
        {"letter": "A", "let_frequency": 3, "let_relation": AL},
        "Aa a",
        True,
    ),
    (
        "keywords:letter_frequency",
        {"letter": "a", "let_frequency": 3, "let_relation": LT},
        "Aa a",
        False,
    ),
    (
        "keywords:letter_frequency",
        {"letter": "a", "let_frequency": 4, "let_relation": LT},
        "Aa a",
        True,
    ),
    (
        "language:response_language",
        {"language": "en"},
        "This is clearly an English sentence about the weather.",
        True,
    ),
    (
        "language:response_language",
        {"language": "fr"},
        "This is clearly an English sentence about the weather.",
        False,
    ),
    (
        "language:response_language",
        {"language": "de"},
        "Das ist ein ganz normaler deutscher Satz über das Wetter.",
        True,
    ),
    # no letters at all: langdetect raises, the reference counts the instruction as followed
    ("language:response_language", {"language": "ja"}, "12345 !!!", True),
    # sentences (Punkt): "Dr." is an abbreviation
    (
        "length_constraints:number_sentences",
        {"num_sentences": 2, "relation": AL},
        "I met Dr. Smith. He waved.",
        True,
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": AL},
        "I met Dr. Smith. He waved.",
        False,
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 2, "relation": LT},
        "I met Dr. Smith. He waved.",
        False,
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": LT},
        "I met Dr. Smith. He waved.",
        True,
    ),
    # paragraphs split on *** (empty first/last pieces dropped, an empty inner one fails)
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "a\n***\nb", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\na\n***\nb\n***", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "a\n***\n***\nb", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3}, "a\n***\nb", False),
    # words: \w+ runs ("don't" is two words)
    ("length_constraints:number_words", {"num_words": 4, "relation": AL}, "I don't know.", True),
    ("length_constraints:number_words", {"num_words": 5, "relation": AL}, "I don't know.", False),
    ("length_constraints:number_words", {"num_words": 4, "relation": LT}, "I don't know.", False),
    ("length_constraints:number_words", {"num_words": 5, "relation": LT}, "I don't know.", True),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "Then"},
        'First one.\n\n"Then, more.',
        True,
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "then"},
        "First one.\n\nThen more.",
        False,
    ),
    (
        "detectable_content:number_placeholders",
        {"num_placeholders": 2},
        "[name] at [address]",
        True,
    ),
    (
        "detectable_content:number_placeholders",
        {"num_placeholders": 3},
        "[name] at [address]",
        False,
    ),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\nP.S. bye", True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Hi.\np. p. s bye", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\nPS bye", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "* a\n* b\n- c", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n* b\n- c", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 1}, "* a\n**b**", True),
    ("detectable_format:constrained_response", {}, "Well... My answer is maybe.", True),
    ("detectable_format:constrained_response", {}, "My answer is Yes.", False),
    (
        "detectable_format:number_highlighted_sections",
        {"num_highlights": 2},
        "*one* and **two**",
        True,
    ),
    (
        "detectable_format:number_highlighted_sections",
        {"num_highlights": 2},
        "* * and *one*",
        False,
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\na\nSection 2\nb",
        True,
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 3},
        "Section 1\na\nSection 2\nb",
        False,
    ),
    ("detectable_format:json_format", {}, '```json\n{"a": NaN}\n```', True),
    ("detectable_format:json_format", {}, '{"a": 1,}', False),
    ("detectable_format:title", {}, "<<A Poem>>\nroses", True),
    ("detectable_format:title", {}, "<< >>\nroses", False),
    ("combination:two_responses", {}, "first ****** second", True),
    ("combination:two_responses", {}, "same ****** same", False),
    ("combination:two_responses", {}, "a ****** ****** b", False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "say HI. Hi!", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "Hi! Say hi.", False),
    (
        "startend:end_checker",
        {"end_phrase": "Any other questions?"},
        'Done. any other questions?"',
        True,
    ),
    (
        "startend:end_checker",
        {"end_phrase": "Any other questions?"},
        "Any other questions? Yes.",
        False,
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": AL},
        "I CANNOT go",
        True,
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 3, "capital_relation": LT},
        "I CANNOT go",
        False,
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 4, "capital_relation": LT},
        "I CANNOT go",
        True,
    ),
    ("change_case:english_capital", {}, "THIS IS AN ENGLISH SENTENCE ABOUT THE WEATHER.", True),
    ("change_case:english_capital", {}, "THIS IS AN ENGLISH SENTENCE ABOUT THE WEATHEr.", False),
    ("change_case:english_lowercase", {}, "this is an english sentence about the weather.", True),
    (
        "change_case:english_lowercase",
        {},
        "ceci est une phrase en français sur le temps qu'il fait.",
        False,
    ),
    ("punctuation:no_comma", {}, "no commas here", True),
    ("punctuation:no_comma", {}, "one, comma", False),
    ("startend:quotation", {}, ' "quoted" ', True),
    ("startend:quotation", {}, '"', False),
]


def test_cases_cover_every_instruction_id() -> None:
    assert {c[0] for c in CASES} == set(INSTRUCTION_IDS)
    assert len(INSTRUCTION_IDS) == 25


@pytest.mark.parametrize("judge_cls", JUDGES)
@pytest.mark.parametrize(("iid", "kwargs", "response", "expected"), CASES)
def test_hand_worked_verdicts(
    judge_cls: type, iid: str, kwargs: dict[str, Any], response: str, expected: bool
) -> None:
    s = sample(response, (iid, kwargs))
    assert judge_cls().check([s]) == [[expected]]
    assert judge_cls().judge([s]) == [Verdict.SATISFIED if expected else Verdict.VIOLATED]


@pytest.mark.parametrize("judge_cls", JUDGES)
def test_strict_fails_empty_responses_and_loose_tries_variants(judge_cls: type) -> None:
    s = sample("   ", ("punctuation:no_comma", {}))
    assert judge_cls(strict=True).check([s]) == [[False]]
    assert judge_cls(strict=False).check([s]) == [[False]]
    # loose drops the first line ("Sure, here it is:") and the asterisks
    s = sample(
        "Sure, here it is:\n**no commas**", ("punctuation:no_comma", {}), ("startend:quotation", {})
    )
    assert judge_cls(strict=True).check([s]) == [[False, False]]
    assert judge_cls(strict=False).check([s]) == [[True, False]]
    s = sample('Title\n"quoted"\nBye', ("startend:quotation", {}))
    assert judge_cls(strict=False).check([s]) == [[True]]


@pytest.mark.parametrize("judge_cls", JUDGES)
def test_falsy_kwargs_use_documented_defaults(judge_cls: type) -> None:
    # frequency 0 and relation None are dropped: default frequency 1, relation "at least"
    kw = {"keyword": "cat", "frequency": 0, "relation": None}
    assert judge_cls().check([sample("a cat", ("keywords:frequency", kw))]) == [[True]]
    assert judge_cls().check([sample("a dog", ("keywords:frequency", kw))]) == [[False]]
    # negative counts fall back too (num_words default 100, "at least")
    kw = {"num_words": -5, "relation": None}
    assert judge_cls().check([sample("word " * 100, ("length_constraints:number_words", kw))]) == [
        [True]
    ]
    assert judge_cls().check([sample("word " * 99, ("length_constraints:number_words", kw))]) == [
        [False]
    ]
    # missing language -> "en"; missing marker -> "P.S."; missing letter -> "a"
    en = "This is clearly an English sentence about the weather."
    assert judge_cls().check([sample(en, ("language:response_language", {"language": None}))]) == [
        [True]
    ]
    assert judge_cls().check([sample("x\nP.S. y", ("detectable_content:postscript", {}))]) == [
        [True]
    ]
    kw = {"letter": None, "let_frequency": 2, "let_relation": AL}
    assert judge_cls().check([sample("banana", ("keywords:letter_frequency", kw))]) == [[True]]
    # nth_paragraph beyond num_paragraphs is replaced by 1
    kw = {"num_paragraphs": 1, "nth_paragraph": 5, "first_word": "hello"}
    s = sample("Hello there.", ("length_constraints:nth_paragraph_first_word", kw))
    assert judge_cls().check([s]) == [[True]]


@pytest.mark.parametrize("judge_cls", JUDGES)
@pytest.mark.parametrize(
    ("iid", "kwargs", "needle"),
    [
        ("keywords:nonexistent", {}, "keywords:nonexistent"),
        ("length_constraints:number_words", {"num_words": 5, "relation": "at most"}, "at most"),
        ("punctuation:no_comma", {"bogus": 1}, "bogus"),
        ("keywords:existence", {"keywords": None}, "keywords"),
        ("language:response_language", {"language": "xx"}, "xx"),
        ("length_constraints:number_sentences", {"num_sentences": "3"}, "num_sentences"),
    ],
)
def test_bad_instructions_raise_naming_sample_and_id(
    judge_cls: type, iid: str, kwargs: dict[str, Any], needle: str
) -> None:
    good = sample("fine", ("punctuation:no_comma", {}))
    bad = sample("fine", (iid, kwargs))
    with pytest.raises(InvalidInputError) as e:
        judge_cls().judge([good, bad])
    msg = str(e.value)
    assert "sample 1" in msg and needle in msg and (iid in msg or "unknown" in msg)


@pytest.mark.parametrize("judge_cls", JUDGES)
def test_missing_metadata_is_invalid_input(judge_cls: type) -> None:
    with pytest.raises(InvalidInputError, match="instruction_id_list"):
        judge_cls().judge([Sample("p", "r", {})])
    s = Sample("p", "r", {"instruction_id_list": ["punctuation:no_comma"], "kwargs": []})
    with pytest.raises(InvalidInputError, match="sample 0"):
        judge_cls().judge([s])


def test_explain_names_failed_instructions() -> None:
    s = sample(
        "Hello, world",
        ("punctuation:no_comma", {}),
        ("length_constraints:number_words", {"num_words": 2, "relation": AL}),
        ("detectable_content:number_placeholders", {"num_placeholders": 1}),
    )
    (r,) = InstructionJudge().explain([s])
    assert r.verdict == Verdict.VIOLATED
    assert set(r.details["failed"]) == {
        "punctuation:no_comma",
        "detectable_content:number_placeholders",
    }
    assert "0 [placeholders]" in r.details["failed"]["detectable_content:number_placeholders"]
    (r,) = RefJudge().explain([s])
    assert set(r.details["failed"]) == {
        "punctuation:no_comma",
        "detectable_content:number_placeholders",
    }


def test_repeat_prompt_falls_back_to_the_sample_prompt() -> None:
    s = sample("Say hi. Hi!", ("combination:repeat_prompt", {}), prompt="Say hi.")
    assert InstructionJudge().check([s]) == [[True]]
    assert RefJudge().check([s]) == [[True]]


def test_ifeval_metrics_hand_worked() -> None:
    samples = [
        sample("a b", ("punctuation:no_comma", {}), ("startend:quotation", {})),  # [T, F]
        sample(
            'Note:\n"x y"', ("punctuation:no_comma", {}), ("startend:quotation", {})
        ),  # strict [T, F], loose [T, T]
        sample("a, b", ("punctuation:no_comma", {})),  # [F]
    ]
    m = ifeval_metrics(samples)
    assert m["prompt_level_strict_acc"] == 0.0
    assert m["inst_level_strict_acc"] == pytest.approx(2 / 5)
    assert m["prompt_level_loose_acc"] == pytest.approx(1 / 3)
    assert m["inst_level_loose_acc"] == pytest.approx(3 / 5)
    assert ifeval_metrics(samples, (RefJudge(True), RefJudge(False))) == m


def test_stats_and_judge_agree_with_check() -> None:
    j = InstructionJudge()
    samples = [
        sample("a b", ("punctuation:no_comma", {})),
        sample("a, b", ("punctuation:no_comma", {})),
    ]
    assert j.judge(samples) == [Verdict.SATISFIED, Verdict.VIOLATED]
    assert j.stats.total == 2 and j.stats.satisfied == 1


@pytest.mark.parametrize(
    "text",
    [
        "x" * 2_000_000,
        ("word, *hi* [x] ***\n\n" * 20_000),
        "\x00\x00 nul \x00",
        "lone \ud800 surrogate \udfff",
        "[" * 200_000,
        "🙂" * 10_000,
    ],
)
def test_huge_and_odd_inputs_never_crash(text: str) -> None:
    instructions = [
        ("keywords:existence", {"keywords": ["x"]}),
        ("length_constraints:number_sentences", {"num_sentences": 2, "relation": AL}),
        ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": AL}),
        ("language:response_language", {"language": "en"}),
        ("detectable_format:json_format", {}),
        ("detectable_format:number_bullet_lists", {"num_bullets": 2}),
    ]
    for strict in (True, False):
        out = InstructionJudge(strict=strict).check([sample(text, *instructions)])
        assert len(out[0]) == len(instructions)


def test_surrogates_are_checked_like_replacement_characters() -> None:
    s = sample('"\ud800"', ("startend:quotation", {}), ("detectable_format:json_format", {}))
    assert InstructionJudge().check([s]) == RefJudge().check([s]) == [[True, True]]


def test_tokenizers_and_detector_match_nltk_and_langdetect() -> None:
    texts = [
        "Mr. Smith went to Washington. He arrived at 3 p.m. on Jan. 5th!",
        '"Stop." she said. (It was late.) Then: nothing... really?!',
        "I CAN'T BELIEVE IT -- THE U.S.A. WON, 3-2. gonna cannot 'tis",
        "«Bonjour» dit-il. C'était l'été.",
        "",
        "   \n\n  ",
    ]
    res = _resources()
    assert _core.ifeval_sentences(res, texts) == [ref.sentences(t) for t in texts]
    assert _core.ifeval_word_tokenize(res, texts) == [ref.word_tokenize(t) for t in texts]
    lang_texts = [
        *texts,
        "Das ist ein Test.",
        "これは日本語の文章です。",
        "Это русский текст.",
        "مرحبا بالعالم",
        "ok",
        "http://example.com a@b.co",
    ]
    assert _core.ifeval_detect_language(res, lang_texts) == [
        ref.detect_language(t) for t in lang_texts
    ]


@pytest.mark.parametrize("judge_cls", JUDGES)
def test_pattern_kwargs_are_python_regular_expressions(judge_cls: type) -> None:
    sections = {"section_spliter": "Sec(tion)?", "num_sections": 4}
    text = "Section 1 intro Sec 2 body"
    # re.split also returns the group: two splits are four items beyond the first.
    assert judge_cls().check([sample(text, ("detectable_format:multiple_sections", sections))]) == [
        [True]
    ]
    sections["num_sections"] = 5
    assert judge_cls().check([sample(text, ("detectable_format:multiple_sections", sections))]) == [
        [False]
    ]
    # `$` also matches before a final newline (Python), `\b` is Python's word boundary.
    kw = {"keywords": ["dog$"]}
    assert judge_cls().check([sample("a dog\n", ("keywords:existence", kw))]) == [[True]]
    fw = {"forbidden_words": [r"ca\w"]}
    assert judge_cls().check([sample("a cat.", ("keywords:forbidden_words", fw))]) == [[False]]
    assert judge_cls().check([sample("cats", ("keywords:forbidden_words", fw))]) == [[True]]


@pytest.mark.parametrize("judge_cls", JUDGES)
def test_an_invalid_pattern_the_reference_reaches_is_invalid_input(judge_cls: type) -> None:
    bad = sample("C** rocks", ("keywords:frequency", {"keyword": "C**", "frequency": 1}))
    with pytest.raises(InvalidInputError, match=r"sample 0: `kwargs\[0\]`.*multiple repeat"):
        judge_cls().check([bad])
    # lm-eval stops at the first missing keyword (sorted): "C**" sorts after "Ab" and is
    # never compiled.
    ok = sample("nothing here", ("keywords:existence", {"keywords": ["C**", "Ab"]}))
    assert judge_cls().check([ok]) == [[False]]
