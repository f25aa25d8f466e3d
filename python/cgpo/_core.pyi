"""Type stubs for the private Rust extension ``cgpo._core`` (checked with ``mypy.stubtest``)."""

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
