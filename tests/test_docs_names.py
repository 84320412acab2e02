"""The README, the docs and the code's own docstrings and ``--help`` texts name modules, functions and
files that exist: every ``sectionist.a.b[.name]`` and every ``sectionist/…`` path in them resolves in
the source tree (read with ``ast``, nothing is imported)."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", ROOT / "deploy" / "README.md", *(ROOT / "docs").glob("*.md")])
DOTTED = re.compile(r"(?<![\w./-])sectionist(?:\.\w+)+")
PATH = re.compile(r"(?<![\w./#-])sectionist/(?:store|analysis|dashboard|cli|settings)[\w./*<>-]*[\w/]")
#: The package's own top-level names (``sectionist.service`` is a systemd unit, not a module).
LAYERS = ("store", "analysis", "dashboard", "cli", "settings")


@cache
def top_level_names(path: Path) -> set[str]:
    """Names a module defines or imports at its top level (classes, functions, constants)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:i])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if module.is_file():
            rest = parts[i:]
            if not rest:
                return True
            # a name in the module, then perhaps an attribute of it (a class's method): check the first
            return rest[0] in top_level_names(module) or (base.is_dir() and (base / rest[0]).exists())
    return False


def names_in_docs() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        text = doc.read_text()
        out += [(doc.relative_to(ROOT).as_posix(), m.group(0).rstrip(".")) for m in DOTTED.finditer(text)
                if m.group(0).split(".")[1] in LAYERS]
    return sorted(set(out))


def paths_in_docs() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for m in PATH.finditer(doc.read_text()):
            path = m.group(0).rstrip("./")
            # a pattern or a placeholder (``pages/NAME.py``) names its folder
            path = re.split(r"[*<]|/[A-Z]+\.py$", path)[0].rstrip("/")
            out.append((doc.relative_to(ROOT).as_posix(), path))
    return sorted(set(out))


#: The one module that names old module paths on purpose (it maps pickled class names to new ones).
RENAMES = ROOT / "sectionist" / "analysis" / "modeling" / "persistence.py"


def names_in_source() -> list[tuple[str, str, str]]:
    """``(file, kind, name)`` of every dotted name or path in the package's string constants."""
    out = []
    for path in sorted((ROOT / "sectionist").rglob("*.py")):
        if path == RENAMES:
            continue
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out += [(rel, "name", m.group(0).rstrip(".")) for m in DOTTED.finditer(node.value)
                        if m.group(0).split(".")[1] in LAYERS]
                out += [(rel, "path", re.split(r"[*<]|/[A-Z]+\.py$", m.group(0).rstrip("./"))[0].rstrip("/"))
                        for m in PATH.finditer(node.value)]
    return sorted(set(out))


def test_docstrings_and_help_name_what_exists():
    found = names_in_source()
    assert len(found) > 50
    bad = [f"{f}: {name}" for f, kind, name in found
           if not (resolves(name) if kind == "name" else (ROOT / name).exists())]
    assert not bad, "docstrings or help name what is not there: " + "; ".join(bad)


def test_the_docs_name_something():
    assert len(names_in_docs()) > 20 and len(paths_in_docs()) > 20


def test_dotted_names_in_the_docs_exist():
    bad = [f"{doc}: {name}" for doc, name in names_in_docs() if not resolves(name)]
    assert not bad, "the docs name what is not there: " + "; ".join(bad)


def test_paths_in_the_docs_exist():
    bad = [f"{doc}: {path}" for doc, path in paths_in_docs() if not (ROOT / path).exists()]
    assert not bad, "the docs name files that are not there: " + "; ".join(bad)


@pytest.mark.parametrize("name, ok", [
    ("sectionist.store.schema", True), ("sectionist.store.schema.SONGS", True),
    ("sectionist.analysis.run.pipeline.analyze", True), ("sectionist.analysis.pipeline", False),
    ("sectionist.store.schema.NO_SUCH_TABLE", False)])
def test_the_resolver(name, ok):
    assert resolves(name) is ok
