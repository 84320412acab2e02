"""``sectionist.analysis.corpus.devcorpus`` (with ``devsongs``) and ``sectionist dev-corpus``: songs of real timbres with exact truth.

Needs the Debian packages fluidsynth and fluid-soundfont-gm (scripts/install-system-deps.sh).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from sectionist.analysis.corpus import devcorpus
from sectionist.analysis.corpus.devcorpus import make_dev_corpus
from sectionist.analysis.corpus.devsongs import FORMS, compose_song, song_midi
from sectionist.analysis.errors import InputError, ParameterError
from sectionist.analysis.evaluate import read_reference
from sectionist.cli import main
from sectionist.store import open_store
from sectionist.store.schema import SECTIONS, SONGS


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("devcorpus")
    assert main(["dev-corpus", str(out), "--songs", "2", "--seconds", "30", "--seed", "3", "-q"]) == 0
    return out


def test_files_and_truth(corpus):
    wavs = sorted(corpus.glob("*.wav"))
    assert [p.name for p in wavs] == ["dev_00.wav", "dev_01.wav"]
    for wav in wavs:
        meta = json.loads(wav.with_suffix(".json").read_text())
        info = sf.info(wav)
        assert info.samplerate == 22050 and info.channels == 1
        secs = meta["sections"]
        assert info.duration == pytest.approx(secs[-1]["end"], abs=1 / 22050)
        assert meta["duration_s"] == pytest.approx(info.duration, abs=1e-5)
        assert 15 <= info.duration <= 60  # about the 30 s asked for, whole bars of the form
        assert secs[0]["start"] == 0.0
        assert all(a["end"] == b["start"] for a, b in zip(secs, secs[1:]))  # contiguous
        labels = [s["label"] for s in secs]
        assert max(labels.count(lab) for lab in set(labels)) >= 2  # a recurring section
        assert tuple(labels) == FORMS[meta["form"]]
        assert any(s["variations"] for s in secs)  # a recurrence changes something
        bar = 240.0 / meta["tempo_bpm"]
        for s in secs:  # boundaries on bar lines
            assert s["start"] / bar == pytest.approx(round(s["start"] / bar), abs=1e-4)
        # the .lab says the same; the audio is not silent
        lab = read_reference(wav.with_suffix(".lab"))
        assert lab.labels == labels
        np.testing.assert_allclose(lab.intervals, [[s["start"], s["end"]] for s in secs], atol=1e-6)
        y, _ = sf.read(wav)
        assert np.sqrt(np.mean(y ** 2)) > 0.02
        assert wav.with_suffix(".mid").is_file()


def test_same_seed_same_files(corpus, tmp_path):
    make_dev_corpus(tmp_path, n_songs=1, seed=3, seconds=30, progress=False)
    for ext in (".wav", ".json", ".lab", ".mid"):
        a = hashlib.sha256((corpus / f"dev_00{ext}").read_bytes()).hexdigest()
        b = hashlib.sha256((tmp_path / f"dev_00{ext}").read_bytes()).hexdigest()
        assert a == b, ext


def test_other_seed_other_song():
    a = compose_song(np.random.default_rng([3, 0]), seconds=200)
    b = compose_song(np.random.default_rng([4, 0]), seconds=200)
    assert (a.tempo_us, a.tonic, a.form, a.truth()) != (b.tempo_us, b.tonic, b.form, b.truth())


def test_compose_default_length_songs_carry_variations():
    seen = set()
    for i in range(12):
        song = compose_song(np.random.default_rng([0, i]), seconds=180)
        assert 120 <= song.n_bars * song.bar_seconds <= 260
        assert 80 <= song.tempo_bpm <= 150
        assert min(s.n_bars for s in song.sections) >= 2
        seen |= {v for s in song.sections for v in s.variations}
    mid = song_midi(song)  # the MIDI file ends on the last bar line
    assert mid.length == pytest.approx(song.n_bars * song.bar_seconds, rel=1e-6)
    assert {"drums", "lead_instrument", "melody_octave", "melody_varied", "fill"} <= seen


def test_missing_renderer_names_the_debian_packages(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="fluid-soundfont-gm"):
        make_dev_corpus(tmp_path, n_songs=1, seconds=30, soundfont=tmp_path / "none.sf2", progress=False)
    monkeypatch.setattr(devcorpus.shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="Debian package 'fluidsynth'"):
        make_dev_corpus(tmp_path, n_songs=1, seconds=30, progress=False)
    assert not list(tmp_path.glob("*.wav"))


@pytest.mark.parametrize("kw,match", [({"n_songs": 0}, "n_songs=0"), ({"seed": -1}, "seed=-1"),
                                      ({"seconds": 5}, "seconds=5.0"), ({"sample_rate": 100}, "sample_rate=100")])
def test_bad_parameters(tmp_path, kw, match):
    with pytest.raises(ParameterError, match=match):
        make_dev_corpus(tmp_path, **{"n_songs": 1, "progress": False, **kw})


def test_analyze_records_truth_and_evaluate_scores_it(corpus, tmp_path, capsys):
    store_dir = tmp_path / "store"
    assert main(["analyze", str(corpus), "--store", str(store_dir), "--no-embed", "--no-cluster",
                 "--section-seconds", "4", "-q"]) == 0
    store = open_store(str(store_dir), create=False)
    songs = store.read_table(SONGS)
    assert len(songs) == 2 and songs["truth_path"].notna().all()
    sec = store.read_table(SECTIONS)
    truth = {p.stem: {s["label"] for s in json.loads(p.read_text())["sections"]} for p in corpus.glob("*.json")}
    for sid, g in sec.groupby("song_id"):
        title = songs.set_index("song_id").loc[sid, "title"]
        assert set(g["truth_label"].dropna()) <= truth[title]
        assert g["truth_label"].notna().mean() > 0.9
    capsys.readouterr()
    out = tmp_path / "scores.csv"
    assert main(["evaluate", "--store", str(store_dir), "--truth", str(corpus), "-q", "-o", str(out)]) == 0
    assert "2 songs scored, 0 skipped" in capsys.readouterr().out
    import pandas as pd

    t = pd.read_csv(out, keep_default_na=False)
    assert set(t["title"]) == {"dev_00", "dev_01"}
    hit_rates = {"hr_p_0.5", "hr_r_0.5", "hr_f_0.5", "hr_p_3", "hr_r_3", "hr_f_3"}
    sections = t[t["run_id"] == ""]  # the sections' boundaries (no clustering run: --no-cluster)
    assert set(sections["metric"]) == hit_rates
    # the per-song structure segmentations that analyze writes are scored with labels too
    structure = t[t["run_id"] == "structure"]
    assert set(structure["scheme"]) == {"repeats", "repeats:phrase", "merged", "laplacian"}
    assert hit_rates | {"pairwise_f", "ari_frames", "l_f"} <= set(structure["metric"])
    assert set(t["run_id"]) == {"", "structure"}
    assert t["value"].between(-1, 1).all()
