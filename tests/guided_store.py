"""A small synthetic store for the guided-version tests (no audio): three kinds of section that differ
in two classical17 columns, while a strong two-blob pattern in a third column (and noise in the rest)
misleads plain K-Means; ``truth_label`` names each section's kind."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from sectionist.analysis.sections.feature_names import feature_columns
from sectionist.store import open_store

N_SONGS = 4
PER_SONG = 18
KINDS = ("verse", "chorus", "bridge")


def make_guided_store(root, seed: int = 3):
    """Write the store under ``root`` and fit its one run (``classical17-kmeans-k3``, no maps); returns the store."""
    from sectionist.analysis.modeling.cluster import cluster_store

    rng = np.random.default_rng(seed)
    store = open_store(root)
    cols = feature_columns("classical17")
    for s in range(N_SONGS):
        song_id = f"song{s:02d}"
        ids = [f"{song_id}-{i:05d}" for i in range(PER_SONG)]
        kind = np.arange(PER_SONG) % 3
        store.write_part("songs", song_id, pd.DataFrame([{
            "song_id": song_id, "uri": f"/nonexistent/{song_id}.wav", "title": f"Song {s}", "format": "WAV",
            "duration_s": 15.0 * PER_SONG, "sample_rate": 22050, "channels": 1, "analysis_sr": 22050,
            "tempo_bpm": 120.0, "n_sections": PER_SONG, "analyzed_with": "test",
            "content_hash": hashlib.sha256(song_id.encode()).hexdigest(), "truth_path": None,
        }]))
        store.write_part("sections", song_id, pd.DataFrame({
            "section_id": ids, "song_id": song_id, "scheme": "fixed", "index": np.arange(PER_SONG),
            "start_s": np.arange(PER_SONG) * 15.0, "end_s": np.arange(1, PER_SONG + 1) * 15.0,
            "is_central": True, "rank": np.arange(1, PER_SONG + 1), "truth_label": [KINDS[k] for k in kind],
        }))
        X = rng.normal(0.0, 1.0, (PER_SONG, len(cols)))
        X[:, 0] += np.array([0.0, 3.0, 0.0])[kind]
        X[:, 1] += np.array([0.0, 0.0, 3.0])[kind]
        X[:, 2] += 4.0 * rng.integers(0, 2, PER_SONG)  # a pattern that is no kind of section
        X[:, 3] += 4.0 * rng.integers(0, 2, PER_SONG)
        feats = pd.DataFrame(X.astype(np.float32), columns=cols)
        feats.insert(0, "song_id", song_id)
        feats.insert(0, "section_id", ids)
        store.write_part("features", song_id, feats)
    cluster_store(store, "classical17", "kmeans", k=3, explain=False, stability=False, project=False, progress=False)
    return store


def truth(store) -> pd.Series:
    """Each section's kind, indexed by section id."""
    sec = store.read_table("sections")
    return sec.set_index("section_id")["truth_label"]


def snapshot(root) -> dict:
    """Every file under ``root`` with its bytes (what 'nothing written' and 'untouched' compare)."""
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def add_frames(store, embedder: str = "fakenet", seed: int = 0, per_section: int = 3) -> None:
    """Frames of a made-up embedder (8 columns) for every section: the kinds differ in two columns, a
    third splits frames into two blobs that are no kind."""
    from sectionist.store.schema import FRAMES

    rng = np.random.default_rng(seed)
    sec = store.read_table("sections")
    kind = {k: i for i, k in enumerate(KINDS)}
    for song_id, rows in sec.groupby("song_id"):
        out = []
        for _, r in rows.iterrows():
            k = kind[r["truth_label"]]
            for f in range(per_section):
                v = rng.normal(0.0, 1.0, 8)
                v[0] += 3.0 * (k == 1)
                v[1] += 3.0 * (k == 2)
                v[2] += 4.0 * rng.integers(0, 2)
                out.append({"song_id": song_id, "section_id": r["section_id"], "embedder": embedder,
                            "start_s": r["start_s"] + 5.0 * f, "end_s": r["start_s"] + 5.0 * (f + 1),
                            **{f"e{i}": np.float32(v[i]) for i in range(8)}})
        store.write_part(FRAMES, FRAMES.part(embedder=embedder, song_id=song_id), pd.DataFrame(out))
