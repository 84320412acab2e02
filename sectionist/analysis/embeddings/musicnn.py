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
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.embeddings.base import Embedder, register, resolve_device, torch_available

SR = 16000
FFT_SIZE = 512
FFT_HOP = 256
N_MELS = 96
PATCH_FRAMES = 187
BN_EPS = 1e-3

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


# ---- weights -----------------------------------------------------------------------------------


def load_weights(prefix: str) -> dict[str, np.ndarray]:
    """The model variables of a musicnn checkpoint (optimiser slots left out), as float32 arrays."""
    from sectionist.analysis.embeddings.tfcheckpoint import CheckpointReader

    return {k: v.astype(np.float32) for k, v in CheckpointReader(prefix).to_dict().items()}


def _bn_affine(w: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Inference batch norm as ``x·scale + shift``."""
    scale = w[f"{name}/gamma"] / np.sqrt(w[f"{name}/moving_variance"] + np.float32(BN_EPS))
    shift = w[f"{name}/beta"] - w[f"{name}/moving_mean"] * scale
    return scale.astype(np.float32), shift.astype(np.float32)


# ---- NumPy forward pass --------------------------------------------------------------------------


def _relu(x):
    return np.maximum(x, 0, out=x)


#: Output frames per time block of the timbral convolutions (keeps a block's im2col rows and its
#: (frames, F', C) product in the cache, so the max over frequency reads them before they leave it).
TIMBRAL_TIME_BLOCK = 32
#: Output frames per block of the temporal convolutions' block-Toeplitz product (see _temporal_extreme).
TEMPORAL_BLOCK = 8


def _timbral_extreme(x: np.ndarray, kernel: np.ndarray, pad_t: tuple[int, int],
                     time_block: int = TIMBRAL_TIME_BLOCK) -> np.ndarray:
    """``max_F`` of the TF conv2d (no bias) of single-channel ``x`` (N, T, F) with ``kernel`` (kt, kf, 1, C).

    Time padding only. The (N, T', F', C) convolution is never materialised: it is computed per patch
    and block of ``time_block`` output frames (an im2col GEMM with the reduced axis F' in the middle),
    and reduced over frequency straight away. Returns (N, T', C).
    """
    kt, kf, _, c = kernel.shape
    xp = np.pad(x, ((0, 0), pad_t, (0, 0))) if any(pad_t) else x
    cols = sliding_window_view(xp, (kt, kf), axis=(1, 2))  # (N, T', F', kt, kf), a view
    n, t, f = cols.shape[:3]
    k2 = kernel.reshape(kt * kf, c)
    out = np.empty((n, t, c), np.float32)
    for i in range(n):
        for t0 in range(0, t, time_block):
            t1 = min(t, t0 + time_block)
            y = cols[i, t0:t1].reshape((t1 - t0) * f, kt * kf) @ k2
            np.max(y.reshape(t1 - t0, f, c), axis=1, out=out[i, t0:t1])
    return out


_TOEPLITZ: dict = {}


def _block_toeplitz(kernel: np.ndarray, block: int) -> np.ndarray:
    """``W`` (block + kt − 1, block·C) with ``W[b + j, b·C + c] = kernel[j, c]``: one row of ``block + kt − 1``
    input samples times ``W`` gives ``block`` consecutive outputs of the temporal convolution. Cached per
    kernel array."""
    key = (id(kernel), block)
    hit = _TOEPLITZ.get(key)
    if hit is not None and hit[0] is kernel:
        return hit[1]
    kt, c = kernel.shape[0], kernel.shape[-1]
    k2 = kernel.reshape(kt, c)
    W = np.zeros((block + kt - 1, block, c), np.float32)
    for b in range(block):
        W[b:b + kt, b] = k2
    W = W.reshape(block + kt - 1, block * c)
    _TOEPLITZ[key] = (kernel, W)
    return W


def _temporal_extreme(x: np.ndarray, kernel: np.ndarray, pad_t: tuple[int, int],
                      block: int = TEMPORAL_BLOCK) -> np.ndarray:
    """``max_F`` of the temporal conv (kt×1 kernel, no bias) of single-channel ``x`` (N, T, F): (N, T', C).

    Each frequency bin is a 1-D signal; ``block`` outputs at a time come from one window of
    ``block + kt − 1`` samples times :func:`_block_toeplitz` (a GEMM with ``block·C`` columns instead of an
    im2col of ``kt`` copies of every sample and a skinny ``C``-column product). Per patch, reduced
    over frequency straight away.
    """
    kt, c = kernel.shape[0], kernel.shape[-1]
    n, t, f = x.shape
    t_out = t + pad_t[0] + pad_t[1] - kt + 1
    nb = -(-t_out // block)
    W = _block_toeplitz(kernel, block)
    width = block + kt - 1
    xp = np.zeros((n, f, nb * block + kt - 1), np.float32)  # (N, F, time): each bin's signal contiguous
    xp[:, :, pad_t[0]:pad_t[0] + t] = x.transpose(0, 2, 1)  # zero padding, then zeros up to whole blocks
    out = np.empty((n, t_out, c), np.float32)
    for i in range(n):
        win = sliding_window_view(xp[i], width, axis=1)[:, ::block]  # (F, nb, width)
        y = np.ascontiguousarray(win).reshape(f * nb, width) @ W  # (F·nb, block·C)
        np.max(y.reshape(f, nb * block, c)[:, :t_out], axis=0, out=out[i])
    return out


def _conv1d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The mid-end conv: ``x`` (N, T, D) with a kernel (7, D, 1, C) spanning all of D, time padded 3|3."""
    kt, d, _, c = kernel.shape
    pad = (kt - 1) // 2
    xp = np.pad(x, ((0, 0), (pad, kt - 1 - pad), (0, 0)))
    cols = sliding_window_view(xp, kt, axis=1)  # (N, T, D, kt)
    n, t = cols.shape[:2]
    cols = np.ascontiguousarray(cols.transpose(0, 1, 3, 2)).reshape(n * t, kt * d)
    out = cols @ kernel.reshape(kt * d, c)
    out += bias
    return out.reshape(n, t, c)


def _sign_folded(w: dict, conv: str, bn: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(kernel·sign, sign, bias, scale, shift)`` of a front-end branch, ``sign = ±1`` from the BN scale."""
    scale, shift = _bn_affine(w, f"batch_normalization_{bn}")
    sign = np.where(scale >= 0, 1.0, -1.0).astype(np.float32)
    return w[f"{conv}/kernel"] * sign, sign, w[f"{conv}/bias"], scale, shift


def _branch_max(extreme_signed: np.ndarray, sign, bias, scale, shift) -> np.ndarray:
    """``max_F BN(ReLU(conv + bias))`` from ``extreme_signed`` = ``max_F`` of the conv output times ``sign``.

    Adding the bias and ReLU are monotone increasing, so they commute with the max over frequency;
    BN is monotone per channel, increasing where ``scale ≥ 0`` (take the max of the conv) and
    decreasing where ``scale < 0`` (take the min, i.e. ``−max(−conv)``: the kernel was negated for
    those channels). So the big (N, T, F, C) convolution is reduced over F as it is computed
    (:func:`_timbral_extreme`, :func:`_temporal_extreme`), before anything else.
    """
    extreme = extreme_signed * sign
    return np.maximum(extreme + bias, 0) * scale + shift


def musicnn_forward_numpy(w: dict, x: np.ndarray, intermediates: bool = False) -> dict[str, np.ndarray]:
    """Forward pass of MSD/MTT_musicnn in float32 NumPy.

    Parameters
    ----------
    w : dict
        Model variables (:func:`load_weights`).
    x : np.ndarray [shape=(N, T, 96)]
        Log-mel patches.
    intermediates : bool
        Also return ``midend`` (N, T, 753) and the pre-activation arrays.

    Returns
    -------
    dict with ``penultimate`` (N, 200), ``probs`` (N, 50), ``logits``, ``pooled`` (N, 1506),
    ``max_pool``, ``mean_pool`` (N, 753) and ``penultimate_relu``; with ``intermediates`` also
    ``penultimate_preact``, ``pooled_bn`` and ``midend``.
    """
    x = np.asarray(x, dtype=np.float32)
    s0, b0 = _bn_affine(w, "batch_normalization")
    x = x * s0[0] + b0[0]
    branches = []
    for conv, bn in (("conv2d", 1), ("conv2d_1", 2)):
        kernel, *rest = _sign_folded(w, conv, bn)
        branches.append(_branch_max(_timbral_extreme(x, kernel, (3, 3)), *rest))
    for conv, bn in (("conv2d_2", 3), ("conv2d_3", 4), ("conv2d_4", 5)):
        kernel, *rest = _sign_folded(w, conv, bn)
        k = kernel.shape[0]
        branches.append(_branch_max(_temporal_extreme(x, kernel, ((k - 1) // 2, k // 2)), *rest))
    front = np.concatenate(branches, axis=2)  # (N, T, 561)

    def block(inp, conv, bn):
        y = _relu(_conv1d(inp, w[f"{conv}/kernel"], w[f"{conv}/bias"]))
        s, b = _bn_affine(w, f"batch_normalization_{bn}")
        return y * s + b

    t1 = block(front, "conv2d_5", 6)
    r2 = block(t1, "conv2d_6", 7) + t1
    r3 = block(r2, "conv2d_7", 8) + r2
    midend = np.concatenate([front, t1, r2, r3], axis=2)  # (N, T, 753)
    return _musicnn_backend(w, midend, intermediates)


def _musicnn_backend(w, midend, intermediates):
    max_pool = midend.max(axis=1)
    mean_pool = midend.mean(axis=1, dtype=np.float32)
    n, c = max_pool.shape
    pooled = np.empty((n, 2 * c), np.float32)
    pooled[:, 0::2] = max_pool
    pooled[:, 1::2] = mean_pool
    s, b = _bn_affine(w, "batch_normalization_9")
    pooled_bn = pooled * s + b
    pre = pooled_bn @ w["dense/kernel"] + w["dense/bias"]
    relu = np.maximum(pre, 0)
    s, b = _bn_affine(w, "batch_normalization_10")
    pen = relu * s + b
    logits = pen @ w["dense_1/kernel"] + w["dense_1/bias"]
    out = {
        "penultimate": pen, "penultimate_relu": relu, "logits": logits, "probs": _sigmoid(logits),
        "pooled": pooled, "max_pool": max_pool, "mean_pool": mean_pool,
    }
    if intermediates:
        out.update(penultimate_preact=pre, pooled_bn=pooled_bn, midend=midend)
    return out


def _sigmoid(z):
    from scipy.special import expit  # no overflow warning for large negative logits

    return expit(np.asarray(z, dtype=np.float32)).astype(np.float32)


def _maxpool_valid(x: np.ndarray, size, stride) -> np.ndarray:
    """VALID max pool of NHWC ``x`` over (H, W)."""
    win = sliding_window_view(x, size, axis=(1, 2))  # (N, H', W', C, sh, sw)
    win = win[:, :: stride[0], :: stride[1]]
    return win.max(axis=(4, 5))


def vgg_forward_numpy(w: dict, x: np.ndarray, pools, intermediates: bool = False) -> dict[str, np.ndarray]:
    """Forward pass of MSD/MTT_vgg in float32 NumPy (``pools``: :data:`VGG_POOLS` entry).

    Returns ``pool5_flat`` (N, 256), ``logits`` and ``probs`` (N, 50).
    """
    x = np.asarray(x, dtype=np.float32)
    s0, b0 = _bn_affine(w, "batch_normalization")
    h = (x * s0[0] + b0[0])[..., None]  # NHWC, C = 1
    for i, (size, stride) in enumerate(pools, start=1):
        k = w[f"{i}CNN/kernel"]  # (3, 3, Cin, Cout)
        hp = np.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
        cols = sliding_window_view(hp, (3, 3), axis=(1, 2))  # (N, H, W, Cin, 3, 3)
        n, hh, ww, cin = cols.shape[:4]
        cols = np.ascontiguousarray(cols.transpose(0, 1, 2, 4, 5, 3)).reshape(n * hh * ww, 9 * cin)
        y = (cols @ k.reshape(9 * cin, -1) + w[f"{i}CNN/bias"]).reshape(n, hh, ww, -1)
        s, b = _bn_affine(w, f"batch_normalization_{i}")
        h = _maxpool_valid(_relu(y) * s + b, size, stride)
    flat = h.reshape(h.shape[0], -1)
    logits = flat @ w["dense/kernel"] + w["dense/bias"]
    return {"pool5_flat": flat, "logits": logits, "probs": _sigmoid(logits)}


# ---- PyTorch forward pass ----------------------------------------------------------------------------


def _build_torch_net(w: dict, arch: str, pools, device: str):
    """A ``torch.nn.Module`` computing the same outputs as the NumPy pass (float32, inference only)."""
    import torch
    import torch.nn.functional as F

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    class MusicnnNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            s0, b0 = _bn_affine(w, "batch_normalization")
            self.register_buffer("in_scale", t(s0))
            self.register_buffer("in_shift", t(b0))
            if arch == "musicnn":
                for bn, conv in enumerate(("conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4"), start=1):
                    kernel, sign, bias, _, _ = _sign_folded(w, conv, bn)
                    self.register_buffer(f"{conv}_w", t(kernel.transpose(3, 2, 0, 1)))
                    self.register_buffer(f"{conv}_sign", t(sign).view(1, -1, 1))
                    self.register_buffer(f"{conv}_b", t(bias).view(1, -1, 1))
                for conv in ("conv2d_5", "conv2d_6", "conv2d_7"):
                    # (7, D, 1, C) → conv1d weight (C, D, 7)
                    self.register_buffer(f"{conv}_w", t(w[f"{conv}/kernel"][:, :, 0, :].transpose(2, 1, 0)))
                    self.register_buffer(f"{conv}_b", t(w[f"{conv}/bias"]))
                for d in ("dense", "dense_1"):
                    self.register_buffer(f"{d}_w", t(w[f"{d}/kernel"]))
                    self.register_buffer(f"{d}_b", t(w[f"{d}/bias"]))
                for i in range(1, 11):
                    s, b = _bn_affine(w, f"batch_normalization_{i}")
                    self.register_buffer(f"bn{i}_s", t(s))
                    self.register_buffer(f"bn{i}_b", t(b))
            else:
                for i in range(1, 6):
                    self.register_buffer(f"c{i}_w", t(w[f"{i}CNN/kernel"].transpose(3, 2, 0, 1)))
                    self.register_buffer(f"c{i}_b", t(w[f"{i}CNN/bias"]))
                    s, b = _bn_affine(w, f"batch_normalization_{i}")
                    self.register_buffer(f"bn{i}_s", t(s))
                    self.register_buffer(f"bn{i}_b", t(b))
                self.register_buffer("dense_w", t(w["dense/kernel"]))
                self.register_buffer("dense_b", t(w["dense/bias"]))

        def bn(self, x, i, dim):
            s, b = getattr(self, f"bn{i}_s"), getattr(self, f"bn{i}_b")
            shape = [1] * x.dim()
            shape[dim] = -1
            return x * s.view(shape) + b.view(shape)

        def branch_max(self, y, conv, i):  # y: (N, C, T, F), sign-folded kernel, no bias (see _branch_max)
            extreme = y.amax(dim=3) * getattr(self, f"{conv}_sign")
            return self.bn(F.relu(extreme + getattr(self, f"{conv}_b")), i, 1)

        def forward(self, x):  # x: (N, T, 96)
            x = (x * self.in_scale + self.in_shift).unsqueeze(1)  # (N, 1, T, F)
            if arch == "vgg":
                return self._vgg(x)
            branches = []
            # max over frequency first, then bias, ReLU and BN (see _branch_max: all monotone)
            for conv, i in (("conv2d", 1), ("conv2d_1", 2)):
                y = F.conv2d(x, getattr(self, f"{conv}_w"), padding=(3, 0))
                branches.append(self.branch_max(y, conv, i))  # (N, C, T)
            for conv, i in (("conv2d_2", 3), ("conv2d_3", 4), ("conv2d_4", 5)):
                kw = getattr(self, f"{conv}_w")
                k = kw.shape[2]
                y = F.conv2d(F.pad(x, (0, 0, (k - 1) // 2, k // 2)), kw)
                branches.append(self.branch_max(y, conv, i))
            front = torch.cat(branches, dim=1)  # (N, 561, T)

            def block(inp, conv, i):
                y = F.relu(F.conv1d(inp, getattr(self, f"{conv}_w"), getattr(self, f"{conv}_b"), padding=3))
                return self.bn(y, i, 1)

            t1 = block(front, "conv2d_5", 6)
            r2 = block(t1, "conv2d_6", 7) + t1
            r3 = block(r2, "conv2d_7", 8) + r2
            midend = torch.cat([front, t1, r2, r3], dim=1)  # (N, 753, T)
            max_pool = midend.amax(dim=2)
            mean_pool = midend.mean(dim=2)
            pooled = torch.stack([max_pool, mean_pool], dim=2).reshape(midend.shape[0], -1)
            pooled_bn = self.bn(pooled, 9, 1)
            pre = pooled_bn @ self.dense_w + self.dense_b
            relu = F.relu(pre)
            pen = self.bn(relu, 10, 1)
            logits = pen @ self.dense_1_w + self.dense_1_b
            return {
                "penultimate": pen, "penultimate_relu": relu, "penultimate_preact": pre, "logits": logits,
                "probs": torch.sigmoid(logits), "pooled": pooled, "pooled_bn": pooled_bn,
                "max_pool": max_pool, "mean_pool": mean_pool, "midend": midend.transpose(1, 2),
            }

        def _vgg(self, h):
            for i, (size, stride) in enumerate(pools, start=1):
                y = F.relu(F.conv2d(h, getattr(self, f"c{i}_w"), getattr(self, f"c{i}_b"), padding=1))
                h = F.max_pool2d(self.bn(y, i, 1), size, stride)
            flat = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # NHWC order, as TF flattens
            logits = flat @ self.dense_w + self.dense_b
            return {"pool5_flat": flat, "logits": logits, "probs": torch.sigmoid(logits)}

    return MusicnnNet().to(device).eval()


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

        if self._net is None:
            self._net = _build_torch_net(self.weights, self.arch, self.pools, self.device)
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
