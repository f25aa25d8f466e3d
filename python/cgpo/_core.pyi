"""Type stubs for the private Rust extension ``cgpo._core`` (checked with ``mypy.stubtest``)."""

from typing import final

__version__: str

def set_parallelism(enabled: bool) -> None: ...
def get_parallelism() -> bool: ...

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
    def run(
        self,
        jobs: list[tuple[str, str | None, str | None, list[tuple[str, str]] | None]],
    ) -> list[tuple[int, str, str, str, str, float]]: ...
    def close(self) -> None: ...

def code_extract_program(completion: str) -> str: ...
def code_outputs_match(actual: str, expected: str) -> bool: ...
