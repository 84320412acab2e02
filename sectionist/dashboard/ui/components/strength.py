"""How strong a grouping is, on the pages: the store's verdict on the Overview, a run's and a
cluster's on the Clusters page, each song's structures on the Songs page (issue #21).

A weak grouping is never shown like a strong one: its verdict is a visible warning (an amber
notice with ``role="alert"``), not a tooltip. Bands come from :mod:`sectionist.dashboard.data.strength`,
words from :mod:`sectionist.dashboard.ui.strength`.
"""

from __future__ import annotations

from urllib.parse import quote

from dash import dcc, html

from sectionist.dashboard.data import strength as bands
from sectionist.dashboard.ui import strength as words
from sectionist.dashboard.ui.components.common import default_run
from sectionist.dashboard.ui.i18n import _, integer, number


def _box(band: str, children, element_id=None, warn: bool | None = None) -> html.Div:
    """A verdict's box: an amber notice (``role="alert"``) for weak bands, a quiet one otherwise."""
    warn = band in ("weak", "none") if warn is None else warn
    kw = {"id": element_id} if element_id else {}
    return html.Div(className=f"strength strength-{band}" + (" notice notice-warn" if warn else " notice notice-info"),
                    role="alert" if warn else "status", children=[c for c in children if c is not None], **kw)


def bands_details() -> html.Details:
    """What the verdicts mean and where their edges come from (folded)."""
    return html.Details(className="strength-legend small", children=[
        html.Summary(_("What strong, moderate and weak mean")),
        html.Ul([html.Li(line) for line in words.bands_explained()])])


def _run_link(run_id) -> dcc.Link:
    return dcc.Link(run_id, href=f"/clusters?run={quote(str(run_id), safe='')}")


def store_verdict(data, element_id=None):
    """The Overview's verdict on the store: a warning when its strongest run is weak (no run finds
    real groups) or when the run the pages show first is weak while a stronger one exists; a quiet
    line naming the strongest run otherwise. None for a store without runs."""
    if data.runs.empty:
        return None
    table = bands.run_strengths(data)
    best = bands.best_run(data)
    first = default_run(data)
    b = bands.run_strength(data, best)
    counts = table["band"].value_counts()
    tally = " · ".join(f"{words.band_word(band)}: {integer(int(counts[band]))}"
                       for band in (*bands.BANDS, bands.UNKNOWN) if band in counts.index)
    tally = _("Runs by strength — %(tally)s", tally=tally)
    if b.band == "none":
        head = _("No run in this store finds real groups")
        body = _("Even the strongest run, %(run)s, has clusters that overlap almost completely (silhouette "
                 "%(silhouette)s): its clusters are a close to arbitrary split of the sections. Listen before "
                 "reading anything into them.", run=best, silhouette=number(b.silhouette, 2))
    elif b.band == "weak":
        head = _("These groupings are weak")
        body = _("No run in this store finds well-separated groups: the strongest, %(run)s, is weak (silhouette "
                 "%(silhouette)s). Sections in different clusters sound only slightly different; treat the "
                 "clusters as a rough sorting, not as kinds of section.", run=best, silhouette=number(b.silhouette, 2))
    elif b.band == bands.UNKNOWN:
        head = _("How strong these groupings are is not measured")
        body = _("No run of this store has a silhouette score.")
    else:
        f = bands.run_strength(data, first)
        if first != best and f.is_weak:
            head = _("The run shown first is weak")
            body = _("The pages open on %(run)s, whose clusters are weak (silhouette %(silhouette)s); %(best)s is "
                     "%(band)s (silhouette %(best_silhouette)s). Pick it in a page's run list.", run=first,
                     silhouette=number(f.silhouette, 2), best=best, band=words.band_word(b.band),
                     best_silhouette=number(b.silhouette, 2))
            return _box("weak", [html.Strong(head), html.P(body), html.P(tally, className="small"), bands_details()],
                        element_id)
        head = words.run_headline(b.band)
        body = _("The strongest run, %(run)s: %(sentence)s", run=best, sentence=words.run_sentence(b.band))
    mix = words.run_mix_sentence(bands.run_song_mix(data, best))
    mix = html.P([html.B(f"{best}: "), mix], className="strength-songs") if mix else None
    return _box(b.band, [html.Strong(head), html.P(body), mix, html.P(tally, className="small"), bands_details()],
                element_id)


def run_verdict(data, run_id, element_id=None):
    """One run's verdict (Clusters page): its band as a headline, what it means, why stability
    lowered it, how its clusters sit against the songs, the numbers; for a weak run, whether another
    run of the store does better. None without a run."""
    if not run_id or run_id not in data.runs.index:
        return html.Div(id=element_id) if element_id else None
    s = bands.run_strength(data, run_id)
    mix = bands.run_song_mix(data, run_id)
    children = [html.Strong(_("%(headline)s · run %(run)s", headline=words.run_headline(s.band), run=run_id)),
                html.P(words.run_sentence(s.band))]
    cap = words.cap_sentence(s)
    if cap:
        children.append(html.P(cap))
    mix_text = words.run_mix_sentence(mix)
    if mix_text:
        children.append(html.P(mix_text, className="strength-songs"))
    if s.is_weak:
        best = bands.best_run(data)
        b = bands.run_strength(data, best)
        if best is not None and best != run_id and b.rank < s.rank:
            children.append(html.P([_("A stronger run: "), _run_link(best),
                                    " (" + words.band_word(b.band) + ")"]))
        else:
            children.append(html.P(_("No run of this store does better.")))
    children += [html.P(words.measures_line(s), className="muted small"), bands_details()]
    return _box(s.band, children, element_id)


def cluster_verdict(data, run_id, cluster, element_id=None):
    """One cluster's verdict: its band, what it means, and how much of it is one song
    (``"72% from one song (≈1.6 songs)"``)."""
    table = bands.cluster_strengths(data, run_id)
    if cluster is None or int(cluster) not in table.index:
        return None
    row = table.loc[int(cluster)]
    s = bands.cluster_strength(data, run_id, cluster)
    title = None
    top = row.get("top_song")
    if top == top and top is not None and 0 <= int(top) < len(data.songs):
        title = str(data.songs["title"].iloc[int(top)])
    children = [html.Strong(words.cluster_headline(s.band)), html.Span(" " + words.cluster_sentence(s.band))]
    cap = words.cap_sentence(s)
    if cap:
        children.append(html.Span(" " + cap))
    mix = words.cluster_mix_sentence(row.get("song_purity"), row.get("songs_effective"), title) \
        if len(data.songs) > 1 else None
    body = [html.Div(children), html.Div(mix, className="strength-songs") if mix else None,
            html.Div(words.measures_line(s), className="muted small")]
    return _box(s.band, body, element_id)


def song_structures(data, song_ids) -> list:
    """How strong each song's structures are (Songs page): per song, one line per structure scheme
    (``"merged: 8 segments, 3 parts recur; the repeats are uncertain."``); empty without segments."""
    blocks = []
    several = len(song_ids) > 1
    for sid in song_ids:
        found = bands.song_structures(data, sid)
        if not found:
            continue
        items = []
        for s in found:
            phrases = words.phrases_note(s)
            items.append(html.Li([html.B(s.scheme + ": "), words.structure_sentence(s),
                                  html.Span(" (" + phrases + ")", className="muted") if phrases else None]))
        title = html.Div(str(data.songs.loc[sid, "title"]), className="strong") if several else None
        blocks.append(html.Div([title, html.Ul(items, className="structure-list")]))
    if not blocks:
        return []
    return [html.P(_("How sure each structure is: its segments, which parts come back, and how sure the repeats "
                     "are."), className="table-note"), *blocks]
