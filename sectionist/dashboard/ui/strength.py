"""How strong a grouping is, in words a musician reads: the one place these sentences live.

The bands and their edges are computed in :mod:`sectionist.dashboard.data.strength`; this module
only words them, in the request's language (every sentence whole, with placeholders, so Spanish
can order it its own way). :mod:`sectionist.dashboard.ui.components.strength` puts them on pages.
"""

from __future__ import annotations

from sectionist.dashboard.data.strength import (MOSTLY_ONE_SONG, SILHOUETTE_EDGES, STABILITY_CAPS, UNKNOWN, RunSongMix,
                                                Strength, StructureStrength)
from sectionist.dashboard.ui import metrics
from sectionist.dashboard.ui.i18n import N_, _, ngettext, number, percent

#: A band in one or two words (a table cell).
BAND_WORDS = {"strong": N_("strong"), "moderate": N_("moderate"), "weak": N_("weak"),
              "none": N_("no real groups"), UNKNOWN: N_("not measured")}
#: A run's band as a headline.
RUN_HEADLINES = {"strong": N_("Strong grouping"), "moderate": N_("Moderate grouping"), "weak": N_("Weak grouping"),
                 "none": N_("No real grouping"), UNKNOWN: N_("Strength not measured")}
#: What a run's band means for someone listening to its clusters.
RUN_SENTENCES = {
    "strong": N_("Sections in different clusters sound clearly different, and the clusters come back when the "
                 "model is refitted: these groups can be read as kinds of section."),
    "moderate": N_("Clusters are told apart reasonably well, but their edges are soft: sections near a border may "
                   "belong to the neighbouring cluster."),
    "weak": N_("Sections in different clusters sound only slightly different; treat these groups as a rough "
               "sorting, not as kinds of section."),
    "none": N_("The clusters overlap almost completely: the sections do not fall into groups, and this split is "
               "close to arbitrary."),
    UNKNOWN: N_("This run has no silhouette score, so how well its clusters are separated is not known."),
}
#: A cluster's band as a headline, and what it means.
CLUSTER_HEADLINES = {"strong": N_("A well-separated cluster"), "moderate": N_("A fairly well-separated cluster"),
                     "weak": N_("A weakly separated cluster"), "none": N_("Not a group of its own"),
                     UNKNOWN: N_("Separation not measured")}
CLUSTER_SENTENCES = {
    "strong": N_("Its sections sound clearly unlike the other clusters' and stay together when the model is refitted."),
    "moderate": N_("Its sections are mostly told apart from the other clusters'; those near its border could go "
                   "either way."),
    "weak": N_("Its sections sound only slightly different from the neighbouring clusters'; listen before trusting it."),
    "none": N_("Its sections are about as close to other clusters as to each other."),
    UNKNOWN: N_("Its sections have no silhouette scores."),
}
#: Why a band was lowered: the stability caps it (by the band it caps at).
CAP_SENTENCES = {
    "weak": N_("Refitting on resampled sections changes much of it (stability %(stability)s), so it counts as weak "
               "at most."),
    "moderate": N_("Refitting on resampled sections changes part of it (stability %(stability)s), so it counts as "
                   "moderate at most."),
}
#: How sure a structure's repeats are (:data:`sectionist.dashboard.data.strength.REPEAT_CONFIDENCE_EDGES`).
SURENESS = {"clear": N_("the repeats are clear"), "fair": N_("the repeats are fairly sure"),
            "uncertain": N_("the repeats are uncertain"),
            UNKNOWN: N_("how sure the repeats are was not recorded")}


def band_word(band: str) -> str:
    """A band in one or two words (``"weak"``)."""
    return _(BAND_WORDS.get(band, BAND_WORDS[UNKNOWN]))


def run_headline(band: str) -> str:
    return _(RUN_HEADLINES.get(band, RUN_HEADLINES[UNKNOWN]))


def run_sentence(band: str) -> str:
    return _(RUN_SENTENCES.get(band, RUN_SENTENCES[UNKNOWN]))


def cluster_headline(band: str) -> str:
    return _(CLUSTER_HEADLINES.get(band, CLUSTER_HEADLINES[UNKNOWN]))


def cluster_sentence(band: str) -> str:
    return _(CLUSTER_SENTENCES.get(band, CLUSTER_SENTENCES[UNKNOWN]))


def cap_sentence(s: Strength) -> str | None:
    """Why the stability lowered the band, or None when it did not."""
    if not s.capped or s.band not in CAP_SENTENCES:
        return None
    return _(CAP_SENTENCES[s.band], stability=number(s.stability, 2))


def measures_line(s: Strength) -> str:
    """The numbers behind a band: ``"silhouette 0.18 · stability 0.52"`` (stability left out when
    not measured)."""
    if s.stability == s.stability:
        return _("silhouette %(silhouette)s · stability %(stability)s", silhouette=number(s.silhouette, 2),
                 stability=number(s.stability, 2))
    return _("silhouette %(silhouette)s · stability not measured", silhouette=number(s.silhouette, 2))


def run_mix_sentence(mix: RunSongMix) -> str | None:
    """How a run's clusters sit against the songs: ``"4 of 5 clusters are mostly one song — these
    groups follow songs, not kinds of section"``; None for a one-song store or a run with no cluster."""
    if mix.n_songs <= 1 or mix.n_clusters == 0:
        return None
    if mix.clusters_one_song == 0:
        return _("No cluster is mostly one song: every group mixes songs.")
    if mix.follows_songs:
        return ngettext("%(num)d of %(total)s clusters is mostly one song — these groups follow songs, not kinds of "
                        "section.",
                        "%(num)d of %(total)s clusters are mostly one song — these groups follow songs, not kinds of "
                        "section.", mix.clusters_one_song, total=mix.n_clusters)
    return ngettext("%(num)d of %(total)s clusters is mostly one song; the others mix songs.",
                    "%(num)d of %(total)s clusters are mostly one song; the others mix songs.",
                    mix.clusters_one_song, total=mix.n_clusters)


def run_mix_cell(mix: RunSongMix) -> str | None:
    """The short form for a table cell: ``"4 of 5"`` clusters mostly one song (None when not said)."""
    if mix.n_songs <= 1 or mix.n_clusters == 0:
        return None
    return _("%(count)s of %(total)s", count=mix.clusters_one_song, total=mix.n_clusters)


def cluster_mix_sentence(song_purity, songs_effective, title: str | None = None) -> str | None:
    """``"72% from one song (≈1.6 songs)"``, naming the song when ``title`` is given and the cluster is
    mostly that song; None when the share is not known."""
    if song_purity is None or song_purity != song_purity:
        return None
    share, songs = percent(float(song_purity)), number(songs_effective, 1)
    if title and float(song_purity) >= MOSTLY_ONE_SONG:
        return _("%(share)s from one song, %(title)s (≈%(songs)s songs): it follows that song more than a kind of "
                 "section.", share=share, title=title, songs=songs)
    return _("%(share)s from one song (≈%(songs)s songs).", share=share, songs=songs)


def structure_sentence(s: StructureStrength) -> str:
    """What one scheme found in a song, in words: ``"8 segments, 3 parts recur; the repeats are
    uncertain"``."""
    segments = ngettext("%(num)d segment", "%(num)d segments", s.n_segments)
    if s.n_parts <= 1:
        return _("%(segments)s, all one part: the structure found no change.", segments=segments)
    if s.n_recurring == 0:
        return _("%(segments)s, none of them repeated: the structure found no part that comes back.",
                 segments=segments)
    recur = ngettext("%(num)d part recurs", "%(num)d parts recur", s.n_recurring)
    unique = ngettext("%(num)d segment is heard once", "%(num)d segments are heard once", s.n_unique) \
        if s.n_unique else None
    sure = _(SURENESS.get(s.sureness, SURENESS[UNKNOWN]))
    if s.sureness != UNKNOWN:
        sure = _("%(sureness)s (confidence %(confidence)s)", sureness=sure, confidence=number(s.confidence, 2))
    if unique:
        return _("%(segments)s, %(recurring)s, %(unique)s; %(sureness)s.", segments=segments, recurring=recur,
                 unique=unique, sureness=sure)
    return _("%(segments)s, %(recurring)s; %(sureness)s.", segments=segments, recurring=recur, sureness=sure)


def phrases_note(s: StructureStrength) -> str | None:
    """``"42 phrases inside them"`` when the scheme stored a finer level."""
    if not s.n_phrases:
        return None
    return ngettext("%(num)d phrase inside them", "%(num)d phrases inside them", s.n_phrases)


def bands_explained() -> list[str]:
    """One line per band with its edges, from the constants that define them (the app's legend of
    the verdicts; docs/modeling.md says the same)."""
    edges = dict(SILHOUETTE_EDGES)
    caps = {band: edge for edge, band in STABILITY_CAPS}
    return [
        _("Strong: silhouette above %(edge)s and stability at least %(stab)s.", edge=number(edges["strong"], 2),
          stab=number(caps["moderate"], 2)),
        _("Moderate: silhouette above %(edge)s and stability at least %(stab)s.", edge=number(edges["moderate"], 2),
          stab=number(caps["weak"], 2)),
        _("Weak: silhouette above %(edge)s.", edge=number(edges["weak"], 2)),
        _("No real groups: silhouette %(edge)s or below.", edge=number(edges["weak"], 2)),
        # what the two measures are: the Overview's lines for them (ui.metrics), said once
        _("Silhouette: %(meaning)s The edges are Kaufman and Rousseeuw's.", meaning=metrics.explain("silhouette")),
        _("Stability: %(meaning)s Below %(stab)s it lowers the band (Hennig's edges).",
          meaning=metrics.explain("stability_ari"), stab=number(caps["moderate"], 2)),
        _("A cluster is mostly one song when at least %(share)s of its sections come from one song.",
          share=percent(MOSTLY_ONE_SONG)),
    ]

