"""A local read-through cache for stores that live far away (``s3://``).

The dashboard reads the same parquet parts again and again; over S3 every read is a GET that
costs time and money. :class:`ReadThroughCache` keeps the bytes of parts in a local folder,
bounded in size (least recently used entries go first), and drops everything when the store's
``manifest.json`` ``version`` changes — :meth:`analysis.store.Store.write_manifest` increments
that number on every write, so a re-analysis or a ``sectionist sync`` invalidates the cache.

Every entry's file name carries the manifest version it was read under, so a process that read
a part just before the version changed can never make it visible under the new version. Several
processes (gunicorn workers) may share one cache folder: entries are written under a temporary
name and renamed, and eviction tolerates files that another process removed first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sectionist.store.errors import ParameterError

log = logging.getLogger(__name__)

#: Default size limit of a cache folder (one per store), in bytes.
DEFAULT_MAX_BYTES = 1 << 30
#: Default seconds between two checks of the manifest version.
DEFAULT_TTL = 10.0


def default_cache_dir() -> Path:
    """The built-in cache base folder, ``~/.cache/sectionist/s3``.

    ``$SECTIONIST_S3_CACHE_DIR`` and ``$XDG_CACHE_HOME`` are read by the entry points
    (:class:`sectionist.settings.Settings`), which pass ``cache_dir`` to the store.
    """
    return Path.home() / ".cache" / "sectionist" / "s3"


@dataclass
class CacheStats:
    """Counters of one cache object (this process only)."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    invalidations: int = 0
    bytes_served: int = 0


class ReadThroughCache:
    """Bytes of store keys kept in a local folder, bounded in size, tied to a manifest version.

    Parameters
    ----------
    directory : str or Path
        Folder for this store's entries (created when missing). Use one folder per store;
        :func:`cache_dir_for` derives one from a base folder and the store URI.
    max_bytes : int
        Size limit of the folder's entries; the least recently used entries are evicted beyond it.
        A single value larger than the limit is not cached at all.
    ttl : float
        Seconds during which the last seen manifest version is trusted without asking the store
        again (``0`` checks before every read).
    clock : callable
        Monotonic seconds (``time.monotonic``; tests pass their own).

    Notes
    -----
    The cache never decides on its own when to look at the manifest: its owner calls
    :meth:`needs_version_check` and then :meth:`observe_version` with the version it read.
    """

    def __init__(self, directory, *, max_bytes: int = DEFAULT_MAX_BYTES, ttl: float = DEFAULT_TTL,
                 clock=time.monotonic):
        if max_bytes <= 0:
            raise ParameterError(f"cache max_bytes={max_bytes}: must be > 0 (disable the cache instead)")
        if ttl < 0:
            raise ParameterError(f"cache ttl={ttl}: must be >= 0 seconds")
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_bytes)
        self.ttl = float(ttl)
        self._clock = clock
        self.stats = CacheStats()
        self.version: int | None = None
        self._checked_at = -float("inf")
        self._lock = threading.Lock()

    # ---- version --------------------------------------------------------------------------
    def needs_version_check(self) -> bool:
        """Whether the manifest version should be read again before the next cached read."""
        return self.version is None or self._clock() - self._checked_at >= self.ttl

    def observe_version(self, version: int) -> None:
        """Record the store's current manifest version; a change drops every older entry."""
        version = int(version)
        with self._lock:
            self._checked_at = self._clock()
            if version == self.version:
                return
            old, self.version = self.version, version
        removed = 0
        for path in self._entries():
            if not path.name.startswith(f"v{version}-"):
                removed += self._unlink(path)
        if old is not None or removed:
            self.stats.invalidations += 1
            log.info("cache %s: manifest version %s -> %s, %d entries dropped", self.directory, old, version, removed)

    # ---- entries ------------------------------------------------------------------------------
    def _name(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:40]
        return f"v{self.version}-{digest}"

    def _entries(self) -> list[Path]:
        try:
            return [p for p in self.directory.iterdir() if p.name.startswith("v") and p.is_file()]
        except FileNotFoundError:
            return []

    @staticmethod
    def _unlink(path: Path) -> int:
        try:
            path.unlink()
            return 1
        except FileNotFoundError:  # another process was faster
            return 0

    def get(self, key: str) -> bytes | None:
        """The cached bytes of ``key`` under the current version, or ``None``."""
        if self.version is None:
            return None
        path = self.directory / self._name(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        try:
            os.utime(path)  # recency for LRU eviction
        except FileNotFoundError:
            pass
        self.stats.hits += 1
        self.stats.bytes_served += len(data)
        return data

    def put(self, key: str, data: bytes) -> bool:
        """Cache ``data`` for ``key`` under the current version; ``False`` when it is not cached."""
        if self.version is None or len(data) > self.max_bytes:
            return False
        path = self.directory / self._name(key)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError as exc:  # a full or read-only disk must not break reading the store
            log.warning("cache %s: cannot write an entry (%s)", self.directory, exc)
            self._unlink(Path(tmp))
            return False
        self._evict(keep=path)
        return True

    def invalidate(self, key: str) -> None:
        """Forget ``key`` (its value is being replaced)."""
        if self.version is not None:
            self._unlink(self.directory / self._name(key))

    def clear(self) -> None:
        """Drop every entry."""
        for path in self._entries():
            self._unlink(path)

    def size(self) -> int:
        """Total bytes of the entries now in the folder."""
        total = 0
        for path in self._entries():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
        return total

    def _evict(self, keep: Path) -> None:
        entries = []
        for path in self._entries():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            entries.append((st.st_mtime_ns, path.name, st.st_size, path))
        total = sum(e[2] for e in entries)
        if total <= self.max_bytes:
            return
        for _, _, size, path in sorted(entries):  # oldest first
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            if self._unlink(path):
                self.stats.evictions += 1
            total -= size


def cache_dir_for(base, uri: str) -> Path:
    """One cache folder per store URI under ``base``."""
    return Path(base).expanduser() / hashlib.sha256(uri.encode()).hexdigest()[:16]
