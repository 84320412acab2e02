"""A convolutional autoencoder learned from the user's own corpus (PyTorch).

Deep-feature audio clustering studies compress short log-mel patches with a small convolutional
autoencoder and cluster the codes. Here: 16 kHz audio → 64-band log-mel (``log10(10000·S + 1)``,
512-sample FFT, 256 hop) → non-overlapping 64×64 patches (≈1 s) → standardised with the training
set's mean and std → three stride-2 conv layers → a ``code_dim`` code (default 32). The decoder
mirrors the encoder; training minimises the mean squared reconstruction error with Adam, seeded.

:func:`train_autoencoder` fits a model and returns it with the loss of every epoch;
:meth:`AutoencoderModel.to_bytes` / :meth:`AutoencoderModel.from_bytes` store it (the CLI keeps it in
the store as ``models/autoencoder.pt``), and the ``autoencoder`` embedder loads it from there.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.embeddings.base import Embedder, register, resolve_device
from sectionist.analysis.embeddings.modelcache import ModelMissingError

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 64
PATCH_FRAMES = 64
STORE_KEY = "models/autoencoder.pt"


def logmel_patches(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping 64×64 log-mel patches of 16 kHz audio and their start times (s).

    Audio shorter than one patch is zero-padded to one patch.
    """
    import librosa

    need = (PATCH_FRAMES - 1) * HOP
    y = np.asarray(y, dtype=np.float32)
    if len(y) < need:
        y = np.pad(y, (0, need - len(y)))
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    L = np.log10(np.float32(10000) * S.T.astype(np.float32) + np.float32(1))
    n = L.shape[0] // PATCH_FRAMES
    patches = L[: n * PATCH_FRAMES].reshape(n, PATCH_FRAMES, N_MELS)
    return np.ascontiguousarray(patches), np.arange(n) * PATCH_FRAMES * HOP / SR


def build_network(code_dim: int):
    """``(encoder, decoder)`` modules for 64×64 patches."""
    from torch import nn

    encoder = nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),  # 32×32
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),  # 16×16
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),  # 8×8
        nn.Flatten(), nn.Linear(64 * 8 * 8, code_dim),
    )
    decoder = nn.Sequential(
        nn.Linear(code_dim, 64 * 8 * 8), nn.ReLU(), nn.Unflatten(1, (64, 8, 8)),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1),
    )
    return encoder, decoder


@dataclass
class AutoencoderModel:
    """A trained autoencoder: weights, input standardisation and training record."""

    code_dim: int
    mean: float
    std: float
    encoder_state: dict
    decoder_state: dict
    losses: list = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        import torch

        buf = io.BytesIO()
        torch.save({"format": "sectionist-autoencoder-1", "code_dim": self.code_dim, "mean": self.mean,
                    "std": self.std, "encoder": self.encoder_state, "decoder": self.decoder_state,
                    "losses": list(self.losses), "info": dict(self.info)}, buf)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "autoencoder model") -> AutoencoderModel:
        import torch

        try:
            d = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 (torch.load raises many types for a bad file)
            raise ParameterError(f"{source}: not a readable autoencoder model ({exc})") from None
        if not isinstance(d, dict) or d.get("format") != "sectionist-autoencoder-1":
            raise ParameterError(f"{source}: not a sectionist autoencoder model")
        return cls(int(d["code_dim"]), float(d["mean"]), float(d["std"]), d["encoder"], d["decoder"],
                   list(d.get("losses", [])), dict(d.get("info", {})))


def train_autoencoder(patches: np.ndarray, *, code_dim: int = 32, epochs: int = 15, batch_size: int = 64,
                      lr: float = 2e-3, random_state: int = 0, device: str = "cpu",
                      progress: bool = True) -> AutoencoderModel:
    """Fit the autoencoder on log-mel patches.

    Parameters
    ----------
    patches : np.ndarray [shape=(n, 64, 64)]
        From :func:`logmel_patches`.
    code_dim : int
        Size of the code (the embedding dimension).
    epochs, batch_size, lr
        Adam training schedule.
    random_state : int
        Seeds the initial weights and the shuffling: the same inputs give the same model.
    device : str
    progress : bool
        Show a tqdm bar (one step per epoch, with the loss).

    Returns
    -------
    AutoencoderModel
        With ``losses``: mean reconstruction MSE (standardised units) of every epoch.
    """
    import torch
    from tqdm.auto import tqdm

    patches = np.asarray(patches, dtype=np.float32)
    if patches.ndim != 3 or patches.shape[1:] != (PATCH_FRAMES, N_MELS):
        raise ParameterError(f"patches must have shape (n, {PATCH_FRAMES}, {N_MELS}); got {patches.shape}")
    if len(patches) < 2:
        raise ParameterError(f"need at least 2 patches to train the autoencoder; got {len(patches)}")
    if code_dim < 1 or epochs < 1 or batch_size < 1 or lr <= 0:
        raise ParameterError(f"code_dim={code_dim}, epochs={epochs}, batch_size={batch_size}, lr={lr}: must be > 0")
    device = resolve_device(device)
    mean = float(patches.mean())
    std = float(patches.std()) or 1.0
    X = torch.from_numpy((patches - mean) / std).unsqueeze(1)
    torch.manual_seed(random_state)
    encoder, decoder = build_network(code_dim)
    encoder.to(device)
    decoder.to(device)
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    rng = np.random.default_rng(random_state)
    losses = []
    bar = tqdm(range(epochs), desc="training autoencoder", unit="epoch", disable=not progress)
    for _ in bar:
        order = rng.permutation(len(X))
        total = 0.0
        for i in range(0, len(order), batch_size):
            xb = X[order[i:i + batch_size]].to(device)
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(decoder(encoder(xb)), xb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        losses.append(total / len(X))
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
    return AutoencoderModel(
        code_dim, mean, std,
        {k: v.detach().cpu() for k, v in encoder.state_dict().items()},
        {k: v.detach().cpu() for k, v in decoder.state_dict().items()},
        losses,
        {"epochs": epochs, "batch_size": batch_size, "lr": lr, "random_state": random_state,
         "n_patches": len(X)},
    )


@register("autoencoder", "convolutional autoencoder trained on the store's own songs (32-d codes); 1 s frames",
          needs_torch=True, trained_on_store=True)
class AutoencoderEmbedder(Embedder):
    """Codes of a trained autoencoder for every ≈1 s log-mel patch.

    Parameters
    ----------
    model : AutoencoderModel, optional
        A trained model; else it is read from ``model_path`` or from ``store`` (``models/autoencoder.pt``).
    store : analysis.store.Store, optional
    model_path : str or Path, optional
    device : str
    batch_size : int
    """

    name = "autoencoder"
    sample_rate = SR
    window_s = PATCH_FRAMES * HOP / SR
    hop_s = PATCH_FRAMES * HOP / SR

    def __init__(self, model: AutoencoderModel | None = None, store=None, model_path=None, device: str = "cpu",
                 batch_size: int = 256):
        try:
            import torch
        except ImportError:
            raise ParameterError("the autoencoder embedder needs PyTorch: pip install 'sectionist[torch]'") from None
        if model is None:
            if model_path is not None:
                from pathlib import Path

                p = Path(model_path)
                if not p.is_file():
                    raise ModelMissingError(f"{p}: autoencoder model file not found")
                model = AutoencoderModel.from_bytes(p.read_bytes(), str(p))
            elif store is not None and store.exists(STORE_KEY):
                model = AutoencoderModel.from_bytes(store.read_bytes(STORE_KEY), f"{store.uri}/{STORE_KEY}")
            else:
                where = f"{store.uri}/{STORE_KEY}" if store is not None else "no store or model_path given"
                raise ModelMissingError(
                    f"autoencoder not trained yet ({where}): run 'sectionist embed --store DIR --embedder "
                    "autoencoder', which trains it on the store's songs first")
        if batch_size < 1:
            raise ParameterError(f"batch_size={batch_size}: must be ≥ 1")
        self.model = model
        self.dim = model.code_dim
        self.batch_size = int(batch_size)
        self.device = resolve_device(device)
        encoder, _ = build_network(model.code_dim)
        encoder.load_state_dict(model.encoder_state)
        self.encoder = encoder.to(self.device).eval()
        self._torch = torch

    def _patches(self, y):
        return logmel_patches(y)

    def _forward(self, patches):
        torch = self._torch
        x = (np.asarray(patches, np.float32) - np.float32(self.model.mean)) / np.float32(self.model.std)
        with torch.inference_mode():
            code = self.encoder(torch.from_numpy(x).unsqueeze(1).to(self.device))
        return code.float().cpu().numpy(), None

    def reconstruction_error(self, patches: np.ndarray) -> float:
        """Mean squared reconstruction error (standardised units) of log-mel patches."""
        torch = self._torch
        _, decoder = build_network(self.model.code_dim)
        decoder.load_state_dict(self.model.decoder_state)
        decoder.to(self.device).eval()
        x = torch.from_numpy((np.asarray(patches, np.float32) - self.model.mean) / self.model.std).unsqueeze(1)
        with torch.inference_mode():
            x = x.to(self.device)
            return float(torch.nn.functional.mse_loss(decoder(self.encoder(x)), x))

    def describe(self) -> dict:
        d = super().describe()
        d.update(code_dim=self.model.code_dim, final_loss=(self.model.losses or [None])[-1])
        return d
