"""Math judge benchmark: Rust MathJudge vs the pure-Python reference vs Math-Verify.

The corpus is real: model responses (GPT-3.5, GPT-4, GPT-4 Turbo, PaLM 2) to the CHAMP
competition problems, shipped by the ``champ-dataset`` package, with each problem's gold
answer. All three judges see the same pairs, in one process, one after the other, on the main
thread; each pair is timed on its own (gold parsed every time, as a single call would).
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import platform
import random
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cgpo import _core
from cgpo.judges.base import Sample, Verdict
from cgpo.judges.math import EXTRACTION_STRATEGIES, MathJudge


@dataclass(frozen=True)
class Pair:
    completion: str
    gold: str
    source: str  # "model|prompting" of the response


def clean_gold(answer: str) -> str:
    """CHAMP gold answers sometimes give two forms ("C(10, 5), or equivalently 252"): keep the
    closed form after "or equivalently", else the part before ", or"."""
    if ", or equivalently " in answer:
        answer = answer.split(", or equivalently ", 1)[1]
    answer = answer.split(", or ", 1)[0]
    # "100 (i.e., all values)": the note is for humans.
    return re.sub(r"\s*\((i\.e\.|none|all)[^)]*\)\s*$", "", answer).strip()


def load_champ() -> list[Pair]:
    """Every (first model response, gold answer) pair of the CHAMP dataset."""
    path = importlib.resources.files("champ_dataset") / "dataset_files" / "v0.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    pairs = []
    for problem in data["problems"].values():
        gold = clean_gold(problem["_answer"])
        for name, conv in problem["conversations"].items():
            for m in conv["messages"]:
                if m["role"].startswith("Model") and m["text"]:
                    pairs.append(Pair(m["text"], gold, name))
                    break
    return pairs


def corpus(limit: int, seed: int) -> tuple[list[Pair], int]:
    """All responses with a final-answer marker (boxed, "final answer is", "####",
    "Answer:"), topped up with a seeded sample of the others to ``limit`` pairs. Returns the
    pairs (marked ones first) and how many are marked."""
    pairs = load_champ()
    order = list(EXTRACTION_STRATEGIES)
    marked = [p for p in pairs if _core.math_extract(p.completion, order) is not None]
    unmarked = [p for p in pairs if _core.math_extract(p.completion, order) is None]
    rng = random.Random(seed)
    rng.shuffle(marked)
    rng.shuffle(unmarked)
    if limit <= 0:
        return marked + unmarked, len(marked)
    # Three quarters marked: the judge's real work is on answers it can find.
    marked = marked[: (3 * limit) // 4]
    return marked + unmarked[: max(0, limit - len(marked))], len(marked)


@dataclass
class Run:
    name: str
    verdicts: list[bool | None] = field(default_factory=list)  # None: could not decide
    times_us: list[float] = field(default_factory=list)
    extracted: list[str] = field(default_factory=list)


def _time_each(name: str, pairs: list[Pair], fn: Callable[[Pair], tuple[bool | None, str]]) -> Run:
    run = Run(name)
    for p in pairs:
        t0 = time.perf_counter_ns()
        verdict, extracted = fn(p)
        run.times_us.append((time.perf_counter_ns() - t0) / 1000)
        run.verdicts.append(verdict)
        run.extracted.append(extracted)
    return run


def _cgpo_fn(judge: Any) -> Callable[[Pair], tuple[bool | None, str]]:
    def fn(p: Pair) -> tuple[bool | None, str]:
        r = judge.explain([Sample("", p.completion, {"answer": p.gold})])[0]
        v = None if r.verdict == Verdict.ERROR else r.verdict == Verdict.SATISFIED
        return v, r.reason + ": " + str(r.details.get("extracted", ""))

    return fn


def _math_verify_fn() -> Callable[[Pair], tuple[bool | None, str]]:
    from math_verify import parse, verify

    def fn(p: Pair) -> tuple[bool | None, str]:
        try:
            gold = parse(p.gold)
            answer = parse(p.completion)
            ok = bool(verify(gold, answer))
        except Exception as e:  # Math-Verify's own failures count as "could not decide"
            return None, f"error: {type(e).__name__}"
        shown = str(answer[-1]) if answer else ""
        return ok, shown

    return fn


def _stats(times: list[float]) -> tuple[float, float, float, float]:
    s = sorted(times)
    p99 = s[min(len(s) - 1, int(0.99 * len(s)))]
    return statistics.median(s), p99, s[-1], sum(s)


def _is_prose(answer: str) -> bool:
    """A sentence rather than a formula: a word of three or more letters that is neither a
    LaTeX command nor a function name."""
    words = re.findall(r"(?<![\\A-Za-z])[A-Za-z]{3,}", answer)
    return any(w.lower() not in _FUNCTION_WORDS for w in words)


_FUNCTION_WORDS = {"sqrt", "sin", "cos", "tan", "log", "exp", "pi", "infty", "inf"}


def _clip(s: str, n: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."


def run_benchmark(
    limit: int = 2000,
    seed: int = 0,
    math_verify: bool = True,
    reference: bool = True,
    examples: int = 3,
) -> str:
    """Runs the benchmark and returns the report (markdown)."""
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    pairs, n_marked = corpus(limit, seed)
    rust = MathJudge()
    runs = [_time_each("cgpo MathJudge (Rust)", pairs, _cgpo_fn(rust))]
    if reference:
        from cgpo.reference import MathJudge as ReferenceJudge

        runs.append(_time_each("cgpo.reference (Python)", pairs, _cgpo_fn(ReferenceJudge())))
    if math_verify:
        runs.append(_time_each("Math-Verify (parse+verify)", pairs, _math_verify_fn()))

    samples = [Sample("", p.completion, {"answer": p.gold}) for p in pairs]
    batch_times = {}
    for parallel in (False, True):
        _core.set_parallelism(parallel)
        t0 = time.perf_counter()
        rust.explain(samples)
        batch_times[parallel] = time.perf_counter() - t0
    _core.set_parallelism(True)

    lines = [
        f"corpus: {len(pairs)} CHAMP model responses with gold answers "
        f"({n_marked} with a final-answer marker, {len(pairs) - n_marked} without); "
        f"python {platform.python_version()}, {platform.machine()}",
        "",
        "| judge | pairs | median us | p99 us | max us | total s | pairs/s "
        "| speed-up vs Math-Verify |",
        "|---|---|---|---|---|---|---|---|",
    ]
    mv_total = _stats(runs[-1].times_us)[3] if math_verify else None
    for r in runs:
        med, p99, mx, total = _stats(r.times_us)
        speed = f"{mv_total / total:.0f}x" if mv_total else "-"
        lines.append(
            f"| {r.name} | {len(pairs)} | {med:.1f} | {p99:.1f} | {mx:.1f} | {total / 1e6:.3f} | "
            f"{len(pairs) / (total / 1e6):.0f} | {speed} |"
        )
    marked_rust = runs[0].times_us[:n_marked]
    if marked_rust:
        med, p99, mx, total = _stats(marked_rust)
        row = (
            f"| cgpo MathJudge (Rust), marked responses only | {n_marked} | {med:.1f} | "
            f"{p99:.1f} | {mx:.1f} | {total / 1e6:.3f} | {n_marked / (total / 1e6):.0f} |"
        )
        if math_verify:
            mv_marked = _stats(runs[-1].times_us[:n_marked])[3]
            row += f" {mv_marked / total:.0f}x |"
        else:
            row += " - |"
        lines.append(row)
    for parallel, secs in batch_times.items():
        mode = "rayon, all cores" if parallel else "sequential"
        speed = f"{mv_total / 1e6 / secs:.0f}x" if mv_total else "-"
        lines.append(
            f"| cgpo MathJudge (Rust), one batch call, {mode} | {len(pairs)} | - | - | - | "
            f"{secs:.3f} | {len(pairs) / secs:.0f} | {speed} |"
        )
    lines.append("")
    rust_run = runs[0]
    verdict_counts = Counter(
        "ERROR" if v is None else ("SATISFIED" if v else "VIOLATED") for v in rust_run.verdicts
    )
    lines.append(f"cgpo verdicts: {dict(verdict_counts)}")
    if reference:
        ref = runs[1]
        same = sum(a == b for a, b in zip(rust_run.verdicts, ref.verdicts, strict=True))
        lines.append(
            f"Rust == reference verdict: {same}/{len(pairs)} ({100 * same / len(pairs):.2f}%)"
        )
    if math_verify:
        mv = runs[-1]
        lines.append("")
        for label, lo, hi in (("all", 0, len(pairs)), ("marked", 0, n_marked)):
            n = hi - lo
            if n == 0:
                continue
            agree = sum(
                (rust_run.verdicts[i] is True) == (mv.verdicts[i] is True) for i in range(lo, hi)
            )
            lines.append(
                f"agreement with Math-Verify ({label} responses): "
                f"{agree}/{n} ({100 * agree / n:.1f}%)"
            )
        kinds: dict[str, list[int]] = defaultdict(list)
        for i in range(len(pairs)):
            c, m = rust_run.verdicts[i], mv.verdicts[i]
            if (c is True) == (m is True):
                continue
            reason = rust_run.extracted[i].split(":", 1)[0]
            if c is None:
                kinds["cgpo ERROR (budget), Math-Verify " + ("accepts" if m else "rejects")].append(
                    i
                )
            elif reason == "no_answer":
                kinds["cgpo no_answer (no final-answer marker), Math-Verify accepts"].append(i)
            elif c:
                kinds["cgpo accepts, Math-Verify rejects"].append(i)
            elif _is_prose(rust_run.extracted[i].split(":", 1)[1]):
                kinds["cgpo rejects a prose answer, Math-Verify takes a number from it"].append(i)
            else:
                kinds["cgpo rejects, Math-Verify accepts (both math)"].append(i)
        lines.append("")
        lines.append(
            "| disagreement | count | examples (gold / cgpo extracted / Math-Verify parsed) |"
        )
        lines.append("|---|---|---|")
        for kind, idx in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
            ex = "; ".join(
                f"`{_clip(pairs[i].gold, 30)}` / `{_clip(rust_run.extracted[i], 50)}` / "
                f"`{_clip(mv.extracted[i], 30)}`"
                for i in idx[:examples]
            )
            lines.append(f"| {kind} | {len(idx)} | {ex} |")
    return "\n".join(lines)
