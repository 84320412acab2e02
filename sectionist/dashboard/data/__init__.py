"""Read-only access to one store for the web app: read once, precompute arrays, cache.

Every page reads the store through :class:`StoreData` and nothing else. Tables are read the first
time they are needed and kept; per-store arrays the callbacks need on every interaction (cluster
labels, confidences, projection coordinates, feature matrices, song codes) are built once with
numpy, aligned to one section order, so a map redraw or a click is array indexing, not pandas
work on 100 000 rows. The cache is dropped when the store's ``manifest.json`` ``version`` changes
(checked at most every ``check_interval`` seconds), so a re-analysed store shows up without a
restart.

Callbacks get the instance of the app serving the request with :func:`get_data`.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from sectionist.analysis.errors import StoreError
from sectionist.dashboard.ui.i18n import _, integer, ngettext
from sectionist.store import open_store
from sectionist.store.schema import (
    CENTROID_PROJECTIONS,
    CLUSTERINGS,
    CLUSTERS,
    COMPARISONS,
    EXPLANATIONS,
    FEATURES,
    MELSPEC,
    PROJECTIONS,
    RUNS,
    SECTIONS,
    SONGS,
    TAGS,
    embedders_in,
    section_vectors,
)

#: Key of the :class:`StoreData` in ``flask_app.extensions``.
EXTENSION_KEY = "sectionist_data"
#: Label code of a section that a run did not cluster (absent from its clusterings part); noise is -1.
MISSING = -2


@dataclass(frozen=True)
class RunArrays:
    """One run's per-section values, aligned to :attr:`StoreData.section_ids`.

    ``label`` is ``-1`` for noise and ``-2`` (:data:`MISSING`) for sections the run left out;
    float arrays are NaN there.
    """

    run_id: str
    label: np.ndarray
    confidence: np.ndarray
    silhouette: np.ndarray
    stability: np.ndarray
    distance: np.ndarray
    clusters: tuple
    #: True where the fitted model labelled the section after the fit (placed, not fitted); all
    #: False for a run that placed nothing (or a store that predates placement).
    placed: np.ndarray | None = None

    @property
    def present(self) -> np.ndarray:
        return self.label != MISSING

    @property
    def n_placed(self) -> int:
        return 0 if self.placed is None else int(self.placed.sum())


@dataclass(frozen=True)
class Projection:
    """Coordinates of one projection (space, kind, dims), aligned to the section order (NaN absent)."""

    space: str
    kind: str
    dims: int
    xyz: np.ndarray  # [shape=(n_sections, dims)], float32

    @cached_property
    def present(self) -> np.ndarray:
        # computed once per projection (every map redraw starts from it; 1 000 000 sections: ~20 ms)
        return ~np.isnan(self.xyz[:, 0])


class _Cache:
    """Everything derived from one version of the store (dropped as a whole on a new version)."""

    def __init__(self, store):
        self.store = store
        self.tables: dict = {}
        self.runs: dict = {}
        self.projections: dict = {}
        self.explanations: dict = {}
        self.space_vectors: dict = {}
        self.comparisons: dict = {}
        self.clusters: dict = {}
        self.cluster_names: dict = {}
        self.lock = threading.RLock()


class StoreData:
    """The store of one app, read lazily and cached.

    Parameters
    ----------
    store_uri : str
        Local folder or ``s3://bucket/prefix``.
    check_interval : float
        Seconds between two looks at ``manifest.json`` for a new ``version``.
    store_options : dict, optional
        Passed to :func:`analysis.store.open_store`.
    """

    def __init__(self, store_uri, *, check_interval: float = 2.0, store_options: dict | None = None):
        self.store_uri = str(store_uri)
        self.store = open_store(self.store_uri, create=False, **(store_options or {}))
        self.check_interval = float(check_interval)
        self._lock = threading.Lock()
        self._version = self._read_version()
        self._checked = time.monotonic()
        self._cache = _Cache(self.store)

    # ---- versioning -----------------------------------------------------------------------
    def _read_version(self):
        manifest = self.store.read_manifest()
        return manifest.get("version", 0)

    @property
    def version(self):
        """The manifest version the cache was built from (re-checked every ``check_interval`` s)."""
        self.refresh()
        return self._version

    def refresh(self, force: bool = False) -> bool:
        """Drop the cache when the manifest's version changed. Returns True when it did."""
        now = time.monotonic()
        if not force and now - self._checked < self.check_interval:
            return False
        with self._lock:
            self._checked = now
            version = self._read_version()
            if version == self._version:
                return False
            self._version = version
            self._cache = _Cache(self.store)
            # the old cache's frames were frozen out of the collector's scans (_long_lived): hand
            # them back, so any reference cycles among them are collected with it
            import gc

            gc.unfreeze()
            # cached_property values live in __dict__: drop them with the cache
            for name in [k for k, v in type(self).__dict__.items() if isinstance(v, cached_property)]:
                self.__dict__.pop(name, None)
            return True

    def healthy(self) -> bool:
        """True when the store answers (manifest readable and a sections table present)."""
        try:
            self.store.read_manifest()
            return bool(self.store.list_parts(SECTIONS)) or bool(self.store.list_parts(SONGS))
        except (StoreError, OSError):
            return False

    # ---- raw tables -----------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """The whole table ``name`` (cached; an absent table is an empty frame)."""
        self.refresh()
        c = self._cache
        with c.lock:
            if name not in c.tables:
                c.tables[name] = read_table_parallel(c.store, name)
            return c.tables[name]

    def read_once(self, name: str) -> pd.DataFrame:
        """The whole table ``name``, read without keeping the frame: for the per-section tables
        that are kept aligned to the section order instead (sections, features, tags, melspec).
        At 1 000 000 sections their raw frames would hold another ~1.7 GB beside the arrays."""
        self.refresh()
        c = self._cache
        with c.lock:
            if name in c.tables:
                return c.tables[name]
        return read_table_parallel(c.store, name)

    # ---- sections and songs -----------------------------------------------------------------
    @cached_property
    def sections(self) -> pd.DataFrame:
        """Sections in song order then start time, with a positional index (``pos``)."""
        df = self.read_once(SECTIONS)
        if df.empty:
            raise StoreError(f"{self.store_uri}: the store has no sections (run 'sectionist analyze' first)")
        df = df.sort_values(["song_id", "start_s"], kind="stable").reset_index(drop=True)
        songs = self.songs
        df["song_code"] = pd.Categorical(df["song_id"], categories=songs.index).codes.astype(np.int32)
        df["title"] = songs["title"].to_numpy()[df["song_code"].to_numpy()]
        return _long_lived(df)

    @cached_property
    def songs(self) -> pd.DataFrame:
        """Songs indexed by ``song_id``, sorted by title."""
        df = self.table(SONGS)
        if df.empty:
            raise StoreError(f"{self.store_uri}: the store has no songs")
        df = df.copy()
        df["title"] = df["title"].fillna(df["song_id"]).astype(str)
        return df.sort_values("title", kind="stable").set_index("song_id")

    @cached_property
    def section_ids(self) -> np.ndarray:
        return _long_lived(self.sections["section_id"].to_numpy(dtype=object))

    @cached_property
    def _section_index(self) -> pd.Index:
        return pd.Index(self.section_ids)

    @property
    def n_sections(self) -> int:
        return len(self.section_ids)

    def positions(self, section_ids) -> np.ndarray:
        """Row positions of ``section_ids`` (``-1`` for unknown ids)."""
        return self._section_index.get_indexer(pd.Index(list(section_ids)))

    def position(self, section_id) -> int | None:
        """Row position of one section id, or None when it is not in the store."""
        if not isinstance(section_id, str):
            return None
        try:
            pos = self._section_index.get_loc(section_id)
        except KeyError:
            return None
        return int(pos) if isinstance(pos, (int, np.integer)) else None

    @cached_property
    def song_code(self) -> np.ndarray:
        return self.sections["song_code"].to_numpy()

    @cached_property
    def is_central(self) -> np.ndarray:
        return self.sections["is_central"].fillna(False).to_numpy(dtype=bool)

    def section(self, section_id) -> dict | None:
        """One section's row with its song's fields (uri, title, duration_s…), or None."""
        pos = self.position(section_id)
        if pos is None:
            return None
        row = self.sections.iloc[pos].to_dict()
        song = self.songs.loc[row["song_id"]].to_dict()
        row.update({f"song_{k}": v for k, v in song.items()})
        row["pos"] = pos
        return row

    def song_sections(self, song_id) -> pd.DataFrame:
        """The sections of one song (with ``pos``), by start time."""
        code = self.songs.index.get_indexer([song_id])[0]
        if code < 0:
            return self.sections.iloc[0:0].assign(pos=[])
        pos = np.flatnonzero(self.song_code == code)
        return self.sections.iloc[pos].assign(pos=pos)

    # ---- runs and clusterings -----------------------------------------------------------------
    @cached_property
    def runs(self) -> pd.DataFrame:
        """Runs indexed by run_id, sorted by space, method and k."""
        df = self.table(RUNS)
        if df.empty:
            return pd.DataFrame(columns=["space", "method", "k", "label", "lineage", "version", "n_placed",
                                         "model_key"]).rename_axis("run_id")
        df = df.copy()
        # the store fills these for older parts; a frame from elsewhere may still lack them
        if "lineage" not in df:
            df["lineage"] = df["run_id"]
        df["lineage"] = df["lineage"].where(df["lineage"].notna(), df["run_id"]).astype(str)
        df["version"] = pd.to_numeric(df.get("version", 1), errors="coerce").fillna(1).astype(np.int64)
        df["n_placed"] = pd.to_numeric(df.get("n_placed", 0), errors="coerce").fillna(0).astype(np.int64)
        if "model_key" not in df:
            df["model_key"] = None
        return df.sort_values(["space", "method", "lineage", "version"], kind="stable").set_index("run_id")

    # ---- run versions (a refit is a new run id "{lineage}~v{version}"; see docs/modeling.md) ------
    @cached_property
    def run_versions(self) -> pd.DataFrame:
        """Per run id: ``lineage``, ``version``, ``latest_version`` and ``latest_run`` of its lineage,
        ``is_latest`` and ``n_versions`` (how many versions of the lineage the store holds)."""
        cols = ["lineage", "version", "latest_version", "latest_run", "is_latest", "n_versions"]
        runs = self.runs
        if runs.empty:
            return pd.DataFrame(columns=cols).rename_axis("run_id")
        df = runs[["lineage", "version"]].copy()
        g = df.reset_index().sort_values("version").groupby("lineage")
        last = g.last()
        df["latest_version"] = df["lineage"].map(last["version"]).astype(np.int64)
        df["latest_run"] = df["lineage"].map(last["run_id"])
        df["is_latest"] = df["version"] == df["latest_version"]
        df["n_versions"] = df["lineage"].map(g.size()).astype(np.int64)
        return df[cols]

    def latest_runs(self) -> list[str]:
        """The latest version of each lineage, in :attr:`runs` order."""
        v = self.run_versions
        return [r for r in v.index if v.at[r, "is_latest"]]

    def version_note(self, run_id) -> str:
        """``"v1 (superseded by v2)"``, ``"v2 (latest)"``, or ``""`` for a lineage with one version."""
        v = self.run_versions
        if run_id not in v.index or int(v.at[run_id, "n_versions"]) < 2:
            return ""
        version, latest = int(v.at[run_id, "version"]), int(v.at[run_id, "latest_version"])
        if version == latest:
            return _("v%(version)s (latest)", version=version)
        return _("v%(version)s (superseded by v%(latest)s)", version=version, latest=latest)

    def labels_by_section(self, run_id) -> pd.Series | None:
        """A run's labels indexed by section id (the sections it labels), or None for an unknown run
        (the ``labels`` argument of :func:`sectionist.dashboard.judging.stats.version_carry_over`)."""
        if run_id not in self.runs.index:
            return None
        lab = self.run_arrays(run_id).label
        keep = lab != MISSING
        return pd.Series(lab[keep], index=self.section_ids[keep])

    def carry_over(self, judgements: pd.DataFrame) -> pd.DataFrame:
        """:func:`sectionist.dashboard.judging.stats.version_carry_over` of ``judgements`` over this store's runs."""
        from sectionist.dashboard.judging.stats import version_carry_over

        return version_carry_over(judgements, self.run_versions[["lineage", "version"]], self.labels_by_section)

    def run_coverage(self, run_id) -> dict:
        """How much of the store a run labels.

        Returns a dict: ``sections`` (in the store), ``labelled`` (by the run), ``placed`` (labelled by
        the fitted model after the fit), ``fitted`` (labelled − placed), ``missing`` (sections the run
        does not label), ``missing_songs`` (songs none of whose sections it labels) and ``has_model``
        (whether the run can place new sections: ``runs.model_key`` is set).
        """
        arr = self.run_arrays(run_id)
        present = arr.present
        placed = arr.n_placed
        if not placed and run_id in self.runs.index:
            placed = int(self.runs.at[run_id, "n_placed"] or 0)  # a clusterings part without the column
        covered_songs = np.unique(self.song_code[present])
        key = self.runs.at[run_id, "model_key"] if run_id in self.runs.index else None
        return {
            "sections": self.n_sections, "labelled": int(present.sum()), "placed": int(placed),
            "fitted": int(present.sum()) - int(placed), "missing": int((~present).sum()),
            "missing_songs": int(len(self.songs) - len(covered_songs)),
            "has_model": isinstance(key, str) and bool(key),
        }

    def coverage_text(self, run_id) -> str:
        """One line on a run's coverage, or ``""`` when it fitted every section of the store:
        ``"placed 12 of 240"``, ``"does not cover 3 new songs (45 sections; no model to place them)"``…"""
        cov = self.run_coverage(run_id)
        parts = []
        if cov["placed"]:
            parts.append(_("placed %(placed)s of %(labelled)s (labelled by the fitted model, not part of the fit)",
                           placed=integer(cov["placed"]), labelled=integer(cov["labelled"])))
        if cov["missing"]:
            why = _("not placed yet") if cov["has_model"] else _("no model to place them")
            n_songs = cov["missing_songs"]
            if n_songs:
                parts.append(ngettext("does not cover %(num)d new song (%(sections)s sections; %(why)s)",
                                      "does not cover %(num)d new songs (%(sections)s sections; %(why)s)", n_songs,
                                      sections=integer(cov["missing"]), why=why))
            else:
                n = cov["missing"]
                parts.append(ngettext("does not cover %(num)d section (%(why)s)",
                                      "does not cover %(num)d sections (%(why)s)", n, why=why))
        return "; ".join(parts)

    def run_label(self, run_id) -> str:
        """A short human name of a run."""
        if run_id not in self.runs.index:
            return str(run_id)
        r = self.runs.loc[run_id]
        k = r.get("n_clusters")
        method, space = r.get("method", "?"), r.get("space", "?")
        if k is not None and not pd.isna(k):
            return ngettext("%(method)s on %(space)s, %(num)d cluster (%(run)s)",
                            "%(method)s on %(space)s, %(num)d clusters (%(run)s)", int(k),
                            method=method, space=space, run=run_id)
        return _("%(method)s on %(space)s (%(run)s)", method=method, space=space, run=run_id)

    def run_arrays(self, run_id) -> RunArrays:
        """Per-section label, confidence, silhouette, stability and distance of one run."""
        self.refresh()
        c = self._cache
        with c.lock:
            if run_id in c.runs:
                return c.runs[run_id]
        if run_id not in self.runs.index:
            raise StoreError(f"{self.store_uri}: no run {run_id!r}")
        df = c.store.read_table(CLUSTERINGS, parts=[run_id],
                                columns=["section_id", "label", "confidence", "distance", "silhouette",
                                         "stability", "placed"]) if c.store.has_part(CLUSTERINGS, run_id) \
            else pd.DataFrame(columns=["section_id", "label"])
        n = self.n_sections
        pos = self.positions(df["section_id"]) if len(df) else np.array([], np.int64)
        ok = pos >= 0
        label = np.full(n, MISSING, np.int32)
        label[pos[ok]] = df["label"].to_numpy()[ok].astype(np.int32)

        def col(name):
            out = np.full(n, np.nan, np.float32)
            if name in df:
                out[pos[ok]] = pd.to_numeric(df[name], errors="coerce").to_numpy(np.float32)[ok]
            return out

        placed = np.zeros(n, bool)
        if "placed" in df:
            placed[pos[ok]] = df["placed"].fillna(False).to_numpy(dtype=bool)[ok]
        clusters = tuple(int(x) for x in np.unique(label) if x >= 0)
        arr = RunArrays(run_id, label, col("confidence"), col("silhouette"), col("stability"),
                        col("distance"), clusters, placed)
        with c.lock:
            c.runs[run_id] = arr
        return arr

    def clusters(self, run_id) -> pd.DataFrame:
        """The ``clusters`` rows of one run, indexed by cluster, JSON columns decoded."""
        self.refresh()
        c = self._cache
        with c.lock:
            if run_id in c.clusters:
                return c.clusters[run_id]
        df = c.store.read_table(CLUSTERS, parts=[run_id]) if c.store.has_part(CLUSTERS, run_id) \
            else pd.DataFrame(columns=["cluster"])
        df = df.copy()
        for name in ("centroid", "profile", "shap_ranking"):
            if name in df:
                df[name] = [_loads(v) for v in df[name]]
        for name in ("prototypes", "borderline"):
            if name in df:
                df[name] = [list(v) if v is not None else [] for v in df[name]]
        df = df.set_index("cluster").sort_index()
        with c.lock:
            c.clusters[run_id] = df
        return df

    # ---- projections --------------------------------------------------------------------------
    @cached_property
    def projection_catalog(self) -> pd.DataFrame:
        """Available projections: one row per (space, kind, dims), from the part names."""
        rows = []
        for part in self.store.list_parts(PROJECTIONS):
            space, _, name = part.rpartition("/")
            kind = name.rstrip("0123456789")
            dims = name[len(kind):]
            if space and kind and dims:
                rows.append({"space": space, "kind": kind, "dims": int(dims), "part": part})
        order = {"pca": 0, "tsne": 1, "umap": 2}
        df = pd.DataFrame(rows, columns=["space", "kind", "dims", "part"])
        df["o"] = df["kind"].map(order).fillna(9)
        return df.sort_values(["space", "o", "dims"]).drop(columns="o").reset_index(drop=True)

    def spaces(self) -> list[str]:
        """Spaces with at least one projection, then spaces that only have runs."""
        seen = list(dict.fromkeys(self.projection_catalog["space"]))
        for s in self.runs.get("space", pd.Series(dtype=object)):
            if s not in seen:
                seen.append(s)
        return seen

    def projection(self, space, kind, dims) -> Projection:
        """Coordinates of one projection aligned to the section order."""
        key = (space, kind, int(dims))
        self.refresh()
        c = self._cache
        with c.lock:
            if key in c.projections:
                return c.projections[key]
        part = f"{space}/{kind}{int(dims)}"
        if not c.store.has_part(PROJECTIONS, part):
            raise StoreError(f"{self.store_uri}: no projection {part!r}")
        df = c.store.read_part(PROJECTIONS, part, columns=["section_id", "x", "y", "z"])
        xyz = np.full((self.n_sections, int(dims)), np.nan, np.float32)
        pos = self.positions(df["section_id"])
        ok = pos >= 0
        cols = ["x", "y", "z"][: int(dims)]
        xyz[pos[ok]] = df[cols].to_numpy(np.float32)[ok]
        proj = Projection(space, kind, int(dims), xyz)
        with c.lock:
            c.projections[key] = proj
        return proj

    def centroid_projection(self, run_id, kind, dims) -> pd.DataFrame:
        """Cluster centroids of a run in one projection (empty when not stored)."""
        df = self.table(CENTROID_PROJECTIONS)
        if df.empty:
            return df
        return df[(df["run_id"] == run_id) & (df["kind"] == kind) & (df["dims"] == int(dims))]

    # ---- features, explanations, tags ----------------------------------------------------------
    @cached_property
    def features(self) -> pd.DataFrame:
        """The features table aligned to the section order (NaN rows for sections without features)."""
        df = self.read_once(FEATURES)
        num = [c for c in df.columns if c not in ("section_id", "song_id")]
        out = pd.DataFrame(np.nan, index=range(self.n_sections), columns=num, dtype=np.float32)
        if len(df):
            pos = self.positions(df["section_id"])
            ok = pos >= 0
            out.iloc[pos[ok]] = df[num].to_numpy(np.float32)[ok]
        return out

    @property
    def feature_names(self) -> list[str]:
        return list(self.features.columns)

    @cached_property
    def feature_matrix(self) -> np.ndarray:
        """The features as one float32 array [shape=(n_sections, n_features)] (column order of
        :attr:`feature_names`): row lookups without pandas."""
        # one float32 block: a view of the frame's memory, not a second copy
        return self.features.to_numpy(np.float32, copy=False)

    @cached_property
    def feature_index(self) -> dict:
        return {name: i for i, name in enumerate(self.features.columns)}

    def feature_rows(self, positions, names) -> np.ndarray:
        """Values of ``names`` for the sections at ``positions`` [shape=(len(positions), len(names))]."""
        cols = [self.feature_index[n] for n in names]
        return self.feature_matrix[np.asarray(positions)][:, cols]

    @cached_property
    def titles(self) -> np.ndarray:
        """Song title per section (object array)."""
        return _long_lived(self.sections["title"].to_numpy())

    @cached_property
    def starts(self) -> np.ndarray:
        """Start time per section in seconds."""
        return self.sections["start_s"].to_numpy(np.float64)

    def feature_values(self, name) -> np.ndarray:
        """One feature column aligned to the section order (float32)."""
        if name not in self.feature_index:
            raise StoreError(f"{self.store_uri}: no feature {name!r}")
        return self.feature_matrix[:, self.feature_index[name]]

    def space_vectors(self, space) -> tuple[np.ndarray, np.ndarray] | None:
        """Standardised vectors of ``space`` per section and their squared norms; None if unknown.

        Classical spaces come from the features table; an embedder's vectors are the mean of its
        frames per section. Sections without vectors have zeros and an infinite norm.
        """
        self.refresh()
        c = self._cache
        with c.lock:
            if space in c.space_vectors:
                return c.space_vectors[space]
        X = None
        cols = _space_columns(space, self.feature_names)
        if cols:
            X = self.features[cols].to_numpy(np.float32)
        else:
            if space in embedders_in(self.store):
                reader = functools.partial(read_table_parallel, self.store)
                ids, means, ecols = section_vectors(self.store, space, reader=reader)
                X = np.full((self.n_sections, len(ecols)), np.nan, np.float32)
                pos = self.positions(ids)
                ok = pos >= 0
                X[pos[ok]] = means.astype(np.float32)[ok]
        out = None
        if X is not None and X.shape[1]:
            mu = np.nanmean(X, axis=0)
            sd = np.nanstd(X, axis=0)
            X = ((X - mu) / np.where(sd > 0, sd, 1)).astype(np.float32)
            bad = np.isnan(X).any(axis=1)
            X[bad] = 0
            norms = np.einsum("ij,ij->i", X, X)
            norms[bad] = np.inf
            out = (np.ascontiguousarray(X), norms)
        with c.lock:
            c.space_vectors[space] = out
        return out

    def neighbours(self, pos: int, space, k: int = 8) -> list[tuple[int, float]]:
        """The ``k`` nearest sections to section ``pos`` in ``space``: (pos, distance), nearest first.

        Falls back to the first available projection of the space when it has no vectors.
        """
        vec = self.space_vectors(space)
        if vec is None:
            cat = self.projection_catalog
            cat = cat[cat["space"] == space]
            if cat.empty:
                return []
            X = np.nan_to_num(self.projection(space, cat.iloc[0]["kind"], cat.iloc[0]["dims"]).xyz, nan=1e9)
            vec = (X, np.einsum("ij,ij->i", X, X))
        X, norms = vec
        if not np.isfinite(norms[pos]):
            return []
        q = X[pos]
        d = norms - 2 * (X @ q) + norms[pos]
        d[pos] = np.inf
        k = min(k, len(d) - 1)
        if k <= 0:
            return []
        idx = np.argpartition(d, k)[:k]
        idx = idx[np.argsort(d[idx])]
        return [(int(i), float(np.sqrt(max(d[i], 0.0)))) for i in idx if np.isfinite(d[i])]

    def explanation(self, run_id, pos) -> pd.Series | None:
        """SHAP values of one section towards its cluster in ``run_id`` (feature → value), or None."""
        mat, names = self._explanations(run_id)
        if mat is None or np.isnan(mat[pos]).all():
            return None
        return pd.Series(mat[pos], index=names)

    def cluster_explanations(self, run_id, cluster) -> tuple[np.ndarray, list, np.ndarray]:
        """(SHAP matrix of the cluster's sections, feature names, their positions)."""
        mat, names = self._explanations(run_id)
        if mat is None:
            return np.zeros((0, 0), np.float32), [], np.array([], np.int64)
        labels = self.run_arrays(run_id).label
        pos = np.flatnonzero((labels == int(cluster)) & ~np.isnan(mat).all(axis=1))
        return mat[pos], names, pos

    def _explanations(self, run_id):
        self.refresh()
        c = self._cache
        with c.lock:
            if run_id in c.explanations:
                return c.explanations[run_id]
        if not c.store.has_part(EXPLANATIONS, run_id):
            out = (None, [])
        else:
            df = c.store.read_part(EXPLANATIONS, run_id)
            shap_cols = [col for col in df.columns if col.startswith("shap_")]
            mat = np.full((self.n_sections, len(shap_cols)), np.nan, np.float32)
            pos = self.positions(df["section_id"])
            ok = pos >= 0
            mat[pos[ok]] = df[shap_cols].to_numpy(np.float32)[ok]
            out = (mat, [col[5:] for col in shap_cols])
        with c.lock:
            c.explanations[run_id] = out
        return out

    @cached_property
    def melspec(self) -> np.ndarray | None:
        """Each section's mean log-mel spectrum in dB [shape=(n_sections, n_mels)] (NaN rows where
        absent), from the ``melspec`` table; None when the store has none."""
        df = self.read_once(MELSPEC)
        cols = [c for c in df.columns if c.startswith("mel") and c[3:].isdigit()]
        if df.empty or not cols:
            return None
        cols.sort(key=lambda c: int(c[3:]))
        out = np.full((self.n_sections, len(cols)), np.nan, np.float32)
        pos = self.positions(df["section_id"])
        ok = pos >= 0
        out[pos[ok]] = df[cols].to_numpy(np.float32)[ok]
        return out

    @cached_property
    def _tags(self) -> pd.DataFrame:
        df = self.read_once(TAGS)
        if df.empty:
            return df
        # ordered by section position: a section's tags are found by binary search (_tag_rows)
        df = df.assign(pos=self.positions(df["section_id"]))
        return _long_lived(df.sort_values(["pos", "model", "rank"], kind="stable").set_index("section_id"))

    @cached_property
    def _tag_pos(self) -> np.ndarray:
        tags = self._tags
        return tags["pos"].to_numpy(np.int64) if not tags.empty else np.empty(0, np.int64)

    def tags(self, section_id) -> pd.DataFrame:
        """Top tags of one section (columns model, rank, tag, probability)."""
        df = self._tags
        if df.empty or not isinstance(section_id, str):
            return pd.DataFrame(columns=["model", "rank", "tag", "probability"])
        # rows sorted by section position: two binary searches on an integer array (a label lookup
        # on 5 000 000 string rows costs tens of ms or builds a hash table of them)
        pos = self.position(section_id)
        if pos is None:
            return pd.DataFrame(columns=["model", "rank", "tag", "probability"])
        lo, hi = np.searchsorted(self._tag_pos, pos, "left"), np.searchsorted(self._tag_pos, pos, "right")
        if hi <= lo:
            return pd.DataFrame(columns=["model", "rank", "tag", "probability"])
        return df.iloc[lo:hi].drop(columns="pos").reset_index(drop=True)

    # ---- comparisons -----------------------------------------------------------------------------
    def comparison(self, run_a, run_b) -> dict:
        """Agreement of two runs: ari, nmi, agreement, contingency, mapping and per-section arrays.

        Read from the ``comparisons`` tables when the pair was stored (in either order), else
        computed from the two clusterings by :func:`sectionist.analysis.modeling.compare.compare_labelings`
        (Hungarian alignment of B's labels onto A's; an unmatched B cluster gets a new label
        above A's, listed in ``"unmatched"``).
        """
        key = (run_a, run_b)
        self.refresh()
        c = self._cache
        with c.lock:
            if key in c.comparisons:
                return c.comparisons[key]
        stored = self.table(COMPARISONS)
        hit = rev = stored.iloc[0:0]
        if not stored.empty:
            hit = stored[(stored["run_a"] == run_a) & (stored["run_b"] == run_b)]
            rev = stored[(stored["run_a"] == run_b) & (stored["run_b"] == run_a)]
        # a stored pair brings its scores (ARI and NMI are symmetric, so the reversed pair's serve
        # too): only the cheap alignment is computed here
        known = hit if len(hit) else rev
        out = _compare_labels(self.run_arrays(run_a).label, self.run_arrays(run_b).label, scores=not len(known))
        if len(known):
            out.update(ari=float(known.iloc[0]["ari"]), nmi=float(known.iloc[0]["nmi"]))
        if len(hit):
            out["agreement"] = float(hit.iloc[0]["agreement"])
        out["run_a"], out["run_b"] = run_a, run_b
        with c.lock:
            c.comparisons[key] = out
        return out

    # ---- plain words: feature medians, default cluster names (sectionist.analysis.glossary) -------------------
    @cached_property
    def feature_medians(self) -> dict:
        """feature column → its median over the corpus (what "higher than usual" is measured from)."""
        mat = self.feature_matrix
        if not mat.size:
            return {}
        with np.errstate(all="ignore"):
            med = np.nanmedian(mat, axis=0) if len(mat) else np.full(mat.shape[1], np.nan)
        return {name: float(m) for name, m in zip(self.features.columns, med) if np.isfinite(m)}

    @cached_property
    def _tag_codes(self) -> tuple:
        """The tags table as arrays: section positions, tag codes, probabilities and the tag names."""
        tags = self._tags
        if tags.empty:
            return np.array([], np.int64), np.array([], np.int64), np.array([], np.float64), np.array([], object)
        pos = self.positions(tags.index.to_numpy())
        ok = pos >= 0
        codes, names = pd.factorize(tags["tag"].to_numpy()[ok])
        return pos[ok], codes.astype(np.int64), tags["probability"].to_numpy(np.float64)[ok], np.asarray(names)

    def cluster_top_tags(self, run_id) -> dict:
        """cluster → the tag most over-represented among its sections (mean probability in the
        cluster minus over the corpus, a section without the tag in its list counting 0), for the
        clusters that have one above the corpus."""
        if run_id not in self.runs.index:
            return {}
        pos, codes, prob, names = self._tag_codes
        if not len(pos):
            return {}
        labels = self.run_arrays(run_id).label
        lab = labels[pos]
        keep = lab >= 0
        if not keep.any():
            return {}
        n_tags = len(names)
        k = int(lab[keep].max()) + 1
        sizes = np.bincount(labels[labels >= 0], minlength=k).astype(np.float64)
        inside = np.bincount(lab[keep] * n_tags + codes[keep], weights=prob[keep], minlength=k * n_tags)
        inside = inside.reshape(k, n_tags) / np.maximum(sizes, 1)[:, None]
        corpus = np.bincount(codes[keep], weights=prob[keep], minlength=n_tags) / max(sizes.sum(), 1)
        lift = inside - corpus[None, :]
        best = np.argmax(lift, axis=1)
        return {c: str(names[best[c]]) for c in range(k) if sizes[c] > 0 and lift[c, best[c]] > 0}

    def default_cluster_names(self, run_id) -> dict:
        """cluster → a descriptive default name (:func:`sectionist.analysis.glossary.default_cluster_names`):
        the plain adjectives of the median features that set it furthest apart from the corpus, and
        its most distinctive tag; unique within the run; in the request's language (cached per
        language). ``{}`` for an unknown run."""
        from sectionist.analysis.glossary import FEATURE_GLOSSARY, cluster_profiles_z, default_cluster_names

        from sectionist.dashboard.ui.i18n import current_language

        self.refresh()
        c = self._cache
        key = (run_id, current_language())
        with c.lock:
            if key in c.cluster_names:
                return c.cluster_names[key]
        if run_id not in self.runs.index:
            return {}
        labels = self.run_arrays(run_id).label
        cols = [n for n in self.feature_names if n in FEATURE_GLOSSARY and
                (FEATURE_GLOSSARY[n].high_word or FEATURE_GLOSSARY[n].low_word)]
        if cols and (labels >= 0).any():
            z = cluster_profiles_z(self.feature_rows(np.arange(self.n_sections), cols), labels, cols)
        else:
            z = pd.DataFrame(index=pd.Index(sorted({int(x) for x in labels if x >= 0}), name="cluster"))
        names = default_cluster_names(z, self.cluster_top_tags(run_id), gettext=_)
        with c.lock:
            c.cluster_names[key] = names
        return names

    # ---- corpus summary ----------------------------------------------------------------------------
    def corpus_summary(self) -> dict:
        songs = self.songs
        return {
            "songs": int(len(songs)),
            "hours": float(pd.to_numeric(songs["duration_s"], errors="coerce").sum() / 3600),
            "sections": int(self.n_sections),
            "central": int(self.is_central.sum()),
            "runs": int(len(self.runs)),
            "spaces": len(self.spaces()),
        }


def _long_lived(value):
    """``value``, after moving every object alive now out of the garbage collector's full scans
    (:func:`gc.freeze`). The store's frames and arrays live as long as the cache, and a full
    collection visits every element of every object array among them: at 1 000 000 sections
    each one took ~0.4 s, a pause in whichever request happened to trigger it. Frozen objects are
    still freed by reference counting when the cache is dropped, and :meth:`StoreData.refresh`
    unfreezes them then (so cycles among them are collected too)."""
    import gc

    gc.freeze()
    return value


#: Parts read at once when a table has many (one per song): parquet decoding releases the GIL,
#: and on S3 each part is a round trip.
READ_THREADS = 8


def read_table_parallel(store, table: str, parts=None) -> pd.DataFrame:
    """``store.read_table(table, parts=parts)``, reading the parts with a few threads.

    The same rows (their order may differ: every reader here aligns rows by ``section_id``); a
    store of thousands of songs has thousands of parts per table.
    """
    names = store.list_parts(table) if parts is None else list(parts)
    if len(names) <= 2 * READ_THREADS:
        return store.read_table(table, parts=names)
    from concurrent.futures import ThreadPoolExecutor

    chunks = [names[i::READ_THREADS] for i in range(READ_THREADS)]
    with ThreadPoolExecutor(READ_THREADS) as pool:
        frames = list(pool.map(lambda ps: store.read_table(table, parts=ps), chunks))
    frames = [f for f in frames if len(f)]
    if not frames:
        return store.read_table(table, parts=names[:1])
    return pd.concat(frames, ignore_index=True)


def _loads(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (dict, list)):
        return v
    try:
        return json.loads(v)
    except (TypeError, ValueError):
        return None


def _space_columns(space, available) -> list[str]:
    if not str(space).startswith("classical"):
        return []
    try:
        from sectionist.analysis.sections.feature_names import feature_columns
    except ImportError:  # pragma: no cover - the features module is part of the package
        return []
    try:
        return feature_columns(space, available)
    except Exception:  # unknown feature set name: not a classical space after all
        return []


def _compare_labels(la: np.ndarray, lb: np.ndarray, scores: bool = True) -> dict:
    """:func:`sectionist.analysis.modeling.compare.compare_labelings` over the sections both runs clustered, spread back
    onto the store's section order (``MISSING`` where a run left a section out).

    Unmatched clusters of B keep a label of their own, above every A label (the rule of
    :mod:`sectionist.analysis.modeling.compare`), so they never count as agreeing. ARI and NMI are NaN without
    ``scores``.
    """
    from sectionist.analysis.modeling.compare import compare_labelings

    both = (la != MISSING) & (lb != MISSING)
    n = int(both.sum())
    aligned = np.full(len(la), MISSING, np.int32)
    agree = np.zeros(len(la), bool)
    if not n:
        return {"rows": [], "cols": [], "counts": np.zeros((0, 0), np.int64), "mapping": {}, "unmatched": [],
                "aligned_b": aligned, "agree": agree, "both": both, "n": 0, "agreement": float("nan"),
                "ari": float("nan"), "nmi": float("nan")}
    comp = compare_labelings(la[both], lb[both], scores=scores)
    aligned[both] = comp.b_aligned
    agree[both] = comp.agree
    return {
        "rows": comp.rows, "cols": comp.cols, "counts": comp.counts, "mapping": comp.mapping,
        "unmatched": comp.unmatched, "aligned_b": aligned, "agree": agree, "both": both, "n": n,
        "agreement": comp.agreement, "ari": comp.ari, "nmi": comp.nmi,
    }


def get_data() -> StoreData:
    """The :class:`StoreData` of the Flask app serving the current request."""
    from flask import current_app

    try:
        return current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise StoreError("no store attached to this app (create it with sectionist.dashboard.app.create_app)") from None
