"""Background jobs an admin starts from a page: the sound tracks of songs, the saliency maps of a run.

Some results the pages show are not made by ``analyze`` (they cost more than a default analysis
should): the Songs page's Sounds view (:mod:`sectionist.analysis.sections.soundtracks`) and the
Clusters page's "What the network listens to" (:mod:`sectionist.analysis.embeddings.saliency`).
Instead of telling people to run a command, the page offers an admin a button that starts the
job here, shows its progress, and shows the result when it is done; so does the Judgements page's
``guide`` (``sectionist guide RUN``: a guided version from the experts' answers, the app's
database passed in the environment). One kind is started by an
expert's action instead: ``structure`` (``sectionist segment --constraints …``), the recompute of a
song's structure after a correction (:mod:`sectionist.dashboard.judging.structure_routes`).

**One subprocess per job.** A job runs ``sectionist <command> --store …``, the same command an
operator would type (the ``sectionist`` script installed beside the web app's Python), so librosa
and PyTorch are imported by that process only and never by the web workers
(``tests/test_web_imports.py``), and the web process imports nothing of the command line; a job
outlives a web worker that restarts.

**State on disk, so every worker sees it.** Under gunicorn each request may reach another worker
process, so nothing about a job is kept in memory. Each kind has a folder
``<folder>/<kind>/`` holding

- ``lock``: an exclusive ``flock`` on it is held while the job runs (by the starting worker and,
  through an inherited descriptor, by the job's process: it ends only when both let go), so a
  second start of the same kind is refused — one job per store and kind at a time;
- ``job.json``: what runs (kind, arguments, who started it, when);
- ``output.log``: the job's stdout and stderr; its progress is read from the last ``n/total`` of the
  command's progress bar (tqdm), its error from its last ``error: …`` line;
- ``result.json``: the exit status and end time, written by the starting worker when the process
  ends. A job whose lock is free but has no result stopped unseen (the server restarted while it
  ran): it is reported as lost.

:class:`JobRunner` is made once per app (``create_app`` puts it in ``flask_app.extensions[JOBS_KEY]``);
its methods return :class:`JobState` (codes and numbers, no text for people:
:mod:`sectionist.dashboard.ui.components.jobs` says them in the reader's language).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sectionist.analysis.errors import ParameterError
from sectionist.store.fileio import atomic_write

#: Key of the :class:`JobRunner` in ``flask_app.extensions``.
JOBS_KEY = "sectionist_jobs"
#: The kinds of job and the ``sectionist`` command each runs.
KINDS = {"tracks": "tracks", "saliency": "saliency", "structure": "segment", "guide": "guide"}
#: What a state's ``status`` can be.
STATUSES = ("idle", "running", "done", "failed", "lost")
#: Bytes of the end of ``output.log`` read for the progress and the error.
TAIL_BYTES = 16_384

_PROGRESS_RE = re.compile(r"(\d+)/(\d+) \[")
# a quoted command in an error message ("run 'sectionist analyze' first"): the pages show no commands
_COMMAND_HINT_RE = re.compile(r"\s*\([^()]*'sectionist [^()]*\)")


@dataclass(frozen=True)
class JobState:
    """Where the job of one kind stands.

    Attributes
    ----------
    kind : str
    status : str
        ``"idle"`` (never started), ``"running"``, ``"done"`` (exit status 0), ``"failed"``, ``"lost"``
        (stopped without a result: the server restarted while it ran).
    done, total : int or None
        Progress of the command's progress bar (songs for ``tracks``, sections for ``saliency``);
        None before the bar appears.
    reason : str
        For a failed job, the command's error (English, as the command says it, without the
        commands it suggests); else ``""``.
    job_id, user, started_at, ended_at, args
        From ``job.json`` and ``result.json`` (``""``, ``0.0`` and ``{}`` when absent).
    """

    kind: str
    status: str = "idle"
    done: int | None = None
    total: int | None = None
    reason: str = ""
    job_id: str = ""
    user: str = ""
    started_at: float = 0.0
    ended_at: float = 0.0
    args: dict = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.status == "running"


class JobBusy(ParameterError):
    """A job of this kind is running already."""


class JobRunner:
    """Starts and reports the background jobs of one store.

    Parameters
    ----------
    store_uri : str
        The store the jobs write to (``--store``).
    folder : str or Path
        Where the jobs' state lives (one sub-folder per kind; made when needed).
    store_options : dict, optional
        The app's store options: ``endpoint_url`` and ``region`` are passed on as ``--s3-endpoint`` and
        ``--s3-region``.
    program : str, optional
        The ``sectionist`` command (default: :func:`sectionist_program`).
    """

    def __init__(self, store_uri, folder, *, store_options: dict | None = None, program: str | None = None):
        self.store_uri = str(store_uri)
        self.folder = Path(folder)
        self.store_options = dict(store_options or {})
        self.program = program

    # ---- paths ---------------------------------------------------------------------------------
    def _dir(self, kind: str) -> Path:
        if kind not in KINDS:
            raise ParameterError(f"unknown job kind {kind!r}; kinds: {', '.join(KINDS)}")
        return self.folder / kind

    def command(self, kind: str, args: dict) -> list[str]:
        """The command line of a job: ``sectionist <command> --store …`` and its options (``tracks``:
        ``songs``, a list of song ids; ``saliency``: ``run``, one run id; ``structure``: ``scheme`` and
        the ``constraints`` and ``boundaries`` CSV files of every current correction of the songs named
        there, :mod:`sectionist.dashboard.judging.structure_routes`)."""
        if kind not in KINDS:
            raise ParameterError(f"unknown job kind {kind!r}; kinds: {', '.join(KINDS)}")
        # a guide job names its store in the environment (start): a --store option would make the
        # command read that store's default database instead of the app's, $SECTIONIST_DB_URL
        argv = [self.program or sectionist_program(), KINDS[kind]] + ([] if kind == "guide" else ["--store", self.store_uri])
        if self.store_options.get("endpoint_url"):
            argv += ["--s3-endpoint", str(self.store_options["endpoint_url"])]
        if self.store_options.get("region"):
            argv += ["--s3-region", str(self.store_options["region"])]
        if kind == "tracks":
            songs = [str(s) for s in (args.get("songs") or [])]
            if songs:
                argv += ["--songs", *songs]
        elif kind == "saliency":
            run = args.get("run")
            if not run:
                raise ParameterError("a saliency job needs a run id")
            argv += ["--run", str(run)]
        elif kind == "guide":  # a guided version of a run from the experts' answers (docs/guided.md)
            run = args.get("run")
            if not run:
                raise ParameterError("a guide job needs a run id")
            argv += [str(run), "--newest-wins"]
        elif kind == "structure":
            if not args.get("scheme") or not args.get("constraints") or not args.get("boundaries"):
                raise ParameterError("a structure job needs a scheme and its two correction files")
            argv += ["--scheme", str(args["scheme"]), "--constraints", str(args["constraints"]),
                     "--boundaries", str(args["boundaries"]), "--no-inherit", "-q"]
        return argv

    # ---- start ---------------------------------------------------------------------------------
    def start(self, kind: str, args: dict, *, user: str = "", env: dict | None = None) -> JobState:
        """Start a job of ``kind`` in the background and return its state (``running``). ``env``: more
        environment variables for the command (a ``guide`` job's ``SECTIONIST_DB_URL``: the app's
        database, never on the command line, where other users of the machine could read it).

        Raises
        ------
        JobBusy
            A job of this kind is running (one per store and kind at a time).
        ParameterError
            An unknown kind, or arguments the kind needs are missing.
        """
        argv = self.command(kind, args)
        if kind == "guide":
            env = {**(env or {}), "SECTIONIST_STORE": self.store_uri}
        folder = self._dir(kind)
        folder.mkdir(parents=True, exist_ok=True)
        lock = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            raise JobBusy(f"a {kind} job is running already") from None
        try:
            job = {"job_id": uuid.uuid4().hex, "kind": kind, "args": args, "user": str(user or ""),
                   "started_at": time.time(), "argv": argv}
            _write_json(folder / "result.json", None)
            _write_json(folder / "job.json", job)
            log = open(folder / "output.log", "wb")
            env = dict(os.environ, PYTHONUNBUFFERED="1", **{str(k): str(v) for k, v in (env or {}).items()})
            try:
                # the lock travels with the process (pass_fds): it is held until the job ends even if
                # this worker goes first; a new session, so a restart of the server leaves it running
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        env=env, pass_fds=(lock,), start_new_session=True)
            except OSError as exc:
                log.write(f"error: cannot start {argv[0]}: {exc}\n".encode())
                log.close()
                _write_json(folder / "result.json", {"returncode": -1, "ended_at": time.time()})
                os.close(lock)
                return self.state(kind)
            log.close()
        except BaseException:
            os.close(lock)
            raise
        threading.Thread(target=_wait, args=(proc, lock, folder), name=f"sectionist-job-{kind}", daemon=True).start()
        return self.state(kind)

    # ---- state ---------------------------------------------------------------------------------
    def state(self, kind: str) -> JobState:
        """Where the job of ``kind`` stands (read from disk: any worker answers the same)."""
        folder = self._dir(kind)
        job = _read_json(folder / "job.json")
        if not job:
            return JobState(kind)
        common = {"job_id": str(job.get("job_id", "")), "user": str(job.get("user", "")),
                  "started_at": float(job.get("started_at") or 0.0), "args": dict(job.get("args") or {})}
        tail = _tail(folder / "output.log")
        done, total = progress_of(tail)
        if _locked(folder / "lock"):
            return JobState(kind, "running", done, total, **common)
        result = _read_json(folder / "result.json")
        if not result:
            return JobState(kind, "lost", done, total, reason=error_of(tail), **common)
        rc = int(result.get("returncode", -1))
        ended = float(result.get("ended_at") or 0.0)
        if rc == 0:
            return JobState(kind, "done", done, total, ended_at=ended, **common)
        return JobState(kind, "failed", done, total, reason=error_of(tail) or f"exit status {rc}", ended_at=ended,
                        **common)


def _wait(proc: subprocess.Popen, lock: int, folder: Path) -> None:
    """Wait for a job's process, write its result, then let go of the lock (in that order: a reader
    that finds the lock free finds the result too)."""
    try:
        rc = proc.wait()
        _write_json(folder / "result.json", {"returncode": int(rc), "ended_at": time.time()})
    finally:
        os.close(lock)


def _locked(path: Path) -> bool:
    """Whether someone holds the exclusive lock on ``path`` (taken and dropped at once when free)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock this call may have taken
    return False


def _write_json(path: Path, obj) -> None:
    if obj is None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        return
    atomic_write(path, lambda fh: fh.write(json.dumps(obj).encode()), fsync=False)


def _read_json(path: Path) -> dict:
    try:
        out = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return out if isinstance(out, dict) else {}


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - TAIL_BYTES))
            return fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def progress_of(output: str) -> tuple[int | None, int | None]:
    """``(done, total)`` of the last progress-bar update in a command's output (tqdm writes
    ``" 2/5 ["``), or ``(None, None)``."""
    found = _PROGRESS_RE.findall(output or "")
    if not found:
        return None, None
    done, total = (int(x) for x in found[-1])
    return done, total


def error_of(output: str) -> str:
    """The error a command reported in its output: its last ``error: …`` line, else its last
    ``failed …`` line (a song that could not be read), else ``""``; without the commands it
    suggests (the pages name none)."""
    lines = [ln.strip() for ln in re.split(r"[\r\n]+", output or "") if ln.strip()]
    for prefix in ("error: ", "failed "):
        hits = [ln for ln in lines if ln.startswith(prefix)]
        if hits:
            text = hits[-1][len("error: "):] if prefix == "error: " else hits[-1]
            return plain_reason(text)
    return ""


def plain_reason(text: str) -> str:
    """An error message without the commands it suggests: a parenthesis naming a ``'sectionist …'``
    command goes, and so does a ``; …`` clause naming one."""
    text = _COMMAND_HINT_RE.sub("", str(text))
    return "; ".join(p for p in re.split(r";\s+", text) if "'sectionist " not in p).strip()


def sectionist_program() -> str:
    """The ``sectionist`` command installed with this Python (its ``bin`` folder), else the one on
    ``PATH``. Raises :class:`ParameterError` when there is none."""
    here = Path(sys.executable).parent / "sectionist"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    found = shutil.which("sectionist")
    if found is None:
        raise ParameterError(f"the sectionist command is not installed beside {sys.executable} nor on PATH")
    return found


def default_folder(store_uri, data_dir) -> Path:
    """The jobs folder of a store: ``<data_dir>/jobs/<hash of the store's URI>``."""
    return Path(data_dir) / "jobs" / hashlib.sha256(str(store_uri).encode()).hexdigest()[:16]


def get_jobs() -> JobRunner:
    """The :class:`JobRunner` of the app serving the request."""
    import flask

    return flask.current_app.extensions[JOBS_KEY]
