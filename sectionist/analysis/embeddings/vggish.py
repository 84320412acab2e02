"""VGGish (Hershey et al., 2017): the embedding the reference study used, in PyTorch.

Audio at 16 kHz → log-mel examples of 96 frames × 64 bands (0.96 s, 25 ms windows, 10 ms hop,
125–7500 Hz, HTK mel, ``log(mel + 0.01)``) → VGG network → 128-d → PCA (with whitening) → clipped
to [−2, 2] → quantised to 0–255, as in VGGish's own post-processing.

The weights are never downloaded by sectionist. They are read from a local file in the layout of
the common PyTorch port (harritaylor/torchvggish): ``features.{0,3,6,8,11,13}.{weight,bias}`` and
``embeddings.{0,2,4}.{weight,bias}``, with the PCA parameters either in the same file
(``pproc.pca_matrix``/``pproc.pca_means``, or ``pca_eigen_vectors``/``pca_means``) or in a second
file (the port's ``vggish_pca_params-*.pth``). See ``docs/embeddings.md`` for how to obtain them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.embeddings.base import Embedder, register, resolve_device
from sectionist.analysis.embeddings.modelcache import ModelMissingError, model_dir

SR = 16000
STFT_WINDOW = 400  # 25 ms
STFT_HOP = 160  # 10 ms
FFT_LENGTH = 512
N_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s
EMBEDDING_SIZE = 128
QUANTIZE_MIN, QUANTIZE_MAX = -2.0, 2.0

WEIGHTS_ENV = "SECTIONIST_VGGISH_WEIGHTS"
PCA_ENV = "SECTIONIST_VGGISH_PCA"
WEIGHTS_URL = "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth"
PCA_URL = "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish_pca_params-970ea276.pth"

_FEATURE_CONVS = (0, 3, 6, 8, 11, 13)
_EMBED_LINEARS = (0, 2, 4)


# ---- preprocessing (after VGGish's mel_features.py) ------------------------------------------------


def _hz_to_mel(f):
    return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_matrix(n_bands: int = N_BANDS, n_bins: int = FFT_LENGTH // 2 + 1, sr: int = SR,
               fmin: float = MEL_MIN_HZ, fmax: float = MEL_MAX_HZ) -> np.ndarray:
    """VGGish's triangular HTK mel filterbank, shape (n_bins, n_bands), no area normalisation."""
    bins_mel = _hz_to_mel(np.linspace(0.0, sr / 2.0, n_bins))
    edges = np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_bands + 2)
    W = np.empty((n_bins, n_bands))
    for i in range(n_bands):
        lo, c, hi = edges[i:i + 3]
        W[:, i] = np.maximum(0.0, np.minimum((bins_mel - lo) / (c - lo), (hi - bins_mel) / (hi - c)))
    W[0, :] = 0.0  # the DC bin carries no mel energy
    return W


_MEL = None


def log_mel(y: np.ndarray) -> np.ndarray:
    """Log-mel spectrogram (frames, 64) of 16 kHz audio, frames of 25 ms every 10 ms (no centring)."""
    global _MEL
    if _MEL is None:
        _MEL = mel_matrix()
    y = np.asarray(y, dtype=np.float64)
    if len(y) < STFT_WINDOW:
        y = np.pad(y, (0, STFT_WINDOW - len(y)))
    n = 1 + (len(y) - STFT_WINDOW) // STFT_HOP
    frames = np.lib.stride_tricks.sliding_window_view(y, STFT_WINDOW)[::STFT_HOP][:n]
    window = 0.5 - 0.5 * np.cos(2 * np.pi / STFT_WINDOW * np.arange(STFT_WINDOW))  # periodic Hann
    mag = np.abs(np.fft.rfft(frames * window, FFT_LENGTH))
    return np.log(mag @ _MEL + LOG_OFFSET).astype(np.float32)


def examples(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping 96×64 examples of 16 kHz audio and their start times (s); short audio is zero-padded."""
    need = (EXAMPLE_FRAMES - 1) * STFT_HOP + STFT_WINDOW
    if len(y) < need:
        y = np.pad(np.asarray(y, dtype=np.float32), (0, need - len(y)))
    lm = log_mel(y)
    n = lm.shape[0] // EXAMPLE_FRAMES
    ex = lm[: n * EXAMPLE_FRAMES].reshape(n, EXAMPLE_FRAMES, N_BANDS)
    return np.ascontiguousarray(ex), np.arange(n) * EXAMPLE_FRAMES * STFT_HOP / SR


# ---- network -------------------------------------------------------------------------------------------


def build_vggish():
    """The VGGish network as a ``torch.nn.Module`` with the PyTorch port's parameter names."""
    from torch import nn

    class VGGish(nn.Module):
        def __init__(self):
            super().__init__()
            layers, cin = [], 1
            for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M"):
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                    cin = v
            self.features = nn.Sequential(*layers)
            self.embeddings = nn.Sequential(
                nn.Linear(512 * 4 * 6, 4096), nn.ReLU(True), nn.Linear(4096, 4096), nn.ReLU(True),
                nn.Linear(4096, EMBEDDING_SIZE), nn.ReLU(True),
            )

        def forward(self, x):  # x: (N, 96, 64)
            h = self.features(x.unsqueeze(1))  # (N, 512, 6, 4)
            h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # NHWC flatten, as TF VGGish
            return self.embeddings(h)

    return VGGish().eval()


def postprocess(emb: np.ndarray, pca_matrix: np.ndarray, pca_means: np.ndarray) -> np.ndarray:
    """VGGish post-processing: PCA (+ whitening), clip to [−2, 2], quantise to 0–255 (rounded, as the port).

    Parameters
    ----------
    emb : np.ndarray [shape=(n, 128)]
    pca_matrix : np.ndarray [shape=(128, 128)]
    pca_means : np.ndarray [shape=(128,) or (128, 1)]

    Returns
    -------
    np.ndarray [shape=(n, 128), dtype=float32]
        Whole numbers in 0–255.
    """
    pca = (np.asarray(emb, np.float64) - np.asarray(pca_means, np.float64).reshape(1, -1)) @ np.asarray(
        pca_matrix, np.float64).T
    clipped = np.clip(pca, QUANTIZE_MIN, QUANTIZE_MAX)
    return np.round((clipped - QUANTIZE_MIN) * (255.0 / (QUANTIZE_MAX - QUANTIZE_MIN))).astype(np.float32)


def _missing_message(path) -> str:
    where = f"{path}: VGGish weights file not found." if path else "No VGGish weights file given."
    return (
        f"{where} sectionist never downloads weights itself. Where the internet is available, download "
        f"the PyTorch port's files (harritaylor/torchvggish, release v0.1):\n  {WEIGHTS_URL}\n  {PCA_URL}\n"
        f"put them in {model_dir() / 'vggish'} (found there automatically), or pass "
        f"--weights PATH (and --pca PATH) / set {WEIGHTS_ENV} (and {PCA_ENV})."
    )


def find_weights(weights=None, pca=None) -> tuple[Path, Path | None]:
    """Resolve the weights (and PCA) files: argument, then env var, then ``<model cache>/vggish/``."""
    w = weights or os.environ.get(WEIGHTS_ENV)
    p = pca or os.environ.get(PCA_ENV)
    if w is None:
        cands = sorted((model_dir() / "vggish").glob("vggish-*.pth")) + sorted(
            (model_dir() / "vggish").glob("vggish.pth"))
        if not cands:
            raise ModelMissingError(_missing_message(None))
        w = cands[0]
    w = Path(w).expanduser()
    if not w.is_file():
        raise ModelMissingError(_missing_message(w))
    if p is None:
        sib = sorted(w.parent.glob("vggish_pca_params*.pth"))
        p = sib[0] if sib else None
    if p is not None:
        p = Path(p).expanduser()
        if not p.is_file():
            raise ModelMissingError(f"{p}: VGGish PCA parameters file not found. " + _missing_message(w))
    return w, p


def _load_state(path: Path) -> dict:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (torch.load raises many types for a bad file)
        raise ParameterError(f"{path}: not a readable PyTorch state_dict ({exc})") from None
    if not isinstance(state, dict):
        raise ParameterError(f"{path}: expected a state_dict (dict of tensors), got {type(state).__name__}")
    return state


_PCA_KEYS = (("pproc.pca_matrix", "pproc.pca_means"), ("pproc._pca_matrix", "pproc._pca_means"),
             ("pca_eigen_vectors", "pca_means"))


def _find_pca(state: dict):
    for km, kv in _PCA_KEYS:
        if km in state and kv in state:
            return np.asarray(state[km], np.float32), np.asarray(state[kv], np.float32).reshape(-1)
    return None


@register("vggish", "VGGish 128-d, PCA + 8-bit (0–255) post-processing; weights from a local file; 0.96 s frames",
          needs_torch=True)
class VGGishEmbedder(Embedder):
    """VGGish frame embeddings (0.96 s frames, 128 values in 0–255 after post-processing).

    Parameters
    ----------
    weights : str or Path, optional
        State-dict file of the PyTorch port (default: ``$SECTIONIST_VGGISH_WEIGHTS``, then
        ``<model cache>/vggish/vggish-*.pth``).
    pca : str or Path, optional
        File with ``pca_eigen_vectors`` and ``pca_means`` (default: ``$SECTIONIST_VGGISH_PCA``, then a
        ``vggish_pca_params*.pth`` beside the weights, then PCA keys inside the weights file).
    postprocess : bool
        Apply PCA and quantisation (default, the study's format). ``False`` gives the raw 128-d ReLU output.
    device : str
    batch_size : int
    """

    name = "vggish"
    dim = EMBEDDING_SIZE
    sample_rate = SR
    window_s = ((EXAMPLE_FRAMES - 1) * STFT_HOP + STFT_WINDOW) / SR
    hop_s = EXAMPLE_FRAMES * STFT_HOP / SR

    def __init__(self, weights=None, pca=None, postprocess: bool = True, device: str = "cpu",
                 batch_size: int = 64):
        try:
            import torch
        except ImportError:
            raise ParameterError("the vggish embedder needs PyTorch: pip install 'sectionist[torch]'") from None
        if batch_size < 1:
            raise ParameterError(f"batch_size={batch_size}: must be ≥ 1")
        self.batch_size = int(batch_size)
        self.device = resolve_device(device)
        self.weights_path, pca_path = find_weights(weights, pca)
        state = _load_state(self.weights_path)
        pca_params = _find_pca(state)
        if pca_path is not None:
            pca_params = _find_pca(_load_state(pca_path))
            if pca_params is None:
                raise ParameterError(f"{pca_path}: no 'pca_eigen_vectors'/'pca_means' in this file")
        self.postprocess = bool(postprocess)
        if self.postprocess:
            if pca_params is None:
                raise ModelMissingError(
                    f"{self.weights_path}: holds no PCA parameters and no vggish_pca_params*.pth lies beside it. "
                    + _missing_message(self.weights_path))
            m, mu = pca_params
            if m.shape != (EMBEDDING_SIZE, EMBEDDING_SIZE) or mu.shape != (EMBEDDING_SIZE,):
                raise ParameterError(f"VGGish PCA parameters have shapes {m.shape}, {mu.shape}; expected (128, 128), (128,)")
            self.pca_matrix, self.pca_means = m, mu
        net = build_vggish()
        model_state = {k: v for k, v in state.items() if k.startswith(("features.", "embeddings."))}
        expected = set(net.state_dict())
        if set(model_state) != expected:
            missing = sorted(expected - set(model_state))[:4]
            extra = sorted(set(model_state) - expected)[:4]
            raise ParameterError(
                f"{self.weights_path}: not VGGish weights in the torchvggish layout "
                f"(missing {missing}, unexpected {extra})")
        try:
            net.load_state_dict({k: torch.as_tensor(v, dtype=torch.float32) for k, v in model_state.items()})
        except RuntimeError as exc:
            raise ParameterError(f"{self.weights_path}: weights do not fit VGGish ({exc})") from None
        self.net = net.to(self.device)

    def _patches(self, y):
        return examples(y)

    def _forward(self, patches):
        import torch

        with torch.inference_mode():
            raw = self.net(torch.from_numpy(np.ascontiguousarray(patches, np.float32)).to(self.device))
        raw = raw.float().cpu().numpy()
        if self.postprocess:
            return postprocess(raw, self.pca_matrix, self.pca_means), None
        return raw, None

    def describe(self) -> dict:
        d = super().describe()
        d.update(weights=str(self.weights_path), postprocess=self.postprocess)
        return d
