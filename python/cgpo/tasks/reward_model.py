"""The default reward model: its preference data, its training and its cache.

SmolLM2-135M-Instruct cut to its first 2 layers with a scalar head, trained once with
:func:`cgpo.rewards.models.train_reward_model` (Bradley-Terry) on preference pairs derived
offline by :func:`default_preference_pairs`, and cached under ``$CGPO_CACHE``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cgpo.errors import ConfigError
from cgpo.judges.base import Sample, Verdict
from cgpo.judges.registry import create_judge
from cgpo.tasks import code, instructions, math_words

REWARD_MODEL_LAYERS = 2
REWARD_MODEL_VERSION = "default-bt-v3"
# The metadata each kind's judge reads, as its task module states it.
_METADATA = {
    "math": math_words.METADATA_COLUMNS,
    "instructions": instructions.METADATA_COLUMNS,
    "code": code.METADATA_COLUMNS,
}


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
    if iid == "detectable_content:postscript":
        return f"{text}\nP.S. Thank you for reading.", text
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
    - instructions: every training topic x instruction; chosen = a reference text transformed to
      follow the instruction (lowercased, quoted, given a title...); rejected = the text ignoring
      it.
    - code: 64 problems of ``builtin:code``'s training split; chosen = the one-line solution;
      rejected = the same function returning ``None`` or its argument unchanged.

    Nothing of the tasks' held-out splits is used (the math problems come from another seed; a
    repeat of a held-out question by chance would only teach the reward model, never the policy).

    Where the rule judges are installed, every pair is checked with them (chosen satisfied,
    rejected violated) and pairs that fail the check are dropped, so the reward model only learns
    from judge-verified good vs bad responses.
    """
    rng = random.Random(seed)
    pairs: list[dict[str, Any]] = []
    for row in math_words.math_rows(64, seed=seed):  # another seed than the splits
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
    for topic, iid, kwargs, text in instructions.instruction_items(
        instructions.TOPICS[: instructions.TRAIN_TOPICS]
    ):
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
    for row in code.train_rows()[:64]:
        sol = row["canonical_solution"]
        header = sol.splitlines()[0]
        body = "return None" if rng.random() < 0.5 else f"return {header.split('(')[1][:-2]}"
        pairs.append(
            {
                "messages": row["messages"],
                "chosen": f"```python\n{sol}```",
                "rejected": f"```python\n{header}\n    {body}\n```",
                "kind": "code",
                "tests": row["tests"],
                "entry_point": row["entry_point"],
            }
        )
    return _judge_verified(pairs)


def _judge_verified(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    for kind in ("math", "instructions", "code"):
        group = [p for p in pairs if p["kind"] == kind]
        try:
            judge = create_judge({"type": kind})
        except ConfigError:  # that judge is not part of this installation: keep its pairs
            kept.extend(group)
            continue
        keys = _METADATA[kind]

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
    from cgpo.rewards.models import reward_model_from_causal_lm, train_reward_model
    from cgpo.rewards.preferences import PreferencePair

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
    from cgpo.rewards.models import HFRewardModel

    path = default_reward_model_path()
    if not (path / "config.json").is_file():
        build_default_reward_model(log)
    return HFRewardModel.from_pretrained(path, device=str(device))
