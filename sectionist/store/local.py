"""A store in a local folder (writes are atomic: a temporary file, then a rename).

:meth:`LocalStore.swap_bytes` (behind :meth:`Store.update_manifest`) holds an exclusive ``flock`` on a
hidden sidecar (``.manifest.json.lock`` beside ``manifest.json``) while it reads, changes and renames
the new file into place; the kernel drops the lock of a process that dies, so no stale lock remains.
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from contextlib import contextmanager
from pathlib import Path

from sectionist.store.base import Store
from sectionist.store.errors import StoreError
from sectionist.store.fileio import atomic_write

#: Seconds a writer waits for another one's lock before giving up (a holder only reads and renames).
LOCK_TIMEOUT = 120.0


class LocalStore(Store):
    """A store in a local folder."""

    def __init__(self, root: str | Path, create: bool = True):
        self.root = Path(root).expanduser().resolve()
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise StoreError(f"{self.root}: no such store folder")
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if self.root not in p.parents and p != self.root:
            raise StoreError(f"key {key!r} escapes the store root")
        return p

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"{self.root}/{key}: not found") from None

    def ends(self, key: str, head: int, tail: int) -> tuple[bytes, bytes, int]:
        try:
            with self._path(key).open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                first = fh.read(head)
                fh.seek(max(0, size - tail))
                return first, fh.read(tail) if tail else b"", size
        except FileNotFoundError:
            raise StoreError(f"{self.root}/{key}: not found") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda fh: fh.write(data))

    def swap_bytes(self, key: str, make) -> bytes | None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_name(f".{path.name}.lock")):
            try:
                old = path.read_bytes()
            except FileNotFoundError:
                old = None
            data = make(old)
            atomic_write(path, lambda fh: fh.write(data))
        return data

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        out = []
        for p in base.rglob("*"):
            if p.is_file() and not p.name.startswith("."):
                out.append(p.relative_to(self.root).as_posix())
        return sorted(out)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass


@contextmanager
def _locked(lock_path: Path, timeout: float = LOCK_TIMEOUT):
    """An exclusive ``flock`` on ``lock_path`` (created if absent), between processes and between
    threads (each holder opens its own file description)."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout
        pause = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(f"{lock_path}: held by another process for over {timeout:.0f} s "
                                     "(is a sectionist process stuck writing this store?)") from None
                time.sleep(random.uniform(0.0, pause))
                pause = min(pause * 2, 0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
