"""Issue 24.11: a song's numbers, and the maps fitted on them, do not depend on what analysed it.

In one process the analysis ran its BLAS on the machine's threads (2 here), in a pool or Dask worker
on ``cores // workers`` (1 here): float32 features and mel spectra differed in their last bits, and
t-SNE and UMAP amplified that into maps up to 26 units apart. Every song is now computed on one BLAS
thread and the maps on one thread layout (``sectionist.analysis.threads``).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.run.pipeline import analyze
from sectionist.store import open_store
from tests.conftest import click_track, tone, write_audio


def _compare_stores():
    """``scripts/compare_stores.py`` (a script, not a module of the package), loaded by path."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "compare_stores.py"
    spec = importlib.util.spec_from_file_location("compare_stores", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _differences(root_a: Path, root_b: Path, tables) -> list[str]:
    """The parts of ``tables`` that are not in both stores, or differ outside the time columns."""
    cs = _compare_stores()
    out = []
    for table in tables:
        a, b = cs.parts(root_a / table), cs.parts(root_b / table)
        assert a, f"no {table} parts"
        out += [f"{table}/{rel}: only in one store" for rel in sorted(set(a) ^ set(b))]
        for rel in sorted(set(a) & set(b)):
            cols = set(cs.differing_columns(pq.read_table(a[rel]), pq.read_table(b[rel]))) - cs.TIME_COLUMNS
            if cols:
                out.append(f"{table}/{rel}: {sorted(cols)}")
    return out


def test_one_process_a_pool_and_dask_give_the_same_store(tmp_path):
    songs = tmp_path / "songs"
    sr = 22050
    for i in range(4):
        y = click_track(bpm=96 + 11 * i, seconds=16.0, sr=sr) + tone(180 + 70 * i, 16.0, sr, amp=0.15)
        y[: sr * 8] += tone(660 + 40 * i, 8.0, sr, amp=0.1)  # two different halves: two sections apart
        write_audio(songs / f"song{i}.wav", y, sr)
    cfg = dict(embed=False, section_seconds=4.0, min_section_seconds=2.0)
    # this process as on a machine of 2 cores or more (BLAS on 2 threads), whatever this one has: the
    # workers of both pools get cores // 2 (1 on 2 cores, 4 on 8)
    with threadpool_limits(limits=2, user_api="blas"):
        analyze([songs], open_store(tmp_path / "one"), AnalysisConfig(**cfg), progress=False)
    analyze([songs], open_store(tmp_path / "pool"), AnalysisConfig(workers=2, **cfg), progress=False)
    analyze([songs], open_store(tmp_path / "dask"), AnalysisConfig(dask="local:2", **cfg), progress=False)
    tables = ("sections", "features", "melspec", "segments", "clusterings", "clusters", "projections",
              "centroid_projections")
    assert _differences(tmp_path / "one", tmp_path / "pool", tables) == []
    assert _differences(tmp_path / "one", tmp_path / "dask", tables) == []


def test_a_songs_numbers_do_not_depend_on_the_callers_blas_threads(tmp_path):
    """``run_song`` fixes the layout itself: the caller's BLAS threads (a worker's share of the cores,
    or this process's default) change nothing."""
    from sectionist.analysis.run.song import run_song

    sr = 22050
    path = write_audio(tmp_path / "song.wav", click_track(bpm=117, seconds=30.0, sr=sr) + tone(310, 30.0, sr, amp=0.2), sr)
    cfg = AnalysisConfig(embed=False, cluster=False)
    runs = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            runs.append(run_song(path, "s", "d", cfg))
    assert runs[0].status == runs[1].status == "ok"
    assert runs[0].parts.keys() == runs[1].parts.keys()
    for key, table in runs[0].parts.items():
        assert table.equals(runs[1].parts[key]), key[0].name


def test_the_map_fit_does_not_depend_on_the_callers_blas_threads():
    from sectionist.analysis.modeling.projection import Projector

    X = np.random.default_rng(1).normal(size=(300, 60)).astype(np.float32)
    fits = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            proj = Projector("tsne", 2, random_state=0).fit(X)
            fits.append((proj.embedding_, proj.transform(X[:5])))
    np.testing.assert_array_equal(fits[0][0], fits[1][0])
    np.testing.assert_array_equal(fits[0][1], fits[1][1])
