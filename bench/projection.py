"""Benchmark: our t-SNE step against scikit-learn's, and the whole modelling step at 50 000 sections.

1. The same 20 000 × 64 data (10 Gaussian blobs) is embedded in 2-D by our t-SNE step
   (:class:`sectionist.analysis.modeling.projection.Projector`: openTSNE, FFT-accelerated gradients, PCA
   initialisation, 2 threads, standardised input reduced to 50 principal components) and by
   ``sklearn.manifold.TSNE`` (Barnes–Hut, PCA initialisation, 2 threads) — the named reference,
   measured in the same run. Both maps are checked for quality (10-NN blob accuracy in 2-D), so a
   faster map is not a worse one.
2. A synthetic store of 50 000 sections (classical17 features, truth labels) is modelled with
   :func:`sectionist.analysis.modeling.defaults.run_default_models` (K-Means and GMM with automatic K, stability,
   SHAP for every section, PCA 2/3-D, t-SNE 2-D and UMAP 2-D, comparisons) in a subprocess,
   which reports its wall time and peak resident memory (``getrusage``).

Run by hand: ``.venv/bin/python bench/projection.py`` (add ``--quick`` for a smaller trial).
The last line is one JSON object: ``{"tsne_speedup", "model_50k_s", "model_50k_peak_mb", ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sectionist.store.schema import FEATURES, PROJECTION_INFO, RUNS, SECTIONS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def knn_accuracy(E: np.ndarray, y: np.ndarray, k: int = 10, n_query: int = 2000, seed: int = 0) -> float:
    """Share of query points whose k nearest map neighbours mostly share their blob."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    q = rng.choice(len(E), min(n_query, len(E)), replace=False)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(E)
    idx = nn.kneighbors(E[q], return_distance=False)[:, 1:]
    votes = (y[idx] == y[q][:, None]).mean(axis=1)
    return float((votes > 0.5).mean())


def bench_tsne(n: int, d: int, seed: int = 0) -> dict:
    from sklearn.datasets import make_blobs
    from sklearn.manifold import TSNE

    from sectionist.analysis.modeling.projection import Projector

    X, y = make_blobs(n_samples=n, n_features=d, centers=10, cluster_std=4.0, random_state=seed)
    t0 = time.perf_counter()
    ours = Projector("tsne", 2, random_state=seed, n_jobs=2).fit(X)
    t_ours = time.perf_counter() - t0
    print(f"ours   (openTSNE, {ours.params_['negative_gradient_method']}, n_jobs={ours.params_['n_jobs']}): "
          f"{t_ours:7.1f} s   10-NN accuracy {knn_accuracy(ours.embedding_, y):.3f}", flush=True)

    Z = (X - X.mean(0)) / X.std(0)  # the same standardised input
    t0 = time.perf_counter()
    ref = TSNE(n_components=2, init="pca", random_state=seed, n_jobs=2).fit_transform(Z)
    t_ref = time.perf_counter() - t0
    print(f"sklearn.manifold.TSNE (barnes_hut, n_jobs=2):  {t_ref:7.1f} s   10-NN accuracy {knn_accuracy(ref, y):.3f}",
          flush=True)
    speedup = t_ref / t_ours
    print(f"t-SNE on {n} × {d}: ours is {speedup:.2f}× faster than scikit-learn (target ≥ 2.5×)", flush=True)
    return {"tsne_ours_s": round(t_ours, 2), "tsne_sklearn_s": round(t_ref, 2), "tsne_speedup": round(speedup, 2),
            "tsne_knn_ours": knn_accuracy(ours.embedding_, y), "tsne_knn_sklearn": knn_accuracy(ref, y)}


def make_input_store(root: Path, n_sections: int, seed: int = 0, per_song: int = 100) -> None:
    """Sections + classical17 features + truth labels, drawn from 6 latent 'sounds'."""
    import pandas as pd

    from sectionist.analysis.sections.features import CLASSICAL17
    from sectionist.store import open_store

    rng = np.random.default_rng(seed)
    store = open_store(root)
    n_sounds = 6
    centres = rng.normal(scale=2.0, size=(n_sounds, len(CLASSICAL17)))
    scales = rng.uniform(0.5, 2.0, size=len(CLASSICAL17)) * np.logspace(-2, 3, len(CLASSICAL17))
    names = ["intro", "build", "drop", "break", "outro", "verse"]
    n_songs = int(np.ceil(n_sections / per_song))
    for s in range(n_songs):
        song_id = f"{s:016x}"
        m = min(per_song, n_sections - s * per_song)
        sound = rng.integers(0, n_sounds, size=m)
        feats = (centres[sound] + rng.normal(size=(m, len(CLASSICAL17)))) * scales
        sids = [f"{song_id}-{i:05d}" for i in range(m)]
        store.write_part(SECTIONS, song_id, pd.DataFrame({
            "section_id": sids, "song_id": song_id, "scheme": "fixed", "index": np.arange(m),
            "start_s": 15.0 * np.arange(m), "end_s": 15.0 * np.arange(1, m + 1), "is_central": np.arange(m) % 2 == 0,
            "rank": np.arange(1, m + 1), "truth_label": [names[k] for k in sound],
        }))
        df = pd.DataFrame(feats.astype(np.float32), columns=CLASSICAL17)
        df.insert(0, "song_id", song_id)
        df.insert(0, "section_id", sids)
        store.write_part(FEATURES, song_id, df)


def child_model(store_dir: str) -> None:
    """Runs in a subprocess: model the store, print wall time and peak memory as JSON."""
    from sectionist.analysis.modeling.defaults import run_default_models
    from sectionist.store import open_store

    store = open_store(store_dir, create=False)
    t0 = time.perf_counter()
    runs = run_default_models(store, embedders=(), progress=False)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    table = store.read_table(RUNS).set_index("run_id")
    steps = {r: float(table.loc[r, "seconds"]) for r in runs}
    info = store.read_table(PROJECTION_INFO)
    steps.update({f"  fit {k}{d}": float(s) for k, d, s in zip(info["kind"], info["dims"], info["seconds"])})
    steps.update({f"step: {k}": float(v) for k, v in store.read_manifest()["timings"]["models"].items()})
    print(json.dumps({"seconds": wall, "peak_mb": peak_mb, "runs": runs, "steps": steps,
                      "ari_truth": {r: float(table.loc[r, "ari_truth"]) for r in runs}}))


def bench_model(n_sections: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        t0 = time.perf_counter()
        make_input_store(root, n_sections)
        print(f"synthetic store of {n_sections} sections written in {time.perf_counter() - t0:.1f} s", flush=True)
        out = subprocess.run([sys.executable, __file__, "--child-model", str(root)], capture_output=True, text=True,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            raise SystemExit(f"modelling subprocess failed with code {out.returncode}")
        res = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"modelling {n_sections} sections: {res['seconds']:.1f} s, peak memory {res['peak_mb']:.0f} MB", flush=True)
    for step, s in res["steps"].items():
        print(f"  {step:32s} {s:7.1f} s")
    print("  ARI vs truth: " + ", ".join(f"{r} {a:.3f}" for r, a in res["ari_truth"].items()), flush=True)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (2 000 × 64 t-SNE, 5 000 sections)")
    ap.add_argument("--skip-tsne", action="store_true")
    ap.add_argument("--skip-model", action="store_true")
    ap.add_argument("--child-model", metavar="STORE", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_model:
        child_model(args.child_model)
        return 0
    n_tsne, n_model = (2000, 5000) if args.quick else (20000, 50000)
    result: dict = {}
    if not args.skip_tsne:
        result.update(bench_tsne(n_tsne, 64))
    if not args.skip_model:
        res = bench_model(n_model)
        key = "model_50k" if n_model == 50000 else f"model_{n_model}"
        result[f"{key}_s"] = round(res["seconds"], 1)
        result[f"{key}_peak_mb"] = round(res["peak_mb"], 1)
    result = {k: result[k] for k in sorted(result, key=lambda k: (not k.startswith("tsne_speedup"), k))}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
