"""Pure-Python reference of the math judge, written for clarity.

It implements the same semantics as the Rust judge (``cgpo.judges.MathJudge``) step by step:
extract the final answer, normalise both strings, parse them into expression trees, evaluate
the trees into exact values and compare. Exact values are polynomials with
:class:`fractions.Fraction` coefficients over monomials ``prod p^(a/b) * i^(0|1) * prod x^k``
(radicals of primes with exponents in (0, 1), the imaginary unit, free symbols such as pi, e
and variables); a scalar is a ratio of two such polynomials. The property tests check that
both implementations give the same verdicts.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Union

from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict
from cgpo.judges.math import (
    EXTRACTION_STRATEGIES,
    check_budget,
    check_extraction,
    check_gold_unicode,
    gold_answers,
    int_to_decimal,
    invalid_text,
    lone_surrogate,
)

MAX_BITS = 1 << 17
MAX_SYM_EXP = 1 << 20
MAX_DEPTH = 500
MAX_OPS = 1000  # operators per answer: keeps trees shallow (recursion depth)
MAX_TERMS = 4000.0  # most terms a power of a polynomial may expand to


class Fail(Exception):
    """An answer could not be evaluated: ``kind`` is ``budget``, ``too_big`` or ``invalid``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Budget:
    """Counts work units and watches a deadline (checked every 512 units)."""

    def __init__(self, timeout_ms: float = 100.0, max_steps: int = 2_000_000) -> None:
        self.steps = 0
        self.max_steps = max_steps
        self.deadline = time.monotonic() + timeout_ms / 1000.0
        self.since_clock = 0

    def tick(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.max_steps:
            raise Fail("budget")
        self.since_clock += n
        if self.since_clock >= 512:
            self.since_clock = 0
            if time.monotonic() >= self.deadline:
                raise Fail("budget")


# ---------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------


def matching_brace(s: str, open_at: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``open_at`` (escaped braces skipped)."""
    depth = 0
    k = open_at
    while k < len(s):
        c = s[k]
        if c == "\\":
            k += 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return None


def _boxes_from_end(text: str) -> list[tuple[int, int, int]]:
    """``(command start, content start, closing brace)`` of the balanced boxes among the last
    16 box commands, last first."""
    starts = sorted((m.start(), m.end()) for m in re.finditer(r"\\boxed|\\fbox", text))
    out = []
    for cmd, after in list(reversed(starts))[:16]:
        j = after
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            end = matching_brace(text, j)
            if end is not None:
                out.append((cmd, j + 1, end))
    return out


def last_boxed(text: str) -> str | None:
    """Content of the last balanced ``\\boxed{...}`` / ``\\fbox{...}`` (last 16 tried)."""
    boxes = _boxes_from_end(text)
    return text[boxes[0][1] : boxes[0][2]] if boxes else None


def final_boxes(text: str) -> str | None:
    """The last box's content, or the list of the boxes that end the text separated only by
    commas, spacing and ``and``/``or`` (a label before a box, ``y_2 = \\boxed{B}``, is kept)."""
    boxes = _boxes_from_end(text)
    if not boxes:
        return None
    chain: list[list[Any]] = [[*boxes[0], None]]
    next_cmd = boxes[0][0]
    for cmd, open_at, end in boxes[1:]:
        if end >= next_cmd:
            break
        label = _gap_label(text[end + 1 : next_cmd])
        if label is False:
            break
        chain[-1][3] = label
        chain.append([cmd, open_at, end, None])
        next_cmd = cmd
    if len(chain) == 1:
        return text[boxes[0][1] : boxes[0][2]]
    chain[-1][3] = _label_before(text[: chain[-1][0]])
    items = [
        f"{label} = {text[o:e]}" if label is not None else text[o:e]
        for _, o, e, label in reversed(chain)
    ]
    return ", ".join(items)


_ASCII_SPACE = " \t\n\x0c\r"  # what Rust's is_ascii_whitespace accepts
_DIGITS = "0123456789"
_CONNECTOR_WRAPPERS = ("text", "mathrm", "mbox", "textrm", "textbf")


def _gap_label(gap: str) -> str | bool | None:
    """``None`` (or the next box's label) when ``gap`` only separates two boxes, else False."""
    i = 0
    while i < len(gap):
        c = gap[i]
        if c in _ASCII_SPACE or c in ",;$":
            i += 1
        elif c == "\\":
            m = re.compile(r"[A-Za-z]*").match(gap, i + 1)
            name = m.group(0) if m else ""
            if not name:
                if gap[i + 1 : i + 2] and gap[i + 1] in "()[],;:! ":
                    i += 2
                else:
                    return False
            elif name in ("quad", "qquad"):
                i += 1 + len(name)
            elif name in _CONNECTOR_WRAPPERS and gap[i + 1 + len(name) : i + 2 + len(name)] == "{":
                open_at = i + 1 + len(name)
                end = matching_brace(gap, open_at)
                if end is None:
                    return False
                words = re.split(r"[ \t\n\x0c\r,]", gap[open_at + 1 : end])
                if not all(w in ("", "and", "or") for w in words):
                    return False
                i = end + 1
            else:
                return False
        elif c.isascii() and c.isalpha():
            m = re.compile(r"[A-Za-z]+").match(gap, i)
            assert m is not None
            if m.group(0) in ("and", "or"):
                i = m.end()
            else:
                label = _label_eq(gap[i:])
                return False if label is None else label
        else:
            return False
    return None


def _label_eq(s: str) -> str | None:
    """``s`` is a label and ``=`` (``y_2 = ``, ``x_{1}=``, ``AB =``): the label."""
    t = s.rstrip(_ASCII_SPACE)
    if not t.endswith("="):
        return None
    t = t[:-1].rstrip(_ASCII_SPACE)
    if re.fullmatch(r"[A-Za-z]{1,2}(_(\{[A-Za-z0-9]+\}|[A-Za-z0-9]+))?", t):
        return t
    return None


def _label_before(before: str) -> str | None:
    """A label right before the first box of a list (``y_1 = \\boxed{...}``), if any."""
    t = before.rstrip(_ASCII_SPACE)
    while True:
        u = t.rstrip("$")
        while u.endswith(("\\(", "\\[")):
            u = u[:-2]
        u = u.rstrip(_ASCII_SPACE)
        if len(u) == len(t):
            break
        t = u
    if not t.endswith("="):
        return None
    eq = t[:-1].rstrip(_ASCII_SPACE)
    m = re.search(r"[^A-Za-z0-9_{}]", eq[::-1])
    start = len(eq) - m.start() if m else 0
    return _label_eq(t[start:])


def _after_marker(text: str, marker: str) -> str | None:
    k = text.lower().rfind(marker)
    if k < 0:
        return None
    line = text[k + len(marker) :].split("\n")[0]
    # Rust trims ':' and '*' with any Unicode white space (char::is_whitespace, which unlike
    # str.isspace leaves out \x1c-\x1f), e.g. a no-break space before a markdown-bold answer.
    i = 0
    while i < len(line) and (
        line[i] in ":*" or (line[i].isspace() and line[i] not in "\x1c\x1d\x1e\x1f")
    ):
        i += 1
    s = line[i:]
    if s.startswith("$$"):
        s = s[2:].split("$$")[0]
    elif s.startswith("$"):
        s = s[1:].split("$")[0]
    else:
        h = s.lower().rfind("i hope it is correct")
        if h >= 0:
            s = s[:h]
    return s.strip().rstrip(".*").strip()


def extract(text: str, order: Sequence[str] = EXTRACTION_STRATEGIES) -> str | None:
    """The final answer by the first strategy in ``order`` that finds a non-empty one."""
    for name in order:
        if name == "boxed":
            found = final_boxes(text)
        elif name == "final_answer":
            found = _after_marker(text, "the final answer is")
        elif name == "hashes":
            found = _after_marker(text, "####")
        else:
            found = _after_marker(text, "answer:")
        if found is not None and found.strip():
            return found.strip()
    return None


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------

WRAPPERS = {
    "text", "textbf", "textit", "textrm", "textsf", "texttt", "mathrm", "mathbf", "mathit",
    "mathsf", "mathtt", "mbox", "hbox", "operatorname", "boldsymbol", "bm", "mathbb",
    "mathcal", "textnormal", "emph",
}  # fmt: skip
DROPPED = {
    "left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "displaystyle", "textstyle",
    "circ", "degree", "degrees", "limits", "nolimits", "bf", "rm", "it",
}  # fmt: skip
UNITS = {
    "cm", "m", "km", "mm", "meter", "meters", "metre", "metres", "centimeters", "inch",
    "inches", "ft", "foot", "feet", "yard", "yards", "mile", "miles", "units", "unit", "square",
    "sq", "cubic", "degrees", "degree", "deg", "dollars", "dollar", "cents", "cent", "hours",
    "hour", "minutes", "minute", "seconds", "second", "days", "day", "weeks", "week", "years",
    "year", "kg", "g", "grams", "gram", "pounds", "pound", "lbs", "lb", "ounces", "oz",
    "liters", "liter", "litres", "ml", "mph", "percent", "points", "point", "people",
    "students", "ways", "times", "items", "cups", "boxes", "apples", "marbles", "pages",
    "books", "dogs", "cats", "pairs", "values", "numbers", "solutions", "integers", "terms",
    "digits", "triangles", "inequalities", "games", "rounds", "moves", "steps", "sides", "edges",
    "vertices",
}  # fmt: skip
RENAMED = {
    "dfrac": "\\frac", "tfrac": "\\frac", "cfrac": "\\frac", "dbinom": "\\binom",
    "tbinom": "\\binom", "cdot": "*", "times": "*", "ast": "*", "div": "/", "leq": "\\le ",
    "leqslant": "\\le ", "geq": "\\ge ", "geqslant": "\\ge ", "neq": "\\ne ", "lt": "<",
    "gt": ">", "varnothing": "\\emptyset ", "mp": "\\mp ",
}  # fmt: skip
UNICODE = {
    "−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "⋅": "*", "∗": "*", "÷": "/", "∕": "/",
    "π": "\\pi ", "∞": "\\infty ", "√": "\\sqrt ", "≤": "\\le ", "≥": "\\ge ", "≠": "\\ne ",
    "∪": "\\cup ", "±": "\\pm ", "∈": "\\in ", "，": ",", "\u00a0": " ", "\u2009": " ",
    "\u202f": " ", "\ue000": " ",
}  # fmt: skip
#: Marks a ``\\quad`` while scanning (a list separator); input never holds it (mapped to " ").
QUAD = "\ue000"


def _scan(s: str, out: list[str], depth: int) -> None:
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            m = re.match(r"[A-Za-z]*", s[i + 1 :])
            name = m.group(0) if m else ""
            if not name:
                if i + 1 >= len(s):
                    i += 1
                    continue
                nxt = s[i + 1]
                if nxt not in ",;:! $%()[]":
                    out.append("\\" + nxt)
                i += 2
                continue
            after = i + 1 + len(name)
            if name in WRAPPERS:
                j = after
                while j < len(s) and s[j] == " ":
                    j += 1
                if j < len(s) and s[j] == "{":
                    end = matching_brace(s, j)
                    if end is not None:
                        out.append(" ")
                        if _is_unit_phrase(s[j + 1 : end]):
                            # `\text{ cm}`: a unit written as text goes, even one letter long.
                            i = end + 1
                            for power in ("^2", "^3", "^{2}", "^{3}"):  # `\text{ cm}^2`
                                if s.startswith(power, i):
                                    i += len(power)
                                    break
                            continue
                        if depth < 32:
                            _scan(s[j + 1 : end], out, depth + 1)
                        out.append(" ")
                        i = end + 1
                        continue
                i = after
                continue
            m = re.match(r"q?quad", name)
            if m:  # `\\quad` (and `\\quadx`, a missing space) separates list items
                out.append(QUAD + name[m.end() :])
                i = after
                continue
            if name in DROPPED:
                i = after
                if name in ("left", "right") and s[i : i + 1] == ".":
                    i += 1
                continue
            out.append(RENAMED.get(name, "\\" + name + " "))
            i = after
        elif c in "$%":
            i += 1
        elif ord(c) < 0x20 or c == "\x7f":
            out.append(" ")
            i += 1
        else:
            out.append(UNICODE.get(c, c))
            i += 1


def _drop_thousands_commas(s: str) -> str:
    """``1,000,000`` -> ``1000000`` (first group of 1-3 digits, then groups of exactly 3)."""
    digits = "0123456789"
    out: list[str] = []
    i = 0
    while i < len(s):
        if s[i] in digits and (i == 0 or s[i - 1] not in digits + "."):
            start = i
            while i < len(s) and s[i] in digits:
                i += 1
            first = i - start
            groups = []
            k = i
            while (
                k + 3 < len(s)
                and s[k] == ","
                and all(c in digits for c in s[k + 1 : k + 4])
                and (k + 4 == len(s) or s[k + 4] not in digits)
            ):
                groups.append(k)
                k += 4
            out.append(s[start:i])
            # `(12,102)` fills a bracket pair: a pair of numbers, not twelve thousand.
            opened = s[:start].rstrip().endswith(("(", "["))
            closed = s[k:].lstrip().startswith((")", "]"))
            if first <= 3 and groups and not (opened and closed):
                out.extend(s[g + 1 : g + 4] for g in groups)
                i = k
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _is_unit_phrase(s: str) -> bool:
    words = s.split()
    return bool(words) and all(w.rstrip("^0123456789").lower() in UNITS for w in words)


def _letters_only_in_commands(s: str) -> bool:
    """No letters outside LaTeX command names (``10``, ``2\\sqrt{3}``; not ``n+2``)."""
    return re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]*", "", s)) is None


def _strip_trailing_units(t: str) -> str:
    while True:
        u = t.rstrip("^{} 0123456789")
        if not (len(u) < len(t) and u[-1:].isascii() and u[-1:].isalpha()):
            u = t
        m = re.search(r"[A-Za-z]*$", u)
        word = m.group(0) if m else ""
        before_raw = u[: len(u) - len(word)]
        before = before_raw.rstrip()
        ok = (
            before_raw.endswith(" ")
            and not before.endswith("\\")
            and any(ch in "0123456789" for ch in before)
            and _letters_only_in_commands(before)
        )
        if len(word) >= 2 and ok and word.lower() in UNITS:
            t = before
        else:
            return t


def normalize(s: str, budget: Budget) -> str:
    """The canonical string the parser reads (same rules as the Rust normaliser)."""
    budget.tick(1 + len(s.encode()) // 16)
    s = _latex_thousands(_undouble_backslashes(s))
    for a, b in (("^{\\circ}", ""), ("^\\circ", ""), ("{,}", ""), ("\\!", ""), ("°", "")):
        s = s.replace(a, b)
    out: list[str] = []
    _scan(s, out, 0)
    scanned = "".join(out)
    if QUAD in scanned:
        scanned = _join_items(scanned.split(QUAD), drop_connectors=True)
    text = _drop_thousands_commas(scanned)
    text = _strip_trailing_units(text.strip().rstrip(".;").rstrip())
    t = text.strip().lstrip("+").strip()
    if not t:
        t = text.strip()
    t = " ".join(t.split())
    # "x = 1 or x = 2", "3 and 5", "(11,7)or(7,11)": the words separate the items of a list.
    parts = re.split(r"(?<![A-Za-z\\])(?:or|and)(?![A-Za-z])", t)
    return t if len(parts) == 1 else _join_items(parts, drop_connectors=False)


def _join_items(parts: list[str], drop_connectors: bool) -> str:
    items = [p.strip().strip(",").strip() for p in parts]
    skip = ("", "and", "or") if drop_connectors else ("",)
    return ", ".join(p for p in items if p not in skip)


def _undouble_backslashes(s: str) -> str:
    """A doubled backslash before a letter (a JSON export's ``\\\\frac``) means one; when one
    occurs, every doubled backslash before a letter or a LaTeX delimiter is read as one."""
    if not re.search(r"(?<!\\)\\\\[A-Za-z]", s):
        return s
    out = []
    k = 0
    while k < len(s):
        if s.startswith("\\\\", k) and k + 2 < len(s):
            c = s[k + 2]
            if (c.isascii() and c.isalpha()) or c in "()[]{},;!%$ ":
                out.append("\\")
                k += 2
                continue
        out.append(s[k])
        k += 1
    return "".join(out)


def _latex_thousands(s: str) -> str:
    """``32,\\! 349`` -> ``32,349`` (the MATH dataset's thousands separator)."""
    if ",\\!" not in s:
        return s
    out = []
    rest = s
    while (k := rest.find(",\\!")) >= 0:
        after = rest[k + 3 :].lstrip(_ASCII_SPACE)
        out.append(rest[:k])
        if rest[:k][-1:] and rest[:k][-1:] in _DIGITS and after[:1] and after[:1] in _DIGITS:
            out.append(",")
            rest = after
        else:
            out.append(",\\!")
            rest = rest[k + 3 :]
    out.append(rest)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Exact algebra
# ---------------------------------------------------------------------------------------------

# A monomial: (radicals ((base, num, den), ...), imag, symbols ((name, exp), ...)).
Mono = tuple[tuple[tuple[int, int, int], ...], bool, tuple[tuple[str, int], ...]]
ONE_MONO: Mono = ((), False, ())


def _bits(q: Fraction) -> int:
    return q.numerator.bit_length() + q.denominator.bit_length()


def _check_size(q: Fraction) -> None:
    if abs(q.numerator).bit_length() > MAX_BITS or q.denominator.bit_length() > MAX_BITS:
        raise Fail("too_big")


def ln_binomial(a: float, k: int) -> float:
    """``ln C(a, k)`` summed in the Rust judge's order; ``k`` above 10,000 is infinite."""
    k = min(k, int(max(a - k, 0.0)))
    if k > 10_000:
        return math.inf
    s = 0.0
    for j in range(1, k + 1):
        s += math.log((a - k + j) / j)
    return s


def _fraction_text(q: Fraction) -> str:
    """``str(q)`` without Python's 4,300-digit limit on int-to-str conversion."""
    n = int_to_decimal(q.numerator)
    return n if q.denominator == 1 else f"{n}/{int_to_decimal(q.denominator)}"


def _digits_value(digits: str, base: int = 10) -> int:
    """``int(digits, base)`` without Python's 4,300-digit limit (divide and conquer)."""
    if len(digits) <= 3000:
        return int(digits, base)
    half = len(digits) // 2
    return _digits_value(digits[:-half], base) * base**half + _digits_value(digits[-half:], base)


def mono_mul(a: Mono, b: Mono) -> tuple[Fraction, Mono]:
    factor = Fraction(1)
    rad: dict[int, Fraction] = {}
    for base, n, d in a[0] + b[0]:
        rad[base] = rad.get(base, Fraction(0)) + Fraction(n, d)
    rad_out = []
    for base in sorted(rad):
        e = rad[base]
        if e >= 1:
            factor *= base
            e -= 1
        if e:
            rad_out.append((base, e.numerator, e.denominator))
    if a[1] and b[1]:
        factor = -factor
    syms: dict[str, int] = {}
    for name, k in a[2] + b[2]:
        syms[name] = syms.get(name, 0) + k
        if syms[name] > MAX_SYM_EXP:
            raise Fail("too_big")
    return factor, (tuple(rad_out), a[1] != b[1], tuple(sorted(syms.items())))


class Poly:
    """A polynomial: monomial -> nonzero Fraction coefficient."""

    def __init__(self, terms: dict[Mono, Fraction] | None = None) -> None:
        self.terms = {m: c for m, c in (terms or {}).items() if c}

    @staticmethod
    def const(c: Fraction | int) -> Poly:
        return Poly({ONE_MONO: Fraction(c)})

    @staticmethod
    def symbol(name: str) -> Poly:
        return Poly({((), False, ((name, 1),)): Fraction(1)})

    @staticmethod
    def imag() -> Poly:
        return Poly({((), True, ()): Fraction(1)})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Poly) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(frozenset(self.terms.items()))

    def is_zero(self) -> bool:
        return not self.terms

    def as_const(self) -> Fraction | None:
        if not self.terms:
            return Fraction(0)
        if len(self.terms) == 1 and ONE_MONO in self.terms:
            return self.terms[ONE_MONO]
        return None

    def neg(self) -> Poly:
        return Poly({m: -c for m, c in self.terms.items()})

    def expanded_terms(self, n: int) -> float:
        """An upper bound on the terms of ``self^n``: ``C(n+t-1, t-1)`` for ``t`` terms and
        ``C(n d + v, v)`` for ``v`` variables of degree ``d`` (1 with radicals or ``i``)."""
        t = len(self.terms)
        if t <= 1 or any(rad or imag for rad, imag, _ in self.terms):
            return 1.0
        names = {x for _, _, syms in self.terms for x, _ in syms}
        degree = max(sum(k for _, k in syms) for _, _, syms in self.terms)
        by_terms = ln_binomial(float(n + t - 1), t - 1)
        by_degree = ln_binomial(float(n) * float(degree) + len(names), len(names))
        return math.exp(min(by_terms, by_degree))

    def add(self, other: Poly, b: Budget) -> Poly:
        out = dict(self.terms)
        for m, c in other.terms.items():
            b.tick(1 + _bits(c) // 64)
            out[m] = out.get(m, Fraction(0)) + c
        for c in out.values():
            _check_size(c)
        return Poly(out)

    def mul(self, other: Poly, b: Budget) -> Poly:
        out: dict[Mono, Fraction] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in other.terms.items():
                b.tick(1 + (_bits(c1) + _bits(c2)) // 64 + len(m1[0]) + len(m2[0]))
                f, m = mono_mul(m1, m2)
                c = c1 * c2 * f
                _check_size(c)
                out[m] = out.get(m, Fraction(0)) + c
        return Poly(out)

    def __str__(self) -> str:
        if not self.terms:
            return "0"
        parts = []
        for (rad, imag, syms), c in sorted(self.terms.items()):
            s = _fraction_text(c)
            s += "".join(f"*{p}^({n}/{d})" for p, n, d in rad)
            s += "*i" if imag else ""
            s += "".join(f"*{x}^{k}" for x, k in syms)
            parts.append(s)
        return " + ".join(parts)


@dataclass(frozen=True)
class RatFn:
    """``num / den``, kept with ``den == 1`` whenever the denominator is one symbol-free term."""

    num: Poly
    den: Poly

    @staticmethod
    def of(p: Poly) -> RatFn:
        return RatFn(p, Poly.const(1))

    @staticmethod
    def const(c: Fraction | int) -> RatFn:
        return RatFn.of(Poly.const(Fraction(c)))

    def as_rational(self) -> Fraction | None:
        n, d = self.num.as_const(), self.den.as_const()
        if n is None or d is None:
            return None
        return n / d

    def is_zero(self) -> bool:
        return self.num.is_zero()

    def normalize(self, b: Budget) -> RatFn:
        if self.den.is_zero():
            raise Fail("invalid")
        if self.num.is_zero():
            return RatFn.const(0)
        if len(self.den.terms) == 1:
            ((rad, imag, syms), c) = next(iter(self.den.terms.items()))
            if not syms:
                inv_c = 1 / c
                inv_rad = []
                for p, n, d in rad:
                    inv_c /= p
                    inv_rad.append((p, d - n, d))
                if imag:
                    inv_c = -inv_c
                inv = Poly({(tuple(inv_rad), imag, ()): inv_c})
                return RatFn(self.num.mul(inv, b), Poly.const(1))
        return self

    def add(self, o: RatFn, b: Budget) -> RatFn:
        if self.den == o.den:
            return RatFn(self.num.add(o.num, b), self.den).normalize(b)
        num = self.num.mul(o.den, b).add(o.num.mul(self.den, b), b)
        return RatFn(num, self.den.mul(o.den, b)).normalize(b)

    def neg(self) -> RatFn:
        return RatFn(self.num.neg(), self.den)

    def sub(self, o: RatFn, b: Budget) -> RatFn:
        return self.add(o.neg(), b)

    def mul(self, o: RatFn, b: Budget) -> RatFn:
        return RatFn(self.num.mul(o.num, b), self.den.mul(o.den, b)).normalize(b)

    def div(self, o: RatFn, b: Budget) -> RatFn:
        if o.is_zero():
            raise Fail("invalid")
        return RatFn(self.num.mul(o.den, b), self.den.mul(o.num, b)).normalize(b)

    def powi(self, n: int, b: Budget) -> RatFn:
        if n == 0:
            return RatFn.const(1)  # 0^0 = 1, as in combinatorics, Python and SymPy
        if n < 0:
            return RatFn.const(1).div(self.powi(-n, b), b)
        c = self.as_rational()
        if c is not None:
            if c in (0, 1):
                return self
            if c == -1:
                return RatFn.const(1 if n % 2 == 0 else -1)
            est = max(max(abs(c.numerator).bit_length(), c.denominator.bit_length()) - 1, 0) * n
            if est > MAX_BITS:
                raise Fail("too_big")
        if n > MAX_SYM_EXP:
            raise Fail("too_big")
        if self == RatFn.of(Poly.imag()):
            return RatFn.of([Poly.const(1), Poly.imag(), Poly.const(-1), Poly.imag().neg()][n % 4])
        # Reason about the size before expanding: `(x+y+z+w)^{400}` has ten million terms.
        if max(self.num.expanded_terms(n), self.den.expanded_terms(n)) > MAX_TERMS:
            raise Fail("too_big")
        result, base, k = RatFn.const(1), self, n
        while k:
            if k & 1:
                result = result.mul(base, b)
            k >>= 1
            if k:
                base = base.mul(base, b)
        return result

    def equals(self, o: RatFn, b: Budget) -> bool:
        if self.den == o.den:
            return self.num == o.num
        return self.num.mul(o.den, b) == o.num.mul(self.den, b)

    def __str__(self) -> str:
        if self.den.as_const() == 1:
            return str(self.num)
        return f"({self.num})/({self.den})"


def _iroot(n: int, k: int) -> int:
    """floor(n ** (1/k)) for n >= 0, exactly."""
    if n < 2:
        return n
    x = 1 << ((n.bit_length() + k - 1) // k)
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x
        x = y


def factor(n: int, b: Budget) -> list[tuple[int, int]]:
    """Trial division by 2..1000; a leftover cofactor is kept whole (as r^k if a perfect power)."""
    out: list[tuple[int, int]] = []
    if n <= 1:
        return out
    p = 2
    while p <= 1000 and p * p <= n:
        b.tick(1 + n.bit_length() // 64)
        k = 0
        while n % p == 0:
            n //= p
            k += 1
        if k:
            out.append((p, k))
        p += 1 if p == 2 else 2
    if n > 1:
        best = (n, 1)
        for k in range(min(n.bit_length(), 64), 1, -1):
            b.tick(1 + n.bit_length() // 32)
            r = _iroot(n, k)
            if r**k == n:
                best = (r, k)
                break
        out.append(best)
    return sorted(out)


def _positive_root(x: Fraction, e: Fraction, b: Budget) -> RatFn:
    coeff = Fraction(1)
    rad: list[tuple[int, int, int]] = []
    for value, sign in ((x.numerator, 1), (x.denominator, -1)):
        for f, k in factor(value, b):
            ek = e * k * sign
            fl = math.floor(ek)
            frac = ek - fl
            whole = RatFn.const(f).powi(fl, b).as_rational()
            assert whole is not None
            coeff *= whole
            if frac:
                rad.append((f, frac.numerator, frac.denominator))
    _check_size(coeff)
    mono: Mono = ONE_MONO
    acc = Fraction(1)
    for r in sorted(rad):
        fct, mono = mono_mul(mono, ((r,), False, ()))
        acc *= fct
    return RatFn.of(Poly({mono: coeff * acc}))


def rational_power(x: Fraction, e: Fraction, b: Budget) -> RatFn:
    """``x^e`` exactly: square roots of negatives give i, odd roots of negatives are real."""
    if e.denominator == 1:
        return RatFn.const(x).powi(e.numerator, b)
    if x == 0:
        if e > 0:
            return RatFn.const(0)
        raise Fail("invalid")
    p, q = e.numerator, e.denominator
    if q.bit_length() > 20:
        raise Fail("too_big")
    if x > 0:
        return _positive_root(x, e, b)
    mag = _positive_root(-x, e, b)
    if q == 2:
        return mag.mul(RatFn.of(Poly.imag()).powi(p, b), b)
    if q % 2 == 1:
        return mag.neg() if p % 2 else mag
    raise Fail("invalid")


# ---------------------------------------------------------------------------------------------
# Tokens and parser
# ---------------------------------------------------------------------------------------------

#: Two-letter English words: answers or prose, never a product of two variables.
TWO_LETTER_WORDS = {
    "no", "or", "is", "if", "on", "at", "to", "of", "by", "it", "be", "as", "so", "we", "do",
    "up", "an",
}  # fmt: skip

# Token kinds: ("int", int) ("num", Fraction) ("word", str) ("cmd", str) ("ch", str)
# ("lset",) ("rset",) ("row",)
Tok = tuple[Any, ...]
FUNCS = {
    "sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "ln", "log", "exp", "sqrt", "pi", "lg",
}  # fmt: skip


def tokenize(s: str, b: Budget) -> list[Tok]:
    toks: list[Tok] = []
    i = 0
    split_digits = 0
    while i < len(s):
        b.tick(1)
        c = s[i]
        if c in " \t\n\r\x0c":
            i += 1
            continue
        if c.isascii() and (c.isdigit() or (c == "." and s[i + 1 : i + 2].isdigit())):
            if split_digits and c.isdigit():
                split_digits -= 1
                toks.append(("int", int(c)))
                i += 1
                continue
            m = re.compile(r"([0-9]*)(?:\.([0-9]+))?").match(s, i)
            assert m is not None
            int_part, frac_part = m.group(1), m.group(2) or ""
            i = m.end()
            exp = 0
            em = re.compile(r"[eE]([+-]?)([0-9]+)").match(s, i)
            if (
                em
                and len(em.group(2)) <= 6
                and not (
                    s[em.end() : em.end() + 1].isascii() and s[em.end() : em.end() + 1].isalpha()
                )
            ):
                exp = int(em.group(2)) * (-1 if em.group(1) == "-" else 1)
                i = em.end()
            if not frac_part and exp == 0 and s[i : i + 1] == "_":
                bm = re.compile(r"_(\{)?([0-9]+)").match(s, i)
                if bm and (not bm.group(1) or s[bm.end() : bm.end() + 1] == "}"):
                    base = int(bm.group(2)) if len(bm.group(2)) <= 9 else 0
                    if not 2 <= base <= 10:
                        raise Fail("invalid")
                    try:
                        v = _digits_value(int_part, base)
                    except ValueError:
                        raise Fail("invalid") from None
                    toks.append(("int", v))
                    i = bm.end() + (1 if bm.group(1) else 0)
                    continue
            if len(int_part) + len(frac_part) > 39_000:  # stays below 2^17 bits
                raise Fail("too_big")
            b.tick((len(int_part) + len(frac_part)) // 8)
            digits = int_part + frac_part
            mantissa = _digits_value(digits) if digits else 0
            scale = exp - len(frac_part)
            if not frac_part and scale == 0:
                toks.append(("int", mantissa))
            else:
                if abs(scale) > 20_000:
                    raise Fail("too_big")
                toks.append(("num", Fraction(mantissa) * Fraction(10) ** scale))
            continue
        split_digits = 0
        if c.isascii() and c.isalpha():
            m = re.compile(r"[A-Za-z]+").match(s, i)
            assert m is not None
            toks.append(("word", m.group(0)))
            i = m.end()
            continue
        if c == "\\":
            m = re.compile(r"[A-Za-z]*").match(s, i + 1)
            name = m.group(0) if m else ""
            if not name:
                nxt = s[i + 1 : i + 2]
                kinds = {"{": ("lset",), "}": ("rset",), "\\": ("row",), "|": ("ch", "|")}
                if nxt not in kinds:
                    raise Fail("invalid")
                toks.append(kinds[nxt])
                i += 2
                continue
            split_digits = {"frac": 2, "binom": 2, "sqrt": 1}.get(name, 0)
            toks.append(("cmd", name))
            i += 1 + len(name)
            continue
        if c == ";":  # separates items like `,` (`-12;-11`, `(0;-2;6)`)
            toks.append(("ch", ","))
            i += 1
            continue
        if c in "+-*/^_!=<>,&|()[]{}':":
            toks.append(("ch", c))
            i += 1
            continue
        raise Fail("invalid")
    return toks


# Expression trees are tuples: (kind, ...children).
Node = tuple[Any, ...]
REL_CMDS = {"le": "le", "ge": "ge", "ne": "ne", "in": "in"}


class Parser:
    """Recursive descent with the same grammar and precedence as the Rust parser."""

    def __init__(self, toks: list[Tok], b: Budget) -> None:
        self.toks = toks
        self.pos = 0
        self.depth = 0
        self.ops = 0
        self.b = b

    def op(self) -> None:
        self.ops += 1
        if self.ops > MAX_OPS:
            raise Fail("too_big")  # too long to decide, not "not mathematics": ERROR

    def peek(self) -> Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def eat_ch(self, c: str) -> bool:
        if self.peek() == ("ch", c):
            self.pos += 1
            return True
        return False

    def expect_ch(self, c: str) -> None:
        if not self.eat_ch(c):
            raise Fail("invalid")

    def peek_cmd(self, *names: str) -> bool:
        t = self.peek()
        return t is not None and t[0] == "cmd" and t[1] in names

    def enter(self) -> None:
        self.depth += 1
        self.b.tick(1)
        if self.depth > MAX_DEPTH:
            raise Fail("too_big")

    def items(self) -> list[Node]:
        items = [self.relation()]
        while self.eat_ch(","):
            items.append(self.relation())
        return items

    def rel_op(self) -> tuple[str, int] | None:
        t = self.peek()
        nxt = self.toks[self.pos + 1] if self.pos + 1 < len(self.toks) else None
        if t == ("ch", "="):
            return ("eq", 1)
        if t == ("ch", "<"):
            return ("le", 2) if nxt == ("ch", "=") else ("lt", 1)
        if t == ("ch", ">"):
            return ("ge", 2) if nxt == ("ch", "=") else ("gt", 1)
        if t is not None and t[0] == "cmd" and t[1] in REL_CMDS:
            return (REL_CMDS[t[1]], 1)
        return None

    def relation(self) -> Node:
        self.enter()
        terms = [self.union()]
        ops = []
        while (op := self.rel_op()) is not None:
            self.op()
            self.pos += op[1]
            ops.append(op[0])
            terms.append(self.union())
        self.depth -= 1
        return terms[0] if not ops else ("rel", tuple(ops), tuple(terms))

    def union(self) -> Node:
        """``a \\cup b ...``, or a ratio ``a : b ...`` (tighter than ``=``)."""
        first = self.additive()
        if self.peek() == ("ch", ":"):
            parts = [first]
            while self.eat_ch(":"):
                self.op()
                parts.append(self.additive())
            return ("ratio", tuple(parts))
        if not self.peek_cmd("cup"):
            return first
        parts = [first]
        while self.peek_cmd("cup"):
            self.op()
            self.pos += 1
            parts.append(self.additive())
        return ("union", tuple(parts))

    def additive(self) -> Node:
        self.enter()
        if self.peek_cmd("pm"):
            self.pos += 1
            left: Node = ("pm", ("int", 0), self.term())
        else:
            left = self.term()
        while True:
            self.op()
            if self.eat_ch("+"):
                left = ("add", left, self.term())
            elif self.eat_ch("-"):
                left = ("sub", left, self.term())
            elif self.peek_cmd("pm", "mp"):
                self.pos += 1
                left = ("pm", left, self.term())
            else:
                break
        self.depth -= 1
        return left

    def starts_factor(self) -> bool:
        t = self.peek()
        if t is None:
            return False
        if t[0] in ("num", "int", "word", "lset"):
            return True
        if t[0] == "ch":
            return bool(t[1] in "({")
        if t[0] == "cmd":
            return t[1] not in ("le", "ge", "ne", "in", "cup", "pm", "mp", "end", "right")
        return False

    def term(self) -> Node:
        left = self.unary()
        while True:
            self.op()
            if self.eat_ch("*"):
                left = ("mul", left, self.unary())
            elif self.eat_ch("/"):
                left = ("div", left, self.unary())
            elif self.starts_factor():
                # `2 3` or `1 000` is a digit-group separator or a typo, never a product.
                nxt = self.peek()
                if nxt is not None and nxt[0] in ("int", "num") and left[0] in ("int", "num"):
                    raise Fail("invalid")
                right = self.power()
                if (
                    left[0] == "int"
                    and right[0] == "litfrac"
                    and right[1] < right[2]
                    and left[1] >= 0
                ):
                    left = ("add", left, right)
                else:
                    left = ("mul", left, right)
            else:
                return left

    def unary(self) -> Node:
        self.enter()
        # A run of signs in a loop: an odd number of minus signs is one negation, an even
        # (nonzero) number two.
        minus = 0
        while True:
            if self.eat_ch("-"):
                minus += 1
            elif not self.eat_ch("+"):
                break
            self.b.tick(1)
        n = self.power()
        for _ in range(0 if minus == 0 else 2 - minus % 2):
            n = ("neg", n)
        self.depth -= 1
        return n

    def power(self) -> Node:
        self.enter()
        base = self.postfix()
        if self.eat_ch("^"):
            n: Node = ("pow", base, self.exponent())
            while self.eat_ch("!"):
                self.op()
                n = ("fact", n)
        else:
            n = base
        self.depth -= 1
        return n

    def exponent(self) -> Node:
        if self.peek() == ("ch", "{"):
            return self.primary()
        return self.unary()

    def postfix(self) -> Node:
        n = self.primary()
        while self.eat_ch("!"):
            self.op()
            n = ("fact", n)
        return n

    def arg(self) -> Node:
        t = self.peek()
        if t is not None and t[0] == "word" and len(t[1]) > 1:
            self.toks[self.pos] = ("word", t[1][1:])
            return ("sym", t[1][0])
        return self.primary()

    def group_until(self, close: str) -> tuple[list[Node], str]:
        self.enter()
        items = self.items()
        t = self.peek()
        if t is None or t[0] != "ch" or t[1] not in close:
            raise Fail("invalid")
        self.pos += 1
        self.depth -= 1
        return items, t[1]

    def primary(self) -> Node:
        self.enter()
        t = self.peek()
        if t is None:
            raise Fail("invalid")
        self.pos += 1
        kind = t[0]
        node: Node
        if kind == "int":
            node = ("int", t[1])
        elif kind == "num":
            node = ("num", t[1])
        elif kind == "word":
            node = self.word(t[1])
        elif t in (("ch", "("), ("ch", "[")):
            items, close = self.group_until(")]")
            matching = ")" if t[1] == "(" else "]"
            if len(items) == 1 and close == matching:
                node = items[0]
            else:
                node = ("seq", t[1], close, tuple(items))
        elif t == ("ch", "{"):
            if self.eat_ch("}"):
                raise Fail("invalid")
            items, _ = self.group_until("}")
            node = items[0] if len(items) == 1 else ("set", tuple(items))
        elif kind == "lset":
            if self.peek() == ("rset",):
                self.pos += 1
                node = ("set", ())
            else:
                self.enter()
                items = self.items()
                if self.peek() != ("rset",):
                    raise Fail("invalid")
                self.pos += 1
                self.depth -= 1
                node = ("set", tuple(items))
        elif t == ("ch", "|"):
            inner = self.additive()
            self.expect_ch("|")
            node = ("abs", inner)
        elif kind == "cmd":
            node = self.command(t[1])
        else:
            raise Fail("invalid")
        self.depth -= 1
        return node

    def word(self, w: str) -> Node:
        if w in FUNCS:
            return self.command(w)
        if w in ("infty", "inf", "infinity"):
            return ("sym", "inf")
        if len(w) >= 3 or w.lower() in TWO_LETTER_WORDS:
            raise Fail("invalid")
        nodes: list[Node] = []
        for k, ch in enumerate(w):
            name = ch
            if k + 1 == len(w) and self.peek() == ("ch", "_"):
                self.pos += 1
                t = self.peek()
                if t is not None and t[0] == "int":
                    sub = int_to_decimal(t[1])
                elif t is not None and t[0] == "word":
                    sub = t[1]
                elif t == ("ch", "{"):
                    self.pos += 1
                    sub = ""
                    while (t := self.peek()) is not None:
                        self.pos += 1
                        if t == ("ch", "}"):
                            break
                        if t[0] not in ("int", "word"):
                            raise Fail("invalid")
                        sub += int_to_decimal(t[1]) if t[0] == "int" else t[1]
                    self.pos -= 1
                else:
                    raise Fail("invalid")
                self.pos += 1
                name = f"{name}_{sub}"
            nodes.append(("imag",) if name == "i" else ("sym", name))
        acc = nodes[0]
        for n in nodes[1:]:
            acc = ("mul", acc, n)
        return acc

    def command(self, name: str) -> Node:
        if name == "frac":
            a, b = self.arg(), self.arg()
            if a[0] == "int" and b[0] == "int" and b[1] != 0:
                return ("litfrac", a[1], b[1])
            return ("div", a, b)
        if name == "sqrt":
            if self.eat_ch("["):
                items, _ = self.group_until("]")
                if len(items) != 1:
                    raise Fail("invalid")
                index = items[0]
            else:
                index = ("int", 2)
            return ("pow", self.arg(), ("div", ("int", 1), index))
        if name in ("binom", "choose"):
            return ("binom", self.arg(), self.arg())
        if name == "pi":
            return ("sym", "pi")
        if name in ("infty", "infin"):
            return ("sym", "inf")
        if name == "emptyset":
            return ("set", ())
        if name in ("log", "lg", "ln", "exp") or name in FUNCS - {"sqrt", "pi"}:
            base = self.arg() if name == "log" and self.eat_ch("_") else None
            power = self.exponent() if self.eat_ch("^") else None
            arg = self.power()
            if name == "exp":
                f: Node = ("pow", ("sym", "e"), arg)
            elif name == "log" and base is not None:
                f = ("log", base, arg)
            elif name == "lg":
                f = ("log", ("int", 10), arg)
            else:
                f = ("func", name, arg)
            return ("pow", f, power) if power is not None else f
        if name == "begin":
            return self.matrix()
        raise Fail("invalid")

    def env_name(self) -> str:
        self.expect_ch("{")
        t = self.peek()
        if t is None or t[0] != "word":
            raise Fail("invalid")
        self.pos += 1
        self.expect_ch("}")
        return str(t[1])

    def matrix(self) -> Node:
        env = self.env_name()
        if env not in ("pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix", "array"):
            raise Fail("invalid")
        if env == "array" and self.peek() == ("ch", "{"):
            while (t := self.peek()) is not None:
                self.pos += 1
                if t == ("ch", "}"):
                    break
        self.enter()
        rows: list[list[Node]] = [[]]
        while True:
            t = self.peek()
            if t == ("cmd", "end"):
                self.pos += 1
                if self.env_name() != env:
                    raise Fail("invalid")
                break
            if t == ("row",):
                self.pos += 1
                rows.append([])
            elif t == ("ch", "&"):
                self.pos += 1
            elif t is None:
                raise Fail("invalid")
            else:
                rows[-1].append(self.relation())
        self.depth -= 1
        if rows and not rows[-1]:
            rows.pop()
        width = len(rows[0]) if rows else 0
        if width == 0 or any(len(r) != width for r in rows):
            raise Fail("invalid")
        return ("matrix", tuple(tuple(r) for r in rows))


def drop_redundant_parens(toks: list[Tok]) -> list[Tok]:
    """``((x))`` -> ``(x)``: parentheses that only wrap another bracketed group add nothing."""
    opens, closes = (("ch", "("), ("ch", "[")), (("ch", ")"), ("ch", "]"))
    partner: dict[int, int] = {}
    stack: list[int] = []
    for k, t in enumerate(toks):
        if t in opens:
            stack.append(k)
        elif t in closes and stack:
            partner[stack.pop()] = k
    drop: set[int] = set()
    for k in range(len(toks) - 1):
        j = partner.get(k)
        if (
            toks[k] == ("ch", "(")
            and j is not None
            and toks[j] == ("ch", ")")
            and toks[k + 1] in opens
            and partner.get(k + 1) == j - 1
        ):
            drop.update((k, j))
    return [t for k, t in enumerate(toks) if k not in drop] if drop else toks


def parse(s: str, b: Budget) -> Node:
    toks = drop_redundant_parens(tokenize(s, b))
    if not toks:
        raise Fail("invalid")
    p = Parser(toks, b)
    try:
        items = p.items()
    except RecursionError:
        # The Rust parser stops at MAX_DEPTH; Python's own stack limit means the same.
        raise Fail("too_big") from None
    if p.pos != len(toks):
        raise Fail("invalid")
    return items[0] if len(items) == 1 else ("set", tuple(items))


# ---------------------------------------------------------------------------------------------
# Evaluation and equivalence
# ---------------------------------------------------------------------------------------------

# Values: ("num", RatFn) ("seq", open, close, items) ("set", items) ("union", items)
# ("matrix", rows) ("rel", ops, terms)
Val = tuple[Any, ...]
_UNARY = {"neg", "fact", "abs"}
_BINARY = {"add", "sub", "mul", "div", "pow", "log", "binom"}


def _has_pm(n: Node) -> bool:
    k = n[0]
    if k == "pm":
        return True
    if k in _UNARY:
        return _has_pm(n[1])
    if k == "func":
        return _has_pm(n[2])
    if k in _BINARY:
        return _has_pm(n[1]) or _has_pm(n[2])
    return False


def _replace_first_pm(n: Node, plus: bool, done: list[bool]) -> Node:
    k = n[0]
    if k == "pm" and not done[0]:
        done[0] = True
        return ("add" if plus else "sub", n[1], n[2])
    if k in _UNARY:
        return (k, _replace_first_pm(n[1], plus, done))
    if k == "func":
        return (k, n[1], _replace_first_pm(n[2], plus, done))
    if k in _BINARY:
        return (k, _replace_first_pm(n[1], plus, done), _replace_first_pm(n[2], plus, done))
    return n


def expand_pm(n: Node) -> list[Node]:
    """Both sign choices of every ``\\pm`` (at most four of them)."""
    out = [n]
    for _ in range(4):
        if not any(_has_pm(x) for x in out):
            return out
        out = [_replace_first_pm(x, plus, [False]) for x in out for plus in (True, False)]
    if any(_has_pm(x) for x in out):
        raise Fail("too_big")
    return out


def _symbol(name: str) -> RatFn:
    return RatFn.of(Poly.symbol(name))


def _atom(f: str, *args: RatFn) -> RatFn:
    return _symbol(f"{f}({';'.join(str(a) for a in args)})")


def evaluate(n: Node, b: Budget) -> Val:
    b.tick(1)
    k = n[0]
    if k == "seq":
        return ("seq", n[1], n[2], tuple(evaluate(x, b) for x in n[3]))
    if k in ("set", "union"):
        return (k, tuple(evaluate(x, b) for x in n[1]))
    if k == "matrix":
        return ("matrix", tuple(tuple(evaluate(x, b) for x in row) for row in n[1]))
    if k == "rel":
        return ("rel", n[1], tuple(evaluate(x, b) for x in n[2]))
    if k == "ratio":
        return ("ratio", tuple(scalar(x, b) for x in n[1]))
    branches = expand_pm(n)
    if len(branches) == 1:
        return ("num", scalar(n, b))
    return ("set", tuple(("num", scalar(x, b)) for x in branches))


def _int_value(r: RatFn) -> int | None:
    q = r.as_rational()
    return q.numerator if q is not None and q.denominator == 1 else None


def scalar(n: Node, b: Budget) -> RatFn:
    b.tick(1)
    k = n[0]
    if k == "int":
        return RatFn.const(n[1])
    if k == "num":
        return RatFn.const(n[1])
    if k == "litfrac":
        return RatFn.const(Fraction(n[1], n[2]))
    if k == "sym":
        return _symbol(n[1])
    if k == "imag":
        return RatFn.of(Poly.imag())
    if k == "neg":
        return scalar(n[1], b).neg()
    if k == "div" and n[1][0] == "fact" and n[2][0] == "fact":
        ratio = _factorial_ratio(n[1][1], n[2][1], b)
        if ratio is not None:
            return ratio
    if k in ("add", "sub", "mul", "div"):
        x, y = scalar(n[1], b), scalar(n[2], b)
        return {"add": x.add, "sub": x.sub, "mul": x.mul, "div": x.div}[k](y, b)
    if k == "pow":
        return _power(scalar(n[1], b), scalar(n[2], b), b)
    if k == "fact":
        v = scalar(n[1], b)
        iv = _int_value(v)
        if iv is None:
            return _atom("fact", v)
        if iv < 0:
            raise Fail("invalid")
        return _factorial(iv, b)
    if k == "binom":
        nv, kv = scalar(n[1], b), scalar(n[2], b)
        ni, ki = _int_value(nv), _int_value(kv)
        if ni is None or ki is None:
            return _atom("binom", nv, kv)
        return _binom(ni, ki, b)
    if k == "abs":
        v = scalar(n[1], b)
        q = v.as_rational()
        return RatFn.const(abs(q)) if q is not None else _atom("abs", v)
    if k == "log":
        bv, xv = scalar(n[1], b), scalar(n[2], b)
        bq, xq = bv.as_rational(), xv.as_rational()
        if bq is not None and xq is not None:
            e = _exact_log(bq, xq, b)
            if e is not None:
                return RatFn.const(e)
        return _atom("ln", xv).div(_atom("ln", bv), b)
    if k == "func":
        v = scalar(n[2], b)
        if n[1] == "ln" and v.as_rational() == 1:
            return RatFn.const(0)
        if n[1] == "ln" and v == _symbol("e"):
            return RatFn.const(1)
        return _atom(n[1], v)
    raise Fail("invalid")


def _to_float(n: int) -> float:
    """``float(n)``, infinite past the float range (as Rust's ``to_f64`` gives)."""
    try:
        return float(n)
    except OverflowError:
        return math.inf


def _powers_equal(base: Fraction, p: int, x: Fraction, q: int, b: Budget) -> bool:
    """``base^p == x^q``; False when either power cannot be formed (only the budget raises)."""
    try:
        return RatFn.const(base).powi(p, b) == RatFn.const(x).powi(q, b)
    except Fail as e:
        if e.kind == "budget":
            raise
        return False


def _exact_log(base: Fraction, x: Fraction, b: Budget) -> Fraction | None:
    if base <= 0 or base == 1 or x <= 0:
        return None
    # The sizes suggest the exponent (`\\log_2 2^{100000}`): check its neighbours exactly.
    guess = (_big_log2(x.numerator) - _big_log2(x.denominator)) / (
        _big_log2(base.numerator) - _big_log2(base.denominator)
    )
    if math.isfinite(guess) and abs(guess) > 64:
        for q in range(1, 7):
            v = guess * q
            p = int(math.copysign(math.floor(abs(v) + 0.5), v))  # Rust's f64::round
            if abs(p) > 1e7:
                break
            if _powers_equal(base, p, x, q, b):
                return Fraction(p, q)
    for q in range(1, 7):
        for p in range(-64, 65):
            b.tick(4)
            if Fraction(p, q).denominator != q:
                continue
            if _powers_equal(base, p, x, q, b):
                return Fraction(p, q)
    return None


def _power(base: RatFn, e: RatFn, b: Budget) -> RatFn:
    eq = e.as_rational()
    if eq is not None:
        if eq.denominator == 1:
            return base.powi(eq.numerator, b)
        bq = base.as_rational()
        if bq is not None:
            return rational_power(bq, eq, b)
        # A nested radical (`\\sqrt{\\sqrt{2}}`): a positive rational times radicals of
        # primes, each raised on its own.
        parts = _radical_monomial(base)
        if parts is not None:
            c, rad = parts
            acc = rational_power(c, eq, b)
            for prime, n, d in rad:
                acc = acc.mul(rational_power(Fraction(prime), eq * Fraction(n, d), b), b)
            return acc
    return _atom("pow", base, e)


def _radical_monomial(r: RatFn) -> tuple[Fraction, tuple[tuple[int, int, int], ...]] | None:
    if r.den.as_const() != 1 or len(r.num.terms) != 1:
        return None
    ((rad, imag, syms), c) = next(iter(r.num.terms.items()))
    return (c, rad) if c > 0 and not imag and not syms else None


def _factorial_ratio(a_node: Node, c_node: Node, b: Budget) -> RatFn | None:
    """``a! / c!`` as the product of the integers between them when they are near."""
    a, c = _int_value(scalar(a_node, b)), _int_value(scalar(c_node, b))
    if a is None or c is None or a < 0 or c < 0 or abs(a - c) > 100_000:
        return None
    acc = 1
    for k in range(min(a, c) + 1, max(a, c) + 1):
        b.tick(1 + acc.bit_length() // 64)
        acc *= k
        if acc.bit_length() > MAX_BITS:
            raise Fail("too_big")
    return RatFn.const(Fraction(acc) if a >= c else Fraction(1, acc))


def _factorial(n: int, b: Budget) -> RatFn:
    if n > 2 and n * math.log2(n) > 1.5 * MAX_BITS:
        raise Fail("too_big")
    acc = 1
    for k in range(2, n + 1):
        b.tick(1 + acc.bit_length() // 64)
        acc *= k
        if acc.bit_length() > MAX_BITS:
            raise Fail("too_big")
    return RatFn.const(acc)


def _binom(n: int, k: int, b: Budget) -> RatFn:
    if k < 0 or n < 0 or k > n:
        return RatFn.const(0)
    k = min(k, n - k)
    # C(n, k) >= (n/k)^k: refuse before multiplying out what cannot fit.
    if k > 0 and k * math.log2(_to_float(n) / k) > MAX_BITS:
        raise Fail("too_big")
    if k > 1000 and n <= 1_000_000:
        return _binom_by_primes(n, k, b)
    acc = 1
    for j in range(k):
        b.tick(1 + acc.bit_length() // 64)
        acc = acc * (n - j) // (j + 1)
        if acc.bit_length() > MAX_BITS:
            raise Fail("too_big")
    return RatFn.const(acc)


def _binom_by_primes(n: int, k: int, b: Budget) -> RatFn:
    """``C(n, k)`` as the product of its prime powers (Legendre's exponents), multiplied as a
    balanced tree (the Rust judge's algorithm, same work units)."""
    b.tick(1 + n // 64)
    composite = bytearray(n + 1)
    factors: list[int] = []
    for p in range(2, n + 1):
        if composite[p]:
            continue
        composite[p * p :: p] = b"\x01" * len(range(p * p, n + 1, p))
        b.tick(1)
        e, q = 0, p
        while True:
            e += n // q - k // q - (n - k) // q
            if q > n // p:
                break
            q *= p
        if e > 0:
            factors.append(p**e)
    while len(factors) > 1:
        nxt = []
        for i in range(0, len(factors) - 1, 2):
            x, y = factors[i], factors[i + 1]
            b.tick(1 + (x.bit_length() + y.bit_length()) // 64)
            nxt.append(x * y)
        if len(factors) % 2:
            nxt.append(factors[-1])
        factors = nxt
    acc = factors[0] if factors else 1
    if acc.bit_length() > MAX_BITS:
        raise Fail("too_big")
    return RatFn.const(acc)


def _is_lone_symbol(v: Val) -> bool:
    if v[0] != "num":
        return False
    r: RatFn = v[1]
    if r.den.as_const() != 1 or len(r.num.terms) != 1:
        return False
    ((rad, imag, syms), c) = next(iter(r.num.terms.items()))
    return (
        c == 1
        and not rad
        and not imag
        and len(syms) == 1
        and syms[0][1] == 1
        and syms[0][0] not in ("pi", "e", "inf")
        and "(" not in syms[0][0]
    )


_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}


def _relation_as_interval(ops: tuple[str, ...], terms: tuple[Val, ...]) -> Val | None:
    inf = ("num", _symbol("inf"))
    ninf = ("num", _symbol("inf").neg())

    def strict(o: str) -> bool:
        return o in ("lt", "gt")

    if len(ops) == 1:
        (op,), (left, right) = ops, terms
        if _is_lone_symbol(left) and not _is_lone_symbol(right):
            if op in ("lt", "le"):
                return ("seq", "(", ")" if strict(op) else "]", (ninf, right))
            if op in ("gt", "ge"):
                return ("seq", "(" if strict(op) else "[", ")", (right, inf))
            if op == "in":
                return right
            return None
        if _is_lone_symbol(right) and not _is_lone_symbol(left):
            if op not in _FLIP:
                return None
            return _relation_as_interval((_FLIP[op],), (right, left))
        return None
    if len(ops) == 2 and _is_lone_symbol(terms[1]):
        o1, o2 = ops
        a, c = terms[0], terms[2]
        if o1 in ("lt", "le") and o2 in ("lt", "le"):
            return ("seq", "(" if strict(o1) else "[", ")" if strict(o2) else "]", (a, c))
        if o1 in ("gt", "ge") and o2 in ("gt", "ge"):
            return ("seq", "(" if strict(o2) else "[", ")" if strict(o1) else "]", (c, a))
    return None


def _is_name(v: Val) -> bool:
    """A variable (``x``) or a function of one (``f(x)``, parsed as ``f*x``): a monomial with
    coefficient 1 of two distinct free variables, each to the first power."""
    if _is_lone_symbol(v):
        return True
    # A tuple of variables (`(p, q) = (3, 2)`) or a ratio of them (`S_1 : S_2 = 7 : 32`).
    if v[0] == "seq" and v[1:3] == ("(", ")") and len(v[3]) >= 2:
        return all(_is_lone_symbol(x) for x in v[3])
    if v[0] == "ratio":
        return all(_is_lone_symbol(("num", x)) for x in v[1])
    if v[0] != "num":
        return False
    r: RatFn = v[1]
    if r.den.as_const() != 1 or len(r.num.terms) != 1:
        return False
    ((rad, imag, syms), c) = next(iter(r.num.terms.items()))
    return (
        c == 1
        and not rad
        and not imag
        and len(syms) == 2
        and all(k == 1 and name not in ("pi", "e", "inf") and "(" not in name for name, k in syms)
    )


def _equation_rhs(v: Val) -> Val | None:
    if v[0] == "rel" and v[1] == ("eq",) and _is_name(v[2][0]):
        rhs: Val = v[2][1]
        return rhs
    return None


def equivalent(g: Val, a: Val, b: Budget) -> bool:
    """Are the two values the same mathematical object? (Same case order as the Rust code.)"""
    b.tick(1)
    if g[0] == "num" and a[0] == "num":
        return bool(g[1].equals(a[1], b))
    if g[0] == "rel" and a[0] == "rel":
        i1, i2 = _relation_as_interval(g[1], g[2]), _relation_as_interval(a[1], a[2])
        if i1 is not None and i2 is not None:
            return equivalent(i1, i2, b)
        if g[1] == ("eq",) and a[1] == ("eq",):
            return _equations_equivalent(g[2], a[2], b)
        if g[1] != a[1] or len(g[2]) != len(a[2]):
            return False
        return _pairwise(g[2], a[2], b)
    if g[0] == "rel" or a[0] == "rel":
        rel, other = (g, a) if g[0] == "rel" else (a, g)
        rhs = _equation_rhs(rel)
        if rhs is not None:
            return equivalent(rhs, other, b)
        iv = _relation_as_interval(rel[1], rel[2])
        if iv is not None and other[0] != "num":
            return equivalent(iv, other, b)
        return False
    if g[0] == a[0] == "set":
        return _set_equal(g[1], a[1], b)
    if g[0] == a[0] == "union":
        return _unordered(g[1], a[1], b)
    if g[0] == a[0] == "ratio":
        return _proportional(g[1], a[1], b)
    if (g[0], a[0]) in (("ratio", "num"), ("num", "ratio")):
        ratio, num = (g[1], a[1]) if g[0] == "ratio" else (a[1], g[1])
        if len(ratio) == 2:
            return not ratio[1].is_zero() and bool(ratio[0].div(ratio[1], b).equals(num, b))
    for kind in ("set", "union"):
        if g[0] == kind and len(g[1]) == 1:
            return equivalent(g[1][0], a, b)
        if a[0] == kind and len(a[1]) == 1:
            return equivalent(g, a[1][0], b)
    if g[0] == "seq" and a[0] == "seq":
        if g[1:3] != a[1:3] or len(g[3]) != len(a[3]):
            return False
        return _pairwise(g[3], a[3], b)
    if g[0] == "matrix" and a[0] == "matrix":
        if len(g[1]) != len(a[1]):
            return False
        return all(len(x) == len(y) and _pairwise(x, y, b) for x, y in zip(g[1], a[1], strict=True))
    return False


def _pairwise(xs: Sequence[Val], ys: Sequence[Val], b: Budget) -> bool:
    return all(equivalent(x, y, b) for x, y in zip(xs, ys, strict=False))


def _set_equal(gold: Sequence[Val], answer: Sequence[Val], b: Budget) -> bool:
    """Multisets, except that repeating a solution of a gold listing each once is not wrong."""
    if len(answer) <= len(gold):
        return _unordered(gold, answer, b)
    answer = _distinct(answer, b)
    if len(answer) != len(gold) or len(_distinct(gold, b)) != len(gold):
        return False
    return _unordered(gold, answer, b)


def _distinct(xs: Sequence[Val], b: Budget) -> list[Val]:
    out: list[Val] = []
    for x in xs:
        if not any(equivalent(y, x, b) for y in out):
            out.append(x)
    return out


def _proportional(xs: Sequence[RatFn], ys: Sequence[RatFn], b: Budget) -> bool:
    """``x_1 : ... : x_n`` = ``y_1 : ... : y_n`` when proportional (neither all zero)."""
    if len(xs) != len(ys) or all(x.is_zero() for x in xs) or all(y.is_zero() for y in ys):
        return False
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            if not xs[i].mul(ys[j], b).equals(xs[j].mul(ys[i], b), b):
                return False
    return True


def _unordered(xs: Sequence[Val], ys: Sequence[Val], b: Budget) -> bool:
    if len(xs) != len(ys):
        return False
    used = [False] * len(ys)
    for x in xs:
        for k, y in enumerate(ys):
            if not used[k] and equivalent(x, y, b):
                used[k] = True
                break
        else:
            return False
    return True


def _equations_equivalent(t1: Sequence[Val], t2: Sequence[Val], b: Budget) -> bool:
    if not all(v[0] == "num" for v in (*t1, *t2)):
        return _pairwise(t1, t2, b)
    l1, r1, l2, r2 = t1[0][1], t1[1][1], t2[0][1], t2[1][1]
    if l1.equals(l2, b) and r1.equals(r2, b):
        return True
    d1, d2 = l1.sub(r1, b), l2.sub(r2, b)
    if d1.is_zero() or d2.is_zero():
        return d1.is_zero() and d2.is_zero()
    n1, n2 = d1.num.mul(d2.den, b), d2.num.mul(d1.den, b)
    if set(n1.terms) != set(n2.terms):
        return False
    ratios = {n1.terms[m] / n2.terms[m] for m in n1.terms}
    return len(ratios) == 1


# ---------------------------------------------------------------------------------------------
# Magnitude estimates (to reject exponent towers against ordinary numbers)
# ---------------------------------------------------------------------------------------------


def _big_log2(x: int) -> float:
    x = abs(x)
    bits = x.bit_length()
    if bits < 1000:
        return math.log2(x)
    return math.log2(x >> (bits - 64)) + (bits - 64)


def _positive(n: Node) -> bool:
    k = n[0]
    if k in ("int", "num"):
        return bool(n[1] > 0)
    if k == "litfrac":
        return (n[1] > 0) == (n[2] > 0) and n[1] != 0
    if k in ("pow", "fact"):
        return _positive(n[1])
    if k in ("mul", "div"):
        return _positive(n[1]) and _positive(n[2])
    return False


def _approx_value(n: Node) -> float | None:
    if n[0] in ("int", "num"):
        try:
            return float(n[1])
        except OverflowError:
            return math.inf if n[1] > 0 else -math.inf
    if n[0] == "neg":
        v = _approx_value(n[1])
        return None if v is None else -v
    if _positive(n):
        r = approx_log2(n)
        if r is None:
            return None
        try:
            return 2.0 ** r[0]
        except OverflowError:
            return math.inf
    return None


def approx_log2(n: Node) -> tuple[float, float] | None:
    """``(log2 |value|, error bound)`` for products and powers, else ``None``."""
    k = n[0]
    r: tuple[float, float]
    if k == "int" and n[1] != 0:
        r = (_big_log2(n[1]), 1e-9)
    elif k == "num" and n[1] != 0:
        r = (_big_log2(n[1].numerator) - _big_log2(n[1].denominator), 1e-9)
    elif k == "litfrac" and n[1] != 0:
        r = (_big_log2(n[1]) - _big_log2(n[2]), 1e-9)
    elif k == "neg":
        got = approx_log2(n[1])
        if got is None:
            return None
        r = got
    elif k in ("mul", "div"):
        x, y = approx_log2(n[1]), approx_log2(n[2])
        if x is None or y is None:
            return None
        r = (x[0] + y[0] if k == "mul" else x[0] - y[0], x[1] + y[1])
    elif k == "pow":
        x = approx_log2(n[1])
        v = _approx_value(n[2])
        if x is None or v is None:
            return None
        lg = v * x[0] if x[0] != 0 else 0.0
        r = (lg, abs(v * x[1]) + abs(lg) * 1e-9 + 1e-9)
    elif k == "fact":
        v = _approx_value(n[1])
        if v is None or v < 2:
            return None
        if math.isinf(v):
            r = (math.inf, math.inf)
        else:
            lg = v * math.log2(v / math.e) + math.log2(2 * math.pi * v) / 2
            r = (lg, 1 + abs(lg) * 1e-9)
    elif k in ("add", "sub"):
        x, y = approx_log2(n[1]), approx_log2(n[2])
        if x is None or y is None:
            return None
        if not abs(x[0] - y[0]) > 3 + x[1] + y[1]:
            return None
        r = (max(x[0], y[0]), max(x[1], y[1]) + 0.5)
    else:
        return None
    if math.isnan(r[0]) or r[0] == -math.inf:
        return None
    return r


def _magnitude_differs(gold_node: Node | None, answer: Node) -> bool:
    if gold_node is None:
        return False
    # A size estimate exists only for a nonzero value (`1000000!` is not 0).
    if (gold_node == ("int", 0) and approx_log2(answer) is not None) or (
        answer == ("int", 0) and approx_log2(gold_node) is not None
    ):
        return True
    x, y = approx_log2(gold_node), approx_log2(answer)
    if x is None or y is None:
        return False
    if math.isinf(x[0]) and math.isinf(y[0]):
        return False
    if math.isinf(x[0]) or math.isinf(y[0]):
        return True
    return abs(x[0] - y[0]) > x[1] + y[1] + 2


# ---------------------------------------------------------------------------------------------
# Modular checks (to tell apart values too big to compute: `2^{10^6}+1` against `2^{10^6}`)
# ---------------------------------------------------------------------------------------------

PRIMES = (4_294_967_291, 4_294_967_279)  # below 2^32, as in the Rust judge
MAX_PRODUCT = 20_000  # most factors of a factorial or binomial multiplied out mod p


def residues(n: Node, b: Budget) -> tuple[int | None, ...]:
    """The residues of a scalar answer modulo ``PRIMES`` (``None`` where it has none): a ring
    homomorphism, so a difference proves two values (or rational functions) different."""
    return tuple(residue(n, p, b) for p in PRIMES)


def costly(n: Node) -> bool:
    """A factorial, a binomial, or a power to an integer of 64 or more or to a computed
    exponent: worth a modular check before computing it exactly."""
    k = n[0]
    if k in ("fact", "binom"):
        return True
    if k == "pow":
        e = n[2]
        if e[0] == "int":
            big = abs(e[1]).bit_length() > 6
        else:
            big = e[0] in ("pow", "fact", "binom", "mul", "add", "sub")
        return big or costly(n[1])
    if k == "neg":
        return costly(n[1])
    if k in ("add", "sub", "mul", "div"):
        return costly(n[1]) or costly(n[2])
    return False


def residues_differ(x: Sequence[int | None], y: Sequence[int | None]) -> bool:
    return any(a is not None and c is not None and a != c for a, c in zip(x, y, strict=True))


def _symbol_value(name: str, p: int) -> int:
    """A fixed value for a free symbol: FNV-1a (64-bit) of its name, reduced mod p."""
    h = 0xCBF29CE484222325
    for byte in name.encode():
        h = ((h ^ byte) * 0x100000001B3) % (1 << 64)
    return h % p


def _inverse(a: int, p: int) -> int | None:
    return pow(a, p - 2, p) if a else None


def _exact_integer(n: Node, b: Budget) -> int | None:
    if n[0] == "int":
        return int(n[1])
    try:
        q = scalar(n, b).as_rational()
    except Fail as e:
        if e.kind == "budget":
            raise
        return None
    return q.numerator if q is not None and q.denominator == 1 else None


def _natural_residue(n: Node, m: int, b: Budget) -> int | None:
    """``n mod m`` for nonnegative integers built by ``+``, ``*`` and powers, else None."""
    b.tick(1)
    k = n[0]
    if k == "int" and n[1] >= 0:
        return int(n[1] % m)
    if k in ("add", "mul"):
        a, c = _natural_residue(n[1], m, b), _natural_residue(n[2], m, b)
        if a is None or c is None:
            return None
        return (a + c) % m if k == "add" else a * c % m
    if k == "pow":
        a, e = _natural_residue(n[1], m, b), _exact_integer(n[2], b)
        if a is None or e is None or e < 0:
            return None
        b.tick(1 + e.bit_length() // 64)
        return pow(a, e, m)
    return None


def residue(n: Node, p: int, b: Budget) -> int | None:
    """The residue of ``n`` modulo the prime ``p``, or None (radicals, i, logs, infinity)."""
    b.tick(1)
    k = n[0]
    if k == "int":
        return int(n[1] % p)
    if k in ("num", "litfrac"):
        num, den = (n[1].numerator, n[1].denominator) if k == "num" else (n[1], n[2])
        inv = _inverse(den % p, p)
        return None if inv is None else num % p * inv % p
    if k == "sym":
        return None if n[1] == "inf" else _symbol_value(n[1], p)
    if k == "neg":
        a = residue(n[1], p, b)
        return None if a is None else (p - a) % p
    if k in ("add", "sub", "mul", "div"):
        a, c = residue(n[1], p, b), residue(n[2], p, b)
        if a is None or c is None:
            return None
        if k == "div":
            inv = _inverse(c, p)
            return None if inv is None else a * inv % p
        return {"add": a + c, "sub": a - c, "mul": a * c}[k] % p
    if k == "pow":
        return _power_residue(n[1], n[2], p, b)
    if k == "fact":
        e = _exact_integer(n[1], b)
        return None if e is None or e < 0 else _product_residue(1, e, p, b)
    if k == "binom":
        nn, kk = _exact_integer(n[1], b), _exact_integer(n[2], b)
        return None if nn is None or kk is None else _binom_residue(nn, kk, p, b)
    return None


def _power_residue(x: Node, e: Node, p: int, b: Budget) -> int | None:
    a = residue(x, p, b)
    if a is None:
        return None
    k = _exact_integer(e, b)
    if k is not None:
        b.tick(1 + abs(k).bit_length() // 64)
        if a == 0:
            return None if k < 0 else (1 % p if k == 0 else 0)  # 0^0 = 1
        return pow(_inverse(a, p) if k < 0 else a, abs(k), p)  # type: ignore[arg-type]
    if a == 0:
        return None
    # An exponent too big to compute: a^k = a^(k mod (p-1)) for a != 0 mod p (Fermat).
    r = _natural_residue(e, p - 1, b)
    return None if r is None else pow(a, r, p)


def _product_residue(start: int, stop: int, p: int, b: Budget) -> int | None:
    """``start * ... * stop`` mod p; None past ``MAX_PRODUCT`` factors."""
    if stop >= 1 << 64:
        return None
    if stop >= p:
        return 0 if start <= p else None
    if max(stop - start, 0) > MAX_PRODUCT:
        return None
    acc = 1 % p
    for k in range(start, stop + 1):
        if (k - start) % 64 == 0:
            b.tick(1)
        acc = acc * (k % p) % p
    return acc


def _binom_residue(n: int, k: int, p: int, b: Budget) -> int | None:
    if k < 0 or n < 0 or k > n:
        return 0
    k = min(k, n - k)
    if n >= 1 << 64 or n >= p or k > MAX_PRODUCT:
        return None
    if k == 0:
        return 1 % p
    top, bottom = _product_residue(n - k + 1, n, p, b), _product_residue(1, k, p, b)
    if top is None or bottom is None:
        return None
    inv = _inverse(bottom, p)
    return None if inv is None else top * inv % p


# Products too big to compute, compared by their prime factorisations (`4^{500000}` is
# `2^{1000000}`, `100000!` is `100000 \\cdot 99999!`): (negative, {prime: exponent}).
Factored = tuple[bool, dict[int, int]]
MAX_FACTORED_INT = 10_000_000_000  # fully factored by trial division up to 10^5
MAX_FACTORED_FACTORIAL = 200_000  # factored by Legendre's formula


def _factor_int(x: int, b: Budget) -> dict[int, int]:
    primes: dict[int, int] = {}
    n, p = x, 2
    while p * p <= n:
        if p % 128 == 3:
            b.tick(1)
        while n % p == 0:
            primes[p] = primes.get(p, 0) + 1
            n //= p
        p += 1 if p == 2 else 2
    if n > 1:
        primes[n] = primes.get(n, 0) + 1
    return primes


def _factor_factorial(n: int, b: Budget) -> dict[int, int]:
    b.tick(1 + n // 64)
    composite = bytearray(n + 1)
    primes: dict[int, int] = {}
    for p in range(2, n + 1):
        if composite[p]:
            continue
        composite[p * p :: p] = b"\x01" * len(range(p * p, n + 1, p))
        b.tick(1)
        e, q = 0, p
        while True:
            e += n // q
            if q > n // p:
                break
            q *= p
        primes[p] = e
    return primes


def _times(x: Factored, y: Factored, sign: int) -> Factored:
    primes = dict(x[1])
    for p, e in y[1].items():
        primes[p] = primes.get(p, 0) + sign * e
        if primes[p] == 0:
            del primes[p]
    return (x[0] != y[0], primes)


def factored(n: Node, b: Budget) -> Factored | None:
    """The factorisation of a product of integers, powers, quotients and factorials, or None."""
    b.tick(1)
    k = n[0]
    if k == "int":
        v = abs(n[1])
        return (n[1] < 0, _factor_int(v, b)) if 0 < v <= MAX_FACTORED_INT else None
    if k == "litfrac":
        fx, fy = factored(("int", n[1]), b), factored(("int", n[2]), b)
        return None if fx is None or fy is None else _times(fx, fy, -1)
    if k == "neg":
        f = factored(n[1], b)
        return None if f is None else (not f[0], f[1])
    if k in ("mul", "div"):
        fx, fy = factored(n[1], b), factored(n[2], b)
        if fx is None or fy is None:
            return None
        return _times(fx, fy, -1 if k == "div" else 1)
    if k == "pow":
        fx, e = factored(n[1], b), _exact_integer(n[2], b)
        if fx is None or e is None:
            return None
        b.tick(1 + len(fx[1]))
        return (fx[0] and e % 2 == 1, {p: x * e for p, x in fx[1].items() if x * e != 0})
    if k == "fact":
        e = _exact_integer(n[1], b)
        if e is None or not 0 <= e <= MAX_FACTORED_FACTORIAL:
            return None
        return (False, _factor_factorial(e, b))
    return None


def _equal_products(gold_node: Node | None, answer: Node, b: Budget) -> bool | None:
    """``equal`` when both answers are such products, which decides them; else None."""
    if gold_node is None:
        return None
    fx, fy = factored(gold_node, b), factored(answer, b)
    return None if fx is None or fy is None else fx == fy


def _provably_different(gold_node: Node | None, answer: Node, b: Budget) -> bool:
    """Exact evaluation could not afford it: residues mod large primes, or sizes, differ."""
    if gold_node is None:
        return False
    if residues_differ(residues(gold_node, b), residues(answer, b)):
        return True
    return _magnitude_differs(gold_node, answer)


# ---------------------------------------------------------------------------------------------
# The judge
# ---------------------------------------------------------------------------------------------


@dataclass
class Gold:
    norm: str
    choice: str | None
    node: Union[Node, Fail]  # noqa: UP007
    value: Union[Val, Fail]  # noqa: UP007


def _choice_letter(norm: str) -> str | None:
    m = re.fullmatch(r"\(?([A-J])\s*\)?", norm.strip())
    return m.group(1) if m else None


def _answer_letter(norm: str) -> str | None:
    letter = _choice_letter(norm)
    if letter is not None:
        return letter
    t = norm.strip()
    m = re.match(r"\(([A-J])\)", t) or re.match(r"([A-J])[).:]", t)
    return m.group(1) if m else None


def _text_key(s: str) -> str:
    t = "".join(c for c in s if not c.isspace() and c not in "{}\\").lower()
    return t.strip(".,;:!")


def prepare_gold(answer: str, timeout_ms: float, max_steps: int) -> Gold:
    b = Budget(timeout_ms, max_steps)
    # A worked solution is reduced to its own final answer (boxes, "The final answer is"...).
    extracted = extract(answer, EXTRACTION_STRATEGIES)
    raw = extracted if extracted is not None else answer
    try:
        norm = normalize(raw, b)
    except Fail as e:
        return Gold("", None, e, e)
    node: Node | Fail
    value: Val | Fail
    try:
        node = parse(norm, b)
    except Fail as e:
        node = e
    if isinstance(node, Fail):
        value = node
    else:
        try:
            value = evaluate(node, b)
        except Fail as e:
            value = e
    return Gold(norm, _choice_letter(norm), node, value)


def _decide(norm: str, gold: Gold, b: Budget) -> bool:
    try:
        node: Node | Fail = parse(norm, b)
    except Fail as e:
        node = e
    gv = gold.value
    gold_node = gold.node if not isinstance(gold.node, Fail) else None
    # A costly answer (factorials, binomials, big powers) is first checked mod p.
    if (
        gold_node is not None
        and not isinstance(node, Fail)
        and (costly(gold_node) or costly(node))
        and residues_differ(residues(gold_node, b), residues(node, b))
    ):
        return False
    if not isinstance(gv, Fail) and not isinstance(node, Fail):
        try:
            av = evaluate(node, b)
        except Fail as e:
            if e.kind == "invalid":
                return False
            equal = _equal_products(gold_node, node, b)
            if equal is not None:
                return equal
            if _provably_different(gold_node, node, b):
                return False
            raise
        return equivalent(gv, av, b)
    if (isinstance(gv, Fail) and gv.kind == "invalid") or (
        isinstance(node, Fail) and node.kind == "invalid"
    ):
        return _text_key(norm) == _text_key(gold.norm)
    if isinstance(gv, Fail) and not isinstance(node, Fail):
        equal = _equal_products(gold_node, node, b)
        if equal is not None:
            return equal
        if _provably_different(gold_node, node, b):
            return False
        raise Fail("budget")
    assert isinstance(node, Fail)
    raise node


def judge_one(
    completion: str, gold: Gold, order: Sequence[str], timeout_ms: float, max_steps: int
) -> JudgeResult:
    extracted = extract(completion, order)
    if extracted is None:
        return JudgeResult(Verdict.VIOLATED, "no_answer", {"extracted": ""})
    detail = (
        extracted
        if len(extracted.encode()) <= 200
        else extracted.encode()[:200].decode("utf-8", "ignore") + "..."
    )
    details = {"extracted": detail}

    def verdict(ok: bool) -> JudgeResult:
        if ok:
            return JudgeResult(Verdict.SATISFIED, "equivalent", details)
        return JudgeResult(Verdict.VIOLATED, "not_equivalent", details)

    b = Budget(timeout_ms, max_steps)
    try:
        norm = normalize(extracted, b)
    except Fail:
        return JudgeResult(Verdict.ERROR, "budget_exceeded", details)
    if not norm:
        return JudgeResult(Verdict.VIOLATED, "no_answer", details)
    if norm == gold.norm:
        return verdict(True)
    if gold.choice is not None:
        return verdict(_answer_letter(norm) == gold.choice)
    try:
        return verdict(_decide(norm, gold, b))
    except Fail as e:
        if e.kind == "invalid":
            return verdict(False)
        return JudgeResult(Verdict.ERROR, "budget_exceeded", details)
    except RecursionError:
        return JudgeResult(Verdict.ERROR, "budget_exceeded", details)


class MathJudge(BaseJudge):
    """Pure-Python twin of :class:`cgpo.judges.MathJudge` (same parameters, reasons, verdicts)."""

    name = "math"

    def __init__(
        self,
        extraction: Sequence[str] = EXTRACTION_STRATEGIES,
        timeout_ms: float = 100.0,
        max_steps: int = 2_000_000,
        answer_key: str = "answer",
    ) -> None:
        super().__init__()
        self.extraction = check_extraction(extraction)
        self.timeout_ms, self.max_steps = check_budget(timeout_ms, max_steps)
        self.answer_key = answer_key

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        answers = gold_answers(samples, self.answer_key)
        check_gold_unicode(answers, self.answer_key)
        golds: dict[str, Gold] = {}
        out = []
        for s, a in zip(samples, answers, strict=True):
            bad = lone_surrogate(s.completion)
            if bad is not None:
                out.append(invalid_text(bad))
                continue
            if a not in golds:
                golds[a] = prepare_gold(a, self.timeout_ms, self.max_steps)
            out.append(
                judge_one(s.completion, golds[a], self.extraction, self.timeout_ms, self.max_steps)
            )
        return out
