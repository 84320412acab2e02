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
from sectionist.store.schema import SECTIONS, SONGS

from sectionist.dashboard.data.annotations import AnnotationsMixin
from sectionist.dashboard.data.compare import CompareMixin
from sectionist.dashboard.data.features import FeaturesMixin
from sectionist.dashboard.data.projections import ProjectionsMixin
from sectionist.dashboard.data.runs import RunsMixin
from sectionist.dashboard.data.sections import SectionsMixin
from sectionist.dashboard.data.tables import read_table_parallel

#: Key of the :class:`StoreData` in ``flask_app.extensions``.
EXTENSION_KEY = "sectionist_data"


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

    def healthy(self) -> bool:
        """True when the store answers (manifest readable and a sections table present)."""
        try:
            self.store.read_manifest()
            return bool(self.store.list_parts(SECTIONS)) or bool(self.store.list_parts(SONGS))
        except (StoreError, OSError):
            return False

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
