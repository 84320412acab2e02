"""The Lab's per-song front end in the shared media folder (sectionist/dashboard/data/lab_cache.py): a
sweep rebuilt from an entry answers every setting exactly as the sweep it was saved from; an entry is
made once and then read (no audio, no front end computed), a damaged one is made again, and a changed
song has another key. Synthetic beat features: no audio, no librosa."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.sections.lab import FRONT_DIMS, LabParams, SegmentationSweep
from sectionist.analysis.structure.beats import BeatFeatures
from sectionist.dashboard.data import lab_cache
from sectionist.dashboard.media.diskcache import MediaCache

SR = 22050


@pytest.fixture(scope="module")
def features():
    """A song of 150 beats of 0.5 s in parts A B A C A B: each part its own chord and timbre."""
    rng = np.random.default_rng(4)
    parts = {k: (rng.normal(size=84) * 6, rng.normal(size=20) * 3) for k in "ABC"}
    harmony, timbre = [], []
    for k in "ABACAB":
        h, t = parts[k]
        harmony.append(h + rng.normal(scale=1.0, size=(25, 84)))
        timbre.append(t + rng.normal(scale=0.5, size=(25, 20)))
    return BeatFeatures(np.arange(151) * 0.5, np.concatenate(harmony), np.concatenate(timbre))


@pytest.fixture(scope="module")
def sweep(features):
    return SegmentationSweep(None, SR, features=features)


def _data(content_hash="abc"):
    songs = pd.DataFrame({"uri": ["/music/song.wav"], "title": ["song"], "content_hash": [content_hash]},
                         index=pd.Index(["s1"], name="song_id"))
    return type("Data", (), {"songs": songs})()


SETTINGS = [LabParams(), LabParams(threshold=0.3), LabParams(threshold=2.5, min_slice_beats=8),
            LabParams(k=3, window=5), LabParams(k=10), LabParams(merge=False, threshold=0.6)]


def test_a_rebuilt_sweep_answers_every_setting_as_the_original(sweep):
    rebuilt = lab_cache.decode(lab_cache.encode(sweep), SR)
    assert rebuilt.features.n == sweep.features.n and rebuilt.repeat_mass == sweep.repeat_mass
    np.testing.assert_array_equal(rebuilt.novelty, sweep.novelty)
    assert sweep.front_arrays()["evecs"].shape[1] == FRONT_DIMS
    for p in SETTINGS:
        a, b = sweep.result(p), rebuilt.result(p)
        np.testing.assert_array_equal(a.post, b.post)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.pre_labels, b.pre_labels)
        assert a.k_used == b.k_used
    assert len(sweep.result(LabParams()).post) > 1  # the parts are found: the comparison means something


def test_a_song_too_short_to_cut_is_rebuilt_too():
    short = BeatFeatures(np.arange(6) * 0.5, np.ones((5, 84)), np.ones((5, 20)))
    sweep = SegmentationSweep(None, SR, features=short)
    rebuilt = lab_cache.decode(lab_cache.encode(sweep), SR)
    assert rebuilt.result(LabParams()).n_post == sweep.result(LabParams()).n_post == 1


def test_an_entry_is_made_once_then_read_and_a_damaged_one_made_again(tmp_path, sweep):
    folder, data, built = MediaCache(tmp_path / "media", 1 << 20), _data(), []

    def build():
        built.append(1)
        return sweep

    first, read = lab_cache.cached_sweep(data, "s1", SR, build, folder)
    assert first is sweep and not read and len(built) == 1 and len(folder.entries()) == 1
    second, read = lab_cache.cached_sweep(data, "s1", SR, build, folder)
    assert read and len(built) == 1 and second is not sweep
    np.testing.assert_array_equal(second.result(LabParams()).post, sweep.result(LabParams()).post)
    # a changed song (another content hash) or another sample rate is another entry
    assert lab_cache.entry_key(_data("other"), "s1", SR) != lab_cache.entry_key(data, "s1", SR)
    assert lab_cache.entry_key(data, "s1", 16000) != lab_cache.entry_key(data, "s1", SR)
    # a damaged entry is made again, not served
    folder.path(lab_cache.entry_key(data, "s1", SR)).write_bytes(b"not an npz")
    third, read = lab_cache.cached_sweep(data, "s1", SR, build, folder)
    assert not read and len(built) == 2 and third is sweep


def test_without_a_media_folder_the_sweep_is_built(sweep):
    assert lab_cache.media_folder() is None  # no Flask app here
    assert lab_cache.cached_sweep(_data(), "s1", SR, lambda: sweep) == (sweep, False)


def test_a_front_needs_its_features_and_matching_beats(sweep):
    with pytest.raises(ParameterError, match="features"):
        SegmentationSweep(None, SR, front=sweep.front_arrays())
    arrays = sweep.front_arrays()
    short = BeatFeatures(arrays["times"][:-10], arrays["harmony"][:-10], arrays["timbre"][:-10])
    with pytest.raises(ParameterError, match="novelty values"):
        SegmentationSweep(None, SR, features=short, front=arrays)


def test_a_rebuilt_sweep_answers_the_grid_without_picking_peaks(tmp_path, sweep):
    """The threshold grid's slice edges travel in the entry: a fresh process answers every grid setting
    without ``scipy.signal`` (whose import cost a cold web worker seconds on its first Lab answer)."""
    import subprocess
    import sys

    path = tmp_path / "entry.npz"
    path.write_bytes(lab_cache.encode(sweep))
    expected = [sweep.result(p).post.tolist() for p in SETTINGS]
    code = ("import json, sys\n"
            "from sectionist.dashboard.data import lab_cache\n"
            "from sectionist.analysis.sections.lab import LabParams\n"
            "sweep = lab_cache.decode(open(sys.argv[1], 'rb').read(), 22050)\n"
            f"settings = {[dict(threshold=p.threshold, min_slice_beats=p.min_slice_beats, merge=p.merge, window=p.window, k=p.k) for p in SETTINGS]!r}\n"
            "posts = [sweep.result(LabParams(**s)).post.tolist() for s in settings]\n"
            "print(json.dumps({'posts': posts, 'signal': 'scipy.signal' in sys.modules}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["posts"] == expected
    assert answer["signal"] is False
