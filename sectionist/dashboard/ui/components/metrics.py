"""What the Overview's numbers mean, on the page (words: :mod:`sectionist.dashboard.ui.metrics`).

Each measure is explained twice: a table header's tooltip on hover (:func:`header_tooltips`) and
a folded list, "What these numbers mean" (:func:`metrics_legend`), that a tap or a click opens —
so a phone, which has no hover, reaches every line too.
"""

from __future__ import annotations

from dash import html

from sectionist.dashboard.ui import metrics
from sectionist.dashboard.ui.i18n import _


def header_tooltips(columns) -> dict:
    """``tooltip_header`` of a DataTable: column id → its plain line, for the columns of
    ``columns`` (DataTable column specs, ``{"id", "name"}``) that are measures."""
    out = {}
    for c in columns:
        line = metrics.explain(c["id"])
        if line:
            out[c["id"]] = {"value": line, "type": "text"}
    return out


def metrics_legend(items, element_id=None) -> html.Details | None:
    """A folded list "What these numbers mean": one line per measure of ``items`` (``(metric,
    shown name)`` pairs, or DataTable column specs), the shown name in bold first so the reader
    finds the column; None when none of them is a measure."""
    rows = []
    for item in items:
        metric, shown = (item["id"], item["name"]) if isinstance(item, dict) else item
        line = metrics.explain(metric)
        if line:
            rows.append(html.Li([html.B(shown), " — ", line], **{"data-metric": metric}))
    if not rows:
        return None
    kw = {"id": element_id} if element_id else {}
    return html.Details(className="metrics-legend small", children=[
        html.Summary(_("What these numbers mean")), html.Ul(rows)], **kw)
