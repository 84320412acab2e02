"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object], *, fsync: bool = True) -> None:
    """Write ``path`` through a temporary file in the same folder, then ``os.replace`` it.

    Parameters
    ----------
    path : str or Path
        The file to (re)write; its folder must exist.
    write : callable
        Called with the open binary temporary file.
    fsync : bool
        Flush the data to disk before the rename (so a crash cannot leave an empty file).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
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
