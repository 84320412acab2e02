"""Debian packages as a source of files: fetch a ``.deb`` with ``apt-get download`` into a cache,
unpack it with ``dpkg-deb -x`` and read its licence from ``usr/share/doc/PKG/copyright``.

``apt-get download`` needs no root: it writes ``PKG_VERSION_ARCH.deb`` into the current folder. A
package already in the cache is not fetched again (so a built corpus can be rebuilt offline and from
the same versions); delete the cache to take newer versions.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from sectionist.analysis.errors import InputError

#: Default cache of downloaded ``.deb`` files.
DEFAULT_CACHE = "~/.cache/sectionist/debs"

#: A Debian package name (policy 5.6.1), which is also what may be passed to apt-get.
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9.+-]+$")


def cached_deb(package: str, cache) -> Path | None:
    """The ``.deb`` of ``package`` in ``cache`` (the last by name when several), or None."""
    found = sorted(Path(cache).expanduser().glob(f"{package}_*.deb"))
    return found[-1] if found else None


def fetch_deb(package: str, cache=DEFAULT_CACHE) -> Path:
    """The ``.deb`` of ``package``: from ``cache``, else downloaded there with ``apt-get download``.

    Raises
    ------
    InputError
        A bad package name, no ``apt-get``, or the download failed (apt's message is in the error).
    """
    if not PACKAGE_NAME.match(package):
        raise InputError(f"{package!r} is not a Debian package name")
    cache = Path(cache).expanduser()
    deb = cached_deb(package, cache)
    if deb is not None:
        return deb
    exe = shutil.which("apt-get")
    if exe is None:
        raise InputError(f"cannot fetch {package}: no apt-get on this machine (put {package}_*.deb into {cache})")
    cache.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run([exe, "download", package], cwd=cache, capture_output=True, text=True,
                              timeout=600, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"cannot fetch {package}: apt-get download took over 10 minutes") from exc
    deb = cached_deb(package, cache)
    if proc.returncode != 0 or deb is None:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.startswith(("E:", "Err"))]
        reason = "; ".join(lines) or (proc.stderr or proc.stdout).strip()[-300:] or f"exit {proc.returncode}"
        raise InputError(f"cannot fetch {package}: apt-get download failed: {reason}")
    return deb


def deb_version(deb) -> str:
    """The version in a ``.deb`` file name (``PKG_VERSION_ARCH.deb``; an epoch's ``%3a`` as ``:``)."""
    parts = Path(deb).name.split("_")
    return parts[1].replace("%3a", ":") if len(parts) >= 3 else ""


def unpack_deb(deb, dest) -> Path:
    """Unpack the files of ``deb`` into the folder ``dest`` (``dpkg-deb -x``); ``dest``."""
    exe = shutil.which("dpkg-deb")
    if exe is None:
        raise InputError(f"cannot unpack {deb}: no dpkg-deb on this machine (Debian package 'dpkg')")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([exe, "-x", str(deb), str(dest)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InputError(f"cannot unpack {deb}: dpkg-deb failed: {proc.stderr.strip()[-300:]}")
    return dest


def copyright_file(root, package: str) -> Path | None:
    """``usr/share/doc/PACKAGE/copyright`` under an unpacked package (None when absent; a doc folder that
    is a link to another package's cannot be followed there)."""
    p = Path(root) / "usr" / "share" / "doc" / package / "copyright"
    return p if p.is_file() else None


_GPL = re.compile(r"GNU (Lesser |Library )?General Public License[^.]*?version (\d(?:\.\d)?)", re.I | re.S)


def licence_of(copyright_text: str) -> str:
    """A short licence name from a Debian copyright file's text.

    A machine-readable file (DEP-5): the ``License:`` of its ``Files: *`` paragraph, else of its header.
    Otherwise the GNU licence its prose names (``GPL-2+`` for "version 2 … or any later version"),
    else ``unknown``.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", copyright_text) if p.strip()]
    if paragraphs and paragraphs[0].lstrip().lower().startswith("format:"):
        def field(par, name):
            m = re.search(rf"^{name}:[ \t]*(.*)$", par, re.M | re.I)
            return m.group(1).strip() if m else ""
        for par in paragraphs:
            if field(par, "Files") == "*" and field(par, "License"):
                return field(par, "License")
        if field(paragraphs[0], "License"):
            return field(paragraphs[0], "License")
    m = _GPL.search(copyright_text)
    if m:
        name = {"": "GPL", "lesser ": "LGPL", "library ": "LGPL"}[(m.group(1) or "").lower()]
        later = "later version" in copyright_text[m.end():m.end() + 120].lower()
        return f"{name}-{m.group(2)}{'+' if later else ''}"
    return "unknown"


def package_licence(root, package: str) -> str:
    """The short licence of an unpacked package (:func:`licence_of` its copyright file), or
    ``unknown (no copyright file)``."""
    p = copyright_file(root, package)
    if p is None:
        return "unknown (no copyright file)"
    return licence_of(p.read_text(encoding="utf-8", errors="replace"))
