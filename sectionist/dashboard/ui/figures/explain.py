"""Explanation figures: a section's signed SHAP bars, a cluster's SHAP beeswarm and ranking,
and its centroid profile, in plain feature names (:mod:`sectionist.analysis.glossary`)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.common import base_layout, empty_figure, escape_text, fast_figure, fmt
from sectionist.dashboard.ui.figures.palette import ACCENT, cluster_color
from sectionist.dashboard.ui.i18n import _


#: Bars and dots of explanations: towards the cluster (blue), away from it (orange).
TOWARDS_COLOR, AWAY_COLOR = "#2563eb", "#ea580c"
#: Beeswarm dots by the feature's value: low blue, average mid grey (visible on white), high red.
VALUE_SCALE = [[0.0, "#2563eb"], [0.5, "#9ca3af"], [1.0, "#dc2626"]]


def _note_annotation(note: str | None) -> list:
    """A grey line under a plot (the surrogate's note), wrapped for the narrow detail panel."""
    if not note:
        return []
    import textwrap

    text = "<br>".join(textwrap.wrap(escape_text(note), 70))
    # below the axis ticks and title (yshift in pixels, whatever the plot's height)
    return [dict(text=text, showarrow=False, x=0, y=0, yshift=-52, xref="paper", yref="paper", xanchor="left",
                 yanchor="top", align="left", font=dict(size=11, color="#6b7280"))]


def shap_bars(shap: dict | None, *, feature_values: dict | None = None, medians: dict | None = None,
              top: int = 10, title: str = "", note: str | None = None) -> go.Figure:
    """The features that place one section in its cluster, told in plain words and signed.

    A bar is the feature's SHAP value: it points right (blue) when the feature pushes the section
    towards its cluster, left (orange) when it pushes it away, and its length says how much. Each
    label is the plain name, then how it reads, made from the same sign and from
    whether the section's value is above the corpus median: "brighter than usual → towards this
    cluster" (in the trace's ``text`` on one line; in the label broken before the arrow). So two bars with the same words always point the
    same way (a feature whose higher value sounds darker, such as the spectral tilt, reads
    "brighter than usual" when it is below the median). Without ``medians`` the words name the
    feature instead of the direction.

    Parameters
    ----------
    shap : mapping feature column → SHAP value towards the section's cluster
    feature_values : mapping feature column → the section's value, optional (hover, with unit)
    medians : mapping feature column → the corpus median, optional (gives the direction)
    top : int
        How many features, by |SHAP|.
    title : str
    note : str, optional
        A line under the plot (e.g. :func:`sectionist.analysis.glossary.surrogate_note`).
    """
    from sectionist.analysis.glossary import contribution_text, describe

    if not shap:
        return empty_figure(_("No explanation stored for this section"), height=260)
    items = sorted(shap.items(), key=lambda kv: abs(kv[1]), reverse=True)[:top][::-1]
    x, names, texts, hover, colors = [], [], [], [], []
    for col, v in items:
        v = float(v)
        term = describe(col, _)
        value = (feature_values or {}).get(col)
        med = (medians or {}).get(col)
        above = None if value is None or med is None or not np.isfinite([value, med]).all() else bool(value >= med)
        # the bar's side and the sentence's "towards / away" come from the same sign (0 counts as towards)
        x.append(v)
        texts.append(escape_text(contribution_text(col, v, above, _)))
        # the name (its unit is in the hover, with the value: the bar is no value), then the sentence
        # broken before its arrow: short lines leave the bars room in the detail panel (390 px on a phone)
        names.append(f"{escape_text(term.name)}<br>{texts[-1].replace(' → ', '<br>→ ')}")
        colors.append(TOWARDS_COLOR if v >= 0 else AWAY_COLOR)
        lines = [f"{escape_text(term.name)} ({escape_text(term.technical)})", escape_text(term.meaning)]
        if value is not None and med is not None:
            lines.append(_("this section: %(value)s %(unit)s · corpus median %(median)s", value=fmt(value, ".4g"),
                           unit=escape_text(term.unit), median=fmt(med, ".4g")))
        elif value is not None:
            lines.append(_("this section: %(value)s %(unit)s", value=fmt(value, ".4g"), unit=escape_text(term.unit)))
        lines.append(_("%(text)s (SHAP %(value)s)", text=texts[-1], value=fmt(v, "+.3f")))
        hover.append("<br>".join(lines))
    bars = dict(type="bar", x=x, y=names, orientation="h", marker=dict(color=colors), text=texts,
                textposition="none", hovertext=hover, hoverinfo="text")
    m = max((abs(v) for v in x), default=0) or 1.0
    # 0 in the middle, whichever way the bars point: left and right keep their meaning
    xaxis = dict(zeroline=True, zerolinecolor="#6b7280", zerolinewidth=1.5, range=[-1.05 * m, 1.05 * m],
                 automargin=True)
    # the axis's meaning under the ticks, right-aligned to the figure: an axis title is centred on the
    # plot area, which the labels leave narrow, and would be cut at the figure's edge
    annotations = [dict(text=_("← away from · towards this cluster →"), showarrow=False, x=1, y=0, yshift=-22,
                        xref="paper", yref="paper", xanchor="right", yanchor="top",
                        font=dict(size=12, color="#374151"))] + _note_annotation(note)
    noted = len(annotations) > 1
    return fast_figure([bars], base_layout(height=max(220, 50 * len(names) + 80) + (56 if noted else 0),
                                           title=dict(text=escape_text(title), font=dict(size=13)),
                                           showlegend=False, annotations=annotations,
                                           margin=dict(l=8, r=16, t=30 if title else 8,
                                                       b=48 + (56 if noted else 0)),
                                           xaxis=xaxis, yaxis=dict(automargin=True, tickfont=dict(size=11))))


def shap_beeswarm(shap: np.ndarray, names, values: np.ndarray | None = None, *, top: int = 10,
                  max_points: int = 2000, random_state: int = 0, note: str | None = None) -> go.Figure:
    """Beeswarm of a cluster's SHAP values: one row per feature (top by mean |SHAP|, plain names),
    dots coloured by the feature's value (standardised within the cluster: blue low, grey average,
    red high). The x axis always shows 0 (right of it: pushes towards the cluster).

    Parameters
    ----------
    shap : np.ndarray [shape=(n, f)]
    names : list of str [length f]
        Feature columns.
    values : np.ndarray [shape=(n, f)], optional
        The features' values for the same sections.
    note : str, optional
        A line under the plot (the surrogate's note of a neural-embedding run).
    """
    from sectionist.analysis.glossary import describe

    if shap is None or shap.size == 0:
        return empty_figure(_("No explanations stored for this run"), height=320)
    rng = np.random.default_rng(random_state)
    if len(shap) > max_points:
        keep = rng.choice(len(shap), max_points, replace=False)
        shap = shap[keep]
        values = values[keep] if values is not None else None
    rank = np.argsort(-np.nanmean(np.abs(shap), axis=0))[:top][::-1]
    xs, ys, cs = [], [], []
    for row, j in enumerate(rank):
        v = shap[:, j]
        ok = ~np.isnan(v)
        jitter = rng.uniform(-0.3, 0.3, ok.sum())
        xs.append(v[ok])
        ys.append(row + jitter)
        if values is not None:
            f = values[ok, j]
            sd = np.nanstd(f)
            cs.append((f - np.nanmean(f)) / (sd if sd > 0 else 1))
        else:
            cs.append(np.zeros(ok.sum()))
    x = np.concatenate(xs)
    lo, hi = (float(np.nanmin(x)), float(np.nanmax(x))) if x.size else (0.0, 0.0)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = 0.05 * ((hi - lo) or 1.0)
    marker = dict(size=5, opacity=0.8, line=dict(width=0))
    if values is not None:
        marker.update(color=np.clip(np.concatenate(cs), -2.5, 2.5), colorscale=VALUE_SCALE, cmin=-2.5, cmax=2.5,
                      showscale=True, colorbar=dict(title=dict(text=_("its value"), side="right"), thickness=10,
                                                    len=0.8, tickvals=[-2, 0, 2],
                                                    ticktext=[_("low"), _("average"), _("high")]))
    else:
        marker.update(color=TOWARDS_COLOR)
    fig = go.Figure(go.Scattergl(x=x, y=np.concatenate(ys), mode="markers", hoverinfo="x", marker=marker))
    annotations = _note_annotation(note)
    fig.layout = (base_layout(
        height=max(260, 30 * len(rank) + 80) + (48 if annotations else 0), annotations=annotations,
        margin=dict(l=8, r=16, t=8, b=44 + (56 if annotations else 0)),
        xaxis=dict(title=dict(text=_("← away from · towards this cluster → (SHAP)"), standoff=4), zeroline=True,
                   zerolinecolor="#6b7280", zerolinewidth=1.5, range=[lo - pad, hi + pad]),
        yaxis=dict(tickmode="array", tickvals=list(range(len(rank))), automargin=True,
                   ticktext=[escape_text(describe(names[j], _).label) for j in rank], showgrid=False)))
    return fig


def shap_ranking(ranking, *, top: int = 12, cluster=None) -> go.Figure:
    """Bars of a cluster's mean |SHAP| per feature (``[{feature, mean_abs_shap}]``, plain names), in
    the cluster's colour when ``cluster`` is given."""
    from sectionist.analysis.glossary import describe

    if not ranking:
        return empty_figure(_("No SHAP ranking stored"), height=260)
    items = sorted(ranking, key=lambda r: -float(r["mean_abs_shap"]))[:top][::-1]
    terms = [describe(r["feature"], _) for r in items]
    fig = go.Figure(go.Bar(x=[float(r["mean_abs_shap"]) for r in items],
                           y=[escape_text(t.label) for t in terms], orientation="h",
                           hovertext=[escape_text(t.glossary) for t in terms], hoverinfo="text+x",
                           marker_color=cluster_color(cluster) if cluster is not None else ACCENT))
    fig.layout = (base_layout(height=max(200, 24 * len(items) + 60), margin=dict(l=8, r=16, t=8, b=36),
                              xaxis=dict(title=_("how much it matters (mean |SHAP|)")), yaxis=dict(automargin=True)))
    return fig


def profile_bars(profile: dict | None, overall: dict | None = None, *, cluster=None) -> go.Figure:
    """A cluster's centroid profile in plain feature names.

    With ``overall`` (feature → (corpus mean, corpus std)) the bars are the difference to the
    corpus in standard deviations, labelled in SD ("+1.2 SD"), with the cluster's mean and the
    corpus mean in the feature's own unit on hover. Without it, the bars are the cluster's means in
    their units.
    """
    from sectionist.analysis.glossary import describe

    if not profile:
        return empty_figure(_("No profile stored"), height=280)
    names = list(profile)
    vals = [float(profile[k]) for k in names]
    terms = [describe(k, _) for k in names]
    color = cluster_color(cluster) if cluster is not None else ACCENT
    if overall:
        z, hover, text = [], [], []
        for k, v, t in zip(names, vals, terms):
            mean, sd = overall.get(k, (np.nan, np.nan))
            zk = (v - mean) / sd if np.isfinite(sd) and sd > 0 else 0.0
            z.append(zk)
            text.append(_("%(value)s SD", value=fmt(zk, "+.1f")))
            word = t.higher if zk > 0 else t.lower
            hover.append("<br>".join([
                _("%(feature)s: %(change)s than the corpus by %(sd)s SD", feature=escape_text(t.name),
                  change=escape_text(word), sd=fmt(abs(zk), ".2f")),
                _("this cluster: %(value)s %(unit)s · corpus: %(mean)s ± %(sd)s", value=fmt(v, ".4g"),
                  unit=escape_text(t.unit), mean=fmt(mean, ".4g"), sd=fmt(sd, ".3g")),
                escape_text(t.definition)]))
        m = max((abs(v) for v in z), default=0) or 1.0
        x, xaxis = z, dict(title=_("difference to the corpus (SD)"), range=[-1.45 * m, 1.45 * m])
    else:
        x, text = vals, [fmt(v, ".3g") for v in vals]
        hover = [f"{escape_text(t.name)}: {fmt(v, '.4g')} {escape_text(t.unit)}<br>{escape_text(t.meaning)}"
                 for v, t in zip(vals, terms)]
        xaxis = dict(title=_("mean value (each feature in its own unit)"))
    fig = go.Figure(go.Bar(
        x=x, y=[escape_text(t.label if not overall else t.name) for t in terms], orientation="h", marker_color=color,
        text=text, textposition="outside", cliponaxis=False, textfont=dict(size=10, color="#6b7280"),
        hovertext=hover, hoverinfo="text"))
    fig.layout = (base_layout(
        height=max(260, 20 * len(names) + 60), margin=dict(l=8, r=48, t=8, b=36),
        xaxis=dict(zeroline=True, zerolinecolor="#6b7280", **xaxis),
        yaxis=dict(autorange="reversed", automargin=True)))
    return fig
