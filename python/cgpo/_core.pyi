"""Type stubs for the private Rust extension ``cgpo._core`` (checked with ``mypy.stubtest``)."""

__version__: str

def set_parallelism(enabled: bool) -> None: ...
def get_parallelism() -> bool: ...

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
