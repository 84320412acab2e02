"""Embeddings in the store: `sectionist embed` for the three embedders on the demo corpus, frames round trip."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import torch

from sectionist.analysis.embeddings import (
    embed_song,
    get_embedder,
    modelcache,
    vggish,
)
from sectionist.analysis.errors import StoreError
from sectionist.cli import main
from sectionist.store import open_store
from sectionist.store.schema import section_vectors

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_store(root, wavs):
    """A store holding only songs and 15 s sections (what `sectionist embed` needs) for ``wavs``."""
    import soundfile as sf

    store = open_store(root)
    for i, wav in enumerate(wavs):
        song_id = f"{i:016x}"
        dur = sf.info(str(wav)).duration
        starts = np.arange(0, dur - 7.5, 15.0)
        secs = pd.DataFrame({
            "section_id": [f"{song_id}-{k:05d}" for k in range(len(starts))], "song_id": song_id,
            "scheme": "fixed", "index": np.arange(len(starts)), "start_s": starts,
            "end_s": np.minimum(starts + 15.0, dur),
        })
        store.write_part("sections", song_id, secs)
        store.write_part("songs", song_id, pd.DataFrame([{"song_id": song_id, "uri": str(wav), "title": wav.stem,
                                                           "duration_s": dur, "embedders": ""}]))
    return store


@pytest.fixture(scope="module")
def small_store(demo_corpus, tmp_path_factory):
    _, paths = demo_corpus
    return make_store(tmp_path_factory.mktemp("emb") / "store", paths[:2])


def test_embed_musicnn_via_cli(musicnn_cache, small_store, capsys):
    root = small_store.uri
    assert main(["embed", "--store", root, "--embedder", "musicnn", "--no-progress", "--batch-size", "4"]) == 0
    assert "2 song(s) embedded" in capsys.readouterr().out
    sections = small_store.read_table("sections")
    frames = small_store.read_table("frames", parts=[f"musicnn/{s}" for s in sorted(sections.song_id.unique())])
    assert list(frames.columns[:5]) == ["song_id", "section_id", "embedder", "start_s", "end_s"]
    assert frames.shape[1] == 205 and all(frames[f"e{i}"].dtype == np.float32 for i in (0, 199))
    assert (frames.embedder == "musicnn").all()
    assert frames.groupby("section_id").size().min() == 5  # 15 s sections → 5 frames of 3 s
    merged = frames.merge(sections[["section_id", "start_s", "end_s"]], on="section_id", suffixes=("", "_sec"))
    assert ((merged.start_s >= merged.start_s_sec - 1e-9) & (merged.end_s <= merged.end_s_sec + 1e-9)).all()
    # the stored frames are exactly what embed_song computes (float32 round trip)
    from sectionist.analysis.corpus.audio import load_audio

    song = small_store.read_table("songs").sort_values("song_id").iloc[0]
    y, sr = load_audio(song.uri, 16000)
    f2, _ = embed_song(get_embedder("musicnn"), y, sr, sections[sections.song_id == song.song_id])
    got = small_store.read_part("frames", f"musicnn/{song.song_id}")
    pd.testing.assert_frame_equal(got.iloc[:, :5], f2.iloc[:, :5])
    np.testing.assert_allclose(got.iloc[:, 5:].to_numpy(), f2.iloc[:, 5:].to_numpy(), atol=1e-4)
    tags = small_store.read_part("tags", f"MSD_musicnn/{song.song_id}")
    assert list(tags.columns) == ["section_id", "song_id", "model", "rank", "tag", "probability"]
    assert len(tags) == 10 * sections.song_id.eq(song.song_id).sum()
    ids, X, cols = section_vectors(small_store, "musicnn")
    assert X.shape == (len(sections), 200) and cols == [f"e{i}" for i in range(200)]
    assert list(ids) == sorted(sections.section_id)
    i = list(ids).index(sections.section_id.iloc[0])
    np.testing.assert_allclose(X[i], frames[frames.section_id == ids[i]].iloc[:, 5:].mean().to_numpy(), rtol=1e-5)
    assert set(small_store.read_table("songs")["embedders"]) == {"musicnn"}
    manifest = small_store.read_manifest()
    assert manifest["embedders"]["musicnn"]["dim"] == 200 and manifest["embedders"]["musicnn"]["songs"] == 2
    # a second run skips the embedded songs
    assert main(["embed", "--store", root, "--embedder", "musicnn", "--no-progress"]) == 0
    assert "0 song(s) embedded" in capsys.readouterr().out


def test_autoencoder_trains_then_embeds(small_store, capsys):
    root = small_store.uri
    assert main(["embed", "--store", root, "--embedder", "autoencoder", "--epochs", "3", "--seed", "1",
                 "--no-progress"]) == 0
    manifest = small_store.read_manifest()
    ae = manifest["autoencoder"]
    assert len(ae["loss"]) == 3 and ae["random_state"] == 1 and ae["n_patches"] > 100
    assert small_store.exists("models/autoencoder.pt")
    _, X, _ = section_vectors(small_store, "autoencoder")
    assert X.shape == (len(small_store.read_table("sections")), 32)
    # reused, not retrained, on the next run
    before = small_store.read_bytes("models/autoencoder.pt")
    assert main(["embed", "--store", root, "--embedder", "autoencoder", "--no-progress", "--force"]) == 0
    assert small_store.read_bytes("models/autoencoder.pt") != before  # --force retrains (3 → 15 epochs)
    assert len(small_store.read_manifest()["autoencoder"]["loss"]) == 15


def test_vggish_via_cli(small_store, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SECTIONIST_VGGISH_WEIGHTS", raising=False)
    monkeypatch.setenv("SECTIONIST_MODEL_DIR", str(tmp_path / "cache"))
    root = small_store.uri
    assert main(["embed", "--store", root, "--embedder", "vggish", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "VGGish weights" in err and "--weights" in err
    torch.manual_seed(0)
    torch.save(vggish.build_vggish().state_dict(), tmp_path / "vggish-random.pth")
    g = np.random.default_rng(0)
    torch.save({"pca_eigen_vectors": torch.from_numpy(g.standard_normal((128, 128)).astype(np.float32) * 20),
                "pca_means": torch.zeros(128)}, tmp_path / "vggish_pca_params-random.pth")
    assert main(["embed", "--store", root, "--embedder", "vggish", "--weights", str(tmp_path / "vggish-random.pth"),
                 "--no-progress"]) == 0
    _, X, _ = section_vectors(small_store, "vggish")
    assert X.shape[1] == 128 and X.min() >= 0 and X.max() <= 255
    frames = small_store.read_table("frames", parts=[p for p in small_store.list_parts("frames")
                                                      if p.startswith("vggish/")])
    E = frames.iloc[:, 5:].to_numpy()
    assert np.array_equal(E, np.round(E)) and frames.groupby("section_id").size().max() == 15


def test_errors(tmp_path, capsys):
    empty = open_store(tmp_path / "empty")
    with pytest.raises(StoreError, match="no frames of embedder 'musicnn'"):
        section_vectors(empty, "musicnn")
    assert main(["embed", "--store", str(tmp_path / "empty"), "--embedder", "musicnn"]) == 2
    assert "no songs in this store" in capsys.readouterr().err
    assert main(["embed", "--store", str(tmp_path / "absent"), "--embedder", "musicnn"]) == 2


def test_models_fetch_is_idempotent(musicnn_cache, capsys, tmp_path, monkeypatch):
    assert main(["models", "fetch"]) == 0
    assert "checkpoints ready" in capsys.readouterr().out
    assert main(["models", "list"]) == 0
    assert "musicnn " in capsys.readouterr().out
    # a local wheel is unpacked after its hash is checked
    bad = tmp_path / modelcache.MUSICNN_WHEEL
    bad.write_bytes(b"PK not the wheel")
    assert main(["models", "fetch", "--dir", str(tmp_path / "c"), "--wheel", str(bad)]) == 2
    assert "SHA-256" in capsys.readouterr().err


def test_unpack_wheel_layout(musicnn_cache, tmp_path):
    """A wheel with the musicnn layout unpacks into <cache>/musicnn/<model>/ (readable checkpoints)."""
    import hashlib
    import zipfile

    from sectionist.analysis.embeddings.tfcheckpoint import CheckpointReader
    from sectionist.analysis.errors import SectionistError

    wheel = tmp_path / modelcache.MUSICNN_WHEEL
    with zipfile.ZipFile(wheel, "w") as zf:
        for model in modelcache.MUSICNN_MODELS:
            for f in modelcache.CHECKPOINT_FILES:
                zf.write(musicnn_cache / model / f, f"musicnn/{model}/{f}")
        zf.writestr("musicnn-0.1.0.dist-info/LICENSE.md", "ISC")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    root = tmp_path / "cache"
    assert not modelcache.musicnn_present(root)
    dest = modelcache.unpack_musicnn_wheel(wheel, root, expected_sha256=sha)
    assert dest == root / "musicnn" and modelcache.musicnn_present(root)
    assert sorted(p.name for p in dest.iterdir()) == ["LICENSE.md", *sorted(modelcache.MUSICNN_MODELS)]
    assert len(CheckpointReader(modelcache.musicnn_checkpoint("MTT_vgg", root)).entries) == 86
    with pytest.raises(SectionistError, match="SHA-256"):
        modelcache.unpack_musicnn_wheel(wheel, root)  # the real wheel's hash is required by default
    broken = tmp_path / "broken.whl"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("musicnn/MSD_musicnn/.index", b"")
    with pytest.raises(SectionistError, match="not the musicnn 0.1.0 wheel"):
        modelcache.unpack_musicnn_wheel(broken, tmp_path / "c2",
                                        expected_sha256=hashlib.sha256(broken.read_bytes()).hexdigest())
    assert not any((tmp_path / "c2" / "musicnn").iterdir())  # nothing half-written is left


def test_a_torch_embedder_without_torch_says_what_to_install_before_any_work(tmp_path, capsys, monkeypatch):
    """Issue 24.13: without PyTorch, `embed --embedder autoencoder` decoded every song for training, then died
    with ModuleNotFoundError; now it stops first, exit 2, naming the extra to install."""
    from sectionist.analysis.embeddings import runner
    from sectionist.analysis.embeddings.runner import embed_store
    from sectionist.analysis.errors import ParameterError
    from tests.conftest import tone, write_audio

    store = make_store(tmp_path / "store", [write_audio(tmp_path / "a.wav", tone(220, 20.0, 22050), 22050)])
    decoded = []
    monkeypatch.setattr(runner, "_load", lambda uri, sr: decoded.append(uri) or np.zeros(sr))
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    for embedder in ("autoencoder", "vggish"):
        assert main(["embed", "--store", store.uri, "--embedder", embedder, "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"the {embedder} embedder needs PyTorch" in err and "pip install -e '.[torch]'" in err, err
        with pytest.raises(ParameterError, match=r"pip install -e '\.\[torch\]'"):
            embed_store(store, embedder, progress=False)
    assert decoded == [] and "autoencoder" not in store.read_manifest()
