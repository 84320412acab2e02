"""bench/guided_structure.py's simulated expert on a song whose truth is known: it picks the largest
error, the recompute fixes the song, every correction made is checked, and what each did is recorded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sectionist.analysis.evaluate import Segmentation
from sectionist.analysis.structure.base import Structure
from sectionist.analysis.structure.beats import BeatFeatures

BENCH = Path(__file__).resolve().parents[1] / "bench" / "guided_structure.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("guided_structure_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def song():
    """A song A B A B (8 beats of 0.5 s each, each part played again with a little noise), its truth,
    and a scheme that heard two segments "AB" "AB" of one part."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    X = np.vstack([a, b, a, b]) + 0.05 * rng.normal(size=(32, 8))
    features = BeatFeatures(np.arange(33) * 0.5, X[:, :4], X[:, 4:])
    truth = Segmentation(np.array([[0.0, 4.0], [4.0, 8.0], [8.0, 12.0], [12.0, 16.0]]), ["A", "B", "A", "B"])
    scheme = Structure(np.array([[0.0, 8.0], [8.0, 16.0]]), np.array([0, 0]))
    return scheme, truth, features


def test_the_expert_splits_the_largest_missed_boundary_first(bench, song):
    scheme, truth, _ = song
    first = bench.oracle(scheme, truth)[0]
    assert (first.kind, first.time_a) == ("split", 4.0)
    # a correction already made is not offered again
    assert all(c.as_dict() != first.as_dict() for c in bench.oracle(scheme, truth, [first]))


def test_one_correction_fixes_the_song_and_is_checked_and_tallied(bench, song):
    scheme, truth, features = song
    out = bench.guided_curve(scheme, truth, features, [0, 1])
    assert out[0]["ari_frames"] < 0.5 and out[0]["steps"] == [] and out[0]["violated"] == 0
    # the split at 4 s is repeated at 12 s, where the same music plays again: A B A B
    assert out[1]["ari_frames"] == pytest.approx(1.0)
    assert out[1]["violated"] == 0
    (kind, change), = out[1]["steps"]
    assert kind == "split" and change == pytest.approx(out[1]["ari_frames"] - out[0]["ari_frames"])
    # without propagation only the named segment is cut: better, not fixed
    alone = bench.guided_curve(scheme, truth, features, [1], propagate=False)
    assert out[0]["ari_frames"] < alone[1]["ari_frames"] < 1.0
