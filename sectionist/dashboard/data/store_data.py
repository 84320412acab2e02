"""Read-only access to one store for the web app: read once, precompute arrays, cache.

Every page reads the store through :class:`StoreData` and nothing else. Tables are read the first
time they are needed and kept; per-store arrays the callbacks need on every interaction (cluster
labels, confidences, projection coordinates, feature matrices, song codes) are built once with
numpy, aligned to one section order, so a map redraw or a click is array indexing, not pandas
work on 100 000 rows. The cache is dropped when the store's ``manifest.json`` ``version`` changes
(checked at most every ``check_interval`` seconds), so a re-analysed store shows up without a
restart. The methods live in mixins by job (:mod:`.sections`, :mod:`.runs`, :mod:`.projections`,
:mod:`.features`, :mod:`.annotations`, :mod:`.compare`); they return keys and values, never text
for people (:mod:`sectionist.dashboard.ui.naming` makes that).

Callbacks get the instance of the app serving the request with :func:`get_data`.
"""

from __future__ import annotations

import threading
import time
from functools import cached_property

import pandas as pd

from sectionist.analysis.errors import StoreError
from sectionist.store import open_store
from sectionist.store.check import StoreCheck, check_store
from sectionist.store.errors import DamagedPartError
from sectionist.store.schema import CENTROID_PROJECTIONS, CLUSTERINGS, CLUSTERS, EXPLANATIONS, RUNS, SALIENCY, SECTIONS, SONGS

from sectionist.dashboard.data.annotations import AnnotationsMixin
from sectionist.dashboard.data.compare import CompareMixin
from sectionist.dashboard.data.features import FeaturesMixin
from sectionist.dashboard.data.projections import ProjectionsMixin
from sectionist.dashboard.data.runs import RunsMixin
from sectionist.dashboard.data.sections import SectionsMixin
from sectionist.dashboard.data.tables import read_table_parallel

#: Key of the :class:`StoreData` in ``flask_app.extensions``.
EXTENSION_KEY = "sectionist_data"
#: Tables with one part per run (part name = run id): a damaged one makes that run unavailable.
RUN_TABLES = (RUNS, CLUSTERINGS, CLUSTERS, EXPLANATIONS, CENTROID_PROJECTIONS, SALIENCY)
#: Seconds a footer check of the store is kept when its version does not change (a version change drops it).
CHECK_MAX_AGE = 300.0


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
        self.memo: dict = {}
        self.lock = threading.RLock()
        #: the footer check of this version (:meth:`StoreData.check`) and when it was made
        self.check: StoreCheck | None = None
        self.checked_at = 0.0
        #: parts whose footer looked right but that failed to read: key → reason
        self.found: dict = {}


class StoreData(SectionsMixin, RunsMixin, ProjectionsMixin, FeaturesMixin, AnnotationsMixin,
                CompareMixin):
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
            # the old cache's frames were frozen out of the collector's scans (:func:`~sectionist.dashboard.data.tables.long_lived`): hand
            # them back, so any reference cycles among them are collected with it
            import gc

            gc.unfreeze()
            # cached_property values live in __dict__: drop them with the cache (those of the
            # mixins too)
            for name in [k for klass in type(self).__mro__ for k, v in vars(klass).items()
                         if isinstance(v, cached_property)]:
                self.__dict__.pop(name, None)
            return True

    def health(self) -> dict:
        """``{"store": "ok"|"degraded"|"unreadable", "damaged": [keys]}``: unreadable when the store does
        not answer or every part is damaged; degraded when some parts are (the rest is served)."""
        if not self.healthy():
            return {"store": "unreadable", "damaged": []}
        try:
            chk = self.check()
        except (StoreError, OSError):
            return {"store": "unreadable", "damaged": []}
        damaged = sorted(chk.damaged)
        if not damaged:
            return {"store": "ok", "damaged": []}
        return {"store": "unreadable" if len(damaged) >= chk.n_parts else "degraded", "damaged": damaged}

    def healthy(self) -> bool:
        """True when the store answers (manifest readable and a sections table present)."""
        try:
            self.store.read_manifest()
            return bool(self.store.list_parts(SECTIONS)) or bool(self.store.list_parts(SONGS))
        except (StoreError, OSError):
            return False

    def check(self) -> StoreCheck:
        """The footer check of every part (:func:`sectionist.store.check.check_store`), kept per store
        version (and at most :data:`CHECK_MAX_AGE` s), with the parts found unreadable while reading."""
        self.refresh()
        c = self._cache
        with c.lock:
            if c.check is None or time.monotonic() - c.checked_at > CHECK_MAX_AGE:
                c.check = check_store(c.store)
                c.checked_at = time.monotonic()
            if not c.found:
                return c.check
            return StoreCheck(c.check.uri, c.check.n_parts, {**c.check.damaged, **c.found})

    def damaged_parts(self) -> dict:
        """``{key: DamagedPartError}`` of every damaged part (message: which part, why, the repair command)."""
        chk = self.check()
        return {k: DamagedPartError(chk.uri, k, r) for k, r in sorted(chk.damaged.items())}

    def damaged_runs(self) -> dict:
        """``{run_id: DamagedPartError}``: runs left out because one of their parts is damaged."""
        out: dict = {}
        for key, err in self.damaged_parts().items():
            if err.table in RUN_TABLES:
                out.setdefault(err.part, err)
        return out

    def unavailable(self, run_id) -> None:
        """Raise the :class:`DamagedPartError` of ``run_id`` when one of its parts is damaged."""
        err = self.damaged_runs().get(run_id)
        if err is not None:
            raise err

    def readable(self, name: str, parts=None) -> pd.DataFrame:
        """The parts of table ``name`` (all, or ``parts``) that are not damaged, read part by part with
        a few threads; a part that fails to read is remembered as damaged and left out."""
        c = self._cache
        bad = set(self.check().damaged_in(name))
        names = [p for p in (c.store.list_parts(name) if parts is None else parts) if p not in bad]
        while True:
            try:
                return read_table_parallel(c.store, name, parts=names)
            except DamagedPartError as exc:
                if exc.part not in names:
                    raise
                with c.lock:
                    c.found[exc.key] = exc.reason
                names = [p for p in names if p != exc.part]

    def table(self, name: str) -> pd.DataFrame:
        """The whole table ``name`` (cached; an absent table is an empty frame; damaged parts left out)."""
        self.refresh()
        c = self._cache
        with c.lock:
            if name not in c.tables:
                c.tables[name] = self.readable(name)
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
        return self.readable(name)

    def memo(self, kind: str, key, compute):
        """``compute()``, kept under ``(kind, key)`` until the store's version changes (for values
        made from the store elsewhere, e.g. cluster names per language)."""
        self.refresh()
        c = self._cache
        with c.lock:
            if (kind, key) in c.memo:
                return c.memo[(kind, key)]
        value = compute()
        with c.lock:
            c.memo[(kind, key)] = value
        return value

    def corpus_summary(self) -> dict:
        """Counts of the store: songs, hours, sections, central sections, runs, spaces."""
        songs = self.songs
        return {
            "songs": int(len(songs)),
            "hours": float(pd.to_numeric(songs["duration_s"], errors="coerce").sum() / 3600),
            "sections": int(self.n_sections),
            "central": int(self.is_central.sum()),
            "runs": int(len(self.runs)),
            "spaces": len(self.spaces()),
        }


def get_data() -> StoreData:
    """The :class:`StoreData` of the Flask app serving the current request."""
    from flask import current_app

    try:
        return current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise StoreError("no store attached to this app (create it with sectionist.dashboard.app.create_app)") from None
