"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The temporary file :func:`tempfile.mkstemp` creates is private (mode 0600); :func:`atomic_write` gives the
file the mode a plain ``open(path, "w")`` would (0666 less the user's umask) unless asked to keep it
private, so exports and store parts can be read by whoever the user's umask lets read them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def current_umask() -> int:
    """The process's umask, read without changing it (``/proc/self/status`` on Linux; elsewhere set and
    put back at once)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object], *, fsync: bool = True,
                 private: bool = False) -> None:
    """Write ``path`` through a temporary file in the same folder, then ``os.replace`` it.

    Parameters
    ----------
    path : str or Path
        The file to (re)write; its folder must exist.
    write : callable
        Called with the open binary temporary file.
    fsync : bool
        Flush the data to disk before the rename (so a crash cannot leave an empty file).
    private : bool
        Keep the temporary file's mode 0600 (secrets); else the file gets ``0o666 & ~umask``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if not private:
                os.fchmod(fh.fileno(), 0o666 & ~current_umask())
            write(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
