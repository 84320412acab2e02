"""``sectionist repair`` rebuilds each kind of damaged part from the unit that wrote it (issue 24, item 1).

Every test damages parts of a copy of the analysed demo store (cut to half their size), repairs it, and
checks that each repaired part holds exactly the values ``analyze`` wrote (compared before the damage),
that ``sectionist check`` is clean afterwards, and that no other file of the store was written (bytes
compared); parts that cannot be rebuilt exactly are refused with the reason, nothing written.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from conftest import copy_store

from sectionist.cli import main
from sectionist.store.check import check_store


def cut(store, key: str) -> None:
    path = store.local_path(key)
    os.truncate(path, path.stat().st_size // 2)


def files(store) -> dict:
    """Bytes, inode and modification time of every file of the store but the manifest (an atomic rewrite
    with the same bytes is a new inode: written over)."""
    out = {}
    for k in store.list(""):
        if k != "manifest.json":
            st = store.local_path(k).stat()
            out[k] = (store.read_bytes(k), st.st_ino, st.st_mtime_ns)
    return out


def damage(store, keys) -> tuple[dict, dict]:
    """Cut ``keys``; returns their values before and the bytes of every other file."""
    values = {k: pd.read_parquet(store.local_path(k)) for k in keys}
    others = {k: b for k, b in files(store).items() if k not in keys}
    for k in keys:
        cut(store, k)
    assert set(check_store(store).damaged) == set(keys)
    return values, others


def assert_repaired(store, values: dict, others: dict, out: str) -> None:
    for key, df in values.items():
        assert f"repaired {key}" in out
        pd.testing.assert_frame_equal(pd.read_parquet(store.local_path(key)), df, check_exact=True)
    assert "whole again" in out
    assert main(["check", "--store", store.uri]) == 0
    now = files(store)
    assert {k: now[k] for k in others} == others  # nothing but the damaged parts written


@pytest.fixture
def store(demo_store, tmp_path):
    return copy_store(demo_store, tmp_path / "store")


def test_repair_rebuilds_maps_centroids_run_parts_and_comparisons(store, capsys):
    comps = store.list_parts("comparisons")
    keys = [
        "projections/classical17/tsne2.parquet",  # t-SNE's fitted coordinates: kept by its saved projector
        "projection_info/musicnn/umap2.parquet",
        "projections/musicnn/pca3.parquet", "projection_info/musicnn/pca3.parquet",  # both parts of a map
        "centroid_projections/classical17-kmeans-auto.parquet",
        "clusters/musicnn-kmeans-auto-mean.parquet",
        "explanations/classical17-kmeans-auto.parquet",
        f"comparisons/{comps[0]}.parquet",
        f"comparison_sections/{comps[1]}.parquet",
        f"comparisons/{comps[2]}.parquet", f"comparison_sections/{comps[2]}.parquet",  # both parts of a pair
    ]
    values, others = damage(store, keys)
    assert main(["repair", "--store", store.uri]) == 0
    assert_repaired(store, values, others, capsys.readouterr().out)


def test_repair_reanalyses_a_song_whose_own_parts_are_damaged(store, capsys):
    song = store.list_parts("songs")[0]
    keys = [f"features/{song}.parquet", f"sections/{song}.parquet", f"melspec/{song}.parquet"]
    values, others = damage(store, keys)
    assert main(["repair", "--store", store.uri]) == 0
    assert_repaired(store, values, others, capsys.readouterr().out)


def test_a_song_whose_audio_is_gone_is_reported_and_nothing_written(store, capsys):
    song = store.list_parts("songs")[0]
    audio = store.read_part("songs", song)["uri"].iloc[0]
    keys = [f"features/{song}.parquet"]
    _, others = damage(store, keys)
    hidden = audio + ".away"
    os.rename(audio, hidden)  # the session's demo corpus: put back below
    try:
        assert main(["repair", "--store", store.uri]) == 1
    finally:
        os.rename(hidden, audio)
    out = capsys.readouterr().out
    assert f"not repaired {keys[0]}" in out and "is not there" in out and "sectionist analyze" in out
    assert set(check_store(store).damaged) == set(keys)
    assert {k: v for k, v in files(store).items() if k not in keys} == others


def test_maps_that_cannot_be_rebuilt_exactly_are_refused_with_the_reason(store, capsys):
    # a projector gone; a projector saved without its fit's seconds (as before repair kept them)
    store.delete("models/projections/classical17/pca2.joblib")
    meta = "models/projections/musicnn/tsne2.joblib.json"
    store.write_json(meta, {k: v for k, v in json.loads(store.read_bytes(meta)).items() if k != "seconds"})
    keys = ["projections/classical17/pca2.parquet", "projection_info/musicnn/tsne2.parquet"]
    _, others = damage(store, keys)
    assert main(["repair", "--store", store.uri]) == 1
    out = capsys.readouterr().out
    assert f"not repaired {keys[0]}" in out and "model models/projections/classical17/pca2.joblib is gone" in out
    assert f"not repaired {keys[1]}" in out and "recorded nowhere else" in out
    assert "sectionist refit --maps" in out
    assert set(check_store(store).damaged) == set(keys)
    assert {k: v for k, v in files(store).items() if k not in keys} == others


def test_a_map_with_placed_sections_rebuilds_its_info_and_refuses_its_points(store, tmp_path, capsys):
    from sectionist.analysis.corpus.demo import make_corpus
    from sectionist.analysis.run.config import AnalysisConfig
    from sectionist.analysis.run.pipeline import analyze

    make_corpus(tmp_path / "new", n_songs=1, seconds=20.0, seed=7, progress=False)
    analyze([tmp_path / "new"], store, AnalysisConfig(), progress=False)  # places its sections on the maps
    info = store.read_part("projection_info", "classical17/umap2")
    assert int(info["n_placed"].iloc[0]) > 0
    keys = ["projection_info/classical17/umap2.parquet", "projections/classical17/pca2.parquet"]
    values, others = damage(store, keys)
    assert main(["repair", "--store", store.uri]) == 1
    out = capsys.readouterr().out
    assert f"repaired {keys[0]}" in out
    pd.testing.assert_frame_equal(pd.read_parquet(store.local_path(keys[0])), values[keys[0]], check_exact=True)
    assert f"not repaired {keys[1]}" in out and "placed on it after its fit" in out
    assert set(check_store(store).damaged) == {keys[1]}
    now = files(store)
    assert {k: now[k] for k in others} == others
