"""A synthetic store in the full ``docs/store.md`` layout, for the dashboard's tests and benchmark.

Nothing here analyses audio: sections are drawn from a small number of latent "sounds" (a
Gaussian mixture), every table is filled from those draws (features, frames, tags, runs,
clusterings, clusters, projections, explanations, comparisons), and — on request — each song gets
a real, short WAV file whose sections are tones chosen by their sound, so the audio and
spectrogram routes have something true to serve. Everything is seeded.

Use :func:`build_synthetic_store` (``n_sections=100_000`` for the benchmark, a few dozen with
``audio=True`` for tests).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sectionist.analysis.errors import ParameterError
from sectionist.store import open_store

EMBEDDER = "synthnet"
TAG_MODEL = "musicnn"
TAGS = [
    "guitar", "drums", "piano", "vocal", "beat", "ambient", "electronic", "rock", "quiet", "loud",
    "bass", "synth", "strings", "techno", "female", "male", "slow", "fast", "classical", "pop",
]
#: (run_id, space, method, k) of the runs written.
RUNS = [
    ("classical17-kmeans-k6", "classical17", "kmeans", 6),
    ("classical-gmm-k5", "classical", "gmm", 5),
    (f"{EMBEDDER}-hdbscan", EMBEDDER, "hdbscan", 6),
]


def _feature_lists():
    from sectionist.analysis.sections.features import CLASSICAL, CLASSICAL17

    return CLASSICAL17, CLASSICAL


def build_synthetic_store(root, *, n_sections: int = 120, sections_per_song: int = 20,
                          n_sounds: int = 6, section_seconds: float = 15.0, audio: bool = False,
                          audio_sr: int = 8000, embed_dim: int = 16, frames_per_section: int = 2,
                          part_per_song: bool = True, melspec: bool = True, random_state: int = 0):
    """Write a synthetic store under ``root`` and return it (an :class:`analysis.store.Store`).

    Parameters
    ----------
    root : str or Path
        Store folder (created).
    n_sections : int
        Total number of sections (songs hold ``sections_per_song`` each, the last one fewer).
    sections_per_song : int
        Sections per song.
    n_sounds : int
        Number of latent sounds the sections are drawn from (the "true" clusters).
    section_seconds : float
        Length of a section in seconds.
    audio : bool
        Write a WAV file per song under ``root/../songs`` (``songs.uri`` points to it). Without
        audio, ``uri`` names a file that does not exist.
    audio_sr : int
        Sample rate of the written audio.
    embed_dim, frames_per_section : int
        Shape of the ``frames`` table of the synthetic embedder ``synthnet``.
    part_per_song : bool
        One part per song, as the pipeline writes it (``False``: one part per 1000 songs, which
        writes a 100 000-section store much faster; readers see the same tables).
    melspec : bool
        Write the ``melspec`` table (each section's mean log-mel spectrum, 64 bands).
    random_state : int
        Seed.

    Returns
    -------
    store : analysis.store.Store
    """
    if n_sections < 2 or sections_per_song < 1 or n_sounds < 2:
        raise ParameterError(f"n_sections={n_sections}, sections_per_song={sections_per_song}, "
                             f"n_sounds={n_sounds}: need ≥2 sections, ≥1 per song, ≥2 sounds")
    rng = np.random.default_rng(random_state)
    classical17, classical = _feature_lists()
    store = open_store(root)
    root = Path(store.uri)
    n_songs = -(-n_sections // sections_per_song)

    # ---- songs and sections ------------------------------------------------------------------
    song_ids = [f"{i:016x}" for i in rng.integers(0, 2**63, n_songs, dtype=np.int64)]
    song_of = np.repeat(np.arange(n_songs), sections_per_song)[:n_sections]
    index = np.concatenate([np.arange(sections_per_song)] * n_songs)[:n_sections]
    counts = np.bincount(song_of, minlength=n_songs)
    # each song cycles through a few sounds (verse/chorus-like), so sounds recur within songs
    song_sounds = np.stack([rng.choice(n_sounds, size=3, replace=False) for _ in range(n_songs)])
    pattern = np.array([0, 0, 1, 0, 1, 2, 1, 1, 2, 0])
    sound = song_sounds[song_of, pattern[index % len(pattern)]]
    start = index * section_seconds
    end = start + section_seconds
    section_ids = np.array([f"{song_ids[s]}-{i:05d}" for s, i in zip(song_of, index)], dtype=object)
    is_central = rng.random(n_sections) < 0.6

    audio_dir = root.parent / f"{root.name}-songs"
    titles = [f"Synthetic song {i + 1:04d}" for i in range(n_songs)]
    uris = [str(audio_dir / f"song{i + 1:04d}.wav") for i in range(n_songs)]
    if audio:
        audio_dir.mkdir(parents=True, exist_ok=True)
        _write_audio(uris, song_of, sound, section_seconds, audio_sr, rng)

    songs = pd.DataFrame({
        "song_id": song_ids, "uri": uris, "title": titles, "format": "WAV",
        "duration_s": counts * section_seconds, "sample_rate": audio_sr, "channels": 1,
        "analysis_sr": 22050, "tempo_bpm": rng.uniform(70, 160, n_songs).round(1),
        "n_sections": counts, "analyzed_with": "synthetic", "content_hash": [s * 4 for s in song_ids],
        "truth_path": None,
    })
    sections = pd.DataFrame({
        "section_id": section_ids, "song_id": np.array(song_ids, dtype=object)[song_of], "scheme": "fixed",
        "index": index.astype(np.int64), "start_s": start.astype(np.float64), "end_s": end.astype(np.float64),
        "is_central": is_central, "rank": np.zeros(n_sections, np.int64),
        "truth_label": np.array([chr(ord("A") + s) for s in range(n_sounds)], dtype=object)[sound],
    })
    sections["rank"] = sections.groupby("song_id")["start_s"].rank(method="first").astype(np.int64)

    # ---- features: mixture of sounds ----------------------------------------------------------
    n_feat = len(classical)
    centres = rng.normal(0, 1, (n_sounds, n_feat)).astype(np.float32)
    scale = rng.uniform(0.5, 3, n_feat).astype(np.float32)
    offset = rng.uniform(-1, 5, n_feat).astype(np.float32)
    z = centres[sound] + rng.normal(0, 0.6, (n_sections, n_feat)).astype(np.float32)
    feat = z * scale + offset
    features = pd.DataFrame(feat, columns=classical)
    features.insert(0, "song_id", sections["song_id"].values)
    features.insert(0, "section_id", section_ids)
    features["tempo_bpm"] = songs["tempo_bpm"].values[song_of].astype(np.float32)

    # ---- frames of the synthetic embedder ------------------------------------------------------
    emb_centres = rng.normal(0, 1, (n_sounds, embed_dim)).astype(np.float32)
    f_rep = np.repeat(np.arange(n_sections), frames_per_section)
    f_off = np.tile(np.arange(frames_per_section), n_sections) * section_seconds / frames_per_section
    emb = emb_centres[sound[f_rep]] + rng.normal(0, 0.5, (len(f_rep), embed_dim)).astype(np.float32)
    frames = pd.DataFrame(emb, columns=[f"e{i}" for i in range(embed_dim)])
    frames.insert(0, "end_s", start[f_rep] + f_off + section_seconds / frames_per_section)
    frames.insert(0, "start_s", start[f_rep] + f_off)
    frames.insert(0, "embedder", EMBEDDER)
    frames.insert(0, "section_id", section_ids[f_rep])
    frames.insert(0, "song_id", sections["song_id"].values[f_rep])

    # ---- tags: each sound prefers a few tags ----------------------------------------------------
    n_tags = 5
    pref = np.stack([rng.permutation(len(TAGS)) for _ in range(n_sounds)])
    t_rep = np.repeat(np.arange(n_sections), n_tags)
    jitter = rng.integers(0, 2, n_sections * n_tags)
    tag_idx = pref[sound[t_rep], np.tile(np.arange(n_tags), n_sections) + jitter * n_tags]
    probs = np.sort(rng.uniform(0.05, 0.9, (n_sections, n_tags)), axis=1)[:, ::-1].ravel()
    tags = pd.DataFrame({
        "section_id": section_ids[t_rep], "song_id": sections["song_id"].values[t_rep], "model": TAG_MODEL,
        "rank": np.tile(np.arange(1, n_tags + 1), n_sections).astype(np.int64),
        "tag": np.array(TAGS, dtype=object)[tag_idx], "probability": probs.astype(np.float32),
    })

    part_names = song_ids if part_per_song else [f"batch-{i:05d}" for i in range(-(-n_songs // 1000))]
    part_of_song = np.arange(n_songs) if part_per_song else np.arange(n_songs) // 1000
    if melspec:
        # each sound: two spectral peaks over a falling floor, in dB
        n_mels = 64
        bands = np.arange(n_mels)
        peaks = rng.integers(4, n_mels - 4, (n_sounds, 2))
        shape = np.stack([-0.6 * bands - 20 + 35 * np.exp(-0.5 * ((bands - p[0]) / 2) ** 2)
                          + 25 * np.exp(-0.5 * ((bands - p[1]) / 3) ** 2) for p in peaks])
        mel = (shape[sound] + rng.normal(0, 2, (n_sections, n_mels))).astype(np.float32)
        mel_df = pd.DataFrame(mel, columns=[f"mel{i}" for i in range(n_mels)])
        mel_df.insert(0, "song_id", sections["song_id"].values)
        mel_df.insert(0, "section_id", section_ids)
        _write_by(store, "melspec", mel_df, part_of_song[song_of], part_names)
    _write_by(store, "features", features, part_of_song[song_of], part_names)
    _write_by(store, "sections", sections, part_of_song[song_of], part_names)
    _write_by(store, "tags", tags, part_of_song[song_of][t_rep], part_names, prefix=f"{TAG_MODEL}/")
    _write_by(store, "frames", frames, part_of_song[song_of][f_rep], part_names, prefix=f"{EMBEDDER}/")
    _write_by(store, "songs", songs, part_of_song, part_names)

    # ---- projections per space ------------------------------------------------------------------
    spaces = {"classical17": z[:, :len(classical17)], "classical": z, EMBEDDER: emb.reshape(
        n_sections, frames_per_section, embed_dim).mean(axis=1)}
    for space, X in spaces.items():
        Xc = X - X.mean(axis=0)
        # PCA from a small random sketch (exact enough, fast at 100 000 rows)
        _, sv, vt = np.linalg.svd(Xc[rng.choice(n_sections, min(n_sections, 5000), replace=False)],
                                  full_matrices=False)
        pcs = Xc @ vt[:3].T
        evr = (sv ** 2 / np.sum(sv ** 2))[:3]
        blob = rng.normal(0, 1, (n_sounds, 3)) * 6
        for kind, dims, xyz in [
            ("pca", 2, pcs[:, :2]), ("pca", 3, pcs),
            ("tsne", 2, blob[sound, :2] + rng.normal(0, 1, (n_sections, 2))),
            ("umap", 2, blob[sound, :2] * 0.7 + rng.normal(0, 0.5, (n_sections, 2))),
            ("umap", 3, blob[sound] * 0.7 + rng.normal(0, 0.5, (n_sections, 3))),
        ]:
            proj = pd.DataFrame({"space": space, "kind": kind, "dims": dims, "section_id": section_ids,
                                 "x": xyz[:, 0].astype(np.float32), "y": xyz[:, 1].astype(np.float32),
                                 "z": xyz[:, 2].astype(np.float32) if dims == 3 else None})
            store.write_part("projections", f"{space}/{kind}{dims}", proj)
            store.write_part("projection_info", f"{space}/{kind}{dims}", pd.DataFrame({
                "space": [space], "kind": [kind], "dims": [dims],
                "params": [json.dumps({"random_state": random_state})],
                "explained_variance_ratio": [evr[:dims].tolist() if kind == "pca" else None]}))

    # ---- runs ------------------------------------------------------------------------------------
    labels_by_run = {}
    for r, (run_id, space, method, k) in enumerate(RUNS):
        labels = _run_labels(sound, k, n_sounds, method, rng)
        labels_by_run[run_id] = labels
        X = spaces[space]
        cols = classical17 if space == "classical17" else classical if space == "classical" else \
            [f"e{i}" for i in range(embed_dim)]
        _write_run(store, run_id, space, method, k, labels, X, cols, section_ids, sound, feat, classical,
                   classical17, spaces, rng, r, random_state)
    run_ids = [r[0] for r in RUNS]
    for i, a in enumerate(run_ids):
        for b in run_ids[i + 1:]:
            _write_comparison(store, a, b, labels_by_run[a], labels_by_run[b], section_ids)

    store.write_manifest({
        "config": {"synthetic": True, "n_sections": n_sections, "random_state": random_state},
        "libraries": {}, "songs": {u: {"status": "ok", "song_id": s} for u, s in zip(uris, song_ids)},
        "errors": {}, "timings": {}, "embedders": [EMBEDDER],
    })
    return store


def _write_by(store, table, df, part_codes, part_names, prefix=""):
    order = np.argsort(part_codes, kind="stable")
    codes = np.asarray(part_codes)[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(codes)]])
    for s, e in zip(starts, ends):
        store.write_part(table, prefix + part_names[codes[s]], df.iloc[order[s:e]].reset_index(drop=True))


def _run_labels(sound, k, n_sounds, method, rng):
    perm = rng.permutation(n_sounds)
    labels = perm[sound] % k
    flip = rng.random(len(sound)) < 0.08
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    if method == "hdbscan":
        labels[rng.random(len(sound)) < 0.05] = -1
    return labels.astype(np.int64)


def _write_run(store, run_id, space, method, k, labels, X, cols, section_ids, sound, feat, classical,
               classical17, spaces, rng, r, random_state):
    n = len(labels)
    clusters = sorted(set(labels.tolist()) - {-1})
    centroids = {c: X[labels == c].mean(axis=0) for c in clusters}
    C = np.stack([centroids[c] for c in clusters])
    lab_pos = np.searchsorted(clusters, np.where(labels < 0, clusters[0], labels))
    # distances to every centroid without an (n, k, d) temporary (100 000 sections fit in memory)
    d_all = np.sqrt(np.maximum((X * X).sum(axis=1)[:, None] - 2 * X @ C.T + (C * C).sum(axis=1)[None, :], 0))
    own = d_all[np.arange(n), lab_pos]
    d_other = np.where(np.arange(len(clusters))[None, :] == lab_pos[:, None], np.inf, d_all).min(axis=1)
    sil = ((d_other - own) / np.maximum(np.maximum(d_other, own), 1e-9)).astype(np.float32)
    conf = (1 / (1 + np.exp(-(d_other - own)))).astype(np.float32)
    stability = np.clip(conf + rng.normal(0, 0.05, n), 0, 1).astype(np.float32)
    sil[labels < 0] = np.nan
    soft = method == "gmm"
    proba = None
    if soft:
        logits = -d_all
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        proba = [row.astype(np.float32).tolist() for row in p] if n <= 20000 else None
    clustering = pd.DataFrame({"run_id": run_id, "section_id": section_ids, "label": labels,
                               "confidence": conf, "distance": own.astype(np.float32), "silhouette": sil,
                               "stability": stability})
    if proba is not None:
        clustering["proba"] = proba
    store.write_part("clusterings", run_id, clustering)

    ks = list(range(2, 11))
    true_k = k
    curves = {"k": ks,
              "inertia": [float(1000 / kk + (0 if kk >= true_k else 300 * (true_k - kk))) for kk in ks],
              "silhouette": [float(0.45 - 0.04 * abs(kk - true_k) + rng.normal(0, 0.01)) for kk in ks],
              "bic": [float(5000 + 400 * abs(kk - true_k) + rng.normal(0, 30)) for kk in ks]}
    valid = labels >= 0
    ari = _ari(sound[valid], labels[valid])
    store.write_part("runs", run_id, pd.DataFrame([{
        "run_id": run_id, "space": space, "method": method, "scaling": "standard",
        "level": "section" if space.startswith("classical") else "section-mean", "k": k,
        "seed": random_state, "params": json.dumps({"n_clusters": k}),
        "silhouette": float(np.nanmean(sil)), "davies_bouldin": float(0.8 + 0.2 * r),
        "calinski_harabasz": float(1500 - 200 * r), "bic": float(5000 + 100 * r) if soft else None,
        "stability_ari": float(0.9 - 0.05 * r), "fidelity": float(0.95 - 0.03 * r),
        "ari_truth": ari, "nmi_truth": float(min(1.0, ari + 0.05)), "n_sections": n,
        "n_clusters": len(clusters), "curves": json.dumps(curves),
        "created_at": pd.Timestamp("2026-01-01T12:00:00Z") + pd.Timedelta(minutes=r),
        "label": f"{method} on {space}",
    }]))

    # explanations: SHAP-like values on the classical17 features (what the surrogate explains)
    Z17 = spaces["classical17"]
    mu = Z17.mean(axis=0)
    shap = np.zeros_like(Z17)
    for c in clusters:
        m = labels == c
        w = Z17[m].mean(axis=0) - mu
        shap[m] = (Z17[m] - mu) * w * 0.5 + rng.normal(0, 0.02, (int(m.sum()), Z17.shape[1]))
    expl = pd.DataFrame(shap.astype(np.float32), columns=[f"shap_{c}" for c in classical17])
    expl.insert(0, "cluster", labels)
    expl.insert(0, "section_id", section_ids)
    expl.insert(0, "run_id", run_id)
    store.write_part("explanations", run_id, expl[labels >= 0].reset_index(drop=True))

    feat17 = feat[:, [classical.index(c) for c in classical17]]
    rows, cent_rows = [], []
    for j, c in enumerate(clusters):
        m = np.flatnonzero(labels == c)
        order_conf = m[np.argsort(-conf[m])]
        order_sil = m[np.argsort(sil[m])]
        ranking = np.abs(shap[m]).mean(axis=0)
        top = np.argsort(-ranking)
        rows.append({
            "run_id": run_id, "cluster": int(c), "size": len(m),
            "n_songs": int(len({s.rsplit("-", 1)[0] for s in section_ids[m[:5000]]})),
            "centroid": json.dumps(dict(zip(cols, map(float, centroids[c])))),
            "profile": json.dumps(dict(zip(classical17, map(float, feat17[m].mean(axis=0))))),
            "prototypes": section_ids[order_conf[:8]].tolist(),
            "borderline": section_ids[order_sil[:8]].tolist(),
            "shap_ranking": json.dumps([{"feature": classical17[t], "mean_abs_shap": float(ranking[t])}
                                        for t in top]),
        })
    store.write_part("clusters", run_id, pd.DataFrame(rows))
    proj = store.read_table("projections", parts=[f"{space}/pca2", f"{space}/umap2"])
    for (kind, dims), g in proj.groupby(["kind", "dims"]):
        xy = g[["x", "y"]].to_numpy()
        for c in clusters:
            m = labels == c
            cent_rows.append({"run_id": run_id, "space": space, "kind": kind, "dims": int(dims),
                              "cluster": int(c), "x": float(xy[m, 0].mean()), "y": float(xy[m, 1].mean()),
                              "z": None})
    store.write_part("centroid_projections", run_id, pd.DataFrame(cent_rows))


def _ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def _write_comparison(store, run_a, run_b, la, lb, section_ids):
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    rows = sorted(set(la.tolist()))
    cols = sorted(set(lb.tolist()))
    ia = np.searchsorted(rows, la)
    ib = np.searchsorted(cols, lb)
    counts = np.zeros((len(rows), len(cols)), np.int64)
    np.add.at(counts, (ia, ib), 1)
    r_idx, c_idx = linear_sum_assignment(-counts)
    mapping = {int(cols[c]): int(rows[r]) for r, c in zip(r_idx, c_idx)}
    aligned = np.array([mapping.get(int(x), -2) for x in cols])[ib]
    agree = aligned == la
    part = f"{run_a}__{run_b}"
    store.write_part("comparisons", part, pd.DataFrame([{
        "run_a": run_a, "run_b": run_b, "agreement": float(agree.mean()),
        "ari": float(adjusted_rand_score(la, lb)), "nmi": float(normalized_mutual_info_score(la, lb)),
        "mapping": json.dumps({str(k): v for k, v in mapping.items()}),
        "contingency": json.dumps({"rows": rows, "cols": cols, "counts": counts.tolist()}),
    }]))
    store.write_part("comparison_sections", part, pd.DataFrame({
        "section_id": section_ids, "label_a": la, "label_b": lb, "label_b_aligned": aligned, "agree": agree}))


def _write_audio(uris, song_of, sound, section_seconds, sr, rng):
    """One mono WAV per song: each section a chord of two tones fixed by its sound, plus noise."""
    import soundfile as sf

    n_sounds = int(sound.max()) + 1
    base = 110 * 2 ** (np.arange(n_sounds) * 5 / 12)
    n = int(round(section_seconds * sr))
    t = np.arange(n) / sr
    env = np.minimum(1, np.minimum(t, t[::-1]) / 0.02)
    for s, uri in enumerate(uris):
        snd = sound[song_of == s]
        y = np.concatenate([
            env * (0.3 * np.sin(2 * np.pi * base[k] * t) + 0.2 * np.sin(2 * np.pi * base[k] * 2.5 * t))
            for k in snd])
        y += rng.normal(0, 0.02, len(y))
        sf.write(uri, y.astype(np.float32), sr, subtype="PCM_16")


def build_streamed_synthetic_store(root, *, n_sections: int, sections_per_song: int = 20, n_sounds: int = 6,
                                   section_seconds: float = 15.0, embed_dim: int = 16,
                                   frames_per_section: int = 2, chunk_songs: int = 5000, part_songs: int = 1000,
                                   random_state: int = 0, progress=None):
    """The same layout as :func:`build_synthetic_store` (without audio), written in parts so a store
    of a million sections fits in memory (``bench/dashboard.py --sections 1000000``).

    The per-song tables (songs, sections, features, frames, tags, melspec) are drawn and written
    ``chunk_songs`` songs at a time, one part per ``part_songs`` songs; only what the store-wide
    tables need is kept across chunks: each section's sound, id, standardised features (float32,
    for the classical spaces' projections and runs) and its mean embedding. Seeded (one generator
    per chunk), but the values differ from :func:`build_synthetic_store`'s for the same seed.

    Parameters
    ----------
    progress : callable, optional
        Called with a short message after each chunk.

    Returns
    -------
    store : analysis.store.Store
    """
    if n_sections < 2 or sections_per_song < 1 or n_sounds < 2 or chunk_songs < 1 or part_songs < 1:
        raise ParameterError(f"n_sections={n_sections}, sections_per_song={sections_per_song}, "
                             f"n_sounds={n_sounds}, chunk_songs={chunk_songs}, part_songs={part_songs}: need "
                             "≥2 sections, ≥1 per song, ≥2 sounds, ≥1 song per chunk and part")
    rng = np.random.default_rng(random_state)
    classical17, classical = _feature_lists()
    store = open_store(root)
    root = Path(store.uri)
    n_songs = -(-n_sections // sections_per_song)
    n_feat = len(classical)

    song_ids = np.array([f"{i:016x}" for i in rng.integers(0, 2**63, n_songs, dtype=np.int64)], dtype=object)
    song_of = np.repeat(np.arange(n_songs), sections_per_song)[:n_sections]
    index = np.tile(np.arange(sections_per_song), n_songs)[:n_sections]
    counts = np.bincount(song_of, minlength=n_songs)
    song_sounds = rng.integers(0, n_sounds, (n_songs, 3))
    pattern = np.array([0, 0, 1, 0, 1, 2, 1, 1, 2, 0])
    sound = song_sounds[song_of, pattern[index % len(pattern)]].astype(np.int64)
    section_ids = np.array([f"{s}-{i:05d}" for s, i in zip(song_ids[song_of], index)], dtype=object)
    start = index * section_seconds
    tempo = rng.uniform(70, 160, n_songs).round(1)
    centres = rng.normal(0, 1, (n_sounds, n_feat)).astype(np.float32)
    scale = rng.uniform(0.5, 3, n_feat).astype(np.float32)
    offset = rng.uniform(-1, 5, n_feat).astype(np.float32)
    emb_centres = rng.normal(0, 1, (n_sounds, embed_dim)).astype(np.float32)
    pref = np.stack([rng.permutation(len(TAGS)) for _ in range(n_sounds)])
    n_mels = 64
    bands = np.arange(n_mels)
    peaks = rng.integers(4, n_mels - 4, (n_sounds, 2))
    mel_shape = np.stack([-0.6 * bands - 20 + 35 * np.exp(-0.5 * ((bands - p[0]) / 2) ** 2)
                          + 25 * np.exp(-0.5 * ((bands - p[1]) / 3) ** 2) for p in peaks]).astype(np.float32)
    audio_dir = root.parent / f"{root.name}-songs"

    z = np.empty((n_sections, n_feat), np.float32)  # standardised features: the classical spaces
    emb_mean = np.empty((n_sections, embed_dim), np.float32)
    n_tags = 5
    for c0 in range(0, n_songs, chunk_songs):
        crng = np.random.default_rng([random_state, c0])
        c1 = min(n_songs, c0 + chunk_songs)
        lo, hi = int(np.searchsorted(song_of, c0)), int(np.searchsorted(song_of, c1))
        n = hi - lo
        sl = slice(lo, hi)
        snd, sids = sound[sl], section_ids[sl]
        song_col = song_ids[song_of[sl]]
        part_codes = (song_of[sl] - c0) // part_songs
        names = [f"batch-{(c0 + p * part_songs) // part_songs:05d}" for p in range(-(-(c1 - c0) // part_songs))]
        songs = pd.DataFrame({
            "song_id": song_ids[c0:c1], "uri": [str(audio_dir / f"song{i + 1:06d}.wav") for i in range(c0, c1)],
            "title": [f"Synthetic song {i + 1:06d}" for i in range(c0, c1)], "format": "WAV",
            "duration_s": counts[c0:c1] * section_seconds, "sample_rate": 8000, "channels": 1,
            "analysis_sr": 22050, "tempo_bpm": tempo[c0:c1], "n_sections": counts[c0:c1],
            "analyzed_with": "synthetic", "content_hash": [s * 4 for s in song_ids[c0:c1]], "truth_path": None,
        })
        _write_by(store, "songs", songs, np.arange(c1 - c0) // part_songs, names)
        sections = pd.DataFrame({
            "section_id": sids, "song_id": song_col, "scheme": "fixed", "index": index[sl].astype(np.int64),
            "start_s": start[sl].astype(np.float64), "end_s": (start[sl] + section_seconds).astype(np.float64),
            "is_central": crng.random(n) < 0.6, "rank": index[sl].astype(np.int64) + 1,
            "truth_label": np.array([chr(ord("A") + s) for s in range(n_sounds)], dtype=object)[snd],
        })
        _write_by(store, "sections", sections, part_codes, names)
        del sections
        zc = centres[snd] + crng.normal(0, 0.6, (n, n_feat)).astype(np.float32)
        z[sl] = zc
        features = pd.DataFrame(zc * scale + offset, columns=classical)
        features.insert(0, "song_id", song_col)
        features.insert(0, "section_id", sids)
        features["tempo_bpm"] = tempo[song_of[sl]].astype(np.float32)
        _write_by(store, "features", features, part_codes, names)
        del features, zc
        f_rep = np.repeat(np.arange(n), frames_per_section)
        f_off = np.tile(np.arange(frames_per_section), n) * section_seconds / frames_per_section
        emb = emb_centres[snd[f_rep]] + crng.normal(0, 0.5, (len(f_rep), embed_dim)).astype(np.float32)
        emb_mean[sl] = emb.reshape(n, frames_per_section, embed_dim).mean(axis=1)
        frames = pd.DataFrame(emb, columns=[f"e{i}" for i in range(embed_dim)])
        frames.insert(0, "end_s", start[sl][f_rep] + f_off + section_seconds / frames_per_section)
        frames.insert(0, "start_s", start[sl][f_rep] + f_off)
        frames.insert(0, "embedder", EMBEDDER)
        frames.insert(0, "section_id", sids[f_rep])
        frames.insert(0, "song_id", song_col[f_rep])
        _write_by(store, "frames", frames, part_codes[f_rep], names, prefix=f"{EMBEDDER}/")
        del frames, emb
        t_rep = np.repeat(np.arange(n), n_tags)
        jitter = crng.integers(0, 2, n * n_tags)
        tag_idx = pref[snd[t_rep], np.tile(np.arange(n_tags), n) + jitter * n_tags]
        probs = np.sort(crng.uniform(0.05, 0.9, (n, n_tags)), axis=1)[:, ::-1].ravel()
        tags = pd.DataFrame({
            "section_id": sids[t_rep], "song_id": song_col[t_rep], "model": TAG_MODEL,
            "rank": np.tile(np.arange(1, n_tags + 1), n).astype(np.int64),
            "tag": np.array(TAGS, dtype=object)[tag_idx], "probability": probs.astype(np.float32),
        })
        _write_by(store, "tags", tags, part_codes[t_rep], names, prefix=f"{TAG_MODEL}/")
        del tags
        mel = pd.DataFrame(mel_shape[snd] + crng.normal(0, 2, (n, n_mels)).astype(np.float32),
                           columns=[f"mel{i}" for i in range(n_mels)])
        mel.insert(0, "song_id", song_col)
        mel.insert(0, "section_id", sids)
        _write_by(store, "melspec", mel, part_codes, names)
        del mel
        if progress:
            progress(f"songs {c1:,} of {n_songs:,} written")

    spaces = {"classical17": z[:, :len(classical17)], "classical": z, EMBEDDER: emb_mean}
    for space, X in spaces.items():
        mu = X.mean(axis=0)
        sample = X[np.sort(rng.choice(n_sections, min(n_sections, 5000), replace=False))] - mu
        _, sv, vt = np.linalg.svd(sample, full_matrices=False)
        pcs = np.concatenate([(X[i:i + 100_000] - mu) @ vt[:3].T for i in range(0, n_sections, 100_000)])
        evr = (sv ** 2 / np.sum(sv ** 2))[:3]
        blob = rng.normal(0, 1, (n_sounds, 3)) * 6
        for kind, dims, make in [
            ("pca", 2, lambda: pcs[:, :2]), ("pca", 3, lambda: pcs),
            ("tsne", 2, lambda: blob[sound, :2] + rng.normal(0, 1, (n_sections, 2))),
            ("umap", 2, lambda: blob[sound, :2] * 0.7 + rng.normal(0, 0.5, (n_sections, 2))),
            ("umap", 3, lambda: blob[sound] * 0.7 + rng.normal(0, 0.5, (n_sections, 3))),
        ]:
            xyz = make()
            store.write_part("projections", f"{space}/{kind}{dims}", pd.DataFrame({
                "space": space, "kind": kind, "dims": dims, "section_id": section_ids,
                "x": xyz[:, 0].astype(np.float32), "y": xyz[:, 1].astype(np.float32),
                "z": xyz[:, 2].astype(np.float32) if dims == 3 else None}))
            store.write_part("projection_info", f"{space}/{kind}{dims}", pd.DataFrame({
                "space": [space], "kind": [kind], "dims": [dims],
                "params": [json.dumps({"random_state": random_state})],
                "explained_variance_ratio": [evr[:dims].tolist() if kind == "pca" else None]}))
        if progress:
            progress(f"projections of {space} written")

    feat17 = z[:, :len(classical17)] * scale[:len(classical17)] + offset[:len(classical17)]
    labels_by_run = {}
    for r, (run_id, space, method, k) in enumerate(RUNS):
        labels = _run_labels(sound, k, n_sounds, method, rng)
        labels_by_run[run_id] = labels
        cols = classical17 if space == "classical17" else classical if space == "classical" else \
            [f"e{i}" for i in range(embed_dim)]
        # _write_run's feat is only read through the classical17 columns: pass them, in place
        _write_run(store, run_id, space, method, k, labels, spaces[space], cols, section_ids, sound, feat17,
                   classical17, classical17, spaces, rng, r, random_state)
        if progress:
            progress(f"run {run_id} written")
    run_ids = [r[0] for r in RUNS]
    for i, a in enumerate(run_ids):
        for b in run_ids[i + 1:]:
            _write_comparison(store, a, b, labels_by_run[a], labels_by_run[b], section_ids)
    store.write_manifest({
        "config": {"synthetic": True, "n_sections": n_sections, "random_state": random_state, "streamed": True},
        "libraries": {}, "songs": {}, "errors": {}, "timings": {}, "embedders": [EMBEDDER],
    })
    return store


def add_beat_clicks(store, *, bpm: float = 120.0, level: float = 0.8) -> None:
    """Add a click on every beat (``bpm``) to each song's WAV of ``store`` (written with ``audio=True``),
    in place and at the same length, so that a beat tracker finds a steady pulse (the tones alone give
    it almost none; the beat-synchronous structure schemes need beats)."""
    import soundfile as sf

    for uri in store.read_table("songs")["uri"]:
        y, sr = sf.read(str(uri), dtype="float32")
        y[:: int(round(sr * 60.0 / bpm))] += level
        sf.write(str(uri), np.clip(y, -1, 1), sr, subtype="PCM_16")
