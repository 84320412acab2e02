"""The one thread layout of every stored number: a song's analysis and a map's fit run with their
BLAS, OpenMP and torch thread pools on one thread (:func:`one_thread`), whichever process runs them.

BLAS splits a product's sums by thread, so the same song gave other float32 features, mel spectra
and musicnn frames (up to ~1e-4 on features of a few thousand, ~1e-6 on frames) in one process (BLAS
on the machine's cores) than in a pool or Dask worker (on ``cores // workers``), and t-SNE and UMAP
amplified those last bits into maps up to 26 units apart (issue 24.11). Parallelism comes from songs
in parallel (the worker processes) and from a song's feature blocks (Python threads each running
single-threaded BLAS: the same numbers in any number of threads).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

#: One list of undo actions per :func:`one_thread` in force in this process (innermost last).
_ACTIVE: list[list] = []


def load_thread_pools() -> None:
    """Load the thread pools a limit must reach: threadpoolctl changes only the pools loaded when it
    is called, and NumPy's and SciPy's OpenBLAS and scikit-learn's OpenMP load on import."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import sklearn.cluster  # noqa: F401


@contextmanager
def one_thread():
    """Run the body with every BLAS/OpenMP pool of this process, and torch, on one thread; put back
    what was there before on exit. Pools a library loads during the body (torch imported when an
    embedder is built) are covered by :func:`cover_new_pools`.

    Setting ``OMP_NUM_THREADS`` would not do (the pools read it when they load); threadpoolctl changes
    the live pools, those loaded when it is called: NumPy's and SciPy's OpenBLAS and scikit-learn's
    OpenMP are loaded first. torch's intra-op threads are its own setting (and, with OpenMP, the
    calling thread's: the body runs in the thread that entered).
    """
    from threadpoolctl import threadpool_limits

    load_thread_pools()
    undo: list = []
    with threadpool_limits(limits=1):
        _ACTIVE.append(undo)
        try:
            _torch_on_one_thread(undo)
            yield
        finally:  # before threadpoolctl puts the pools back, so that its values are the last word
            _ACTIVE.pop()
            for action in reversed(undo):
                action()


def cover_new_pools() -> None:
    """Inside :func:`one_thread`: put the pools loaded since it began (a library imported by the
    body) on one thread too, until it ends. Nothing outside it."""
    if not _ACTIVE:
        return
    from threadpoolctl import threadpool_limits

    undo = _ACTIVE[-1]
    limits = threadpool_limits(limits=1)
    undo.append(limits.restore_original_limits)
    _torch_on_one_thread(undo)


def _torch_on_one_thread(undo: list) -> None:
    torch = sys.modules.get("torch")
    if torch is None or getattr(torch, "set_num_threads", None) is None:
        return  # never imported here (the NumPy musicnn does not), or partly initialised
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
        undo.append(lambda: torch.set_num_threads(before))
