"""What the network hears: musicnn saliency maps per cluster (sectionist.analysis.embeddings.saliency, `sectionist saliency`,
the saliency table and the Clusters page)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from sectionist.cli import main
from sectionist.store import open_store
from sectionist.store.schema import RUNS, SALIENCY

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SR = 16000
LOW, HIGH = 250.0, 2000.0
SECTION_S = 6.0


def tone_song(freqs, seed):
    """Sections of SECTION_S seconds, each a tone at one of ``freqs`` with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SECTION_S * SR)) / SR
    return np.concatenate([0.5 * np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal(len(t))
                           for f in freqs]).astype(np.float32)


@pytest.fixture(scope="module")
def musicnn_store(musicnn_cache, tmp_path_factory):
    """Two songs of alternating low and high tones, embedded with musicnn and clustered (k=2)."""
    import soundfile as sf

    from sectionist.analysis.embeddings.runner import embed_store
    from sectionist.analysis.modeling.cluster import cluster_store

    root = tmp_path_factory.mktemp("saliency")
    store = open_store(root / "store")
    for i, freqs in enumerate([(LOW, HIGH, LOW, HIGH), (HIGH, LOW, HIGH, LOW)]):
        song_id = f"{i:016x}"
        wav = root / f"song{i}.wav"
        sf.write(str(wav), tone_song(freqs, i), SR)
        starts = np.arange(len(freqs)) * SECTION_S
        store.write_part("sections", song_id, pd.DataFrame({
            "section_id": [f"{song_id}-{k:05d}" for k in range(len(freqs))], "song_id": song_id, "scheme": "fixed",
            "index": np.arange(len(freqs)), "start_s": starts, "end_s": starts + SECTION_S,
            "truth_label": ["low" if f == LOW else "high" for f in freqs]}))
        store.write_part("songs", song_id, pd.DataFrame([{"song_id": song_id, "uri": str(wav), "title": f"tones {i}",
                                                           "duration_s": len(freqs) * SECTION_S, "embedders": ""}]))
    embed_store(store, "musicnn", batch_size=4, progress=False)
    t0 = time.perf_counter()
    run_id = cluster_store(store, "musicnn", "kmeans", k=2, explain=False, stability=False, project=False,
                           progress=False)
    return store, run_id, time.perf_counter() - t0


def test_tone_saliency_peaks_at_its_band(musicnn_cache):
    """A tone's saliency profile peaks at the mel band of the tone, for any direction of the embedding."""
    from sectionist.analysis.embeddings import saliency
    from sectionist.analysis.embeddings import get_embedder
    from sectionist.analysis.embeddings.musicnn_torch import build_torch_net

    emb = get_embedder("musicnn", backend="torch")
    net = build_torch_net(emb.net.weights, emb.net.arch, emb.net.pools, "cpu")
    hz = saliency.band_frequencies()
    assert len(hz) == 96 and 0 < hz[0] < hz[-1] < 8000
    w = np.random.default_rng(0).standard_normal(200).astype(np.float32)
    for f in (LOW, HIGH):
        m = saliency.section_map(net, tone_song([f], 3), w, "penultimate", n_time=8)
        assert m.shape == (96, 8) and m.dtype == np.float32
        assert m.sum() == pytest.approx(1.0, rel=1e-4)
        profile = m.mean(axis=1)
        band = int(np.argmin(np.abs(hz - f)))
        assert abs(int(np.argmax(profile)) - band) <= 1
        assert profile[band - 2:band + 3].sum() / profile.sum() > 0.35  # most of it near the tone
    assert saliency.section_map(net, np.zeros(SR, np.float32), w, "penultimate") is None  # silence: no map


def test_bin_time_and_errors():
    from sectionist.analysis.errors import ParameterError
    from sectionist.analysis.embeddings.saliency import bin_time

    m = np.arange(10, dtype=float)[:, None] * np.ones((1, 3))
    b = bin_time(m, 5)
    np.testing.assert_allclose(b[:, 0], [0.5, 2.5, 4.5, 6.5, 8.5])
    with pytest.raises(ParameterError, match="n_time=0"):
        bin_time(m, 0)


def test_cli_writes_table_and_rejects_other_runs(musicnn_store, capsys):
    from sectionist.analysis.embeddings.saliency import METHOD, map_array

    store, run_id, fit_s = musicnn_store
    t0 = time.perf_counter()
    assert main(["saliency", "--store", store.uri, "--max-sections", "3", "--n-time", "4", "-q"]) == 0
    sal_s = time.perf_counter() - t0
    with capsys.disabled():  # the measured costs (docs/embeddings.md)
        print(f"\nmodelling {fit_s:.2f} s, saliency {sal_s:.2f} s")
    assert f"{run_id}: saliency of 2 clusters" in capsys.readouterr().out
    df = store.read_part(SALIENCY, SALIENCY.part(run_id=run_id))
    assert list(df.columns) == SALIENCY.column_names
    assert sorted(df["cluster"]) == [0, 1] and (df["n_sections"] == 3).all()
    assert (df["n_freq"] == 96).all() and (df["n_time"] == 4).all() and (df["method"] == METHOD).all()
    hz = __import__("sectionist.analysis.embeddings.saliency", fromlist=["band_frequencies"]).band_frequencies()
    peaks = []
    for _, row in df.iterrows():
        m = map_array(row)
        assert m.shape == (96, 4) and m.sum() == pytest.approx(1.0, rel=1e-3)
        np.testing.assert_allclose(np.asarray(row["profile"]), m.mean(axis=1), rtol=1e-5)
        peaks.append(hz[int(np.argmax(row["profile"]))])
    # the two clusters are the low and the high tones: their maps peak at those tones
    assert sorted(peaks) == pytest.approx([LOW, HIGH], rel=0.06)
    # an unknown run and a run on another space: clear errors naming the musicnn runs
    assert main(["saliency", "--store", store.uri, "--run", "nope", "-q"]) == 2
    err = capsys.readouterr().err
    assert "no run 'nope'" in err and run_id in err
    other = store.read_part(RUNS, RUNS.part(run_id=run_id)).assign(run_id="classical17-kmeans-k2", space="classical17")
    store.write_part(RUNS, RUNS.part(run_id="classical17-kmeans-k2"), other)
    assert main(["saliency", "--store", store.uri, "--run", "classical17-kmeans-k2", "-q"]) == 2
    err = capsys.readouterr().err
    assert "not a musicnn embedder" in err and f"musicnn runs in {store.uri}: {run_id}" in err
    store.delete_part(RUNS, RUNS.part(run_id="classical17-kmeans-k2"))


def test_saliency_figure_is_pure_and_escaped():
    from sectionist.analysis.embeddings.saliency import band_frequencies
    from sectionist.dashboard.ui.figures import saliency as saliency_figures

    m = np.zeros((96, 4))
    m[30] = 1.0
    fig = saliency_figures.saliency_heatmap(m, band_frequencies(), method="<b>x</b>", n_sections=3, cluster=1,
                                            names={1: "<i>loud</i> & dark"})
    assert "<i>" not in fig.layout.title.text and "&lt;i&gt;loud" in fig.layout.title.text
    assert fig.data[0].type == "heatmap" and np.asarray(fig.data[0].z).max() == 1.0
    assert int(np.argmax(fig.data[1].x)) == 30  # the profile beside it
    assert "1k" in fig.layout.yaxis.ticktext and fig.layout.yaxis.title.text == "Hz (mel)"
    assert "<b>" not in str(fig.layout.meta)
    empty = saliency_figures.saliency_heatmap(np.zeros((96, 4)), band_frequencies())
    assert "No saliency" in empty.layout.annotations[0].text


def _app_data(uri, tmp_path):
    from sectionist.dashboard.app import create_app

    app = create_app(uri, db_url=f"sqlite:///{tmp_path / 'users.sqlite'}", secret_key="s" * 40)
    return app, app.server.extensions["sectionist_data"]


def test_clusters_page_shows_map_for_musicnn_runs(musicnn_store, tmp_path):
    import plotly.io.json as pj

    store, run_id, _ = musicnn_store
    if not store.list_parts(SALIENCY):
        assert main(["saliency", "--store", store.uri, "--max-sections", "2", "--n-time", "4", "-q"]) == 0
    app, data = _app_data(store.uri, tmp_path)
    from sectionist.dashboard.pages import clusters

    with app.server.test_request_context("/clusters"):
        body = clusters.cluster_body(data, run_id, 0)
    out = pj.to_json_plotly(body)
    assert "What the network listens to" in out and "Brighter = the network" in out and "Method: input" in out
    block = clusters.saliency_block(data, run_id, 0)
    graphs = [c for c in block.children[1].children if getattr(c, "id", None) == "clusters-saliency"]
    assert graphs and graphs[0].figure.data[0].type == "heatmap"
    assert "applies to musicnn runs only" not in out.lower()


def test_clusters_page_note_for_other_runs(tmp_path):
    import plotly.io.json as pj
    from synthetic_store import RUNS as SYN_RUNS
    from synthetic_store import build_synthetic_store

    store = build_synthetic_store(tmp_path / "store", n_sections=20, sections_per_song=10, section_seconds=2.0,
                                  random_state=1)
    app, data = _app_data(store.uri, tmp_path)
    from sectionist.dashboard.pages import clusters

    run_id = SYN_RUNS[0][0]
    c = int(data.run_arrays(run_id).clusters[0])
    with app.server.test_request_context("/clusters"):
        out = pj.to_json_plotly(clusters.cluster_body(data, run_id, c))
    assert "Applies to musicnn runs only" in out and "clusters-saliency-note" in out
    assert '"id":"clusters-saliency"' not in out.replace(" ", "")


def test_a_missing_song_file_is_a_clear_error_and_writes_nothing(musicnn_store, tmp_path, capsys):
    import shutil

    from sectionist.store.schema import SONGS

    store, run_id, _ = musicnn_store
    copy = open_store(shutil.copytree(store.uri, tmp_path / "copy"), create=False)
    for part in copy.list_parts(SALIENCY):
        copy.delete_part(SALIENCY, part)
    songs = copy.read_table(SONGS)
    gone = str(tmp_path / "moved-away.wav")
    first = songs.iloc[[0]].assign(uri=gone)
    copy.write_part(SONGS, SONGS.part(song_id=first.iloc[0]["song_id"]), first)
    assert main(["saliency", "--store", copy.uri, "--run", run_id, "--max-sections", "4", "-q"]) == 2
    assert "moved-away.wav" in capsys.readouterr().err
    assert copy.list_parts(SALIENCY) == []
    assert main(["saliency", "--store", copy.uri, "--batch-size", "0", "-q"]) == 2
    assert "--batch-size 0" in capsys.readouterr().err
