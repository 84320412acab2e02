"""A bounded folder of rendered media (spectrogram PNGs, encoded section audio) that every web worker
shares: a section's image is made once, by the first request that needs it, and then read from disk
by every worker process, across restarts.

Entries are named by the SHA-256 of their key, which says what the bytes are made from (the song's
content hash, the span, the language of the labels, the renderer's version; the store's version for
images drawn from a run), so an entry never goes stale: a changed song or section has another key.
Files are written under a temporary name and renamed (:func:`sectionist.store.fileio.atomic_write`),
so a reader sees a whole entry or none. The folder is kept under ``max_bytes``: a hit refreshes the
entry's modification time, and when the entries written since the last look could have passed the
limit the folder is scanned and the least recently used entries are removed (another process may
have removed one first: that is fine).

Within one process, :meth:`MediaCache.get_or_make` makes each missing entry once however many
threads ask for it at the same moment.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Callable

from sectionist.analysis.errors import ParameterError
from sectionist.store.fileio import atomic_write

#: Default size limit of one store's media folder, in bytes.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: After the folder was last measured, entries worth this share of the limit may be written before it
#: is measured again.
RESCAN_SHARE = 1 / 16
#: Removal goes down to this share of the limit, so a full folder is not scanned on every write.
TRIM_TO = 0.9
SUFFIX = ".bin"


def default_folder(store_uri, data_dir) -> Path:
    """The media folder of a store: ``<data_dir>/media/<hash of the store's URI>``."""
    return Path(data_dir) / "media" / hashlib.sha256(str(store_uri).encode()).hexdigest()[:16]


class MediaCache:
    """Rendered media of one store on disk, bounded in size (least recently used entries go first).

    Parameters
    ----------
    folder : str or Path
        Created when missing.
    max_bytes : int
        Size limit of the entries together (> 0).
    """

    def __init__(self, folder, max_bytes: int = DEFAULT_MAX_BYTES):
        if int(max_bytes) <= 0:
            raise ParameterError(f"media cache size {max_bytes!r}: must be > 0 bytes")
        self.folder = Path(folder)
        self.max_bytes = int(max_bytes)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParameterError(f"media cache folder {self.folder}: cannot be created ({exc.strerror})") from None
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = {}
        self._unmeasured = self.max_bytes  # measure the folder at the first write

    def path(self, key) -> Path:
        """The file of ``key`` (any value with a stable ``repr``: tuples of strings and numbers)."""
        digest = hashlib.sha256(repr(key).encode()).hexdigest()
        return self.folder / digest[:2] / (digest + SUFFIX)

    def get(self, key) -> bytes | None:
        """The bytes stored for ``key``, or None."""
        path = self.path(key)
        try:
            payload = path.read_bytes()
        except OSError:  # absent, or removed by another process's trim just now
            return None
        try:
            os.utime(path)  # recently used: trimmed last
        except OSError:
            pass
        return payload

    def put(self, key, payload: bytes) -> None:
        """Store ``payload`` for ``key`` (an entry larger than the whole limit is not kept)."""
        if len(payload) > self.max_bytes:
            return
        path = self.path(key)
        path.parent.mkdir(exist_ok=True)
        # a cache entry can always be made again: no fsync
        atomic_write(path, lambda fh: fh.write(payload), fsync=False)
        with self._lock:
            self._unmeasured += len(payload)
            due = self._unmeasured >= self.max_bytes * RESCAN_SHARE
            if due:
                self._unmeasured = 0
        if due:
            self.trim()

    def get_or_make(self, key, make: Callable[[], bytes | None]) -> bytes | None:
        """The bytes for ``key``: from the folder, else ``make()`` (kept unless it returns None). Threads
        of this process asking for the same missing key wait for one ``make()``."""
        payload = self.get(key)
        if payload is not None:
            return payload
        name = self.path(key).name
        with self._lock:
            lock = self._making.setdefault(name, threading.Lock())
        try:
            with lock:
                payload = self.get(key)  # made by the thread this one waited for
                if payload is None:
                    payload = make()
                    if payload is not None:
                        self.put(key, payload)
        finally:
            with self._lock:
                if not lock.locked():
                    self._making.pop(name, None)
        return payload

    def entries(self) -> list[tuple[float, int, Path]]:
        """``(modification time, size, path)`` of every entry (temporary files left out)."""
        out = []
        try:
            subfolders = list(os.scandir(self.folder))
        except OSError:
            return out
        for sub in subfolders:
            if not sub.is_dir(follow_symlinks=False):
                continue
            try:
                files = list(os.scandir(sub.path))
            except OSError:
                continue
            for f in files:
                if not f.name.endswith(SUFFIX):
                    continue
                try:
                    st = f.stat(follow_symlinks=False)
                except OSError:
                    continue
                out.append((st.st_mtime, st.st_size, Path(f.path)))
        return out

    def size(self) -> int:
        """Bytes the entries take together."""
        return sum(size for _, size, _ in self.entries())

    def trim(self) -> int:
        """Remove the least recently used entries while the folder is over its limit (down to
        :data:`TRIM_TO` of it). Returns the bytes the entries take afterwards."""
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return total
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes * TRIM_TO:
                break
            try:
                path.unlink()
            except FileNotFoundError:  # another process trimmed it first
                pass
            except OSError:
                continue
            total -= size
        return total
