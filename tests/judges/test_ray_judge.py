"""RayJudge on a local Ray instance (``ray.init(num_cpus=2)``): the same verdicts as the judge in
process, in order; bad input named by its index in the whole batch; a dead actor's samples
retried once, then ERROR; ``ray:`` in a judge config."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from ray_helpers import ParityJudge

from cgpo.errors import ConfigError, InvalidInputError
from cgpo.judges import (
    CodeJudge,
    InstructionJudge,
    MathJudge,
    RayJudge,
    Sample,
    Verdict,
    from_config,
    register_judge,
)

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parents[1] / "python"


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    # The actors import this checkout's cgpo and the test helpers (ray_helpers).
    env = {"PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), str(HERE)])}
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=100 * 1024 * 1024,
        runtime_env={"env_vars": env},
    )
    register_judge("parity", ParityJudge, overwrite=True)
    yield
    ray.shutdown()


def math_samples(n: int) -> list[Sample]:
    forms = [r"\boxed{{{k}}}", "#### {k}", "The final answer is {k}", "no idea", r"\boxed{{{k}/1}}"]
    return [
        Sample("", forms[k % len(forms)].format(k=k), {"answer": str(k if k % 3 else k + 1)})
        for k in range(n)
    ]


def ifeval_samples() -> list[Sample]:
    spec = {"instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]}
    texts = ["all lowercase here.", "Not Lowercase.", "", "still fine, yes."]
    return [Sample("Write in lowercase.", t, spec) for t in texts]


def code_samples() -> list[Sample]:
    programs = [
        ("def f(x):\n    return x + 1", "assert f(1) == 2"),
        ("def f(x):\n    return x", "assert f(1) == 2"),
        ("def f(x) return", "assert f(1) == 2"),
        ("def f(x):\n    raise ValueError(x)", "assert f(1) == 2"),
        ("import sys\nprint('hi')\ndef f(x):\n    return 2 * x", "assert f(1) == 2"),
        ("def f(x):\n    return [0] * x", "assert f(3) == [0, 0, 0]"),
    ]
    return [Sample("", f"```python\n{src}\n```", {"tests": tests}) for src, tests in programs * 2]


@pytest.mark.parametrize(
    ("spec", "local", "samples"),
    [
        ({"type": "math"}, MathJudge(), math_samples(301)),
        ({"type": "instructions"}, InstructionJudge(), ifeval_samples()),
    ],
    ids=["math", "instructions"],
)
def test_verdicts_identical_to_in_process(
    spec: dict[str, str], local: object, samples: list[Sample]
) -> None:
    with RayJudge(spec, num_actors=2) as judge:
        got = judge.explain(samples)
        assert got == local.explain(samples)  # type: ignore[attr-defined]
        assert judge.stats.total == len(samples)
        assert judge.stats.satisfied == sum(r.verdict == Verdict.SATISFIED for r in got)


def test_code_verdicts_identical_to_in_process() -> None:
    samples = code_samples()
    with CodeJudge(timeout_s=5, workers=1) as local:
        want = [(r.verdict, r.reason) for r in local.explain(samples)]
    with RayJudge({"type": "code", "timeout_s": 5, "workers": 1}, num_actors=2) as judge:
        got = [(r.verdict, r.reason) for r in judge.explain(samples)]
    assert got == want
    assert [v for v, _ in got][:6] == [1, 0, 0, 0, 1, 1]


def test_order_kept_for_any_batch_size() -> None:
    with RayJudge({"type": "parity"}, num_actors=2) as judge:
        for n in (0, 1, 2, 7):
            samples = [Sample("", "x" * k) for k in range(n)]
            assert judge.judge(samples) == [Verdict(int(k % 2 == 0)) for k in range(n)]
        pids = {r.details["pid"] for r in judge.explain([Sample("", "x" * k) for k in range(8)])}
        assert len(pids) == 2  # both actors took a part


def test_bad_input_names_the_index_in_the_whole_batch() -> None:
    samples = math_samples(10)
    samples[7] = Sample("", r"\boxed{1}", {})
    with RayJudge({"type": "math"}, num_actors=2) as judge:
        with pytest.raises(InvalidInputError, match=r"^sample 7: metadata is missing the key"):
            judge.judge(samples)
        assert judge.judge(math_samples(3)) == MathJudge().judge(math_samples(3))


def test_a_dead_actor_is_retried_once(tmp_path: Path) -> None:
    samples = [Sample("", "x" * k) for k in range(6)]
    samples[4] = Sample("", "xxxx", {"die": str(tmp_path / "died-once")})
    with RayJudge({"type": "parity"}, num_actors=2) as judge:
        assert judge.judge(samples) == [Verdict(int(k % 2 == 0)) for k in range(6)]
    assert (tmp_path / "died-once").exists()  # the first try did die


def test_an_actor_that_dies_again_gives_errors_and_the_pool_goes_on() -> None:
    samples = [Sample("", "x" * k) for k in range(6)]
    samples[4] = Sample("", "xxxx", {"die": "always"})
    with RayJudge({"type": "parity"}, num_actors=2) as judge:
        results = judge.explain(samples)
        assert [r.verdict for r in results[:3]] == [1, 0, 1]
        assert [(r.verdict, r.reason) for r in results[3:]] == [(Verdict.ERROR, "actor_died")] * 3
        assert judge.stats.errors == 3
        assert judge.judge([Sample("", "xy")] * 4) == [Verdict.SATISFIED] * 4


def test_ray_key_in_a_judge_config() -> None:
    judge = from_config({"type": "math", "ray": {"num_actors": 2}})
    try:
        assert isinstance(judge, RayJudge) and judge.num_actors == 2
        assert judge.judge(math_samples(20)) == MathJudge().judge(math_samples(20))
    finally:
        judge.close()
    moj = from_config(
        {
            "type": "mixture",
            "ray": {"num_actors": 1},
            "judges": [{"type": "math"}, {"type": "parity"}],
        }
    )
    try:
        got = moj.judge(
            [Sample("", r"\boxed{4}", {"answer": "4"}), Sample("", "#### 4", {"answer": "4"})]
        )
        assert got == [Verdict.VIOLATED, Verdict.SATISFIED]  # lengths 9 (odd) and 6 (even)
    finally:
        moj.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "math", "ray": 3}, "'ray' must be a mapping"),
        ({"type": "math", "ray": {"actors": 2}}, "'ray' must be a mapping with keys among"),
        ({"type": "math", "ray": {"num_actors": 0}}, "`num_actors` must be a positive int"),
        ({"type": "math", "ray": {"num_actors": 1, "address": 5}}, "`address` must be a string"),
        ({"type": "chess", "ray": {"num_actors": 1}}, "unknown judge type 'chess'"),
    ],
)
def test_bad_ray_config_is_a_clear_error(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_config(config)


def test_a_spec_the_actors_cannot_build_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"cannot be built: .*bogus"):
        RayJudge({"type": "math", "bogus": 1}, num_actors=1)
    with pytest.raises(ConfigError, match="did not start within"):
        RayJudge({"type": "math"}, num_actors=3, start_timeout_s=5)
