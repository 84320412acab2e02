"""Add an embedder to an existing store (``sectionist embed``), training the autoencoder first if asked.

Reads the ``songs`` and ``sections`` tables, decodes each song once at the embedder's rate, and writes
the parts ``frames/{embedder}/{song_id}`` (and ``tags/{model}/{song_id}`` for tagging models).
Features are not recomputed; songs already embedded are skipped unless ``force``.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from sectionist.store.schema import FRAMES, SECTIONS, SONGS, TAGS, frame_parts

from sectionist.analysis.errors import AudioError, ParameterError, StoreError
from sectionist.analysis.embeddings import REGISTRY, embed_song, get_embedder
from sectionist.analysis.embeddings.base import require_torch

log = logging.getLogger(__name__)


def _songs_and_sections(store):
    if not store.list_parts(SONGS):
        raise StoreError(f"{store.uri}: no songs in this store; run 'sectionist analyze SONGS --store {store.uri}' first")
    songs = store.read_table(SONGS).sort_values("song_id").reset_index(drop=True)
    sections = store.read_table(SECTIONS)
    if sections.empty:
        raise StoreError(f"{store.uri}: the store has songs but no sections table")
    return songs, sections


def _load(uri: str, sr: int):
    from sectionist.analysis.corpus.audio import load_audio

    return load_audio(uri, sr)


def collect_autoencoder_patches(store, songs, sections, *, max_patches: int = 20000, random_state: int = 0,
                                progress: bool = True) -> np.ndarray:
    """Log-mel patches of every section of every song (a seeded subsample of at most ``max_patches``)."""
    from tqdm.auto import tqdm

    from sectionist.analysis.embeddings.autoencoder import SR, logmel_patches

    chunks = []
    for row in tqdm(songs.itertuples(index=False), total=len(songs), desc="autoencoder patches", unit="song",
                    disable=not progress):
        try:
            y, sr = _load(row.uri, SR)
        except AudioError as exc:
            log.warning("skipping %s for training: %s", row.uri, exc)
            continue
        for s in sections[sections.song_id == row.song_id].itertuples(index=False):
            a, b = round(float(s.start_s) * sr), min(len(y), round(float(s.end_s) * sr))
            if b > a:
                chunks.append(logmel_patches(y[a:b])[0])
    if not chunks:
        raise StoreError(f"{store.uri}: no readable audio to train the autoencoder on")
    patches = np.concatenate(chunks)
    if len(patches) > max_patches:
        keep = np.sort(np.random.default_rng(random_state).choice(len(patches), max_patches, replace=False))
        patches = patches[keep]
    return patches


def train_store_autoencoder(store, *, epochs: int = 15, code_dim: int = 32, random_state: int = 0,
                            device: str = "cpu", batch_size: int = 64, max_patches: int = 20000,
                            progress: bool = True):
    """Train the autoencoder on the store's songs, keep it as ``models/autoencoder.pt``, log its losses.

    The manifest gets ``"autoencoder": {"loss": [per epoch], "epochs", "code_dim", "random_state",
    "n_patches", "model": "models/autoencoder.pt"}``.
    """
    from sectionist.analysis.embeddings.autoencoder import STORE_KEY, train_autoencoder

    songs, sections = _songs_and_sections(store)
    patches = collect_autoencoder_patches(store, songs, sections, max_patches=max_patches,
                                          random_state=random_state, progress=progress)
    t0 = time.perf_counter()
    model = train_autoencoder(patches, code_dim=code_dim, epochs=epochs, batch_size=batch_size,
                              random_state=random_state, device=device, progress=progress)
    store.write_bytes(STORE_KEY, model.to_bytes())
    entry = {
        "loss": [float(v) for v in model.losses], "epochs": epochs, "code_dim": code_dim,
        "random_state": random_state, "n_patches": len(patches), "model": STORE_KEY,
        "seconds": round(time.perf_counter() - t0, 3), "n_songs": len(songs),
    }
    store.update_manifest(lambda manifest: manifest.update(autoencoder=entry))
    return model


def embed_store(store, name: str, *, device: str = "cpu", batch_size: int | None = None, force: bool = False,
                progress: bool = True, epochs: int = 15, random_state: int = 0, **options) -> dict:
    """Embed every song of ``store`` with embedder ``name``; returns a summary dict.

    Parameters
    ----------
    store : analysis.store.Store
    name : str
        A key of :data:`sectionist.analysis.embeddings.REGISTRY`.
    device : str
    batch_size : int, optional
    force : bool
        Re-embed songs that already have frames (and retrain the autoencoder).
    progress : bool
    epochs, random_state
        Autoencoder training (only for ``autoencoder``).
    **options
        Passed to the embedder (e.g. ``weights`` for vggish).

    Returns
    -------
    dict
        ``embedded``, ``skipped``, ``failed`` (song_id → reason), ``frames`` (rows written), ``seconds``.
    """
    from tqdm.auto import tqdm

    if name not in REGISTRY:
        raise ParameterError(f"embedder {name!r}: choose one of {', '.join(sorted(REGISTRY))}")
    require_torch(name)  # before decoding or training anything
    songs, sections = _songs_and_sections(store)
    t0 = time.perf_counter()
    if REGISTRY[name].trained_on_store:
        from sectionist.analysis.embeddings.autoencoder import STORE_KEY

        if force or not store.exists(STORE_KEY):
            train_store_autoencoder(store, epochs=epochs, random_state=random_state, device=device,
                                    progress=progress)
            force = True  # a new model: every song's codes change
        options["store"] = store
    embedder = get_embedder(name, device=device, batch_size=batch_size, **options)
    done = {FRAMES.parse_part(p)["song_id"] for p in frame_parts(store, embedder.name)}
    summary = {"embedder": embedder.name, "embedded": 0, "skipped": 0, "failed": {}, "frames": 0}
    audio_seconds = 0.0
    for row in tqdm(songs.itertuples(index=False), total=len(songs), desc=f"embedding ({embedder.name})",
                    unit="song", disable=not progress):
        if row.song_id in done and not force:
            summary["skipped"] += 1
            continue
        secs = sections[sections.song_id == row.song_id]
        if secs.empty:
            summary["failed"][row.song_id] = "no sections"
            continue
        try:
            y, sr = _load(row.uri, embedder.sample_rate)
        except AudioError as exc:
            summary["failed"][row.song_id] = str(exc)
            log.warning("%s", exc)
            continue
        frames, tags = embed_song(embedder, y, sr, secs)
        store.write_part(FRAMES, FRAMES.part(embedder=embedder.name, song_id=row.song_id), frames)
        if tags is not None and len(tags):
            store.write_part(TAGS, TAGS.part(model=embedder.tag_model, song_id=row.song_id), tags)
        _mark_song(store, row.song_id, embedder.name)
        summary["embedded"] += 1
        summary["frames"] += len(frames)
        audio_seconds += len(y) / sr
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    entry = dict(embedder.describe())
    entry.update(songs=len(frames_songs(store, embedder.name)), last_run=summary,
                 realtime=round(audio_seconds / max(summary["seconds"], 1e-9), 2) if audio_seconds else None)

    def edit(manifest: dict) -> None:  # applied to the manifest as it is then: other writers' entries kept
        manifest.setdefault("embedders", {})
        if not isinstance(manifest["embedders"], dict):  # tolerate a list written by an older run
            manifest["embedders"] = {str(k): {} for k in manifest["embedders"]}
        manifest["embedders"][embedder.name] = entry

    store.update_manifest(edit)
    return summary


def frames_songs(store, embedder: str) -> list[str]:
    """Song ids that have frames for ``embedder``."""
    return sorted(FRAMES.parse_part(p)["song_id"] for p in frame_parts(store, embedder))


def _mark_song(store, song_id: str, name: str) -> None:
    """Add ``name`` to the song's ``embedders`` column (docs/store.md: embedders whose frames are stored)."""
    if not store.has_part(SONGS, song_id):
        return
    part = store.read_part(SONGS, song_id)
    if "embedders" not in part.columns:
        return
    have = [e for e in str(part["embedders"].iloc[0] or "").split(",") if e]
    if name not in have:
        part["embedders"] = ",".join(have + [name])
        store.write_part(SONGS, song_id, part)
