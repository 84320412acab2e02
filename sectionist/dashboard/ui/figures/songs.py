"""The Songs page's figures: a song's timeline (one lane per run, the truth and the structure schemes),
the cluster "tracks" view, the producers' sound tracks, and the similarity order of clusters."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go

from sectionist.analysis.structure.base import part_letter
from sectionist.dashboard.ui.figures.common import base_layout, empty_figure, escape_text, wrap_lane
from sectionist.dashboard.ui.figures.palette import cluster_color, cluster_name
from sectionist.dashboard.ui.i18n import _, ngettext

#: What a lane shows, which decides its legend and its palette: a run's clusters (the cluster
#: palette), the ground truth (coloured as the clusters it matches, its own legend), a structure
#: scheme's parts (:data:`STRUCTURE_PALETTE`, hatched, its own legend).
CLUSTER, TRUTH, STRUCTURE = "cluster", "truth", "structure"
#: Structure parts' colours: greyed hues, never one of the cluster palette's, each with a hatch of
#: :data:`STRUCTURE_HATCHES` (a part never reads as a cluster, and A and B differ also in print).
STRUCTURE_PALETTE = ["#c2a878", "#8da0b6", "#9bb89a", "#b89bb5", "#c59a8e", "#8fb3b8", "#a3a3a3", "#b5b07e"]
STRUCTURE_HATCHES = ["/", "\\", "x", "-", "|", "+", "."]


class Lane(NamedTuple):
    """One lane of :func:`song_timeline`: its blocks (``starts``, ``ends``, ``labels``, ``positions``,
    equal lengths), what they are (``kind``), the names of its labels for the hover (``names``:
    cluster → name, truth code → truth label), the colour labels (``colours``, default ``labels``:
    for clusters, the labels aligned to a reference lane, so one colour means matched clusters), and
    one more hover line per block (``notes``, plain text). ``positions`` are section positions (a
    click selects that section); -1 selects nothing."""

    name: str
    starts: Any
    ends: Any
    labels: Any
    positions: Any
    names: dict | None = None
    colours: Any = None
    kind: str = CLUSTER
    notes: Any = None


def part_name(index: int) -> str:
    """``"part A"``: how a structure part is named in the lanes, their hovers and legend."""
    return _("part %(letter)s", letter=part_letter(index))


def structure_marker(index: int) -> dict:
    """The bar marker of structure part ``index``: a greyed colour and a hatch."""
    colour = STRUCTURE_PALETTE[index % len(STRUCTURE_PALETTE)]
    return dict(color=colour, line=dict(color="#ffffff", width=1),
                pattern=dict(shape=STRUCTURE_HATCHES[index % len(STRUCTURE_HATCHES)], fillmode="replace",
                             bgcolor=colour, fgcolor="#ffffff", fgopacity=0.8, size=7, solidity=0.3))


def _entry(kind: str, colour: int, label: int, lane_names, legend_names, legend_labels):
    """(legend text, hover text, marker) of one lane's blocks of one label."""
    if kind == STRUCTURE:
        return part_name(colour), part_name(label), structure_marker(colour)
    marker = dict(color=cluster_color(colour), line=dict(color="#ffffff", width=1))
    if kind == TRUTH:
        name = str((lane_names or {}).get(label, label))
        return name, name, marker
    if legend_labels is not None and colour in legend_labels:
        legend = legend_labels[colour]
    else:
        legend = cluster_name(colour, legend_names) if legend_names is not None else cluster_name(colour)
    return legend, cluster_name(label, lane_names), marker


#: Pixels of one legend entry (one a line), of a legend section title's line, above a section and
#: under the legend, for the figure's height.
LEGEND_ENTRY_PX, LEGEND_TITLE_PX, LEGEND_SECTION_GAP_PX, LEGEND_GAP_PX = 21, 18, 6, 10
#: Legend texts (names, section titles) wrap at their " · " into lines of about this many characters
#: (a phone's width), each line after the first adding ``LEGEND_LINE_PX``.
LEGEND_WRAP, LEGEND_LINE_PX = 40, 16
#: The timeline's title wraps the same way, each line after the first adding ``TITLE_LINE_PX`` on top.
TITLE_WRAP, TITLE_LINE_PX = 50, 17
#: A legend entry's width: wider than any screen, so that every entry is a line of its own (a width
#: relative to the plot would cut long names where the plot is narrow, on a phone).
LEGEND_ENTRY_WIDTH_PX = 2000


def song_timeline(lanes, *, duration: float, selected: tuple | None = None, selected_lane: int | None = None,
                  waveform=None, title: str = "", song_id: str | None = None, legend_names: dict | None = None,
                  legend_title: str = "", legend_labels: dict | None = None) -> go.Figure:
    """Timeline of one song (or of several, one lane each): sections as blocks, coloured by cluster.

    Parameters
    ----------
    lanes : list of :class:`Lane` (or plain tuples in its field order, from ``name`` to ``positions``)
        ``CLUSTER`` lanes share the cluster legend, one entry per colour drawn; a ``TRUTH`` lane gets a
        legend of its own (its labels' names, in the colours of the clusters they match), and
        ``STRUCTURE`` lanes one more ("part A", "part B"…, in the hatched :data:`STRUCTURE_PALETTE`).
        A legend lists only what is drawn.
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
        Colour label → cluster name for the cluster legend (the reference lane's cluster names):
        ``"3: loud · bright"``.
    legend_title : str, optional
        Above the cluster legend, e.g. "colours matched to <reference run>".
    legend_labels : dict, optional
        Colour label → the cluster legend's whole text for that colour, before ``legend_names``
        (a cluster of another run that matches none of the reference's: ``"run-b · 4: airy"``).
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
    kinds = [k for k in (CLUSTER, TRUTH, STRUCTURE) if any(Lane(*lane).kind == k for lane in lanes)]
    entries: dict[str, dict] = {k: {} for k in kinds}  # kind → colour → legend text, as first drawn
    bars, keys = [], []  # the lanes' bar traces and their (kind, colour)
    span_hover = _("from %{base:.1f} s to %{x:.1f} s")  # a bar with a base: %{x} is its end
    for li, lane in enumerate(lanes):
        lane = Lane(*lane)
        y = y0 + li
        lane_title = escape_text(lane.name)
        names.append(lane_title)
        starts, ends, labels = np.asarray(lane.starts, float), np.asarray(lane.ends, float), np.asarray(lane.labels)
        colours = np.asarray(lane.colours) if lane.colours is not None else labels
        notes = list(lane.notes) if lane.notes is not None else None
        order = np.argsort(labels, kind="stable")
        for c in np.unique(labels):
            idx = order[labels[order] == c]
            colour = int(colours[idx[0]]) if len(idx) else int(c)
            legend, hover, marker = _entry(lane.kind, colour, int(c), lane.names, legend_names, legend_labels)
            first = colour not in entries[lane.kind]
            if first:
                entries[lane.kind][colour] = legend
            extra = dict(hovertext=[escape_text(notes[i]) for i in idx]) if notes is not None else {}
            # one bar trace per label and lane: bars from start to end at the lane's y; the legend group
            # (one per colour) shows and hides that colour on every lane
            bars.append(go.Bar(
                base=starts[idx], x=(ends - starts)[idx], y=[y] * len(idx), orientation="h",
                marker=marker, width=0.8, name=wrap_lane(escape_text(legend), LEGEND_WRAP),
                legendgroup=f"{lane.kind}-{colour}", showlegend=first, customdata=np.asarray(lane.positions)[idx],
                # the lane's name travels in ``meta``, not inside the template: never read as %{…}
                meta=[lane_title],
                hovertemplate=f"%{{meta[0]}}<br>{escape_text(hover)}<br>"
                              + ("%{hovertext}" if notes is not None else span_hover) + "<extra></extra>",
                **extra))
            keys.append((lane.kind, colour))
    # one legend in sections, each under its title (the title of its first entry's group): the
    # clusters (by number, noise last), the truth (its labels by name), the structure parts (A, B…).
    # One legend, not one per section: plotly.js keeps the margin a legend reserved after a redraw
    # drops that legend (a figure with fewer sections then fails "axis scaling")
    titles = {CLUSTER: legend_title, TRUTH: _("ground truth · in the colours of the clusters it matches"),
              STRUCTURE: _("structure parts · lettered in order of appearance · hatched: not clusters")}
    rank, heading, legend_h = {}, {}, LEGEND_GAP_PX
    for kind in kinds:
        named = entries[kind]
        ordered = sorted(named, key=(lambda c: named[c]) if kind == TRUTH else (lambda c: (c < 0, c)))
        rank.update({(kind, c): len(rank) + i for i, c in enumerate(ordered)})
        text = wrap_lane(escape_text(titles[kind]), LEGEND_WRAP) if titles[kind] else ""
        if text:
            heading[(kind, ordered[0])] = text
            legend_h += LEGEND_TITLE_PX * (text.count("<br>") + 1) + LEGEND_SECTION_GAP_PX
        legend_h += sum(LEGEND_ENTRY_PX + LEGEND_LINE_PX * wrap_lane(escape_text(named[c]), LEGEND_WRAP).count("<br>")
                        for c in ordered)
    for trace, key in zip(bars, keys):
        if key in heading:
            trace.legendgrouptitle = dict(text=heading[key], font=dict(size=13))
    # in legend order (plotly.js orders a grouped legend's groups as their traces come)
    traces.extend(bar for _i, bar in sorted(enumerate(bars), key=lambda ib: (rank[keys[ib[0]]], ib[0])))
    shapes = []
    if selected is not None:
        lo, hi = (-0.5, len(names) - 0.5) if selected_lane is None else \
            (y0 + selected_lane - 0.45, y0 + selected_lane + 0.45)
        shapes.append(dict(type="rect", x0=selected[0], x1=selected[1], y0=lo, y1=hi,
                           xref="x", yref="y", line=dict(color="#111827", width=2), fillcolor="rgba(0,0,0,0)"))
    fig = go.Figure(traces)
    # every lane gets the height its wrapped name needs (the page sizes the graph to ``layout.height``);
    # the legend is a list at the bottom of the figure, one entry a line (horizontal: a vertical legend
    # at the left would push the plot to the right), under the time axis and its title in a bottom
    # margin sized for it: the same on a phone as on a laptop, and never over the axis
    lanes_h = sum(max(46, 16 * (wrap_lane(n).count("<br>") + 1) + 8) for n in names)
    title = wrap_lane(escape_text(title), TITLE_WRAP) if title else ""  # at its " · ", for a phone
    top, bottom = (36 + TITLE_LINE_PX * title.count("<br>") if title else 8), 52
    # Plotly reserves the legend's own height below the bottom margin (the time axis and its title)
    height = max(180, lanes_h + top + bottom + legend_h)
    fig.layout = (base_layout(
        barmode="overlay", height=height,
        shapes=shapes,
        meta={"song_id": song_id} if song_id else None,
        title=dict(text=title, font_size=13) if title else None,
        margin=dict(l=150, r=16, t=top, b=bottom), clickmode="event",
        xaxis=dict(title=_("time (s)"), range=[0, max(duration, 1e-3)], showgrid=True),
        yaxis=dict(tickmode="array", tickvals=list(range(len(names))), ticktext=[wrap_lane(n) for n in names],
                   autorange="reversed", automargin=True, showgrid=False, zeroline=False,
                   range=[len(names) - 0.5, -0.5]),
        legend=dict(orientation="h", entrywidth=LEGEND_ENTRY_WIDTH_PX, xref="container", x=0, xanchor="left",
                    yref="container", y=0, yanchor="bottom", bgcolor="rgba(0,0,0,0)", borderwidth=0,
                    tracegroupgap=0, traceorder="grouped")))
    narrow = lane_names_above(names, first=y0, height=height - lanes_h)
    fig.layout.meta = {**({"song_id": song_id} if song_id else {}), "narrow": narrow}
    return fig


#: On a narrow screen: a lane's bar, a line of its name above it, the gap above the name (px).
NARROW_BAR_PX, NARROW_LINE_PX, NARROW_GAP_PX = 28, 13, 5
#: Characters of a lane name's line above its lane on a narrow screen.
NARROW_NAME_WRAP = 64


def lane_names_above(names, *, first: int, height: float) -> dict:
    """The timeline's narrow variant (assets/narrow.js): each lane's name above its bar, the bars the
    figure's whole width (names at the left took 40 % of a phone's width). ``names``: the rows'
    names (escaped), ``first``: the first lane row after the waveform, ``height``: the figure's
    height outside its rows. Every row is as tall as the longest name needs (rows share one scale)."""
    texts = [wrap_lane(name, NARROW_NAME_WRAP) for name in names[first:]]
    lines = max([t.count("<br>") + 1 for t in texts] or [1])
    row = NARROW_BAR_PX + NARROW_LINE_PX * lines + NARROW_GAP_PX
    bar = NARROW_BAR_PX / row
    notes = [dict(x=0, xref="paper", y=y - bar / 2, yref="y", xanchor="left", yanchor="bottom", align="left",
                  text=text, showarrow=False, font=dict(size=10, color="#374151"))
             for y, text in enumerate(texts, start=first)]
    return {"data": {"width": [bar]},
            "layout": {"yaxis.showticklabels": False, "margin.l": 8, "annotations": notes,
                       "height": int(height + row * (len(names) - first) + max(row, 46) * first)}}


def cluster_tracks(rows, *, duration: float, selected: tuple | None = None, title: str = "",
                   song_id: str | None = None, songs=None, cluster_names: dict | None = None) -> go.Figure:
    """"Tracks" view: one row per cluster (ordered by the caller), blocks where that cluster plays.

    ``rows`` is a list of (cluster, starts, ends, positions). ``songs``: with several songs laid end
    to end on one time axis, their (title, offset_s, length_s), marked by a line where each song
    starts and its title above. ``cluster_names`` (cluster → name) names the rows and the legend's entries.
    """
    lanes = [Lane(cluster_name(c, cluster_names), s, e, np.full(len(s), c), p, cluster_names) for c, s, e, p in rows]
    fig = song_timeline(lanes, duration=duration, selected=selected, title=title, song_id=song_id,
                        legend_names=cluster_names or {})
    if songs:
        for i, (name, offset, length) in enumerate(songs):
            if i:
                fig.add_shape(type="line", x0=offset, x1=offset, y0=0, y1=1, xref="x", yref="paper",
                              line=dict(color="#111827", width=1, dash="dot"))
            fig.add_annotation(x=offset + length / 2, y=1, xref="x", yref="paper", yanchor="bottom",
                               text=escape_text(name), showarrow=False, font=dict(size=11, color="#374151"))
        fig.update_layout(margin=dict(t=fig.layout.margin.t + 20), xaxis_title=_("time (s), the songs end to end"))
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
        return empty_figure(_("No sound tracks yet."), height=160)
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
