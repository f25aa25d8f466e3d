"""Property test: the Rust judge's per-instruction verdicts equal the Python reference's on
generated responses built to hit IFEval's edge cases (markdown bullets and highlights, ***
separators with empty pieces, fenced JSON, <<titles>>, P.S. markers, ******, Unicode case,
regex metacharacters in keywords), strict and loose."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgpo import InstructionJudge
from cgpo.judges import Sample
from cgpo.reference import InstructionJudge as RefJudge

WORDS = [
    "the",
    "The",
    "THE",
    "cat",
    "Cat",
    "dog",
    "data",
    "ǅemal",
    "straße",
    "STRASSE",
    "İstanbul",
    "ΣΟΦΙΑ",
    "σοφία",
    "naïve",
    "café",
    "don't",
    "CAN'T",
    "cannot",
    "gonna",
    "Dr.",
    "e.g.",
    "U.S.A.",
    "3.5",
    "1,000",
    "section",
    "Section",
    "SECTION",
    "p.s.",
    "über",
    "le",
    "chat",
    "ok",
    "OK",
    "_x_",
    "x2",
    "—",
    "...",
    "a.c",
    "abc",
]
PUNCT = [". ", "! ", "? ", ", ", "; ", ": ", " - ", " -- ", "... ", " (", ") ", '"', "'", " "]
BLOCKS = [
    "\n",
    "\n\n",
    "\n***\n",
    "***",
    " *** ",
    "\n\n***\n\n",
    "******",
    "\n******\n",
    "* item\n",
    "- item\n",
    "  * nested\n",
    "**bold**",
    "*hi*",
    "* *",
    "** **",
    "<<My Title>>",
    "<< >>",
    "\nP.S. thanks",
    "\np. p. s more",
    "\nP.P.S later",
    "Section 1\n",
    "SECTION 2 ",
    "[name]",
    "[]",
    '```json\n{"a": [1, NaN]}\n```',
    '{"k": "v"}',
    "```\n[1, 2,]\n```",
    "My answer is yes.",
    "Any other questions?",
    '"',
    "\t",
    "\x1c",
    "\u00a0",
]

fragment = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(PUNCT),
    st.sampled_from(BLOCKS),
    st.text(alphabet="abcXYZ ,.!?*-\n\"'ßǅİ", max_size=6),
)
response = st.lists(fragment, max_size=40).map("".join)

KEYWORDS = st.sampled_from(
    [
        "cat",
        "the",
        "a.c",
        "c[a-z]t",
        "(cat|dog)",
        r"\bthe\b",
        "da+ta",
        "ǅemal",
        "straße",
        "σοφία",
        "x?y",
        "Dr\\.",
        "^The",
        "dog$",
        "[0-9]+",
        r"\d",
        r"\s\w",
    ]
)


def instruction(full: bool = False) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """An instruction with kwargs; ``full`` leaves no value to a default (lm-eval would draw
    it at random)."""
    rel = st.sampled_from(["less than", "at least"] + ([] if full else [None]))
    count = st.integers(1, 6) if full else st.one_of(st.integers(-1, 6), st.none())
    opt: list[Any] = [] if full else [None]

    def inst(
        iid: str, **kw: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        return st.fixed_dictionaries(kw).map(lambda d: (iid, d))

    return st.one_of(
        inst("keywords:existence", keywords=st.lists(KEYWORDS, min_size=1, max_size=3)),
        inst("keywords:frequency", keyword=KEYWORDS, frequency=count, relation=rel),
        inst(
            "keywords:forbidden_words",
            forbidden_words=st.lists(
                st.sampled_from(["cat", "the", "straße", "σοφία", "don't", "ok", "x2", "a.c"]),
                min_size=1,
                max_size=3,
            ),
        ),
        inst(
            "keywords:letter_frequency",
            letter=st.sampled_from(["a", "T", "s", *opt]),
            let_frequency=count,
            let_relation=rel,
        ),
        inst(
            "language:response_language", language=st.sampled_from(["en", "de", "fr", "ru", *opt])
        ),
        inst("length_constraints:number_sentences", num_sentences=count, relation=rel),
        inst("length_constraints:number_paragraphs", num_paragraphs=count),
        inst("length_constraints:number_words", num_words=st.integers(0, 30), relation=rel),
        inst(
            "length_constraints:nth_paragraph_first_word",
            num_paragraphs=count,
            nth_paragraph=st.integers(1, 2) if full else count,
            first_word=st.sampled_from(["the", "cat", "section", "ǅemal"]),
        ),
        inst("detectable_content:number_placeholders", num_placeholders=count),
        inst(
            "detectable_content:postscript",
            postscript_marker=st.sampled_from(["P.S.", "P.P.S", " P.S. ", "NB", *opt]),
        ),
        inst("detectable_format:number_bullet_lists", num_bullets=count),
        inst("detectable_format:constrained_response"),
        inst("detectable_format:number_highlighted_sections", num_highlights=count),
        inst(
            "detectable_format:multiple_sections",
            section_spliter=st.sampled_from(["Section", "SECTION", " Section ", "Part", *opt]),
            num_sections=count,
        ),
        inst("detectable_format:json_format"),
        inst("detectable_format:title"),
        inst("combination:two_responses"),
        inst(
            "combination:repeat_prompt",
            prompt_to_repeat=st.sampled_from(["The cat", "section", "ǅemal x"]),
        ),
        inst(
            "startend:end_checker",
            end_phrase=st.sampled_from(["Any other questions?", "cat", "OK."]),
        ),
        inst("change_case:capital_word_frequency", capital_frequency=count, capital_relation=rel),
        inst("change_case:english_capital"),
        inst("change_case:english_lowercase"),
        inst("punctuation:no_comma"),
        inst("startend:quotation"),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(response, min_size=1, max_size=4),
    insts=st.lists(instruction(), min_size=1, max_size=4),
)
def test_rust_check_equals_reference(
    texts: list[str], insts: list[tuple[str, dict[str, Any]]]
) -> None:
    samples = [
        Sample(
            "The cat",
            t,
            {"instruction_id_list": [i for i, _ in insts], "kwargs": [k for _, k in insts]},
        )
        for t in texts
    ]
    for strict in (True, False):
        assert InstructionJudge(strict=strict).check(samples) == RefJudge(strict=strict).check(
            samples
        )


# Characters unassigned in Python's Unicode tables (Cn) are left out: the `regex` module that
# NLTK's word counter uses and the Rust regex tables follow newer Unicode versions than each
# other and than `unicodedata`, and disagree on letters added since (a documented gap, see
# docs/instructions.md); every assigned character is fair game.
@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.characters(exclude_categories=("Cn",)), max_size=200))
def test_arbitrary_unicode_text(text: str) -> None:
    insts = [
        (
            "change_case:capital_word_frequency",
            {"capital_frequency": 1, "capital_relation": "at least"},
        ),
        ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "less than"}),
        ("change_case:english_lowercase", {}),
        ("length_constraints:number_words", {"num_words": 3, "relation": "at least"}),
        ("detectable_format:json_format", {}),
    ]
    samples = [
        Sample(
            "p",
            text,
            {"instruction_id_list": [i for i, _ in insts], "kwargs": [k for _, k in insts]},
        )
    ]
    for strict in (True, False):
        assert InstructionJudge(strict=strict).check(samples) == RefJudge(strict=strict).check(
            samples
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=response, insts=st.lists(instruction(full=True), min_size=1, max_size=4))
def test_rust_check_equals_lm_eval(text: str, insts: list[tuple[str, dict[str, Any]]]) -> None:
    from cgpo.reference import lmeval_ifeval

    ids, kws = [i for i, _ in insts], [k for _, k in insts]
    samples = [Sample("The cat", text, {"instruction_id_list": ids, "kwargs": kws})]
    for strict in (True, False):
        assert InstructionJudge(strict=strict).check(samples) == [
            lmeval_ifeval.check("The cat", text, ids, kws, strict)
        ]
