"""The verl adapter: routing by data source, ground truths as verl's parquet rows give them, and
the batch form agreeing with the single form."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from cgpo.errors import InvalidInputError
from cgpo.integrations.verl import close_judges, compute_score, compute_score_batch, judge_for

HUMANEVAL_TEST = (
    "def check(candidate):\n    assert candidate(2) == 3\n    assert candidate(0) == 1\n"
)


@pytest.fixture(scope="module", autouse=True)
def stop_judges() -> Iterator[None]:
    # The adapter keeps its judges for the process; later tests count the sandbox's processes.
    yield
    close_judges()


PROGRAM = "Here you go:\n```python\ndef inc(x):\n    return x + 1\n```"


@pytest.mark.parametrize(
    ("source", "family"),
    [
        ("openai/gsm8k", "math"),
        ("gsm8k", "math"),
        ("lighteval/MATH", "math"),
        ("DigitalLearningGmbH/MATH-lighteval", "math"),
        ("HuggingFaceH4/MATH-500", "math"),
        ("math_dapo", "math"),
        ("aime2024", "math"),
        ("google/IFEval", "instructions"),
        ("ifeval", "instructions"),
        ("allenai/IFBench_test", "instructions"),
        ("openai/openai_humaneval", "code"),
        ("human_eval", "code"),
        ("google-research-datasets/mbpp", "code"),
        ("evalplus/mbppplus", "code"),
        ("deepmind/code_contests", "code"),
    ],
)
def test_routing(source: str, family: str) -> None:
    assert judge_for(source) == family


@pytest.mark.parametrize(
    ("source", "why"),
    [("squad", "no cgpo judge is known"), ("ifeval_math_mix", "it matches instructions and math")],
)
def test_unknown_data_source_is_named(source: str, why: str) -> None:
    with pytest.raises(InvalidInputError, match=rf"unknown data source '{source}': {why}"):
        compute_score(source, "x", "1")


def test_math() -> None:
    assert compute_score("openai/gsm8k", "48 + 24 = 72 clips.\n#### 72", "72") == 1.0
    assert compute_score("openai/gsm8k", "#### 71", "72") == 0.0
    assert compute_score("lighteval/MATH", r"so $\boxed{\frac{1}{2}}$", r"\frac12") == 1.0
    assert compute_score("lighteval/MATH", "no final answer", "2") == 0.0
    assert compute_score("gsm8k", "#### 5", np.int64(5)) == 1.0  # a numpy scalar from parquet


def test_ifeval_ground_truth_as_parquet_gives_it() -> None:
    # Parquet stores lists as numpy arrays and gives each kwargs dict every key, unused as None.
    gt = {
        "instruction_id_list": np.array(["change_case:english_lowercase", "punctuation:no_comma"]),
        "kwargs": np.array(
            [{"num_words": None, "relation": None}, {"num_words": None, "relation": None}]
        ),
    }
    assert compute_score("google/IFEval", "all lowercase and no commas.", gt) == 1.0
    assert compute_score("google/IFEval", "all lowercase, with a comma.", gt) == 0.0
    as_json = json.dumps({"instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]})
    assert compute_score("ifeval", "Capital.", as_json) == 0.0
    with pytest.raises(InvalidInputError, match="IFEval ground truth must be a mapping"):
        compute_score("ifeval", "x", "change_case:english_lowercase")


def test_code() -> None:
    assert compute_score("openai_humaneval", PROGRAM, HUMANEVAL_TEST, {"entry_point": "inc"}) == 1.0
    wrong = PROGRAM.replace("x + 1", "x + 2")
    assert compute_score("openai_humaneval", wrong, HUMANEVAL_TEST, {"entry_point": "inc"}) == 0.0
    assert compute_score("mbpp", PROGRAM, "assert inc(4) == 5") == 1.0
    io = json.dumps({"inputs": ["1\n", "41\n"], "outputs": ["2\n", "42\n"]})
    echo = "```python\nprint(int(input()) + 1)\n```"
    assert compute_score("codecontests", echo, io) == 1.0
    assert compute_score("codecontests", echo.replace("+ 1", "+ 2"), io) == 0.0


def test_check_without_an_entry_point_is_refused() -> None:
    # Nothing would call check(), so any program would pass: refuse instead.
    with pytest.raises(InvalidInputError, match="no 'entry_point' is given"):
        compute_score("openai_humaneval", PROGRAM, HUMANEVAL_TEST)


def test_batch_matches_single_and_keeps_order() -> None:
    rows = [
        ("openai/gsm8k", "#### 72", "72", None),
        ("openai_humaneval", PROGRAM, HUMANEVAL_TEST, {"entry_point": "inc"}),
        (
            "google/IFEval",
            "Shouting.",
            {"instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]},
            None,
        ),
        ("lighteval/MATH", r"\boxed{3}", "3", {"index": 4}),
        ("mbpp", PROGRAM, "assert inc(1) == 5", None),
        ("openai/gsm8k", "#### 7", "72", None),
    ]
    sources, solutions, truths, extras = (list(c) for c in zip(*rows, strict=True))
    batch = compute_score_batch(sources, solutions, truths, extras)
    assert batch == [compute_score(*row) for row in rows]
    assert batch == [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    detailed = compute_score_batch(sources, solutions, truths, extras, return_dict=True)
    assert detailed[0] == {"score": 1.0, "verdict": 1, "reason": "equivalent"}
    assert detailed[4] == {"score": 0.0, "verdict": 0, "reason": "fail"}


def test_batch_errors_name_the_sample() -> None:
    with pytest.raises(InvalidInputError, match=r"^sample 2: unknown data source 'squad'"):
        compute_score_batch(["gsm8k", "gsm8k", "squad"], ["#### 1"] * 3, ["1"] * 3, [None] * 3)
    with pytest.raises(InvalidInputError, match=r"^sample 2: metadata\['answer'\] must be"):
        compute_score_batch(["gsm8k", "mbpp", "gsm8k"], ["#### 1"] * 3, ["1", "assert 1", []])
    with pytest.raises(InvalidInputError, match="must be equally long"):
        compute_score_batch(["gsm8k"], ["#### 1", "#### 2"], ["1", "2"])


def test_judge_override() -> None:
    assert compute_score("my_private_set", "#### 9", "9", judge="math") == 1.0
    with pytest.raises(InvalidInputError, match="judge must be one of"):
        compute_score("gsm8k", "#### 9", "9", judge="chess")
