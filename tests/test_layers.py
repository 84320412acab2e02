"""The tree's one-way flow inside the one ``sectionist`` package: store → analysis → dashboard → cli.

Every import statement of the project's modules is read with ``ast`` (including imports inside
functions, where a cycle likes to hide), resolved to a project module, and the graph is checked:
no cycle, no upward import between layers, ``sectionist.settings`` a leaf, no module over
``MAX_LINES`` lines, and no private name (``_x``) imported from another module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "sectionist"
#: The layers, lowest first; a module may import its own layer and those below it.
LAYERS = ("store", "analysis", "dashboard", "cli")
#: Modules every layer may import: leaves that import nothing of the project.
LEAVES = ("sectionist.settings",)
#: No source module is longer than this (a longer one holds several jobs: split it by job).
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    out = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def layer(module: str) -> str | None:
    """The layer a module belongs to: ``sectionist.store.local`` → ``store``; the top package and
    the leaves belong to none."""
    parts = module.split(".")
    if module in LEAVES or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


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


def test_one_top_level_package():
    tops = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())
    assert tops == [PACKAGE]


def test_the_graph_sees_the_imports_it_should():
    graph = import_graph()
    assert "sectionist.store.base" in graph["sectionist.store.local"]
    assert "sectionist.store" in graph["sectionist.analysis.run.pipeline"]
    assert "sectionist.store.schema" in graph["sectionist.analysis.run.pipeline"]


def test_every_module_is_in_a_layer():
    odd = [m for m in MODULES if layer(m) is None and m not in LEAVES and m != PACKAGE]
    assert not odd, f"modules outside the layers {LAYERS}: {odd}"


def test_no_import_cycle():
    cycles = _cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


@pytest.mark.parametrize("lower, upper", [
    (lo, up) for i, lo in enumerate(LAYERS) for up in LAYERS[i + 1:]])
def test_a_lower_layer_never_imports_an_upper_one(lower, upper):
    graph = import_graph()
    bad = sorted(f"{m} → {d}" for m, deps in graph.items() if layer(m) == lower
                 for d in deps if layer(d) == upper)
    assert not bad, f"{lower} must not import {upper}: " + ", ".join(bad)


def test_leaves_and_the_top_package_import_no_layer():
    graph = import_graph()
    for mod in (*LEAVES, PACKAGE):
        assert not graph[mod], f"{mod} must import nothing of the project: {sorted(graph[mod])}"


def test_only_the_entry_point_imports_the_cli():
    graph = import_graph()
    bad = sorted(m for m, deps in graph.items() if layer(m) != "cli" for d in deps if layer(d) == "cli")
    assert not bad


def test_no_module_over_the_line_limit():
    long = sorted((len(p.read_text().splitlines()), m) for m, p in MODULES.items()
                  if len(p.read_text().splitlines()) > MAX_LINES)
    assert not long, "split these by job: " + ", ".join(f"{m} ({n} lines)" for n, m in long)


def private_imports() -> list[str]:
    """``from other import _name`` across modules: a private name belongs to its module."""
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            targets = _resolve(module, node)
            for alias in node.names:
                name = alias.name
                if not name.startswith("_") or name.startswith("__") or name == "_":
                    continue  # ``_`` is gettext's conventional name, not a private one
                full = [t for t in targets if t.endswith("." + name)]
                if full:  # a private module inside its own package is fine
                    continue
                bad.append(f"{module}: from {'.' * node.level}{node.module or ''} import {name}")
    return bad


def test_no_private_name_imported_across_modules():
    bad = private_imports()
    assert not bad, "move shared kernels to a module of their own: " + "; ".join(sorted(bad))


def test_the_detector_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
