"""The section detail panel: player, spectrogram, tags, SHAP explanation, nearest neighbours.

:func:`section_detail` builds it from the store; pages put it in their detail card next to the
judging container (``ids.judge_container(page)``), which stays outside the re-rendered part.
"""

from __future__ import annotations

import numpy as np
from dash import dcc, html

from sectionist.analysis.glossary import surrogate_note, tag_label

from sectionist.dashboard.ui import ids
from sectionist.dashboard.ui.figures import explain as explain_figures
from sectionist.dashboard.ui.i18n import N_, _, number, percent
from sectionist.dashboard.ui.components.common import graph_config, badge, cluster_chip, cluster_names, empty_state, fmt_time
from sectionist.dashboard.ui.components.player import section_player, spectrogram_url


def section_summary(data, pos: int, run_id: str | None) -> dict:
    """Cluster, confidence, silhouette of the section at ``pos`` in ``run_id`` (None when unknown)."""
    out = {"cluster": None, "confidence": None, "silhouette": None, "stability": None}
    if run_id and run_id in data.runs.index:
        arr = data.run_arrays(run_id)
        lab = int(arr.label[pos])
        if lab >= -1:
            out.update(cluster=lab, confidence=float(arr.confidence[pos]), silhouette=float(arr.silhouette[pos]),
                       stability=float(arr.stability[pos]))
    return out


def neighbour_list(data, pos: int, run_id: str | None, page: str, space: str | None, k: int = 8) -> html.Div:
    """Rows of the nearest sections in the run's space, each with a play button."""
    if space is None and run_id and run_id in data.runs.index:
        space = data.runs.loc[run_id, "space"]
    if space is None:
        return empty_state(_("No space to search neighbours in."))
    nbrs = data.neighbours(pos, space, k=k)
    if not nbrs:
        return empty_state(_("No neighbours (this section has no vector in this space)."))
    labels = data.run_arrays(run_id).label if run_id and run_id in data.runs.index else None
    names = cluster_names(data, run_id)
    rows = []
    for npos, dist in nbrs:
        lab = int(labels[npos]) if labels is not None else -2
        rows.append(html.Div(className="list-row", children=[
            html.Button("▶", id=ids.play(page, str(data.section_ids[npos])), className="btn-icon",
                        title=_("select and play")),
            html.Span(data.titles[npos], className="list-main", title=data.titles[npos]),
            html.Span(fmt_time(data.starts[npos]), className="muted"),
            cluster_chip(lab, names=names) if lab >= -1 else None,
            html.Span("d=" + number(dist, 2), className="muted small"),
        ]))
    return html.Div(rows, className="list")


#: How a section labelled by a run's fitted model after the fit is marked (map hover, detail panel;
#: English, shown through ``_(PLACED_NOTE)``).
PLACED_NOTE = N_("placed by the fitted model, not part of the fit")


def section_detail(data, section_id: str | None, run_id: str | None, page: str, *, space: str | None = None,
                   autoplay: bool = True, n_neighbours: int = 8) -> list:
    """Children of a page's detail panel for ``section_id`` (an empty state when None/unknown)."""
    if not section_id:
        return [empty_state(_("Click a section to listen to it, see its spectrogram, its tags, why it is in "
                              "its cluster and its nearest neighbours."))]
    sec = data.section(section_id)
    if sec is None:
        return [empty_state(_("Section %(section)s is not in this store.", section=section_id))]
    pos = sec["pos"]
    info = section_summary(data, pos, run_id)
    chips = []
    if info["cluster"] is not None:
        chips.append(cluster_chip(info["cluster"], names=cluster_names(data, run_id)))
        chips.append(badge(_("confidence %(value)s", value=number(info["confidence"], 2))))
        if not np.isnan(info["silhouette"] or np.nan):
            chips.append(badge(_("silhouette %(value)s", value=number(info["silhouette"], 2))))
    elif run_id:
        chips.append(badge(_("not in this run"), "warn"))
    if run_id and run_id in data.runs.index:
        placed = data.run_arrays(run_id).placed
        if placed is not None and placed[pos]:
            chips.append(badge(_(PLACED_NOTE), "warn"))
    if sec.get("is_central"):
        chips.append(badge(_("central"), "ok"))
    if sec.get("truth_label") is not None and str(sec.get("truth_label")) not in ("None", "nan"):
        chips.append(badge(_("truth: %(label)s", label=sec["truth_label"])))

    # tags
    tags = data.tags(section_id)
    tag_view = empty_state(_("No tags stored.")) if tags.empty else html.Div(className="tags", children=[
        # the tagger's words in the reader's language (the raw tag on hover)
        html.Span(className="tag", title=str(t["tag"]),
                  children=[html.Span(tag_label(t["tag"], _)),
                            html.Span(number(float(t["probability"]), 2), className="tag-p")],
                  style={"--p": f"{100 * float(t['probability']):.0f}%"})
        for _unused, t in tags.head(10).iterrows()])

    # explanation towards its cluster
    shap_view = empty_state(_("Noise: no cluster to explain.") if info["cluster"] == -1 else
                            _("No explanation stored for this run."))
    if run_id:
        expl = data.explanation(run_id, pos)
        if expl is not None:
            cols = [f for f in expl.index if f in data.feature_index]
            values = dict(zip(cols, map(float, data.feature_rows([pos], cols)[0]))) if cols else {}
            run = data.runs.loc[run_id]
            note = surrogate_note(run.get("space"), run.get("fidelity"), gettext=_, percent=percent)
            shap_view = html.Div([
                html.P(_("Each bar: how much a feature places this section in its cluster. Right (blue): it "
                         "pushes the section towards the cluster, left (orange): away from it; the words say "
                         "whether the section's value is above or below the corpus median."),
                       className="muted small"),
                dcc.Graph(figure=explain_figures.shap_bars(expl.to_dict(), feature_values=values, top=10,
                                                           medians=data.feature_medians),
                          config=graph_config(displayModeBar=False), className="graph-small"),
                html.P(note, className="surrogate-note small") if note else None,
            ])

    return [
        html.Div(className="detail-head", children=[
            html.Div([html.Div(_("Section %(number)s", number=int(sec["index"]) + 1), className="eyebrow"),
                      html.H2(sec["song_title"], className="detail-title")]),
            html.Div(chips, className="chips"),
        ]),
        section_player(sec, autoplay=autoplay, run_id=run_id, element_id=ids.audio(page)),
        html.Div(className="slot-buttons", children=[
            html.Button(_("Put in slot %(slot)s", slot="A"), id=ids.slot(page, "A"), className="btn btn-ghost"),
            html.Button(_("Put in slot %(slot)s", slot="B"), id=ids.slot(page, "B"), className="btn btn-ghost"),
        ]) if page == "map" else None,
        html.Img(src=spectrogram_url(section_id), className="spectrogram",
                 alt=_("spectrogram of %(section)s", section=section_id)),
        html.H4(_("Top tags")), tag_view,
        html.H4(_("Why it is in this cluster")), shap_view,
        html.H4(_("Nearest neighbours")),
        neighbour_list(data, pos, run_id, page, space, k=n_neighbours),
        html.Div(f"id {section_id}", className="muted small mono"),
    ]
