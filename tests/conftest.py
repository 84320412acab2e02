"""Shared fixtures: seeded randomness, synthetic signals, a small demo corpus and its analysed store.

Helpers for areas of the suite live in their own modules (``tests/*_helpers.py``, ``tests/s3_fixtures.py``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# keep BLAS and numba from oversubscribing the 2-core CI machine
os.environ.setdefault("OMP_NUM_THREADS", "2")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def rng():
    return np.random.default_rng(20261121)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny batches: one torch thread avoids OpenMP spin-waiting when the CI cores are shared.

    A module opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def musicnn_cache():
    """The model cache with the musicnn checkpoints (fetched from PyPI once if absent, as `make models`)."""
    from sectionist.analysis.embeddings import modelcache

    return modelcache.fetch_musicnn()


def tone(freq=440.0, seconds=3.0, sr=22050, amp=0.5, channels=1):
    """A sine tone [shape=(n,) or (n, channels)], float32."""
    t = np.arange(int(round(seconds * sr))) / sr
    y = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return y if channels == 1 else np.repeat(y[:, None], channels, axis=1)


def click_track(bpm=120.0, seconds=20.0, sr=22050, freq=1000.0):
    """Short decaying clicks on every beat, plus a quiet tone so the file is never silent."""
    y = 0.05 * tone(220.0, seconds, sr)
    n = int(0.03 * sr)
    burst = (np.sin(2 * np.pi * freq * np.arange(n) / sr) * np.exp(-np.arange(n) / (0.005 * sr))).astype(np.float32)
    for t in np.arange(0.5, seconds - 0.1, 60.0 / bpm):
        i = int(t * sr)
        y[i:i + n] += 0.8 * burst[: len(y) - i]
    return y


def write_audio(path, y, sr, **kw):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y, sr, **kw)
    return path


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server on loopback for the whole session (tests/pg.py)."""
    from pg import PostgresServer

    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory):
    """Four 60-second demo songs (WAV + ground-truth JSON), made once per test session."""
    from sectionist.analysis.corpus.demo import make_corpus

    d = tmp_path_factory.mktemp("demo-corpus")
    paths = make_corpus(d, n_songs=4, seconds=60.0, seed=0, progress=False)
    return d, paths


@pytest.fixture(scope="session")
def demo_store(demo_corpus, tmp_path_factory):
    """The demo corpus analysed with the default settings (features, musicnn, default clusterings).

    Read-only for tests: copy it (``copy_store``) before changing it.
    """
    from sectionist.analysis.run.config import AnalysisConfig
    from sectionist.analysis.run.pipeline import analyze
    from sectionist.store import open_store

    d, _ = demo_corpus
    root = tmp_path_factory.mktemp("demo-store") / "store"
    store = open_store(root)
    analyze([d], store, AnalysisConfig(), progress=False)
    return store


def copy_store(store, dest):
    shutil.copytree(store.root, dest)
    from sectionist.store import open_store

    return open_store(dest, create=False)
