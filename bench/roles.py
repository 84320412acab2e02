"""Benchmark: do song-relative ("role") spaces cluster kinds of section rather than songs? (issue #21)

A corpus is analysed into a store (classical features only), then K-Means is fitted through
``sectionist.analysis.modeling.cluster.cluster_store`` (the path ``sectionist cluster`` takes, which
stores the run's song purity) on ``classical17`` and on its song-relative spaces ``classical17-role``
(each feature a z-score within its song) and ``classical17-rel`` (the difference from the song's
mean), with K chosen by the default K rule and with a fixed K (default: the number of truth labels;
with truth local to each song, 20).
For every run it prints K, the ARI against the truth across songs (the truth's labels name kinds of
section shared by the songs, as the demo's intro / build / drop / break / outro), the mean ARI
within songs (each song's sections against its own truth, weighted by its sections), and the song
purity columns the run stored (``song_purity``: share of a cluster from its largest song, averaged
over clusters by size; ``songs_effective``: effective number of songs per cluster;
``clusters_one_song``: clusters that are at least half one song).

Corpora: the demo corpus (``sectionist demo-corpus``; default 12 songs × 180 s, written when
``--corpus`` is not given) or any folder of songs with truth JSONs beside them (``--corpus DIR``).
With ``--truth per-song`` (labels local to each song, as the tracker corpus's) the ARI across songs
means nothing: it is printed as null and only purity and the ARI within songs are reported.

The last line is one JSON object: ``ari_absolute``, ``ari_role``, ``ari_rel``, ``purity_absolute``,
``purity_role``, ``purity_rel`` (K by the rule), the same with ``_k{K}`` appended (fixed K), and
``ari_within_*``, ``songs_effective_*``, ``k_*`` likewise.

Usage: python bench/roles.py [--corpus DIR] [--truth cross|per-song] [--demo-songs 12] [--demo-seconds 180]
       [--k K] [--method kmeans] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SPACES = (("absolute", "classical17"), ("role", "classical17-role"), ("rel", "classical17-rel"))
#: The fixed K when the truth is local to each song (its label count says nothing about kinds across
#: songs): enough clusters that they could each be one song's part, as on a real corpus's map.
PER_SONG_K = 20


def analyse(folder: Path, store_dir: Path):
    """Features only (no embeddings, no clusterings) of every song of ``folder`` into a store (resumes)."""
    from sectionist.analysis.run.config import AnalysisConfig
    from sectionist.analysis.run.pipeline import analyze
    from sectionist.store import open_store

    store = open_store(store_dir)
    t0 = time.perf_counter()
    summary = analyze([str(folder)], store, AnalysisConfig(embed=False, cluster=False), progress=False)
    print(f"analysed {folder} into {store_dir} in {time.perf_counter() - t0:.1f} s")
    for line in summary.lines()[:3]:
        print("  " + line)
    return store


def within_song_ari(labels, truth, songs) -> float:
    """Mean over songs (weighted by their sections with truth) of the ARI of a run's labels against the
    song's own truth labels; songs with a single truth label or a single section are left out."""
    from sklearn.metrics import adjusted_rand_score

    total, weight = 0.0, 0
    for song in np.unique(songs):
        m = (songs == song) & np.array([isinstance(t, str) and bool(t) for t in truth])
        if m.sum() < 2 or len(set(truth[m])) < 2:
            continue
        total += adjusted_rand_score(truth[m], labels[m]) * m.sum()
        weight += int(m.sum())
    return total / weight if weight else float("nan")


def fit(store, space: str, method: str, k, *, cross: bool) -> dict:
    from sectionist.analysis.modeling.cluster import cluster_store
    from sectionist.analysis.modeling.spaces import read_sections
    from sectionist.store.schema import CLUSTERINGS, RUNS

    t0 = time.perf_counter()
    run_id = cluster_store(store, space, method, k=k, explain=False, stability=False, project=False, progress=False)
    secs = time.perf_counter() - t0
    run = store.read_part(RUNS, run_id).iloc[0]
    cl = store.read_part(CLUSTERINGS, run_id)
    sections = read_sections(store).set_index("section_id")
    truth = sections["truth_label"].reindex(cl["section_id"]).to_numpy(dtype=object)
    songs = sections["song_id"].reindex(cl["section_id"]).to_numpy()
    return {"run_id": run_id, "k": int(run["n_clusters"]),
            "ari": float(run["ari_truth"]) if cross else None,
            "ari_within": within_song_ari(cl["label"].to_numpy(), truth, songs),
            "purity": float(run["song_purity"]), "songs_effective": float(run["songs_effective"]),
            "clusters_one_song": int(run["clusters_one_song"]), "seconds": round(secs, 2)}


def _fmt(v, width=8):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–".rjust(width)
    return (f"{v:.3f}" if isinstance(v, float) else str(v)).rjust(width)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=None, help="folder of songs with truth JSONs (default: write the demo corpus)")
    ap.add_argument("--truth", choices=("cross", "per-song"), default="cross",
                    help="cross: truth labels are kinds shared by the songs (demo); per-song: local to each song")
    ap.add_argument("--demo-songs", type=int, default=12)
    ap.add_argument("--demo-seconds", type=float, default=180.0)
    ap.add_argument("--k", type=int, default=None, help="the fixed K (default: the number of truth labels; "
                    f"{PER_SONG_K} with --truth per-song)")
    ap.add_argument("--method", default="kmeans")
    ap.add_argument("--work", default=None, help="folder for the corpus and the store (default: a temporary one; "
                    "an existing store is reused and its songs skipped)")
    args = ap.parse_args(argv)
    cross = args.truth == "cross"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.corpus:
            corpus = Path(args.corpus)
        else:
            from sectionist.analysis.corpus.demo import make_corpus

            corpus = work / "demo-songs"
            make_corpus(corpus, n_songs=args.demo_songs, seconds=args.demo_seconds, seed=0, progress=False)
        store = analyse(corpus, work / "store")
        from sectionist.analysis.modeling.spaces import read_sections

        sections = read_sections(store)
        truth = sections["truth_label"].dropna()
        n_truth = int(truth[truth != ""].nunique())
        k_fixed = args.k or (max(2, n_truth) if cross else PER_SONG_K)
        print(f"{len(sections)} sections of {sections['song_id'].nunique()} songs; truth: {n_truth} labels "
              f"({'shared across songs' if cross else 'local to each song'}); method {args.method}, "
              f"K by the rule and K={k_fixed}")
        print(f"{'run':38s} {'K':>3s} {'ARI':>8s} {'ARIsong':>8s} {'purity':>8s} {'songs':>8s} {'1song':>6s}")
        out = {}
        for k in ("auto", k_fixed):
            for name, space in SPACES:
                r = fit(store, space, args.method, k, cross=cross)
                print(f"{r['run_id']:38s} {r['k']:3d} {_fmt(r['ari'])} {_fmt(r['ari_within'])} {_fmt(r['purity'])} "
                      f"{_fmt(r['songs_effective'])} {r['clusters_one_song']:6d}")
                tail = "" if k == "auto" else f"_k{k}"
                for key in ("ari", "ari_within", "purity", "songs_effective", "k"):
                    v = r[key]
                    out[f"{key}_{name}{tail}"] = round(v, 4) if isinstance(v, float) and math.isfinite(v) else (
                        v if not isinstance(v, float) else None)
        ok = cross and out["ari_role"] is not None and out["ari_role"] >= out["ari_absolute"]
        print(f"acceptance (role ARI ≥ absolute ARI, K by the rule): {'yes' if ok else 'no' if cross else 'n/a'}")
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
