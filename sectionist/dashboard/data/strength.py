"""How strong a grouping is: the one place the bands and their edges live (issue #21).

A run's clusters can be well separated and reproducible, or an arbitrary split of sections that
do not fall into groups; the app says which, in words, from numbers the store already holds.
This module computes the bands (codes, never text for people); :mod:`sectionist.dashboard.ui.strength`
words them. docs/modeling.md ("How strong is this grouping?") explains them to readers.

**Separation** — the mean silhouette width (``runs.silhouette``; for one cluster, the mean of its
sections' ``clusterings.silhouette``), read with Kaufman & Rousseeuw's bands (*Finding Groups in
Data*, 1990, ch. 2, on the silhouette coefficient): above 0.70 a strong structure, 0.51–0.70 a
reasonable one, 0.26–0.50 a weak one that could be artificial, 0.25 or less no substantial
structure (:data:`SILHOUETTE_EDGES`).

**Stability** — how much of the grouping comes back when the method is refitted on bootstrap
resamples: for a run the mean ARI between refits (``runs.stability_ari``), for a cluster the mean
co-assignment rate of its sections (``clusterings.stability``: the share of a section's
cluster-mates that stay with it). Hennig (2007, "Cluster-wise assessment of cluster stability",
*Computational Statistics & Data Analysis* 52) reads bootstrap agreement of 0.75 and more as a
stable cluster, 0.6–0.75 as a pattern whose members are doubtful, and 0.5 or less as a dissolved
one. Stability never raises a band; below 0.75 it caps it (:data:`STABILITY_CAPS`). The ARI is
chance-corrected and so lower than a Jaccard or co-assignment rate for the same agreement: the
same edges are stricter for runs, which errs towards calling a grouping weaker, never stronger.

**Songs** — a cluster most of whose sections come from one song groups that song, not a kind of
section. ``song_purity`` is the share of a cluster's sections from its commonest song,
``songs_effective`` the effective number of songs it draws from (inverse Simpson index,
1 / Σ pᵢ², where pᵢ is song i's share); a cluster is *mostly one song* from
:data:`MOSTLY_ONE_SONG` on. The analysis writes them with each run (``runs`` and ``clusters``
columns, :mod:`sectionist.analysis.modeling.purity`); stores written before get them computed here,
by the same definitions (over every section a run labels, placed ones included).

**Per-song structures** (the ``segments`` table) — how many segments a scheme found, how many of
its parts recur, and, where the scheme records it, how sure the repeats are
(``segments.confidence``, banded by :data:`REPEAT_CONFIDENCE_EDGES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sectionist.analysis.modeling.purity import MOSTLY_ONE_SONG as ANALYSIS_MOSTLY_ONE_SONG

#: The bands, strongest first; :data:`UNKNOWN` where a run has no silhouette.
BANDS: tuple[str, ...] = ("strong", "moderate", "weak", "none")
UNKNOWN = "unknown"
#: Lower edge of each band's silhouette, exclusive (Kaufman & Rousseeuw: > 0.70 strong, 0.51–0.70
#: reasonable, 0.26–0.50 weak, ≤ 0.25 no substantial structure); below the last edge: ``"none"``.
SILHOUETTE_EDGES: tuple[tuple[str, float], ...] = (("strong", 0.70), ("moderate", 0.50), ("weak", 0.25))
#: ``(edge, band)``: a stability below ``edge`` caps the grouping at ``band`` (Hennig 2007: ≥ 0.75
#: stable, 0.6–0.75 doubtful members, ≤ 0.5 dissolved). Checked in order, the lowest edge first.
STABILITY_CAPS: tuple[tuple[float, str], ...] = ((0.60, "weak"), (0.75, "moderate"))
#: A cluster is "mostly one song" when at least this share of its sections come from one song: the
#: analysis' edge (``runs.clusters_one_song``), one constant for both.
MOSTLY_ONE_SONG = ANALYSIS_MOSTLY_ONE_SONG
#: Mean ``segments.confidence`` of a structure's repeated segments: ≥ 0.75 the repeats are clear,
#: ≥ 0.5 fairly sure, below uncertain. The confidence reads as a probability that the shared label
#: is right, so the edges are where a listener would agree three times in four, and half the time.
REPEAT_CONFIDENCE_EDGES: tuple[tuple[str, float], ...] = (("clear", 0.75), ("fair", 0.50))


@dataclass(frozen=True)
class Strength:
    """How strong one grouping (a run or a cluster) is.

    ``band`` is one of :data:`BANDS` or :data:`UNKNOWN`; ``silhouette`` and ``stability`` are the
    numbers it came from (NaN when not measured); ``capped`` is True when the stability lowered the
    band the silhouette alone gives (``by_silhouette``)."""

    band: str
    silhouette: float
    stability: float
    by_silhouette: str

    @property
    def capped(self) -> bool:
        return self.band != self.by_silhouette

    @property
    def rank(self) -> int:
        """0 for strong … 3 for none, 4 for unknown (sorts strongest first)."""
        return BANDS.index(self.band) if self.band in BANDS else len(BANDS)

    @property
    def is_weak(self) -> bool:
        """True for ``weak`` and ``none``: the grouping should not be read as kinds of section."""
        return self.band in ("weak", "none")


def _finite(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v if math.isfinite(v) else float("nan")


def silhouette_band(silhouette) -> str:
    """The band of a mean silhouette width (:data:`SILHOUETTE_EDGES`); :data:`UNKNOWN` for NaN/None."""
    s = _finite(silhouette)
    if s != s:
        return UNKNOWN
    for band, edge in SILHOUETTE_EDGES:
        if s > edge:
            return band
    return "none"


def stability_cap(stability) -> str | None:
    """The strongest band a stability allows (:data:`STABILITY_CAPS`); None when it caps nothing
    (stable, or not measured)."""
    s = _finite(stability)
    if s != s:
        return None
    for edge, band in STABILITY_CAPS:
        if s < edge:
            return band
    return None


def strength(silhouette, stability=None) -> Strength:
    """The band of a grouping from its silhouette, capped by its stability."""
    sil, stab = _finite(silhouette), _finite(stability)
    by_sil = silhouette_band(sil)
    band = by_sil
    cap = stability_cap(stab)
    if cap is not None and band in BANDS and BANDS.index(band) < BANDS.index(cap):
        band = cap
    return Strength(band, sil, stab, by_sil)


# ---- runs ------------------------------------------------------------------------------------------
def run_strengths(data) -> pd.DataFrame:
    """Every run's :class:`Strength`: a frame indexed by run id with ``silhouette``, ``stability``
    (``runs.stability_ari``), ``band``, ``by_silhouette``, ``capped`` and ``rank``, in
    :attr:`~sectionist.dashboard.data.store_data.StoreData.runs` order."""
    def compute():
        runs = data.runs
        rows = []
        for run_id in runs.index:
            s = strength(runs.at[run_id, "silhouette"] if "silhouette" in runs else None,
                         runs.at[run_id, "stability_ari"] if "stability_ari" in runs else None)
            rows.append({"run_id": run_id, "silhouette": s.silhouette, "stability": s.stability, "band": s.band,
                         "by_silhouette": s.by_silhouette, "capped": s.capped, "rank": s.rank})
        cols = ["silhouette", "stability", "band", "by_silhouette", "capped", "rank"]
        return pd.DataFrame(rows, columns=["run_id", *cols]).set_index("run_id")

    return data.memo("strength", "runs", compute)


def run_strength(data, run_id) -> Strength:
    """One run's :class:`Strength` (unknown for a run the store does not have)."""
    table = run_strengths(data)
    if run_id not in table.index:
        return strength(None)
    r = table.loc[run_id]
    return Strength(r["band"], float(r["silhouette"]), float(r["stability"]), r["by_silhouette"])


def best_run(data, run_ids=None):
    """The strongest of ``run_ids`` (default: every run): the lowest band rank, then the highest
    silhouette; None when there is no run."""
    table = run_strengths(data)
    if run_ids is not None:
        table = table[table.index.isin(list(run_ids))]
    if table.empty:
        return None
    order = table.assign(_s=table["silhouette"].fillna(-np.inf)).sort_values(["rank", "_s"], ascending=[True, False],
                                                                             kind="stable")
    return order.index[0]


# ---- songs in clusters -------------------------------------------------------------------------------
def song_mix(labels: np.ndarray, songs: np.ndarray) -> pd.DataFrame:
    """How many songs each cluster draws from.

    Parameters
    ----------
    labels : np.ndarray [shape=(n,)]
        Cluster of each section (negative: noise or not clustered, left out).
    songs : np.ndarray [shape=(n,)]
        Song code of each section (non-negative ints).

    Returns
    -------
    pd.DataFrame
        Indexed by cluster: ``size``, ``song_purity`` (share of the commonest song), ``songs_effective``
        (1 / Σ pᵢ²), ``top_song`` (its code) and ``n_songs``.
    """
    labels, songs = np.asarray(labels, np.int64), np.asarray(songs, np.int64)
    keep = labels >= 0
    labels, songs = labels[keep], songs[keep]
    cols = ["size", "song_purity", "songs_effective", "top_song", "n_songs"]
    if not len(labels):
        return pd.DataFrame(columns=cols).rename_axis("cluster")
    pairs, counts = np.unique(np.stack([labels, songs]), axis=1, return_counts=True)
    df = pd.DataFrame({"cluster": pairs[0], "song": pairs[1], "n": counts})
    size = df.groupby("cluster")["n"].transform("sum")
    df["p"] = df["n"] / size
    top = df.sort_values(["cluster", "n", "song"], ascending=[True, False, True]).groupby("cluster").first()
    g = df.groupby("cluster")
    out = pd.DataFrame({"size": g["n"].sum(), "song_purity": g["p"].max(),
                        "songs_effective": 1.0 / g["p"].apply(lambda p: float(np.sum(p.to_numpy() ** 2))),
                        "top_song": top["song"], "n_songs": g.size()})
    return out[cols]


def cluster_song_mix(data, run_id) -> pd.DataFrame:
    """:func:`song_mix` of one run's clusters, with ``song_purity`` and ``songs_effective`` taken from
    the ``clusters`` table where it has them (computed here for stores written before)."""
    def compute():
        arr = data.run_arrays(run_id)
        mix = song_mix(arr.label, data.song_code)
        info = data.clusters(run_id)
        for name in ("song_purity", "songs_effective"):
            if name in info.columns:
                stored = pd.to_numeric(info[name], errors="coerce").reindex(mix.index)
                mix[name] = stored.where(stored.notna(), mix[name])
        return mix

    return data.memo("strength-songs", run_id, compute)


@dataclass(frozen=True)
class RunSongMix:
    """A run's clusters against the songs: ``clusters_one_song`` of ``n_clusters`` are mostly one
    song; ``song_purity`` is the share of clustered sections from their cluster's commonest song,
    ``songs_effective`` the effective number of songs per cluster (both means weighted by the
    clusters' sizes). ``n_songs`` is the store's
    number of songs (with one song, every cluster is one song and nothing is said)."""

    clusters_one_song: int
    n_clusters: int
    song_purity: float
    songs_effective: float
    n_songs: int

    @property
    def follows_songs(self) -> bool:
        """More than half of the clusters are mostly one song."""
        return self.n_songs > 1 and self.n_clusters > 0 and self.clusters_one_song * 2 > self.n_clusters


def run_song_mix(data, run_id) -> RunSongMix:
    """:class:`RunSongMix` of one run: the ``runs`` columns where the store has them (no clustering
    read), else computed from its clusters (:func:`cluster_song_mix`)."""
    runs = data.runs
    n_songs = int(len(data.songs))
    names = ("song_purity", "songs_effective", "clusters_one_song", "n_clusters")
    stored = {name: _finite(runs.at[run_id, name]) if run_id in runs.index and name in runs.columns else float("nan")
              for name in names}
    if all(v == v for v in stored.values()):
        return RunSongMix(int(stored["clusters_one_song"]), int(stored["n_clusters"]), stored["song_purity"],
                          stored["songs_effective"], n_songs)
    mix = cluster_song_mix(data, run_id)
    size = mix["size"].to_numpy(float)
    total = size.sum()
    purity = float(np.sum(mix["song_purity"].to_numpy(float) * size) / total) if total else float("nan")
    effective = float(np.sum(mix["songs_effective"].to_numpy(float) * size) / total) if total else float("nan")
    return RunSongMix(int((mix["song_purity"] >= MOSTLY_ONE_SONG).sum()), int(len(mix)), purity, effective, n_songs)


# ---- clusters ----------------------------------------------------------------------------------------
def cluster_strengths(data, run_id) -> pd.DataFrame:
    """Per cluster of a run: ``size``, mean ``silhouette`` and ``stability`` of its sections, the
    :class:`Strength` fields (``band``, ``by_silhouette``, ``capped``) and :func:`cluster_song_mix`'s
    columns; indexed by cluster (noise left out)."""
    def compute():
        arr = data.run_arrays(run_id)
        mix = cluster_song_mix(data, run_id)
        rows = []
        for c in mix.index:
            members = arr.label == int(c)
            with np.errstate(all="ignore"):
                sil = float(np.nanmean(arr.silhouette[members])) if np.isfinite(arr.silhouette[members]).any() else np.nan
                stab = float(np.nanmean(arr.stability[members])) if np.isfinite(arr.stability[members]).any() else np.nan
            s = strength(sil, stab)
            rows.append({"cluster": int(c), "silhouette": s.silhouette, "stability": s.stability, "band": s.band,
                         "by_silhouette": s.by_silhouette, "capped": s.capped})
        out = pd.DataFrame(rows, columns=["cluster", "silhouette", "stability", "band", "by_silhouette", "capped"])
        return mix.join(out.set_index("cluster"))

    return data.memo("strength-clusters", run_id, compute)


def cluster_strength(data, run_id, cluster) -> Strength:
    """One cluster's :class:`Strength` (unknown for a cluster the run does not have)."""
    table = cluster_strengths(data, run_id)
    if int(cluster) not in table.index:
        return strength(None)
    r = table.loc[int(cluster)]
    return Strength(r["band"], float(r["silhouette"]), float(r["stability"]), r["by_silhouette"])


# ---- per-song structures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StructureStrength:
    """What one structure scheme found in one song (its ``section`` level).

    ``n_segments`` segments of ``n_parts`` distinct labels; ``n_recurring`` labels that more than
    one segment shares, covering ``n_repeated`` segments; ``n_unique`` segments whose label no
    other has. ``confidence`` is the mean ``segments.confidence`` of the repeated segments (NaN
    where the scheme recorded none) and ``sureness`` its band (:data:`REPEAT_CONFIDENCE_EDGES`:
    ``"clear"``, ``"fair"``, ``"uncertain"``; ``"unknown"`` without confidence). ``n_phrases``
    counts the finer ``phrase`` level's segments (0 without one)."""

    scheme: str
    n_segments: int
    n_parts: int
    n_recurring: int
    n_repeated: int
    n_unique: int
    confidence: float
    sureness: str
    n_phrases: int = 0


def repeat_sureness(confidence) -> str:
    """The band of a mean repeat confidence (:data:`REPEAT_CONFIDENCE_EDGES`); ``"unknown"`` for NaN."""
    c = _finite(confidence)
    if c != c:
        return UNKNOWN
    for band, edge in REPEAT_CONFIDENCE_EDGES:
        if c >= edge:
            return band
    return "uncertain"


def structure_strength(segments: pd.DataFrame) -> StructureStrength | None:
    """:class:`StructureStrength` of one scheme's segments of one song (rows of the ``segments``
    table; an older store's rows, without ``level`` or ``confidence``, are all the section level);
    None without section-level rows."""
    level = segments["level"].fillna("section") if "level" in segments.columns else pd.Series("section",
                                                                                                index=segments.index)
    rows = segments[level == "section"]
    if rows.empty:
        return None
    labels = rows["label"].to_numpy()
    uniq, counts = np.unique(labels, return_counts=True)
    shared = np.isin(labels, uniq[counts > 1])
    conf = float("nan")
    if "confidence" in rows.columns:
        values = pd.to_numeric(rows["confidence"], errors="coerce").to_numpy(float)[shared]
        values = values[np.isfinite(values)]
        conf = float(values.mean()) if len(values) else float("nan")
    scheme = str(rows["scheme"].iloc[0]) if "scheme" in rows.columns else ""
    return StructureStrength(scheme, int(len(rows)), int(len(uniq)), int((counts > 1).sum()), int(shared.sum()),
                             int((~shared).sum()), conf, repeat_sureness(conf), int((level == "phrase").sum()))


def song_structures(data, song_id) -> list[StructureStrength]:
    """:func:`structure_strength` of every structure scheme of one song, by scheme name."""
    from sectionist.store.schema import SEGMENTS, latest_segments

    table = latest_segments(data.table(SEGMENTS))
    if table.empty or "song_id" not in table.columns:
        return []
    rows = table[table["song_id"] == song_id]
    out = []
    for _scheme, seg in sorted(rows.groupby("scheme"), key=lambda kv: str(kv[0])):
        s = structure_strength(seg.sort_values("start_s"))
        if s is not None:
            out.append(s)
    return out
