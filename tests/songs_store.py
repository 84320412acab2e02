"""A small store for the Songs page's tests (issue #23): the synthetic store (truth labels, three
runs, audio on request) plus a real k-means run with K=3 fitted on it, an expert's name for one of
its clusters, and structure ``segments`` for every song: ``repeats`` at two levels (section and
phrase, with label confidences) and ``merged`` (an older store's rows: no level, no confidence)."""

from __future__ import annotations

import contextlib

import json

import numpy as np
import pandas as pd
from synthetic_store import build_synthetic_store

from sectionist.store.schema import SEGMENTS

#: The section level of every song's ``repeats`` structure: stored labels (not in order of
#: appearance), and their confidences (none for the part heard once). Letters: A B A B C A.
REPEATS_LABELS = [4, 2, 4, 2, 7, 4]
REPEATS_CONFIDENCE = [0.86, 0.62, 0.81, 0.55, np.nan, 0.30]
#: ``merged``'s labels: A A B C B.
MERGED_LABELS = [9, 9, 1, 3, 1]
#: The expert's name of cluster 0 of the K=3 run.
EXPERT_NAME = "Quiet intro"


def build_songs_store(root, *, n_songs: int = 4, sections_per_song: int = 12, section_seconds: float = 3.0,
                      audio: bool = False):
    """Write the store under ``root``; returns ``(store, k3_run_id)``."""
    from sectionist.analysis.modeling.cluster import cluster_store

    store = build_synthetic_store(root, n_sections=n_songs * sections_per_song, sections_per_song=sections_per_song,
                                  section_seconds=section_seconds, audio=audio, audio_sr=8000, random_state=5)
    k3 = cluster_store(store, "classical17", "kmeans", k=3, seed=0, explain=False, stability=False, project=False,
                       progress=False)
    songs = store.read_table("songs")
    for song_id, duration in zip(songs["song_id"], songs["duration_s"]):
        write_segments(store, song_id, float(duration))
    store.update_manifest(lambda m: m)  # a new version: a running app reads the store again
    return store, k3


def write_segments(store, song_id: str, duration: float) -> None:
    """``repeats`` (sections and phrases) and ``merged`` segments of one song, spread over its length."""
    n = len(REPEATS_LABELS)
    bounds = np.linspace(0.0, duration, n + 1)
    half = np.linspace(0.0, duration, 2 * n + 1)
    params = json.dumps({"version": 1})
    rows = pd.concat([
        pd.DataFrame({"song_id": song_id, "scheme": "repeats", "index": np.arange(n, dtype=np.int32),
                      "start_s": bounds[:-1], "end_s": bounds[1:], "label": np.asarray(REPEATS_LABELS, np.int64),
                      "n_types": np.int32(len(set(REPEATS_LABELS))), "params": params, "level": "section",
                      "confidence": np.asarray(REPEATS_CONFIDENCE, float)}),
        pd.DataFrame({"song_id": song_id, "scheme": "repeats", "index": np.arange(2 * n, dtype=np.int32),
                      "start_s": half[:-1], "end_s": half[1:], "label": np.arange(2 * n, dtype=np.int64) % 3,
                      "n_types": np.int32(3), "params": params, "level": "phrase",
                      "confidence": np.full(2 * n, 0.5)}),
    ], ignore_index=True)
    store.write_part(SEGMENTS, SEGMENTS.part(scheme="repeats", song_id=song_id), rows)
    m = len(MERGED_LABELS)
    bounds = np.linspace(0.0, duration, m + 1)
    store.write_part(SEGMENTS, SEGMENTS.part(scheme="merged", song_id=song_id), pd.DataFrame({
        "song_id": song_id, "scheme": "merged", "index": np.arange(m, dtype=np.int32), "start_s": bounds[:-1],
        "end_s": bounds[1:], "label": np.asarray(MERGED_LABELS, np.int64), "n_types": np.int32(3),
        "params": json.dumps({"k": 3})}))


def name_cluster(db_url: str, run_id: str, cluster: int = 0, name: str = EXPERT_NAME, user: str = "ada") -> None:
    """An expert's name for one cluster (the judgement database at ``db_url``; ``user`` exists)."""
    from sectionist.dashboard.auth import accounts
    from sectionist.dashboard.judging.repository import record_cluster_name
    from sectionist.dashboard.models import get_database

    db = get_database(db_url)
    record_cluster_name(db, accounts.get_user(db, user), run_id=run_id, cluster=cluster, name=name)


def find_component(node, wanted):
    """The Dash component of a layout whose ``id`` is ``wanted`` (depth first), or None."""
    if getattr(node, "id", None) == wanted:
        return node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found = find_component(child, wanted)
            if found is not None:
                return found
    return None


@contextlib.contextmanager
def corrections_server(root, secret: str):
    """A served two-song store with ``merged`` structures and audio, and an expert ``ada``: what the
    structure-correction browser tests (Songs page, Lab) correct. Yields ``{"url", "password", "songs",
    "store", "durations"}``."""
    from auth_helpers import make_user
    from browser_helpers import serve_in_thread

    from sectionist.dashboard.app import create_app

    store, _k3 = build_songs_store(root / "store", n_songs=2, sections_per_song=8, audio=True)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key=secret * 40, jobs_dir=root / "jobs")
    password = make_user(db, "ada", "expert")
    data = app.server.extensions["sectionist_data"]
    songs = list(data.songs.index)
    with serve_in_thread(app.server) as url:
        yield {"url": url, "password": password, "songs": songs, "store": store,
               "durations": [float(data.songs.loc[s, "duration_s"]) for s in songs]}
