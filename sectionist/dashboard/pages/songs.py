"""Songs: timelines — one lane per run for a song, one lane per song for several, or "tracks"
(one row per cluster, ordered by centroid similarity); click a block to listen."""

from __future__ import annotations

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, callback, dcc, html

from sectionist.dashboard.media import downloads
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures import common as common_figures, songs as song_figures
from sectionist.dashboard.ui.components.common import (card, cluster_names, control, default_run, dropdown, fmt_time,
                                                       graph_config, page_header, register_song_search, run_options,
                                                       song_options)
from sectionist.dashboard.ui.components.corrections import correction_panel, lane_title, register_corrections
from sectionist.dashboard.ui.naming import scheme_order
from sectionist.dashboard.ui.components.detail import section_detail
from sectionist.dashboard.ui.components.jobs import job_done_store, register_jobs, sound_tracks_box
from sectionist.dashboard.ui.components.judging import register_judging
from sectionist.dashboard.ui.components.selection import click_store, register_selection
from sectionist.dashboard.ui.components.strength import song_structures
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui.naming import run_label
from sectionist.dashboard.ui.figures.palette import cluster_name
from sectionist.dashboard.ui.i18n import N_, _, integer, ngettext, number, page_title, word
from sectionist.store.schema import SOUND_TRACKS

PAGE = "songs"
MAX_SONGS = 12
dash.register_page(__name__, path="/songs", name=N_("Songs"), title=page_title(N_("Songs")),
                   order=4)

VIEWS = [{"label": N_("Lanes: one per run"), "value": "lanes"},
         {"label": N_("Tracks: one per cluster"), "value": "tracks"},
         {"label": N_("Sounds: one track per sound"), "value": "sounds"}]
#: The name of the ground-truth lane (our word, translated where shown).
TRUTH_LANE = N_("truth")


def view_options() -> list[dict]:
    """:data:`VIEWS` in the request's language."""
    return [{**v, "label": _(v["label"])} for v in VIEWS]


def _selected_span(data, section_id, song_id=None):
    sec = data.section(section_id) if section_id else None
    if sec is None or (song_id is not None and sec["song_id"] != song_id):
        return None
    return float(sec["start_s"]), float(sec["end_s"])


#: The register words :mod:`sectionist.analysis.sections.soundtracks` ends a track's stored label with.
REGISTERS = {"silent": N_("silent"), "mostly low/dark": N_("mostly low/dark"),
             "mostly high/bright": N_("mostly high/bright"), "mostly mid": N_("mostly mid")}


def sound_track_label(kind: str, track: int, n_blocks: int, stored: str) -> str:
    """A sound track's name in the page's language (``"sound 3 · 41 blocks · mostly low/dark"``),
    built from its kind, number and blocks; the register word is the stored label's last part."""
    register = str(stored).rsplit(" · ", 1)[-1]
    register = _(REGISTERS[register]) if register in REGISTERS else register
    if kind == "nmf":
        return ngettext("component %(track)s · %(num)d block · %(register)s",
                        "component %(track)s · %(num)d blocks · %(register)s", n_blocks,
                        track=track + 1, register=register)
    return ngettext("sound %(track)s · %(num)d block · %(register)s", "sound %(track)s · %(num)d blocks · %(register)s",
                    n_blocks, track=track + 1, register=register)


def lane_name(data, run_id) -> str:
    """A lane's unique name: space · method · K · the run id and its version
    (``"musicnn · kmeans · section-mean (K=5) · musicnn-kmeans-5 · v2"``): two runs sharing space and method differ."""
    r = data.runs.loc[run_id]
    k = r.get("n_clusters", r.get("k"))
    k = f" (K={int(k)})" if k is not None and not pd.isna(k) else ""
    version = r.get("version")
    version = f" · v{int(version)}" if version is not None and not pd.isna(version) else ""
    level = r.get("level")
    level = f" · {word(level)}" if isinstance(level, str) and level else ""
    return f"{r.get('space', '?')} · {r.get('method', '?')}{level}{k} · {run_id}{version}"


def aligned_colours(reference, labels, first_free: int | None = None) -> np.ndarray:
    """``labels`` renamed to the matched clusters of ``reference`` (same sections, same order), by the
    shared Hungarian alignment (:func:`sectionist.analysis.modeling.compare.align_labels`) over the sections both
    cluster; clusters left unmatched get labels after the reference's largest (from ``first_free``
    on when that is larger: labels other lanes have not taken); noise stays -1."""
    from sectionist.analysis.modeling.compare import align_labels

    reference, labels = np.asarray(reference), np.asarray(labels)
    both = (reference >= 0) & (labels >= 0)
    mapping = {int(k): int(v) for k, v in align_labels(reference[both], labels[both]).items()} if both.any() else {}
    nxt = max([int(reference.max()) if reference.size else -1, *mapping.values(), -1]) + 1
    nxt = max(nxt, int(first_free or 0))
    for c in (int(c) for c in np.unique(labels) if c >= 0 and int(c) not in mapping):
        mapping[c] = nxt
        nxt += 1
    return np.asarray([mapping.get(int(c), int(c)) for c in labels], dtype=int)


def _next_free(colours, free: int) -> int:
    colours = np.asarray(colours)
    return max(free, int(colours.max()) + 1 if colours.size else 0)


def truth_lane(secs, reference, first_free: int | None = None):
    """The ground-truth lane of a song's sections (``sections.truth_label``), its labels coloured as the
    clusters of ``reference`` they match (the reference run's labels of ``secs``; truth labels that
    match none get colours from ``first_free`` on); None when the song has no truth."""
    if "truth_label" not in secs.columns:
        return None
    truth = secs["truth_label"]
    have = truth.notna() & (truth.astype(str).str.len() > 0)
    if not have.any():
        return None
    codes, names = pd.factorize(truth[have].astype(str), sort=True)
    colours = aligned_colours(np.asarray(reference)[have.to_numpy()], codes, first_free)
    return song_figures.Lane(_(TRUTH_LANE), secs["start_s"].to_numpy()[have.to_numpy()],
                             secs["end_s"].to_numpy()[have.to_numpy()], codes, secs["pos"].to_numpy()[have.to_numpy()],
                             dict(enumerate(names)), colours, song_figures.TRUTH)


def part_notes(seg) -> list[str]:
    """Per segment of one structure lane (rows in time order), the hover's last line: its times, and
    how sure its shared label is in words when the scheme recorded it (``segments.confidence``), or
    that no other segment shares it."""
    from sectionist.dashboard.data.strength import UNKNOWN, repeat_sureness
    from sectionist.dashboard.ui.strength import SURENESS

    labels = seg["label"].to_numpy()
    counts = pd.Series(labels).value_counts()
    conf = pd.to_numeric(seg["confidence"], errors="coerce").to_numpy(float) if "confidence" in seg.columns \
        else np.full(len(seg), np.nan)
    notes = []
    for start, end, label, c in zip(seg["start_s"], seg["end_s"], labels, conf):
        times = f"{fmt_time(start)}–{fmt_time(end)}"
        if counts[label] == 1:
            notes.append(_("%(times)s · heard once in this song", times=times))
        elif np.isfinite(c) and repeat_sureness(c) != UNKNOWN:
            sure = _("%(sureness)s (confidence %(confidence)s)", sureness=_(SURENESS[repeat_sureness(c)]),
                     confidence=number(c, 2))
            notes.append(f"{times} · {sure}")
        else:
            notes.append(times)
    return notes


def segment_lanes(data, song_id) -> list:
    """One lane per structure scheme of the song (the ``segments`` table's ``section`` level:
    ``repeats``, ``merged``, ``laplacian``, schemes saved from the Lab as ``lab-<name>``…), its
    segments lettered "part A", "part B"… in order of first appearance (equal labels, equal letter)
    and drawn in the structure palette; its blocks select no section (position -1)."""
    from sectionist.store.schema import SEGMENTS, section_level

    table = section_level(data.table(SEGMENTS))
    if table.empty:
        return []
    rows = table[table["song_id"] == song_id]
    lanes = []
    for scheme, seg in sorted(rows.groupby("scheme"), key=lambda kv: scheme_order(kv[0])):
        seg = seg.sort_values("start_s")
        parts = pd.factorize(seg["label"].to_numpy(dtype=int), sort=False)[0]  # 0 = the first one heard
        version = int(seg["version"].fillna(1).max()) if "version" in seg.columns else 1
        # the lane says its version ("structure · merged v2") once an expert has corrected it
        lanes.append(song_figures.Lane(lane_title(scheme, version), seg["start_s"].to_numpy(float),
                                       seg["end_s"].to_numpy(float), parts, np.full(len(seg), -1), None, parts,
                                       song_figures.STRUCTURE, part_notes(seg)))
    return lanes


def lanes_figure(data, song_id, selected_section=None, waveform=None, reference=None):
    """One lane per run for one song (plus its waveform, a truth lane when the song has truth, and a
    lane per structure scheme).

    Every lane's clusters are coloured after aligning its labels to the ``reference`` run's (the
    first run when None or unknown), so one colour means matched clusters across lanes; a cluster
    that matches none of the reference's gets a colour of its own, named in the legend by its run
    and its own name. The legends list only what is drawn."""
    secs = data.song_sections(song_id)
    if secs.empty:
        return common_figures.empty_figure(_("This song has no sections"))
    pos = secs["pos"].to_numpy()
    run_ids = list(data.runs.index)
    if not run_ids:
        return common_figures.empty_figure(_("No clustering runs in this store yet."))
    reference = reference if reference in data.runs.index else run_ids[0]
    ref_lab = data.run_arrays(reference).label[pos]
    free = _next_free(ref_lab[ref_lab >= 0], 0)
    lanes, legend_labels = [], {}
    for run_id in run_ids:
        lab = data.run_arrays(run_id).label[pos]
        keep = lab >= -1
        names = cluster_names(data, run_id)
        colours = aligned_colours(ref_lab[keep], lab[keep], free)
        for c, colour in {int(c): int(k) for c, k in zip(lab[keep], colours) if k >= free}.items():
            legend_labels[colour] = f"{run_id} · {cluster_name(c, names)}"
        free = _next_free(colours, free)
        lanes.append(song_figures.Lane(lane_name(data, run_id), secs["start_s"].to_numpy()[keep],
                                       secs["end_s"].to_numpy()[keep], lab[keep], pos[keep], names, colours))
    truth = truth_lane(secs, ref_lab, free)
    if truth is not None:
        lanes.append(truth)
    lanes.extend(segment_lanes(data, song_id))
    duration = float(data.songs.loc[song_id, "duration_s"] or secs["end_s"].max())
    return song_figures.song_timeline(lanes, duration=duration, selected=_selected_span(data, selected_section, song_id),
                                      waveform=waveform, title=data.songs.loc[song_id, "title"], song_id=song_id,
                                      legend_names=cluster_names(data, reference), legend_labels=legend_labels,
                                      legend_title=_("colours matched to %(run)s", run=lane_name(data, reference)))


def multi_song_figure(data, song_ids, run_id, selected_section=None):
    """One lane per song, coloured by ``run_id``'s clusters, named in the legend as on every page
    (the experts' names where the run has them)."""
    lanes = []
    lane_songs = []
    duration = 0.0
    labels = data.run_arrays(run_id).label if run_id else None
    names = cluster_names(data, run_id)
    for sid in song_ids:
        secs = data.song_sections(sid)
        if secs.empty:
            continue
        pos = secs["pos"].to_numpy()
        lab = labels[pos] if labels is not None else np.full(len(pos), -2)
        lanes.append(song_figures.Lane(data.songs.loc[sid, "title"], secs["start_s"].to_numpy(), secs["end_s"].to_numpy(),
                                       lab, pos, names))
        lane_songs.append(sid)
        duration = max(duration, float(secs["end_s"].max()))
    sec = data.section(selected_section) if selected_section else None
    selected = lane = None
    if sec is not None and sec["song_id"] in lane_songs:
        selected, lane = (float(sec["start_s"]), float(sec["end_s"])), lane_songs.index(sec["song_id"])
    return song_figures.song_timeline(lanes, duration=duration, selected=selected, selected_lane=lane,
                                      title=ngettext("%(num)d song · %(run)s", "%(num)d songs · %(run)s", len(lanes),
                                                     run=lane_name(data, run_id) if run_id else ""),
                                      legend_names=names,
                                      legend_title=_("clusters of %(run)s", run=lane_name(data, run_id)) if run_id else "")


def tracks_figure(data, song_id, run_id, selected_section=None):
    """One row per cluster of ``run_id`` present in the song, ordered by centroid similarity."""
    return tracks_songs_figure(data, [song_id], run_id, selected_section)


def tracks_songs_figure(data, song_ids, run_id, selected_section=None):
    """One row per cluster of ``run_id`` present in the songs, ordered by centroid similarity; several
    songs are laid end to end on one time axis (a line and the title where each starts), so a cluster's
    row shows where it plays in every song."""
    parts = [(sid, data.song_sections(sid)) for sid in song_ids]
    parts = [(sid, secs) for sid, secs in parts if not secs.empty]
    if not parts or not run_id:
        return common_figures.empty_figure(_("Pick a song and a run"))
    labels = data.run_arrays(run_id).label
    gap = 0.0
    songs, starts, ends, pos, offsets = [], [], [], [], {}
    offset = 0.0
    for sid, secs in parts:
        length = float(data.songs.loc[sid, "duration_s"] or secs["end_s"].max())
        if not gap:  # a small gap between songs: 2 % of the first song's length
            gap = 0.02 * length if len(parts) > 1 else 0.0
        offsets[sid] = offset
        songs.append((data.songs.loc[sid, "title"], offset, length))
        starts.append(secs["start_s"].to_numpy() + offset)
        ends.append(secs["end_s"].to_numpy() + offset)
        pos.append(secs["pos"].to_numpy())
        offset += length + gap
    starts, ends, pos = np.concatenate(starts), np.concatenate(ends), np.concatenate(pos)
    lab = labels[pos]
    present = [int(c) for c in np.unique(lab) if c >= -1]
    order = present
    info = data.clusters(run_id)
    cents = [info.loc[c, "centroid"] if c in info.index and "centroid" in info.columns else None for c in present]
    if present and all(isinstance(c, (dict, list)) for c in cents):
        mat = np.array([list(c.values()) if isinstance(c, dict) else c for c in cents], dtype=float)
        order = [present[i] for i in song_figures.order_by_similarity(mat)]
    rows = [(c, starts[lab == c], ends[lab == c], pos[lab == c]) for c in order]
    sec = data.section(selected_section) if selected_section else None
    selected = None
    if sec is not None and sec["song_id"] in offsets:
        o = offsets[sec["song_id"]]
        selected = (float(sec["start_s"]) + o, float(sec["end_s"]) + o)
    if len(parts) == 1:
        sid = parts[0][0]
        return song_figures.cluster_tracks(rows, duration=songs[0][2], selected=selected,
                                           title=f"{data.songs.loc[sid, 'title']} · {lane_name(data, run_id)}", song_id=sid,
                                           cluster_names=cluster_names(data, run_id))
    return song_figures.cluster_tracks(rows, duration=offset - gap, selected=selected,
                                       title=ngettext("%(num)d song · %(run)s", "%(num)d songs · %(run)s", len(parts),
                                                      run=lane_name(data, run_id)), songs=songs,
                                       cluster_names=cluster_names(data, run_id))


def sound_tracks_figure(data, song_ids, with_nmf=True):
    """The producers' sound tracks of the songs (``sectionist tracks``): one panel per song, one row
    per sound in the stored order (similar sounds adjacent), then the NMF components."""
    table = data.table(SOUND_TRACKS)
    panels = []
    for sid in song_ids:
        rows = table[table["song_id"] == sid] if not table.empty else table
        if rows.empty:
            continue
        if not with_nmf:
            rows = rows[rows["kind"] == "sound"]
        tracks = []
        for kind in ("sound", "nmf"):
            part = rows[rows["kind"] == kind]
            for track, blocks in part.sort_values(["track", "start_s"]).groupby("track", sort=True):
                name = sound_track_label(kind, int(track), len(blocks), blocks["label"].iloc[0])
                tracks.append((kind, name, blocks["start_s"].to_numpy(), blocks["end_s"].to_numpy()))
        song = data.songs.loc[sid]
        duration = float(song["duration_s"]) if pd.notna(song.get("duration_s")) else float(rows["end_s"].max())
        panels.append({"song_id": sid, "title": song["title"], "duration": duration, "tracks": tracks})
    missing = len(song_ids) - len(panels)
    if not panels:
        # the job box above the figure says which songs lack them, and lets an admin compute them
        return common_figures.empty_figure(_("No sound tracks yet."), height=160)
    if missing:
        title = ngettext("Sound tracks · %(num)d song (%(missing)s without sound tracks yet) · click a block to listen",
                         "Sound tracks · %(num)d songs (%(missing)s without sound tracks yet) · click a block to listen",
                         len(panels), missing=integer(missing))
    else:
        title = ngettext("Sound tracks · %(num)d song · click a block to listen",
                         "Sound tracks · %(num)d songs · click a block to listen", len(panels))
    return song_figures.sound_tracks(panels, title=title)


def span_player(data, song_id, start, end, track=None):
    """A player for one span of a song (a sound-track block), with the song bar under it."""
    from sectionist.dashboard.ui.components.player import span_player as player

    song = data.songs.loc[song_id]
    duration = float(song["duration_s"]) if pd.notna(song.get("duration_s")) else end
    return player(song_id, song["title"], start, end, duration, element_id=ids.SONGS_SPAN_AUDIO, track=track)


def shown_songs(data, song, compare=None) -> list:
    """The songs the page shows: the picked ``song``, then the songs picked to compare with it (up to
    :data:`MAX_SONGS` in all, each once, only songs of the store)."""
    chosen = [song] if isinstance(song, str) else list(song or [])
    chosen += [compare] if isinstance(compare, str) else list(compare or [])
    return [s for s in dict.fromkeys(chosen) if isinstance(s, str) and s in data.songs.index][:MAX_SONGS]


def timeline(data, songs, view, run_id, selected_section=None, with_waveform=True, with_nmf=True):
    """The songs page's figure for the controls' values (``songs``: :func:`shown_songs`)."""
    songs = [s for s in (songs or []) if s in data.songs.index][:MAX_SONGS]
    if not songs:
        return common_figures.empty_figure(_("Pick a song"))
    if view == "sounds":
        return sound_tracks_figure(data, songs, with_nmf)
    if view == "tracks":
        return tracks_songs_figure(data, songs, run_id, selected_section)
    if len(songs) > 1:
        return multi_song_figure(data, songs, run_id, selected_section)
    waveform = None
    if with_waveform:
        from sectionist.dashboard.media.audio import song_envelope

        waveform = song_envelope(data, songs[0])
    return lanes_figure(data, songs[0], selected_section, waveform, reference=run_id)


def layout(song=None, section=None, run=None, view=None, songs=None, **_query):
    """``?song=ID`` (or ``?songs=ID,ID``: the first one, compared with the others)
    ``&view=lanes|tracks|sounds&section=…&run=…``."""
    data = get_data()
    sec = data.section(section) if section else None
    listed = [s for s in str(songs or "").split(",") if s in data.songs.index][:MAX_SONGS]
    if sec is not None:
        song, others = sec["song_id"], []
    elif listed:
        song, others = listed[0], listed[1:]
    else:
        others = []
    song = song if song in data.songs.index else (data.songs.index[0] if len(data.songs) else None)
    chosen = shown_songs(data, song, others)
    view = view if view in {v["value"] for v in VIEWS} else "lanes"
    run = run if run in data.runs.index else default_run(data)
    return html.Div(className="page page-songs", children=[
        click_store(ids.SONGS_TIMELINE),
        job_done_store(PAGE),
        dcc.Store(id=ids.selected(PAGE), data={"section_id": section if sec is not None else None, "run_id": run}),
        page_header(_("Songs"), _("Where each sound plays in a song, by every run; add songs to compare to line "
                                  "them up.")),
        card(None, html.Div(className="controls-row", children=[
            # picking a song replaces the song shown; comparing is a choice of its own
            control(_("Song"), dcc.Dropdown(id=ids.SONGS_SONG, multi=False, clearable=False, value=song,
                                         options=song_options(data, selected=song))),
            control(_("Compare with other songs"), dcc.Dropdown(
                id=ids.SONGS_COMPARE, multi=True, value=chosen[1:], placeholder=_("Add songs to line them up…"),
                options=song_options(data, selected=chosen[1:]))),
            control(_("View"), dcc.RadioItems(id=ids.SONGS_VIEW, options=view_options(), value=view, inline=True,
                                           className="checklist")),
            control(_("Sounds view"), dcc.Checklist(id=ids.SONGS_SOUND_NMF, value=["nmf"], className="checklist",
                                                    options=[{"label": _("NMF components"), "value": "nmf"}])),
            control(_("Run (reference colours, tracks, several songs)"), dropdown(ids.SONGS_RUN, run_options(data), run,
                                                                      optionHeight=48)),
            control(_("Export the songs' labels (this run)"), dropdown(ids.SONGS_EXPORT_KIND, downloads.choices(downloads.SONG_KINDS),
                                                                    "audacity")),
            html.Button(_("Download labels"), id=ids.SONGS_EXPORT, className="btn"),
            dcc.Download(id=ids.SONGS_DOWNLOAD),
        ])),
        html.Div(className="cluster-grid", children=[
            card(None,
                 # the Sounds view's songs without sound tracks: an admin computes them from here
                 html.Div(id=ids.SONGS_SOUNDS_JOB, className="songs-sounds-job"),
                 dcc.Graph(id=ids.SONGS_TIMELINE, config=graph_config(), figure=common_figures.empty_figure(_("Loading…"))),
                 # an expert's corrections of the song's structure, picked by clicks on the lanes (issue #22)
                 correction_panel(data, song, shown=view == "lanes" and len(chosen) == 1),
                 html.P(_("Click a block to listen to that section; the player's bar shows where it sits in the song. "
                          "Lanes: each run's clusters are coloured after matching them to the chosen run's "
                          "(one colour = matched clusters); a truth lane shows the ground truth where there is some; "
                          "structure lanes (hatched, in colours of their own) show each structure's parts, lettered "
                          "A, B, C… in the order they are first heard: a part is not a cluster. "
                          "Sounds: one row per distinct sound (beat fragments; similar sounds adjacent), "
                          "a click plays that block."), className="table-note"),
                 html.Div(id=ids.SONGS_SPAN_PLAYER),
                 # how sure each structure scheme is of the song's repeats (issue #21)
                 html.Div(song_structures(data, chosen), id=ids.SONGS_STRUCTURE, className="songs-structure"),
                 className="card-flush"),
            html.Aside(className="detail", children=[
                card(_("Section"), html.Div(id=ids.judge_container(PAGE)), html.Div(id=ids.SONGS_DETAIL)),
            ]),
        ]),
    ])


register_selection(PAGE, graph=ids.SONGS_TIMELINE, run=ids.SONGS_RUN)
register_song_search(ids.SONGS_SONG)
register_song_search(ids.SONGS_COMPARE)
register_judging(PAGE)
register_jobs(PAGE)
register_corrections(PAGE)


def graph_style(fig) -> dict:
    """The timeline graph's CSS height: the figure's own ``layout.height``. A responsive ``dcc.Graph``
    drops the figure's height and fills its box, so the box has to be as tall as the figure for the
    lanes (wrapped names on a phone) to get the room the figure gives them."""
    height = fig.layout.height if fig.layout.height else 450
    return {"height": f"{int(height)}px"}


@callback(Output(ids.SONGS_TIMELINE, "figure"), Output(ids.SONGS_TIMELINE, "style"),
          Output(ids.SONGS_SOUNDS_JOB, "children"), Input(ids.SONGS_SONG, "value"),
          Input(ids.SONGS_COMPARE, "value"), Input(ids.SONGS_VIEW, "value"), Input(ids.SONGS_RUN, "value"),
          Input(ids.selected(PAGE), "data"), Input(ids.SONGS_SOUND_NMF, "value"), Input(ids.job_done(PAGE), "data"))
def _timeline(song, compare, view, run, selected, nmf=None, _job_done=None):
    data = get_data()
    if dash.ctx.triggered_id == ids.job_done(PAGE):  # a sound-tracks job ended: this worker reads what it wrote
        data.refresh(force=True)
    songs = shown_songs(data, song, compare)
    fig = timeline(data, songs, view, run, (selected or {}).get("section_id"), with_nmf="nmf" in (nmf or []))
    return fig, graph_style(fig), sound_tracks_box(data, PAGE, songs[:MAX_SONGS]) if view == "sounds" else []


@callback(Output(ids.SONGS_STRUCTURE, "children"), Input(ids.SONGS_SONG, "value"), Input(ids.SONGS_COMPARE, "value"),
          Input(ids.job_done(PAGE), "data"), prevent_initial_call=True)
def _structure(song, compare, _job_done=None):
    # also after a job: a corrected structure (a new version) has other segments and parts
    data = get_data()
    return song_structures(data, shown_songs(data, song, compare))


def clicked_span(data, click):
    """(song_id, start_s, end_s) of a clicked sound-track block (its customdata), else None."""
    points = (click or {}).get("points") or []
    cd = points[0].get("customdata") if points else None
    if not isinstance(cd, (list, tuple)) or len(cd) < 3 or not isinstance(cd[0], str):
        return None
    try:
        start, end = float(cd[1]), float(cd[2])
    except (TypeError, ValueError):
        return None
    if cd[0] not in data.songs.index or not (0 <= start < end):
        return None
    return cd[0], start, end


@callback(Output(ids.SONGS_SPAN_PLAYER, "children"), Input(ids.SONGS_TIMELINE, "clickData"),
          dash.State(ids.SONGS_VIEW, "value"), prevent_initial_call=True)
def _play_span(click, view):
    data = get_data()
    span = clicked_span(data, click) if view == "sounds" else None
    if span is None:
        return dash.no_update
    cd = click["points"][0]["customdata"]
    return span_player(data, *span, track=cd[3] if len(cd) > 3 and isinstance(cd[3], str) else None)


@callback(Output(ids.SONGS_SONG, "value"), Input(ids.selected(PAGE), "data"), dash.State(ids.SONGS_SONG, "value"),
          dash.State(ids.SONGS_COMPARE, "value"), prevent_initial_call=True)
def _follow_selection(selected, song, compare):
    # a section chosen elsewhere (neighbour ▶, the map) brings its song into view, in place of the song shown
    data = get_data()
    sec = data.section((selected or {}).get("section_id"))
    if sec is None or sec["song_id"] in shown_songs(data, song, compare):
        return dash.no_update
    return sec["song_id"]


@callback(Output(ids.SONGS_DETAIL, "children"), Input(ids.selected(PAGE), "data"))
def _detail(selected):
    selected = selected or {}
    return section_detail(get_data(), selected.get("section_id"), selected.get("run_id"), PAGE,
                          autoplay=bool(selected.get("autoplay")), n_neighbours=6)



@callback(Output(ids.SONGS_DOWNLOAD, "data"), Input(ids.SONGS_EXPORT, "n_clicks"), dash.State(ids.SONGS_SONG, "value"),
          dash.State(ids.SONGS_COMPARE, "value"), dash.State(ids.SONGS_RUN, "value"),
          dash.State(ids.SONGS_EXPORT_KIND, "value"), prevent_initial_call=True)
def _download(_clicks, song, compare, run, kind):
    data = get_data()
    songs = shown_songs(data, song, compare)
    if not songs or not run or run not in data.runs.index:
        return dash.no_update
    exp = downloads.export_data(data, [run], song_ids=songs)
    several = ngettext("%(num)d song", "%(num)d songs", len(songs))
    stem = f"{data.songs.loc[songs[0], 'title'] if len(songs) == 1 else several}-{run}"
    return downloads.download(kind or "audacity", exp, stem, title=f"sectionist: {run_label(data, run)}")
