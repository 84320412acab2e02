"""The Compare page's figures: two runs' contingency heatmap and the Sankey between them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.common import base_layout, empty_figure, escape_text
from sectionist.dashboard.ui.figures.palette import cluster_color, cluster_name
from sectionist.dashboard.ui.i18n import _


def contingency_heatmap(counts: np.ndarray, rows, cols, *, name_a: str = "A", name_b: str = "B",
                        mapping: dict | None = None, names_a: dict | None = None,
                        names_b: dict | None = None) -> go.Figure:
    """Contingency table of two runs as a heatmap; B's columns ordered by their aligned A label.

    ``mapping``: B label → aligned label (:func:`sectionist.analysis.modeling.compare.compare_labelings`); a B cluster
    aligned to no A cluster (its new label is not among ``rows``) is marked "unmatched", last.
    ``names_a`` / ``names_b`` (cluster → name of each run, :func:`cluster_name`) name the ticks
    after their number: ``"A3: loud · bright"``, ``"B1: fast · dark ↔ A3"``.
    """
    counts = np.asarray(counts)
    if counts.size == 0:
        return empty_figure(_("No section is clustered by both runs"))
    cols = list(cols)
    order = list(range(len(cols)))
    if mapping:
        order.sort(key=lambda j: (mapping.get(int(cols[j]), 10**9), cols[j]))
    counts = counts[:, order]
    cols = [cols[j] for j in order]
    xlab = [_aligned_text(c, mapping, rows, names_b) for c in cols]
    name_a, name_b = escape_text(name_a), escape_text(name_b)
    # the run names travel in ``meta``, not inside the template: a name is never read as %{…}
    fig = go.Figure(go.Heatmap(z=counts, x=xlab, y=[_run_cluster("A", r, names_a) for r in rows], colorscale="Blues",
                               text=counts, texttemplate="%{text}", meta=[name_a, name_b],
                               hovertemplate=_("%{y} · %{x}: %{z} sections") + "<extra></extra>",
                               colorbar=dict(thickness=10)))
    fig.layout = (base_layout(height=max(300, 34 * len(rows) + 100), margin=dict(l=60, r=16, t=8, b=60),
                              xaxis=dict(title=_("clusters of %(b)s (↔ matched in %(a)s)", a=name_a, b=name_b),
                                         type="category", side="bottom", tickangle=0,
                                         # short ticks on two lines ("B1", "↔ A3"): the names are in the hover
                                         # text (long names turned the ticks on end, over the axis title)
                                         tickvals=xlab, ticktext=[_aligned_text(c, mapping, rows).replace(" ", "<br>", 1)
                                                                  for c in cols]),
                              # the margin grows with the named ticks, so the axis title stays clear of them
                              yaxis=dict(title=dict(text=name_a, standoff=6), type="category", autorange="reversed",
                                         automargin=True)))
    ylab = [_run_cluster("A", r, names_a) for r in rows]
    # named rows on two lines: a whole name on one line took half the figure's width
    fig.layout.yaxis.update(tickvals=ylab, ticktext=[_two_lines(y) for y in ylab])
    # narrower than its named columns need (assets/narrow.js): the columns by bare number, on end;
    # on a phone also the rows by run and number, and no numbers in the cells when there are many
    # (the names and counts stay in the hover)
    fig.layout.meta = {"narrow": [
        {"below": COLUMN_PX * len(cols) + 160,
         "layout": {"xaxis.ticktext": [str(int(c)) for c in cols], "xaxis.tickangle": -90,
                    "xaxis.tickfont.size": 9}},
        {"below": PHONE_PX,
         "data": {"texttemplate": ["" if len(cols) > NARROW_COLUMNS else "%{text}"]},
         "layout": {"yaxis.tickvals": ylab, "yaxis.ticktext": [_run_cluster("A", r) for r in rows],
                    "margin.l": 40, "margin.b": 48}}]}
    return fig


#: Width a named column's two-line tick needs ("B13" over "↔ A2"), in px.
COLUMN_PX = 46
#: Below this figure width (px) the heatmap is drawn for a phone.
PHONE_PX = 600
#: Past this many columns a phone's heatmap has no numbers in its cells.
NARROW_COLUMNS = 8


def _two_lines(text: str, sep: str = " · ", shortest: int = 18) -> str:
    """``text`` broken after the ``sep`` nearest its middle (``"A1: loud · noisy ·<br>mid-heavy"``)
    when longer than ``shortest`` characters and it has one."""
    if len(text) <= shortest or sep not in text:
        return text
    cuts = [i for i in range(len(text)) if text.startswith(sep, i)]
    i = min(cuts, key=lambda k: abs(k + len(sep) / 2 - len(text) / 2))
    return text[:i] + sep.rstrip() + "<br>" + text[i + len(sep):]


def _run_cluster(run: str, c, names: dict | None = None) -> str:
    """``"A3"``: cluster 3 of run A (``"A noise"`` for -1); ``"A3: loud · bright"`` when ``names``
    has its name (escaped: an axis tick)."""
    c = int(c)
    if c == -1:
        return _("%(run)s noise", run=run)
    name = (names or {}).get(c)
    return f"{run}{c}: {escape_text(name)}" if name else f"{run}{c}"


def _aligned_text(c, mapping: dict | None, rows, names: dict | None = None) -> str:
    """Axis text of B label ``c``: ``"B1 ↔ A3"`` for the A cluster it is matched to, ``"B5 (no
    match)"`` without one, ``"B1"`` without a mapping (with B's name after its number when
    ``names`` has it)."""
    b = _run_cluster("B", c, names)
    if not mapping or int(c) not in mapping:
        return b
    m = mapping[int(c)]
    return f"{b} ↔ {_run_cluster('A', m)}" if m in set(rows) else _("%(cluster)s (no match)", cluster=b)


def sankey(counts: np.ndarray, rows, cols, *, name_a: str = "A", name_b: str = "B",
           min_count: int = 1, mapping: dict | None = None, names_a: dict | None = None,
           names_b: dict | None = None) -> go.Figure:
    """Sankey of how sections move from run A's clusters (left) to run B's (right).

    With ``mapping`` (B label → aligned A label), B's nodes take the colour of the A cluster they
    align to, so a colour means the same group on both sides. ``names_a`` / ``names_b`` (cluster →
    name of each run) name the nodes.
    """
    counts = np.asarray(counts)
    if counts.size == 0:
        return empty_figure(_("No section is clustered by both runs"))
    rows, cols = list(rows), list(cols)
    mapping = mapping or {}
    matched = {c: mapping[int(c)] for c in cols if int(c) in mapping and mapping[int(c)] in set(rows)}
    name_a, name_b = escape_text(name_a), escape_text(name_b)
    labels = [f"{name_a}: {escape_text(cluster_name(r, names_a))}" for r in rows]
    for c in cols:
        node = f"{name_b}: {escape_text(cluster_name(c, names_b))}"
        if c in matched:
            node = _("%(node)s (≈ %(run)s %(number)s)", node=node, run=name_a, number=matched[c])
        elif int(c) in mapping:
            node = _("%(node)s (unmatched)", node=node)
        labels.append(node)
    colors = [cluster_color(r) for r in rows] + [cluster_color(mapping.get(int(c), c)) for c in cols]
    src, dst, val, lcol = [], [], [], []
    for i in range(len(rows)):
        for j in range(len(cols)):
            if counts[i, j] >= min_count:
                src.append(i)
                dst.append(len(rows) + j)
                val.append(int(counts[i, j]))
                lcol.append(_rgba(cluster_color(rows[i]), 0.35))
    fig = go.Figure(go.Sankey(arrangement="snap", node=dict(label=labels, color=colors, pad=12, thickness=14,
                                                             line=dict(width=0), customdata=labels,
                                                             hovertemplate=_("%{customdata}: %{value} sections")
                                                             + "<extra></extra>"),
                              link=dict(source=src, target=dst, value=val, color=lcol)))
    fig.layout = (base_layout(height=max(320, 26 * max(len(rows), len(cols)) + 80),
                                    margin=dict(l=8, r=8, t=8, b=8)))
    # on a narrow screen (assets/narrow.js) the nodes are named by run and number ("A1", "B3 ≈ A1"):
    # whole names on both sides overprint each other and the links; the names stay in the hover
    short = [_run_cluster("A", r) for r in rows] + [
        f"{_run_cluster('B', c)} ≈ {_run_cluster('A', matched[c])}" if c in matched else _run_cluster("B", c)
        for c in cols]
    fig.layout.meta = {"narrow": {"data": {"node.label": [short]}, "layout": {}}}
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
