"""Judge: a guided session that walks an expert through sections chosen by a strategy.

Strategies (:data:`sectionist.dashboard.judging.queues.STRATEGIES`): a seeded random sample, the prototypes or the
borderline sections of each cluster, sections on which two runs disagree, the least stable
sections. Sections the expert has judged already are left out. **Blind mode** hides the method,
the run and the cluster number: the expert hears the section and three other members of its
group, and says whether it belongs with them. **All runs, mixed** is the blind comparison of
methods: the runs take turns in a random order (:func:`sectionist.dashboard.judging.queues.build_mixed_queue`),
always blind, so the Judgements page's agreement per run compares the methods on equal terms.

Its own verdict panel is registered here (:func:`sectionist.dashboard.ui.components.judging.register_judging`),
as every page with a judging container registers its own.
"""

from __future__ import annotations

import secrets

import dash
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures import palette
from sectionist.dashboard.auth.context import current_user_or_none, get_db
from sectionist.dashboard.ui.components.common import card, cluster_names, control, dropdown, empty_state, fmt_time, page_header, run_options
from sectionist.dashboard.ui.components.judging import jall, register_judging
from sectionist.dashboard.ui.components.pairs import pair_bar, pair_view
from sectionist.dashboard.ui.components.player import section_player, spectrogram_url
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui.naming import run_label
from sectionist.dashboard.ui.i18n import N_, _, integer, ngettext, page_title
from sectionist.dashboard.judging.queues import STRATEGIES, build_mixed_queue, build_pair_queue, build_queue
from sectionist.dashboard.judging.pair_answers import answered_pairs
from sectionist.dashboard.judging.repository import judged_sections, record_pair
from sectionist.dashboard.vocabulary import PAIRS

PAGE = "judge"
#: value of the run control for the blind comparison of every run (also ``?run=mixed``)
MIXED = "mixed"
MIXED_LABEL = N_("All runs, mixed (blind comparison of methods)")
#: the strategy that asks about two sections at a time (:func:`build_pair_queue`), one run at a time
PAIRS_LABEL = N_("Pairs: do two sections sound like the same kind?")

dash.register_page(__name__, path="/judge", name=N_("Judge"), title=page_title(N_("Judge")),
                   order=5)

register_judging(PAGE)


def layout(run=None, strategy=None, blind=None, **_query):
    user = current_user_or_none()
    data = get_data()
    header = page_header(_("Judge"), _("Listen, then say whether each section is in the right cluster. "
                                       "Keys: a agree · d disagree · u unsure · n next · space play/pause; "
                                       "pairs: s same kind · d different."))
    if user is None or not user.can_judge:
        return html.Div(className="page page-judge", children=[
            header, empty_state(_("Judging needs an expert account. Ask an admin to give you the expert role."))])
    opts = run_options(data)
    run = run if run in data.runs.index or (run == MIXED and opts) else (opts[0]["value"] if opts else None)
    if len(opts) > 1 and MIXED not in data.runs.index:
        opts = opts + [{"label": _(MIXED_LABEL), "value": MIXED}]
    strategy = strategy if strategy in STRATEGIES or strategy == PAIRS else "random"
    blind_value, blind_options = blind_control(run, ["b"] if blind in ("1", "true", "yes") else [])
    return html.Div(className="page page-judge", children=[
        dcc.Store(id=ids.JUDGE_QUEUE, data=None),
        dcc.Store(id=ids.selected(PAGE), data=None),
        header,
        html.Div(className="judge-grid", children=[
            html.Aside(className="sidebar", children=[
                card(_("Session"),
                     control(_("Run to judge"), dropdown(ids.JUDGE_RUN, opts, run, optionHeight=48)),
                     control(_("Which sections"), dropdown(ids.JUDGE_STRATEGY,
                                                           [{"label": _(v), "value": k} for k, v in STRATEGIES.items()]
                                                           + [{"label": _(PAIRS_LABEL), "value": PAIRS}],
                                                           strategy)),
                     control(_("Compare with (disagreements)"), dcc.Dropdown(
                         id=ids.JUDGE_OTHER, options=[o for o in opts if o["value"] != MIXED], value=None,
                         placeholder=_("every other run"), optionHeight=48)),
                     control(_("Sections in the queue"), dcc.Input(id=ids.JUDGE_SIZE, type="number", min=1, max=200,
                                                                step=1, value=20, className="input-number")),
                     dcc.Checklist(id=ids.JUDGE_BLIND, className="checklist", value=blind_value,
                                   options=blind_options),
                     html.Button(_("Start"), id=ids.JUDGE_START, n_clicks=0, className="btn"),
                     ),
            ]),
            html.Section(className="judge-main", children=[
                card(None,
                     html.Div(id=ids.JUDGE_PROGRESS, className="judge-progress muted"),
                     # assets/judging.js shows these: a key pressed while the section loads is kept, not lost
                     html.Div(_("Key noted: it applies to this section as soon as its panel has loaded."),
                              id=ids.JUDGE_KEY_WAIT, className="judge-key-note", hidden=True, role="status"),
                     html.Div(_("A key press could not be applied: its section did not load. Press it again."),
                              id=ids.JUDGE_KEY_LOST, className="judge-key-note judge-key-lost", hidden=True,
                              role="alert"),
                     html.Div(id=ids.JUDGE_ITEM, children=empty_state(_("Choose a run and a strategy, then press Start."))),
                     pair_bar(),
                     html.Div(className="judge-nav", children=[
                         html.Button(_("← Previous"), id=ids.JUDGE_PREV, n_clicks=0, className="btn btn-ghost"),
                         html.Button([_("Next") + " ", html.Kbd("n", className="kbd")], id=ids.JUDGE_NEXT, n_clicks=0,
                                     className="btn btn-ghost", **{"data-judge-next": "1"}),
                     ])),
            ]),
            html.Aside(className="detail", children=[card(_("Verdict"), html.Div(id=ids.judge_container(PAGE)))]),
        ]),
    ])


BLIND_LABEL = N_("blind (hide method and cluster number)")
MIXED_BLIND_LABEL = N_("blind (always, when the runs are mixed)")


def blind_control(run_id, value) -> tuple[list, list]:
    """Value and options of the blind checkbox for the chosen run: the mixed comparison of methods is
    always blind, so there the box is ticked and cannot be unticked; otherwise it is the expert's
    choice (``value``)."""
    if run_id == MIXED:
        return ["b"], [{"label": " " + _(MIXED_BLIND_LABEL), "value": "b", "disabled": True}]
    return list(value or []), [{"label": " " + _(BLIND_LABEL), "value": "b"}]


@callback(Output(ids.JUDGE_BLIND, "value"), Output(ids.JUDGE_BLIND, "options"), Input(ids.JUDGE_RUN, "value"),
          State(ids.JUDGE_BLIND, "value"), prevent_initial_call=True)
def _blind_for_run(run_id, value):
    # back from the mixed comparison the box stays ticked, and can be unticked again
    return blind_control(run_id, value)


def _selection(queue: dict | None) -> dict | None:
    if not queue or not queue.get("items") or queue.get("pairs"):
        return None  # a pair is answered with its own bar, not the verdict panel
    i = queue.get("index", 0)
    if i >= len(queue["items"]):
        return None
    item = queue["items"][i]
    return {"section_id": item["section_id"], "run_id": item["run_id"], "blind": bool(queue.get("blind")),
            "source": f"queue:{queue.get('strategy', '')}" + (":mixed" if queue.get("mixed") else "")}


def start_queue(user, run_id, strategy, other_run, size, blind, n_clicks) -> dict:
    """A new queue for ``user`` (sections they judged already are left out).

    ``run_id`` :data:`MIXED` interleaves every run of the store, always blind (``other_run`` is
    not used: disagreements are then with every other run).
    """
    data = get_data()
    n = max(1, min(int(size or 20), 200))
    seed = int(user.id) * 1009 + int(n_clicks or 0)
    if strategy == PAIRS:
        if run_id not in data.runs.index:
            return {"items": [], "index": 0, "strategy": PAIRS, "run_id": run_id, "pairs": True,
                    "note": _("Pairs are asked within one run: choose a run, not the mixed comparison.")}
        items = build_pair_queue(data, run_id, n=n, random_state=seed, exclude=answered_pairs(get_db(), user, run_id))
        return {"items": items, "index": 0, "strategy": PAIRS, "run_id": run_id, "pairs": True,
                "token": f"{user.id}-{seed}-{secrets.token_hex(6)}"}
    if run_id == MIXED and MIXED not in data.runs.index:
        runs = list(data.runs.index)
        exclude = {r: judged_sections(get_db(), user, r) for r in runs}
        items = build_mixed_queue(data, runs, strategy, n=n, random_state=seed, exclude=exclude)
        return {"items": items, "index": 0, "blind": True, "strategy": strategy, "run_id": MIXED, "mixed": True}
    exclude = judged_sections(get_db(), user, run_id)
    items = build_queue(data, run_id, strategy, n=n, random_state=seed, exclude=exclude, other_run=other_run or None)
    return {"items": items, "index": 0, "blind": bool(blind), "strategy": strategy, "run_id": run_id}


@callback(
    Output(ids.JUDGE_QUEUE, "data"),
    Output(ids.selected(PAGE), "data"),
    Input(ids.JUDGE_START, "n_clicks"),
    Input(ids.JUDGE_PAIR_SAME, "n_clicks"),
    Input(ids.JUDGE_PAIR_DIFFERENT, "n_clicks"),
    State(ids.JUDGE_QUEUE, "data"),
    State(ids.JUDGE_RUN, "value"),
    State(ids.JUDGE_STRATEGY, "value"),
    State(ids.JUDGE_OTHER, "value"),
    State(ids.JUDGE_SIZE, "value"),
    State(ids.JUDGE_BLIND, "value"),
    prevent_initial_call=True,
)
def _navigate(start, same, different, queue, run_id, strategy, other_run, size, blind):
    # what needs the server: a new queue, a pair's answer; moving along the queue is NAVIGATE_JS
    trig = ctx.triggered_id
    user = current_user_or_none()
    if user is None or not user.can_judge:
        return no_update, no_update
    if trig == ids.JUDGE_START:
        if not start or not run_id:
            return no_update, no_update
        queue = start_queue(user, run_id, strategy, other_run, size, "b" in (blind or []), start)
        return queue, _selection(queue)
    if not queue or not queue.get("items"):
        return no_update, no_update
    queue = dict(queue)
    if trig in (ids.JUDGE_PAIR_SAME, ids.JUDGE_PAIR_DIFFERENT):
        if not queue.get("pairs") or queue.get("index", 0) >= len(queue["items"]):
            return no_update, no_update
        answer_pair(user, queue, "same" if trig == ids.JUDGE_PAIR_SAME else "different")
        queue["index"] = queue.get("index", 0) + 1
        return queue, None
    return no_update, no_update


#: Previous, Next and a saved verdict move along the queue in the browser (the queue is the page's
#: own store): no round trip to the server between a verdict and the next section's requests (the
#: item and its panel), which are all that is left of a key -> next section. Same rules as
#: :func:`_selection`: a saved verdict moves on only from the section it judged.
NAVIGATE_JS = """
function(prev, next, saved, queue) {
    var nu = window.dash_clientside.no_update;
    if (!queue || !queue.items || !queue.items.length) { return [nu, nu]; }
    var trig = (window.dash_clientside.callback_context.triggered || [])[0];
    var prop = trig ? trig.prop_id : '';
    var n = queue.items.length, i = queue.index || 0;
    function selection(q) {
        var k = q.index || 0;
        if (q.pairs || k >= q.items.length) { return null; }
        var item = q.items[k];
        return {section_id: item.section_id, run_id: item.run_id, blind: !!q.blind,
                source: 'queue:' + (q.strategy || '') + (q.mixed ? ':mixed' : '')};
    }
    var out = Object.assign({}, queue);
    if (prop.indexOf('"judge-saved"') !== -1) {
        var s = (saved || []).filter(function (x) { return x; })[0];
        var cur = selection(queue);
        if (!s || !cur || s.section_id !== cur.section_id) { return [nu, nu]; }
        out.index = Math.min(n, i + 1);
    } else if (prop === 'judge-prev.n_clicks') {
        out.index = Math.max(0, i - 1);
    } else if (prop === 'judge-next.n_clicks') {
        out.index = Math.min(n, i + 1);
    } else {
        return [nu, nu];
    }
    return [out, selection(out)];
}
"""

clientside_callback(NAVIGATE_JS,
                    Output(ids.JUDGE_QUEUE, "data", allow_duplicate=True),
                    Output(ids.selected(PAGE), "data", allow_duplicate=True),
                    Input(ids.JUDGE_PREV, "n_clicks"), Input(ids.JUDGE_NEXT, "n_clicks"),
                    Input(jall("saved", PAGE), "data"), State(ids.JUDGE_QUEUE, "data"),
                    prevent_initial_call=True)


def answer_pair(user, queue: dict, relation: str) -> dict:
    """Record ``user``'s answer on the queue's current pair (once per pair and queue: a retried
    request is recognised by its ``client_id``)."""
    item = queue["items"][queue.get("index", 0)]
    row, _created = record_pair(get_db(), user, item["run_id"], item["section_a"], item["section_b"], relation,
                                client_id=f"pair:{queue.get('token', '')}:{queue.get('index', 0)}"[:64])
    return row


def item_view(queue: dict | None) -> tuple[list, str]:
    """The current section of the queue: player, spectrogram, and members of its cluster."""
    if queue and queue.get("note") and not queue.get("items"):
        return [empty_state(queue["note"])], ""
    if not queue or not queue.get("items"):
        if queue is not None:
            return [empty_state(_("Nothing left to judge with this strategy: you have judged every section it "
                                  "picks. Try another strategy or run."))], ""
        return [empty_state(_("Choose a run and a strategy, then press Start."))], ""
    i, n = queue.get("index", 0), len(queue["items"])
    if queue.get("pairs") and i < n:
        return pair_view(get_data(), queue["items"][i]), " · ".join([
            ngettext("%(position)s / %(num)d pair", "%(position)s / %(num)d pairs", n, position=integer(i + 1)),
            _(PAIRS_LABEL)])
    if i >= n and queue.get("pairs"):
        return ([empty_state(ngettext("Queue finished: %(num)d pair answered. Press Start for more.",
                                      "Queue finished: %(num)d pairs answered. Press Start for more.", n))],
                ngettext("%(position)s / %(num)d pair", "%(position)s / %(num)d pairs", n, position=integer(n)))
    if i >= n:
        return ([empty_state(ngettext("Queue finished: %(num)d section. Press Start for another one.",
                                      "Queue finished: %(num)d sections. Press Start for another one.", n))],
                progress_text(n, n))
    item = queue["items"][i]
    data = get_data()
    sec = data.section(item["section_id"])
    if sec is None:
        return ([empty_state(_("Section %(section)s is no longer in the store; press Next.",
                               section=item["section_id"]))], progress_text(i + 1, n))
    blind = bool(queue.get("blind"))
    cluster = item["cluster"]
    head = [html.Div(_("Section %(number)s · %(start)s–%(end)s", number=integer(int(sec["index"]) + 1),
                       start=fmt_time(sec["start_s"]), end=fmt_time(sec["end_s"])), className="eyebrow")]
    shown = palette.cluster_name(cluster, cluster_names(data, item["run_id"])) if not blind else ""
    if not blind:
        # "<b>name</b> of <span>run</span>": one translated sentence, split at its placeholders
        before, _sep, rest = _("%(cluster)s of %(run)s").partition("%(cluster)s")
        between, _sep, after = rest.partition("%(run)s")
        head.append(html.Div([before, html.B(shown), between,
                              html.Span(run_label(data, item["run_id"]), className="mono small"), after],
                             className="judge-context"))
    view = [
        # data-judge-item: the section on screen, which a verdict key judges (assets/judging.js)
        html.Div(head, className="detail-head", **{"data-judge-item": str(item["section_id"])}),
        section_player(sec, autoplay=True, run_id=None if blind else item["run_id"], element_id=ids.audio(PAGE),
                       timeline=not blind),
        html.Img(src=spectrogram_url(item["section_id"]), className="spectrogram", alt=_("spectrogram of the section")),
    ]
    members = _members(data, item["run_id"], cluster, item["section_id"])
    if members:
        title = _("Other sections of its group") if blind else _("Prototypes of %(cluster)s", cluster=shown)
        view.append(html.H4(title))
        for k, m in enumerate(members, 1):
            msec = data.section(m)
            if msec is not None:
                # asked for when played: each key would otherwise have the server encode three more sections
                view.append(html.Div([html.Span(f"{k}.", className="muted"),
                                      section_player(msec, compact=True, preload="none")],
                                     className="judge-member"))
    if i + 1 < n:
        # the next section's spectrogram, fetched now (not shown): there from the cache when it comes
        view.append(html.Img(src=spectrogram_url(queue["items"][i + 1]["section_id"]), hidden=True, alt="",
                             className="judge-prefetch"))
    parts = [progress_text(i + 1, n)]
    if queue.get("strategy") in STRATEGIES:
        parts.append(_(STRATEGIES[queue["strategy"]]))
    if blind:
        parts.append(_("blind"))
    if queue.get("mixed"):
        parts.append(_("all runs mixed"))
    return view, " · ".join(parts)


def progress_text(position: int, total: int) -> str:
    """The queue's progress: ``"3 / 10 sections"`` (the section shown and the queue's length)."""
    return ngettext("%(position)s / %(num)d section", "%(position)s / %(num)d sections", total,
                    position=integer(position))


def _members(data, run_id: str, cluster: int, exclude: str, k: int = 3) -> list[str]:
    if cluster < 0:
        return []
    clusters = data.clusters(run_id)
    protos = []
    if cluster in clusters.index and "prototypes" in clusters.columns:
        protos = [s for s in clusters.loc[cluster, "prototypes"] if s != exclude]
    if not protos:
        arr = data.run_arrays(run_id)
        protos = [data.section_ids[p] for p in (arr.label == cluster).nonzero()[0] if data.section_ids[p] != exclude]
    return protos[:k]


@callback(Output(ids.JUDGE_ITEM, "children"), Output(ids.JUDGE_PROGRESS, "children"),
          Output(ids.JUDGE_PAIR_BAR, "hidden"), Input(ids.JUDGE_QUEUE, "data"), prevent_initial_call=True)
def _show(queue):
    view, progress = item_view(queue)
    answering = bool(queue and queue.get("pairs") and queue.get("index", 0) < len(queue.get("items") or []))
    return view, progress, not answering
