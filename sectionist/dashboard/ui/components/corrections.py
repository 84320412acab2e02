"""The Songs page's "Correct this structure" panel (issue #22): an expert corrects a song's structure
on its lanes, and sees the recomputed version as a new lane.

Under the lanes of one song, an expert or admin picks a structure (a ``structure · …`` lane) and what
is wrong with it, then clicks on the timeline (``assets/corrections.js`` turns a click into the time
under the pointer, :data:`ids.SONGS_CORRECT_CLICK`; a click on a structure lane also picks that
structure):

- **same part** / **different parts**: two clicks, one on each segment;
- **split here**: one click, where the new boundary goes;
- **move a boundary**: a click near the boundary, then one where it goes.

Each picked time is drawn as a dashed line across the lanes (a clientside callback in the same
file). The panel says what is picked in words ("segment 3 (0:42.0–0:58.0, part B) and segment 6 (…)"),
and Send posts it through the same checks as ``POST /api/structure-corrections``
(:func:`sectionist.dashboard.judging.structure_routes.submit_structure_correction`, called from the
callback: same user, same validation, same job). The status line follows the ``structure``
background job (:mod:`sectionist.dashboard.jobs`); when it ends the page's ``job_done`` store is set,
the store is read again and the lanes show the new version ("structure · merged v2"). The panel
lists every version of the chosen structure as a lane of its own, so the older ones stay readable.
Refusals (a contradiction, two times in one segment) and a busy recompute are said in plain words;
a correction recorded while another song's recompute runs is sent again (same ``client_id``, nothing
recorded twice) when that one ends, which starts its own.

The Lab shows the same panel (:data:`LAB`: its own ids, registered by ``pages/lab.py``); there the
chosen structure's versions are always drawn as lanes, latest on top, and the clicks land on them.

Viewers get no panel (:func:`correction_panel` returns None), and the server refuses their posts
whatever the page sent. The pure functions (:func:`structure_segments`, :func:`add_click`,
:func:`picked_words`, :func:`payload_of`, :func:`send`, :func:`poll`) are what the tests call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from sectionist.analysis.errors import ParameterError, SectionistError
from sectionist.dashboard.auth.context import current_user_or_none
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.components.common import control, fmt_time, graph_config
from sectionist.dashboard.ui.figures.common import escape_text
from sectionist.dashboard.ui.i18n import N_, _

#: What an expert can say is wrong, in the order offered (codes of ``structure_corrections.kind``).
KIND_WORDS = {"same": N_("same part"), "different": N_("different parts"), "split": N_("split here"),
              "boundary": N_("move a boundary")}
#: Clicks each kind needs.
CLICKS = {"same": 2, "different": 2, "split": 1, "boundary": 2}
#: Times picked by a click are kept to this many decimals (seconds).
TIME_DECIMALS = 2
#: How often the status line asks how the recompute stands (ms).
POLL_MS = 1000


@dataclass(frozen=True)
class PanelIds:
    """The ids of one page's panel (the same panel on the Songs page and the Lab). ``lanes``: on the
    Lab, the chosen structure's versions are drawn as lanes with this id, always, and clicks on them
    pick (on the Songs page clicks land on its timeline, ``ids.SONGS_TIMELINE``, and the versions
    show only when there are several)."""

    panel: str
    scheme: str
    kind: str
    click: str
    picks: str
    picked: str
    send: str
    clear: str
    status: str
    job: str
    poll: str
    versions: str
    lanes: str | None = None


SONGS = PanelIds(ids.SONGS_CORRECT, ids.SONGS_CORRECT_SCHEME, ids.SONGS_CORRECT_KIND, ids.SONGS_CORRECT_CLICK,
                 ids.SONGS_CORRECT_PICKS, ids.SONGS_CORRECT_PICKED, ids.SONGS_CORRECT_SEND, ids.SONGS_CORRECT_CLEAR,
                 ids.SONGS_CORRECT_STATUS, ids.SONGS_CORRECT_JOB, ids.SONGS_CORRECT_POLL, ids.SONGS_CORRECT_VERSIONS)
LAB = PanelIds(ids.LAB_CORRECT, ids.LAB_CORRECT_SCHEME, ids.LAB_CORRECT_KIND, ids.LAB_CORRECT_CLICK,
               ids.LAB_CORRECT_PICKS, ids.LAB_CORRECT_PICKED, ids.LAB_CORRECT_SEND, ids.LAB_CORRECT_CLEAR,
               ids.LAB_CORRECT_STATUS, ids.LAB_CORRECT_JOB, ids.LAB_CORRECT_POLL, ids.LAB_CORRECT_VERSIONS,
               lanes=ids.LAB_CORRECT_LANES)


# ---- the song's structures ------------------------------------------------------------------------
def structure_table(data) -> pd.DataFrame:
    """Every version's ``section``-level rows of the store's ``segments`` (a ``version`` column, 1
    where an older store has none)."""
    from sectionist.store.schema import SEGMENTS

    table = data.table(SEGMENTS)
    if table.empty:
        return table
    if "level" in table.columns:
        table = table[table["level"].fillna("section") == "section"]
    version = table["version"].fillna(1).astype(int) if "version" in table.columns else 1
    return table.assign(version=version)


def lane_title(scheme: str, version: int) -> str:
    """A structure lane's name: ``"structure · merged"`` for the scheme's own version, ``"structure ·
    merged v2"`` for a corrected one."""
    if int(version) <= 1:
        return _("structure · %(scheme)s", scheme=scheme)
    return _("structure · %(scheme)s v%(version)s", scheme=scheme, version=int(version))


def song_schemes(data, song_id) -> dict[str, int]:
    """``{scheme: latest version}`` of ``song_id``'s structures, in the lanes' order."""
    from sectionist.dashboard.ui.naming import scheme_order

    table = structure_table(data)
    if table.empty:
        return {}
    rows = table[table["song_id"] == song_id]
    latest = rows.groupby("scheme")["version"].max()
    return {str(s): int(latest[s]) for s in sorted(latest.index, key=scheme_order)}


def structure_segments(data, song_id, scheme, version: int | None = None) -> pd.DataFrame:
    """One version (default: the latest) of ``song_id``'s ``scheme`` structure, in time order, with
    ``part`` (0 = the part heard first: "part A", as the lanes letter them); empty when there is none."""
    table = structure_table(data)
    if table.empty:
        return table
    rows = table[(table["song_id"] == song_id) & (table["scheme"] == scheme)]
    if rows.empty:
        return rows
    version = int(rows["version"].max()) if version is None else int(version)
    seg = rows[rows["version"] == version].sort_values("start_s").reset_index(drop=True)
    return seg.assign(part=pd.factorize(seg["label"].to_numpy(dtype=int), sort=False)[0])


def segment_at(seg: pd.DataFrame, t: float) -> int:
    """The index (time order) of the segment of ``seg`` holding time ``t``."""
    starts = seg["start_s"].to_numpy(float)
    return int(np.clip(np.searchsorted(starts, float(t), side="right") - 1, 0, len(starts) - 1))


def boundary_near(seg: pd.DataFrame, t: float) -> int | None:
    """The index of the segment that starts at the boundary nearest ``t`` (between segment ``i - 1``
    and ``i``), or None when the structure has a single segment."""
    starts = seg["start_s"].to_numpy(float)
    if len(starts) < 2:
        return None
    return int(np.argmin(np.abs(starts[1:] - float(t)))) + 1


# ---- picking by clicks ------------------------------------------------------------------------------
def empty_picks(song_id=None, scheme=None, kind="same") -> dict:
    """Nothing picked yet on ``song_id``'s ``scheme`` for a correction of ``kind``."""
    return {"song_id": song_id, "scheme": scheme, "kind": kind, "times": []}


def add_click(picks: dict, time: float) -> dict:
    """``picks`` with one more clicked time; a click after the last one the kind needs starts over."""
    times = list(picks.get("times") or [])
    if len(times) >= CLICKS.get(picks.get("kind"), 2):
        times = []
    return {**picks, "times": times + [round(float(time), TIME_DECIMALS)]}


def scheme_of_lane(data, song_id, lane) -> str | None:
    """The scheme of a clicked lane when it is one of the song's structure lanes (``lane`` as the
    figure names it, escaped), else None."""
    for scheme, version in song_schemes(data, song_id).items():
        if lane == escape_text(lane_title(scheme, version)):
            return scheme
    return None


def segment_words(seg: pd.DataFrame, i: int) -> str:
    """``"segment 3 (0:42.0–0:58.0, part B)"``."""
    from sectionist.dashboard.ui.figures.songs import part_name

    row = seg.iloc[i]
    return _("segment %(n)s (%(start)s–%(end)s, %(part)s)", n=i + 1, start=fmt_time(row["start_s"]),
             end=fmt_time(row["end_s"]), part=part_name(int(row["part"])))


def picked_words(data, picks: dict) -> tuple[str, bool]:
    """What ``picks`` says in words, or what to click next, and whether it is ready to send."""
    words, ready = _picked_words(data, picks)
    return words[:1].upper() + words[1:], ready  # a sentence that starts with "segment 3 (…)"


def _picked_words(data, picks: dict) -> tuple[str, bool]:
    song_id, scheme, kind = picks.get("song_id"), picks.get("scheme"), picks.get("kind")
    times = list(picks.get("times") or [])
    seg = structure_segments(data, song_id, scheme) if scheme else pd.DataFrame()
    if seg.empty:
        return _("Pick a structure to correct."), False
    if kind in ("same", "different"):
        if not times:
            return _("Click a segment on the lanes."), False
        first = segment_words(seg, segment_at(seg, times[0]))
        if len(times) == 1:
            return _("%(first)s: now click the other segment.", first=first), False
        a, b = segment_at(seg, times[0]), segment_at(seg, times[1])
        if a == b:
            return _("Both clicks are in %(first)s: click two different segments.", first=first), False
        second = segment_words(seg, b)
        if kind == "same":
            return _("%(first)s and %(second)s are the same part.", first=first, second=second), True
        return _("%(first)s and %(second)s are different parts.", first=first, second=second), True
    if kind == "split":
        if not times:
            return _("Click where the new boundary goes."), False
        return _("Split %(segment)s at %(time)s.", segment=segment_words(seg, segment_at(seg, times[0])),
                 time=fmt_time(times[0])), True
    if kind == "boundary":
        i = boundary_near(seg, times[0]) if times else None
        if not times:
            return _("Click the boundary to move."), False
        if i is None:
            return _("This structure has one segment: it has no boundary to move."), False
        moved = _("the boundary at %(time)s (between segments %(a)s and %(b)s)",
                  time=fmt_time(seg["start_s"].iloc[i]), a=i, b=i + 1)
        if len(times) == 1:
            return _("Move %(boundary)s: now click where it goes.", boundary=moved), False
        return _("Move %(boundary)s to %(time)s.", boundary=moved, time=fmt_time(times[1])), True
    return _("Pick what is wrong."), False


def payload_of(data, picks: dict, client_id: str) -> dict:
    """The ``POST /api/structure-corrections`` payload of complete ``picks``: ``same``/``different``
    name the middles of the two segments, ``boundary`` the boundary's own time and where it goes,
    ``split`` the clicked time; ``scheme`` names the version shown (``merged~v2``)."""
    from sectionist.analysis.structure.versions import version_name

    song_id, scheme, kind, times = picks["song_id"], picks["scheme"], picks["kind"], list(picks["times"])
    seg = structure_segments(data, song_id, scheme)
    if seg.empty:
        raise ParameterError(f"song {song_id!r} has no {scheme!r} structure")
    shown = version_name(scheme, int(seg["version"].iloc[0]))
    out = {"song_id": song_id, "scheme": shown, "kind": kind, "client_id": client_id}
    if kind in ("same", "different"):
        mids = [(seg["start_s"].iloc[i] + seg["end_s"].iloc[i]) / 2 for i in (segment_at(seg, t) for t in times)]
        out.update(time_a=round(float(mids[0]), 3), time_b=round(float(mids[1]), 3))
    elif kind == "split":
        out.update(time_a=times[0])
    else:
        i = boundary_near(seg, times[0])
        out.update(time_a=round(float(seg["start_s"].iloc[i]), 3), time_b=times[1])
    return out


# ---- sending and following the recompute -----------------------------------------------------------
def refusal_words(exc: Exception) -> str:
    """Why the server refused a correction, in plain words."""
    from sectionist.dashboard.judging.queues import NotFound
    from sectionist.dashboard.models import PermissionDenied

    text = str(exc)
    if isinstance(exc, PermissionDenied):
        return _("Only experts and admins can correct a structure.")
    if isinstance(exc, NotFound):
        return _("This song or its structure is no longer in the store; reload the page.")
    if "tied as the same part" in text:
        return _("This contradicts an earlier correction: those two segments were said to be the same part "
                 "(directly or through others). Withdraw that one first, or pick other segments.")
    if "are in one segment" in text:
        return _("Both times are in one segment of the scheme's own structure: pick two segments.")
    if "outside the song" in text:
        return _("A time lies outside the song.")
    return _("The correction was refused: %(reason)s", reason=text)


def running_view(waiting: bool = False) -> list:
    """The status line while a recompute runs (or while this correction waits for another's)."""
    text = (_("Your correction is recorded. Another structure is being recomputed now; this one starts "
              "when it ends.") if waiting else
            _("Recomputing this song's structure in the background (it listens to the song again: some "
              "seconds)…"))
    return [html.Progress(className="job-progress"), html.Span(text, className="job-text")]


def error_view(text: str) -> list:
    return [html.Span(text, className="job-text job-error")]


def send(data, picks: dict, client_id: str | None = None) -> tuple[list, dict | None]:
    """Post complete ``picks`` for the logged-in user, through the route's own checks. Returns the
    status line and the job to follow (None when refused)."""
    try:
        payload = payload_of(data, picks, client_id or uuid.uuid4().hex)
    except SectionistError as exc:
        return error_view(refusal_words(exc)), None
    before = song_schemes(data, picks["song_id"]).get(picks["scheme"], 1)  # the version the expert saw
    return send_payload(payload, {"song_id": picks["song_id"], "scheme": picks["scheme"], "before": before})


def poll(data, job: dict) -> tuple[list, dict | None, dict | None]:
    """How the recompute of ``job`` stands. Returns (status line, job still followed or None, the
    page's ``job_done`` value when it has just ended well, else None)."""
    from sectionist.dashboard.jobs import get_jobs

    state = get_jobs().state("structure")
    if job.get("waiting"):
        if state.running:
            return running_view(True), job, None
        # the other recompute ended: this correction's own starts now (its client_id: not recorded twice)
        picks = {"song_id": job["song_id"], "scheme": job["scheme"], "before": job.get("before", 1)}
        status, again = send_payload(job["payload"], picks)
        return status, again, None
    ours = state.job_id == job.get("job_id")
    if ours and state.running:
        return running_view(False), job, None
    if (ours and state.status == "done") or not ours:
        # ended well, or ended and another expert's recompute started since: the song's newer version says
        data.refresh(force=True)  # the job wrote a new version and bumped the store's version
        version = song_schemes(data, job["song_id"]).get(job["scheme"], 1)
        if ours or version > int(job.get("before") or 1):
            text = _("Done: the lanes show %(lane)s.", lane=lane_title(job["scheme"], version))
            return [html.Span(text, className="job-text")], None, {"job_id": job["job_id"], "kind": "structure"}
    if ours and state.status == "failed":
        return error_view(_("The recomputation failed: %(reason)s", reason=state.reason)), None, None
    return error_view(_("The recomputation stopped before it finished (the server may have restarted). "
                        "Send the correction again.")), None, None


def send_payload(payload: dict, picks: dict) -> tuple[list, dict | None]:
    """Post ``payload`` (:func:`payload_of`; again, for a correction that waited for another
    recompute: its ``client_id`` records it once) for ``picks``' song and scheme. Returns the status
    line and the job to follow: ``{"song_id", "scheme", "before", "job_id", "payload", "waiting"}``
    (``before``: the latest version when it was sent), ``waiting``
    when another recompute runs (None when refused)."""
    from sectionist.dashboard.judging.structure_routes import submit_structure_correction

    try:
        answer, _created = submit_structure_correction(payload)
    except SectionistError as exc:
        return error_view(refusal_words(exc)), None
    waiting = answer["job"]["status"] == "busy"
    return running_view(waiting), {**picks, "job_id": answer["job"]["job_id"], "payload": payload, "waiting": waiting}


# ---- the panel --------------------------------------------------------------------------------------
def versions_view(data, song_id, scheme, *, graph_id: str | None = None) -> list:
    """Every version of the song's ``scheme`` structure as a lane (v1 the scheme's own), when there is
    more than one: the older ones stay readable beside the latest. With ``graph_id`` (the Lab) the
    lanes are drawn even for one version, latest on top, in a graph of that id: the lanes clicks pick on."""
    from sectionist.dashboard.ui.figures import songs as song_figures

    table = structure_table(data)
    if table.empty or not scheme:
        return []
    rows = table[(table["song_id"] == song_id) & (table["scheme"] == scheme)]
    versions = sorted((int(v) for v in rows["version"].unique()), reverse=graph_id is not None)
    if len(versions) < (1 if graph_id else 2):
        return []
    lanes = []
    for v in versions:
        seg = structure_segments(data, song_id, scheme, v)
        parts = seg["part"].to_numpy()
        name = _("%(scheme)s v%(version)s", scheme=scheme, version=v)
        lanes.append(song_figures.Lane(name, seg["start_s"].to_numpy(float), seg["end_s"].to_numpy(float), parts,
                                       np.full(len(seg), -1), None, parts, song_figures.STRUCTURE))
    duration = float(data.songs.loc[song_id, "duration_s"]) if song_id in data.songs.index else \
        float(rows["end_s"].max())
    fig = song_figures.song_timeline(lanes, duration=duration)
    # short names ("merged v2"): they stay at the left on a phone too (no narrow variant), no legend
    # (the lanes above have it); as tall as its lanes and the time axis
    height = 46 * len(lanes) + 60
    fig.update_layout(showlegend=False, height=height, margin=dict(l=60, t=8, b=44), meta=None)
    if graph_id:
        return [html.P(_("Click on the latest version (the top lane); every version of %(scheme)s is kept "
                         "(v1: the scheme's own):", scheme=scheme), className="muted small correct-versions-title"),
                # no mode bar: on a short graph it covers the top lane, where the clicks go
                dcc.Graph(id=graph_id, figure=fig, config={**graph_config(), "displayModeBar": False},
                          className="correct-versions-graph",
                          style={"height": f"{height}px"})]
    return [html.P(_("Every version of %(scheme)s (v1: the scheme's own, the latest is on the lanes above):",
                     scheme=scheme), className="muted small correct-versions-title"),
            dcc.Graph(figure=fig, config=graph_config(), className="correct-versions-graph",
                      style={"height": f"{height}px"})]


def correction_panel(data, song_id, *, shown: bool = True, panel: PanelIds = SONGS) -> html.Div | None:
    """The panel for an expert or admin (None for anyone else): under the Songs page's lanes
    (hidden unless ``shown``: the Lanes view of one song, and the song has a structure), or on the
    Lab (``panel=LAB``)."""
    user = current_user_or_none()
    if user is None or not user.can_judge:
        return None
    schemes = song_schemes(data, song_id)
    scheme = next(iter(schemes), None)
    picks = empty_picks(song_id, scheme)
    words, _ready = picked_words(data, picks)
    return html.Div(id=panel.panel, className="correct-panel", hidden=not (schemes and shown), children=[
        html.H3(_("Correct this structure"), className="correct-title"),
        html.P(_("Pick a structure and what is wrong with it, then click on the lanes. The song's structure is "
                 "recomputed so that your correction holds, as a new version; the older ones are kept."),
               className="muted small"),
        html.Div(className="controls-row", children=[
            control(_("Structure"), dcc.Dropdown(id=panel.scheme, clearable=False, value=scheme,
                                                 options=scheme_options(schemes))),
            control(_("What is wrong"), dcc.RadioItems(id=panel.kind, value="same", inline=True,
                                                       className="checklist", options=kind_options())),
        ]),
        html.P(words, id=panel.picked, className="correct-picked", **{"aria-live": "polite"}),
        html.Div(className="correct-actions", children=[
            html.Button(_("Send the correction"), id=panel.send, n_clicks=0, className="btn",
                        disabled=True),
            html.Button(_("Start again"), id=panel.clear, n_clicks=0, className="btn btn-ghost"),
        ]),
        html.Div(id=panel.status, className="job-status", role="status", **{"aria-live": "polite"}),
        html.Div(versions_view(data, song_id, scheme, graph_id=panel.lanes), id=panel.versions),
        dcc.Store(id=panel.click),
        dcc.Store(id=panel.picks, data=picks),
        dcc.Store(id=panel.job),
        dcc.Interval(id=panel.poll, interval=POLL_MS, disabled=True),
    ])


def scheme_options(schemes: dict) -> list[dict]:
    return [{"label": lane_title(s, v), "value": s} for s, v in schemes.items()]


def kind_options() -> list[dict]:
    return [{"label": _(w), "value": k} for k, w in KIND_WORDS.items()]


def panel_state(data, *, song, compare=None, view=None, scheme, kind, click, trigger, picks, done_id=None,
                panel: PanelIds = SONGS) -> dict:
    """The panel after one of its inputs changed (``trigger``: the id that did; ``done_id``: the page's
    ``job_done`` store, whose change starts the picks over): whether it shows, the
    structure choices, what is picked and its words, whether Send is on, the versions' lanes."""
    one_song = bool(song) and not compare and (view or "lanes") == "lanes" and song in data.songs.index
    schemes = song_schemes(data, song) if one_song else {}
    if not schemes:
        return {"hidden": True, "options": [], "scheme": None, "picks": empty_picks(song, None, kind or "same"),
                "words": "", "ready": False, "versions": []}
    scheme = scheme if scheme in schemes else next(iter(schemes))
    picks = dict(picks or {})
    clicked = trigger == panel.click and isinstance(click, dict) \
        and isinstance(click.get("time"), (int, float))
    if clicked:  # a click on a structure lane picks that structure
        scheme = scheme_of_lane(data, song, click.get("lane")) or scheme
    same = (picks.get("song_id"), picks.get("scheme"), picks.get("kind")) == (song, scheme, kind)
    last = picks.get("last_n") or 0  # the browser's number of the last click these picks hold
    if not same or trigger in (panel.clear, done_id):
        picks = {**empty_picks(song, scheme, kind), "last_n": last}
    if clicked:
        # a click made before the answer to the previous one came back: that answer was dropped (Dash
        # keeps the latest call's), and these picks lack the previous click, which the browser sends along
        for earlier in click.get("recent") or []:
            if isinstance(earlier, dict) and isinstance(earlier.get("time"), (int, float)) \
                    and isinstance(earlier.get("n"), (int, float)) and earlier["n"] > last:
                picks = add_click(picks, earlier["time"])
        picks = {**add_click(picks, click["time"]), "last_n": click.get("n") or last}
    words, ready = picked_words(data, picks)
    return {"hidden": False, "options": scheme_options(schemes), "scheme": scheme, "picks": picks, "words": words,
            "ready": ready, "versions": versions_view(data, song, scheme, graph_id=panel.lanes)}


def register_corrections(page: str, panel: PanelIds = SONGS, *, song: str = ids.SONGS_SONG,
                         compare: str | None = ids.SONGS_COMPARE, view: str | None = ids.SONGS_VIEW) -> None:
    """Register the panel's callbacks on ``page`` (its layout holds :func:`correction_panel` for
    experts and ``ids.job_done(page)``): the Songs page's, or the Lab's (``panel=LAB``, ``song=ids.LAB_SONG``,
    no ``compare`` or ``view`` control)."""
    # the picked times drawn on the clicked lanes, in the browser (assets/corrections.js)
    clientside_callback(ClientsideFunction(namespace="sectionist_corrections",
                                           function_name="markLab" if panel.lanes else "mark"),
                        Input(panel.picks, "data"), prevent_initial_call=True)
    shown = [Input(song, "value")] + [Input(c, "value") for c in (compare, view) if c]

    @callback(Output(panel.panel, "hidden"), Output(panel.scheme, "options"),
              Output(panel.scheme, "value"), Output(panel.picks, "data"),
              Output(panel.picked, "children"), Output(panel.send, "disabled"),
              Output(panel.versions, "children"), *shown,
              Input(panel.scheme, "value"), Input(panel.kind, "value"),
              Input(panel.click, "data"), Input(panel.clear, "n_clicks"),
              Input(ids.job_done(page), "data"), State(panel.picks, "data"),
              State(panel.job, "data"), prevent_initial_call=True)
    def _panel(*args):
        song_v, rest = args[0], list(args[1:len(shown)])
        compare_v = rest.pop(0) if compare else None
        view_v = rest.pop(0) if view else None
        scheme, kind, click, _clear, _done, picks, job = args[len(shown):]
        s = panel_state(get_data(), song=song_v, compare=compare_v, view=view_v, scheme=scheme, kind=kind,
                        click=click, trigger=ctx.triggered_id, picks=picks, done_id=ids.job_done(page), panel=panel)
        busy = bool(job)  # one correction at a time from this page
        # the lanes are drawn again only for another song, structure or version: a new graph would
        # lose the clicks made while assets/corrections.js has not found it yet
        redraw = ctx.triggered_id in (None, song, compare, view, panel.scheme, ids.job_done(page)) \
            or s["scheme"] != scheme
        return (s["hidden"], s["options"], s["scheme"], s["picks"], s["words"], busy or not s["ready"],
                s["versions"] if redraw else no_update)

    @callback(Output(panel.status, "children"), Output(panel.job, "data"),
              Output(panel.poll, "disabled"), Output(ids.job_done(page), "data", allow_duplicate=True),
              Output(panel.send, "disabled", allow_duplicate=True),
              Input(panel.send, "n_clicks"), Input(panel.poll, "n_intervals"),
              State(panel.picks, "data"), State(panel.job, "data"),
              prevent_initial_call=True)
    def _job(clicks, _ticks, picks, job):
        data = get_data()
        if ctx.triggered_id == panel.send:
            if not clicks or job or not picked_words(data, picks or {})[1]:
                return no_update, no_update, no_update, no_update, no_update
            status, job = send(data, picks)
            return status, job, job is None, no_update, job is not None
        if not job:
            return no_update, None, True, no_update, no_update
        status, job, done = poll(data, job)
        return status, job, job is None, done if done is not None else no_update, job is not None
