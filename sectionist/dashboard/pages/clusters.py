"""Clusters: one run's clusters — sizes, songs, centroid profile, mean spectrogram, SHAP, queues."""

from __future__ import annotations

from urllib.parse import quote

import dash
import numpy as np
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from sectionist.analysis.errors import SectionistError
from sectionist.analysis.glossary import describe, natural_key, surrogate_note

from sectionist.dashboard.media import downloads
from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures import (
    clusters as cluster_figures, common as common_figures, explain as explain_figures, palette,
    saliency as saliency_figures)
from sectionist.dashboard.ui.i18n import N_, _, integer, ngettext, number, page_title, percent
from sectionist.dashboard.ui.components.common import graph_config, card, cluster_chip, cluster_names, expert_cluster_names, control, default_run, dropdown, empty_state, fmt_time, page_header, run_options
from sectionist.dashboard.ui.components.detail import section_detail
from sectionist.dashboard.ui.components.jobs import job_box, job_done_store, register_jobs
from sectionist.dashboard.ui.components.judging import register_judging
from sectionist.dashboard.ui.components.selection import register_selection
from sectionist.dashboard.ui.components.strength import cluster_verdict, run_verdict
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.ui.naming import coverage_text, default_cluster_names, run_label, version_note
from sectionist.dashboard.judging.repository import MAX_CLUSTER_NAME

PAGE = "clusters"
dash.register_page(__name__, path="/clusters", name=N_("Clusters"), title=page_title(N_("Clusters")),
                   order=2)


def cluster_options(data, run_id) -> list[dict]:
    if not run_id or run_id not in data.runs.index:
        return []
    arr = data.run_arrays(run_id)
    counts = np.bincount(arr.label[arr.label >= 0]) if (arr.label >= 0).any() else np.array([])
    names = cluster_names(data, run_id)
    out = []
    for c in arr.clusters:
        n = int(counts[c]) if c < len(counts) else 0
        out.append({"label": ngettext("%(cluster)s · %(count)s section", "%(cluster)s · %(count)s sections", n,
                                      cluster=palette.cluster_name(c, names), count=integer(n)), "value": c})
    return out


def sizes_figure(data, run_id):
    if not run_id or run_id not in data.runs.index:
        return common_figures.empty_figure(_("No run selected"), height=220)
    arr = data.run_arrays(run_id)
    lab = arr.label[arr.label >= -1]
    u, c = np.unique(lab, return_counts=True)
    n_songs = [len(np.unique(data.song_code[arr.label == x])) for x in u]
    return cluster_figures.cluster_sizes(u, c, n_songs, cluster_names(data, run_id))


def _float_or_nan(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def corpus_moments(data, names) -> dict:
    """feature → (mean, std) over the whole corpus."""
    feats = data.features
    out = {}
    for n in names:
        if n in feats.columns:
            v = feats[n].to_numpy(np.float64)
            out[n] = (float(np.nanmean(v)), float(np.nanstd(v)))
    return out


def queue(data, section_ids, run_id, title, note) -> html.Div:
    """A listening queue: one row per section with a ▶ button (selects and plays it)."""
    rows = []
    arr = data.run_arrays(run_id)
    for sid in section_ids:
        pos = data.position(sid)
        if pos is None:
            continue
        s = data.sections.iloc[pos]
        rows.append(html.Div(className="list-row", children=[
            html.Button("▶", id=ids.play(PAGE, sid), className="btn-icon", title=_("select and play")),
            html.Span(s["title"], className="list-main"), html.Span(fmt_time(s["start_s"]), className="muted"),
            html.Span(_("conf %(confidence)s · sil %(silhouette)s", confidence=number(arr.confidence[pos], 2),
                        silhouette=number(arr.silhouette[pos], 2)), className="muted small")]))
    return card(title, html.P(note, className="table-note"),
                html.Div(rows, className="list queue") if rows else empty_state(_("Empty queue.")))


def queues(data, run_id, cluster) -> tuple[list, list]:
    """A cluster's prototype and borderline queues (section ids): the stored lists, else computed from
    confidence / silhouette."""
    arr = data.run_arrays(run_id)
    members = np.flatnonzero(arr.label == int(cluster))
    info = data.clusters(run_id)
    row = info.loc[int(cluster)] if int(cluster) in info.index else None
    protos = list(row["prototypes"]) if row is not None and "prototypes" in row and len(row["prototypes"]) else \
        list(data.section_ids[members[np.argsort(-np.nan_to_num(arr.confidence[members], nan=-1))][:10]])
    border = list(row["borderline"]) if row is not None and "borderline" in row and len(row["borderline"]) else \
        list(data.section_ids[members[np.argsort(np.nan_to_num(arr.silhouette[members], nan=9))][:10]])
    return protos, border


def run_header(data, run_id):
    """The run's version (when its lineage has several) and coverage (placed sections, sections it
    does not cover), as a line above the cluster; None when there is nothing to say."""
    notes = [n for n in (version_note(data, run_id), coverage_text(data, run_id)) if n]
    if not notes:
        return None
    return html.Div(_("Run %(run)s: %(notes)s", run=run_id, notes="; ".join(notes)), className="run-header muted small",
                    id=ids.CLUSTERS_RUN_NOTE)


def cluster_name_block(data, run_id, cluster, names: dict) -> html.Div:
    """The cluster's name as a heading (the experts' name, else the default one), who named it,
    and, for experts and admins, a field to rename it (stored with history in the judgement database)."""
    from sectionist.dashboard.auth.context import current_user_or_none

    default = default_cluster_names(data, run_id).get(int(cluster), "")
    # the experts' own name in this version: a name carried over from an older version ("… (from v1)")
    # is shown in the heading, not put in the field, so renaming gives this version a name of its own
    own = expert_cluster_names(run_id).get(int(cluster))
    current = own or default
    custom = bool(own)
    user = current_user_or_none()
    rename = None
    if user is not None and user.can_judge:
        rename = html.Div(className="rename-row", style={"display": "flex", "flexWrap": "wrap", "gap": "0.5rem",
                                                         "alignItems": "center", "margin": "0.25rem 0 0.75rem"},
                          children=[
            dcc.Input(id=ids.CLUSTERS_RENAME_INPUT, type="text", value=current if custom else "",
                      maxLength=MAX_CLUSTER_NAME, placeholder=_("rename (default: %(name)s)", name=default),
                      debounce=False,
                      className="rename-input", style={"flex": "1 1 16rem", "maxWidth": "28rem"}),
            html.Button(_("Rename"), id=ids.CLUSTERS_RENAME_SAVE, n_clicks=0, className="btn btn-ghost btn-small"),
            html.Span("" if not custom else _("experts' name; default: %(name)s", name=default),
                      id=ids.CLUSTERS_RENAME_STATUS, className="muted small", role="status"),
        ])
    return html.Div(className="cluster-name-block", children=[
        html.H2(palette.cluster_name(cluster, names), id=ids.CLUSTERS_NAME, className="cluster-name"),
        rename,
    ])


SALIENCY_TITLE = N_("What the network listens to")


def saliency_block(data, run_id, cluster) -> html.Div:
    """The cluster's saliency map of a musicnn run (:mod:`sectionist.analysis.embeddings.saliency`), with a
    caption for musicians and the method; for another run a short note; before the maps are computed,
    the job box (an admin computes them from here, :mod:`sectionist.dashboard.ui.components.jobs`)."""
    from sectionist.analysis.saliency_maps import MUSICNN_EMBEDDERS, band_frequencies, map_array
    from sectionist.store.schema import SALIENCY

    space = str(data.runs.loc[run_id].get("space", ""))
    if space not in MUSICNN_EMBEDDERS:
        return card(_(SALIENCY_TITLE), html.P(
            _("Applies to musicnn runs only (spaces %(spaces)s): it shows which bands of the mel spectrogram the "
              "pretrained network relies on. This run is on %(space)s.", spaces=", ".join(MUSICNN_EMBEDDERS),
              space=space),
            id=ids.CLUSTERS_SALIENCY_NOTE, className="muted small"))
    tbl = data.table(SALIENCY)
    rows = tbl[(tbl["run_id"] == run_id) & (tbl["cluster"] == int(cluster))] if len(tbl) else tbl
    if not len(rows):
        # computed on request (it runs the network backwards): an admin starts it here
        return card(_(SALIENCY_TITLE), html.Div(id=ids.CLUSTERS_SALIENCY_NOTE, children=job_box(
            PAGE, "saliency", {"run": str(run_id)}, _("Not computed for this run yet."))))
    row = rows.iloc[0]
    m = map_array(row)
    fig = saliency_figures.saliency_heatmap(m, band_frequencies(n_mels=m.shape[0]), method=str(row["method"]),
                                            n_sections=int(row["n_sections"]), cluster=cluster,
                                            names=cluster_names(data, run_id))
    return card(_(SALIENCY_TITLE),
                html.P(_("Brighter = the network's output for this cluster depends more on this band (low "
                         "frequencies at the bottom; right: the mean over time)."), className="small"),
                dcc.Graph(id=ids.CLUSTERS_SALIENCY, figure=fig, config=graph_config()),
                html.P(_("Method: %(method)s, %(layer)s layer of %(space)s, over %(n)s fitted prototypes.",
                         method=row["method"], layer=row["layer"], space=row["space"], n=integer(row["n_sections"])),
                       className="muted small"))


def cluster_body(data, run_id, cluster):
    """Everything about one cluster of one run."""
    if not run_id or run_id not in data.runs.index or cluster is None:
        return [empty_state(_("Pick a run and a cluster."))]
    cluster = int(cluster)
    arr = data.run_arrays(run_id)
    members = np.flatnonzero(arr.label == cluster)
    if not len(members):
        return [empty_state(_("%(cluster)s has no sections in this run.", cluster=palette.cluster_name(cluster)))]
    info = data.clusters(run_id)
    row = info.loc[cluster] if cluster in info.index else None
    run = data.runs.loc[run_id]
    codes, counts = np.unique(data.song_code[members], return_counts=True)
    order = np.argsort(-counts)[:12]
    titles = data.songs["title"].to_numpy()[codes[order]]

    protos, border = queues(data, run_id, cluster)

    profile = row["profile"] if row is not None and "profile" in row and isinstance(row["profile"], dict) else None
    if profile is None:
        names = [n for n in data.feature_names if n.endswith("_median")][:17]
        profile = {n: float(np.nanmean(data.features[n].to_numpy()[members])) for n in names}
    overall = corpus_moments(data, list(profile))

    shap, shap_names, pos = data.cluster_explanations(run_id, cluster)
    if row is not None and "shap_ranking" in row and row["shap_ranking"]:
        ranking = row["shap_ranking"]
    elif shap.size:
        ranking = [{"feature": n, "mean_abs_shap": float(v)}
                   for n, v in zip(shap_names, np.nanmean(np.abs(shap), axis=0))]
    else:
        ranking = []
    ranking = sorted(ranking, key=lambda r: -float(r["mean_abs_shap"]))
    values = None
    if shap.size and all(n in data.feature_index for n in shap_names):
        values = data.feature_rows(pos, shap_names)

    fidelity = run.get("fidelity")
    with np.errstate(all="ignore"):  # an empty or all-NaN cluster: "—"
        mean_conf, mean_sil = np.nanmean(arr.confidence[members]), np.nanmean(arr.silhouette[members])
    metrics = [(_("sections"), integer(len(members))), (_("songs"), integer(len(codes))),
               (_("mean confidence"), number(mean_conf, 2)),
               (_("mean silhouette"), number(mean_sil, 2)),
               (_("surrogate fidelity (run)"), number(_float_or_nan(fidelity), 2))]
    if arr.placed is not None and arr.placed[members].any():
        metrics.insert(1, (_("placed (not fitted)"), integer(int(arr.placed[members].sum()))))
    names = cluster_names(data, run_id)
    note = surrogate_note(run.get("space"), fidelity, gettext=_, percent=percent)
    shown = set(profile) | {r["feature"] for r in ranking[:12]}
    terms = sorted((describe(f, _) for f in shown), key=lambda t: natural_key(t.name))  # detail 2 before 10
    glossary = html.Details(className="glossary", children=[
        html.Summary(_("What these features mean")),
        html.Ul([html.Li([html.B(t.name), " = " + t.definition]) for t in terms])])
    return [
        run_header(data, run_id),
        cluster_name_block(data, run_id, cluster, names),
        html.Div(className="metric-row", children=[cluster_chip(cluster, names=names)] + [
            html.Div([html.B(v), html.Span(k)], className="metric") for k, v in metrics]),
        cluster_verdict(data, run_id, cluster, ids.CLUSTERS_CLUSTER_STRENGTH),
        html.P(note, className="surrogate-note small") if note else None,
        html.Div(className="grid-2", children=[
            card(_("Spectra of its sections (mean log-mel, most central left; low frequencies at the bottom)")
                 if data.melspec is not None else _("Mean log-mel spectrogram of its prototypes"),
                 html.Img(src=f"/spectrogram/cluster/{quote(run_id, safe='')}/{cluster}.png", className="cluster-spec",
                          alt=_("mean spectrogram"))),
            saliency_block(data, run_id, cluster),
        ]),
        card(_("Songs it draws from"), dcc.Graph(figure=cluster_figures.song_shares(titles, counts[order]), config=graph_config())),
        html.Div(className="grid-2", children=[
            card(_("How it differs from the whole corpus, in standard deviations (hover: values in their units)"),
                 dcc.Graph(figure=explain_figures.profile_bars(profile, overall, cluster=cluster), config=graph_config())),
            card(_("What the explaining model relies on most (mean |SHAP|)"),
                 dcc.Graph(figure=explain_figures.shap_ranking(ranking, cluster=cluster), config=graph_config())),
        ]),
        card(_("Each dot a section of this cluster: right of 0 the feature pushes it towards the cluster"),
             # the surrogate's note stands above, under the cluster's metrics
             dcc.Graph(figure=explain_figures.shap_beeswarm(shap, shap_names, values), config=graph_config()),
             glossary),
        html.Div(className="grid-2", children=[
            queue(data, protos, run_id, _("Prototype queue"),
                  _("The most central sections: what this cluster sounds like.")),
            queue(data, border, run_id, _("Borderline queue"),
                  _("Lowest silhouette: the sections most likely to belong elsewhere.")),
        ]),
    ]


def layout(run=None, cluster=None, section=None, **_query):
    data = get_data()
    run = run if run in data.runs.index else default_run(data)
    opts = cluster_options(data, run)
    values = [o["value"] for o in opts]
    try:
        cluster = int(cluster) if cluster is not None else None
    except ValueError:
        cluster = None
    cluster = cluster if cluster in values else (values[0] if values else None)
    return html.Div(className="page page-clusters", children=[
        dcc.Store(id=ids.selected(PAGE), data={"section_id": section if data.position(section) is not None else None,
                                               "run_id": run}),
        job_done_store(PAGE),
        page_header(_("Clusters"), _("What each cluster sounds like, why the model put sections there, and what "
                                     "to listen to first.")),
        card(None, html.Div(className="controls-row", children=[
            control(_("Run"), dropdown(ids.CLUSTERS_RUN, run_options(data), run, optionHeight=48)),
            control(_("Cluster"), dropdown(ids.CLUSTERS_CLUSTER, opts, cluster)),
        ]), html.Div(className="controls-row", children=[
            control(_("Export the run"), dropdown(ids.CLUSTERS_EXPORT_KIND, downloads.choices(downloads.RUN_KINDS), "reaper")),
            html.Button(_("Download run"), id=ids.CLUSTERS_EXPORT_RUN, className="btn"),
            control(_("Playlist of the cluster"), dropdown(ids.CLUSTERS_EXPORT_QUEUE, downloads.choices(downloads.QUEUE_CHOICES), "all")),
            control(_("Playlist with"), dropdown(ids.CLUSTERS_EXPORT_LINKS, downloads.choices(downloads.PLAYLIST_KINDS), "xspf")),
            html.Button(_("Download playlist (.xspf)"), id=ids.CLUSTERS_EXPORT_PLAYLIST, className="btn"),
            html.A(_("your playlist links →"), href="/playlists", className="btn btn-ghost btn-small",
                   title=_("Playlists whose links play anywhere: see and revoke them")),
            dcc.Download(id=ids.CLUSTERS_DOWNLOAD),
        ])),
        # how strong the chosen run's grouping is: a visible warning when it is weak (issue #21)
        html.Div(run_verdict(data, run), id=ids.CLUSTERS_STRENGTH),
        html.Div(className="cluster-grid", children=[
            html.Div([card(_("Cluster sizes (click a bar)"),
                           dcc.Graph(id=ids.CLUSTERS_SIZES, figure=sizes_figure(data, run), config=graph_config())),
                      html.Div(id=ids.CLUSTERS_BODY, children=cluster_body(data, run, cluster))]),
            html.Aside(className="detail", children=[
                card(_("Section"), html.Div(id=ids.judge_container(PAGE)), html.Div(id=ids.CLUSTERS_DETAIL)),
            ]),
        ]),
    ])


register_selection(PAGE, run=ids.CLUSTERS_RUN)
register_judging(PAGE)
register_jobs(PAGE)


@callback(Output(ids.CLUSTERS_CLUSTER, "options"), Output(ids.CLUSTERS_CLUSTER, "value"),
          Output(ids.CLUSTERS_SIZES, "figure"), Input(ids.CLUSTERS_RUN, "value"), Input(ids.CLUSTERS_SIZES, "clickData"),
          State(ids.CLUSTERS_CLUSTER, "value"), prevent_initial_call=True)
def _run_or_bar(run, click, current):
    data = get_data()
    if ctx.triggered_id == ids.CLUSTERS_SIZES:
        if not click or not click.get("points"):
            return no_update, no_update, no_update
        cd = click["points"][0].get("customdata")
        return no_update, int(cd) if cd is not None else no_update, no_update
    opts = cluster_options(data, run)
    values = [o["value"] for o in opts]
    return opts, (current if current in values else (values[0] if values else None)), sizes_figure(data, run)


@callback(Output(ids.CLUSTERS_STRENGTH, "children"), Input(ids.CLUSTERS_RUN, "value"), prevent_initial_call=True)
def _run_strength(run):
    return run_verdict(get_data(), run)


@callback(Output(ids.CLUSTERS_BODY, "children"), Input(ids.CLUSTERS_RUN, "value"), Input(ids.CLUSTERS_CLUSTER, "value"),
          Input(ids.job_done(PAGE), "data"), prevent_initial_call=True)
def _body(run, cluster, _job_done=None):
    # a finished saliency job (the job box sets job_done) redraws the body with its maps: this worker
    # may not have seen the store's new version yet
    data = get_data()
    if ctx.triggered_id == ids.job_done(PAGE):
        data.refresh(force=True)
    return cluster_body(data, run, cluster)


@callback(Output(ids.CLUSTERS_DETAIL, "children"), Input(ids.selected(PAGE), "data"))
def _detail(selected):
    selected = selected or {}
    return section_detail(get_data(), selected.get("section_id"), selected.get("run_id"), PAGE,
                          autoplay=bool(selected.get("autoplay")), n_neighbours=6)


@callback(Output(ids.CLUSTERS_RENAME_STATUS, "children"), Output(ids.CLUSTERS_NAME, "children"),
          Output(ids.CLUSTERS_CLUSTER, "options", allow_duplicate=True), Output(ids.CLUSTERS_SIZES, "figure",
                                                                                 allow_duplicate=True),
          Input(ids.CLUSTERS_RENAME_SAVE, "n_clicks"), State(ids.CLUSTERS_RENAME_INPUT, "value"),
          State(ids.CLUSTERS_RUN, "value"), State(ids.CLUSTERS_CLUSTER, "value"), prevent_initial_call=True)
def _rename(n_clicks, name, run, cluster):
    """Save an expert's name of the cluster (an empty field: back to the default name)."""
    if not n_clicks or run is None or cluster is None:
        return no_update, no_update, no_update, no_update
    return on_rename(run, cluster, name)


def on_rename(run, cluster, name):
    """Record a rename for the logged-in user through the checked submission; returns the status,
    the new heading, the cluster picker's options and the sizes figure (or ``no_update``)."""
    from sectionist.dashboard.judging.routes import submit_cluster_name

    try:
        row = submit_cluster_name({"run_id": run, "cluster": cluster, "name": name or ""})
    except SectionistError as exc:  # PermissionDenied (a viewer), NotFound, bad names
        return _("Not saved: %(reason)s", reason=str(exc)), no_update, no_update, no_update
    data = get_data()
    names = cluster_names(data, run)
    if row["name"]:
        status = (_("Saved: renamed by %(user)s (the earlier name is kept in the history)", user=row["username"])
                  if row["supersedes"] else _("Saved: renamed by %(user)s", user=row["username"]))
    else:
        status = (_("Saved: back to the default name (the earlier name is kept in the history)")
                  if row["supersedes"] else _("Saved: back to the default name"))
    return status, palette.cluster_name(cluster, names), cluster_options(data, run), sizes_figure(data, run)


@callback(Output(ids.CLUSTERS_DOWNLOAD, "data"), Input(ids.CLUSTERS_EXPORT_RUN, "n_clicks"),
          Input(ids.CLUSTERS_EXPORT_PLAYLIST, "n_clicks"), State(ids.CLUSTERS_RUN, "value"),
          State(ids.CLUSTERS_CLUSTER, "value"), State(ids.CLUSTERS_EXPORT_KIND, "value"),
          State(ids.CLUSTERS_EXPORT_QUEUE, "value"), State(ids.CLUSTERS_EXPORT_LINKS, "value"), prevent_initial_call=True)
def _download(_run_clicks, _playlist_clicks, run, cluster, kind, queue_name, links):
    data = get_data()
    if not run or run not in data.runs.index:
        return no_update
    if ctx.triggered_id == ids.CLUSTERS_EXPORT_RUN:
        exp = downloads.export_data(data, [run])
        return downloads.download(kind or "reaper", exp, run, title=f"sectionist: {run_label(data, run)}")
    if cluster is None:
        return no_update
    arr = data.run_arrays(run)
    if queue_name in ("prototypes", "borderline"):
        members = queues(data, run, cluster)[0 if queue_name == "prototypes" else 1]
    else:
        members = list(data.section_ids[arr.label == int(cluster)])
    if not members:
        return no_update
    exp = downloads.export_data(data, [run], section_ids=members)
    # a file's name and title: English, as every export; the cluster's expert name where it has one
    expert = exp.cluster_name_of(run, cluster)
    name = (f"{expert} (cluster {int(cluster)}, {queue_name or 'all'})" if expert
            else f"cluster {int(cluster)} ({queue_name or 'all'})")
    return downloads.download(links or "xspf", exp, f"{run}-{name}",
                              title=f"sectionist: {name} of {run_label(data, run)}")
