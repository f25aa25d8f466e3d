"""``builtin:instructions``: writing prompts combined with IFEval-style instructions.

Each row carries the IFEval instruction ids and kwargs (metadata ``instruction_id_list`` and
``kwargs``) that the instruction judge checks. The instructions are ones a 135M model follows some
of the time (lowercase, no commas, a keyword, a word limit, a title, an end phrase, quotes, a
postscript). The split is by topic: the first :data:`TRAIN_TOPICS` topics train, the other 16
(x 8 instructions = 128 prompts) are held out.
"""

from __future__ import annotations

from typing import Any

from cgpo.config.generation import GenerationConfig
from cgpo.config.task import Task

# The metadata the instruction judge reads.
METADATA_COLUMNS = ["instruction_id_list", "kwargs"]

# Writing topics; the first TRAIN_TOPICS train, the others are held out for evaluation.
TOPICS = [
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
    "Explain why people keep pets.",
    "Describe a busy train station in the morning.",
    "Give tips for keeping a small garden.",
    "Write a short thank-you note to a teacher.",
    "Explain how a bicycle works.",
    "Describe a rainy afternoon at home.",
    "Write a short description of a mountain lake.",
    "Explain why reading books is useful.",
    "Give advice for a first trip abroad.",
    "Describe a family picnic.",
    "Explain why recycling helps the planet.",
    "Write a short welcome message for new neighbors.",
    "Describe the night sky in the countryside.",
    "Explain what a farmer does in spring.",
    "Give tips for studying for an exam.",
    "Describe a small bakery early in the morning.",
    "Explain why exercise is good for you.",
    "Write a short note about a favorite childhood toy.",
    "Describe a snowy day in the city.",
    "Explain how plants grow from seeds.",
    "Give advice for cooking a simple dinner.",
    "Describe a walk along a river.",
    "Explain why friends are important.",
    "Write a short description of a local market.",
    "Describe the first day of summer holidays.",
    "Explain how to save money on groceries.",
    "Write a short note about learning to swim.",
    "Describe a quiet evening by a fireplace.",
]
TRAIN_TOPICS = 24

# (instruction id, kwargs, how the prompt states it); the texts follow IFEval's wording.
INSTRUCTIONS: list[tuple[str, dict[str, Any], str]] = [
    (
        "change_case:english_lowercase",
        {},
        "Your entire response should be in English, and in all lowercase letters. No capital "
        "letters are allowed.",
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
    (
        "detectable_content:postscript",
        {"postscript_marker": "P.S."},
        "At the end of your response, please explicitly add a postscript starting with P.S.",
    ),
]


def instruction_items(
    topics: list[str] | None = None,
) -> list[tuple[str, str, dict[str, Any], str]]:
    """(topic, instruction id, kwargs, instruction text): every topic with every instruction,
    interleaved so that any prefix mixes instructions and topics."""
    topics = TOPICS if topics is None else topics
    return [
        (topics[(j + k) % len(topics)], iid, kwargs, text)
        for j in range(len(topics))
        for k, (iid, kwargs, text) in enumerate(INSTRUCTIONS)
    ]


def instruction_prompt(topic: str, instruction: str) -> str:
    # short answers: a small model's long answers are cut off before they can satisfy
    # instructions about the whole response (an end phrase, closing quotes)
    return f"{topic} Answer in two or three sentences. {instruction}"


def instruction_rows(topics: list[str] | None = None) -> list[dict[str, Any]]:
    """IFEval-style prompts: a writing topic followed by one instruction (every topic by
    default)."""
    return [
        {
            "prompt": instruction_prompt(topic, text),
            "instruction_id_list": [iid],
            "kwargs": [dict(kwargs)],
        }
        for topic, iid, kwargs, text in instruction_items(topics)
    ]


def train_rows() -> list[dict[str, Any]]:
    """The training split: the first :data:`TRAIN_TOPICS` topics with every instruction."""
    return instruction_rows(TOPICS[:TRAIN_TOPICS])


def eval_rows() -> list[dict[str, Any]]:
    """The held-out split: the other topics (never trained on) with every instruction."""
    return instruction_rows(TOPICS[TRAIN_TOPICS:])


def task() -> Task:
    """The default run's instructions task (KL bound, K, B and lengths are our choices)."""
    return Task(
        name="instructions",
        data="builtin:instructions",
        judges=[{"type": "instructions"}],
        algorithm="crraft",
        kl_max=10.0,
        samples_per_prompt=4,
        prompts_per_step=4,
        weight=1.0,
        # two or three sentences take about 60 tokens; an end phrase or closing quote needs room
        generation=GenerationConfig(max_new_tokens=80, temperature=0.7, top_p=1.0),
        metadata_columns=list(METADATA_COLUMNS),
    )
