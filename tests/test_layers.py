"""The package's import structure: module-level imports point down the levels (never up), form no
cycle, and no ``_private`` name crosses a module boundary (docs/trainer.md, "Layout").

Function-local imports are left out on purpose: they defer torch (an algorithm's settings are
plain Python that ``Task`` composes; its loss step imports the torch levels when it runs) or
serve a lazy registry.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "cgpo"

# Bottom up. A module may import its own level or a lower one, at module level.
LEVELS = {
    "cgpo._core": 0,
    "cgpo.errors": 0,
    "cgpo.config.validate": 1,
    "cgpo.config.generation": 1,
    "cgpo.judges": 1,
    "cgpo.selection": 1,
    "cgpo.losses": 1,
    "cgpo.distributed": 1,
    "cgpo.models": 1,
    "cgpo.precision": 1,
    "cgpo.reference": 1,
    "cgpo.stats": 1,
    "cgpo.algorithms": 2,
    "cgpo.config": 3,
    "cgpo.tasks": 4,
    "cgpo.data": 4,
    "cgpo.rewards": 4,
    "cgpo.rollout": 4,
    "cgpo.evaluation": 4,
    "cgpo.trainer": 5,
    "cgpo.benchmarks": 5,
    "cgpo.integrations": 5,
    "cgpo.commands": 6,
    "cgpo.cli": 6,
    "cgpo": 7,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _level(module: str) -> int:
    best = max((p for p in LEVELS if module == p or module.startswith(p + ".")), key=len)
    return LEVELS[best]


def _top_level_imports(tree: ast.Module) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import not inside a function or ``if TYPE_CHECKING``."""
    out: list[tuple[str, list[str]]] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                out.extend((a.name, []) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.append((node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)

    visit(tree.body)
    return out


def _graph() -> dict[str, list[tuple[str, list[str]]]]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules[_module_name(path)] = [
            (m, names) for m, names in _top_level_imports(tree) if m.split(".")[0] == "cgpo"
        ]
    return modules


def _target(module: str, names: list[str], known: set[str]) -> list[str]:
    # `from cgpo import tasks` imports the submodule cgpo.tasks
    subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in known]
    return subs or [module]


def test_imports_point_down_the_levels() -> None:
    graph = _graph()
    known = set(graph)
    upward = [
        f"{mod} (level {_level(mod)}) imports {dep} (level {_level(dep)})"
        for mod, imports in graph.items()
        for m, names in imports
        for dep in _target(m, names, known)
        if dep != mod and not mod.startswith(dep + ".") and _level(dep) > _level(mod)
    ]
    assert upward == []


def test_no_import_cycle() -> None:
    graph = _graph()
    known = set(graph)
    edges = {
        mod: {
            d
            for m, names in imports
            for d in _target(m, names, known)
            if d in known and d != mod and not mod.startswith(d + ".")
        }
        for mod, imports in graph.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def dfs(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                dfs(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            dfs(node, [node])
    assert cycles == []


def test_no_private_name_crosses_a_module_boundary() -> None:
    crossing = [
        f"{mod} imports {name} from {m}"
        for mod, imports in _graph().items()
        for m, names in imports
        for name in names
        if name.startswith("_") and not name.startswith("__") and name != "_core" and m != mod
    ]
    assert crossing == []
