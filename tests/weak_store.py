"""A store whose groupings are weak, as on real music (issue #21): for the strength verdicts' tests.

The synthetic store's sections (:func:`synthetic_store.build_synthetic_store`) get new classical
features that carry almost no cluster structure — Gaussian noise around a small offset per song,
so what little structure there is follows the songs — and its runs are replaced by real ones
(:func:`sectionist.analysis.modeling.cluster.cluster_store`: k-means and a Gaussian mixture, with
their bootstrap stability), fitted on those features; the ``classical17`` map is refitted on them
(PCA). A few songs get ``segments`` of a structure scheme, one with recorded repeat confidences.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from synthetic_store import RUNS, build_synthetic_store

from sectionist.store.schema import FEATURES, PROJECTION_INFO, PROJECTIONS, SEGMENTS

#: The runs written: (method, K). With 34 songs, k-means' 20 clusters are mostly single songs (as on
#: real music) and its silhouette about 0.2; the mixture's 3 clusters mix songs and barely separate.
WEAK_RUNS = (("kmeans", 20), ("gmm", 3))


def build_weak_store(root, *, n_songs: int = 34, sections_per_song: int = 4, song_offset: float = 1.5,
                     random_state: int = 0):
    """Write the weak store under ``root`` and return it (``n_songs`` songs of ``sections_per_song``
    sections, ``song_offset`` the spread of the songs' offsets in noise standard deviations)."""
    from sectionist.analysis.modeling.cluster import cluster_store
    from sectionist.analysis.modeling.maps import ensure_maps
    from sectionist.dashboard.judging.runs_cli import delete_run

    rng = np.random.default_rng(random_state)
    store = build_synthetic_store(root, n_sections=n_songs * sections_per_song, sections_per_song=sections_per_song,
                                  section_seconds=2.0, melspec=True, random_state=random_state)
    for run_id, *_ in RUNS:
        delete_run(store, run_id)
    # features without kinds of section: noise, shifted a little per song
    feats = store.read_table(FEATURES)
    value_cols = [c for c in feats.columns if c not in ("section_id", "song_id", "tempo_bpm")]
    songs = sorted(feats["song_id"].unique())
    offsets = {s: rng.normal(0, song_offset, len(value_cols)) for s in songs}
    noise = rng.normal(0, 1, (len(feats), len(value_cols)))
    shift = np.stack([offsets[s] for s in feats["song_id"]])
    feats[value_cols] = (noise + shift).astype(np.float32) + 3.0
    for song_id, part in feats.groupby("song_id"):
        store.write_part(FEATURES, song_id, part.reset_index(drop=True))
    # the classical17 maps were drawn from the old features: refit one on the new ones
    for part in list(store.list_parts(PROJECTION_INFO)):
        if part.startswith("classical17/"):
            store.delete_part(PROJECTION_INFO, part)
            store.delete_part(PROJECTIONS, part)
    run_ids = [cluster_store(store, "classical17", method, k=k, seed=random_state, explain=True, stability=True,
                             n_repeats=4, project=False, progress=False) for method, k in WEAK_RUNS]
    ensure_maps(store, "classical17", kinds=(("pca", 2),), seed=random_state, progress=False)
    _write_segments(store, songs[:3])
    store.update_manifest(lambda m: m)  # a new version: a running app reads the store again
    return store, run_ids


def _write_segments(store, song_ids):
    """A ``merged`` structure for each song: A B A B C (the first song's repeats with confidences,
    the others' without), and a song whose segments are all different."""
    plans = [([0, 1, 0, 1, 2], [0.42, 0.35, 0.40, 0.31, np.nan]), ([0, 1, 0, 1, 2], [np.nan] * 5),
             ([0, 1, 2, 3], [np.nan] * 4)]
    for song_id, (labels, conf) in zip(song_ids, plans):
        n = len(labels)
        bounds = np.linspace(0.0, 8.0, n + 1)
        store.write_part(SEGMENTS, f"merged/{song_id}", pd.DataFrame({
            "song_id": song_id, "scheme": "merged", "index": np.arange(n, dtype=np.int32),
            "start_s": bounds[:-1], "end_s": bounds[1:], "label": np.asarray(labels, np.int64),
            "n_types": np.int32(len(set(labels))), "params": json.dumps({"k": len(set(labels))}),
            "level": "section", "confidence": np.asarray(conf, float)}))
