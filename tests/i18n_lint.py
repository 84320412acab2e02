"""Find display strings in the dashboard's code that do not go through gettext.

A static check (``tests/test_i18n.py``): in every module of the web app, a string literal (or an
f-string with words in it) is reported where it would be shown to a user without translation:

- a positional argument or the ``children``/``label``/``placeholder``/``title``/``alt``/``value``
  of a Dash component (``html.*``, ``dcc.*``);
- ``aria-label``/``title`` in a ``**{…}`` attribute dict, the ``"label"`` of an option dict;
- in :mod:`sectionist.dashboard.ui.figures`, the ``title``/``text``/``name``/``hovertemplate`` keywords and
  dict entries of figure builders.

Words every language writes the same way (units, method and format names) and text without
letters are allowed (:data:`UNIVERSAL`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Modules of the web app whose strings are shown (the CLIs print English on purpose).
SKIP = {"i18n_tools.py", "cli.py", "users_cli.py", "runs_cli.py", "judgements_cli.py", "ids.py", "csvsafe.py"}
COMPONENT_MODULES = {"html", "dcc"}
COMPONENT_KEYWORDS = {"children", "label", "placeholder", "title", "alt"}
ATTRIBUTE_KEYS = {"aria-label", "title", "label", "placeholder"}
FIGURE_KEYWORDS = {"title", "text", "name", "hovertemplate", "title_text", "message", "note", "legend_title"}
FIGURE_KEYS = {"title", "text", "name", "hovertemplate"}
GETTEXT = {"_", "N_", "ngettext", "pgettext", "gettext", "word"}
#: Tokens that read the same in English and Spanish (units, names of methods and formats).
UNIVERSAL = {
    "s", "ms", "min", "hz", "khz", "db", "bpm", "k", "x", "y", "z", "pca", "t-sne", "tsne", "umap", "shap", "ari",
    "mfcc", "gmm", "hdbscan", "csv", "jams", "reaper", "xspf", "audacity", "projector", "id", "musicnn", "vggish",
    "sectionist", "parquet", "json", "lab", "k-means", "kmeans", "nmi", "sd", "en", "es", "english", "español",
    "extra", "br", "b", "i", "span", "sub", "sup", "pc", "ok", "n", "mel", "dj", "lasso", "ami", "f", "k=",
    "d", "v",  # a key (d: different / disagree) and a version's prefix (v2)
}
_MARKUP = re.compile(r"%\{[^}]*\}|<[^>]*>|&[a-z]+;|%\([a-z_]+\)[sdf]|\{[^}]*\}|%[sdf]")
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)


def needs_translation(text: str) -> bool:
    """Whether ``text`` has a word a Spanish reader would need translated."""
    stripped = _MARKUP.sub(" ", text)
    words = [w.lower() for w in _WORD.findall(stripped)]
    return any(w not in UNIVERSAL for w in words)


def _literal_text(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _is_component(call: ast.Call) -> bool:
    f = call.func
    return isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in COMPONENT_MODULES


def _is_gettext(call) -> bool:
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in GETTEXT


class _Finder(ast.NodeVisitor):
    def __init__(self, path: Path, figures: bool, root: Path = ROOT):
        self.path, self.figures, self.found, self.root = path, figures, [], root

    def _flag(self, node, why):
        text = _literal_text(node)
        if text is not None and needs_translation(text):
            self.found.append((self.path.relative_to(self.root).as_posix(), node.lineno, why, text))

    def _flag_children(self, node, why):
        if isinstance(node, (ast.List, ast.Tuple)):
            for item in node.elts:
                self._flag_children(item, why)
        elif isinstance(node, ast.IfExp):
            self._flag_children(node.body, why)
            self._flag_children(node.orelse, why)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                self._flag_children(v, why)
        else:
            self._flag(node, why)

    def visit_Call(self, node: ast.Call):
        if _is_gettext(node):
            return  # the message id itself
        if _is_component(node):
            name = node.func.attr
            for arg in node.args:
                self._flag_children(arg, f"{name} child")
            for kw in node.keywords:
                if kw.arg in COMPONENT_KEYWORDS:
                    self._flag_children(kw.value, f"{name}({kw.arg}=)")
                elif kw.arg is None and isinstance(kw.value, ast.Dict):
                    for k, v in zip(kw.value.keys, kw.value.values, strict=False):
                        if isinstance(k, ast.Constant) and k.value in ATTRIBUTE_KEYS:
                            self._flag(v, f"{name}({k.value})")
        elif self.figures:
            for kw in node.keywords:
                if kw.arg in FIGURE_KEYWORDS:
                    self._flag_children(kw.value, f"{kw.arg}=")
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict):
        keys = {"label"} | (FIGURE_KEYS if self.figures else set())
        for k, v in zip(node.keys, node.values, strict=False):
            if isinstance(k, ast.Constant) and k.value in keys:
                self._flag_children(v, f'"{k.value}":')
        self.generic_visit(node)


def untranslated_literals(root: Path = ROOT / "sectionist" / "dashboard") -> list[tuple[str, int, str, str]]:
    """``(path, line, where, text)`` of every display string not passed through gettext."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name in SKIP:
            continue
        finder = _Finder(path, figures=path.parent.name == "figures",
                         root=ROOT if path.is_relative_to(ROOT) else root)
        finder.visit(ast.parse(path.read_text(), str(path)))
        found.extend(finder.found)
    return found


if __name__ == "__main__":
    import collections

    hits = untranslated_literals()
    for hit in hits:
        print("%s:%d: %s %r" % hit)
    print(collections.Counter(h[0] for h in hits))
