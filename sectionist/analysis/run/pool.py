"""The worker processes of ``sectionist analyze``: how many threads each gets, the forkserver that
starts them ready (:func:`pool_context`), and what each does before its first song (:func:`init_worker`)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from sectionist.analysis.corpus.audio import probe
from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.run.cpu import available_cores
from sectionist.analysis.run.song import embedder
from sectionist.analysis.errors import SectionistError

log = logging.getLogger(__name__)

#: The thread-pool limits of this worker process (kept alive: dropping them restores the defaults).
_THREAD_LIMITS = []


def worker_threads(workers: int, cores: int | None = None) -> int:
    """Threads each of ``workers`` processes gets for BLAS and the network: the machine's cores
    shared out (at least one), so that the processes together never ask for more threads than
    there are cores (oversubscribed BLAS threads spin against each other)."""
    cores = cores or available_cores()
    return max(1, cores // max(1, workers))


#: Modules the worker processes' forkserver imports once (see :func:`pool_context`).
WORKER_PRELOAD = ("sectionist.analysis.run.pool", "sectionist.analysis.run.song", "sectionist.analysis.sections.features",
                  "sectionist.analysis.sections.spectrum", "sectionist.analysis.sections.timbre",
                  "sectionist.analysis.structure.writer", "sectionist.analysis.embeddings.musicnn",
                  "librosa.beat", "librosa.onset", "librosa.feature", "librosa.segment", "scipy.linalg",
                  "scipy.signal", "sklearn.cluster", "pyarrow.parquet")


def pool_context():
    """The :mod:`multiprocessing` context of the analysis's worker pool.

    Where there is a forkserver (Linux), that: the server process imports :data:`WORKER_PRELOAD` once
    and each worker is forked from it ready, instead of importing everything again and compiling
    librosa's numba beat tracker (whose local-score kernel is not cached) before its first song, as
    spawned workers did: 2.1 s more for its first song and 0.8 s of start per worker. Nothing has
    run a thread pool in the server, so forking it is safe. Elsewhere, ``spawn``.
    """
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(WORKER_PRELOAD))
    return ctx


def pool_likely(files: list[Path], cfg: AnalysisConfig) -> bool:
    """Whether ``analyze`` will probably start a worker pool for ``files``: ``workers`` > 1, or by
    default enough audio (file headers read until :data:`~sectionist.analysis.run.config.POOL_MIN_AUDIO_S` is
    reached; songs already analysed are not known yet, so a pool may turn out not to be needed)."""
    from sectionist.analysis.run.config import POOL_MIN_AUDIO_S

    if cfg.workers is not None:
        return cfg.workers > 1
    if cfg.worker_count(len(files), 10 * POOL_MIN_AUDIO_S) < 2:
        return False  # one core
    total = 0.0
    for p in files:
        total += duration_hint(p)
        if total >= POOL_MIN_AUDIO_S:
            return True
    return False


def start_pool_server() -> None:
    """Start the forkserver of :func:`pool_context` now (it returns at once; the server imports in the
    background), so that its imports overlap other work; nothing where there is none."""
    if pool_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def init_worker(threads: int = 1, embedders: tuple = (), device: str = "cpu"):
    """Limit a worker process's BLAS/OpenMP pools and torch to ``threads`` threads and its section
    features to one block at a time (:func:`~sectionist.analysis.sections.features.set_default_threads`),
    then load the ``embedders`` (their weights are read once per worker, while the other workers
    already decode). A song itself runs on one thread whatever this sets
    (:func:`~sectionist.analysis.run.song.analyze_song`, :func:`sectionist.analysis.threads.one_thread`),
    so that a worker of any share of the cores computes the numbers one process does.

    Setting ``OMP_NUM_THREADS`` is not enough once NumPy is imported (its BLAS read it already, and
    unpickling the task imports NumPy before this runs): threadpoolctl changes the live pools. It
    only sees the pools loaded when it is called, so SciPy's own OpenBLAS (eigh, the CQT's linear
    algebra) and scikit-learn's OpenMP are loaded first: left unlimited they ran 2 threads in each of
    2 workers, and a song took 0.58 s in a worker of 2 against 0.52 s in one single-threaded process.
    """
    os.environ["OMP_NUM_THREADS"] = str(threads)
    from threadpoolctl import threadpool_limits

    from sectionist.analysis.threads import load_thread_pools

    load_thread_pools()

    _THREAD_LIMITS.append(threadpool_limits(limits=threads))
    if "torch" in sys.modules:  # else torch, if an embedder imports it later, reads OMP_NUM_THREADS
        sys.modules["torch"].set_num_threads(threads)  # (the NumPy musicnn never does: importing it cost 0.9 s)
    from sectionist.analysis.sections.features import set_default_threads

    set_default_threads(1)  # the section features' blocks one at a time: the workers share the cores out
    for name in embedders:
        try:
            embedder(name, device)
        except Exception:  # checked in the parent already; a song that needs it reports the error
            log.warning("worker could not preload embedder %s", name, exc_info=True)


def init_local_dask_worker(threads: int) -> None:
    """A ``--dask local:N`` worker before its first song: :func:`init_worker`, and the closing
    heartbeat's error record dropped (:func:`sectionist.analysis.run.distributed.quiet_closing_heartbeat`)."""
    from sectionist.analysis.run.distributed import quiet_closing_heartbeat

    init_worker(threads)
    quiet_closing_heartbeat()


def duration_hint(path: Path) -> float:
    """The file's duration from its header (0 when unreadable: the song itself will report why)."""
    try:
        return probe(path).duration_s
    except (SectionistError, OSError, ValueError, RuntimeError):
        return 0.0

