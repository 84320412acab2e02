"""musicnn (Pons & Serra, 2019) re-implemented in NumPy and PyTorch, with its pretrained weights.

The weights are the TensorFlow-1 checkpoints shipped in the ``musicnn==0.1.0`` wheel (read by
:mod:`sectionist.analysis.embeddings.tfcheckpoint`; TensorFlow is not needed). The architectures follow each
checkpoint's ``.meta`` graph, checked against reference outputs of TensorFlow in
``tests/fixtures/musicnn`` (see its README):

- ``MSD_musicnn`` / ``MTT_musicnn``: input batch norm; front end of five conv → ReLU → BN → max over
  frequency branches (timbral 7×38 and 7×67, temporal 128×1, 64×1, 32×1); mid end of three 1-D convs
  (the last two residual); back end: max and mean over time (interleaved), BN, dense 200, ReLU, BN
  (the 200-d ``penultimate`` embedding), dense 50, sigmoid.
- ``MSD_vgg`` / ``MTT_vgg``: input BN, five 3×3 conv → ReLU → BN → max-pool blocks (the pools differ
  between the two checkpoints), flatten (256-d ``pool5_flat``), dense 50, sigmoid.

Preprocessing: 16 kHz mono, ``librosa.feature.melspectrogram(n_fft=512, hop_length=256,
n_mels=96)``, ``log10(10000·S + 1)`` computed in float32 (musicnn's float16 cast overflows under
NumPy 2), non-overlapping patches of 187 frames (≈3 s) unless a hop is given.

This module holds the preprocessing, :class:`MusicnnModel` and the registered embedders; the forward
passes are :mod:`sectionist.analysis.embeddings.musicnn_numpy` and
:mod:`sectionist.analysis.embeddings.musicnn_torch`.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.embeddings.base import Embedder, register, resolve_device, torch_available
from sectionist.analysis.embeddings.musicnn_numpy import load_weights, musicnn_forward_numpy, vgg_forward_numpy

SR = 16000
FFT_SIZE = 512
FFT_HOP = 256
N_MELS = 96
PATCH_FRAMES = 187

MTT_LABELS = [
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals",
    "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft",
    "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal",
    "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
]
MSD_LABELS = [
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul",
    "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies",
    "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop",
    "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal",
    "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
]

#: (time, freq) size and stride of the five VGG max pools, from each checkpoint's ``.meta`` graph.
VGG_POOLS = {
    "MTT_vgg": [((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4))],
    "MSD_vgg": [((4, 1), (4, 1)), ((1, 4), (1, 4)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4))],
}

#: The pooling musicnn's ``models.py`` builds for *both* vgg models (not what MSD_vgg was trained with).
VGG_POOLS_MODELSPY = VGG_POOLS["MTT_vgg"]

#: embedding layers each architecture offers: name → dimension
LAYERS = {
    "musicnn": {"penultimate": 200, "penultimate_relu": 200, "pooled": 1506, "max_pool": 753,
                "mean_pool": 753, "taggram": 50},
    "vgg": {"pool5_flat": 256, "taggram": 50},
}
DEFAULT_LAYER = {"musicnn": "penultimate", "vgg": "pool5_flat"}


def architecture(model: str) -> str:
    return "vgg" if model.endswith("_vgg") else "musicnn"


# ---- preprocessing -----------------------------------------------------------------------------


def mel_power(y: np.ndarray) -> np.ndarray:
    """musicnn's mel power spectrogram of 16 kHz audio.

    Returns
    -------
    S : np.ndarray [shape=(frames, 96), dtype=float32]
        ``frames = 1 + len(y) // 256`` (centred frames, zero padding at the edges).
    """
    import librosa

    S = librosa.feature.melspectrogram(y=np.asarray(y, dtype=np.float32), sr=SR, n_fft=FFT_SIZE,
                                       hop_length=FFT_HOP, n_mels=N_MELS)
    return np.ascontiguousarray(S.T, dtype=np.float32)


def log_compress(S: np.ndarray) -> np.ndarray:
    """``log10(10000·S + 1)`` in float32 (musicnn's float16 cast would overflow under NumPy 2)."""
    S = np.asarray(S, dtype=np.float32)
    return np.log10(np.float32(10000) * S + np.float32(1))


def patch_starts(n_frames: int, patch_frames: int = PATCH_FRAMES, hop_frames: int = PATCH_FRAMES) -> np.ndarray:
    """First frame of every patch: 0, hop, 2·hop, … while a whole patch fits (trailing frames dropped)."""
    if n_frames < patch_frames:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_frames - patch_frames + 1, hop_frames, dtype=np.int64)


def make_patches(logmel: np.ndarray, patch_frames: int = PATCH_FRAMES,
                 hop_frames: int = PATCH_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Cut a log-mel spectrogram (frames, 96) into patches (n, patch_frames, 96) and their start frames."""
    starts = patch_starts(logmel.shape[0], patch_frames, hop_frames)
    if len(starts) == 0:
        return np.zeros((0, patch_frames, logmel.shape[1]), np.float32), starts
    windows = sliding_window_view(logmel, patch_frames, axis=0)[starts]  # (n, 96, patch)
    return np.ascontiguousarray(windows.transpose(0, 2, 1)), starts


# ---- the network object ---------------------------------------------------------------------------


class MusicnnModel:
    """One pretrained musicnn network with a NumPy and (optionally) a PyTorch forward pass.

    Parameters
    ----------
    model : str
        ``MSD_musicnn`` (default), ``MTT_musicnn``, ``MSD_vgg`` or ``MTT_vgg``.
    prefix : str, optional
        Checkpoint prefix; default: the model cache (:func:`modelcache.musicnn_checkpoint`).
    backend : {"auto", "torch", "numpy"}
        ``auto``: NumPy on the CPU (measured faster there, and needs no extra), PyTorch on a GPU.
    device : str
        ``cpu`` or ``cuda`` (PyTorch backend only).
    vgg_pooling : {"graph", "modelspy"}
        For ``MSD_vgg``: the pooling of its own ``.meta`` graph (correct, default) or the one musicnn's
        ``models.py`` builds (what ``pip install musicnn`` computes).
    """

    def __init__(self, model: str = "MSD_musicnn", prefix: str | None = None, backend: str = "auto",
                 device: str = "cpu", vgg_pooling: str = "graph"):
        from sectionist.analysis.embeddings import modelcache

        if model not in modelcache.MUSICNN_MODELS:
            raise ParameterError(f"model={model!r}: choose one of {', '.join(modelcache.MUSICNN_MODELS)}")
        if backend not in ("auto", "torch", "numpy"):
            raise ParameterError(f"backend={backend!r}: use 'auto', 'torch' or 'numpy'")
        if vgg_pooling not in ("graph", "modelspy"):
            raise ParameterError(f"vgg_pooling={vgg_pooling!r}: use 'graph' or 'modelspy'")
        self.model = model
        self.arch = architecture(model)
        self.device = resolve_device(device)
        if backend == "auto":
            # on the CPU the NumPy pass (blocked im2col/Toeplitz GEMMs reduced over frequency as they go)
            # measured faster than PyTorch's oneDNN convolutions: 38 vs 59 ms a patch on one thread of
            # the 2-core bench machine (torch 2.x CPU build), and no faster on two
            # (bench/embeddings.py); PyTorch is used for GPUs
            backend = "numpy" if self.device == "cpu" else "torch"
        if backend == "torch" and not torch_available():
            raise ParameterError("backend='torch' needs PyTorch (pip install 'sectionist[torch]')")
        if backend == "numpy" and self.device != "cpu":
            raise ParameterError(f"device={self.device!r} needs the torch backend")
        self.backend = backend
        self.prefix = prefix or modelcache.musicnn_checkpoint(model)
        self.weights = load_weights(self.prefix)
        self.pools = VGG_POOLS_MODELSPY if vgg_pooling == "modelspy" else VGG_POOLS.get(model)
        self.tag_names = list(MSD_LABELS if model.startswith("MSD") else MTT_LABELS)
        self._net = None

    def forward(self, patches: np.ndarray, intermediates: bool = False) -> dict[str, np.ndarray]:
        """Run the network on log-mel patches (N, T, 96); returns float32 NumPy arrays by name."""
        patches = np.asarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[2] != N_MELS:
            raise ParameterError(f"patches must have shape (N, T, {N_MELS}); got {patches.shape}")
        if self.arch == "vgg" and patches.shape[1] != PATCH_FRAMES:
            raise ParameterError(f"{self.model} accepts only {PATCH_FRAMES}-frame patches; got {patches.shape[1]}")
        if self.backend == "numpy":
            if self.arch == "vgg":
                return vgg_forward_numpy(self.weights, patches, self.pools, intermediates)
            return musicnn_forward_numpy(self.weights, patches, intermediates)
        import torch

        from sectionist.analysis.embeddings.musicnn_torch import build_torch_net

        if self._net is None:
            self._net = build_torch_net(self.weights, self.arch, self.pools, self.device)
        with torch.inference_mode():
            out = self._net(torch.from_numpy(patches).to(self.device))
        keep = out if intermediates else {k: v for k, v in out.items()
                                          if k not in ("midend", "pooled_bn", "penultimate_preact")}
        return {k: v.float().cpu().numpy() for k, v in keep.items()}


@register("musicnn", "MSD_musicnn penultimate layer (200-d) + 50 Last.fm tags; pretrained, 3 s frames (default)")
def _musicnn(**options):
    return MusicnnEmbedder(model="MSD_musicnn", name="musicnn", **options)


@register("musicnn-mtt", "MTT_musicnn penultimate layer (200-d) + 50 MagnaTagATune tags; 3 s frames")
def _musicnn_mtt(**options):
    return MusicnnEmbedder(model="MTT_musicnn", name="musicnn-mtt", **options)


@register("vgg-msd", "musicnn's MSD_vgg pool5 (256-d) + 50 Last.fm tags; 3 s frames")
def _vgg_msd(**options):
    return MusicnnEmbedder(model="MSD_vgg", name="vgg-msd", **options)


@register("vgg-mtt", "musicnn's MTT_vgg pool5 (256-d) + 50 MagnaTagATune tags; 3 s frames")
def _vgg_mtt(**options):
    return MusicnnEmbedder(model="MTT_vgg", name="vgg-mtt", **options)


class MusicnnEmbedder(Embedder):
    """Frame embeddings and tags from a pretrained musicnn network.

    Parameters
    ----------
    model : str
        ``MSD_musicnn`` (default), ``MTT_musicnn``, ``MSD_vgg`` or ``MTT_vgg``.
    layer : str, optional
        Embedding layer: for musicnn models ``penultimate`` (default, 200-d, after ReLU and batch
        norm), ``penultimate_relu``, ``pooled`` (1506), ``max_pool``, ``mean_pool`` (753) or
        ``taggram`` (50); for vgg models ``pool5_flat`` (default, 256) or ``taggram``.
    hop_s : float, optional
        Hop between 3 s patches in seconds (default: one patch, i.e. no overlap, as musicnn).
    batch_size : int, optional
        Patches per forward pass (default 8 with NumPy, 32 with PyTorch on the CPU, 128 on a GPU).
    backend, device, prefix, vgg_pooling
        See :class:`MusicnnModel`.
    name : str, optional
        Name stored in the ``frames`` table (default: from the registry).
    """

    sample_rate = SR

    def __init__(self, model: str = "MSD_musicnn", layer: str | None = None, hop_s: float | None = None,
                 batch_size: int | None = None, backend: str = "auto", device: str = "cpu", prefix: str | None = None,
                 vgg_pooling: str = "graph", name: str | None = None):
        arch = architecture(model)
        layer = layer or DEFAULT_LAYER[arch]
        if layer not in LAYERS[arch]:
            raise ParameterError(f"layer={layer!r} for {model}: choose one of {', '.join(LAYERS[arch])}")
        if batch_size is not None and batch_size < 1:
            raise ParameterError(f"batch_size={batch_size}: must be ≥ 1")
        self.net = MusicnnModel(model, prefix=prefix, backend=backend, device=device, vgg_pooling=vgg_pooling)
        if batch_size is None:  # NumPy works patch by patch inside a batch (a few MB each): small batches do
            batch_size = 8 if self.net.backend == "numpy" else (128 if self.net.device != "cpu" else 32)
        self.model = model
        self.layer = layer
        self.name = name or model
        self.dim = LAYERS[arch][layer]
        self.batch_size = int(batch_size)
        self.window_s = PATCH_FRAMES * FFT_HOP / SR
        if hop_s is None:
            self.hop_frames = PATCH_FRAMES
        else:
            if hop_s <= 0:
                raise ParameterError(f"hop_s={hop_s}: must be > 0")
            self.hop_frames = max(1, round(hop_s * SR / FFT_HOP))
        self.hop_s = self.hop_frames * FFT_HOP / SR
        self.tag_model = model
        self.tag_names = self.net.tag_names

    def _patches(self, y):
        min_len = (PATCH_FRAMES - 1) * FFT_HOP
        if len(y) < min_len:  # shorter than one patch: zero-pad to exactly one patch
            y = np.pad(y, (0, min_len - len(y)))
        patches, starts = make_patches(log_compress(mel_power(y)), PATCH_FRAMES, self.hop_frames)
        return patches, starts.astype(np.float64) * FFT_HOP / SR

    def _forward(self, patches):
        out = self.net.forward(patches)
        return (out["probs"] if self.layer == "taggram" else out[self.layer]), out["probs"]

    def describe(self) -> dict:
        d = super().describe()
        d.update(model=self.model, layer=self.layer, backend=self.net.backend, source=MUSICNN_SOURCE)
        return d


MUSICNN_SOURCE = "musicnn==0.1.0 (PyPI wheel, ISC licence; Pons & Serra 2019)"
