"""Type stubs for the private Rust extension ``cgpo._core`` (checked with ``mypy.stubtest``)."""

__version__: str

def set_parallelism(enabled: bool) -> None: ...
def get_parallelism() -> bool: ...

# --- instruction-following judge (rust/src/python/ifeval.rs) ---
from typing import Any, final

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
) -> list[tuple[list[tuple[str, bool, str]], str | None]]: ...
def ifeval_detect_language(resources: IfevalResources, texts: list[str]) -> list[str | None]: ...
def ifeval_sentences(resources: IfevalResources, texts: list[str]) -> list[list[str]]: ...
def ifeval_word_tokenize(resources: IfevalResources, texts: list[str]) -> list[list[str]]: ...
def ifeval_instruction_ids() -> list[str]: ...
