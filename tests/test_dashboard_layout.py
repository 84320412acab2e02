"""The web app's structure, checked on its source (AST): ids only from ``sectionist/dashboard/ui/ids.py``, plotly
figures only in ``sectionist/dashboard/ui/figures/``, each page registering the shared behaviour it uses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sectionist.dashboard.ui import ids

REPO = Path(__file__).resolve().parent.parent
DASHBOARD = REPO / "sectionist" / "dashboard"
#: The one package that builds plotly figures (one module per page).
FIGURES = DASHBOARD / "ui" / "figures"
#: Where component ids are used: pages and components must take them from ids.py.
ID_USERS = sorted([*(DASHBOARD / "pages").glob("*.py"), *(DASHBOARD / "ui" / "components").glob("*.py")])
#: Keyword arguments that name a component id.
ID_KEYWORDS = {"id", "element_id", "table_id"}
#: Callback dependencies whose first argument is a component id.
DEPENDENCIES = {"Input", "Output", "State"}
PLOTLY_FIGURE_MODULES = ("plotly.graph_objects", "plotly.graph_objs", "plotly.express", "plotly.subplots")


def _literal_id(node) -> str | None:
    """The literal spelled by an id expression: a string (plain or f-string) or a dict whose
    ``"type"`` is one; None for anything computed (``ids.X``, ``ids.play(...)``, a variable)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return ast.unparse(node)
    if isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values):
            if isinstance(k, ast.Constant) and k.value == "type" and _literal_id(v) is not None:
                return f"{{type: {_literal_id(v)}}}"
    return None


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def literal_ids(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every id spelled out in ``source`` instead of taken from ids.py."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg in ID_KEYWORDS and (lit := _literal_id(kw.value)) is not None:
                out.append((node.lineno, lit))
        if _call_name(node) in DEPENDENCIES and node.args and (lit := _literal_id(node.args[0])) is not None:
            out.append((node.lineno, lit))
    return out


def test_the_literal_id_check_finds_literals():
    src = '''
html.Div(id="map-thing")
html.Button(id={"type": "play", "page": p, "section": s})
dcc.Store(id=f"{graph}-click")
section_player(sec, element_id="judge-audio")
Output("compare-table-note", "children")
Input({"type": "slot", "page": PAGE, "slot": ALL}, "n_clicks")
html.Div(id=ids.MAP_DETAIL), html.Div(id=ids.judge_container(PAGE)), Output(ids.MAP_GRAPH, "figure")
dropdown(id, options), dcc.Dropdown(id=id)
'''
    found = [lit for _, lit in literal_ids(src)]
    assert found == ["map-thing", "{type: play}", "f'{graph}-click'", "judge-audio", "compare-table-note",
                     "{type: slot}"]


@pytest.mark.parametrize("path", ID_USERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pages_and_components_take_every_id_from_ids_py(path):
    found = literal_ids(path.read_text())
    assert not found, f"{path.name}: ids spelled out instead of taken from sectionist/dashboard/ui/ids.py: {found}"


def _id_constants() -> dict[str, str]:
    return {k: v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str) and not k.endswith("_TYPE")}


def test_string_ids_are_unique():
    values = list(_id_constants().values())
    assert len(values) == len(set(values)), sorted(v for v in values if values.count(v) > 1)
    # ids built per page do not collide with the constants either
    pages = ("map", "clusters", "compare", "songs", "judge", "judgements", "overview")
    built = [f(p) for p in pages for f in (ids.selected, ids.judge_container, ids.audio)]
    assert len(built) == len(set(built)) and not set(built) & set(values)


def test_every_id_constant_is_used():
    sources = "\n".join(p.read_text() for p in DASHBOARD.rglob("*.py") if p.name != "ids.py")
    unused = [name for name in _id_constants() if f"ids.{name}" not in sources]
    assert not unused, f"ids.py names no component any more: {unused}"


def _plotly_imports(tree) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name == "plotly" or a.name.startswith(PLOTLY_FIGURE_MODULES)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(PLOTLY_FIGURE_MODULES):
                out.append(node.module)
            elif node.module == "plotly":
                out += [f"plotly.{a.name}" for a in node.names if f"plotly.{a.name}".startswith(PLOTLY_FIGURE_MODULES)]
    return out


def test_only_figures_py_builds_plotly_figures():
    assert _plotly_imports(ast.parse("import plotly.graph_objects as go\nfrom plotly import express as px\n"
                                     "from plotly.subplots import make_subplots\nimport plotly.io")) == [
        "plotly.graph_objects", "plotly.express", "plotly.subplots"]
    offenders = {}
    for path in sorted(DASHBOARD.rglob("*.py")):
        if path.is_relative_to(FIGURES):
            continue
        found = _plotly_imports(ast.parse(path.read_text()))
        if found:
            offenders[str(path.relative_to(DASHBOARD))] = found
    assert not offenders, f"plotly figures are built in sectionist/dashboard/ui/figures/ only: {offenders}"
    # the check sees imports
    assert _plotly_imports(ast.parse("\n".join(p.read_text() for p in FIGURES.glob("*.py"))))


def _module_level_calls(tree) -> list[str]:
    return [ast.unparse(node.value) for node in tree.body
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)]


@pytest.mark.parametrize("path", sorted((DASHBOARD / "pages").glob("*.py")), ids=lambda p: p.name)
def test_each_page_registers_the_shared_behaviour_it_uses(path):
    """A page with a judging container registers its panel itself, and one with a selection store
    its selection callbacks (the judge page drives its selection from its queue instead)."""
    source = path.read_text()
    calls = _module_level_calls(ast.parse(source))
    if "ids.judge_container(PAGE)" in source:
        assert "register_judging(PAGE)" in calls, path.name
    if "ids.selected(PAGE)" in source and path.name != "judge.py":
        assert any(c.startswith("register_selection(PAGE") for c in calls), path.name
    # nobody registers for other pages
    for c in calls:
        if c.startswith(("register_judging(", "register_selection(")):
            assert c.split("(", 1)[1].startswith("PAGE"), (path.name, c)


def test_no_central_list_of_pages_with_a_judging_panel():
    for path in DASHBOARD.rglob("*.py"):
        assert "PANEL_PAGES" not in path.read_text(), path


def test_ids_selected_by_browser_tests_and_assets_exist():
    """``#id`` selectors of the browser tests and ``getElementById`` in ``assets/*.js`` name ids
    that ids.py still defines (an id's value changes together with them)."""
    import re

    root = REPO
    pages = ("map", "clusters", "compare", "songs", "judge", "judgements", "overview")
    known = set(_id_constants().values())
    known |= {f(p) for p in pages for f in (ids.selected, ids.judge_container, ids.audio)}
    known |= {ids.click(g) for g in (ids.MAP_GRAPH, ids.SONGS_TIMELINE)}
    sources = [root / "tests" / "test_browser.py", root / "tests" / "test_judgements_browser.py",
               *(DASHBOARD / "assets").glob("*.js")]
    selected = set()
    for path in sources:
        text = path.read_text()
        selected |= set(re.findall(r"#([a-z][a-z0-9]*(?:-[a-z0-9]+)+)\b", text))
        # (hyphenated: "<page>-<what>"; a test's own scaffolding such as id='box' is not the app's)
        selected |= set(re.findall(r"getElementById\(['\"]([a-z0-9]+(?:-[a-z0-9]+)+)['\"]\)", text))
    assert selected, "the check found no selector"
    assert not selected - known, sorted(selected - known)
