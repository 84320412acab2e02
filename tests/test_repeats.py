"""The ``repeats`` structure scheme (sectionist/analysis/structure/repeats.py): units at the song's
own scale, boundaries from what always comes together, labels only for real repeats, two levels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.evaluate import read_reference
from sectionist.analysis.structure.beats import BeatFeatures
from sectionist.analysis.structure.repeats import (
    REPEATS_VERSION,
    choose_grid,
    join_loops,
    join_lone,
    repeats_beats,
    repeats_structure,
    shifted_unit_distances,
    song_start,
    unit_distances,
    unit_labels,
    unit_segments,
)
from sectionist.analysis.structure.writer import segment_rows
from sectionist.store import open_store
from sectionist.store.schema import SEGMENTS, section_level

BEAT = 0.5  # seconds per beat of the synthetic songs


def song(form: str, *, beats_per_part: int = 16, pickup: int = 0, noise: float = 0.02, seed: int = 0,
         dims: int = 12) -> BeatFeatures:
    """Beat features of a song whose parts (letters of ``form``) are fixed random sequences of 4-beat
    bars (a chord per bar, a little movement per beat) of ``beats_per_part`` beats, played again note
    for note (plus a little noise), after ``pickup`` beats of their own."""
    rng = np.random.default_rng(seed)

    def part():
        bars = np.repeat(rng.normal(size=(-(-beats_per_part // 4), 2 * dims)), 4, axis=0)[:beats_per_part]
        return bars + 0.3 * rng.normal(size=bars.shape)

    parts = {c: part() for c in sorted(set(form))}
    rows = [rng.normal(size=(pickup, 2 * dims))] + [parts[c] for c in form]
    X = np.vstack(rows)
    X = X + noise * rng.normal(size=X.shape)
    times = np.arange(len(X) + 1) * BEAT
    return BeatFeatures(times, X[:, :dims], X[:, dims:])


def test_parts_played_again_get_their_boundaries_and_labels():
    """AABACB: the two A's in a row (16 beats each) are two plays of A, B and A come back with their
    labels, C (heard once) has its own label and no confidence; every boundary is exact. With plays
    of 24 beats at least (version 2), the two A's are one stretch."""
    r = repeats_beats(song("AABACB"))
    np.testing.assert_allclose(r["bounds"], [[0, 8], [8, 16], [16, 24], [24, 32], [32, 40], [40, 48]])
    assert r["labels"].tolist() == [0, 0, 1, 0, 2, 1] and not r["strains"]
    conf = r["confidence"]
    assert np.isnan(conf[4]) and np.isfinite(conf[[0, 1, 2, 3, 5]]).all() and (conf[[0, 1, 2, 3, 5]] > 0.8).all()
    v2 = repeats_beats(song("AABACB"), play_beats=24, keep_beats=0, split_plays=False, strain_beats=None)
    np.testing.assert_allclose(v2["bounds"], [[0, 16], [16, 24], [24, 32], [32, 40], [40, 48]])
    assert v2["labels"].tolist() == [0, 1, 0, 2, 1]
    # the phrase level: the units of the grid chosen, each part's units labelled alike where they repeat
    assert r["unit"] in (4, 8) and r["phase"] == 0
    assert len(r["unit_bounds"]) == 48 * 2 // r["unit"] // 2 * 1 or len(r["unit_bounds"]) == 96 // (2 * r["unit"]) * 2
    assert r["unit_bounds"][0, 0] == 0 and r["unit_bounds"][-1, 1] == 48


def test_the_grid_follows_the_song_after_a_pickup():
    """Two beats of pickup before the form: the unit lines move with it, so boundaries stay exact."""
    r = repeats_beats(song("AABACB", pickup=2, seed=1))
    assert r["phase"] % r["unit"] == 2 % r["unit"]
    np.testing.assert_allclose(r["bounds"], [[0, 9], [9, 17], [17, 25], [25, 33], [33, 41], [41, 49]])
    assert r["labels"].tolist() == [0, 0, 1, 0, 2, 1]  # the pickup joins the first A (edge_share)


def test_a_song_that_repeats_nothing_shares_no_label():
    r = repeats_beats(song("ABCDEF", seed=2))
    assert len(set(r["labels"].tolist())) == len(r["labels"])
    assert np.isnan(r["confidence"]).all()


def test_a_lone_cut_keeps_unrepeated_units_together_unless_novelty_says_otherwise():
    lab = np.array([0, 1, 0, 1, 2, 3, 4, 5])  # a b a b (a part of two units, twice), then four units heard once
    segs, labels = unit_segments(lab)
    assert segs == [(0, 4), (4, 5), (5, 6), (6, 7), (7, 8)]  # a b glued, its two plays one stretch
    assert labels.tolist() == [0, 1, 2, 3, 4]
    novelty = np.array([0.1, 1.0, 0.1, 3.0, 0.1, 3.0, 0.1])  # lines 1…7
    segs, labels = unit_segments(lab, novelty, lone_cut=1.0)
    assert segs == [(0, 4), (4, 6), (6, 8)]  # lines 5 and 7 are quiet: glued
    # phrases at the song's own length: the lone units regrouped by two, the length of its repeats
    segs, labels = unit_segments(lab, phrase_units=4)
    assert segs == [(0, 4), (4, 6), (6, 8)] and labels.tolist() == [0, 1, 2]
    # segments shorter than two units join their shorter neighbour: stray units pair up, a b stays whole
    segs, labels = unit_segments(lab, min_units=2)
    assert segs == [(0, 4), (4, 6), (6, 8)] and labels.tolist() == [0, 1, 2]
    with pytest.raises(ParameterError, match="line_novelty"):
        unit_segments(lab, novelty[:3], lone_cut=1.0)


def test_unit_distances_are_aligned_beat_by_beat():
    X = np.zeros((8, 2))
    X[4:] = [[3.0, 4.0]] * 4
    D = unit_distances(X, np.array([0, 2, 4]), 2)
    assert D[0, 1] == 0 and D[0, 2] == pytest.approx(5.0 / np.sqrt(2)) and np.allclose(D, D.T)


def test_choose_grid_prefers_the_grid_whose_units_repeat():
    bf = song("ABAB", beats_per_part=8, seed=3)
    X = np.hstack([bf.harmony, bf.timbre])
    unit, phase, edges, lab, _D, _full = choose_grid(X, np.ones(len(X)), unit_beats=(3, 4))
    assert (unit, phase) == (4, 0) and edges[-1] == len(X)
    assert lab.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]



def test_the_grid_goes_through_the_songs_start_when_that_costs_little():
    """One 8-beat pattern played 8 times: phase 0 repeats best (0.875: every unit the same); the phase
    through beat 4 (0.667: two partial units of their own) is taken when the start is there and
    ``start_weight`` covers the difference, never for another unit length and never when it is too small."""
    bf = song("AAAAAAAA", beats_per_part=8, seed=5)
    X = np.hstack([bf.harmony, bf.timbre])
    flat = np.ones(len(X))
    assert choose_grid(X, flat, unit_beats=(8,))[:2] == (8, 0)
    assert choose_grid(X, flat, unit_beats=(8,), start=4, start_weight=0.3)[:2] == (8, 4)
    assert choose_grid(X, flat, unit_beats=(8,), start=4, start_weight=0.1)[:2] == (8, 0)
    assert choose_grid(X, flat, unit_beats=(8,), start=12, start_weight=0.3)[:2] == (8, 4)  # 12 = 4 mod 8
    assert choose_grid(X, flat, unit_beats=(8,), start=0, start_weight=0.3)[:2] == (8, 0)


def test_song_start_is_the_first_tracked_beat_unless_about_one_beat_comes_before_it():
    assert song_start(np.array([0.0, 0.07, 0.57, 1.07, 1.57])) == 1  # a sliver before the first beat
    assert song_start(np.array([0.0, 0.5, 1.0, 1.5, 2.0])) == 0  # the start is a beat of its own
    assert song_start(np.array([0.0, 3.0, 3.5, 4.0, 4.5])) == 1  # 3 s of silence before the first beat
    assert song_start(np.array([0.0, 3.0])) == 0


def test_repeats_records_its_start_weight():
    bf = song("AABB", beats_per_part=16)
    off, on = repeats_beats(bf, start_weight=0.0), repeats_beats(bf)
    np.testing.assert_allclose(off["bounds"], on["bounds"])  # the start is on the grid already: no change
    assert repeats_structure(None, 22050, features=bf).params["start_weight"] == 0.3


def test_a_song_shorter_than_two_units_is_one_segment():
    r = repeats_beats(song("A", beats_per_part=5))
    assert r["bounds"].tolist() == [[0.0, 2.5]] and r["labels"].tolist() == [0]


def test_both_levels_reach_the_segments_table(tmp_path):
    structure = repeats_structure(None, 22050, features=song("AABACB"))
    assert set(structure.levels) == {"phrase"} and structure.params["unit"] in (4, 8)
    rows = segment_rows("s1", "repeats", structure)
    assert set(rows["level"]) == {"section", "phrase"}
    store = open_store(str(tmp_path / "store"), create=True)
    store.write_part(SEGMENTS, SEGMENTS.part(scheme="repeats", song_id="s1"), rows)
    back = store.read_table(SEGMENTS)
    sec = section_level(back).sort_values("index")
    np.testing.assert_allclose(sec[["start_s", "end_s"]].to_numpy(), structure.bounds)
    assert sec["confidence"].isna().tolist() == [False, False, False, False, True, False]
    params = json.loads(sec["params"].iloc[0])
    assert params["version"] == REPEATS_VERSION == 4 and params["play_beats"] == 16 and params["shift"] == 0.5
    assert params["strain_beats"] == [16, 64] and params["strains"] is False and params["edge_share"] == 0.75


def test_scores_against_a_truth_file(tmp_path):
    """A song built like a tracker module (patterns of 16 beats, orders A B C B D A B) against its
    truth in the dev-corpus format: every boundary hit, ARI 1."""
    from sectionist.analysis.evaluate import structure_scores

    bf = song("ABCBDAB", seed=4)
    truth = {"sections": [{"start": a * 8.0, "end": (a + 1) * 8.0, "label": lab} for a, lab in enumerate("ABCBDAB")]}
    (tmp_path / "t.json").write_text(json.dumps(truth))
    ref = read_reference(tmp_path / "t.json")
    rows = segment_rows("s", "repeats", repeats_structure(None, 22050, features=bf))
    scores = structure_scores(ref, rows, bf.duration)
    assert scores["section"]["hr_f_0.5"] == pytest.approx(1.0)
    assert scores["section"]["ari_frames"] == pytest.approx(1.0)
    assert scores["section"]["l_f"] > 0.5 and "ari_frames" in scores["phrase"]


def test_phrases_that_come_back_together_form_sections():
    """A fiddle tune's strains: phrases x y x z (A) and p q p r (B), each strain played twice: the
    sections are the four strains, A A B B; a 24-beat cap keeps them at phrase pairs instead."""
    from sectionist.analysis.structure.repeats import phrase_blocks

    names = "xyxzxyxzpqprpqpr"
    labels = np.array(["xyzpqr".index(c) for c in names])
    spans, blocks = phrase_blocks(labels, np.full(len(labels), 8), max_beats=40)
    assert spans == [(0, 4), (4, 8), (8, 12), (12, 16)] and blocks.tolist() == [0, 0, 1, 1]
    spans, blocks = phrase_blocks(labels, np.full(len(labels), 8), max_beats=24)
    assert all(b - a <= 3 for a, b in spans) and len(spans) > 4
    spans, blocks = phrase_blocks(labels, np.full(len(labels), 8), max_beats=0)
    assert spans == [(i, i + 1) for i in range(16)] and blocks.tolist() == [0, 1, 0, 2, 0, 1, 0, 2, 3, 4, 3, 5, 3, 4, 3, 5]
    # phrases that never come back together stay sections of their own
    spans, _ = phrase_blocks(np.arange(5), np.full(5, 8), max_beats=40)
    assert spans == [(i, i + 1) for i in range(5)]


def test_a_strain_played_twice_in_a_row_stays_two_plays():
    """Parts of 32 beats (a fiddle tune's strains) played A A B B: each play is its own segment (the
    notated truth's passes), with the strain's label; parts of 16 beats played twice stay one stretch."""
    r = repeats_beats(song("AABB", beats_per_part=32, seed=5))
    np.testing.assert_allclose(r["bounds"], [[0, 16], [16, 32], [32, 48], [48, 64]])
    assert r["labels"].tolist() == [0, 0, 1, 1]
    r = repeats_beats(song("AABB", beats_per_part=32, seed=5), play_beats=0, strain_beats=None)
    np.testing.assert_allclose(r["bounds"], [[0, 32], [32, 64]])
    lab = np.array([0, 1, 0, 1, 2, 3])  # a b played twice: two units a play
    assert unit_segments(lab, play_units=2)[0] == [(0, 2), (2, 4), (4, 5), (5, 6)]
    assert unit_segments(lab, play_units=3)[0] == [(0, 4), (4, 5), (5, 6)]


def test_pair_same_false_never_joins_a_symbol_with_itself():
    from sectionist.analysis.structure.repeats import phrase_blocks

    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    spans, _ = phrase_blocks(labels, np.full(8, 8), max_beats=16)
    assert spans == [(0, 2), (2, 4), (4, 6), (6, 8)]
    spans, blocks = phrase_blocks(labels, np.full(8, 8), max_beats=16, pair_same=False)
    # the strain and its repeat stay apart; the change from one strain to the next is what recurs
    assert spans == [(0, 1), (1, 3), (3, 4), (4, 5), (5, 7), (7, 8)] and blocks.tolist() == [0, 1, 2, 0, 1, 2]


def test_shifted_distances_match_a_repeat_off_the_grid():
    """A 7-beat phrase played twice on a grid of 3-beat units: the second play starts one beat off the
    grid, so aligned units never match; moved by one beat they match exactly."""
    rng = np.random.default_rng(6)
    phrase = rng.normal(size=(7, 4))
    X = np.vstack([phrase, phrase, rng.normal(size=(7, 4))])
    starts = np.arange(0, 19, 3)  # units at 0, 3, …, 18
    aligned = unit_distances(X, starts, 3)
    moved = shifted_unit_distances(X, starts, 3, 1)
    assert aligned[0, 2] > 0.5 and moved[0, 2] == pytest.approx(0.0, abs=1e-6)  # beats 0-2 again at 7-9 (unit 6-8 moved +1)
    assert np.allclose(moved, moved.T) and np.all(moved <= aligned + 1e-12) and np.all(np.diag(moved) == 0)
    lab, _D, _full = unit_labels(X, np.append(starts, len(X)), 3, 0.3, max_shift=1)
    assert lab[0] == lab[2] and len(set(lab.tolist())) < len(lab)


def test_join_lone_joins_short_unrepeated_neighbours_only():
    spans = [(i, i + 1) for i in range(6)]
    labels = np.array([0, 1, 2, 3, 0, 4])  # 0 played twice (16 beats); 1, 2, 3 heard once
    beats = np.array([16, 4, 4, 16, 16, 4], dtype=float)
    out, lab = join_lone(spans, labels, beats, 0.5)  # short: under 8 beats (half the repeated 16)
    # 1 and 2 (4 beats each) join; 3 (16 beats) is as long as a repeated part and the 8 beats before
    # it are no longer short: it stays; 4 follows a repeated block
    assert out == [(0, 1), (1, 3), (3, 4), (4, 5), (5, 6)] and lab.tolist() == [0, 1, 2, 0, 3]
    out, _ = join_lone(spans, labels, beats, 0.0)
    assert out == spans
    with pytest.raises(ParameterError, match="beats"):
        join_lone(spans, labels, beats[:3], 0.5)


def test_a_run_of_one_unit_is_cut_into_plays():
    """A strain that is one unit played twice, twice over (x x x x y y y y): with plays of at least two
    units the runs are cut into their plays, x x | x x | y y | y y; a run that no play length divides
    twice stays whole."""
    lab = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    segs, labels = unit_segments(lab, play_units=2, split_plays=True)
    assert segs == [(0, 2), (2, 4), (4, 6), (6, 8)] and labels.tolist() == [0, 0, 1, 1]
    assert unit_segments(lab, play_units=2)[0] == [(0, 4), (4, 8)]
    assert unit_segments(np.array([0, 0, 0, 1]), play_units=2, split_plays=True)[0] == [(0, 3), (3, 4)]


def test_keep_beats_keeps_two_long_plays_apart():
    """Phrases P P Q Q P P Q Q of 16 beats: Re-Pair would join P with P; with ``keep_beats`` 16 two
    single phrases of 16 beats each stay two sections, while shorter phrases still join."""
    from sectionist.analysis.structure.repeats import phrase_blocks

    labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    spans, _ = phrase_blocks(labels, np.full(8, 16), max_beats=32)
    assert spans == [(0, 2), (2, 4), (4, 6), (6, 8)]
    spans, blocks = phrase_blocks(labels, np.full(8, 16), max_beats=32, keep_beats=16)
    assert spans == [(i, i + 1) for i in range(8)] and blocks.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    spans, _ = phrase_blocks(labels, np.full(8, 8), max_beats=16, keep_beats=16)
    assert spans == [(0, 2), (2, 4), (4, 6), (6, 8)]


def test_strain_grid_finds_strains_played_twice_after_a_pickup():
    """A fiddle tune after a pickup unit: strains of four units (a b a c and d e d f, the second
    play's last unit different), played A A B B A A B B. The grid is four units from unit 1 (the
    first full unit), its blocks labelled A, B by what they play; a through-composed song has none."""
    from sectionist.analysis.structure.helpers import strain_grid

    A, A2, B, B2 = [1, 2, 1, 3], [1, 2, 1, 3], [4, 5, 4, 6], [4, 5, 4, 7]
    lab = np.array([0] + A + A2 + B + B2 + A + A2 + B + B2)
    spans, labels = strain_grid(lab, 4, first=1, min_beats=16, max_beats=64)
    assert spans == [(0, 1)] + [(1 + 4 * k, 5 + 4 * k) for k in range(8)]
    assert labels.tolist() == [0, 1, 1, 2, 2, 1, 1, 2, 2]
    assert strain_grid(np.arange(40), 4, min_beats=16, max_beats=64) is None
    # on beat features: the strains are the sections, the phrases nest inside them
    r = repeats_beats(song("AABBAABB", beats_per_part=16, pickup=4, seed=7))
    assert r["strains"]  # the pickup (2 s) joins the first strain
    np.testing.assert_allclose(r["bounds"][:, 0], 8 * np.arange(8) + np.r_[0, [2] * 7])
    assert r["labels"].tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    assert set(r["bounds"].ravel()) <= set(r["phrase_bounds"].ravel())


def test_a_short_first_or_last_section_joins_its_neighbour():
    """A pickup of one beat before strains of 8 beats, and a last chord of one beat: with
    ``edge_share`` 0.75 both join their neighbours, at both levels, the labels renumbered."""
    from sectionist.analysis.structure.helpers import absorb_edges, edge_keep

    bounds = np.array([[0, 1], [1, 9], [9, 17], [17, 25], [25, 26]], dtype=float)
    keep = edge_keep(bounds, 0.75)
    assert keep.tolist() == [False, True, True, True, False]
    b, lab, conf = absorb_edges(bounds, np.array([0, 1, 1, 2, 3]), np.array([np.nan, 0.9, 0.9, np.nan, np.nan]), keep)
    assert b.tolist() == [[0, 9], [9, 17], [17, 26]] and lab.tolist() == [0, 0, 1] and conf[0] == 0.9
    assert edge_keep(bounds, 0.0).all() and edge_keep(bounds[:2], 0.75).all()
    r = repeats_beats(song("AABACB", pickup=2, seed=1))
    assert r["bounds"][0].tolist() == [0, 9] and r["phrase_bounds"][0].tolist() == [0, 9]
    r = repeats_beats(song("AABACB", pickup=2, seed=1), edge_share=0)
    assert r["bounds"][0].tolist() == [0, 1]


def test_join_loops_joins_a_part_played_over_and_over_but_not_twice():
    spans = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
    labels = np.array([0, 0, 0, 1, 1, 2, 0])
    out, lab = join_loops(spans, labels, 3)
    assert out == [(0, 3), (3, 4), (4, 5), (5, 6), (6, 7)] and lab.tolist() == [0, 1, 1, 2, 0]
    assert join_loops(spans, labels, 4)[0] == spans  # no run of four
    r = repeats_beats(song("AABBC", beats_per_part=16), loop_plays=3, strain_beats=None)
    np.testing.assert_allclose(r["bounds"], [[0, 8], [8, 16], [16, 24], [24, 32], [32, 40]])  # twice: two plays
