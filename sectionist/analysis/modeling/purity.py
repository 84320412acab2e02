"""Song purity: how far a run's clusters are made of one song each (pure, over labels and song ids).

A corpus-wide run meant to find kinds of section (intro, chorus, drop) fails in a telling way when
each cluster is one song: its clusters then say "this is song X", not "this is a chorus". Per
cluster, the **song purity** is the share of its sections that come from its largest song (1: one
song only; 1/n: n songs in equal shares) and the **effective number of songs** is the inverse
Simpson index ``1 / Σ p_i²`` over the songs' shares ``p_i`` (1: one song; n: n songs in equal
shares; a few sections of other songs barely raise it). Per run, both are averaged over the
clusters weighted by their sizes (noise −1 left out), and the clusters that are mostly one song
(purity ≥ :data:`MOSTLY_ONE_SONG`) are counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sectionist.analysis.errors import ParameterError

__all__ = ["MOSTLY_ONE_SONG", "song_purity"]

#: A cluster whose largest song has at least this share of its sections is "mostly one song"
#: (``runs.clusters_one_song`` counts them).
MOSTLY_ONE_SONG = 0.5


def song_purity(labels, song_ids) -> tuple[pd.DataFrame, dict]:
    """Song purity and effective number of songs of every cluster, and of the run.

    Parameters
    ----------
    labels : array-like [shape=(n,)], int
        Cluster of each section, −1 = noise.
    song_ids : array-like [shape=(n,)]
        Song of each section.

    Returns
    -------
    clusters : pd.DataFrame
        One row per label (sorted, noise included): ``cluster``, ``size``, ``song_purity`` (share of
        the cluster's sections from its largest song) and ``songs_effective`` (``1 / Σ p_i²`` over the
        songs' shares); NaN for noise −1, which is no cluster.
    run : dict
        ``song_purity`` and ``songs_effective``: means over the clusters weighted by size (noise
        left out; NaN without any cluster); ``clusters_one_song``: how many clusters have
        ``song_purity ≥`` :data:`MOSTLY_ONE_SONG`.
    """
    labels = np.asarray(labels)
    song_ids = np.asarray(song_ids)
    if labels.ndim != 1 or song_ids.shape != labels.shape:
        raise ParameterError(f"labels have shape {labels.shape} and song ids {song_ids.shape}: one of each per section")
    rows = []
    for c in np.unique(labels):
        members = labels == c
        size = int(members.sum())
        if c < 0:
            rows.append((int(c), size, np.nan, np.nan))
            continue
        _, counts = np.unique(song_ids[members].astype(str), return_counts=True)
        shares = counts / size
        rows.append((int(c), size, float(shares.max()), float(1.0 / np.sum(shares * shares))))
    clusters = pd.DataFrame(rows, columns=["cluster", "size", "song_purity", "songs_effective"])
    real = clusters[clusters["cluster"] >= 0]
    weights = real["size"].to_numpy(np.float64)
    if weights.sum() > 0:
        purity = float(np.average(real["song_purity"], weights=weights))
        effective = float(np.average(real["songs_effective"], weights=weights))
    else:
        purity = effective = float("nan")
    run = {"song_purity": purity, "songs_effective": effective,
           "clusters_one_song": int((real["song_purity"] >= MOSTLY_ONE_SONG).sum())}
    return clusters, run
