"""musicnn: preprocessing and all four networks against TensorFlow's reference outputs.

The fixture (tests/fixtures/musicnn, see its README) was produced by TensorFlow running each
checkpoint's own graph; tolerances are the README's suggestions for a float32 re-implementation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sectionist.analysis.embeddings import embed_song, get_embedder, modelcache
from sectionist.analysis.embeddings import musicnn as M
from sectionist.analysis.embeddings import musicnn_numpy as MN
from sectionist.analysis.errors import ParameterError

FIXTURES = Path(__file__).parent / "fixtures" / "musicnn"
MODELS = ["MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"]
BACKENDS = ["numpy", "torch"]
ATOL = {
    "probs": 1e-5, "logits": 1e-4, "penultimate": 1e-4, "penultimate_relu": 1e-4, "penultimate_preact": 1e-4,
    "pool5_flat": 1e-4, "pooled": 2e-3, "pooled_bn": 2e-3, "max_pool": 2e-3, "mean_pool": 2e-3,
    "midend_patch0": 2e-3,
}
TOP5 = {  # README: mean tag probability over the 4 techno patches
    "MSD_musicnn": ["electronic", "electro", "dance", "House", "electronica"],
    "MTT_musicnn": ["techno", "beat", "electronic", "dance", "beats"],
    "MSD_vgg": ["electronic", "dance", "House", "electro", "electronica"],
    "MTT_vgg": ["techno", "electronic", "beat", "synth", "beats"],
}



@pytest.fixture(scope="module")
def inputs():
    return np.load(FIXTURES / "inputs.npz")


@pytest.fixture(scope="module")
def nets(musicnn_cache):
    cache = {}

    def get(model, backend, **kw):
        key = (model, backend, tuple(sorted(kw.items())))
        if key not in cache:
            cache[key] = M.MusicnnModel(model, backend=backend, **kw)
        return cache[key]

    return get


def test_preprocessing_matches_fixture(inputs):
    S = M.mel_power(inputs["audio"])
    assert S.shape == (751, 96) and S.dtype == np.float32
    np.testing.assert_allclose(S, inputs["mel_power"], rtol=1e-5, atol=1e-9)
    patches, starts = M.make_patches(M.log_compress(S))
    np.testing.assert_array_equal(starts, inputs["patch_start_frame"][:4])
    np.testing.assert_allclose(patches, inputs["patches"][:4], rtol=0, atol=1e-5)
    # the fixture's own mel gives the fixture's patches to float32 rounding (float32 log, no float16
    # cast; NumPy's SIMD log10 differs in the last bit between CPUs, so not bit for bit)
    p2, _ = M.make_patches(M.log_compress(inputs["mel_power"]))
    np.testing.assert_allclose(p2, inputs["patches"][:4], rtol=0, atol=1e-6)
    # a loud bin that overflowed musicnn's float16 path under NumPy 2 stays finite here
    assert np.isfinite(M.log_compress(np.array([[1e4]], np.float32))).all()


def test_patch_starts_and_hop():
    np.testing.assert_array_equal(M.patch_starts(751), [0, 187, 374, 561])
    np.testing.assert_array_equal(M.patch_starts(186), [])
    np.testing.assert_array_equal(M.patch_starts(250, hop_frames=61), [0, 61])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", MODELS)
def test_forward_matches_tensorflow(nets, inputs, model, backend):
    ref = np.load(FIXTURES / f"{model}.npz")
    net = nets(model, backend)
    assert net.backend == backend
    out = net.forward(inputs["patches"], intermediates=True)
    checked = []
    for name in ref.files:
        if name in ("tags", "probs_modelspy_pooling"):
            continue
        got = out["midend"][0] if name == "midend_patch0" else out[name]
        assert got.shape == ref[name].shape, name
        np.testing.assert_allclose(got, ref[name], rtol=0, atol=ATOL[name], err_msg=f"{model}/{backend}: {name}")
        checked.append(name)
    expected = 10 if model.endswith("musicnn") else 3
    assert len(checked) == expected
    assert list(ref["tags"]) == net.tag_names
    mean = out["probs"][:4].mean(axis=0)
    assert [net.tag_names[i] for i in np.argsort(-mean)[:5]] == TOP5[model]


@pytest.mark.parametrize("backend", BACKENDS)
def test_msd_vgg_modelspy_pooling(nets, inputs, backend):
    ref = np.load(FIXTURES / "MSD_vgg.npz")
    out = nets("MSD_vgg", backend, vgg_pooling="modelspy").forward(inputs["patches"])
    np.testing.assert_allclose(out["probs"], ref["probs_modelspy_pooling"], rtol=0, atol=1e-5)
    # and the graph's pooling really differs from it (README pitfall 5)
    assert np.abs(ref["probs"] - ref["probs_modelspy_pooling"]).max() > 0.1


@pytest.mark.parametrize("backend", BACKENDS)
def test_embedder_from_audio(musicnn_cache, inputs, backend):
    """Audio → mel → patches → network: the embedder gives the fixture's penultimate layer and tags."""
    ref = np.load(FIXTURES / "MSD_musicnn.npz")
    emb = get_embedder("musicnn", backend=backend, batch_size=3)
    assert (emb.name, emb.dim, emb.sample_rate, emb.tag_model) == ("musicnn", 200, 16000, "MSD_musicnn")
    E, starts, probs = emb.embed_with_tags(inputs["audio"], 16000)
    assert E.dtype == np.float32 and starts.dtype == np.float64
    np.testing.assert_allclose(starts, inputs["patch_start_frame"][:4] * 256 / 16000)
    np.testing.assert_allclose(E, ref["penultimate"][:4], atol=1e-4)
    np.testing.assert_allclose(probs, ref["probs"][:4], atol=1e-5)
    P, names = emb.tags(inputs["audio"], 16000)
    np.testing.assert_allclose(P, probs, atol=1e-6)
    assert names == list(ref["tags"])


def test_embedder_resamples_and_pads(musicnn_cache, inputs):
    import librosa

    emb = get_embedder("musicnn", backend="numpy")
    y22 = librosa.resample(inputs["audio"], orig_sr=16000, target_sr=22050)
    _, starts, probs = emb.embed_with_tags(y22, 22050)
    assert len(starts) == 4
    ref = np.load(FIXTURES / "MSD_musicnn.npz")["probs"][:4]
    assert np.abs(probs - ref).max() < 0.05  # resampling round trip changes the input only slightly
    E, s = emb.embed(inputs["audio"][:16000], 16000)  # 1 s: shorter than one 3 s patch → one padded frame
    assert E.shape == (1, 200) and s.tolist() == [0.0]
    E, s = get_embedder("musicnn", backend="numpy", hop_s=1.0).embed(inputs["audio"], 16000)
    assert len(s) == len(M.patch_starts(751, hop_frames=62)) and s[1] == pytest.approx(62 * 256 / 16000)


def test_other_layers_and_models(musicnn_cache, inputs):
    ref = np.load(FIXTURES / "MTT_vgg.npz")
    emb = get_embedder("vgg-mtt", backend="numpy")
    assert (emb.dim, emb.tag_model) == (256, "MTT_vgg")
    E, _ = emb.embed(inputs["audio"], 16000)
    np.testing.assert_allclose(E, ref["pool5_flat"][:4], atol=1e-4)
    pooled = get_embedder("musicnn", backend="numpy", layer="pooled")
    assert pooled.dim == 1506
    with pytest.raises(ParameterError, match="layer='nope'"):
        get_embedder("musicnn", layer="nope")
    with pytest.raises(ParameterError, match="embedder 'nope'"):
        get_embedder("nope")


def test_numpy_fallback_without_torch(musicnn_cache, inputs, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    emb = get_embedder("musicnn")
    assert emb.net.backend == "numpy"
    with pytest.raises(ParameterError, match="needs PyTorch"):
        get_embedder("musicnn", backend="torch")
    with pytest.raises(ParameterError, match="needs PyTorch"):
        get_embedder("vggish")


def test_missing_cache_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("SECTIONIST_MODEL_DIR", str(tmp_path / "empty"))
    assert modelcache.model_dir() == tmp_path / "empty"
    with pytest.raises(modelcache.ModelMissingError, match="sectionist models fetch"):
        get_embedder("musicnn")


def test_embed_song_frames_and_tags(musicnn_cache, inputs):
    emb = get_embedder("musicnn", backend="numpy")
    secs = pd.DataFrame({
        "section_id": ["s-00000", "s-00001", "s-00002"], "song_id": "s",
        "start_s": [0.0, 6.5, 7.5], "end_s": [6.5, 7.5, 12.0],
    })
    frames, tags = embed_song(emb, inputs["audio"], 16000, secs)
    # 6.5 s → 2 frames; 1 s → 1 zero-padded frame; 4.5 s → 1 frame
    assert frames["section_id"].tolist() == ["s-00000", "s-00000", "s-00001", "s-00002"]
    assert list(frames.columns[:5]) == ["song_id", "section_id", "embedder", "start_s", "end_s"]
    assert frames.shape[1] == 5 + 200 and frames["e199"].dtype == np.float32
    np.testing.assert_allclose(frames["start_s"], [0.0, 2.992, 6.5, 7.5])
    np.testing.assert_allclose(frames["end_s"], [2.992, 5.984, 7.5, 10.492])
    for sid, g in frames.groupby("section_id"):  # frames never straddle a section boundary
        row = secs.set_index("section_id").loc[sid]
        assert (g["start_s"] >= row.start_s - 1e-9).all() and (g["end_s"] <= row.end_s + 1e-9).all()
    # the first section's frames equal embedding the whole loop's first two patches
    E, _ = emb.embed(inputs["audio"], 16000)
    np.testing.assert_allclose(frames.iloc[:2, 5:].to_numpy(), E[:2], atol=1e-5)
    assert list(tags.columns) == ["section_id", "song_id", "model", "rank", "tag", "probability"]
    assert len(tags) == 30 and (tags.groupby("section_id")["rank"].apply(list) == [list(range(1, 11))] * 3).all()
    first = tags[tags.section_id == "s-00000"]
    assert first["tag"].iloc[0] == "electronic" and (np.diff(first["probability"]) <= 0).all()


def test_drop_section_of_demo_corpus_sounds_electronic(musicnn_cache, demo_corpus):
    """Tags are sensible on our own audio: a drop gets techno/electronic/dance in its top 5."""
    from sectionist.analysis.corpus.audio import load_audio

    _, paths = demo_corpus
    emb = get_embedder("musicnn")
    hits = []
    for wav in paths[:2]:
        truth = json.loads(wav.with_suffix(".json").read_text())
        drops = [s for s in truth["sections"] if s["label"] == "drop"]
        assert drops, f"{wav.name} has no drop"
        y, sr = load_audio(wav, 16000)
        secs = pd.DataFrame([{"section_id": f"x-{i:05d}", "song_id": "x", "start_s": s["start"],
                              "end_s": min(s["end"], s["start"] + 15.0)} for i, s in enumerate(drops)])
        _, tags = embed_song(emb, y, sr, secs)
        for _, g in tags.groupby("section_id"):
            hits.append(bool({"techno", "electronic", "dance"} & set(g.nsmallest(5, "rank")["tag"])))
    assert hits and all(hits), hits


@pytest.mark.parametrize("frames", [187, 50, 9])
def test_front_end_reductions_equal_the_full_convolution(frames):
    """The blocked convolutions reduced over frequency as they go equal max_F of the whole (N, T, F, C) conv."""
    from numpy.lib.stride_tricks import sliding_window_view

    rng = np.random.default_rng(frames)
    x = rng.normal(size=(3, frames, M.N_MELS)).astype(np.float32)

    def full_conv(kernel, pad_t):  # direct TF conv2d (no bias), time padding only: (N, T', F', C)
        kt, kf = kernel.shape[:2]
        xp = np.pad(x, ((0, 0), pad_t, (0, 0)))
        cols = sliding_window_view(xp, (kt, kf), axis=(1, 2)).astype(np.float64)
        return np.einsum("ntfab,abc->ntfc", cols, kernel[:, :, 0, :].astype(np.float64))

    timbral = rng.normal(size=(7, 38, 1, 5)).astype(np.float32)
    want = full_conv(timbral, (3, 3)).max(axis=2)
    got = MN._timbral_extreme(x, timbral, (3, 3), time_block=4)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    for kt in (32, 64, 128):
        temporal = rng.normal(size=(kt, 1, 1, 4)).astype(np.float32)
        pad = ((kt - 1) // 2, kt // 2)
        want = full_conv(temporal, pad).max(axis=2)
        for block in (1, 8, 13):
            got = MN._temporal_extreme(x, temporal, pad, block=block)
            assert got.shape == want.shape == (3, frames, 4)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
