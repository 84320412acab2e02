"""The one validation layer for what the browser sends to Dash callbacks (issue 24, item 2).

Every input and state of every server callback is declared here, by component id (or, for
pattern-matching ids, by their ``"type"``) and property, with a check: a whole number in a range,
a number in a range, one of a set, a run, section, song, space or projection the store has *now*,
a list of those with a length bound, a dict with known keys. :func:`install` checks each
``POST /_dash-update-component`` before Dash calls the callback: a value that fails its check (a
crafted request, or a page still naming a run that ``sectionist runs delete`` removed) is
answered with no update to the callback's outputs and a message in the shell's alert
(:data:`sectionist.dashboard.ui.ids.INPUT_ALERT`), never a 500 — as the REST API answers 400.

A property no spec names is refused too, so a callback added later needs its spec here
(``tests/test_callback_fuzz.py`` checks every registered callback, and fuzzes each of them through
the real endpoint). docs/security.md has the rule.
"""

from __future__ import annotations

import math

from sectionist.analysis.sections.lab import KS, MIN_SLICE_BEATS
from sectionist.analysis.structure.constrained import KINDS as CORRECTION_KINDS
from sectionist.dashboard.jobs import KINDS as JOB_KINDS
from sectionist.dashboard.judging.queues import STRATEGIES
from sectionist.dashboard.vocabulary import PAIRS
from sectionist.dashboard.media import downloads
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.store_notice import damage_text
from sectionist.dashboard.ui.i18n import _

INT32 = (-2**31, 2**31 - 1)
#: The longest text any control sends (comments are capped at 2000 by their text areas).
MAX_TEXT = 5000
#: The judge page's run value for the blind comparison of every run (``pages/judge.py`` MIXED).
MIXED = "mixed"
#: Values of the fixed controls whose lists live in the page modules (which this module cannot
#: import: Dash loads them by name): the Map's base colourings, the Songs page's views.
MAP_BASE_COLORS = ("cluster", "song", "confidence", "silhouette", "stability")
SONG_VIEWS = ("lanes", "tracks", "sounds")
CLUSTER_VERDICTS = ("coherent", "mixed", "split", "merge")
SECTION_VERDICTS = ("agree", "disagree", "unsure")


class Invalid(ValueError):
    """A value that fails its check; ``str(exc)`` says why, in the reader's language."""


# ---- checks: each is ``check(value, data)``, raising Invalid; None passes unless ``required`` ----
def _nullable(check, required=False):
    def run(value, data):
        if value is None:
            if required:
                raise Invalid(_("a value is required"))
            return
        check(value, data)
    return run


def whole(low=INT32[0], high=INT32[1], **kw):
    """An int (not a bool, not a float) with ``low <= value <= high``."""
    def check(value, data):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(_("not a whole number from %(low)s to %(high)s", low=low, high=high))
    return _nullable(check, **kw)


def number(low, high, **kw):
    """An int or a finite float with ``low <= value <= high``."""
    def check(value, data):
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or not low <= value <= high):
            raise Invalid(_("not a number from %(low)s to %(high)s", low=low, high=high))
    return _nullable(check, **kw)


def boolean(**kw):
    def check(value, data):
        if not isinstance(value, bool):
            raise Invalid(_("not true or false"))
    return _nullable(check, **kw)


def text(max_len=MAX_TEXT, **kw):
    def check(value, data):
        if not isinstance(value, str) or len(value) > max_len:
            raise Invalid(_("not a text of at most %(n)s characters", n=max_len))
    return _nullable(check, **kw)


def one_of(values, **kw):
    """One of ``values`` (a collection, or ``values(data)`` for a set the store decides)."""
    def check(value, data):
        allowed = values(data) if callable(values) else values
        try:
            ok = not isinstance(value, (list, dict, bool)) and value in allowed
        except TypeError:
            ok = False
        if not ok:
            shown = ", ".join(str(v) for v in list(allowed)[:8]) + (" …" if len(allowed) > 8 else "")
            raise Invalid(_("not one of: %(choices)s", choices=shown))
    return _nullable(check, **kw)


def run_id(*extra, **kw):
    """A run of the store as it is now (a run deleted since the page was drawn fails)."""
    def check(value, data):
        if isinstance(value, str) and (value in extra or (len(value) <= 300 and value in data.runs.index)):
            return
        damaged = data.damaged_runs().get(value) if isinstance(value, str) else None
        if damaged is not None:  # left out of the store's runs because a part of it is damaged
            raise Invalid(_("Run %(run)s is unavailable: %(error)s", run=_short(value), error=damage_text(damaged)))
        raise Invalid(_("the run %(run)s is not in the store (deleted?)", run=_short(value)))
    return _nullable(check, **kw)


def section_id(**kw):
    def check(value, data):
        if not isinstance(value, str) or len(value) > 300 or data.position(value) is None:
            raise Invalid(_("the section %(section)s is not in the store", section=_short(value)))
    return _nullable(check, **kw)


def song_id(**kw):
    def check(value, data):
        if not isinstance(value, str) or len(value) > 300 or value not in data.songs.index:
            raise Invalid(_("the song %(song)s is not in the store", song=_short(value)))
    return _nullable(check, **kw)


def list_of(item, max_len, **kw):
    def check(value, data):
        if not isinstance(value, list) or len(value) > max_len:
            raise Invalid(_("not a list of at most %(n)s items", n=max_len))
        for v in value:
            item(v, data)
    return _nullable(check, **kw)


def either(*checks, **kw):
    """Passes when one of ``checks`` passes (the first one's reason otherwise)."""
    def check(value, data):
        first = None
        for c in checks:
            try:
                c(value, data)
                return
            except Invalid as exc:
                first = first or exc
        raise first
    return _nullable(check, **kw)


def record(fields: dict, *, extra=None, **kw):
    """A dict whose keys are among ``fields`` (each value checked); other keys are refused, or
    checked with ``extra`` when given."""
    def check(value, data):
        if not isinstance(value, dict) or len(value) > max(len(fields), 1) + (64 if extra else 0):
            raise Invalid(_("not an object with the expected keys"))
        for key, v in value.items():
            c = fields.get(key, extra)
            if c is None:
                raise Invalid(_("unexpected key %(key)s", key=_short(key)))
            c(v, data)
    return _nullable(check, **kw)


def _short(value) -> str:
    s = repr(value) if not isinstance(value, str) else value
    return s if len(s) <= 60 else s[:57] + "…"


def _spaces(data):
    return set(data.spaces())


def _projections(data):
    cat = data.projection_catalog
    return {f"{k}{d}" for k, d in zip(cat["kind"], cat["dims"])}


def _colors(data):
    return set(MAP_BASE_COLORS) | {f"feature:{f}" for f in data.feature_names}


# ---- shared shapes ---------------------------------------------------------------------------
CLICKS = whole(0, INT32[1])
SCALAR = either(number(-1e300, 1e300), text(1000), boolean())
#: A value inside a Plotly event: a scalar, a short list, or a small object of those (a point's
#: ``bbox`` is ``{"x0", "x1", "y0", "y1"}``).
JSON_LEAF = either(SCALAR, list_of(SCALAR, 64), record({}, extra=either(SCALAR, list_of(SCALAR, 64))))
#: A Plotly event (``clickData``): its points, each a dict of those values.
PLOTLY_EVENT = record({"points": list_of(record({}, extra=JSON_LEAF), 100)}, extra=JSON_LEAF)
#: A graph's click as ``CLICK_TO_ROW_JS`` (``components/selection.py``) stores it: ``{row, at}``, or
#: ``{cell: [x, y], at}`` for a density cell (``at``: the browser's clock, so a second click on the
#: same point is a change); a raw Plotly event is read the same way.
CLICK_ROW = either(record({"row": either(whole(0), section_id(), list_of(SCALAR, 8)),
                           "cell": list_of(number(-1e300, 1e300), 2), "at": number(0, 1e16)}),
                   PLOTLY_EVENT)
#: A page's selection store (``components/selection.py``; the judge page's queue item).
SELECTION = record({"section_id": section_id(), "run_id": run_id(), "autoplay": boolean(), "blind": boolean(),
                    "source": text(200)})
#: The session-wide selection: a run deleted since it was stored is harmless there (only the
#: section is read back), so its run is any short text.
GLOBAL_SELECTION = record({"section_id": section_id(), "run_id": text(300)})
ACTIVE_CELL = record({"row": whole(0), "column": whole(0), "column_id": text(200), "row_id": SCALAR})
CLUSTER = whole(-1)
FILTERS = record({"run": run_id(), "color": one_of(_colors), "songs": list_of(song_id(), 10_000),
                  "clusters": list_of(CLUSTER, 1000), "central": either(boolean(), list_of(one_of(("c",)), 1)),
                  "confidence": list_of(number(0, 1), 2)})
MAP_META = record({"ring": whole(0), "space": one_of(_spaces), "projection": one_of(_projections),
                   "density": boolean(), "view": list_of(number(-1e300, 1e300), 4), "filters": FILTERS,
                   "threshold": whole(1), "grid": record({k: number(-1e300, 1e300) for k in ("x0", "y0", "dx", "dy")})})
POINTS = list_of(number(-1e300, 1e300), 100_000)
MAP_ROWS = record({"rows": list_of(whole(0), 10_000_000), "n": whole(0), "active": boolean(),
                   "range": record({"x": list_of(number(-1e300, 1e300), 2), "y": list_of(number(-1e300, 1e300), 2)}),
                   "lasso": record({"x": POINTS, "y": POINTS})})
QUEUE_ITEM = record({"section_id": section_id(required=True), "run_id": run_id(required=True),
                     "cluster": whole(-1, required=True)})
#: a pair of the Judge page's pairs mode (``judging.queues.build_pair_queue``)
PAIR_ITEM = record({"section_a": section_id(required=True), "section_b": section_id(required=True),
                    "run_id": run_id(required=True), "cluster_a": whole(-1), "cluster_b": whole(-1)})
JUDGE_QUEUE = record({"items": list_of(either(QUEUE_ITEM, PAIR_ITEM), 1000), "index": whole(0, 1000, required=True),
                      "blind": boolean(), "strategy": one_of((*STRATEGIES, PAIRS)), "run_id": run_id(MIXED),
                      "mixed": boolean(), "pairs": boolean(), "token": text(64), "note": text(500)})
JUDGE_CTX = record({"section_id": section_id(), "run_id": run_id(), "cluster": CLUSTER, "blind": boolean(),
                    "source": text(200)})
JUDGE_SAVED = record({"id": whole(0), "verdict": one_of(SECTION_VERDICTS), "section_id": section_id(),
                      "run_id": run_id(), "suggested": CLUSTER})
#: the propagation listen-list's context (``components/propagate.py``)
PROPAGATE_CTX = record({"run_id": run_id(), "cluster": CLUSTER, "suggested": CLUSTER, "section_id": section_id()})

#: What a job box computes (``components/jobs.py``): the songs of a sound-tracks job, the run of a
#: saliency job; and what its page's ``job_done`` store holds once it has ended.
JOB_TARGET = record({"kind": one_of(tuple(JOB_KINDS), required=True),
                     "args": record({"songs": list_of(song_id(), 1000), "run": run_id()})})
JOB_DONE = record({"job_id": text(64), "kind": one_of(tuple(JOB_KINDS))})
#: The Songs page's structure corrections (``components/corrections.py``): the picks, a click on the
#: timeline (``assets/corrections.js``), the correction sent and its recompute job.
CORRECTION_TIMES = list_of(number(0, 1e7), 2)
CORRECT_PICKS = record({"song_id": song_id(), "scheme": text(200), "kind": one_of(CORRECTION_KINDS),
                        "times": CORRECTION_TIMES, "last_n": number(0, 1e16)})
CORRECT_CLICK = record({"time": number(0, 1e7, required=True), "lane": text(500), "n": number(0, 1e16),
                        "recent": list_of(record({"time": number(0, 1e7), "n": number(0, 1e16)}), 2)})
CORRECT_JOB = record({"job_id": text(64), "song_id": song_id(), "scheme": text(200), "waiting": boolean(),
                      "before": whole(1, 1_000_000),
                      "payload": record({"song_id": song_id(), "scheme": text(200), "kind": one_of(CORRECTION_KINDS),
                                         "time_a": number(0, 1e7), "time_b": number(0, 1e7),
                                         "client_id": text(64)})})


def _values(options) -> tuple:
    return tuple(o["value"] for o in options)


#: (component id, or ``"type:" + type`` of a pattern-matching id; property) → check.
SPECS = {
    (ids.GLOBAL_SELECTION, "data"): GLOBAL_SELECTION,
    (ids.URL, "pathname"): text(2000),
    (ids.URL, "search"): text(2000),
    # overview
    (ids.OVERVIEW_SPACE, "value"): one_of(_spaces),
    (ids.OVERVIEW_RUNS, "active_cell"): ACTIVE_CELL,
    (ids.OVERVIEW_RUNS, "derived_viewport_data"): list_of(record({"run_id": run_id(required=True)}, extra=SCALAR), 1000),
    (ids.OVERVIEW_EVALUATION, "id"): text(200),
    # map
    (ids.MAP_SPACE, "value"): one_of(_spaces),
    (ids.MAP_KIND, "value"): one_of(_projections),
    (ids.MAP_RUN, "value"): run_id(),
    (ids.MAP_COLOR, "value"): one_of(_colors),
    (ids.MAP_SONGS, "value"): list_of(song_id(), 10_000),
    (ids.MAP_SONGS, "search_value"): text(300),
    (ids.MAP_CLUSTERS, "value"): list_of(CLUSTER, 1000),
    (ids.MAP_CENTRAL, "value"): list_of(one_of(("c",)), 1),
    (ids.MAP_CONF, "value"): list_of(number(0, 1), 2),
    (ids.MAP_GRAPH, "relayoutData"): record({}, extra=JSON_LEAF),
    (ids.click(ids.MAP_GRAPH), "data"): CLICK_ROW,
    (ids.MAP_META, "data"): MAP_META,
    (ids.selected("map"), "data"): SELECTION,
    (ids.MAP_SELECTION_ROWS, "data"): MAP_ROWS,
    (ids.MAP_SELECTION_PAGE, "data"): whole(0),
    (ids.MAP_SELECTION_PREV, "n_clicks"): CLICKS,
    (ids.MAP_SELECTION_NEXT, "n_clicks"): CLICKS,
    (ids.MAP_SLOT_STORE, "data"): record({"A": section_id(), "B": section_id()}),
    (ids.MAP_EXPORT, "n_clicks"): CLICKS,
    (ids.MAP_EXPORT_KIND, "value"): one_of(_values(downloads.SELECTION_KINDS)),
    # clusters
    (ids.CLUSTERS_RUN, "value"): run_id(),
    (ids.CLUSTERS_CLUSTER, "value"): CLUSTER,
    (ids.CLUSTERS_SIZES, "clickData"): PLOTLY_EVENT,
    (ids.selected("clusters"), "data"): SELECTION,
    (ids.CLUSTERS_RENAME_INPUT, "value"): text(1000),
    (ids.CLUSTERS_RENAME_SAVE, "n_clicks"): CLICKS,
    (ids.CLUSTERS_EXPORT_RUN, "n_clicks"): CLICKS,
    (ids.CLUSTERS_EXPORT_PLAYLIST, "n_clicks"): CLICKS,
    (ids.CLUSTERS_EXPORT_KIND, "value"): one_of(_values(downloads.RUN_KINDS)),
    (ids.CLUSTERS_EXPORT_QUEUE, "value"): one_of(_values(downloads.QUEUE_CHOICES)),
    (ids.CLUSTERS_EXPORT_LINKS, "value"): one_of(_values(downloads.PLAYLIST_KINDS)),
    # compare
    (ids.COMPARE_A, "value"): run_id(),
    (ids.COMPARE_B, "value"): run_id(),
    (ids.COMPARE_ONLY_DISAGREE, "value"): list_of(one_of(("d",)), 1),
    (ids.COMPARE_TABLE, "active_cell"): ACTIVE_CELL,
    (ids.COMPARE_TABLE, "filter_query"): text(2000),
    (ids.COMPARE_TABLE, "page_current"): whole(0),
    (ids.COMPARE_TABLE, "page_size"): whole(1, 1000),
    (ids.COMPARE_TABLE, "sort_by"): list_of(record({"column_id": text(200), "direction": one_of(("asc", "desc"))}), 20),
    (ids.selected("compare"), "data"): SELECTION,
    # songs
    (ids.SONGS_SONG, "value"): song_id(),
    (ids.SONGS_SONG, "search_value"): text(300),
    (ids.SONGS_COMPARE, "value"): list_of(song_id(), 1000),
    (ids.SONGS_COMPARE, "search_value"): text(300),
    (ids.SONGS_RUN, "value"): run_id(),
    (ids.SONGS_VIEW, "value"): one_of(SONG_VIEWS),
    (ids.SONGS_SOUND_NMF, "value"): list_of(one_of(("nmf",)), 1),
    (ids.SONGS_TIMELINE, "clickData"): PLOTLY_EVENT,
    (ids.click(ids.SONGS_TIMELINE), "data"): CLICK_ROW,
    (ids.selected("songs"), "data"): SELECTION,
    (ids.SONGS_EXPORT, "n_clicks"): CLICKS,
    (ids.SONGS_EXPORT_KIND, "value"): one_of(_values(downloads.SONG_KINDS)),
    (ids.SONGS_CORRECT_SCHEME, "value"): text(200),
    (ids.SONGS_CORRECT_KIND, "value"): one_of(CORRECTION_KINDS),
    (ids.SONGS_CORRECT_CLICK, "data"): CORRECT_CLICK,
    (ids.SONGS_CORRECT_CLEAR, "n_clicks"): CLICKS,
    (ids.SONGS_CORRECT_SEND, "n_clicks"): CLICKS,
    (ids.SONGS_CORRECT_POLL, "n_intervals"): whole(0),
    (ids.SONGS_CORRECT_PICKS, "data"): CORRECT_PICKS,
    (ids.SONGS_CORRECT_JOB, "data"): CORRECT_JOB,
    (ids.LAB_CORRECT_SCHEME, "value"): text(200),
    (ids.LAB_CORRECT_KIND, "value"): one_of(CORRECTION_KINDS),
    (ids.LAB_CORRECT_CLICK, "data"): CORRECT_CLICK,
    (ids.LAB_CORRECT_CLEAR, "n_clicks"): CLICKS,
    (ids.LAB_CORRECT_SEND, "n_clicks"): CLICKS,
    (ids.LAB_CORRECT_POLL, "n_intervals"): whole(0),
    (ids.LAB_CORRECT_PICKS, "data"): CORRECT_PICKS,
    (ids.LAB_CORRECT_JOB, "data"): CORRECT_JOB,
    (ids.job_done("lab"), "data"): JOB_DONE,
    # judge
    (ids.JUDGE_RUN, "value"): run_id(MIXED),
    (ids.JUDGE_STRATEGY, "value"): one_of((*STRATEGIES, PAIRS)),
    (ids.JUDGE_PAIR_SAME, "n_clicks"): CLICKS,
    (ids.JUDGE_PAIR_DIFFERENT, "n_clicks"): CLICKS,
    (ids.JUDGE_OTHER, "value"): run_id(),
    (ids.JUDGE_SIZE, "value"): whole(),
    (ids.JUDGE_BLIND, "value"): list_of(one_of(("b",)), 1),
    (ids.JUDGE_START, "n_clicks"): CLICKS,
    (ids.JUDGE_PREV, "n_clicks"): CLICKS,
    (ids.JUDGE_NEXT, "n_clicks"): CLICKS,
    (ids.JUDGE_QUEUE, "data"): JUDGE_QUEUE,
    (ids.selected("judge"), "data"): SELECTION,
    # judgements
    (ids.JUDGEMENTS_REFRESH, "n_clicks"): CLICKS,
    # lab
    (ids.LAB_SONG, "value"): song_id(),
    (ids.LAB_THRESHOLD, "value"): number(0, 5),
    (ids.LAB_MIN_SLICE, "value"): one_of(MIN_SLICE_BEATS),
    (ids.LAB_MERGE, "value"): list_of(one_of(("merge",)), 1),
    (ids.LAB_WINDOW, "value"): whole(0, 30),
    (ids.LAB_K, "value"): one_of((0, *(k for k in KS if k is not None))),
    (ids.LAB_MIN_SEGMENT, "value"): number(0, 30),
    (ids.LAB_LANES, "clickData"): PLOTLY_EVENT,
    (ids.LAB_SAVE, "n_clicks"): CLICKS,
    (ids.LAB_SAVE_NAME, "value"): text(200),
    # pattern-matching ids: every page's judging panel, ▶ buttons and the Map's slots
    ("type:" + ids.PLAY_TYPE, "n_clicks"): CLICKS,
    ("type:" + ids.SLOT_TYPE, "n_clicks"): CLICKS,
    ("type:judge-verdict", "n_clicks"): CLICKS,
    ("type:judge-cv-save", "n_clicks"): CLICKS,
    ("type:judge-ctx", "data"): JUDGE_CTX,
    ("type:judge-saved", "data"): JUDGE_SAVED,
    ("type:judge-suggest", "value"): CLUSTER,
    ("type:judge-prop-confirm", "n_clicks"): CLICKS,
    ("type:judge-prop-pick", "value"): list_of(section_id(), 50),
    ("type:judge-prop-ctx", "data"): PROPAGATE_CTX,
    ("type:judge-comment", "value"): text(MAX_TEXT),
    ("type:judge-cv-verdict", "value"): one_of(CLUSTER_VERDICTS),
    ("type:judge-cv-merge", "value"): CLUSTER,
    ("type:judge-cv-comment", "value"): text(MAX_TEXT),
    # the job boxes (components/jobs.py): an admin's button, the progress poll, what the box computes
    ("type:job-start", "n_clicks"): CLICKS,
    ("type:job-poll", "n_intervals"): whole(0),
    ("type:job-target", "data"): JOB_TARGET,
    (ids.job_done("songs"), "data"): JOB_DONE,
    (ids.job_done("clusters"), "data"): JOB_DONE,
    (ids.job_done("judgements"), "data"): JOB_DONE,
    (ids.JUDGEMENTS_GUIDE_RUN, "value"): text(300),
}
#: Pattern-matching id keys each match must carry, with their checks (the ``type`` picks the spec).
ID_KEYS = {"page": text(40), "k": whole(0, 1000), "section": section_id(), "slot": one_of(("A", "B")),
           "verdict": one_of(SECTION_VERDICTS)}


def spec_key(component_id) -> str | None:
    """The key :data:`SPECS` uses for a component id (a string, or ``"type:<type>"``)."""
    if isinstance(component_id, str):
        return component_id
    if isinstance(component_id, dict) and isinstance(component_id.get("type"), str):
        return "type:" + component_id["type"]
    return None


def is_dash_internal(component_id) -> bool:
    """Dash Pages' own routing components (``_pages_location``…), checked by Dash itself."""
    return isinstance(component_id, str) and component_id.startswith("_pages")


def check_entry(entry, data) -> None:
    """Check one entry of a request's ``inputs`` or ``state``: ``{id, property, value}``, or the
    list of them a wildcard id matched. Raises :class:`Invalid` naming the field."""
    if isinstance(entry, list):
        if len(entry) > 5000:
            raise Invalid(_("too many components"))
        for e in entry:
            check_entry(e, data)
        return
    if not isinstance(entry, dict) or not isinstance(entry.get("property"), str):
        raise Invalid(_("a malformed request"))
    cid, prop = entry.get("id"), entry["property"]
    if is_dash_internal(cid):
        return
    key = spec_key(cid)
    check = SPECS.get((key, prop))
    field = f"{key}.{prop}"
    if check is None:
        raise Invalid(_("%(field)s is not a value this app accepts", field=_short(field)))
    try:
        if isinstance(cid, dict):
            for k, v in cid.items():
                if k == "type":
                    continue
                if k not in ID_KEYS:
                    raise Invalid(_("unexpected key %(key)s", key=_short(k)))
                ID_KEYS[k](v, data)
        check(entry.get("value"), data)
    except Invalid as exc:
        raise Invalid(_("%(field)s: %(reason)s", field=field, reason=str(exc))) from None


def request_problem(body, data) -> str | None:
    """Why a ``/_dash-update-component`` request ``body`` is refused, or None when every input
    and state passes its check."""
    if not isinstance(body, dict):
        return _("a malformed request")
    try:
        for part in ("inputs", "state"):
            entries = body.get(part) or []
            if not isinstance(entries, list):
                raise Invalid(_("a malformed request"))
            for entry in entries:
                check_entry(entry, data)
    except Invalid as exc:
        return str(exc)
    return None


def install(app) -> None:
    """Check every callback request of ``app`` before Dash runs it: a refused one is answered
    with no update and a message in :data:`ids.INPUT_ALERT` (Dash's ``sideUpdate``)."""
    from flask import jsonify, request

    from sectionist.dashboard.data.store_data import get_data

    endpoint = app.config.routes_pathname_prefix + "_dash-update-component"

    @app.server.before_request
    def _check_callback_input():
        if request.method != "POST" or request.path != endpoint:
            return None
        data = get_data()
        data.refresh()  # the store's runs as they are now (a run deleted since the page was drawn)
        problem = request_problem(request.get_json(silent=True), data)
        if problem is None:
            return None
        message = _("Ignored what this page sent (%(problem)s). Reload the page if this keeps happening.",
                    problem=problem)
        return jsonify({"multi": True, "response": {}, "sideUpdate": {ids.INPUT_ALERT: {"children": message}}})
