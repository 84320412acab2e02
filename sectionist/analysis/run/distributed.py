"""Per-song analysis on a Dask distributed cluster (``sectionist analyze --dask ADDRESS``).

``ADDRESS`` is ``local:N`` (a :class:`distributed.LocalCluster` of N worker processes on this
machine, loopback only) or the address of a running scheduler (``tcp://host:8786``). Each song is
one task running :func:`sectionist.analysis.run.song.analyze_song` on a worker; the worker returns the song's
table parts and the process that called ``analyze`` writes them to the store, song by song, in the
same order as a local run (parts first, the ``songs`` part last). So the resume, failure and
atomicity rules are exactly those of a local run: a song counts as done only once its ``songs``
part exists, a failure is reported with the file and its reason and the rest goes on, and an
interrupted run resumes where it stopped.

On a cluster of several machines the song files must be readable by the workers at the same path
(a shared folder); the store only needs to be reachable from the machine that runs ``analyze``
(a folder or ``s3://``). ``deploy/README.md`` describes a scheduler with N workers.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

from sectionist.analysis.errors import ParameterError

log = logging.getLogger(__name__)

_WORKER_READY = False


def parse_address(address: str) -> tuple[str, int | None]:
    """``("local", n)`` for ``local:N`` (``local`` alone: 2 workers), else ``(address, None)``.

    Raises
    ------
    ParameterError
        An address that is neither ``local[:N]`` nor ``tcp://``/``tls://``/``inproc://`` + host.
    """
    a = str(address).strip()
    if a == "local" or a.startswith("local:"):
        n = a.partition(":")[2] or "2"
        try:
            workers = int(n)
        except ValueError:
            raise ParameterError(f"--dask {address!r}: use local:N with N a number of worker processes") from None
        if not 1 <= workers <= 256:
            raise ParameterError(f"--dask {address!r}: N must be within 1–256")
        return "local", workers
    if a.split("://", 1)[0] in ("tcp", "tls", "inproc", "ucx") and "://" in a and a.split("://", 1)[1]:
        return a, None
    raise ParameterError(f"--dask {address!r}: use local:N or a scheduler address such as tcp://host:8786")


def worker_environ() -> dict:
    """The environment Dask's nannies give their worker processes, without ``MALLOC_TRIM_THRESHOLD_``.

    Dask sets it (65 536) so that workers hand freed memory back to the system; glibc then also stops
    adapting its mmap threshold, so every large NumPy temporary of the analysis is a fresh mmap
    (zeroed pages, page faults): the same songs took twice the CPU time in a Dask worker
    (2.1 → 4.2 s for 4 songs; the same slowdown with the variable set in a plain process).
    Workers of a remote cluster are started by their own ``dask worker`` command: deploy/README.md
    says to start them without it.
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


class _ClosingHeartbeatFilter(logging.Filter):
    """Drops ``distributed.worker``'s "Failed to communicate with scheduler during heartbeat" record.

    In a ``local:N`` cluster the scheduler lives in the analysing process, so a worker's heartbeat
    only fails as the cluster closes: an open upstream race (dask/distributed#7105, #8382) that
    printed an ERROR with a traceback at the end of runs that had written every song."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "during heartbeat" not in record.getMessage()


def quiet_closing_heartbeat() -> None:
    """In a ``local:N`` cluster's worker process: drop the closing-heartbeat record
    (:class:`_ClosingHeartbeatFilter`) from ``distributed.worker``'s log, once."""
    worker_log = logging.getLogger("distributed.worker")
    if not any(isinstance(f, _ClosingHeartbeatFilter) for f in worker_log.filters):
        worker_log.addFilter(_ClosingHeartbeatFilter())


def quiet_distributed_logs() -> None:
    """Give ``distributed``'s loggers the level of this process's root logger (WARNING unless ``-v``).

    Importing ``distributed`` sets its loggers to INFO (its ``logging`` configuration), and their records
    reach the handler ``sectionist`` installs: ``analyze --dask local:2`` printed about 30 INFO lines (the
    scheduler, each nanny and worker registering) without ``-v``."""
    logging.getLogger("distributed").setLevel(logging.getLogger().getEffectiveLevel())


@contextmanager
def dask_client(address: str):
    """A :class:`distributed.Client` for ``address`` (see :func:`parse_address`), closed on exit."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ParameterError("--dask needs the 'distributed' package (pip install 'dask[distributed]')") from None
    quiet_distributed_logs()
    kind, n = parse_address(address)
    cluster = None
    # LocalCluster writes its workers' settings (OPENBLAS_NUM_THREADS=1, PYTHONHASHSEED, …) into this
    # process's environment; they would leak into everything started later here (e.g. a local
    # process pool computing with other thread counts), so the environment is put back
    saved_environ = dict(os.environ)
    try:
        if kind == "local":
            # worker processes (the GIL-bound parts of decoding and features need them), one thread each;
            # loopback only, no web dashboard; without Dask's MALLOC_TRIM_THRESHOLD_ (worker_environ)
            with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}):
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        else:
            client = Client(kind, timeout="20s")
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ParameterError(f"--dask {address}: cannot reach the scheduler ({exc})") from None
    finally:
        _restore_environ(saved_environ)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        _restore_environ(saved_environ)


def _restore_environ(saved: dict) -> None:
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    os.environ.update(saved)


def _song_task(work, init, path, song_id, digest, cfg):
    """The task a worker runs: ``init()`` once per worker process, then ``work(path, song_id, digest, cfg)``."""
    global _WORKER_READY
    if not _WORKER_READY:
        init()
        _WORKER_READY = True
    return work(path, song_id, digest, cfg)


def run_songs(client, todo, cfg, *, work, init, lost):
    """Submit one task per song and yield each result as it finishes.

    Parameters
    ----------
    client : distributed.Client
    todo : list of (path, song_id, digest)
    cfg : AnalysisConfig
    work : callable
        ``work(path, song_id, digest, cfg) -> SongResult``, run on a worker (a module-level
        function, so that it pickles by reference: :func:`sectionist.analysis.run.song.run_song`).
    init : callable
        Run once in each worker process before its first song (thread settings).
    lost : callable
        ``lost(path, song_id, reason) -> SongResult`` for a song whose task was lost (its worker
        died, e.g. out of memory, more often than the scheduler's retry allowance): it is reported
        as failed with that reason and the rest go on.
    """
    from distributed import as_completed

    futures = {}
    for path, song_id, digest in todo:
        fut = client.submit(_song_task, work, init, path, song_id, digest, cfg,
                            key=f"sectionist-song-{song_id}-{time.time_ns()}", pure=False, retries=1)
        futures[fut] = (path, song_id)
    try:
        for fut in as_completed(list(futures)):
            path, song_id = futures[fut]
            try:
                yield fut.result()
            except Exception as exc:  # KilledWorker, a lost connection: report the song, go on
                reason = f"worker lost while analysing it ({type(exc).__name__}: {exc})"
                log.warning("%s: %s", path, reason)
                yield lost(str(Path(path)), song_id, reason)
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
