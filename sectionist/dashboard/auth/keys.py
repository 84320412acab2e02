"""Where the dashboard keeps its secrets and default databases: the session signing key and the
default database URL of a store.

No environment variable is read here: the entry points read them once into
:class:`sectionist.settings.Settings` and pass the values (``data_dir``, ``secret_file``, …) down.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

from sectionist.analysis.errors import ParameterError
from sectionist.settings import default_data_dir, store_db_url

log = logging.getLogger(__name__)


def data_dir(data_dir: str | Path | None = None) -> Path:
    """Per-user folder for generated secrets and databases of remote stores: ``data_dir`` if given,
    else the built-in default ``~/.local/share/sectionist`` (``$SECTIONIST_DATA_DIR`` and
    ``$XDG_DATA_HOME`` are read by :meth:`sectionist.settings.Settings.from_env`)."""
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


_data_dir = data_dir  # the parameters below shadow the function's name


def default_db_url(store_uri: str, data_dir: str | Path | None = None) -> str:
    """The default database of a store: ``<store>/sectionist.sqlite`` for a local folder, or a
    SQLite file in ``data_dir`` (default :func:`data_dir`; named after the URI) for an ``s3://`` store.

    (``$SECTIONIST_DB_URL`` is not looked at: :class:`sectionist.settings.Settings` decides which wins.)
    """
    return store_db_url(store_uri, _data_dir(data_dir))


def load_secret_key(secret_key: str | None = None, *, secret_file: str | Path | None = None,
                    data_dir: str | Path | None = None) -> str:
    """The session signing key: ``secret_key``, else the key file.

    The key file is ``secret_file`` or ``<data_dir>/secret_key``; it is created with mode 0600 on
    first use (atomically, so several gunicorn workers agree on one key). ``$SECRET_KEY`` and
    ``$SECTIONIST_SECRET_FILE`` reach here through :class:`sectionist.settings.Settings`.
    """
    key = secret_key
    if key:
        if len(key) < 16:
            raise ParameterError("SECRET_KEY is too short: use at least 16 random characters")
        return key
    path = Path(secret_file or _data_dir(data_dir) / "secret_key").expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, secrets.token_hex(32).encode())
            os.close(fd)
            try:
                os.link(tmp, path)  # atomic, and fails if another process was first
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        try:
            os.chmod(path, 0o600)
            log.warning("%s was readable by others (mode %o); set it to 0600", path, mode)
        except OSError:
            raise ParameterError(f"{path}: secret key file is readable by others (mode {mode:o}); chmod 600 it") from None
    key = path.read_text().strip()
    if len(key) < 16:
        raise ParameterError(f"{path}: secret key file is empty or too short; delete it to generate a new one")
    return key
