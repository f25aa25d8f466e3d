"""Type stubs for the private Rust extension ``cgpo._core`` (checked with ``mypy.stubtest``)."""

from typing import Any, final

import numpy as np
import numpy.typing as npt

__version__: str

def set_parallelism(enabled: bool) -> None: ...
def get_parallelism() -> bool: ...

# --- selection (rust/src/python/selection.rs; public wrapper: cgpo.selection) ---------------
def calibrated_reward(
    rewards: npt.NDArray[np.float64], baseline_rewards: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]: ...
def crpg_weights(
    rewards: npt.NDArray[np.float64],
    baseline_rewards: npt.NDArray[np.float64],
    satisfied: npt.NDArray[np.int8],
    log_ratio: npt.NDArray[np.float64],
    kl_max: float,
) -> npt.NDArray[np.float64]: ...
def crraft_select(
    group_ids: npt.NDArray[np.int64],
    rewards: npt.NDArray[np.float64],
    satisfied: npt.NDArray[np.int8],
    log_ratio: npt.NDArray[np.float64],
    kl_max: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def codpo_pairs(
    group_ids: npt.NDArray[np.int64],
    rewards: npt.NDArray[np.float64],
    satisfied: npt.NDArray[np.int8],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...

# --- math judge (rust/src/python/math.rs) ---
def math_judge(
    completions: list[str],
    answers: list[str],
    extraction: list[str],
    timeout_ms: float,
    max_steps: int,
) -> list[tuple[int, str, str]]: ...
def math_extract(text: str, extraction: list[str]) -> str | None: ...
def math_equivalent(
    gold: str, answer: str, timeout_ms: float = 100.0, max_steps: int = 2000000
) -> tuple[int, str, str]: ...

# --- instruction-following judge (rust/src/python/ifeval.rs) ---

@final
class IfevalResources: ...

def ifeval_load_resources(
    abbrev_types: list[str],
    collocations: list[tuple[str, str]],
    sent_starters: list[str],
    ortho_context: dict[str, int],
    langs: list[str],
    freqs: list[dict[str, int]],
    n_words: list[list[int]],
    blocks: list[tuple[int, int, int]],
    block_ids: dict[str, int],
    latin1_excluded: str,
    cjk_map: dict[str, str],
    vi_alphabet: str,
    vi_dmarks: str,
    vi_normalized: list[str],
) -> IfevalResources: ...
def ifeval_check(
    resources: IfevalResources,
    samples: list[tuple[str, str, list[str], list[dict[str, Any]]]],
    loose: bool,
    detail: bool,
) -> list[
    tuple[
        list[tuple[str, bool, str]],
        str | None,
        list[tuple[int, str, list[str], int, bool, str, float]],
    ]
]: ...
def ifeval_detect_language(resources: IfevalResources, texts: list[str]) -> list[str | None]: ...
def ifeval_sentences(resources: IfevalResources, texts: list[str]) -> list[list[str]]: ...
def ifeval_word_tokenize(resources: IfevalResources, texts: list[str]) -> list[list[str]]: ...
def ifeval_instruction_ids() -> list[str]: ...
def ifbench_instruction_ids() -> list[str]: ...

# --- code sandbox (rust/src/python/sandbox.rs) ---------------------------------------------------

@final
class CodeSandbox:
    def __new__(
        cls,
        python: str,
        *,
        workers: int,
        timeout_s: float,
        memory_mb: int,
        max_processes: int,
        max_file_mb: int,
        max_open_files: int,
        capture_bytes: int,
        tmpfs_mb: int,
        excerpt_bytes: int,
        isolation: str | None = None,
        harness_thread: bool = True,
    ) -> CodeSandbox: ...
    @property
    def isolation(self) -> str: ...
    @property
    def workers(self) -> int: ...
    @property
    def run_memory_cap(self) -> str | None: ...
    def run(
        self,
        jobs: list[tuple[str, str | None, str | None, list[tuple[str, str]] | None, bool]],
    ) -> list[tuple[int, str, str, str, str, float]]: ...
    def close(self) -> None: ...

def code_extract_program(completion: str) -> str: ...
def code_outputs_match(actual: str, expected: str) -> bool: ...
