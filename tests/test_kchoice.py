"""Choosing K: the stable-silhouette rule, the edge warning, the reference K=4 run and the CLI options."""

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from sectionist.analysis.modeling.estimators import make_method
from sectionist.analysis.modeling.kchoice import choose_k
from sectionist.analysis.modeling.scaling import FeatureScaler
from sectionist.analysis.commands.analyze import store_summary
from sectionist.analysis.errors import ParameterError
from sectionist.analysis.sections.features import CLASSICAL17
from sectionist.analysis.commands.modeling import cluster_method_params
from sectionist.analysis.modeling.cluster import cluster_store
from sectionist.analysis.modeling.defaults import run_default_models
from sectionist.analysis.modeling.runs import fit_run
from sectionist.analysis.modeling.specs import RunSpec, SpaceData, make_run_id
from sectionist.store import open_store


def blobs(k, n_per=40, d=5, seed=0, std=0.6):
    X, y = make_blobs(n_samples=n_per * k, n_features=d, centers=k, cluster_std=std, center_box=(-15, 15),
                      random_state=seed)
    return X, y


# ---- the rule as a pure function ---------------------------------------------------------------


def test_rule_prefers_the_largest_stable_k_near_the_best_silhouette():
    ks = [2, 3, 4, 5, 6]
    sil = [0.40, 0.38, 0.37, 0.35, 0.25]       # K=2 best, but only by 0.02: not "clearly two"
    stab = [0.95, 0.90, 0.85, 0.80, 0.90]
    k, edge, reason = choose_k(ks, sil, stab)
    assert k == 5 and not edge and "largest K≥3" in reason
    # an unstable K is passed over even within the tolerance
    k, _, _ = choose_k(ks, sil, [0.95, 0.90, 0.85, 0.60, 0.90])
    assert k == 4
    # the old rule, kept under its own name, collapses to 2 on the same curve
    assert choose_k(ks, sil, stab, rule="silhouette")[0] == 2


def test_rule_takes_two_only_when_clearly_better_and_stable():
    ks = [2, 3, 4]
    assert choose_k(ks, [0.60, 0.40, 0.38], [0.95, 0.90, 0.90])[0] == 2
    assert choose_k(ks, [0.60, 0.40, 0.30], [0.50, 0.90, 0.90])[0] == 3      # 2 clearly best but unstable
    assert choose_k(ks, [0.42, 0.40, 0.38], [0.95, 0.90, 0.90])[0] == 4      # 2 not clearly best


def test_rule_edges_and_bad_rules():
    assert choose_k([2, 3, 4], [0.1, 0.2, 0.3], [0.9, 0.9, 0.9])[:2] == (4, True)      # top of the range
    assert choose_k([4, 5, 6], [0.5, 0.2, 0.1], [0.9, 0.9, 0.9])[:2] == (4, True)      # bottom above 2
    assert choose_k([2, 3, 4], [0.9, 0.2, 0.1], [0.9, 0.9, 0.9])[:2] == (2, False)     # 2 is no edge
    # no stable K near the best: the most stable of them, said so
    k, _, reason = choose_k([3, 4, 5], [0.30, 0.29, 0.10], [0.5, 0.6, 0.9])
    assert k == 4 and "most stable" in reason
    assert choose_k([2, 3, 4], [0.1, 0.2, 0.1], bic=[10.0, 5.0, 7.0], rule="bic")[0] == 3
    with pytest.raises(ParameterError, match="k_rule='nope'"):
        choose_k([2, 3], [0.1, 0.2], [0.9, 0.9], rule="nope")


# ---- the rule on data ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["kmeans", "gmm", "agglomerative"])
def test_five_blobs_give_five_not_two(method):
    X, _ = blobs(5, seed=4)
    est = make_method(method, n_clusters="auto", random_state=0).fit(FeatureScaler().fit_transform(X))
    assert est.n_clusters_ == 5
    assert est.k_rule_ == "stable-silhouette" and (est.k_min_, est.k_max_) == (2, 10) and not est.k_at_edge_
    c = est.curves_
    assert c["k"] == list(range(2, 11)) and len(c["stability"]) == len(c["silhouette"]) == 9
    assert c["stability"][3] > 0.9  # K=5 reproduces on every resample


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_two_blobs_give_two(method):
    X, _ = blobs(2, n_per=80, seed=1)
    est = make_method(method, n_clusters="auto", random_state=0).fit(FeatureScaler().fit_transform(X))
    assert est.n_clusters_ == 2 and "clearly best" in est.k_reason_ and not est.k_at_edge_


def test_fit_run_records_the_rule_and_warns_at_the_edge(caplog):
    X, _ = blobs(8, n_per=25, seed=2, std=0.4)
    data = SpaceData.from_array(X, space="eight")
    with caplog.at_level(logging.WARNING, logger="sectionist.analysis.modeling.runs"):
        r = fit_run(data, RunSpec("eight", "kmeans", "auto", method_params={"k_range": (2, 5)}))
    assert r.n_clusters == 5 and r.k_at_edge and (r.k_min, r.k_max) == (2, 5) and r.k_rule == "stable-silhouette"
    assert "edge of its search range 2–5" in caplog.text
    fixed = fit_run(data, RunSpec("eight", "kmeans", 8))
    assert (fixed.k_rule, fixed.k_min, fixed.k_max, fixed.k_at_edge) == ("fixed", 8, 8, False)
    hd = fit_run(data, RunSpec("eight", "hdbscan", method_params={"min_cluster_size": 10}))
    assert hd.k_rule == "density" and hd.k_min is None and not hd.k_at_edge


# ---- a tiny store: run rows, info warning, the reference K=4 run -----------------------------------


def tiny_store(root, n_groups=6, per_group=10, seed=0):
    """Two songs whose sections come from ``n_groups`` well-separated classical17 blobs."""
    rng = np.random.default_rng(seed)
    store = open_store(root)
    centres = rng.normal(scale=6.0, size=(n_groups, 17))
    n = n_groups * per_group
    for s in range(2):
        song_id = f"{s:016x}"
        secs, feats = [], []
        for i in range(n // 2):
            lab = (i + s * (n // 2)) % n_groups
            sid = f"{song_id}-{i:05d}"
            secs.append(dict(section_id=sid, song_id=song_id, scheme="fixed", index=i, start_s=15.0 * i,
                             end_s=15.0 * (i + 1), is_central=True, rank=i + 1, truth_label=f"g{lab}"))
            f = centres[lab] + rng.normal(scale=0.5, size=17)
            feats.append(dict(section_id=sid, song_id=song_id, **{c: np.float32(v) for c, v in zip(CLASSICAL17, f)}))
        store.write_part("sections", song_id, pd.DataFrame(secs))
        store.write_part("features", song_id, pd.DataFrame(feats))
    return store


def test_edge_is_written_and_info_warns(tmp_path):
    store = tiny_store(tmp_path / "s")
    run_id = cluster_store(store, "classical17", "kmeans", method_params={"k_range": (2, 4)}, explain=False,
                           stability=False, project=False, progress=False)
    row = store.read_part("runs", run_id).iloc[0]
    assert row["k"] == 4 and bool(row["k_at_edge"]) and row["k_rule"] == "stable-silhouette"
    assert (row["k_min"], row["k_max"]) == (2, 4)
    summary = "\n".join(store_summary(store))
    assert f"warning: run {run_id}: K=4 is at the edge of its search range 2–4" in summary
    # the full default range (the default run: another lineage) finds the six groups, off the edge: no warning
    again = cluster_store(store, "classical17", "kmeans", explain=False, stability=False, project=False,
                          progress=False)
    row = store.read_part("runs", again).iloc[0]
    assert again != run_id and row["k"] == 6 and not bool(row["k_at_edge"])
    warnings = [ln for ln in store_summary(store) if ln.startswith("warning")]
    assert len(warnings) == 1 and f"run {run_id}:" in warnings[0]


def test_default_models_include_the_reference_k4(tmp_path):
    store = tiny_store(tmp_path / "s", n_groups=3, per_group=12)
    runs = run_default_models(store, embedders=(), progress=False, projections=(("pca", 2),), n_repeats=2)
    assert runs == ["classical17-kmeans-auto", "classical17-gmm-auto", "classical17-kmeans-k4",
                    "classical17-role-kmeans-auto"]
    table = store.read_table("runs").set_index("run_id")
    assert table.loc["classical17-kmeans-k4", "n_clusters"] == 4
    assert table.loc["classical17-kmeans-k4", "k_rule"] == "fixed"
    assert table.loc["classical17-kmeans-auto", "n_clusters"] == 3
    assert table.loc["classical17-kmeans-auto", "ari_truth"] == pytest.approx(1.0)


def test_overview_badge_marks_an_edge():
    from sectionist.analysis.modeling.versions import k_note

    assert k_note({"k_rule": "stable-silhouette", "k_at_edge": True, "k_min": 2, "k_max": 10}) == \
        "⚠ K at edge of 2–10 (stable-silhouette)"
    assert k_note({"k_rule": "fixed", "k_at_edge": False, "k_min": 4, "k_max": 4}) == "fixed"
    assert k_note({"k_rule": None}) is None


# ---- command line ------------------------------------------------------------------------------------


def test_method_params_from_options():
    assert cluster_method_params("kmeans", k_min=3, k_max=12) == {"k_range": (3, 12)}
    assert cluster_method_params("gmm", k_rule="bic", covariance_type="full") == {"k_rule": "bic",
                                                                                   "covariance_type": "full"}
    assert cluster_method_params("hdbscan", min_cluster_size=8, min_samples=3) == {"min_cluster_size": 8,
                                                                                    "min_samples": 3}


@pytest.mark.parametrize("argv, message", [
    (["--k-min", "1"], "--k-min 1: must be at least 2"),
    (["--k-min", "5", "--k-max", "3"], "--k-max 3: must be at least --k-min (5)"),
    (["--k", "4", "--k-max", "8"], "--k-max: only with an automatic K, but --k 4 fixes it"),
    (["--method", "hdbscan", "--k-max", "8"], "finds K itself"),
    (["--min-cluster-size", "5"], "--min-cluster-size 5: an hdbscan option"),
    (["--method", "hdbscan", "--min-cluster-size", "1"], "--min-cluster-size 1: must be at least 2"),
    (["--method", "hdbscan", "--min-samples", "0"], "--min-samples 0: must be at least 1"),
    (["--covariance-type", "full"], "--covariance-type full: a gmm option"),
    (["--k-rule", "bic"], "--k-rule bic: only gmm has a BIC"),
])
def test_cli_rejects_bad_options(tmp_path, capsys, argv, message):
    from sectionist.cli import main

    store = tiny_store(tmp_path / "s", n_groups=3, per_group=4)
    before = sorted(p.relative_to(store.root) for p in store.root.rglob("*"))
    assert main(["cluster", "--store", str(store.root), *argv]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.relative_to(store.root) for p in store.root.rglob("*")) == before  # nothing written


def test_cli_type_errors_exit_2(capsys):
    from sectionist.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["cluster", "--store", "x", "--k-min", "three"])
    assert exc.value.code == 2 and "--k-min" in capsys.readouterr().err


def test_cli_runs_with_a_k_range(tmp_path, capsys):
    from sectionist.cli import main

    store = tiny_store(tmp_path / "s")
    assert main(["cluster", "--store", str(store.root), "--k-min", "3", "--k-max", "5", "--no-explain",
                 "--no-stability", "--no-project"]) == 0
    out = capsys.readouterr().out
    # a K range other than the default names its own run (docs/modeling.md): not the default run's id
    run_id = make_run_id("classical17", "kmeans", method_params={"k_range": (3, 5)})
    assert run_id.startswith("classical17-kmeans-auto-") and f"{run_id} " in out and "stable-silhouette" in out
    assert "warning: K=5 is at the edge of the searched range 3–5" in out
    assert not store.has_part("runs", "classical17-kmeans-auto")
    row = store.read_part("runs", run_id).iloc[0]
    assert (row["k_min"], row["k_max"], row["k"]) == (3, 5, 5)


def test_stability_on_capped_resamples():
    """Large inputs: refits on resamples of at most ``max_rows`` rows, ARI over a sample of 5 · max_rows rows."""
    from sectionist.analysis.modeling.kchoice import k_stability

    X, _ = blobs(3, n_per=100, seed=5)
    X = FeatureScaler().fit_transform(X)
    est = make_method("kmeans", n_clusters=3, random_state=0)
    labels = [make_method("kmeans", n_clusters=k, random_state=0).fit(X).labels_ for k in (2, 3)]
    stab = k_stability(est, X, [2, 3], labels, n_repeats=3, max_rows=20)
    assert len(stab) == 2 and stab[1] > 0.95 and all(0 <= s <= 1 for s in stab)
