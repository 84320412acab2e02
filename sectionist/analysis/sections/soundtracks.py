"""Sound tracks: a picture of a song with one horizontal track per distinct sound.

A producer's view of a song (``docs/soundtracks.md``): the song is cut into beat fragments (1, 2 or
4 beats, from librosa's beat tracker), each fragment is described by its spectral envelope with the
loudness taken out, fragments are clustered into *sounds* with a just-noticeable threshold (two
fragments closer than it are one sound), consecutive fragments of a sound are joined into blocks,
and the tracks are ordered by the leaf order of a hierarchical clustering of the sounds' centroids,
so similar sounds sit next to each other. Optionally, non-negative matrix factorisation of the
magnitude mel spectrogram splits overlapping sounds into components whose activations, thresholded
per fragment, give extra "component" tracks.

The pure steps work on arrays (:func:`beat_fragments`, :func:`fragment_features`,
:func:`cluster_sounds`, :func:`leaf_order`, :func:`sound_blocks`, :func:`nmf_tracks`,
:func:`song_tracks`); :func:`tracks_store` writes the store's ``sound_tracks`` table, one part per
song, and :func:`register_cli` adds ``sectionist tracks``.

The distance between two fragments is the RMS difference, in dB per mel band, of their smoothed
log-mel envelopes after each has been shifted to mean 0 dB (the first :data:`N_MFCC` cepstral
coefficients without c0 — by Parseval, the distance of the cepstrally smoothed envelopes). It is
loudness-free and on the same scale in every song, so one threshold means the same thing
everywhere; standardising per song would instead stretch a one-sound song's small differences into
separate sounds.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sectionist.analysis.errors import AudioError, InputError, ParameterError, StoreError

log = logging.getLogger(__name__)

#: Analysis sample rate (Hz) and STFT hop (samples).
SR = 22050
HOP = 512
N_FFT = 2048
#: Mel bands of the envelope and of the NMF spectrogram, and cepstral coefficients kept (c1..c{N_MFCC}).
N_MELS = 64
N_MFCC = 20
#: Fragment lengths a person can choose, in beats.
FRAGMENT_BEATS = (1, 2, 4)
#: Just-noticeable threshold: RMS envelope difference (dB per mel band) under which two fragments
#: are one sound. Measured in ``tests/test_soundtracks.py::test_threshold_measured`` on synthetic
#: instruments: the same instrument at -6 dB and -12 dB stays under 0.5 dB, two instruments of
#: different timbre are 9.9 dB or more apart. On FluidSynth-rendered songs (docs/soundtracks.md)
#: 2.5 dB split a 90 s song into 16-43 sounds (every change of the mix), 6 dB into 4; 4 dB sits
#: between the synthetic bounds and gives 6-14 sounds a song.
JND_DB = 4.0
#: A fragment quieter than this (dB under the song's loudest fragment) is silence and gets no track.
SILENCE_DB = 50.0
#: Tempo of the fixed grid used when the beat tracker finds fewer than two beats (ambient, noise).
FALLBACK_BPM = 120.0
#: NMF: frames pooled by this factor before factorising, and the iteration cap of the solver.
NMF_POOL = 4
NMF_MAX_ITER = 300
#: An NMF component is active in a fragment when its mean activation reaches this share of its maximum.
NMF_ACTIVE = 0.25
#: Spectral centroid (Hz) under which a sound is called "low/dark", and over which "high/bright".
DARK_HZ = 600.0
BRIGHT_HZ = 2500.0


# ---- fragments -----------------------------------------------------------------------------------
def beat_fragments(beat_times: np.ndarray, duration: float, beats: int = 2, *,
                   fallback_bpm: float = FALLBACK_BPM) -> np.ndarray:
    """Fragment boundaries of a song: every ``beats``-th beat, plus the song's start and end.

    Parameters
    ----------
    beat_times : np.ndarray [shape=(n,)]
        Beat times in seconds, increasing.
    duration : float
        The song's length in seconds.
    beats : int
        Beats per fragment: 1, 2 or 4.
    fallback_bpm : float
        With fewer than two beats, a fixed grid at this tempo is used instead.

    Returns
    -------
    np.ndarray [shape=(m + 1,)]
        Increasing boundaries from 0 to ``duration``; fragment ``i`` is ``[b[i], b[i+1])``. A head
        before the first beat or a tail after the last one shorter than half a fragment is joined
        to its neighbour.
    """
    if beats not in FRAGMENT_BEATS:
        raise ParameterError(f"fragment length {beats!r} beats: choose one of {FRAGMENT_BEATS}")
    if not np.isfinite(duration) or duration <= 0:
        raise InputError(f"song duration {duration!r} s: must be positive")
    bt = np.asarray(beat_times, dtype=float)
    bt = np.unique(bt[(bt > 0) & (bt < duration)])
    if len(bt) < 2:
        bt = np.arange(0.0, duration, 60.0 / fallback_bpm)[1:]
    inner = bt[::beats]
    period = float(np.median(np.diff(bt))) * beats if len(bt) > 1 else duration
    b = np.concatenate([[0.0], inner, [duration]])
    b = np.unique(b)
    # a short head or tail joins its neighbour
    if len(b) > 2 and b[1] - b[0] < period / 2:
        b = np.delete(b, 1)
    if len(b) > 2 and b[-1] - b[-2] < period / 2:
        b = np.delete(b, -2)
    return b


def track_beats(y: np.ndarray, sr: int) -> tuple[float, np.ndarray]:
    """Tempo (BPM) and beat times (s) of mono samples ``y`` [shape=(n,)] (librosa's beat tracker)."""
    import librosa

    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP)
    tempo, frames = librosa.beat.beat_track(onset_envelope=env, sr=sr, hop_length=HOP)
    # the tracker marks the peak of the onset strength; a fragment starts where that onset begins
    frames = librosa.onset.onset_backtrack(np.asarray(frames, dtype=int), env) if len(frames) else frames
    return float(np.atleast_1d(tempo)[0]), librosa.frames_to_time(frames, sr=sr, hop_length=HOP)


def mel_spectrogram(y: np.ndarray, sr: int, n_mels: int = N_MELS) -> np.ndarray:
    """Magnitude (power 1) mel spectrogram [shape=(n_mels, t)] of mono samples ``y``."""
    import librosa

    return librosa.feature.melspectrogram(y=y, sr=sr, n_fft=N_FFT, hop_length=HOP, n_mels=n_mels, power=1.0)


def _frames_of(bounds: np.ndarray, sr: int, n_frames: int) -> np.ndarray:
    """Frame index where each boundary falls (clipped to the spectrogram)."""
    return np.clip(np.round(np.asarray(bounds) * sr / HOP).astype(int), 0, n_frames)


def fragment_features(M: np.ndarray, bounds: np.ndarray, sr: int, *,
                      n_mfcc: int = N_MFCC) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loudness-free envelope of each fragment, its level and its spectral centroid.

    Parameters
    ----------
    M : np.ndarray [shape=(n_mels, t)]
        Magnitude mel spectrogram (:func:`mel_spectrogram`).
    bounds : np.ndarray [shape=(m + 1,)]
        Fragment boundaries in seconds (:func:`beat_fragments`).
    sr : int
        Sample rate of the spectrogram.
    n_mfcc : int
        Cepstral coefficients c1..c{n_mfcc} kept (c0, the loudness, is dropped).

    Returns
    -------
    X : np.ndarray [shape=(m, n_mfcc)]
        Orthonormal cepstral coefficients of each fragment's mean log-mel spectrum (dB), divided
        by sqrt(n_mels), so that the Euclidean distance of two rows is the RMS dB difference of
        their smoothed, level-aligned envelopes.
    level_db : np.ndarray [shape=(m,)]
        Mean level of each fragment in dB (relative scale).
    centroid_hz : np.ndarray [shape=(m,)]
        Spectral centroid of each fragment's mean mel spectrum, in Hz.
    """
    import librosa
    from scipy.fft import dct

    n_mels, t = M.shape
    if n_mfcc >= n_mels:
        raise ParameterError(f"n_mfcc={n_mfcc}: must be below the {n_mels} mel bands")
    edges = _frames_of(bounds, sr, t)
    m = len(bounds) - 1
    power = np.empty((m, n_mels))
    spec_db = np.empty((m, n_mels))
    floor = max(float(np.max(M)) ** 2 * 1e-10, 1e-20) if M.size else 1e-20
    for i in range(m):
        a = min(edges[i], t - 1)
        seg = M[:, a:max(min(edges[i + 1], t), a + 1)] ** 2
        power[i] = seg.mean(axis=1)
        # the median frame's envelope: a few frames of the neighbouring sound (a beat marked a
        # little late, a ringing tail) do not move it; bands 80 dB under the frame's peak carry no timbre
        db = 10 * np.log10(np.maximum(seg, floor))
        db = np.maximum(db, db.max(axis=0, keepdims=True) - 80.0)
        spec_db[i] = np.median(db, axis=1)
    level_db = 10 * np.log10(np.maximum(power, floor)).mean(axis=1) if m else np.zeros(0)
    cep = dct(spec_db, type=2, norm="ortho", axis=1)[:, 1:n_mfcc + 1] / np.sqrt(n_mels)
    freqs = librosa.mel_frequencies(n_mels=n_mels, fmax=sr / 2)
    w = np.sqrt(power)
    centroid = (w * freqs).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-20)
    return cep, level_db, centroid


# ---- sounds --------------------------------------------------------------------------------------
def cluster_sounds(X: np.ndarray, threshold: float = JND_DB) -> np.ndarray:
    """Sounds of fragments: average-linkage clustering cut at the just-noticeable ``threshold``,
    then any two sounds whose centroids are closer than it merged.

    Parameters
    ----------
    X : np.ndarray [shape=(m, d)]
        Fragment features (:func:`fragment_features`); distances in dB.
    threshold : float
        Just-noticeable difference in dB (:data:`JND_DB`).

    Returns
    -------
    np.ndarray [shape=(m,)], int
        Sound of each fragment, numbered 0.. by first appearance.
    """
    from sklearn.cluster import AgglomerativeClustering

    if not np.isfinite(threshold) or threshold <= 0:
        raise ParameterError(f"just-noticeable threshold {threshold!r} dB: must be positive")
    X = np.asarray(X, dtype=float)
    if len(X) == 0:
        return np.zeros(0, dtype=int)
    if len(X) == 1:
        return np.zeros(1, dtype=int)
    lab = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage="average").fit_predict(X)
    while True:  # sounds whose centres are closer than the threshold are one sound
        ids = np.unique(lab)
        if len(ids) < 2:
            break
        C = np.stack([X[lab == c].mean(axis=0) for c in ids])
        D = np.linalg.norm(C[:, None] - C[None], axis=-1)
        np.fill_diagonal(D, np.inf)
        i, j = np.unravel_index(np.argmin(D), D.shape)
        if D[i, j] >= threshold:
            break
        lab[lab == ids[j]] = ids[i]
    _, first = np.unique(lab, return_index=True)
    order = np.argsort(first)
    remap = {int(lab[first[k]]): n for n, k in enumerate(order)}
    return np.array([remap[int(v)] for v in lab], dtype=int)


def leaf_order(centroids: np.ndarray) -> np.ndarray:
    """Order of sounds so that similar ones sit next to each other: the leaf order of an
    average-linkage hierarchical clustering of their centroids with ``optimal_ordering=True``.

    Parameters
    ----------
    centroids : np.ndarray [shape=(k, d)]

    Returns
    -------
    np.ndarray [shape=(k,)]
        A permutation of ``range(k)``: the sound shown on track 0, 1, …
    """
    from scipy.cluster.hierarchy import leaves_list, linkage

    C = np.asarray(centroids, dtype=float)
    if len(C) <= 2:
        return np.arange(len(C))
    return leaves_list(linkage(C, method="average", optimal_ordering=True)).astype(int)


def sound_blocks(bounds: np.ndarray, labels: np.ndarray, sound) -> list[tuple[float, float]]:
    """(start, end) blocks where ``sound`` plays: consecutive fragments of that sound joined.

    Parameters
    ----------
    bounds : np.ndarray [shape=(m + 1,)]
        Fragment boundaries in seconds.
    labels : np.ndarray [shape=(m,)]
        Sound of each fragment (``True``/``False`` masks work too, with ``sound=True``).
    """
    on = np.asarray(labels) == sound
    blocks = []
    i, m = 0, len(on)
    while i < m:
        if on[i]:
            j = i
            while j + 1 < m and on[j + 1]:
                j += 1
            blocks.append((float(bounds[i]), float(bounds[j + 1])))
            i = j + 1
        else:
            i += 1
    return blocks


def describe(centroid_hz: float) -> str:
    """Plain words for a sound's register from its spectral centroid (Hz)."""
    if not np.isfinite(centroid_hz):
        return "silent"
    if centroid_hz < DARK_HZ:
        return "mostly low/dark"
    if centroid_hz > BRIGHT_HZ:
        return "mostly high/bright"
    return "mostly mid"


def _blocks(n: int) -> str:
    return f"{n} block" if n == 1 else f"{n} blocks"


# ---- NMF components ------------------------------------------------------------------------------
def nmf_tracks(M: np.ndarray, bounds: np.ndarray, sr: int, n_components: int, *, active: float = NMF_ACTIVE,
               seed: int = 0) -> list[dict]:
    """Component tracks from NMF of the magnitude mel spectrogram, in leaf order of their spectra.

    Parameters
    ----------
    M : np.ndarray [shape=(n_mels, t)]
        Magnitude mel spectrogram.
    bounds : np.ndarray [shape=(m + 1,)]
        Fragment boundaries in seconds: a component is active in a fragment when its mean
        activation there reaches ``active`` × its largest fragment mean.
    sr : int
    n_components : int
        Number of components (≥ 1).
    active : float
        Relative activation threshold in (0, 1].
    seed : int
        Seed of the NMF initialisation's random parts.

    Returns
    -------
    list of dict
        One per component, in display order: ``component`` (index of the factorisation),
        ``blocks`` (list of (start, end)), ``centroid_hz``, ``activation`` [shape=(m,)] (fragment
        means, relative to the maximum).
    """
    from sklearn.decomposition import NMF

    n_components = int(n_components)
    if n_components < 1:
        raise ParameterError(f"--nmf {n_components}: the number of components must be at least 1")
    if not 0 < active <= 1:
        raise ParameterError(f"NMF activation threshold {active!r}: must be in (0, 1]")
    import librosa

    V = np.maximum(np.asarray(M, dtype=float), 0)
    # activations are averaged per fragment anyway: factorise frames pooled by NMF_POOL (~93 ms), 4x less work
    t = V.shape[1]
    pooled = -(-t // NMF_POOL)
    V = np.pad(V, ((0, 0), (0, pooled * NMF_POOL - t)), mode="edge").reshape(V.shape[0], pooled, NMF_POOL).mean(axis=2)
    V += 1e-9  # strictly positive for the KL loss
    # KL divergence (multiplicative updates), the usual loss for audio spectrograms: with the squared
    # error, the loudest low bands dominate and components mix sounds that come and go separately
    model = NMF(n_components=n_components, init="nndsvda", beta_loss="kullback-leibler", solver="mu",
                max_iter=NMF_MAX_ITER, random_state=seed)
    W = model.fit_transform(V.T).T  # (k, t) activations
    H = model.components_          # (k, n_mels) spectra
    t = V.shape[1]
    edges = np.clip(_frames_of(bounds, sr, pooled * NMF_POOL) // NMF_POOL, 0, t)
    m = len(bounds) - 1
    act = np.stack([W[:, min(edges[i], t - 1):max(min(edges[i + 1], t), min(edges[i], t - 1) + 1)].mean(axis=1)
                    for i in range(m)], axis=1) if m else np.zeros((n_components, 0))
    peak = act.max(axis=1, keepdims=True)
    rel = np.divide(act, peak, out=np.zeros_like(act), where=peak > 0)
    freqs = librosa.mel_frequencies(n_mels=V.shape[0], fmax=sr / 2)
    cent = (H * freqs).sum(axis=1) / np.maximum(H.sum(axis=1), 1e-20)
    shapes = 10 * np.log10(np.maximum(H / np.maximum(H.sum(axis=1, keepdims=True), 1e-20), 1e-8))
    out = []
    for c in leaf_order(shapes):
        out.append({"component": int(c), "blocks": sound_blocks(bounds, rel[c] >= active, True),
                    "centroid_hz": float(cent[c]), "activation": rel[c]})
    return out


# ---- one song ------------------------------------------------------------------------------------
@dataclass
class SongTracks:
    """The sound tracks of one song.

    ``bounds`` [shape=(m + 1,)] fragment boundaries (s); ``labels`` [shape=(m,)] sound of each fragment
    (−1 = silence); ``order`` the sounds in display order; ``tracks`` the tidy rows of the
    ``sound_tracks`` table (without ``song_id``).
    """

    tempo_bpm: float
    bounds: np.ndarray
    labels: np.ndarray
    order: np.ndarray
    tracks: pd.DataFrame
    params: dict = field(default_factory=dict)


def song_tracks(y: np.ndarray, sr: int, *, beats: int = 2, threshold: float = JND_DB, nmf: int = 0,
                silence_db: float = SILENCE_DB, beat_times: np.ndarray | None = None) -> SongTracks:
    """Sound tracks of mono samples ``y`` [shape=(n,)] at rate ``sr``.

    Parameters
    ----------
    beats : int
        Beats per fragment (1, 2 or 4).
    threshold : float
        Just-noticeable difference in dB (:data:`JND_DB`).
    nmf : int
        Number of NMF component tracks to add (0: none).
    silence_db : float
        Fragments this many dB under the loudest one are silence (no track).
    beat_times : np.ndarray, optional
        Beat times (s) to use instead of tracking them.

    Returns
    -------
    SongTracks
        ``tracks`` has one row per block: kind ("sound"/"nmf"), track (display order within the
        kind), start_s, end_s, fragment_beats, label ("sound 3 · 41 blocks · mostly low/dark"),
        params (JSON: the parameters and the track's sound or component number).
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise InputError(f"samples of shape {y.shape}: expected mono (n,)")
    duration = len(y) / sr
    if duration <= 0 or not np.isfinite(y).all():
        raise InputError("the audio is empty or holds non-finite samples")
    tempo = float("nan")
    if beat_times is None:
        tempo, beat_times = track_beats(y, sr)
    bounds = beat_fragments(beat_times, duration, beats)
    M = mel_spectrogram(y, sr)
    X, level, cent = fragment_features(M, bounds, sr)
    loud = level >= level.max() - silence_db
    labels = np.full(len(X), -1, dtype=int)
    if loud.any():
        labels[loud] = cluster_sounds(X[loud], threshold)
    sounds = np.unique(labels[labels >= 0])
    order = sounds[leaf_order(np.stack([X[labels == s].mean(axis=0) for s in sounds]))] if len(sounds) else sounds
    params = {"beats": int(beats), "threshold_db": float(threshold), "nmf": int(nmf), "silence_db": float(silence_db)}
    rows = []
    for track, s in enumerate(order):
        blocks = sound_blocks(bounds, labels, s)
        words = describe(float(np.average(cent[labels == s], weights=np.power(10, level[labels == s] / 10))))
        label = f"sound {track + 1} · {_blocks(len(blocks))} · {words}"
        for a, b in blocks:
            rows.append(("sound", track, a, b, beats, label, json.dumps({**params, "sound": int(s)})))
    if nmf:
        for track, comp in enumerate(nmf_tracks(M, bounds, sr, nmf)):
            label = f"component {track + 1} · {_blocks(len(comp['blocks']))} · {describe(comp['centroid_hz'])}"
            for a, b in comp["blocks"]:
                rows.append(("nmf", track, a, b, beats, label,
                             json.dumps({**params, "component": comp["component"]})))
    df = pd.DataFrame(rows, columns=["kind", "track", "start_s", "end_s", "fragment_beats", "label", "params"])
    return SongTracks(tempo, bounds, labels, order, df, params)


# ---- the store -----------------------------------------------------------------------------------
def _same_params(store, song_id: str, params: dict) -> bool:
    from sectionist.store.schema import SOUND_TRACKS

    part = SOUND_TRACKS.part(song_id=song_id)
    if not store.has_part(SOUND_TRACKS, part):
        return False
    old = store.read_part(SOUND_TRACKS, part, columns=["params"])
    if old.empty:  # never written by tracks_store: the loudest fragment always makes a track
        return False
    p = json.loads(old["params"].iloc[0])
    return all(p.get(k) == v for k, v in params.items())


def tracks_store(store, *, song_ids=None, beats: int = 2, threshold: float = JND_DB, nmf: int = 0,
                 force: bool = False, progress: bool = True) -> dict:
    """Compute and write the ``sound_tracks`` part of each song of ``store``.

    Songs whose part was written with the same parameters are skipped (resume); ``force`` redoes
    them. Each song's part is written whole (atomically) or not at all. When a song was written, the
    store gets a new version (:meth:`sectionist.store.base.Store.update_manifest`), so a running web app
    shows the new tracks.

    Parameters
    ----------
    song_ids : list of str, optional
        Song ids or titles (default: every song).

    Returns
    -------
    dict
        ``done`` (song ids written), ``skipped`` (already there), ``failed`` (list of (song_id, title,
        message)).
    """
    from tqdm.auto import tqdm

    from sectionist.store.schema import SONGS, SOUND_TRACKS

    from sectionist.analysis.corpus.audio import read_span

    if beats not in FRAGMENT_BEATS:
        raise ParameterError(f"--beats {beats}: choose one of {FRAGMENT_BEATS}")
    if nmf < 0:
        raise ParameterError(f"--nmf {nmf}: must be 0 (none) or more")
    if not np.isfinite(threshold) or threshold <= 0:
        raise ParameterError(f"--threshold {threshold}: must be a positive number of dB")
    songs = store.read_table(SONGS)
    if songs.empty:
        raise StoreError(f"{getattr(store, 'uri', store)}: the store has no songs (run 'sectionist analyze' first)")
    if song_ids:
        wanted = []
        for s in song_ids:
            hit = songs[(songs["song_id"] == s) | (songs["title"] == s)]
            if hit.empty:
                raise ParameterError(f"--songs {s!r}: no song with this id or title in the store")
            wanted.extend(hit["song_id"])
        songs = songs[songs["song_id"].isin(wanted)]
    params = {"beats": int(beats), "threshold_db": float(threshold), "nmf": int(nmf), "silence_db": float(SILENCE_DB)}
    out = {"done": [], "skipped": [], "failed": []}
    s3 = {k: v for k, v in {"client": getattr(store, "client", None),
                            "endpoint_url": getattr(store, "endpoint_url", None)}.items() if v is not None}
    for row in tqdm(list(songs.itertuples(index=False)), desc="sound tracks", unit="song", disable=not progress):
        sid = row.song_id
        if not force and _same_params(store, sid, params):
            out["skipped"].append(sid)
            continue
        try:
            dur = float(row.duration_s) if row.duration_s and np.isfinite(row.duration_s) else 1e9
            y, sr = read_span(str(row.uri), 0.0, dur, sr=SR, mono=True, **s3)
            res = song_tracks(y, sr, beats=beats, threshold=threshold, nmf=nmf)
        except (AudioError, InputError, StoreError) as exc:
            out["failed"].append((sid, row.title, f"{row.uri}: {exc}"))
            continue
        df = res.tracks
        df.insert(0, "song_id", sid)
        store.write_part(SOUND_TRACKS, SOUND_TRACKS.part(song_id=sid), df)
        out["done"].append(sid)
    if out["done"]:
        store.update_manifest(lambda manifest: None)  # a new store version: a running web app shows them
    return out


def register_cli(sub, options) -> None:
    """Add ``sectionist tracks``."""
    p = sub.add_parser(
        "tracks", help="sound tracks: one track per distinct sound of each song (the Songs page's Sounds view)",
        description="Cut each song into beat fragments (librosa's beat tracker; 1, 2 or 4 beats), describe "
        "each by its spectral envelope with the loudness taken out, cluster the fragments into sounds "
        "(fragments closer than the just-noticeable threshold are one sound), join consecutive fragments "
        "of a sound into blocks, and order the tracks so similar sounds sit together (leaf order of a "
        "hierarchical clustering of the sounds). --nmf N adds N component tracks from a non-negative "
        "factorisation of the mel spectrogram, which separates sounds that overlap. Writes the store's "
        "sound_tracks table, one part per song; songs already done with the same options are skipped, so "
        "an interrupted run resumes. A song that cannot be read is reported and the others go on.",
        epilog="example: sectionist tracks --store demo/store --beats 2 --nmf 6",
    )
    options.store(p)
    p.add_argument("--beats", type=int, choices=FRAGMENT_BEATS, default=2, help="beats per fragment [2]")
    p.add_argument("--nmf", type=int, default=0, metavar="N", help="add N NMF component tracks [0: none]")
    p.add_argument("--threshold", type=float, default=JND_DB, metavar="DB",
                   help=f"just-noticeable difference: RMS envelope difference in dB per mel band under which "
                   f"two fragments are one sound; higher merges more [{JND_DB}]")
    p.add_argument("--songs", nargs="+", default=None, metavar="SONG", help="only these songs (ids or titles) [all]")
    p.add_argument("--force", action="store_true", help="recompute songs already done with these options")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_tracks)


def cmd_tracks(args) -> int:
    import sys

    from sectionist.store import open_store

    # the entry point's resolved settings (S3 endpoint, region, read cache); not sectionist.analysis.commands.analyze,
    # which imports the pipeline, which imports this module
    settings = getattr(args, "settings", None)
    store = open_store(args.store, create=False, **(settings.store_options() if settings is not None else {}))
    res = tracks_store(store, song_ids=args.songs, beats=args.beats, threshold=args.threshold, nmf=args.nmf,
                       force=args.force, progress=not args.quiet)
    for sid, title, msg in res["failed"]:
        print(f"failed {title} ({sid}): {msg}", file=sys.stderr)
    print(f"sound tracks: {len(res['done'])} songs written, {len(res['skipped'])} already done, "
          f"{len(res['failed'])} failed")
    return 1 if res["failed"] else 0
