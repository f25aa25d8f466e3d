"""Config and data: validation messages name the field and the allowed values; the sampler
continues exactly from its state."""

from __future__ import annotations

import json

import pytest

from cgpo.data import PromptSampler, build_prompts, load_rows
from cgpo.errors import ConfigError
from cgpo.trainer.config import CGPOConfig, GenerationConfig, Task

DATA = [{"prompt": "2+2?", "answer": "4"}]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"optimizer": "adagrad"}, "optimizer: 'adagrad' is not allowed; choose one of 'adamw'"),
        ({"lr_scheduler": "step"}, "lr_scheduler: 'step' is not allowed; choose one of"),
        ({"learning_rate": -1}, "learning_rate: must be > 0.0"),
        ({"max_steps": 1.5}, "max_steps: expected an integer"),
        ({"learnig_rate": 1e-5}, "unknown setting 'learnig_rate'; allowed: adam_beta1"),
        (
            {"tasks": [{"name": "m", "data": DATA, "algorithm": "sft"}]},
            "task 'm'.algorithm: 'sft' is not allowed; choose one of 'crpg', 'crraft', 'codpo'",
        ),
        (
            {"tasks": [{"name": "m", "data": DATA, "on_error": "ignore"}]},
            "task 'm'.on_error: 'ignore' is not allowed; choose one of 'violate', 'skip', 'raise'",
        ),
        (
            {"tasks": [{"name": "m", "data": DATA, "generation": {"top_p": 0}}]},
            "generation.top_p: must be > 0.0",
        ),
        (
            {"tasks": [{"name": "m", "data": DATA, "generation": {"beams": 2}}]},
            "unknown setting 'beams'; allowed: backend, max_new_tokens, temperature, top_k, top_p",
        ),
        (
            {"tasks": [{"name": "m", "data": DATA, "judges": [{"kind": "math"}]}]},
            "task 'm'.judges[0].type: every judge config needs a 'type'",
        ),
        (
            {"tasks": [{"name": "m", "data": DATA, "algorithm": "codpo", "samples_per_prompt": 1}]},
            "task 'm'.samples_per_prompt: codpo compares responses",
        ),
        ({"tasks": [{"data": DATA}]}, "tasks[0].name: this setting is required"),
        ({"mixed_precision": "fp8"}, "mixed_precision: 'fp8' is not allowed; choose one of 'no'"),
        (
            {"mixed_precision": "bf16", "dtype": "bfloat16"},
            "mixed_precision: 'bf16' keeps float32 master weights; it needs dtype 'float32'",
        ),
        (
            {"tasks": [{"name": "m", "data": DATA}, {"name": "m", "data": DATA}]},
            "task names must be unique",
        ),
    ],
)
def test_bad_settings_name_the_field_and_the_allowed_values(raw, message):
    with pytest.raises(ConfigError) as e:
        CGPOConfig.from_dict(raw)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_yaml_round_trip(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(
        "max_steps: 3\nlearning_rate: 1.0e-5\ntasks:\n  - name: m\n    data: builtin:math\n"
        "    judges: [{type: math}]\n    kl_max: 4\n    generation: {max_new_tokens: 8}\n"
    )
    c = CGPOConfig.from_yaml(p)
    assert c.max_steps == 3 and c.learning_rate == 1e-5
    (t,) = c.tasks
    assert isinstance(t, Task) and t.kl_max == 4
    assert t.generation == GenerationConfig(max_new_tokens=8)
    assert c.to_dict()["tasks"][0]["judges"] == [{"type": "math"}]


def test_yaml_errors_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        CGPOConfig.from_yaml(tmp_path / "missing.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("tasks: [\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        CGPOConfig.from_yaml(p)


def test_prompts_from_jsonl_with_messages_metadata_and_baseline(tmp_path):
    p = tmp_path / "d.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": "hi"}], "answer": "1", "ref": "hello"},
        {"messages": [{"role": "user", "content": "yo"}], "answer": "2", "ref": "hey"},
    ]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = Task(name="t", data=str(p), baseline_column="ref", system_prompt="be brief")
    recs = build_prompts(task, load_rows(task), ["answer"])
    assert [r.metadata for r in recs] == [{"answer": "1"}, {"answer": "2"}]
    assert recs[1].baseline == "hey" and recs[1].prompt == "yo"
    assert recs[0].messages[0] == {"role": "system", "content": "be brief"}


def test_missing_metadata_column_is_named():
    task = Task(name="t", data=[{"prompt": "x", "solution": "1"}])
    with pytest.raises(ConfigError) as e:
        build_prompts(task, load_rows(task), ["answer"])
    assert "task 't'.metadata_columns: the judges need the metadata column 'answer'" in str(e.value)
    assert "available columns: prompt, solution" in str(e.value)


def test_missing_prompt_column_and_bad_builtin():
    with pytest.raises(ConfigError, match="neither a 'prompt' nor a 'messages' column"):
        task = Task(name="t", data=[{"question": "x"}])
        build_prompts(task, load_rows(task))
    with pytest.raises(ConfigError, match="choose one of builtin:math, builtin:instructions"):
        load_rows(Task(name="t", data="builtin:chess"))


def test_sampler_covers_every_prompt_per_epoch_and_resumes_exactly():
    s = PromptSampler(5, seed=1, name="t")
    first = s.next(5)
    assert sorted(first) == [0, 1, 2, 3, 4]
    draws = [s.next(3) for _ in range(4)]
    s2 = PromptSampler(5, seed=1, name="t")
    s2.next(5)
    s2.next(3)
    state = s2.state_dict()
    s3 = PromptSampler(5, seed=1, name="t")
    s3.load_state_dict(state)
    assert [s3.next(3) for _ in range(3)] == draws[1:]


def test_optimizer_is_the_deprecated_name_of_algorithm():
    with pytest.warns(DeprecationWarning, match="optimizer is deprecated"):
        t = Task(name="m", data=DATA, optimizer="crraft")
    assert t.algorithm == "crraft"
    with pytest.warns(DeprecationWarning, match="read Task.algorithm"):
        assert t.optimizer == "crraft"
    assert "optimizer" not in CGPOConfig(tasks=[t]).to_dict()["tasks"][0]
    with pytest.warns(DeprecationWarning):
        c = CGPOConfig.from_dict({"tasks": [{"name": "m", "data": DATA, "optimizer": "codpo"}]})
    assert c.tasks[0].algorithm == "codpo"


def test_every_problem_of_a_config_is_reported_at_once():
    raw = {
        "learning_rate": -1,
        "max_steps": 0,
        "tasks": [
            {"name": "m", "data": DATA, "kl_max": 0, "algorithm": "sft"},
            {"name": "n", "data": DATA, "generation": {"top_p": 0, "top_k": -1}},
        ],
    }
    with pytest.raises(ConfigError) as e:
        CGPOConfig.from_dict(raw)
    assert str(e.value).splitlines() == [
        "task 'm'.kl_max: must be > 0.0, got 0",
        "task 'm'.algorithm: 'sft' is not allowed; choose one of 'crpg', 'crraft', 'codpo', "
        "'ppo', 'dpo'",
        "generation.top_p: must be > 0.0, got 0",
        "generation.top_k: must be >= 0, got -1",
        "learning_rate: must be > 0.0, got -1",
        "max_steps: must be >= 1, got 0",
    ]
