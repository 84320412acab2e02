"""What an export is made of: :class:`ExportData`, built from frames (:func:`build`) or read from a
store (:func:`gather`), and the selections that narrow it (a selection file, a cluster's queue)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sectionist.store.schema import (
    CLUSTERINGS,
    CLUSTERS,
    RUNS,
    SECTIONS,
    SEGMENTS,
    SONGS,
    latest_segments,
    section_level,
)

from sectionist.analysis.errors import InputError, ParameterError, StoreError
from sectionist.analysis.export.locations import corpus_root
from sectionist.analysis.export.names import check_known, clean_names, cluster_labels, cluster_name

#: Playlist queues of a cluster (the ``clusters`` table's section lists).
QUEUES = ("prototypes", "borderline")
#: Prefix of a label source that is a sectioning scheme (``scheme:NAME``), not a run id.
SCHEME_PREFIX = "scheme:"


@dataclass
class ExportData:
    """Sections, their songs and their labels by run: what every writer draws from.

    Attributes
    ----------
    sections : pd.DataFrame
        One row per section, by song then start: ``section_id, song_id, scheme, index, start_s,
        end_s, title`` (the song's title).
    songs : pd.DataFrame
        Indexed by ``song_id``: ``title, uri, duration_s``, in the order songs appear in ``sections``.
    labels : pd.DataFrame
        Indexed like ``sections`` (by position), one nullable-int column per run id: the section's
        cluster (−1 noise, missing: not labelled by that run).
    runs : pd.DataFrame
        Indexed by ``run_id``: ``space, method, k`` of each run in ``labels`` (descriptions).
    structures : pd.DataFrame
        The ``segments`` rows of these songs' latest versions (``latest_segments``): each structure
        scheme, each level (the ``structure`` export kind).
    structure : pd.DataFrame
        The ``merged`` rows of the ``segments`` table for these songs (empty if none): REAPER gets a
        pre-merge and a post-merge track from them.
    names : dict
        Run id → ``{cluster: name}``: the names experts gave the clusters of that run version (none:
        every cluster is ``cluster N``). The analysis layer never reads them: the caller passes them
        (the app from its database, ``sectionist export --db``).
    named_in : dict
        Run id → ``{cluster: run id}``: the run version whose experts gave a name, where it is not
        that run itself (a name carried over from an older version of the lineage).
    corpus_root : str or None
        The deepest folder (or URI prefix) holding every song of the store: ``corpus`` locations are
        relative to it (:func:`corpus_root`).
    """

    sections: pd.DataFrame
    songs: pd.DataFrame
    labels: pd.DataFrame
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    structure: pd.DataFrame = field(default_factory=pd.DataFrame)
    structures: pd.DataFrame = field(default_factory=pd.DataFrame)
    names: dict = field(default_factory=dict)
    named_in: dict = field(default_factory=dict)
    corpus_root: str | None = None

    @property
    def run_ids(self) -> list[str]:
        return list(self.labels.columns)

    @property
    def schemes(self) -> list[str]:
        return sorted(self.sections["scheme"].dropna().astype(str).unique())

    def sources(self) -> list[str]:
        """Label sources, in track order: ``scheme:NAME`` for each scheme, then each run id."""
        return [SCHEME_PREFIX + s for s in self.schemes] + self.run_ids

    def source_name(self, source: str) -> str:
        """A readable name of a source (a track name)."""
        if source.startswith(SCHEME_PREFIX):
            return f"sections ({source[len(SCHEME_PREFIX):]})"
        if source in self.runs.index:
            r = self.runs.loc[source]
            return f"{source} · {r.get('method', '?')} on {r.get('space', '?')}"
        return source

    def cluster_labels(self, run_id: str) -> dict[int, str]:
        """cluster → its label in run ``run_id``: the experts' name (:attr:`names`), else ``cluster N``
        or ``noise``; distinct within the run (:func:`~sectionist.analysis.export.names.cluster_labels`)."""
        cache = self.__dict__.setdefault("_label_cache", {})
        if run_id not in cache:
            lab = self.labels[run_id].dropna().unique() if run_id in self.labels else []
            cache[run_id] = cluster_labels(lab, self.names.get(run_id))
        return cache[run_id]

    def cluster_name_of(self, run_id: str, cluster) -> str | None:
        """The experts' name of one cluster of ``run_id`` (on one line), or None when it has none."""
        if cluster is None or pd.isna(cluster):
            return None
        return clean_names(self.names.get(run_id)).get(int(cluster))

    def run_version(self, run_id: str) -> tuple[str, int | None]:
        """``(lineage, version)`` of a run (from :attr:`runs`; the run id and None when unknown)."""
        if run_id in self.runs.index and "version" in self.runs.columns:
            row = self.runs.loc[run_id]
            version = row.get("version")
            lineage = row.get("lineage") if isinstance(row.get("lineage"), str) else run_id
            return lineage, int(version) if version is not None and pd.notna(version) else None
        return run_id, None

    def segments(self, song_id: str, source: str) -> pd.DataFrame:
        """One song's segments by ``source``: ``section_id, start_s, end_s, label, cluster`` by start.

        A run's segments are the sections it labelled (``cluster``: −1 noise); a scheme's segments are
        its sections, labelled ``section N`` (``cluster`` missing).
        """
        cache = self.__dict__.setdefault("_cache", {})
        if "rows" not in cache:  # numpy columns, and song → row positions, computed once
            codes, uniq = pd.factorize(self.sections["song_id"])
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
            cache["rows"] = {u: order[bounds[i]:bounds[i + 1]] for i, u in enumerate(uniq)}
            cache["cols"] = {c: self.sections[c].to_numpy() for c in ("section_id", "start_s", "end_s", "index")}
            cache["scheme"] = self.sections["scheme"].astype(str).to_numpy()
            cache["labels"] = {r: self.labels[r].to_numpy(dtype=np.float64, na_value=np.nan) for r in self.run_ids}
        rows = cache["rows"].get(song_id, np.zeros(0, np.int64))
        if source.startswith(SCHEME_PREFIX):
            rows = rows[cache["scheme"][rows] == source[len(SCHEME_PREFIX):]]
            cluster = np.full(len(rows), np.nan)
            label = [f"section {int(i) + 1}" for i in cache["cols"]["index"][rows]]
        else:
            lab = cache["labels"][source][rows]
            keep = np.isfinite(lab) & (np.nan_to_num(lab, nan=-2) >= -1)
            rows, cluster = rows[keep], lab[keep]
            names = self.cluster_labels(source)
            label = [names.get(int(c), cluster_name(c)) for c in cluster]
        rows_order = np.argsort(cache["cols"]["start_s"][rows], kind="stable")
        rows = rows[rows_order]
        return pd.DataFrame({"section_id": cache["cols"]["section_id"][rows],
                             "start_s": cache["cols"]["start_s"][rows].astype(float),
                             "end_s": cache["cols"]["end_s"][rows].astype(float),
                             "label": [label[k] for k in rows_order],
                             "cluster": pd.array(np.asarray(cluster)[rows_order], dtype="Int64")})


def build(sections: pd.DataFrame, songs: pd.DataFrame, labels: dict, runs: pd.DataFrame | None = None, *,
          scheme=None, song_ids=None, section_ids=None, names=None, named_in=None) -> ExportData:
    """An :class:`ExportData` from frames already read (pure; :func:`gather` reads them from a store).

    Parameters
    ----------
    sections : pd.DataFrame
        The ``sections`` table (any order).
    songs : pd.DataFrame
        The ``songs`` table, with a ``song_id`` column or indexed by it.
    labels : dict
        Run id → ``pd.Series`` of cluster labels indexed by section id (the ``clusterings`` part).
    runs : pd.DataFrame, optional
        The ``runs`` rows (indexed by run id or with a ``run_id`` column).
    scheme : str or list of str, optional
        Keep only these sectioning schemes.
    song_ids : list of str, optional
        Keep only these songs (ids or exact titles).
    section_ids : list of str, optional
        Keep only these sections (a selection or a queue), in this order.
    names, named_in : dict, optional
        Run id → ``{cluster: name}`` given by experts, and → ``{cluster: run id}`` where a name was
        given in another version (:class:`ExportData`).

    Raises
    ------
    ParameterError
        An unknown scheme, song or section, listing the valid ones.
    """
    songs = songs.set_index("song_id") if "song_id" in songs.columns else songs
    root = corpus_root(songs["uri"]) if "uri" in songs.columns else None  # of every song, not only these
    secs = sections.copy()
    if scheme is not None:
        wanted = [scheme] if isinstance(scheme, str) else list(scheme)
        check_known("scheme", wanted, sorted(secs["scheme"].dropna().astype(str).unique()))
        secs = secs[secs["scheme"].astype(str).isin(wanted)]
    if song_ids:
        by_title = {str(t): s for s, t in zip(songs.index, songs["title"])}
        resolved = [s if s in songs.index else by_title.get(str(s), s) for s in song_ids]
        check_known("song", resolved, list(songs.index))
        secs = secs[secs["song_id"].isin(resolved)]
    if section_ids is not None:
        section_ids = [str(s) for s in section_ids]
        check_known("section", section_ids, secs["section_id"].astype(str))
        secs = secs[secs["section_id"].isin(set(section_ids))]
    if secs.empty:
        raise InputError("nothing to export: no section matches the scheme/songs/selection given")
    titles = songs["title"].reindex(secs["song_id"]).to_numpy(dtype=object)
    secs = secs.assign(title=[t if isinstance(t, str) and t else s for t, s in zip(titles, secs["song_id"])])
    if section_ids is not None:  # a queue or a selection: in its own order
        rank = {sid: i for i, sid in reversed(list(enumerate(section_ids)))}
        secs = secs.iloc[np.argsort([rank[s] for s in secs["section_id"]], kind="stable")].reset_index(drop=True)
    else:
        secs = secs.sort_values(["title", "song_id", "start_s"], kind="stable").reset_index(drop=True)
    order = list(dict.fromkeys(secs["song_id"]))
    song_rows = songs.reindex(order)
    song_rows["title"] = secs.drop_duplicates("song_id").set_index("song_id")["title"].reindex(order)
    lab = pd.DataFrame({rid: pd.array(pd.Series(s).reindex(secs["section_id"]).to_numpy(), dtype="Int64")
                        for rid, s in labels.items()}, index=secs.index)
    runs = pd.DataFrame() if runs is None else (runs.set_index("run_id") if "run_id" in runs.columns else runs)
    return ExportData(secs, song_rows, lab, runs, names={r: dict(n) for r, n in (names or {}).items() if r in lab},
                      named_in={r: dict(n) for r, n in (named_in or {}).items() if r in lab}, corpus_root=root)


def read_selection(path) -> list[str]:
    """Section ids from a selection file: one per line, or a CSV/TSV with a ``section_id`` column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the selection file ({exc.strerror or exc})") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if lines and "section_id" in re.split(r"[,\t;]", lines[0]):
        sep = "\t" if "\t" in lines[0] else ("," if "," in lines[0] else ";")
        df = pd.read_csv(io.StringIO("\n".join(lines)), sep=sep, dtype=str)
        ids = df["section_id"].dropna().str.strip().tolist()
    else:
        ids = lines
    if not ids:
        raise InputError(f"{path}: the selection file names no section")
    return ids


def queue_sections(store, run_id: str, cluster: int, queue: str) -> list[str]:
    """The section ids of a cluster's ``prototypes`` or ``borderline`` queue (the ``clusters`` table)."""
    check_known("queue", [queue], QUEUES)
    if not store.has_part(CLUSTERS, run_id):
        raise StoreError(f"{store.uri}: run {run_id!r} has no clusters part (no queues)")
    info = store.read_part(CLUSTERS, run_id)
    row = info[info["cluster"] == int(cluster)]
    check_known(f"cluster of run {run_id}", [int(cluster)], sorted(int(c) for c in info["cluster"]))
    ids = row.iloc[0][queue]
    return [str(s) for s in (ids if ids is not None else [])]


def gather(store, *, runs=None, scheme=None, songs=None, selection=None, cluster=None, queue=None,
           names=None, named_in=None) -> ExportData:
    """Read what an export needs from ``store`` and select it (:func:`build`).

    Parameters
    ----------
    store : Store
    runs : list of str, optional
        Run ids (default: every run of the store).
    scheme, songs : optional
        See :func:`build`.
    selection : list of str, optional
        Section ids to keep.
    cluster : int, optional
        Keep the sections of this cluster of the (single) run.
    queue : {"prototypes", "borderline"}, optional
        With ``cluster``: keep only that queue of the cluster, in its order.
    names, named_in : dict or callable, optional
        The experts' cluster names (see :func:`build`), or a function ``names(store, run_ids)`` of the
        runs chosen that returns ``(names, named_in)`` (the command line reads them from a database).

    Raises
    ------
    ParameterError
        An unknown run, scheme, song, section, cluster or queue, listing the valid ones.
    StoreError
        The store has no sections or songs.
    """
    sections = store.read_table(SECTIONS)
    song_table = store.read_table(SONGS)
    if sections.empty or song_table.empty:
        raise StoreError(f"{store.uri}: no sections or songs (run 'sectionist analyze' first)")
    run_table = store.read_table(RUNS)
    known = sorted(run_table["run_id"]) if not run_table.empty else []
    run_ids = check_known("run", list(runs), known) if runs else known
    if cluster is not None or queue is not None:
        if len(run_ids) != 1:
            raise ParameterError(f"--cluster/--queue need exactly one --run (given: {', '.join(run_ids) or 'none'})")
        if cluster is None:
            raise ParameterError(f"--queue {queue} needs --cluster")
    labels = {}
    for rid in run_ids:
        part = store.read_part(CLUSTERINGS, rid) if store.has_part(CLUSTERINGS, rid) else \
            pd.DataFrame(columns=["section_id", "label"])
        labels[rid] = pd.Series(part["label"].to_numpy(), index=part["section_id"].to_numpy())
    if cluster is not None:
        lab = labels[run_ids[0]]
        check_known(f"cluster of run {run_ids[0]}", [int(cluster)], sorted(int(c) for c in lab.unique()))
        members = (queue_sections(store, run_ids[0], int(cluster), queue) if queue
                   else list(lab.index[lab.to_numpy() == int(cluster)]))
        selection = members if selection is None else [s for s in members if s in set(selection)]
    runs_info = run_table.set_index("run_id").loc[run_ids] if run_ids else None
    if callable(names):
        names, named_in = names(store, run_ids)
    data = build(sections, song_table, labels, runs_info, scheme=scheme, song_ids=songs, section_ids=selection,
                 names=names, named_in=named_in)
    wanted = set(data.songs.index)
    parts = [p for p in store.list_parts(SEGMENTS) if p.rsplit("/", 1)[-1] in wanted]
    if parts:
        data.structures = latest_segments(store.read_table(SEGMENTS, parts=parts))
        merged = data.structures[data.structures["scheme"] == "merged"]
        data.structure = section_level(merged) if len(merged) else pd.DataFrame()
    return data


def merge_tracks(structure: pd.DataFrame, song_id: str) -> list[tuple[str, pd.DataFrame]]:
    """The ``merged`` scheme's two tracks of one song: its pre-merge slices and its merged segments.

    Each is ``(name, frame of start_s, end_s, label, cluster)``; ``cluster`` is the per-song cluster
    (segments of the same part share it). Empty when the song has no ``merged`` segmentation.
    """
    import json

    rows = structure[(structure["song_id"] == song_id) & (structure["scheme"] == "merged")] if len(structure) else structure
    if rows is None or len(rows) == 0:
        return []
    rows = rows.sort_values("start_s")
    params = json.loads(rows["params"].iloc[0])
    start, end = float(rows["start_s"].min()), float(rows["end_s"].max())
    edges = [start] + [float(b) for b in params.get("pre_bounds", [])] + [end]
    pre_lab = list(params.get("pre_labels", [])) or [0] * (len(edges) - 1)
    pre = pd.DataFrame({"start_s": edges[:-1], "end_s": edges[1:],
                        "label": [f"slice {i + 1} · part {int(c) + 1}" for i, c in enumerate(pre_lab)], "cluster": pre_lab})
    post = pd.DataFrame({"start_s": rows["start_s"].to_numpy(float), "end_s": rows["end_s"].to_numpy(float),
                         "label": [f"part {int(c) + 1}" for c in rows["label"]], "cluster": rows["label"].to_numpy(int)})
    return [("merged: pre-merge slices", pre), ("merged: post-merge segments", post)]


def space_vectors(store, space: str) -> tuple[np.ndarray, np.ndarray]:
    """Section ids and one vector per section of ``space`` (a feature set or an embedder's frame means).

    Raises
    ------
    ParameterError
        An unknown space, listing the spaces of the store.
    """
    from sectionist.analysis.modeling.roles import SONG_RELATIVE
    from sectionist.analysis.modeling.spaces import embedders_in_store, feature_spaces, is_feature_space, load_space

    bases = list(feature_spaces()) + embedders_in_store(store)
    check_known("space", [space], bases + [f"{b}-{kind}" for b in bases for kind in SONG_RELATIVE])
    data = load_space(store, space, level="section" if is_feature_space(space) else "section-mean")
    return np.asarray(data.section_ids), data.X
