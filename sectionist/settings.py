"""One settings object for the whole program, read from the environment once.

:class:`Settings` holds everything that used to be read from environment variables in about ten
places: the store, the user/judgement database, the session secret, the data folder, the S3
endpoint, region and read cache, the model cache, and the proxy/cookie flags of the web app.
The entry points build it once and pass the values down; :mod:`store`, :mod:`analysis` and
:mod:`dashboard` take explicit parameters and read no environment variable themselves.

- ``sectionist`` (:mod:`sectionist.cli`): :meth:`Settings.resolve` with the parsed command line
  and ``os.environ``;
- gunicorn (``sectionist.dashboard.app:server``): :meth:`Settings.from_env` with ``os.environ``.

Precedence (one rule for every value)
    1. a command-line option (``--db``, ``--store``, ``--s3-endpoint``, ``--s3-region``);
    2. of two options, the more specific one: ``--db`` beats the database derived from ``--store``;
    3. the environment variable;
    4. the built-in default.

    For the database that is: ``--db URL`` if given; else, if ``--store`` is given, that store's
    default database (``<store>/sectionist.sqlite``, or a SQLite file in the data folder for an
    ``s3://`` store); else ``$SECTIONIST_DB_URL``; else (the web app only) the default database of
    ``$SECTIONIST_STORE``. The commands that need a database and find none say so (exit status 2).

Environment variables (:data:`ENVIRONMENT` lists them with their meaning)
    ``SECTIONIST_STORE``, ``SECTIONIST_DB_URL``, ``SECRET_KEY``, ``SECTIONIST_SECRET_FILE``,
    ``SECTIONIST_DATA_DIR`` (else ``$XDG_DATA_HOME/sectionist``), ``SECTIONIST_S3_ENDPOINT``,
    ``SECTIONIST_S3_CACHE_DIR`` (else ``$XDG_CACHE_HOME/sectionist/s3``), ``SECTIONIST_S3_CACHE_MB``
    (``0``: no cache), ``SECTIONIST_S3_CACHE_TTL``, ``SECTIONIST_MODEL_DIR``,
    ``SECTIONIST_BEHIND_PROXY``, ``SECTIONIST_SECURE_COOKIES``, ``SECTIONIST_PLAYLIST_TTL``. The S3 region and credentials come
    from the standard AWS chain (``AWS_REGION``, ``~/.aws``, instance role) unless ``--s3-region``.

This module is a leaf: it imports nothing of the project.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

#: Every environment variable the program reads, and what it sets.
ENVIRONMENT: dict[str, str] = {
    "SECTIONIST_STORE": "the store the web app serves under gunicorn (a folder or s3://bucket/prefix)",
    "SECTIONIST_DB_URL": "user/judgement database URL (sqlite:///FILE or postgresql://…)",
    "SECRET_KEY": "session signing key (at least 16 characters)",
    "SECTIONIST_SECRET_FILE": "file holding the session signing key (default <data dir>/secret_key, made 0600)",
    "SECTIONIST_DATA_DIR": "folder for generated secrets and the databases of s3:// stores",
    "XDG_DATA_HOME": "data folder base when SECTIONIST_DATA_DIR is unset (…/sectionist)",
    "SECTIONIST_S3_ENDPOINT": "endpoint URL of an S3-compatible service (MinIO, Ceph…)",
    "SECTIONIST_S3_CACHE_DIR": "base folder of the local read cache of s3:// stores",
    "XDG_CACHE_HOME": "cache base when SECTIONIST_S3_CACHE_DIR is unset (…/sectionist/s3)",
    "SECTIONIST_S3_CACHE_MB": "size limit of the read cache of one s3:// store in MiB (0: no cache)",
    "SECTIONIST_S3_CACHE_TTL": "seconds between two checks of an s3:// store's manifest version",
    "SECTIONIST_MODEL_DIR": "local model cache (pretrained embedding weights)",
    "SECTIONIST_BEHIND_PROXY": "trust one proxy's X-Forwarded-* headers (1/true/yes/on)",
    "SECTIONIST_SECURE_COOKIES": "always mark cookies Secure (1/true/yes/on)",
    "SECTIONIST_PLAYLIST_TTL": "how long a downloaded playlist's links play: seconds, or 30m, 12h, 7d (default 7d)",
    "SECTIONIST_MEDIA_CACHE_MB": "size limit in MiB of the web app's rendered media (spectrograms, section audio) "
                                 "on disk, shared by its workers (default 512; 0: none)",
}

#: Default size limit of the web app's rendered media on disk (MiB): :data:`Settings.media_cache_bytes`.
MEDIA_CACHE_MB = 512
#: How long a playlist link plays by default (seconds): 7 days.
PLAYLIST_TTL = 7 * 24 * 3600.0
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A setting has a value that cannot be used (the entry points report it like a bad option)."""


def _home() -> Path:
    return Path.home()


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$SECTIONIST_DATA_DIR``, else ``$XDG_DATA_HOME/sectionist``, else ``~/.local/share/sectionist``."""
    env = environ or {}
    if env.get("SECTIONIST_DATA_DIR"):
        return Path(env["SECTIONIST_DATA_DIR"]).expanduser()
    xdg = env.get("XDG_DATA_HOME")
    return (Path(xdg).expanduser() if xdg else _home() / ".local" / "share") / "sectionist"


def default_s3_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$SECTIONIST_S3_CACHE_DIR``, else ``$XDG_CACHE_HOME/sectionist/s3``, else ``~/.cache/sectionist/s3``."""
    env = environ or {}
    if env.get("SECTIONIST_S3_CACHE_DIR"):
        return Path(env["SECTIONIST_S3_CACHE_DIR"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else _home() / ".cache") / "sectionist" / "s3"


def sqlite_url(path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def store_db_url(store_uri, data_dir) -> str:
    """The default database of a store: ``<store>/sectionist.sqlite`` for a folder, or a SQLite file
    in ``<data_dir>/stores/`` (named after the URI) for a remote (``s3://``) store."""
    s = str(store_uri)
    if "://" in s:
        digest = hashlib.sha256(s.encode()).hexdigest()[:16]
        return sqlite_url(Path(data_dir) / "stores" / f"{digest}.sqlite")
    return sqlite_url(Path(s) / "sectionist.sqlite")


def command_database_url(settings: "Settings", store=None, db=None) -> str:
    """The user/judgement database of a command (``users``, ``judgements``, ``runs``, ``db``): the one
    ``serve`` uses with the same options (:meth:`Settings.database_url`), for a store folder or an
    ``s3://`` store alike (whose database is a SQLite file in the data folder, :func:`store_db_url`).

    Raises
    ------
    SettingsError
        ``store`` is a local folder that does not exist (and no ``db``), or no database is named at all.
    """
    if store and not db and "://" not in str(store) and not Path(store).expanduser().is_dir():
        raise SettingsError(f"{store}: no such store folder")
    url = settings.database_url()
    if not url:
        raise SettingsError("say which database: --db URL, --store DIR (or s3://bucket/prefix), or $SECTIONIST_DB_URL")
    return url


def parse_flag(name: str, value: str | None) -> bool | None:
    """An on/off environment variable: ``None`` when unset or empty."""
    if value is None or value.strip() == "":
        return None
    v = value.strip().lower()
    if v in TRUE_WORDS:
        return True
    if v in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}={value!r}: say 1/true/yes/on or 0/false/no/off")


def _number(name: str, value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        out = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: not a number") from None
    if not math.isfinite(out) or out < 0:
        raise SettingsError(f"{name}={value!r}: must be ≥ 0")
    return out


def parse_duration(name: str, value: str | None) -> float | None:
    """A duration: seconds (``3600``), or a number with ``s``, ``m``, ``h`` or ``d`` (``7d``); None when
    unset or empty. Must be more than 0."""
    if value is None or value.strip() == "":
        return None
    v = value.strip().lower()
    scale = _DURATION_UNITS.get(v[-1], 1)
    try:
        out = float(v[:-1] if v[-1] in _DURATION_UNITS else v) * scale
    except ValueError:
        out = math.nan
    if not math.isfinite(out) or out <= 0:
        raise SettingsError(f"{name}={value!r}: say a duration of more than 0: seconds, or 30m, 12h, 7d")
    return out


def _text(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name) or None


@dataclass(frozen=True)
class Settings:
    """Every setting of a run of the program (see the module docstring for the precedence).

    Attributes
    ----------
    store : str or None
        The store (``--store``, else ``$SECTIONIST_STORE``).
    db_url : str or None
        The user/judgement database as resolved; :meth:`database_url` adds the store's default.
    secret_key, secret_file : optional
        Session signing key, or the file that holds it (made on first use).
    data_dir : Path
        Folder for generated secrets and the databases of ``s3://`` stores.
    s3_endpoint, s3_region : str or None
        S3-compatible endpoint and region (None: the AWS chain).
    s3_cache : bool
        Read ``s3://`` stores through the local cache.
    s3_cache_dir : Path
        Base folder of that cache (one sub-folder per store).
    s3_cache_max_bytes, s3_cache_ttl : optional
        Its size limit per store and its manifest check interval (None: the store's defaults).
    model_dir : Path or None
        The model cache (None: the embedders' default, ``~/.cache/sectionist/models``).
    behind_proxy, secure_cookies : bool
        Web app: trust one proxy's ``X-Forwarded-*`` headers; always mark cookies Secure.
    playlist_ttl : float
        Web app: seconds a downloaded playlist's links play (:data:`PLAYLIST_TTL`).
    media_cache_bytes : int
        Web app: size limit of its rendered media on disk, in ``<data_dir>/media/`` (0: none).
    """

    store: str | None = None
    db_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    secret_file: Path | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_cache: bool = True
    s3_cache_dir: Path = field(default_factory=default_s3_cache_dir)
    s3_cache_max_bytes: int | None = None
    s3_cache_ttl: float | None = None
    model_dir: Path | None = None
    behind_proxy: bool = False
    secure_cookies: bool = False
    playlist_ttl: float = PLAYLIST_TTL
    media_cache_bytes: int = MEDIA_CACHE_MB << 20

    # ---- building -------------------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from environment variables alone (empty values count as unset).

        Raises
        ------
        SettingsError
            When a number or flag cannot be read.
        """
        env = dict(environ)
        mb = _number("SECTIONIST_S3_CACHE_MB", env.get("SECTIONIST_S3_CACHE_MB"))
        media_mb = _number("SECTIONIST_MEDIA_CACHE_MB", env.get("SECTIONIST_MEDIA_CACHE_MB"))
        secret_file = _text(env, "SECTIONIST_SECRET_FILE")
        model_dir = _text(env, "SECTIONIST_MODEL_DIR")
        return cls(
            store=_text(env, "SECTIONIST_STORE"),
            db_url=_text(env, "SECTIONIST_DB_URL"),
            secret_key=_text(env, "SECRET_KEY"),
            secret_file=Path(secret_file).expanduser() if secret_file else None,
            data_dir=default_data_dir(env),
            s3_endpoint=_text(env, "SECTIONIST_S3_ENDPOINT"),
            s3_cache=mb is None or mb > 0,
            s3_cache_dir=default_s3_cache_dir(env),
            s3_cache_max_bytes=int(mb * (1 << 20)) if mb else None,
            s3_cache_ttl=_number("SECTIONIST_S3_CACHE_TTL", env.get("SECTIONIST_S3_CACHE_TTL")),
            model_dir=Path(model_dir).expanduser() if model_dir else None,
            behind_proxy=bool(parse_flag("SECTIONIST_BEHIND_PROXY", env.get("SECTIONIST_BEHIND_PROXY"))),
            secure_cookies=bool(parse_flag("SECTIONIST_SECURE_COOKIES", env.get("SECTIONIST_SECURE_COOKIES"))),
            playlist_ttl=parse_duration("SECTIONIST_PLAYLIST_TTL", env.get("SECTIONIST_PLAYLIST_TTL")) or PLAYLIST_TTL,
            media_cache_bytes=int((MEDIA_CACHE_MB if media_mb is None else media_mb) * (1 << 20)),
        )

    @classmethod
    def resolve(cls, args, environ: Mapping[str, str]) -> Settings:
        """Settings of one command: its options (an ``argparse.Namespace``; absent attributes and
        ``None`` count as not given) over the environment over the defaults.

        The database: ``--db``, else the default database of ``--store``, else
        ``$SECTIONIST_DB_URL`` (else :meth:`database_url` falls back to ``$SECTIONIST_STORE``'s).
        """
        base = cls.from_env(environ)

        def opt(name):
            v = getattr(args, name, None) if args is not None else None
            return None if v is None or v == "" else v

        store, db = opt("store"), opt("db")
        changes = {}
        if store is not None:
            changes["store"] = str(store)
        if db is not None:
            changes["db_url"] = str(db)
        elif store is not None:
            changes["db_url"] = store_db_url(store, base.data_dir)
        for name, attr in (("s3_endpoint", "s3_endpoint"), ("s3_region", "s3_region")):
            if opt(name) is not None:
                changes[attr] = str(opt(name))
        return replace(base, **changes)

    # ---- what the layers below take -------------------------------------------------------------
    def database_url(self) -> str | None:
        """The user/judgement database: :attr:`db_url`, else the default database of :attr:`store`."""
        if self.db_url:
            return self.db_url
        return store_db_url(self.store, self.data_dir) if self.store else None

    def store_options(self) -> dict:
        """Keyword arguments for ``store.open_store(uri, **options)`` (used by ``s3://`` stores only)."""
        out: dict = {"cache": self.s3_cache, "cache_dir": self.s3_cache_dir}
        if self.s3_endpoint:
            out["endpoint_url"] = self.s3_endpoint
        if self.s3_region:
            out["region"] = self.s3_region
        if self.s3_cache_max_bytes is not None:
            out["cache_max_bytes"] = self.s3_cache_max_bytes
        if self.s3_cache_ttl is not None:
            out["cache_ttl"] = self.s3_cache_ttl
        return out

    def auth_options(self) -> dict:
        """Keyword arguments for ``sectionist.dashboard.auth.init_auth`` besides the database and the key."""
        return {"secret_file": self.secret_file, "data_dir": self.data_dir,
                "secure_cookies": self.secure_cookies, "behind_proxy": self.behind_proxy,
                "playlist_ttl": self.playlist_ttl}

    def media_options(self) -> dict:
        """Keyword arguments for ``sectionist.dashboard.app.create_app``: the size limit of its rendered
        media folder (``<data_dir>/media/<hash of the store's URI>``, :attr:`data_dir` from
        :meth:`auth_options`)."""
        return {"media_cache_bytes": self.media_cache_bytes}
