"""The tree's one-way flow: store → analysis → dashboard, with the ``sectionist`` CLI on top.

Every import statement of the project's modules is read with ``ast`` (including imports inside
functions, where a cycle likes to hide), resolved to a project module, and the graph is checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("store", "analysis", "dashboard", "sectionist")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        base = ROOT / pkg
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """Project modules named by one import statement inside ``module``."""
    is_pkg = MODULES[module].name == "__init__.py"
    names = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".")
            base = base if is_pkg else base[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        for a in node.names:
            sub = f"{prefix}.{a.name}"
            names.append(sub if sub in MODULES else prefix)
    out = []
    for name in names:
        # 'import a.b.c' or a name inside a module: the longest project module that prefixes it
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            cand = ".".join(parts[:i])
            if cand in MODULES:
                out.append(cand)
                break
    return [m for m in out if m != module]


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps.update(_resolve(module, node))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                    "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
                # a module loaded by name is a dependency all the same
                deps.update(_resolve(module, ast.Import(names=[ast.alias(str(node.args[0].value))])))
            elif isinstance(node, (ast.List, ast.Tuple)):
                # a list of module names handed to import_module elsewhere (a plugin list)
                for elt in node.elts:
                    if isinstance(elt, ast.Constant) and elt.value in MODULES and "." in elt.value:
                        deps.add(elt.value)
        graph[module] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_the_imports_it_should():
    graph = import_graph()
    assert "store.base" in graph["store.local"]
    assert "store" in graph["analysis.pipeline"]
    assert "store.schema" in graph["analysis.pipeline"]


def test_no_import_cycle():
    cycles = _cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


@pytest.mark.parametrize("lower, upper", [
    ("store", "analysis"), ("store", "dashboard"), ("store", "sectionist"),
    ("analysis", "dashboard"), ("analysis", "sectionist"),
])
def test_a_lower_layer_never_imports_an_upper_one(lower, upper):
    graph = import_graph()
    bad = sorted(f"{m} → {d}" for m, deps in graph.items() if m.split(".")[0] == lower
                 for d in deps if d.split(".")[0] == upper)
    assert not bad, f"{lower} must not import {upper}: " + ", ".join(bad)


def test_only_the_entry_point_imports_the_cli():
    graph = import_graph()
    bad = sorted(m for m, deps in graph.items() if "sectionist.cli" in deps and m != "sectionist.cli")
    assert not bad


def test_the_detector_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
