"""VGGish wiring with random weights saved in the torchvggish state-dict layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sectionist.analysis.embeddings import get_embedder, vggish
from sectionist.analysis.embeddings.modelcache import ModelMissingError
from sectionist.analysis.errors import ParameterError


pytestmark = pytest.mark.usefixtures("one_torch_thread")

@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """A seeded random VGGish state_dict and PCA file, saved like the PyTorch port's files (once: 290 MB)."""
    d = tmp_path_factory.mktemp("vggish")
    torch.manual_seed(0)
    torch.save(vggish.build_vggish().state_dict(), d / "vggish-random.pth")
    g = np.random.default_rng(0)
    torch.save({"pca_eigen_vectors": torch.from_numpy(g.standard_normal((128, 128)).astype(np.float32) * 20),
                "pca_means": torch.from_numpy(g.standard_normal(128).astype(np.float32) * 0.01)},
               d / "vggish_pca_params-random.pth")
    return d


@pytest.fixture
def music(rng):
    sr = 22050
    t = np.arange(int(5.3 * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) + 0.05 * rng.standard_normal(len(t))
    return y.astype(np.float32), sr


def test_log_mel_examples_shape_and_filterbank():
    W = vggish.mel_matrix()
    assert W.shape == (257, 64) and W.min() >= 0 and np.all(W[0] == 0)
    peaks = np.linspace(0, 8000, 257)[W.argmax(axis=0)]  # band centres rise from ~125 Hz to ~7.5 kHz
    assert np.all(np.diff(peaks) >= 0) and 125 <= peaks[0] < 200 and 6500 < peaks[-1] <= 7500
    tone = np.sin(2 * np.pi * 1000 * np.arange(16000 * 2) / 16000).astype(np.float32)
    ex, starts = vggish.examples(tone)
    assert ex.shape == (2, 96, 64) and starts.tolist() == [0.0, 0.96]
    band = np.argmax(ex[0].mean(axis=0))
    assert abs(np.linspace(0, 8000, 257)[W[:, band].argmax()] - 1000) < 80
    short, s2 = vggish.examples(tone[:4000])
    assert short.shape == (1, 96, 64) and s2.tolist() == [0.0]


def test_postprocess_quantises_to_0_255():
    emb = np.random.default_rng(1).standard_normal((20, 128)) * 3
    q = vggish.postprocess(emb, np.eye(128), np.zeros(128))
    assert q.dtype == np.float32 and q.min() == 0 and q.max() == 255
    np.testing.assert_array_equal(q, np.round(q))
    np.testing.assert_array_equal(q[emb <= -2], 0)
    np.testing.assert_array_equal(vggish.postprocess(np.zeros((1, 128)), np.eye(128), np.zeros(128)), 128)


def test_random_weights_embed(weights_dir, music):
    wpath = weights_dir / "vggish-random.pth"
    emb = get_embedder("vggish", weights=str(wpath))
    assert (emb.name, emb.dim, emb.sample_rate) == ("vggish", 128, 16000)
    assert emb.hop_s == pytest.approx(0.96) and emb.window_s == pytest.approx(0.975)
    y, sr = music
    E, starts = emb.embed(y, sr)
    assert E.shape == (5, 128) and E.dtype == np.float32
    np.testing.assert_allclose(starts, np.arange(5) * 0.96)
    assert E.min() >= 0 and E.max() <= 255 and np.array_equal(E, np.round(E))
    assert len(np.unique(E)) > 20  # not a constant output
    emb.batch_size = 2
    E2, _ = emb.embed(y, sr)
    np.testing.assert_array_equal(E, E2)  # deterministic, batch size does not matter
    emb.postprocess = False
    raw, _ = emb.embed(y, sr)
    assert raw.min() >= 0 and not np.array_equal(raw, np.round(raw))  # ReLU output, not quantised
    np.testing.assert_array_equal(vggish.postprocess(raw, emb.pca_matrix, emb.pca_means), E)


def test_pca_keys_of_the_port():
    m, mu = torch.eye(128), torch.arange(128.0)
    for state in ({"pproc.pca_matrix": m, "pproc.pca_means": mu.reshape(-1, 1)},
                  {"pca_eigen_vectors": m, "pca_means": mu}):
        got_m, got_mu = vggish._find_pca(state)
        np.testing.assert_array_equal(got_m, np.eye(128))
        assert got_mu.shape == (128,) and got_mu[5] == 5
    assert vggish._find_pca({"features.0.weight": m}) is None


def test_weights_from_env_and_cache(weights_dir, tmp_path, monkeypatch):
    wpath = weights_dir / "vggish-random.pth"
    monkeypatch.setenv("SECTIONIST_VGGISH_WEIGHTS", str(wpath))
    assert get_embedder("vggish").weights_path == wpath
    monkeypatch.delenv("SECTIONIST_VGGISH_WEIGHTS")
    cache = tmp_path / "cache"
    (cache / "vggish").mkdir(parents=True)
    (cache / "vggish" / "vggish-10086976.pth").symlink_to(wpath)
    (cache / "vggish" / "vggish_pca_params-970ea276.pth").symlink_to(weights_dir / "vggish_pca_params-random.pth")
    monkeypatch.setenv("SECTIONIST_MODEL_DIR", str(cache))
    assert get_embedder("vggish").weights_path.parent == cache / "vggish"


def test_missing_weights_explain_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SECTIONIST_MODEL_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("SECTIONIST_VGGISH_WEIGHTS", raising=False)
    with pytest.raises(ModelMissingError) as exc:
        get_embedder("vggish")
    msg = str(exc.value)
    assert "vggish-10086976.pth" in msg and "vggish_pca_params" in msg and "--weights" in msg
    assert str(tmp_path / "empty" / "vggish") in msg and "never downloads" in msg
    with pytest.raises(ModelMissingError, match="nope.pth: VGGish weights file not found"):
        get_embedder("vggish", weights=str(tmp_path / "nope.pth"))


def test_bad_weight_files(weights_dir, tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ParameterError, match="not a readable PyTorch state_dict"):
        get_embedder("vggish", weights=str(bad))
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3)}, other)
    torch.save({"pca_eigen_vectors": torch.zeros(128, 128), "pca_means": torch.zeros(128)},
               tmp_path / "vggish_pca_params.pth")
    with pytest.raises(ParameterError, match="not VGGish weights"):
        get_embedder("vggish", weights=str(other))
    (tmp_path / "nopca").mkdir()
    (tmp_path / "nopca" / "vggish.pth").symlink_to(weights_dir / "vggish-random.pth")
    with pytest.raises(ModelMissingError, match="no PCA parameters"):
        get_embedder("vggish", weights=str(tmp_path / "nopca" / "vggish.pth"))
