"""Trusted runs (issue 11): immutable run versions, placement of new songs, resumable modelling,
tables that open whole in pandas, pyarrow and DuckDB.

A small real store: three short demo songs cut into 4-s sections, classical features only (no
embedder), the default runs and maps of ``sectionist analyze``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.corpus.demo import make_corpus
from sectionist.analysis.run.pipeline import analyze
from sectionist.store import open_store

ROOT = Path(__file__).resolve().parents[1]
SECTION_SECONDS = 4.0
CFG = AnalysisConfig(embed=False, section_seconds=SECTION_SECONDS)
MODEL_TABLES = ("runs", "clusterings", "clusters", "explanations", "projections", "projection_info",
                "centroid_projections", "comparisons", "comparison_sections")
VOLATILE = ("created_at", "seconds")  # wall-clock columns: differ between any two runs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    paths = make_corpus(d, n_songs=3, seconds=32.0, seed=3, progress=False)
    return sorted(Path(p) for p in paths)


@pytest.fixture(scope="module")
def songs_only(corpus, tmp_path_factory):
    """The three songs analysed, no modelling yet."""
    root = tmp_path_factory.mktemp("songs-only") / "store"
    analyze(corpus, open_store(root), CFG.replace(cluster=False), progress=False)
    return root


@pytest.fixture(scope="module")
def grown(corpus, tmp_path_factory):
    """A store analysed with two songs and judged by an expert, then the third song added.

    Returns (before, after, verdicts): copies of the store before and after the third song, and the
    verdicts recorded on the first store (run id, section id, cluster shown).
    """
    from sectionist.dashboard.auth import accounts
    from sectionist.dashboard.judging.repository import record_judgement
    from sectionist.dashboard.models import get_database, sqlite_url

    base = tmp_path_factory.mktemp("grown")
    before, after = base / "before", base / "after"
    analyze(corpus[:2], open_store(before), CFG, progress=False)
    db = get_database(sqlite_url(base / "judgements.sqlite"))
    accounts.create_user(db, "ada", "expert")
    ada = accounts.get_user(db, "ada")
    store = open_store(before)
    verdicts = []
    for run_id in store.list_parts("runs"):
        cl = store.read_part("clusterings", run_id).iloc[::3]
        for sid, label in zip(cl["section_id"], cl["label"]):
            record_judgement(db, ada, run_id=run_id, section_id=sid, verdict="agree", cluster=int(label))
            verdicts.append((run_id, sid, int(label)))
    db.dispose()
    shutil.copytree(before, after)
    summary = analyze(corpus, open_store(after), CFG, progress=False)
    assert summary.ok == 1 and summary.skipped == 2
    return before, after, verdicts


def _model_tables(root) -> dict:
    store = open_store(root)
    out = {}
    for t in MODEL_TABLES:
        for part in sorted(store.list_parts(t)):
            df = store.read_part(t, part).drop(columns=[c for c in VOLATILE if c in store.read_part(t, part)])
            out[(t, part)] = df
    return out


def _assert_same_tables(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for key, frame in a.items():
        pd.testing.assert_frame_equal(frame, b[key], check_exact=False, rtol=1e-9, atol=1e-12, obj=str(key))


# ---- 1. new songs are placed; what experts judged stays ------------------------------------------


def test_new_songs_are_placed_and_verdicts_keep_their_labels(grown):
    before, after, verdicts = grown
    old, new = open_store(before), open_store(after)
    assert sorted(new.list_parts("runs")) == sorted(old.list_parts("runs"))  # no run refitted, none renamed
    n_sections = len(new.read_table("sections"))
    new_sections = set(new.read_table("sections")["section_id"]) - set(old.read_table("sections")["section_id"])
    assert new_sections
    for run_id in old.list_parts("runs"):
        was, now = old.read_part("clusterings", run_id), new.read_part("clusterings", run_id)
        fitted = now[~now["placed"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(was.drop(columns="placed"), fitted.drop(columns="placed"), check_exact=True)
        placed = now[now["placed"]]
        assert set(placed["section_id"]) == new_sections
        clusters = set(new.read_part("clusters", run_id)["cluster"])
        assert set(placed["label"]) <= clusters
        assert placed["silhouette"].isna().all() and placed["confidence"].between(0, 1).all()
        run = new.read_part("runs", run_id).iloc[0]
        assert run["n_placed"] == len(new_sections) and run["version"] == 1 and run["lineage"] == run_id
        assert np.isfinite(run["placed_drift"]) and run["placed_drift"] > 0
        assert run["n_sections"] == len(was)  # the fit's own count is unchanged
        assert len(now) == n_sections
    for part in old.list_parts("projections"):
        was, now = old.read_part("projections", part), new.read_part("projections", part)
        pd.testing.assert_frame_equal(was.drop(columns="placed"),
                                      now[~now["placed"]].reset_index(drop=True).drop(columns="placed"),
                                      check_exact=True)
        placed = now[now["placed"]]
        assert set(placed["section_id"]) == new_sections and np.isfinite(placed[["x", "y"]].to_numpy()).all()
        assert new.read_part("projection_info", part).iloc[0]["n_placed"] == len(new_sections)
    # every verdict's run still exists and gives the section the label the expert saw
    labels = {r: new.read_part("clusterings", r).set_index("section_id")["label"] for r in new.list_parts("runs")}
    for run_id, sid, label in verdicts:
        assert labels[run_id][sid] == label
    # comparisons cover the placed sections too
    comp = new.read_table("comparisons")
    assert (comp["n_sections"] == n_sections).all()


def test_rerun_with_nothing_new_changes_nothing(grown, corpus, tmp_path):
    _, after, _ = grown
    root = tmp_path / "store"
    shutil.copytree(after, root)
    tables = _model_tables(root)
    models = {p.name: p.read_bytes() for p in (root / "models").rglob("*.joblib")}
    summary = analyze(corpus, open_store(root), CFG, progress=False)
    assert summary.skipped == 3 and summary.modeling == []
    _assert_same_tables(tables, _model_tables(root))
    assert {p.name: p.read_bytes() for p in (root / "models").rglob("*.joblib")} == models


def test_runs_without_a_model_are_reported_not_covering(grown, corpus, tmp_path, capsys):
    """An older store (no model_key): the run is left as it is and `info` says what it covers."""
    before, _, _ = grown
    root = tmp_path / "old"
    shutil.copytree(before, root)
    store = open_store(root)
    run_id = "classical17-gmm-auto"
    run = store.read_part("runs", run_id).drop(columns=["model_key", "lineage", "version", "n_placed",
                                                        "placed_drift"])
    store.write_part("runs", run_id, run)  # as an older sectionist wrote it
    cl_before = store.read_part("clusterings", run_id)
    summary = analyze(corpus, store, CFG, progress=False)
    assert any("NOT COVERED" in line and run_id in line for line in summary.lines())
    pd.testing.assert_frame_equal(store.read_part("clusterings", run_id), cl_before)
    read = store.read_part("runs", run_id).iloc[0]
    assert read["version"] == 1 and read["lineage"] == run_id and read["n_placed"] == 0  # declared defaults
    from sectionist.cli import main

    assert main(["info", "--store", str(root)]) == 0
    out = capsys.readouterr().out
    n_all = len(store.read_table("sections"))
    assert f"run {run_id} (version 1 of {run_id}) covers {len(cl_before)} of {n_all} sections" in out
    assert f"'sectionist refit {run_id}'" in out
    assert f"run classical17-kmeans-auto (version 1 of classical17-kmeans-auto) covers {n_all} of {n_all}" in out


def test_model_from_other_library_versions_warns_and_does_not_place(grown, corpus, tmp_path):
    import json

    before, _, _ = grown
    root = tmp_path / "old-libs"
    shutil.copytree(before, root)
    meta = root / "models" / "runs" / "classical17-kmeans-auto.joblib.json"
    data = json.loads(meta.read_text())
    data["libraries"]["scikit-learn"] = "0.0.1"
    meta.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match=r"scikit-learn 0\.0\.1 here"):
        summary = analyze(corpus, open_store(root), CFG, progress=False)
    assert any("NOT COVERED: classical17-kmeans-auto" in line for line in summary.lines())
    cl = open_store(root).read_part("clusterings", "classical17-kmeans-auto")
    assert not cl["placed"].any()


def test_runs_made_by_hand_are_versioned_keep_the_maps_and_are_placed(grown, corpus, tmp_path):
    from sectionist.analysis.modeling.cluster import cluster_store

    before, _, _ = grown
    root = tmp_path / "hand"
    shutil.copytree(before, root)
    store = open_store(root)
    maps = {p: store.read_part("projections", p) for p in store.list_parts("projections")}
    opts = dict(k=3, stability=False, explain=False, progress=False)
    assert cluster_store(store, "classical17", "kmeans", **opts) == "classical17-kmeans-k3"
    v1 = store.read_part("clusterings", "classical17-kmeans-k3")
    assert cluster_store(store, "classical17", "kmeans", **opts) == "classical17-kmeans-k3~v2"  # never refitted
    pd.testing.assert_frame_equal(store.read_part("clusterings", "classical17-kmeans-k3"), v1)
    for part, df in maps.items():  # a new run draws its centroids on the maps; it never refits them
        pd.testing.assert_frame_equal(store.read_part("projections", part), df)
    cp = store.read_part("centroid_projections", "classical17-kmeans-k3~v2")
    assert {(k, int(d)) for k, d in zip(cp["kind"], cp["dims"])} == {("pca", 2), ("pca", 3), ("tsne", 2), ("umap", 2)}
    summary = analyze(corpus, store, CFG, progress=False)
    n_new = len(store.read_table("sections")) - len(v1)
    for run_id in ("classical17-kmeans-k3", "classical17-kmeans-k3~v2"):
        assert store.read_part("runs", run_id).iloc[0]["n_placed"] == n_new
        assert any(run_id in line for line in summary.lines())
    pd.testing.assert_frame_equal(store.read_part("clusterings", "classical17-kmeans-k3").iloc[:len(v1)], v1)


# ---- 3. refit: a new version, the old one untouched -------------------------------------------------


def test_refit_makes_a_new_version_and_leaves_v1(grown, tmp_path, capsys):
    from sectionist.cli import main

    _, after, _ = grown
    root = tmp_path / "store"
    shutil.copytree(after, root)
    v1 = {p.relative_to(root): p.read_bytes() for p in root.rglob("*")
          if p.is_file() and p.parts[len(root.parts)] in ("runs", "clusterings", "clusters", "explanations",
                                                          "projections", "projection_info", "models")}
    assert main(["refit", "classical17-kmeans-auto", "--store", str(root), "-q"]) == 0
    assert "new version: classical17-kmeans-auto~v2" in capsys.readouterr().out
    for rel, data in v1.items():  # every file of version 1 and every map: byte for byte the same
        assert (root / rel).read_bytes() == data, rel
    store = open_store(root)
    v2 = store.read_part("runs", "classical17-kmeans-auto~v2").iloc[0]
    n_all = len(store.read_table("sections"))
    assert v2["lineage"] == "classical17-kmeans-auto" and v2["version"] == 2 and v2["n_placed"] == 0
    assert v2["n_sections"] == n_all and store.exists(v2["model_key"])
    cl = store.read_part("clusterings", "classical17-kmeans-auto~v2")
    assert len(cl) == n_all and not cl["placed"].any()
    assert store.has_part("centroid_projections", "classical17-kmeans-auto~v2")
    assert store.has_part("comparisons", "classical17-gmm-auto__classical17-kmeans-auto~v2")
    # default targets: lineages whose newest version has placed sections (kmeans-auto is now v2: none)
    assert main(["refit", "--store", str(root), "-q"]) == 0
    out = capsys.readouterr().out
    assert "classical17-gmm-auto~v2" in out and "classical17-kmeans-auto~v3" not in out
    assert main(["refit", "nope", "--store", str(root)]) == 2
    assert "unknown run(s) nope" in capsys.readouterr().err


def test_refit_maps_only_when_asked(grown, tmp_path):
    from sectionist.analysis.modeling.refit import refit_runs

    _, after, _ = grown
    root = tmp_path / "store"
    shutil.copytree(after, root)
    store = open_store(root)
    made = refit_runs(store, ["classical17-gmm-auto"], maps=True, progress=False)
    assert made == ["classical17-gmm-auto~v2"]
    n_all = len(store.read_table("sections"))
    parts = store.list_parts("projections")
    for part in [p for p in parts if p.startswith("classical17/")]:  # refitted on every section: nothing placed
        pts = store.read_part("projections", part)
        assert len(pts) == n_all and not pts["placed"].any()
        assert store.read_part("projection_info", part).iloc[0]["n_placed"] == 0
    for part in [p for p in parts if not p.startswith("classical17/")]:  # other spaces' maps: not refitted
        assert store.read_part("projections", part)["placed"].any()
    # version 1 is still there, with its placed rows
    assert open_store(root).read_part("runs", "classical17-gmm-auto").iloc[0]["n_placed"] > 0


# ---- 2. a kill during modelling is finished by the same command ------------------------------------


def _wait_and_kill(proc, folder: Path, k: int, timeout=120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if folder.exists() and len(list(folder.rglob("*.parquet"))) >= k:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        if proc.poll() is not None:
            raise AssertionError(f"analyze finished before {folder.name} had {k} part(s): {proc.stderr.read()}")
        time.sleep(0.005)
    proc.kill()
    raise AssertionError(f"{folder} never had {k} part(s)")


@pytest.mark.timeout(300)
def test_kill_during_modelling_is_finished_by_the_same_command(corpus, songs_only, tmp_path):
    from sectionist.cli import main

    reference = tmp_path / "reference"
    shutil.copytree(songs_only, reference)
    analyze(corpus, open_store(reference), CFG, progress=False)
    expected = _model_tables(reference)
    argv = ["analyze", *map(str, corpus), "--no-embed", "--section-seconds", str(SECTION_SECONDS), "-q"]
    for table, k in (("runs", 1), ("projection_info", 2)):
        root = tmp_path / f"killed-{table}-{k}"
        shutil.copytree(songs_only, root)
        proc = subprocess.Popen([sys.executable, "-m", "sectionist.cli", *argv, "--store", str(root)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_and_kill(proc, root / table, k)
        assert proc.returncode == -signal.SIGKILL
        assert main([*argv, "--store", str(root)]) == 0  # the same command, run again
        _assert_same_tables(expected, _model_tables(root))
        done = open_store(root).read_manifest()["modeling"]["done"]
        assert "comparisons" in done and any(u.startswith("projection:") for u in done)


# ---- 4. every table opens whole: pandas, pyarrow datasets, DuckDB ------------------------------------


def test_every_table_reads_whole_three_ways(grown):
    import duckdb
    import pyarrow.dataset as ds

    _, after, _ = grown
    store = open_store(after)
    tables = store.tables()
    assert {"songs", "sections", "features", "melspec", *MODEL_TABLES} <= set(tables)
    con = duckdb.connect()
    for t in tables:
        expected = sum(len(store.read_part(t, p)) for p in store.list_parts(t))
        n_pd = len(pd.read_parquet(after / t))
        n_ds = ds.dataset(after / t, format="parquet", partitioning=None).count_rows()
        glob = str(after / t / "**" / "*.parquet").replace("'", "''")
        n_db = con.execute(f"SELECT count(*) FROM read_parquet('{glob}', union_by_name=true, "
                           "hive_partitioning=false)").fetchone()[0]
        assert n_pd == n_ds == n_db == expected, t


# ---- placement helpers (pure) ------------------------------------------------------------------------


def _frames(rng, n_sections=60, per=4, k=3):
    centres = rng.normal(0, 6, size=(k, 5))
    truth = np.arange(n_sections) % k
    groups = np.repeat(np.arange(n_sections), per)
    X = centres[truth[groups]] + rng.normal(0, 0.5, size=(len(groups), 5))
    return X, groups, truth


def test_place_sections_reproduces_the_fit_and_keeps_the_frame_rule():
    from sectionist.analysis.modeling.runmodel import RunModel, place_sections, placed_drift
    from sectionist.analysis.modeling.runs import fit_run
    from sectionist.analysis.modeling.specs import RunSpec, SpaceData, subset_space

    rng = np.random.default_rng(0)
    X, groups, _ = _frames(rng)
    data = SpaceData.from_array(X, groups=groups, space="toy")
    for method in ("kmeans", "gmm"):
        res = fit_run(data, RunSpec("toy", method, 3))
        model = _roundtrip(RunModel.of(res))
        assert getattr(model.estimator, "labels_", None) is None  # per-row arrays are not saved
        some = res.section_ids[::7]
        pl = place_sections(model, subset_space(data, some))
        np.testing.assert_array_equal(pl.section_ids, some)
        np.testing.assert_array_equal(pl.labels, res.labels_of(some))
        np.testing.assert_allclose(pl.label_distribution.sum(axis=1), 1.0)
        np.testing.assert_allclose(pl.confidence, pl.label_distribution.max(axis=1))
        pos = np.searchsorted(res.section_ids, some)
        np.testing.assert_allclose(pl.distance, res.distance[pos], rtol=1e-9)
        assert (pl.proba is None) == (method == "kmeans")
        assert placed_drift(pl.distance, res.distance) == pytest.approx(1.0, rel=0.3)
    far = SpaceData.from_array(X[:8] * 5 + 40, groups=np.repeat(np.arange(2), 4), space="toy")
    assert placed_drift(place_sections(model, far).distance, res.distance) > 5


def test_place_sections_refuses_other_rows():
    from sectionist.analysis.errors import ParameterError
    from sectionist.analysis.modeling.runmodel import RunModel, place_sections
    from sectionist.analysis.modeling.runs import fit_run
    from sectionist.analysis.modeling.specs import RunSpec, SpaceData, versioned_run_id

    rng = np.random.default_rng(1)
    X, groups, _ = _frames(rng)
    res = fit_run(SpaceData.from_array(X, groups=groups, space="toy"), RunSpec("toy", "kmeans", 3))
    with pytest.raises(ParameterError, match="level is 'frame'.*'section' level"):
        place_sections(RunModel.of(res), SpaceData.from_array(X[:10], space="toy"))
    with pytest.raises(ParameterError, match="4 columns, the run was fitted on 5"):
        place_sections(RunModel.of(res), SpaceData.from_array(X[:8, :4], groups=np.repeat(np.arange(2), 4)))
    assert versioned_run_id("a-kmeans-auto", 1) == "a-kmeans-auto"
    assert versioned_run_id("a-kmeans-auto", 3) == "a-kmeans-auto~v3"
    with pytest.raises(ParameterError, match="version=0"):
        versioned_run_id("a", 0)


def _roundtrip(obj):
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(obj, buf)
    buf.seek(0)
    return joblib.load(buf)
