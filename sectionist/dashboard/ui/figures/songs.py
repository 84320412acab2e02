"""The Songs page's figures: a song's timeline (one lane per run), the cluster "tracks" view,
the producers' sound tracks, and the similarity order of clusters."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sectionist.dashboard.ui.figures.common import base_layout, empty_figure, escape_text, wrap_lane
from sectionist.dashboard.ui.figures.palette import cluster_color, cluster_name
from sectionist.dashboard.ui.i18n import _, ngettext


def song_timeline(lanes, *, duration: float, selected: tuple | None = None, selected_lane: int | None = None,
                  waveform=None, title: str = "", song_id: str | None = None, legend_names: dict | None = None,
                  legend_title: str = "") -> go.Figure:
    """Timeline of one song: one lane per run, sections as blocks coloured by cluster.

    Parameters
    ----------
    lanes : list of (lane_name, starts, ends, labels, positions[, cluster_names[, colour_labels]])
        Per lane, arrays of equal length; ``positions`` are section positions (click → select);
        the optional dict names the lane's clusters (cluster → name) in its hover text. The optional
        ``colour_labels`` (same length) colour the blocks instead of ``labels``: the lane's labels
        aligned to a reference lane, so that one colour means matched clusters across lanes.
    duration : float
        Song length in seconds.
    selected : (start_s, end_s), optional
        The selected section, outlined on every lane.
    selected_lane : int, optional
        Outline ``selected`` on this lane only (an index into ``lanes``: several songs, one per lane).
    waveform : (times, lo, hi), optional
        Min/max envelope drawn as a top lane.
    song_id : str, optional
        Stored in ``layout.meta``: ``assets/player.js`` draws the playhead of a playing section of
        this song on the timeline.
    legend_names : dict, optional
        Colour label → name shown in the legend (the reference lane's cluster names).
    legend_title : str, optional
        Above the legend, e.g. "colours matched to <reference run>".
    """
    traces = []
    names = []
    y0 = 0
    if waveform is not None:
        t, lo, hi = waveform
        traces.append(go.Scatter(x=np.concatenate([t, t[::-1]]), y=np.concatenate([hi, lo[::-1]]) * 0.42,
                                 fill="toself", mode="lines", line=dict(width=0.5, color="#64748b"),
                                 fillcolor="rgba(100,116,139,0.45)", hoverinfo="skip", showlegend=False,
                                 name=_("waveform")))
        names.append(_("waveform"))
        y0 = 1
    seen = set()
    span_hover = _("from %{base:.1f} s, %{x:.1f} s long")
    for li, (lane, starts, ends, labels, positions, *extra) in enumerate(lanes):
        lane_names = extra[0] if extra else None
        colours = extra[1] if len(extra) > 1 and extra[1] is not None else labels
        y = y0 + li
        lane = escape_text(lane)
        names.append(lane)
        starts, ends, labels, colours = np.asarray(starts), np.asarray(ends), np.asarray(labels), np.asarray(colours)
        order = np.argsort(labels, kind="stable")
        for c in np.unique(labels):
            idx = order[labels[order] == c]
            colour = int(colours[idx[0]]) if len(idx) else int(c)
            legend = cluster_name(colour, legend_names) if legend_names is not None else cluster_name(colour)
            # one bar trace per cluster and lane: bars from start to end at the lane's y
            traces.append(go.Bar(
                base=starts[idx], x=(ends - starts)[idx], y=[y] * len(idx), orientation="h",
                marker=dict(color=cluster_color(colour), line=dict(color="#ffffff", width=1)), width=0.8,
                name=escape_text(legend), legendgroup=str(colour), showlegend=colour not in seen,
                customdata=np.asarray(positions)[idx],
                # the lane's name travels in ``meta``, not inside the template: never read as %{…}
                meta=[lane],
                hovertemplate=f"%{{meta[0]}}<br>{escape_text(cluster_name(c, lane_names))}<br>{span_hover}"
                "<extra></extra>"))
            seen.add(colour)
    shapes = []
    if selected is not None:
        lo, hi = (-0.5, len(names) - 0.5) if selected_lane is None else \
            (y0 + selected_lane - 0.45, y0 + selected_lane + 0.45)
        shapes.append(dict(type="rect", x0=selected[0], x1=selected[1], y0=lo, y1=hi,
                           xref="x", yref="y", line=dict(color="#111827", width=2), fillcolor="rgba(0,0,0,0)"))
    fig = go.Figure(traces)
    # every lane gets the height its wrapped name needs (the page sizes the graph to ``layout.height``);
    # the legend is a list at the bottom of the figure, under the time axis and its title, in a bottom
    # margin sized for it (its title wrapped above one entry a line): the same on a phone as on a
    # laptop, and never over the axis
    legend_text = wrap_lane(escape_text(legend_title), 40) if legend_title else ""
    legend_h = (18 * (legend_text.count("<br>") + 1) if legend_text else 0) + 22 * len(seen) + 10
    lanes_h = sum(max(46, 16 * (wrap_lane(n).count("<br>") + 1) + 8) for n in names)
    top, bottom = (36 if title else 8), 52
    # Plotly reserves the legend's own height below the bottom margin (the time axis and its title)
    height = max(180, lanes_h + top + bottom + legend_h)
    fig.layout = (base_layout(
        barmode="overlay", height=height,
        shapes=shapes,
        meta={"song_id": song_id} if song_id else None,
        title=dict(text=escape_text(title), font_size=13) if title else None,
        margin=dict(l=150, r=16, t=top, b=bottom), clickmode="event",
        xaxis=dict(title=_("time (s)"), range=[0, max(duration, 1e-3)], showgrid=True),
        yaxis=dict(tickmode="array", tickvals=list(range(len(names))), ticktext=[wrap_lane(n) for n in names],
                   autorange="reversed", automargin=True, showgrid=False, zeroline=False,
                   range=[len(names) - 0.5, -0.5]),
        legend=dict(orientation="h", xref="container", x=0, xanchor="left", yref="container", y=0, yanchor="bottom",
                    bgcolor="rgba(0,0,0,0)", borderwidth=0,
                    title=dict(text=legend_text, side="top") if legend_text else None)))
    return fig


def cluster_tracks(rows, *, duration: float, selected: tuple | None = None, title: str = "",
                   song_id: str | None = None, songs=None, cluster_names: dict | None = None) -> go.Figure:
    """"Tracks" view: one row per cluster (ordered by the caller), blocks where that cluster plays.

    ``rows`` is a list of (cluster, starts, ends, positions). ``songs``: with several songs laid end
    to end on one time axis, their (title, offset_s, length_s), marked by a line where each song
    starts and its title above. ``cluster_names`` (cluster → name) names the rows.
    """
    lanes = [(cluster_name(c, cluster_names), s, e, np.full(len(s), c), p, cluster_names) for c, s, e, p in rows]
    fig = song_timeline(lanes, duration=duration, selected=selected, title=title, song_id=song_id)
    if songs:
        for i, (name, offset, length) in enumerate(songs):
            if i:
                fig.add_shape(type="line", x0=offset, x1=offset, y0=0, y1=1, xref="x", yref="paper",
                              line=dict(color="#111827", width=1, dash="dot"))
            fig.add_annotation(x=offset + length / 2, y=1, xref="x", yref="paper", yanchor="bottom",
                               text=escape_text(name), showarrow=False, font=dict(size=11, color="#374151"))
        fig.update_layout(margin=dict(t=56), xaxis_title=_("time (s), the songs end to end"))
    return fig


SOUND_TRACK_ROW_PX = 30
NMF_COLOR = "#64748b"


def sound_tracks(panels, *, title: str = "") -> go.Figure:
    """The producers' "sound tracks": one panel per song, one row per distinct sound (in the order the
    caller gives: similar sounds adjacent), blocks where it plays; every block carries
    ``[song_id, start_s, end_s, track name]`` as customdata, so a click can play that span.

    Parameters
    ----------
    panels : list of dict
        Per song: ``song_id``, ``title``, ``duration`` (s) and ``tracks``, a list of
        (kind, label, starts, ends) with ``kind`` "sound" or "nmf" (NMF components are drawn grey,
        after the sounds) and ``label`` the row's name ("sound 3 · 41 blocks · mostly low/dark").
    title : str
        Shown above the figure.

    Returns
    -------
    go.Figure
        Rows on one numeric y axis (a title row per song, then its tracks), time on x (each song from 0).
    """
    import textwrap

    traces, tickvals, ticktext, shapes = [], [], [], []
    span_hover = _("%{base:.2f}–%{customdata[2]:.2f} s · click to listen")
    y = 0
    duration = 0.0
    for pi, panel in enumerate(panels):
        sid = str(panel["song_id"])
        duration = max(duration, float(panel.get("duration") or 0.0))
        if pi:
            shapes.append(dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y - 0.5, y1=y - 0.5,
                               line=dict(color="#9ca3af", width=1)))
        n_sounds = sum(1 for t in panel["tracks"] if t[0] == "sound")
        # the song's heading is the label of its own row (bold, long titles wrapped), so the label
        # column makes room for it and a narrow plot (a phone) does not cut it
        lines = [escape_text(line) for line in textwrap.wrap(str(panel["title"]), 28)] or [""]
        tickvals.append(y)
        count = ngettext("%(num)d sound", "%(num)d sounds", n_sounds)
        ticktext.append("<br>".join(f"<b>{line}</b>" for line in lines) + f" · {count}")
        y += 1
        for ti, (kind, label, starts, ends) in enumerate(panel["tracks"]):
            starts = np.asarray(starts, dtype=float)
            ends = np.asarray(ends, dtype=float)
            color = NMF_COLOR if kind == "nmf" else cluster_color(ti)
            name = escape_text(label)
            tickvals.append(y)
            # two short lines ("sound 3 · 41 blocks" / "mostly low/dark") keep the label column narrow
            head, _sep, tail = name.rpartition(" · ")
            track = str(label).rpartition(" · ")[0] or str(label)  # the player names it: "sound 3 · 41 blocks"
            ticktext.append(f"{head}<br>{tail}" if head else name)
            traces.append(go.Bar(
                base=starts.tolist(), x=(ends - starts).tolist(), y=[y] * len(starts), orientation="h",
                marker=dict(color=color, line=dict(color="#ffffff", width=0.5)), width=0.8, showlegend=False,
                # mixed types keep customdata a plain JSON list (a click reads it as it is)
                customdata=[[sid, float(a), float(b), track] for a, b in zip(starts, ends)],
                name=name, meta=[name, escape_text(panel["title"])],
                hovertemplate="%{meta[1]}<br>%{meta[0]}<br>" + span_hover + "<extra></extra>"))
            y += 1
    if not traces:
        return empty_figure(_("No sound tracks for these songs yet."))
    fig = go.Figure(traces)
    fig.layout = base_layout(
        barmode="overlay", height=max(200, SOUND_TRACK_ROW_PX * y + 90), shapes=shapes,
        meta={"song_id": str(panels[0]["song_id"])} if len(panels) == 1 else None,
        title=dict(text=escape_text(title), font_size=13) if title else None,
        margin=dict(l=10, r=16, t=36 if title else 8, b=40), clickmode="event", bargap=0.1,
        xaxis=dict(title=_("time in the song (s)"), range=[0, max(duration, 1e-3)], showgrid=True),
        yaxis=dict(tickmode="array", tickvals=tickvals, ticktext=ticktext, autorange=False, range=[y - 0.5, -0.5],
                   showgrid=False, zeroline=False, automargin=True, tickfont=dict(size=11)))
    return fig


def order_by_similarity(centroids: np.ndarray) -> np.ndarray:
    """Order of clusters so that similar centroids sit next to each other (hierarchical leaf order).

    Parameters
    ----------
    centroids : np.ndarray [shape=(k, d)]
    """
    centroids = np.asarray(centroids, dtype=float)
    if len(centroids) <= 2:
        return np.arange(len(centroids))
    from scipy.cluster.hierarchy import leaves_list, linkage

    return np.asarray(leaves_list(linkage(centroids, method="average")))
