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


# ------------------------------------------------------- kwargs the reference uses as patterns
# lm-eval splices `keywords`, `keyword`, `forbidden_words`, `section_spliter` and
# `postscript_marker` into Python regular expressions. The judge must read them exactly as `re`
# does: capturing groups in a splitter add items to `re.split`, `$` also matches before a final
# newline, `\b` is Python's, ... (what Rust cannot reproduce goes to Python's `re`).
ATOMS = ["Sec", "tion", "Part", "a", "x", "İ", "ß", "ſ", "K", " ", ".", "-", r"\d", r"\w", r"\s"]
ATOMS += [r"\b", r"\.", "[0-9]", "[a-z]", "[^ ]", "[+-]", r"\Z", r"\A", "^", "$"]


def _regex() -> st.SearchStrategy[str]:
    atom = st.sampled_from(ATOMS)
    quant = st.sampled_from(["", "", "?", "*", "+", "{1,2}", "*?", "{2}"])
    piece = st.tuples(atom, quant).map("".join)
    seq = st.lists(piece, min_size=1, max_size=4).map("".join)

    def wrap(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            inner,
            st.tuples(inner, quant).map(lambda t: f"({t[0]}){t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}|{t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"(?:{t[0]}|{t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"(?P<g>{t[0]}){t[1]}"),
            inner.map(lambda t: f"(?=x){t}"),
            inner.map(lambda t: f"(?i){t}"),
            inner.map(lambda t: rf"(a)\1{t}"),
        )

    return st.recursive(seq, wrap, max_leaves=4)


PATTERNS = st.one_of(
    st.sampled_from(
        ["Sec(tion)?", "(Sec)(tion)?", "SECTION|Part", "S.ction", "Part$", "Section\n", "x*", ""]
    ),
    st.sampled_from(["C++", "(", "a{2,1}", "[]", "*", r"\p{L}", r"[\s-!]", "a**"]),
    _regex(),
)
SECTION_TEXT = st.lists(
    st.sampled_from(
        [
            *("Section 1\n", "Sec 2 ", "SECTION 3", "Part 4\n", "Sectio 5", "\nS.ction 6", "İ 7"),
            *(
                "x8",
                "ß 9",
                "K10",
                "text ",
                "\n",
                "ſ",
                "a-1",
                "Part",
                "  ",
                "p.s. ok",
                "P.S.",
                "\n\n",
            ),
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(SECTION_TEXT, response),
    iid=st.sampled_from(
        [
            "detectable_format:multiple_sections",
            "keywords:existence",
            "keywords:frequency",
            "keywords:forbidden_words",
            "detectable_content:postscript",
        ]
    ),
    pattern=PATTERNS,
    other=PATTERNS,
    n=st.integers(1, 4),
    rel=st.sampled_from(["less than", "at least"]),
)
def test_pattern_kwargs_equal_lm_eval(
    text: str, iid: str, pattern: str, other: str, n: int, rel: str
) -> None:
    import re
    import warnings

    from cgpo import InvalidInputError
    from cgpo.reference import lmeval_ifeval

    kwargs: dict[str, Any] = {
        "detectable_format:multiple_sections": {"section_spliter": pattern, "num_sections": n},
        "keywords:existence": {"keywords": [pattern, other]},
        "keywords:frequency": {"keyword": pattern, "frequency": n, "relation": rel},
        "keywords:forbidden_words": {"forbidden_words": [pattern, other]},
        "detectable_content:postscript": {"postscript_marker": pattern},
    }[iid]
    if not pattern.strip() and iid not in ("keywords:existence", "keywords:forbidden_words"):
        return  # lm-eval draws a random value for an empty kwarg; the judge has a default
    samples = [Sample("p", text, {"instruction_id_list": [iid], "kwargs": [kwargs]})]

    def outcome(run: Any) -> Any:
        try:
            return run()
        except re.error:
            return "re.error"
        except InvalidInputError as e:
            assert "not a valid Python regular expression" in str(e)
            return "re.error"

    for strict in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "possible nested set"
            want = outcome(lambda s=strict: [lmeval_ifeval.check("p", text, [iid], [kwargs], s)])
            got = outcome(lambda s=strict: InstructionJudge(strict=s).check(samples))
            ref = outcome(lambda s=strict: RefJudge(strict=s).check(samples))
        assert got == want, kwargs
        assert ref == want, kwargs
