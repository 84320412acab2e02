"""A run's identity comes from its options (issue 24, item 10): the lineage id is made from every
option that changes the fit, so other options are another lineage, never a new version of one;
``{lineage}~v{n}`` is only ever a refit of the same options. Runs whose options are all defaults keep
exactly the ids they always had (the fixture store's and the default runs')."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sectionist.analysis.modeling.defaults import REFERENCE_K
from sectionist.analysis.modeling.refit import run_options
from sectionist.analysis.modeling.specs import RunSpec, fit_params, make_run_id, options_hash
from sectionist.cli import main as cli_main
from sectionist.store import open_store
from sectionist.store.schema import RUNS

OLD_STORE = Path(__file__).parent / "fixtures" / "store_layout_v0"
FULL_BIC = {"covariance_type": "full", "k_rule": "bic"}


# ---- pure: the ids ---------------------------------------------------------------------------------
def test_runs_with_default_options_keep_todays_ids():
    assert make_run_id("classical17", "gmm") == "classical17-gmm-auto"
    assert make_run_id("classical17", "kmeans") == "classical17-kmeans-auto"
    assert make_run_id("classical17", "kmeans", REFERENCE_K) == "classical17-kmeans-k4"
    assert make_run_id("musicnn", "kmeans", level="frame") == "musicnn-kmeans-auto-frames"
    assert make_run_id("musicnn", "kmeans", level="section-mean") == "musicnn-kmeans-auto-mean"
    assert make_run_id("classical17", "agglomerative", 4, scaling="l2cols", central_only=True, seed=3) \
        == "classical17-agglomerative-k4-l2cols-central-s3"
    assert make_run_id("x", "hdbscan") == "x-hdbscan"
    # options given explicitly at their defaults are the default run, not another one
    assert make_run_id("classical17", "gmm", method_params={
        "covariance_type": "diag", "k_rule": "stable-silhouette", "k_range": [2, 10]}) == "classical17-gmm-auto"


def test_the_fixture_stores_runs_keep_their_ids():
    """Every run of the old-layout fixture: the options it records make exactly its id."""
    runs = open_store(OLD_STORE).read_table(RUNS)
    assert len(runs) == 4
    for _, row in runs.iterrows():
        opts = run_options(row.to_dict())
        assert make_run_id(opts["space"], opts["method"], opts["k"], scaling=opts["scaling"], level=row["level"],
                           seed=opts["seed"], central_only=opts["central_only"],
                           method_params=opts["method_params"]) == row["run_id"]


def test_other_options_make_another_lineage_with_a_stable_hash():
    full_bic = make_run_id("classical17", "gmm", method_params=FULL_BIC)
    assert full_bic == "classical17-gmm-auto-" + options_hash(FULL_BIC)
    assert re.fullmatch(r"classical17-gmm-auto-[0-9a-f]{6}", full_bic)
    # stable across processes and versions: a plain sha256 of the sorted options, not Python's hash()
    assert options_hash(FULL_BIC) == "79d030"
    # the order the options come in does not matter; each different option set is a different id
    assert make_run_id("classical17", "gmm", method_params=[("k_rule", "bic"), ("covariance_type", "full")]) \
        == full_bic
    ids = {make_run_id("classical17", "gmm", method_params=p) for p in (
        {}, {"covariance_type": "full"}, {"k_rule": "bic"}, FULL_BIC, {"k_range": (3, 12)}, {"k_range": (2, 12)})}
    assert len(ids) == 6
    # a K range or K rule changes nothing when K is fixed, so it does not name the run
    assert make_run_id("classical17", "kmeans", 4, method_params={"k_range": (3, 12)}) == "classical17-kmeans-k4"
    assert fit_params("kmeans", 4, {"k_range": (3, 12), "n_init": 8}) == {"n_init": 8}
    # numbers and sequences in any spelling: one id
    assert make_run_id("x", "hdbscan", method_params={"min_cluster_size": 8}) \
        == make_run_id("x", "hdbscan", method_params={"min_cluster_size": 8.0})
    assert make_run_id("x", "hdbscan", method_params={"min_cluster_size": 8}) != "x-hdbscan"
    # the spec names itself the same way (every fit, refit and placement goes through it)
    assert RunSpec("classical17", "gmm", level="section", method_params=FULL_BIC).run_id == full_bic


# ---- through the command line ------------------------------------------------------------------------
def _runs_list(store: str, capsys) -> dict:
    assert cli_main(["runs", "list", "--store", store]) == 0
    out = capsys.readouterr().out.splitlines()
    return {line.split()[0]: line for line in out[1:-1]}


def test_cluster_with_other_options_is_a_new_lineage_and_refit_its_next_version(tmp_path, capsys):
    root = tmp_path / "store"
    shutil.copytree(OLD_STORE, root)
    store = str(root)
    fast = ["--no-explain", "--no-stability", "--no-project"]
    full_bic = make_run_id("classical17", "gmm", method_params=FULL_BIC)

    cmd = ["cluster", "--store", store, "--method", "gmm", "--covariance-type", "full", "--k-rule", "bic", *fast]
    assert cli_main(cmd) == 0
    assert f"{full_bic} " in capsys.readouterr().out
    run = open_store(root).read_part(RUNS, RUNS.part(run_id=full_bic)).iloc[0]
    assert run["lineage"] == full_bic and run["version"] == 1
    listed = _runs_list(store, capsys)
    # the default (diagonal) GMM run is not superseded by a run with other options, nor is any run a v2
    assert "classical17-gmm-auto~v2" not in listed
    assert listed["classical17-gmm-auto"].split()[1:3] == ["v1", "classical17"]
    assert listed[full_bic].split()[1:3] == ["v1", "classical17"]

    # the same options again: the next version of that lineage
    assert cli_main(cmd) == 0
    assert f"{full_bic}~v2 " in capsys.readouterr().out
    # a refit of it keeps its options and is its next version
    assert cli_main(["refit", full_bic, "--store", store, "-q"]) == 0
    assert f"new version: {full_bic}~v3" in capsys.readouterr().out
    runs = open_store(root).read_table(RUNS).set_index("run_id")
    v3 = runs.loc[f"{full_bic}~v3"]
    assert v3["lineage"] == full_bic and v3["version"] == 3
    assert fit_params("gmm", "auto", run_options(v3.to_dict())["method_params"]) == FULL_BIC
    # explicit defaults are the default lineage: a version 2 of the GMM run, as the docs promise
    assert cli_main(["cluster", "--store", store, "--method", "gmm", "--covariance-type", "diag", *fast]) == 0
    assert "classical17-gmm-auto~v2 " in capsys.readouterr().out
    assert set(runs.index) - {"classical17-gmm-auto", "classical17-kmeans-auto", "musicnn-kmeans-auto-frames",
                              "musicnn-kmeans-auto-mean"} == {full_bic, f"{full_bic}~v2", f"{full_bic}~v3"}


@pytest.mark.parametrize("k", ["auto", 3])
def test_cluster_store_names_the_run_by_its_options(tmp_path, k):
    from sectionist.analysis.modeling.cluster import cluster_store

    root = tmp_path / "store"
    shutil.copytree(OLD_STORE, root)
    store = open_store(root)
    params = {"covariance_type": "spherical"}
    run_id = cluster_store(store, "classical17", "gmm", k=k, method_params=params, explain=False, stability=False,
                           project=False, progress=False)
    assert run_id == make_run_id("classical17", "gmm", k, method_params=params)
    assert run_id.startswith(f"classical17-gmm-{'auto' if k == 'auto' else 'k3'}-")
