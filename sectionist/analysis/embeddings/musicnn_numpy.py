"""musicnn's forward passes in float32 NumPy, and the checkpoint weights they read.

:func:`musicnn_forward_numpy` (MSD/MTT_musicnn) and :func:`vgg_forward_numpy` (MSD/MTT_vgg) take the
variables of :func:`load_weights`; :func:`bn_affine` and :func:`sign_folded` are also used by the
PyTorch pass (:mod:`sectionist.analysis.embeddings.musicnn_torch`). The front end's convolutions are
reduced over frequency as they are computed (:func:`_branch_max`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Epsilon of the checkpoints' batch normalisations.
BN_EPS = 1e-3


# ---- weights -----------------------------------------------------------------------------------


def load_weights(prefix: str) -> dict[str, np.ndarray]:
    """The model variables of a musicnn checkpoint (optimiser slots left out), as float32 arrays."""
    from sectionist.analysis.embeddings.tfcheckpoint import CheckpointReader

    return {k: v.astype(np.float32) for k, v in CheckpointReader(prefix).to_dict().items()}


def bn_affine(w: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
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


def sign_folded(w: dict, conv: str, bn: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(kernel·sign, sign, bias, scale, shift)`` of a front-end branch, ``sign = ±1`` from the BN scale."""
    scale, shift = bn_affine(w, f"batch_normalization_{bn}")
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
    s0, b0 = bn_affine(w, "batch_normalization")
    x = x * s0[0] + b0[0]
    branches = []
    for conv, bn in (("conv2d", 1), ("conv2d_1", 2)):
        kernel, *rest = sign_folded(w, conv, bn)
        branches.append(_branch_max(_timbral_extreme(x, kernel, (3, 3)), *rest))
    for conv, bn in (("conv2d_2", 3), ("conv2d_3", 4), ("conv2d_4", 5)):
        kernel, *rest = sign_folded(w, conv, bn)
        k = kernel.shape[0]
        branches.append(_branch_max(_temporal_extreme(x, kernel, ((k - 1) // 2, k // 2)), *rest))
    front = np.concatenate(branches, axis=2)  # (N, T, 561)

    def block(inp, conv, bn):
        y = _relu(_conv1d(inp, w[f"{conv}/kernel"], w[f"{conv}/bias"]))
        s, b = bn_affine(w, f"batch_normalization_{bn}")
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
    s, b = bn_affine(w, "batch_normalization_9")
    pooled_bn = pooled * s + b
    pre = pooled_bn @ w["dense/kernel"] + w["dense/bias"]
    relu = np.maximum(pre, 0)
    s, b = bn_affine(w, "batch_normalization_10")
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
    s0, b0 = bn_affine(w, "batch_normalization")
    h = (x * s0[0] + b0[0])[..., None]  # NHWC, C = 1
    for i, (size, stride) in enumerate(pools, start=1):
        k = w[f"{i}CNN/kernel"]  # (3, 3, Cin, Cout)
        hp = np.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
        cols = sliding_window_view(hp, (3, 3), axis=(1, 2))  # (N, H, W, Cin, 3, 3)
        n, hh, ww, cin = cols.shape[:4]
        cols = np.ascontiguousarray(cols.transpose(0, 1, 2, 4, 5, 3)).reshape(n * hh * ww, 9 * cin)
        y = (cols @ k.reshape(9 * cin, -1) + w[f"{i}CNN/bias"]).reshape(n, hh, ww, -1)
        s, b = bn_affine(w, f"batch_normalization_{i}")
        h = _maxpool_valid(_relu(y) * s + b, size, stride)
    flat = h.reshape(h.shape[0], -1)
    logits = flat @ w["dense/kernel"] + w["dense/bias"]
    return {"pool5_flat": flat, "logits": logits, "probs": _sigmoid(logits)}
