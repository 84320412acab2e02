"""Where exported files point to the originals: a path, a relative path, a file name or the app's section URL."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlencode, urlsplit

from sectionist.analysis.export.names import check_known

#: How file locations are written into ``reaper`` and ``xspf`` exports.
LOCATIONS = ("absolute", "relative", "corpus", "name", "url")


def _is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def _plain(uri) -> str:
    uri = str(uri)
    return urlsplit(uri).path if uri.startswith("file://") else uri


def corpus_root(uris) -> str | None:
    """The deepest folder holding every song of ``uris`` (local paths), or the longest common
    ``…/`` prefix of remote URIs (``s3://bucket/corpus/``); None when there are none or they mix
    local and remote files."""
    uris = [_plain(u) for u in uris if isinstance(u, str) and u]
    if not uris:
        return None
    remote = [_is_remote(u) for u in uris]
    if any(remote) != all(remote):
        return None
    if all(remote):
        prefix = os.path.commonprefix(uris)
        return prefix[:prefix.rfind("/") + 1] if "/" in prefix.split("://", 1)[-1] else None
    return os.path.commonpath([str(Path(u).absolute().parent) for u in uris])


def _under_root(uri: str, root: str | None) -> str | None:
    """``uri`` relative to ``root`` (POSIX separators), or None when it is not under it."""
    if not root or _is_remote(uri) != _is_remote(root):
        return None
    if _is_remote(uri):
        return uri[len(root):].lstrip("/") if uri.startswith(root) else None
    rel = Path(os.path.relpath(Path(uri).absolute(), root)).as_posix()
    return None if rel == ".." or rel.startswith("../") else rel


def song_location(uri: str, mode: str, *, out_dir=None, as_uri: bool = False, root: str | None = None) -> str:
    """Where an exported file points to the original ``uri``.

    Parameters
    ----------
    uri : str
        The ``songs.uri``: a local path or an ``s3://`` URI.
    mode : {"absolute", "relative", "corpus", "name"}
        ``name``: only the file's name (never a server path); ``relative``: relative to ``out_dir``;
        ``corpus``: relative to ``root``, the corpus' folder (:func:`corpus_root`; a copy of the corpus
        with the export in its top folder plays anywhere, and the server's own folders stay out).
    as_uri : bool
        Write a URI (``file:///…``; a relative one percent-encoded), as XSPF wants.
    root : str, optional
        For ``corpus``: the corpus' folder or URI prefix (without it, the file's name alone).
    """
    check_known("location", [mode], ("absolute", "relative", "corpus", "name"))
    uri = _plain(uri)
    if mode == "corpus":
        rel = _under_root(uri, root)
        if rel is not None:
            return quote(rel) if as_uri else rel
        mode = "name"  # not under the corpus' folder: the file's name alone, never a server path
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


def section_url(base_url: str, section_id: str, fmt: str = "wav", *, token: str | None = None) -> str:
    """The app's audio URL of one section: ``{base_url}/audio/{section_id}.{fmt}``, behind the login;
    with ``token`` (a playlist link's signed token) ``…?token=…``, which plays without one."""
    url = f"{base_url.rstrip('/')}/audio/{quote(str(section_id), safe='')}.{fmt}"
    return f"{url}?{urlencode({'token': token})}" if token else url
