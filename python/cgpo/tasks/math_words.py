"""``builtin:math``: arithmetic word problems generated from templates with a fixed seed.

Every problem's exact answer is computed alongside it (metadata ``answer``, the number as a
string), so the math judge can check a response without a model.
"""

from __future__ import annotations

import random
from typing import Any

from cgpo.trainer.config import GenerationConfig, Task

MATH_SYSTEM = (
    "Solve the problem. Reply with one short sentence that ends with the final answer as a "
    "number in \\boxed{}, for example: The answer is \\boxed{12}."
)
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


def math_problem(rng: random.Random) -> tuple[str, int]:
    name, other = rng.sample(_NAMES, 2)
    item = rng.choice(_ITEMS)
    kind = rng.randrange(6)
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
                    {"role": "user", "content": q},
                ],
                "answer": str(ans),
            }
        )
    return rows


def task() -> Task:
    """The default run's math task. KL bound, K, B and lengths are our choices (the paper gives
    none)."""
    return Task(
        name="math",
        data="builtin:math",
        judges=[{"type": "math"}],
        optimizer="crpg",
        kl_max=10.0,
        samples_per_prompt=4,
        prompts_per_step=2,
        weight=1.0,
        generation=GenerationConfig(max_new_tokens=64, temperature=0.7, top_p=0.95),
        metadata_columns=list(METADATA_COLUMNS),
    )
