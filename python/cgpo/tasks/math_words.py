"""``builtin:math``: arithmetic word problems generated from templates with a fixed seed.

Every problem's exact answer is computed alongside it (metadata ``answer``, the number as a
string), so the math judge can check a response without a model.

The default task sits at SmolLM2-135M-Instruct's ability edge: one-operation problems (add,
subtract, multiply, share), a system prompt and two worked examples that show the answer format
the math judge accepts (``\\boxed{N}``). Measured on 64 such problems (2 CPU threads): 14/64 pass
greedily, and at temperature 0.7, 14 of 128 samples pass, in 7 of 16 groups of 8, so most steps
of CRPG have a satisfied response to reinforce. Without the examples the model rarely boxes its
answer (0/24 greedy).

The prompts come in two disjoint splits: ``train`` (what the run samples) and ``eval`` (held out
for the before/after evaluation); no question text appears in both.
"""

from __future__ import annotations

import random
from typing import Any

from cgpo.config.generation import GenerationConfig
from cgpo.config.task import Task

MATH_SYSTEM = (
    "Solve the problem in one short line, then give the final answer as a number in \\boxed{}, "
    "for example: The answer is \\boxed{12}."
)
# Two worked examples in the answer format (not problems of either split).
MATH_SHOTS: list[dict[str, str]] = [
    {"role": "user", "content": "Tom has 3 pens and buys 4 more. How many pens does Tom have now?"},
    {"role": "assistant", "content": "3 + 4 = 7. The answer is \\boxed{7}."},
    {
        "role": "user",
        "content": "Kim has 6 bags with 5 plums in each bag. How many plums are there in total?",
    },
    {"role": "assistant", "content": "6 x 5 = 30. The answer is \\boxed{30}."},
]
TRAIN_PROBLEMS = 256
EVAL_PROBLEMS = 128
SPLIT_SEED = 1234
# The metadata the math judge reads.
METADATA_COLUMNS = ["answer"]

_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Dan",
    "Emma",
    "Finn",
    "Grace",
    "Hugo",
    "Ivy",
    "Jack",
    "Lena",
    "Mia",
    "Noah",
    "Omar",
    "Priya",
    "Sam",
]
_ITEMS = ["apples", "marbles", "stickers", "books", "pencils", "cookies", "coins", "shells"]


def math_problem(rng: random.Random, kinds: int = 6) -> tuple[str, int]:
    """One problem and its answer; ``kinds=4`` draws only the one-operation kinds."""
    name, other = rng.sample(_NAMES, 2)
    item = rng.choice(_ITEMS)
    kind = rng.randrange(kinds)
    a, b = rng.randint(2, 40), rng.randint(2, 30)
    if kind == 0:
        return (
            f"{name} has {a} {item} and buys {b} more. How many {item} does {name} have now?",
            a + b,
        )
    if kind == 1:
        a = a + b
        return (
            f"{name} had {a} {item} and gave {b} of them to {other}. How many {item} does "
            f"{name} have left?",
            a - b,
        )
    if kind == 2:
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        return (
            f"{name} has {a} boxes with {b} {item} in each box. How many {item} are there "
            "in total?",
            a * b,
        )
    if kind == 3:
        b, q = rng.randint(2, 9), rng.randint(2, 12)
        return (
            f"{name} shares {b * q} {item} equally among {b} friends. How many {item} does "
            "each friend get?",
            q,
        )
    if kind == 4:
        c = rng.randint(1, b)
        return (
            f"{name} has {a} {item}, finds {b} more, then loses {c}. How many {item} does "
            f"{name} have now?",
            a + b - c,
        )
    price, n = rng.randint(2, 9), rng.randint(2, 9)
    paid = price * n + rng.randint(1, 20)
    return (
        f"{name} buys {n} {item} at {price} dollars each and pays with {paid} dollars. How "
        "much change does "
        f"{name} get, in dollars?",
        paid - price * n,
    )


def math_rows(n: int = 200, seed: int = 1234) -> list[dict[str, Any]]:
    """``n`` word problems with exact integer answers (``answer`` is the number as a string)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        q, ans = math_problem(rng)
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": MATH_SYSTEM},
                    *MATH_SHOTS,
                    {"role": "user", "content": q},
                ],
                "answer": str(ans),
            }
        )
    return rows


def split_rows(split: str) -> list[dict[str, Any]]:
    """The default task's prompts: ``"train"`` (256) or ``"eval"`` (128, held out), one-operation
    problems with the worked examples, drawn from one seeded stream with repeats dropped, so the
    two splits share no question."""
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    rng = random.Random(SPLIT_SEED)
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    while len(rows) < TRAIN_PROBLEMS + EVAL_PROBLEMS:
        q, ans = math_problem(rng, kinds=4)
        if q in seen:
            continue
        seen.add(q)
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": MATH_SYSTEM},
                    *MATH_SHOTS,
                    {"role": "user", "content": q},
                ],
                "answer": str(ans),
            }
        )
    return rows[:TRAIN_PROBLEMS] if split == "train" else rows[TRAIN_PROBLEMS:]


def train_rows() -> list[dict[str, Any]]:
    return split_rows("train")


def eval_rows() -> list[dict[str, Any]]:
    return split_rows("eval")


def task() -> Task:
    """The default run's math task. KL bound, K, B and lengths are our choices (the paper gives
    none)."""
    return Task(
        name="math",
        data="builtin:math",
        judges=[{"type": "math"}],
        algorithm="crpg",
        kl_max=10.0,
        samples_per_prompt=8,
        prompts_per_step=4,
        weight=1.0,
        # worked answers take about 27 tokens; 48 leaves room without paying for rambling
        generation=GenerationConfig(max_new_tokens=48, temperature=0.7, top_p=1.0),
        metadata_columns=list(METADATA_COLUMNS),
    )
