"""The package's import graph, read from the source (not by importing it): no cycles, every arrow
points down the layers docs/architecture.md names, and no method imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import neurips23
from neurips23.registry import METHODS

ROOT = Path(neurips23.__file__).parent
METHOD_PACKAGES = {m.name for m in METHODS}
# What each top-level part may import (besides itself). Methods stand on the shared layers only;
# the probe and the CLI sit above the methods.
SHARED = {"errors", "utils", "config", "registry"}
ALLOWED = {
    "errors": set(),
    "utils": {"errors"},
    "config": {"errors", "utils"},
    "registry": {"errors"},
    "lm": {"errors", "utils", "config"},
    "pddl": {"errors", "utils"},
    "core": SHARED,
    "report": SHARED | {"core"},
    "serve": SHARED | {"lm"},
    **{m: {"errors", "utils", "config", "core", "lm", "pddl"} for m in METHOD_PACKAGES},
    "probe": SHARED | {"core", "lm", "pddl", "report", "", *METHOD_PACKAGES},
    "cli": SHARED | {"core", "lm", "pddl", "report", "serve", "probe", *METHOD_PACKAGES},
}


def module_name(path: Path) -> str:
    parts = ("neurips23", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the neurips23 modules it imports (function-level imports included)."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                deps |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def top(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while comp[-1:] != [v]:
                comp.append(stack.pop())
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_arrow_points_down_the_layers_and_no_method_imports_another():
    graph = import_graph()
    bad = sorted(f"{a} -> {d}" for a, deps in graph.items() for d in deps
                 if top(a) != top(d) and top(d) not in ALLOWED.get(top(a), set()))
    assert bad == []
    assert set(ALLOWED) >= {top(m) for m in graph} - {""}, "a new top-level part needs a layer"


def test_a_methods_config_sits_below_the_rest_of_its_package():
    graph = import_graph()
    for m in METHOD_PACKAGES:
        config = f"neurips23.{m}.config"
        assert config in graph, f"{m} has no config.py"
        assert not any(d.startswith(f"neurips23.{m}.reproduce") for d in graph[config])

