"""Placing new sections into fitted runs and maps vs refitting them (issue 11).

A synthetic space of ``--sections`` sections (17 columns, like ``classical17``: a seeded Gaussian
mixture) is fitted with the default runs of ``sectionist analyze`` (K-Means and GMM with automatic
K, K-Means with K = 4; :func:`sectionist.analysis.modeling.runs.fit_run`) and the default maps (PCA 2-D/3-D, t-SNE,
UMAP; :class:`sectionist.analysis.modeling.projection.Projector`). Then ``--new`` more sections arrive, and the bench
times

- **place**: labelling them with each run's saved model (:func:`sectionist.analysis.modeling.runmodel.place_sections`, the
  model round-tripped through joblib as in the store) and mapping them with each fitted projector
  (``transform``), and
- **refit**: fitting the same runs and maps again on all sections (what a refit would cost).

Stability refits and SHAP explanations, which a store-level refit adds on top, are left out, so
the refit time is a lower bound. The last line printed is one JSON object with ``place_s`` and
``refit_s`` (and the per-step times).

Usage: ``python bench/placement.py [--sections 50000] [--new 1000] [--skip tsne,umap]``
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUN_SPECS = (dict(method="kmeans", k="auto"), dict(method="gmm", k="auto"), dict(method="kmeans", k=4))


def synthetic_rows(n: int, *, d: int = 17, n_groups: int = 6, seed: int = 0) -> np.ndarray:
    """``n`` rows of a seeded mixture of ``n_groups`` Gaussians in ``d`` columns."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, size=(n_groups, d))
    which = rng.integers(0, n_groups, size=n)
    return centres[which] + rng.normal(0, 1, size=(n, d)) * rng.uniform(0.5, 1.5, size=d)


def _roundtrip(obj):
    import joblib

    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=3)
    buf.seek(0)
    return joblib.load(buf)


def fit_all(X, kinds, log):
    """Fit every default run and map on ``X``; returns (runs, projectors, seconds per step)."""
    from sectionist.analysis.modeling.projection import Projector
    from sectionist.analysis.modeling.runs import fit_run
    from sectionist.analysis.modeling.specs import RunSpec, SpaceData

    data = SpaceData.from_array(X, space="synthetic17")
    runs, projectors, times = {}, {}, {}
    for spec in RUN_SPECS:
        t0 = time.perf_counter()
        res = fit_run(data, RunSpec("synthetic17", spec["method"], spec["k"]))
        times[res.run_id] = round(time.perf_counter() - t0, 3)
        runs[res.run_id] = res
        log(f"  fit {res.run_id}: K={res.n_clusters} in {times[res.run_id]:.1f} s")
    for kind, dims in kinds:
        t0 = time.perf_counter()
        projectors[(kind, dims)] = Projector(kind, dims, random_state=0, n_jobs=2).fit(X)
        times[f"{kind}{dims}"] = round(time.perf_counter() - t0, 3)
        log(f"  fit map {kind}{dims} in {times[f'{kind}{dims}']:.1f} s")
    return runs, projectors, times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sections", type=int, default=50_000, help="sections fitted first")
    ap.add_argument("--new", type=int, default=1_000, help="sections added afterwards")
    ap.add_argument("--skip", default="", help="comma-separated map kinds to leave out (tsne, umap)")
    args = ap.parse_args(argv)

    from sectionist.analysis.modeling.runmodel import RunModel, place_sections
    from sectionist.analysis.modeling.specs import SpaceData

    def log(msg):
        print(msg, flush=True)

    skip = {s for s in args.skip.split(",") if s}
    kinds = [(k, d) for k, d in (("pca", 2), ("pca", 3), ("tsne", 2), ("umap", 2)) if k not in skip]
    X_all = synthetic_rows(args.sections + args.new)
    X_old, X_new = X_all[:args.sections], X_all[args.sections:]
    log(f"fitting {len(RUN_SPECS)} runs and {len(kinds)} maps on {args.sections} sections")
    runs, projectors, fit_times = fit_all(X_old, kinds, log)
    models = {rid: _roundtrip(RunModel.of(res)) for rid, res in runs.items()}
    projectors = {k: _roundtrip(p) for k, p in projectors.items()}

    log(f"placing {args.new} new sections")
    new = SpaceData.from_array(X_new, space="synthetic17",
                               section_ids=np.array([f"new{i:05d}" for i in range(args.new)]))
    place_times = {}
    t_place = time.perf_counter()
    for rid, model in models.items():
        t0 = time.perf_counter()
        pl = place_sections(model, new)
        place_times[rid] = round(time.perf_counter() - t0, 4)
        log(f"  place {rid}: {len(pl.labels)} sections, clusters {sorted(set(pl.labels.tolist()))} "
            f"in {place_times[rid]:.3f} s")
    for (kind, dims), proj in projectors.items():
        t0 = time.perf_counter()
        E = proj.transform(X_new)
        assert E.shape == (args.new, dims) and np.isfinite(E).all()
        place_times[f"{kind}{dims}"] = round(time.perf_counter() - t0, 4)
        log(f"  place on map {kind}{dims} in {place_times[f'{kind}{dims}']:.3f} s")
    place_s = time.perf_counter() - t_place

    log(f"refitting on all {len(X_all)} sections")
    t_refit = time.perf_counter()
    _, _, refit_times = fit_all(X_all, kinds, log)
    refit_s = time.perf_counter() - t_refit
    log(f"place {place_s:.2f} s vs refit {refit_s:.1f} s ({100 * place_s / refit_s:.2f} % of a refit)")
    print(json.dumps({"place_s": round(place_s, 3), "refit_s": round(refit_s, 3), "sections": args.sections,
                      "new": args.new, "maps": [f"{k}{d}" for k, d in kinds], "fit_s": fit_times,
                      "place_steps_s": place_times, "refit_steps_s": refit_times}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
