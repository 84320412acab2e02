"""What every figure builder shares: text escaping, number formatting, the base layout, the
empty figure and the unvalidated fast figure.

Plotly renders a subset of HTML in every text it draws (titles, tick labels, legend names, hover
labels, annotations, Sankey nodes): ``<a href>`` becomes a clickable link, ``<b>`` bold. And it
reads ``%{…}`` in a ``hovertemplate`` or ``texttemplate`` as a variable: a cluster name
``%{customdata}`` placed in a template showed the section's number. Every string that comes from
data or people (song titles, file names, cluster names, run labels, feature names, lane names…)
therefore goes through :func:`escape_text` in the builder that places it, whichever field it goes
into; our own markup (``<br>``, ``<extra>``) and variables (``%{meta[0]}``) are added after
escaping and keep working. The one parameter that takes markup, ``hover_text`` of
:func:`sectionist.dashboard.ui.figures.map.section_map`, is built by its caller with
:func:`escape_text`.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.palette import CLUSTER_PALETTE, FONT
from sectionist.dashboard.ui.i18n import _, plotly_separators


#: ``%{`` as Plotly shows it but never reads as a template variable: its templates match
#: ``%{key}`` before the text is drawn, and the drawing decodes numeric entities afterwards.
#: (``%%{`` is no escape: plotly.js 4 still substitutes the ``%{…}`` after the first ``%``.)
TEMPLATE_OPEN = "&#37;{"


def escape_text(value) -> str:
    """``value`` as text that Plotly shows literally, in any field: ``&``, ``<`` and ``>`` escaped,
    and ``%{`` written as ``&#37;{`` (:data:`TEMPLATE_OPEN`).

    Plotly's text rendering decodes these entities back, so ``<b>bold</b>`` in a song title is
    shown as typed instead of bold, ``<a href=…>`` is shown instead of becoming a link, and a
    name ``%{customdata}`` inside a ``hovertemplate`` is shown as typed instead of being replaced
    by the point's data (checked in Chromium: ``tests/test_security_escaping.py``).
    Quotes are left alone (outside a tag they are plain text to Plotly).

    Parameters
    ----------
    value : object
        Anything; ``None`` gives ``""``, other values their ``str``.

    Returns
    -------
    str
    """
    if value is None:
        return ""
    return html.escape(str(value), quote=False).replace("%{", TEMPLATE_OPEN)


def fmt(value, spec: str) -> str:
    """``format(value, spec)`` with the locale's decimal mark and thousands separator (hover and
    bar texts that Plotly shows as given; Plotly's own numbers follow ``layout.separators``)."""
    text = format(value, spec)
    decimal, group = plotly_separators()[:2]
    if (decimal, group) == (".", ","):
        return text
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


#: Axis style of every figure (what the "plotly_white" template gives, set directly: assigning a
#: named template costs ~30 ms per figure, most of a 100 000-point map redraw's budget).
AXIS = dict(gridcolor="#eef1f5", zerolinecolor="#d1d5db", linecolor="#d1d5db", automargin=True)


def base_layout(**overrides) -> dict:
    """The common layout: white paper, light grid, compact margins, the app's font.

    Figures assign it whole (``fig.layout = base_layout(...)``): ~10x faster than
    ``update_layout``, which goes through plotly's relayout machinery key by key.

    ``xaxis`` / ``yaxis`` overrides are merged into :data:`AXIS`.
    """
    for axis in ("xaxis", "yaxis"):
        overrides[axis] = {**AXIS, **(overrides.get(axis) or {})}
    layout = dict(
        template="none",
        colorway=CLUSTER_PALETTE,
        font=dict(family=FONT, size=12, color="#1f2937"),
        margin=dict(l=48, r=16, t=36, b=40),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#ffffff",
        hoverlabel=dict(font=dict(family=FONT, size=12)),
        legend=dict(bgcolor="rgba(255,255,255,0.85)", bordercolor="#e5e7eb", borderwidth=1),
        # the request's decimal mark and thousands separator in ticks and hover numbers
        separators=plotly_separators(),
    )
    layout.update(overrides)
    return layout


def empty_figure(message: str | None = None, height: int | None = None) -> go.Figure:
    """A blank figure carrying a centred message (already translated; default "Nothing to show")."""
    if message is None:
        message = _("Nothing to show")
    fig = go.Figure()
    fig.layout = (base_layout(height=height, xaxis=dict(visible=False), yaxis=dict(visible=False),
                                    annotations=[dict(text=escape_text(message), showarrow=False, x=0.5, y=0.5,
                                                      xref="paper", yref="paper",
                                                      font=dict(size=14, color="#6b7280"))]))
    return fig


def fast_figure(traces: list[dict], layout: dict) -> go.Figure:
    """A figure from trace and layout dicts without plotly's per-property validation.

    Validation copies and checks every array (tens of ms for a 100 000-point map, most of the
    redraw budget); the builders that use this are covered by tests of their output instead.
    """
    return go.Figure(data=traces, layout=layout, _validate=False)


def wrap_lane(name: str, width: int = 26) -> str:
    """An (already escaped) lane name broken at " · " into lines of about ``width`` characters, so that
    long run names do not squeeze the plot on a phone."""
    lines, line = [], ""
    for part in name.split(" · "):
        if line and len(line) + 3 + len(part) > width:
            lines.append(line)
            line = part
        else:
            line = f"{line} · {part}" if line else part
    return "<br>".join(lines + [line])


def build_each_trace_type() -> None:
    """Build one small figure of each trace type the pages draw, and drop them: plotly makes a trace
    type's validators on its first figure (~0.1 s for a heatmap and a Sankey at load average 4), which
    a web worker does once as it starts (:func:`sectionist.dashboard.data.prime.prime`) rather than in
    its first visitor's callback."""
    go.Figure([go.Bar(x=[0], y=[0]), go.Heatmap(z=[[0]]), go.Scatter(x=[0], y=[0]), go.Scattergl(x=[0], y=[0])],
              layout=dict(title="-"))
    go.Figure([go.Sankey(node=dict(label=["a", "b"]), link=dict(source=[0], target=[1], value=[1]))])
