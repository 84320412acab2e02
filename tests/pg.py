"""A throwaway PostgreSQL server for tests, from Debian's packages, on loopback.

``initdb`` into a fresh temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1 with its
unix socket in that folder, one database, then ``pg_ctl stop`` and the folder removed. Debian keeps
the binaries in ``/usr/lib/postgresql/<version>/bin``. PostgreSQL refuses to run as root, so when
the tests run as root (CI) the server runs as the ``postgres`` user (or ``$SECTIONIST_PG_USER``)
through ``runuser``.

Usage::

    with PostgresServer() as pg:
        url = pg.url            # postgresql+psycopg://sectionist@127.0.0.1:PORT/sectionist
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed (run ``make system``)."""


def find_bin_dir() -> Path:
    """The ``bin`` folder of the newest PostgreSQL installed from Debian's packages."""
    env = os.environ.get("SECTIONIST_PG_BIN")
    candidates = [env] if env else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name.split(".")[0]) if Path(p).parent.name.split(".")[0].isdigit() else 0
    )
    for c in reversed(candidates):
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: install them with "
        "'make system' (scripts/install-system-deps.sh installs the Debian package 'postgresql')"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """Start a private PostgreSQL on 127.0.0.1 (see module docstring)."""

    def __init__(self, dbname: str = "sectionist", user: str = "sectionist"):
        self.bin = find_bin_dir()
        self.dbname, self.user = dbname, user
        self.port = free_port()
        self.root: Path | None = None
        self._as: list[str] = []
        self._owner = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.dbname}"

    def _run(self, *args, check=True, timeout=120):
        cmd = [*self._as, str(self.bin / args[0]), *map(str, args[1:])]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
        if check and res.returncode != 0:
            log = ""
            if self.root is not None and (self.root / "server.log").exists():
                log = (self.root / "server.log").read_text()[-2000:]
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}\n{log}")
        return res

    def start(self) -> "PostgresServer":
        # /tmp is traversable by everyone, so the unprivileged server user can reach the folder
        self.root = Path(tempfile.mkdtemp(prefix="sectionist-pg-", dir="/tmp"))
        if os.geteuid() == 0:
            name = os.environ.get("SECTIONIST_PG_USER", "postgres")
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                raise PostgresUnavailable(f"running as root and there is no user {name!r} to run PostgreSQL as") from None
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", name, "--"]
        os.chmod(self.root, 0o700)
        data = self.root / "data"
        self._run("initdb", "-D", data, "-A", "trust", "-U", self.user, "-E", "UTF8", "--no-sync", "--no-instructions")
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB"
        )
        self._run("pg_ctl", "-D", data, "-o", opts, "-l", self.root / "server.log", "-w", "-t", "60", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", self.port, "-U", self.user, self.dbname)
        return self

    def create_database(self, name: str) -> str:
        """Create another database on this server; return its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", self.port, "-U", self.user, name)
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.root / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop", check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
