"""A small synthetic store for the judgement and auth tests (no audio needed).

Three songs of ten 15-s sections, two runs (``km`` and ``gmm``) over three clusters that disagree on
a known set of sections, ``clusters`` rows with prototypes and borderline lists, stabilities.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from sectionist.store import open_store

N_SONGS = 3
PER_SONG = 10
RUNS = ("km", "gmm")


def section_ids() -> list[str]:
    return [f"song{s:02d}-{i:05d}" for s in range(N_SONGS) for i in range(PER_SONG)]


def labels(run_id: str) -> np.ndarray:
    """Cluster labels of every section (in :func:`section_ids` order) for one run."""
    n = N_SONGS * PER_SONG
    base = np.arange(n) % 3
    if run_id == "gmm":
        base = base.copy()
        base[:5] = (base[:5] + 1) % 3  # the two runs disagree on the first five sections
    return base


def make_judge_store(root) -> str:
    """Write the store under ``root``; return its URI."""
    store = open_store(root)
    ids = section_ids()
    for s in range(N_SONGS):
        song_id = f"song{s:02d}"
        store.write_part("songs", song_id, pd.DataFrame([{
            "song_id": song_id, "uri": f"/nonexistent/{song_id}.wav", "title": f"Song {s}", "format": "WAV",
            "duration_s": 150.0, "sample_rate": 22050, "channels": 1, "analysis_sr": 22050, "tempo_bpm": 120.0,
            "n_sections": PER_SONG, "analyzed_with": "test", "content_hash": song_id * 4, "truth_path": None,
        }]))
        store.write_part("sections", song_id, pd.DataFrame({
            "section_id": [f"{song_id}-{i:05d}" for i in range(PER_SONG)],
            "song_id": song_id, "scheme": "fixed", "index": np.arange(PER_SONG),
            "start_s": np.arange(PER_SONG) * 15.0, "end_s": np.arange(1, PER_SONG + 1) * 15.0,
            "is_central": True, "rank": np.arange(1, PER_SONG + 1), "truth_label": None,
        }))
    rng = np.random.default_rng(0)
    for run_id in RUNS:
        lab = labels(run_id)
        store.write_part("runs", run_id, pd.DataFrame([{
            "run_id": run_id, "space": "classical17", "method": "kmeans" if run_id == "km" else "gmm",
            "scaling": "standard", "level": "section", "k": 3, "seed": 0, "params": "{}", "silhouette": 0.3,
            "davies_bouldin": 1.0, "calinski_harabasz": 10.0, "bic": None, "stability_ari": 0.8, "fidelity": 0.9,
            "ari_truth": None, "nmi_truth": None, "n_sections": len(ids), "n_clusters": 3, "curves": "{}",
            "created_at": "2026-01-01T00:00:00Z", "label": run_id,
        }]))
        stability = np.linspace(0.2, 1.0, len(ids)).astype(np.float32)
        store.write_part("clusterings", run_id, pd.DataFrame({
            "run_id": run_id, "section_id": ids, "label": lab.astype(np.int64),
            "confidence": rng.random(len(ids)).astype(np.float32),
            "distance": rng.random(len(ids)).astype(np.float32),
            "silhouette": rng.uniform(-0.2, 0.8, len(ids)).astype(np.float32),
            "stability": stability,
        }))
        rows = []
        for c in range(3):
            members = [sid for sid, l in zip(ids, lab) if l == c]
            rows.append({"run_id": run_id, "cluster": c, "size": len(members), "n_songs": N_SONGS,
                         "centroid": json.dumps([0.0]), "profile": json.dumps({}),
                         "prototypes": members[:3], "borderline": members[-3:], "shap_ranking": json.dumps([])})
        store.write_part("clusters", run_id, pd.DataFrame(rows))
    store.write_manifest({"config": {}, "songs": {}})
    return str(store.uri)


def race_verdicts(db, user, section_id: str, n: int, run_id: str = "km"):
    """``n`` threads record ``user``'s verdict on one section at once; returns the full history
    (a DataFrame) after asserting that no call failed."""
    import threading

    from sectionist.dashboard.judging import repository

    errors = []

    def post(i):
        try:
            repository.record_judgement(db, user, run_id=run_id, section_id=section_id,
                                        verdict=repository.VERDICTS[i % 3], comment=f"#{i}")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return repository.judgements_frame(db, history=True)
