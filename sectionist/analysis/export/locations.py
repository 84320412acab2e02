"""Where exported files point to the originals: a path, a relative path, a file name or the app's section URL."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from sectionist.analysis.export.names import check_known

#: How file locations are written into ``reaper`` and ``xspf`` exports.
LOCATIONS = ("absolute", "relative", "name", "url")


def _is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def song_location(uri: str, mode: str, *, out_dir=None, as_uri: bool = False) -> str:
    """Where an exported file points to the original ``uri``.

    Parameters
    ----------
    uri : str
        The ``songs.uri``: a local path or an ``s3://`` URI.
    mode : {"absolute", "relative", "name"}
        ``name``: only the file's name (never a server path); ``relative``: relative to ``out_dir``.
    as_uri : bool
        Write a URI (``file:///…``; a relative one percent-encoded), as XSPF wants.
    """
    check_known("location", [mode], ("absolute", "relative", "name"))
    uri = str(uri)
    if uri.startswith("file://"):
        uri = urlsplit(uri).path
    if mode == "name":
        name = PurePosixPath(urlsplit(uri).path if _is_remote(uri) else uri.replace("\\", "/")).name
        return quote(name) if as_uri else name
    if _is_remote(uri):
        return uri
    path = Path(uri).absolute()
    if mode == "relative":
        rel = os.path.relpath(path, Path(out_dir or ".").absolute())
        return quote(Path(rel).as_posix()) if as_uri else rel
    return path.as_uri() if as_uri else str(path)


def section_url(base_url: str, section_id: str, fmt: str = "wav") -> str:
    """The app's (authenticated) audio URL of one section: ``{base_url}/audio/{section_id}.{fmt}``."""
    return f"{base_url.rstrip('/')}/audio/{quote(str(section_id), safe='')}.{fmt}"
