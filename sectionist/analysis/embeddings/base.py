"""The embedder interface and the registry every embedder module fills.

An embedder turns audio into a sequence of fixed-size vectors, one per *frame* (its own window,
≈1 s or 3 s). Every embedder has ``name``, ``dim``, ``sample_rate``, ``window_s`` and ``hop_s`` and a
method ``embed(y, sr) -> (E, starts_s)``; an embedder that also predicts tags (musicnn) has
``tag_model``, ``tag_names`` and ``embed_with_tags(y, sr) -> (E, starts_s, probs)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.registry import Registry


@dataclass(frozen=True)
class EmbedderSpec:
    """A registry entry: how to build one embedder, and what it needs."""

    name: str
    factory: Callable[..., Embedder]
    description: str
    needs_torch: bool = False
    trained_on_store: bool = False


def _embedder_spec(name: str, factory: Callable[..., Embedder], *, description: str, needs_torch: bool = False,
                   trained_on_store: bool = False) -> EmbedderSpec:
    return EmbedderSpec(name, factory, description, needs_torch, trained_on_store)


#: Every embedder by name (filled by :func:`register`; a :class:`~sectionist.analysis.registry.Registry`);
#: CLI choices come from here.
REGISTRY: Registry = Registry("embedder", entry=_embedder_spec)


def register(name: str, description: str, needs_torch: bool = False, trained_on_store: bool = False, *,
             replace: bool = False):
    """Class or function decorator adding an embedder factory to :data:`REGISTRY`.

    A name already registered raises ParameterError unless ``replace=True``.
    """
    return REGISTRY.register(name, replace=replace, description=description, needs_torch=needs_torch,
                             trained_on_store=trained_on_store)


class Embedder:
    """Base class. Subclasses set the attributes and implement :meth:`_patches` (audio → network
    inputs) and :meth:`_forward` (one batch of inputs → embeddings and tag probabilities); the base
    class batches them in :meth:`_embed_native`, which :meth:`embed`, :meth:`embed_with_tags` and
    :meth:`tags` call after :meth:`_prepare` (mono, finite, resampled to :attr:`sample_rate`)."""

    name: str = ""
    dim: int = 0
    sample_rate: int = 16000
    window_s: float = 1.0
    hop_s: float = 1.0
    #: models that predict tags name their tag model here (``None``: no tags)
    tag_model: str | None = None
    tag_names: tuple[str, ...] | list[str] = ()

    batch_size: int = 32

    def _patches(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network inputs of float32 mono audio at :attr:`sample_rate`: ``(patches [n, ...], starts_s [n])``.

        Audio shorter than one window is zero-padded to one window (so ``n ≥ 1``).
        """
        raise NotImplementedError

    def _forward(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """One batch of patches → ``(E [n, dim] float32, probs [n, n_tags] or None)``."""
        raise NotImplementedError

    def _forward_batched(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        E = np.empty((len(patches), self.dim), np.float32)
        P = np.empty((len(patches), len(self.tag_names)), np.float32) if self.tag_model else None
        for i in range(0, len(patches), self.batch_size):
            e, p = self._forward(patches[i:i + self.batch_size])
            E[i:i + self.batch_size] = e
            if P is not None:
                P[i:i + self.batch_size] = p
        return E, P

    def _embed_native(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Embed float32 mono audio already at :attr:`sample_rate`: ``(E, starts_s, probs or None)``."""
        patches, starts = self._patches(y)
        E, P = self._forward_batched(patches)
        return E, np.asarray(starts, dtype=np.float64), P

    def _prepare(self, y: np.ndarray, sr: int) -> np.ndarray:
        y = np.asarray(y, dtype=np.float32)
        if y.ndim == 2:  # (channels, samples) as librosa gives it
            y = y.mean(axis=0)
        if y.ndim != 1:
            raise ParameterError(f"audio must be mono (samples,) or (channels, samples); got shape {y.shape}")
        if not np.all(np.isfinite(y)):
            raise ParameterError("audio contains NaN or infinite samples")
        sr = int(sr)
        if sr <= 0:
            raise ParameterError(f"sr={sr}: must be > 0")
        if sr != self.sample_rate:
            import librosa

            y = librosa.resample(y, orig_sr=sr, target_sr=self.sample_rate).astype(np.float32)
        return np.ascontiguousarray(y)

    def embed(self, y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame-level embeddings of ``y``.

        Parameters
        ----------
        y : np.ndarray [shape=(n,) or (channels, n)]
            Audio samples (float); resampled to :attr:`sample_rate` when ``sr`` differs.
        sr : int
            Sample rate of ``y``.

        Returns
        -------
        E : np.ndarray [shape=(frames, dim), dtype=float32]
        starts_s : np.ndarray [shape=(frames,), dtype=float64]
            Start of each frame in seconds from the start of ``y``. Audio shorter than one window is
            zero-padded to one window, so there is always at least one frame.
        """
        E, starts, _ = self._embed_native(self._prepare(y, sr))
        return E, starts

    def embed_with_tags(self, y: np.ndarray, sr: int):
        """``(E, starts_s, probs)``: embeddings and tag probabilities from one forward pass.

        ``probs`` is float32 [frames, len(tag_names)], or ``None`` for embedders without tags.
        """
        return self._embed_native(self._prepare(y, sr))

    def tags(self, y: np.ndarray, sr: int) -> tuple[np.ndarray, list[str]]:
        """Per-frame tag probabilities ``(probs [frames, n_tags], tag_names)``."""
        if self.tag_model is None:
            raise ParameterError(f"embedder {self.name!r} predicts no tags")
        _, _, probs = self._embed_native(self._prepare(y, sr))
        return probs, list(self.tag_names)

    def describe(self) -> dict:
        """Plain-dict summary for the manifest."""
        return {
            "name": self.name,
            "dim": int(self.dim),
            "sample_rate": int(self.sample_rate),
            "window_s": float(self.window_s),
            "hop_s": float(self.hop_s),
            "tag_model": self.tag_model,
        }

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, window_s={self.window_s:.3f})"


def resolve_device(device: str | None) -> str:
    """Validate a device string (``cpu``, ``cuda``, ``cuda:N``); ``cuda`` needs torch to see a GPU."""
    device = (device or "cpu").lower()
    if device == "cpu":
        return device
    if device.startswith("cuda"):
        try:
            import torch
        except ImportError:
            raise ParameterError("device=cuda needs PyTorch (pip install 'sectionist[torch]')") from None
        if not torch.cuda.is_available():
            raise ParameterError("device=cuda: PyTorch sees no CUDA GPU on this machine; use --device cpu")
        return device
    raise ParameterError(f"device={device!r}: use 'cpu' or 'cuda'")


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


#: What to install for the embedders that need PyTorch (the ``torch`` extra of the package).
TORCH_INSTALL = "pip install -e '.[torch]' in a checkout, or pip install 'sectionist[torch]'"


def require_torch(name: str) -> None:
    """Raise :class:`ParameterError` saying what to install when embedder ``name`` needs PyTorch and it is
    missing; called before any work (decoding, training), so nothing is spent on a run that cannot finish."""
    spec = REGISTRY.get(name)
    if spec is not None and spec.needs_torch and not torch_available():
        raise ParameterError(f"the {name} embedder needs PyTorch, which is not installed: {TORCH_INSTALL}")
