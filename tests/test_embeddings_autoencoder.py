"""The convolutional autoencoder: patches, seeded training, saving and embedding."""

from __future__ import annotations

import numpy as np
import pytest

from sectionist.analysis.embeddings import autoencoder as AE
from sectionist.analysis.embeddings import get_embedder
from sectionist.analysis.embeddings.modelcache import ModelMissingError
from sectionist.analysis.errors import ParameterError


pytestmark = pytest.mark.usefixtures("one_torch_thread")

@pytest.fixture(scope="module")
def patches():
    """Log-mel patches of two kinds of sound: low tones and high noise bursts."""
    g = np.random.default_rng(7)
    sr = AE.SR
    t = np.arange(sr * 12) / sr
    low = 0.4 * np.sin(2 * np.pi * (110 + 20 * np.sin(t)) * t)
    high = np.diff(g.standard_normal(len(t) + 1)) * 0.2 * (np.sin(2 * np.pi * 3 * t) > 0)
    p1, s1 = AE.logmel_patches(low.astype(np.float32))
    p2, _ = AE.logmel_patches(high.astype(np.float32))
    assert p1.shape == (11, 64, 64) and np.allclose(np.diff(s1), 1.024)
    return np.concatenate([p1, p2]), np.r_[np.zeros(len(p1)), np.ones(len(p2))]


def test_training_is_seeded_and_reduces_loss(patches):
    X, _ = patches
    m1 = AE.train_autoencoder(X, epochs=25, batch_size=8, random_state=3, progress=False)
    m2 = AE.train_autoencoder(X, epochs=25, batch_size=8, random_state=3, progress=False)
    assert len(m1.losses) == 25 and m1.losses == m2.losses
    assert m1.losses[-1] < 0.6 * m1.losses[0]
    for k in m1.encoder_state:
        assert np.array_equal(m1.encoder_state[k].numpy(), m2.encoder_state[k].numpy())
    m3 = AE.train_autoencoder(X, epochs=1, batch_size=8, random_state=4, progress=False)
    assert m3.losses[0] != m1.losses[0]


def test_model_round_trip_and_embedding(patches, tmp_path):
    X, kind = patches
    model = AE.train_autoencoder(X, code_dim=8, epochs=25, batch_size=8, random_state=0, progress=False)
    path = tmp_path / "ae.pt"
    path.write_bytes(model.to_bytes())
    emb = get_embedder("autoencoder", model_path=str(path))
    assert (emb.name, emb.dim, emb.sample_rate) == ("autoencoder", 8, 16000)
    assert emb.window_s == pytest.approx(1.024) and emb.tag_model is None
    codes, _ = emb._forward_batched(X)
    assert codes.shape == (len(X), 8) and codes.dtype == np.float32
    direct = AE.AutoencoderEmbedder(model=model)._forward(X)[0]
    np.testing.assert_allclose(codes, direct, atol=1e-5)
    # codes separate the two kinds of sound: each patch's nearest other patch is of its kind
    d = ((codes[:, None] - codes[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (kind[d.argmin(axis=1)] == kind).mean() >= 0.9
    assert emb.reconstruction_error(X) == pytest.approx(model.losses[-1], rel=0.5)
    y = np.random.default_rng(0).standard_normal(22050 * 3).astype(np.float32) * 0.1
    E, starts = emb.embed(y, 22050)
    assert E.shape == (2, 8) and starts.tolist() == [0.0, 1.024]
    E, starts = emb.embed(y[:2000], 22050)  # shorter than a patch: one zero-padded frame
    assert E.shape == (1, 8)


def test_errors(tmp_path):
    with pytest.raises(ModelMissingError, match="sectionist embed --store DIR --embedder autoencoder"):
        get_embedder("autoencoder")
    with pytest.raises(ModelMissingError, match="not found"):
        get_embedder("autoencoder", model_path=str(tmp_path / "none.pt"))
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ParameterError, match="not a readable autoencoder model"):
        get_embedder("autoencoder", model_path=str(tmp_path / "junk.pt"))
    with pytest.raises(ParameterError, match="patches must have shape"):
        AE.train_autoencoder(np.zeros((4, 32, 64)), progress=False)
    with pytest.raises(ParameterError, match="at least 2 patches"):
        AE.train_autoencoder(np.zeros((1, 64, 64)), progress=False)
