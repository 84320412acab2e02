"""Reading the stored saliency maps (the ``saliency`` table) — what the dashboard shows of them.

The maps are computed by :mod:`sectionist.analysis.embeddings.saliency` (``sectionist saliency``:
torch, librosa and the musicnn networks); the web process only reads them back, through this
module, which imports numpy alone, so serving the Clusters page never loads the embeddings package.
:mod:`sectionist.analysis.embeddings.saliency` re-exports these names.
"""

from __future__ import annotations

import numpy as np

from sectionist.analysis import melscale

#: Embedders built on :class:`sectionist.analysis.embeddings.musicnn.MusicnnEmbedder`.
MUSICNN_EMBEDDERS = ("musicnn", "musicnn-mtt", "vgg-msd", "vgg-mtt")
#: musicnn's sample rate and mel bands (``sectionist.analysis.embeddings.musicnn.SR`` and ``N_MELS``;
#: tests/test_web_imports.py checks they agree).
MUSICNN_SR = 16000
MUSICNN_N_MELS = 96


def band_frequencies(n_mels: int | None = None, sr: int | None = None) -> np.ndarray:
    """Centre frequency in Hz of each of musicnn's mel bands (librosa's Slaney mel, 0 to ``sr/2``)."""
    n_mels = MUSICNN_N_MELS if n_mels is None else n_mels
    sr = MUSICNN_SR if sr is None else sr
    return melscale.mel_frequencies(n_mels + 2, fmax=sr / 2)[1:-1]


def map_array(row) -> np.ndarray:
    """A stored row's map as (n_freq, n_time) float32."""
    return np.asarray(row["map"], dtype=np.float32).reshape(int(row["n_freq"]), int(row["n_time"]))
