"""Learned embeddings: one interface, one registry.

Embedders (``REGISTRY``; see ``docs/embeddings.md``):

- ``musicnn`` (default): 200-d penultimate layer of the pretrained MSD_musicnn, plus 50 tags;
  ``musicnn-mtt``, ``vgg-msd``, ``vgg-mtt``: the other three networks of the musicnn wheel.
- ``vggish``: the VGGish network (128-d, PCA + 8-bit quantisation) with weights from a local file.
- ``autoencoder``: a convolutional autoencoder trained on the store's own songs.

Functions used by the pipeline: :func:`get_embedder`, :func:`embed_song`, :func:`section_vectors`.
Importing this package is cheap: weights are read and torch is imported only when an embedder is built.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sectionist.store.schema import FRAMES

from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.analysis.embeddings import autoencoder as _autoencoder  # noqa: F401  (registers autoencoder)
from sectionist.analysis.embeddings import musicnn as _musicnn  # noqa: F401  (registers musicnn, musicnn-mtt, vgg-msd, vgg-mtt)
from sectionist.analysis.embeddings import vggish as _vggish  # noqa: F401  (registers vggish)
from sectionist.analysis.embeddings.base import REGISTRY, Embedder, EmbedderSpec, register

__all__ = [
    "DEFAULT_EMBEDDER",
    "REGISTRY",
    "TOP_TAGS",
    "Embedder",
    "EmbedderSpec",
    "embed_song",
    "frame_columns",
    "get_embedder",
    "register",
]

DEFAULT_EMBEDDER = "musicnn"
#: tags kept per section in the ``tags`` table
TOP_TAGS = 10


def get_embedder(name: str, **options) -> Embedder:
    """Build the embedder registered as ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    **options
        Passed to the embedder (e.g. ``device``, ``batch_size``; ``weights`` for vggish; ``store``
        or ``model_path`` for autoencoder). ``None`` values are dropped.
    """
    try:
        spec = REGISTRY[name]
    except KeyError:
        raise ParameterError(f"embedder {name!r}: choose one of {', '.join(sorted(REGISTRY))}") from None
    return spec.factory(**{k: v for k, v in options.items() if v is not None})


def frame_columns(dim: int) -> list[str]:
    """Names of the vector columns of the ``frames`` table: ``e0 … e{dim-1}``."""
    return [f"e{i}" for i in range(dim)]


def embed_song(embedder: Embedder, y: np.ndarray, sr: int, sections: pd.DataFrame):
    """Embed every section of one song.

    Each section's audio is embedded on its own, so frames never straddle two sections; the
    trailing part of a section shorter than one hop is dropped, and a section shorter than one
    window gets exactly one frame of its audio zero-padded to the window (so every section has a
    vector). The forward pass runs in batches over the whole song.

    Parameters
    ----------
    embedder : Embedder
    y : np.ndarray [shape=(n,) or (channels, n)]
        The whole song.
    sr : int
        Sample rate of ``y`` (resampled once to the embedder's rate when different).
    sections : pd.DataFrame
        Columns section_id, song_id, start_s, end_s (seconds from the song start).

    Returns
    -------
    frames : pd.DataFrame
        ``frames`` table layout: song_id, section_id, embedder, start_s, end_s (absolute song times,
        float64), e0..e{D-1} (float32).
    tags : pd.DataFrame or None
        ``tags`` table layout (section_id, song_id, model, rank, tag, probability): the top
        :data:`TOP_TAGS` tags of the mean probability over each section's frames; ``None`` when the
        embedder predicts no tags.
    """
    missing = {"section_id", "song_id", "start_s", "end_s"} - set(sections.columns)
    if missing:
        raise ParameterError(f"sections lacks column(s) {', '.join(sorted(missing))}")
    secs = sections.sort_values("start_s", kind="stable").reset_index(drop=True)
    if np.asarray(y).ndim == 2:  # (channels, samples): mix down once
        y = np.asarray(y, dtype=np.float32).mean(axis=0)
    # groups of consecutive sections of at most GROUP_SECONDS of audio: only a group's span is
    # resampled and turned into patches at a time, so memory stays bounded on long files
    durations = (secs["end_s"] - secs["start_s"]).to_numpy()
    group = np.floor(np.cumsum(durations) / GROUP_SECONDS).astype(int)
    results = [_embed_sections(embedder, y, sr, secs[group == g].reset_index(drop=True)) for g in np.unique(group)]
    frames = pd.concat([f for f, _ in results], ignore_index=True) if results else _embed_sections(embedder, y, sr, secs)[0]
    if embedder.tag_model is None:
        return frames, None
    tags = [t for _, t in results if t is not None]
    return frames, (pd.concat(tags, ignore_index=True) if tags else None)


#: Seconds of audio embedded per group of sections (bounds the resampled span and the patches held).
GROUP_SECONDS = 600.0


def _embed_sections(embedder: Embedder, y: np.ndarray, sr: int, secs: pd.DataFrame):
    """:func:`embed_song` for consecutive sections ``secs``: resamples only their span of ``y``."""
    rate = embedder.sample_rate
    if len(secs):
        first = max(0, int(np.floor(float(secs["start_s"].min()) * sr)))
        last = min(len(y), int(np.ceil(float(secs["end_s"].max()) * sr)))
    else:
        first = last = 0
    ye = embedder._prepare(y[first:last], sr)
    t0 = first / sr
    all_patches, owner, starts, ends = [], [], [], []
    for i, row in enumerate(secs.itertuples(index=False)):
        a = max(0, round((float(row.start_s) - t0) * rate))
        b = min(len(ye), round((float(row.end_s) - t0) * rate))
        if b <= a:
            raise ParameterError(f"section {row.section_id}: empty span {row.start_s}–{row.end_s} s")
        patches, local = embedder._patches(ye[a:b])
        all_patches.append(patches)
        owner.append(np.full(len(patches), i))
        s0 = t0 + a / rate + np.asarray(local, dtype=np.float64)
        starts.append(s0)
        ends.append(np.minimum(s0 + embedder.window_s, t0 + b / rate))
    patches = np.concatenate(all_patches, axis=0) if all_patches else np.zeros((0,))
    owner = np.concatenate(owner) if owner else np.zeros(0, int)
    E, P = embedder._forward_batched(patches) if len(patches) else (np.zeros((0, embedder.dim), np.float32), None)
    n = len(E)
    data = {
        "song_id": secs["song_id"].to_numpy()[owner].astype(str) if n else np.array([], dtype=str),
        "section_id": secs["section_id"].to_numpy()[owner].astype(str) if n else np.array([], dtype=str),
        "embedder": np.full(n, embedder.name),
        "start_s": np.concatenate(starts) if starts else np.zeros(0),
        "end_s": np.concatenate(ends) if ends else np.zeros(0),
    }
    frames = pd.DataFrame(data)
    vec = pd.DataFrame(E.astype(np.float32, copy=False), columns=frame_columns(embedder.dim))
    frames = pd.concat([frames, vec], axis=1)
    if embedder.tag_model is None or P is None:
        return frames, None
    rows = []
    names = np.asarray(embedder.tag_names)
    for i, row in enumerate(secs.itertuples(index=False)):
        sel = owner == i
        if not sel.any():
            continue
        mean = P[sel].mean(axis=0)
        top = np.argsort(-mean, kind="stable")[:TOP_TAGS]
        for rank, j in enumerate(top, start=1):
            rows.append((str(row.section_id), str(row.song_id), embedder.tag_model, rank, str(names[j]),
                         np.float32(mean[j])))
    tags = pd.DataFrame(rows, columns=["section_id", "song_id", "model", "rank", "tag", "probability"])
    tags["rank"] = tags["rank"].astype(np.int32)
    tags["probability"] = tags["probability"].astype(np.float32)
    return frames, tags
