"""``sectionist dev-corpus --source music21``: notated pieces of music21's corpus with strain truth
(``sectionist.analysis.corpus.notated``, ``strains``, ``split``).

Needs music21 (the test extra) and the Debian packages fluidsynth and fluid-soundfont-gm.
"""

from __future__ import annotations

import json

import mido
import numpy as np
import pytest
import soundfile as sf

from sectionist.analysis.corpus import notated
from sectionist.analysis.corpus.notated import COLLECTIONS, Candidate, build_piece, quotas, unit_length
from sectionist.analysis.corpus.split import merge_corpus_index, read_corpus_index, split_of
from sectionist.analysis.corpus.strains import PieceDropped, expand_strains, score_midi, seconds_at
from sectionist.analysis.errors import InputError
from sectionist.analysis.evaluate import read_reference
from sectionist.cli import main

# AABB with first and second endings in both strains; the A strain starts on a one-quarter anacrusis
# inside its repeat. Measures (quarters): 0 pickup (1) | 1-3 (4 each) | 4 first ending (3) | 5 second
# ending (4) || 6-8 (4 each) | 9 first ending (4) | 10 second ending (4).
REEL = """X:1
T:Test Reel
R:reel
M:C|
L:1/8
K:G
|:D2|G2B2 d2B2|c2e2 d2B2|G2B2 d2B2|1 A2F2 G2:|2 A2F2 G4||
|:g2f2 e2d2|c2e2 d2B2|g2f2 e2d2|1 A2F2 G4:|2 A2F2 G2z2|]
"""

# End repeats only, as fiddle books write them (A :| B :|): players read AABB; music21 alone would
# take the second :| back to the start (AABAAB). The B strain starts on its anacrusis (measure 5).
IMPLIED = """X:1
T:Implied starts
M:6/8
L:1/8
K:D
A|dfd ecA|dcB AGF|GBB FAA|fdd d2:|
B|AFA dcd|BGB ede|faf ede|fdd d2:|
"""

# Two start repeats and no end repeat.
BROKEN = """X:1
T:Broken
M:4/4
L:1/8
K:G
|:G2B2 d2B2|c2e2 d2B2|G2B2 d2B2|A2F2 G4|
|:g2f2 e2d2|c2e2 d2B2|g2f2 e2d2|A2F2 G4|]
"""

# A first ending and no second: its end repeat is never taken as written.
NO_SECOND = """X:1
T:No second ending
M:4/4
L:1/8
K:G
G2B2 d2B2|c2e2 d2B2|1 G2B2 d2B2:|A2F2 G4|
g2f2 e2d2|c2e2 d2B2|g2f2 e2d2|A2F2 G4:|
"""

# One repeated strain.
ONE_STRAIN = """X:1
T:One strain
M:4/4
L:1/8
K:D
|:D2F2 A2F2|G2B2 A2F2|D2F2 A2F2|E2D2 D4:|
"""


def parse(text):
    from music21 import converter

    return converter.parse(text, format="abc")


def reel_candidate(text=REEL, title="Test Reel"):
    coll = next(c for c in COLLECTIONS if c.name == "ryansMammoth")
    return Candidate("music21:test/reel.abc#1", coll, "test/reel.abc", "reel", title, "test_reel",
                     abc=text, unit_ql=unit_length("C|", "1/8"))


def test_strains_of_an_aabb_tune_with_endings():
    st = expand_strains(parse(REEL))
    assert st.notated_ql == 40.0
    assert st.expanded_ql == 65.0  # A: 1 + 12 + 3, again 1 + 12 + 4; B: 16 twice
    assert st.form == "AABB"
    assert st.labels == ["A"] * 6 + ["B"] * 5  # the endings belong to their strain
    assert [(p.label, p.start_ql, p.end_ql) for p in st.passes] == [
        ("A", 0.0, 16.0), ("A", 16.0, 33.0), ("B", 33.0, 49.0), ("B", 49.0, 65.0)]
    # measure 4 (first ending) closes the first pass, measure 5 (second ending) the second
    assert [(p.first_measure, p.last_measure) for p in st.passes] == [("0", "4"), ("0", "5"), ("6", "9"), ("6", "10")]


def test_played_through_twice_and_timed_by_its_midi():
    st = expand_strains(parse(REEL), play_through=2)
    assert st.form == "AABBAABB"
    starts = [p.start_ql for p in st.passes]
    assert starts == [0.0, 16.0, 33.0, 49.0, 65.0, 81.0, 98.0, 114.0]
    assert st.passes[-1].end_ql == 130.0
    mid = score_midi(st.score, [40])  # no tempo mark: MIDI's 120 quarters a minute
    assert seconds_at(mid, starts) == pytest.approx([q / 2 for q in starts], abs=1e-9)


def test_build_piece_exact_boundaries_at_the_reel_tempo():
    mid, truth, duration = build_piece(None, reel_candidate(), 0)
    # a reel: 448 running eighths a minute, i.e. 224 quarters; MIDI keeps whole microseconds a quarter
    assert truth["tempo_bpm"] == 224.0
    quarter = mido.bpm2tempo(224.0) / 1e6
    assert quarter == 267857e-6
    assert truth["form"] == "AABBAABB" and truth["genre"] == "reel" and truth["play_through"] == 2
    assert truth["expanded_quarters"] == 65.0 and truth["notated_quarters"] == 40.0
    assert [s["label"] for s in truth["sections"]] == list("AABBAABB")
    expected = [0.0, 16.0, 33.0, 49.0, 65.0, 81.0, 98.0, 114.0]
    assert [s["start"] for s in truth["sections"]] == pytest.approx([q * quarter for q in expected], abs=1e-6)
    assert duration == pytest.approx(130 * quarter + notated.TAIL_S, abs=1e-6)
    # every pass starts with a note: the MIDI plays one exactly on each boundary
    onsets, t = set(), 0.0
    for msg in mid:  # mido iterates in seconds, tempo map applied
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            onsets.add(round(t, 6))
    for s in truth["sections"]:
        assert min(abs(o - s["start"]) for o in onsets) < 1e-6
    assert truth["split"] == split_of("music21:test/reel.abc#1")
    assert "public domain" in truth["licence"] and "license.txt" in truth["licence"]


def test_an_end_repeat_without_start_goes_back_to_the_previous_one():
    st = expand_strains(parse(IMPLIED))
    assert st.form == "AABB"
    assert st.notated_ql == 24.0  # each strain: a 1/8 anacrusis, three 6/8 bars and a bar of 5/8
    assert st.expanded_ql == 48.0
    assert [(p.first_measure, p.last_measure) for p in st.passes] == [("0", "4"), ("0", "4"), ("5", "9"), ("5", "9")]


@pytest.mark.parametrize("text, reason", [
    (BROKEN, "music21 cannot expand its repeats"),
    (NO_SECOND, "end repeat after measure 2 is never taken"),
    (ONE_STRAIN, "one strain only"),
])
def test_pieces_without_strain_truth_are_dropped_with_the_reason(text, reason):
    with pytest.raises(PieceDropped, match=reason):
        expand_strains(parse(text))
    with pytest.raises(PieceDropped, match=reason):
        build_piece(None, reel_candidate(text), 0)


def test_no_repeat_and_unparsable():
    plain = "X:1\nT:Plain\nM:4/4\nL:1/8\nK:G\nG2B2 d2B2|c2e2 d2B2||g2f2 e2d2|A2F2 G4|]\n"
    with pytest.raises(PieceDropped, match="no repeat signs"):
        expand_strains(parse(plain))
    with pytest.raises(PieceDropped, match="the score has no measures|cannot parse"):
        build_piece(None, reel_candidate("X:1\nT:Empty\nK:G\n"), 0)


def test_quotas_and_split():
    assert sum(quotas(notated.DEFAULT_PIECES).values()) == notated.DEFAULT_PIECES
    assert quotas(2) == {"ryansMammoth": 1, "oneills1850": 1, "bach": 0, "quartets": 0}
    assert all(sum(quotas(n).values()) == n for n in range(1, 200))
    # the split is fixed by the id: SHA-1's last byte even -> tune
    assert split_of("music21:bach/bwv103.6.mxl") == "held"
    splits = [split_of(f"piece {i}") for i in range(400)]
    assert 150 < splits.count("tune") < 250


def test_corpus_index_merges_by_piece(tmp_path):
    a = {"piece": "x:1", "source": "x", "split": split_of("x:1"), "licence": "L", "duration_s": 1.0, "wav": "a"}
    b = {**a, "piece": "y:2", "split": split_of("y:2")}
    merge_corpus_index(tmp_path, [a], other={"kept": True})
    merge_corpus_index(tmp_path, [{**a, "duration_s": 2.0}, b])
    data = read_corpus_index(tmp_path)
    assert [p["piece"] for p in data["pieces"]] == ["x:1", "y:2"]
    assert data["pieces"][0]["duration_s"] == 2.0 and data["other"] == {"kept": True}
    # a source's rebuild replaces its own entries and keeps the other sources'
    c = {**a, "piece": "music21:z", "source": "music21:bach", "split": split_of("music21:z")}
    merge_corpus_index(tmp_path, [c])
    d = {**c, "piece": "music21:w", "split": split_of("music21:w")}
    assert [p["piece"] for p in merge_corpus_index(tmp_path, [d], replace_sources="music21:")] == ["music21:z"]
    assert [p["piece"] for p in read_corpus_index(tmp_path)["pieces"]] == ["music21:w", "x:1", "y:2"]
    with pytest.raises(ValueError, match="is not split_of"):
        merge_corpus_index(tmp_path, [{**a, "split": "held" if a["split"] == "tune" else "tune"}])
    (tmp_path / "corpus.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="corpus.json: not a development-corpus index"):
        read_corpus_index(tmp_path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("notated")
    assert main(["dev-corpus", str(out), "--source", "music21", "--pieces", "2", "--seed", "0", "-q"]) == 0
    return out


def test_cli_writes_wav_truth_and_lab_covering_the_audio(built):
    index = json.loads((built / "corpus.json").read_text())
    pieces = index["pieces"]
    assert len(pieces) == 2
    assert {p["source"] for p in pieces} == {"music21:ryansMammoth", "music21:oneills1850"}
    for p in pieces:
        assert p["split"] == split_of(p["piece"]) and p["wav"].startswith(p["split"] + "/")
        wav = built / p["wav"]
        meta = json.loads(wav.with_suffix(".json").read_text())
        assert meta["piece"] == p["piece"] and meta["source"] == p["source"] and meta["licence"] == p["licence"]
        info = sf.info(wav)
        assert info.samplerate == 22050 and info.channels == 1
        assert meta["duration_s"] == pytest.approx(info.duration, abs=1e-5) == p["duration_s"]
        secs = meta["sections"]
        assert secs[0]["start"] == 0.0 and secs[-1]["end"] == meta["duration_s"]
        assert all(a["end"] == b["start"] for a, b in zip(secs, secs[1:]))
        labels = [s["label"] for s in secs]
        assert len(set(labels)) >= 2 and "".join(labels) == meta["form"]
        assert meta["form"][: len(meta["form"]) // 2] == meta["form"][len(meta["form"]) // 2:]  # played twice
        lab = read_reference(wav.with_suffix(".lab"))
        assert lab.labels == labels
        np.testing.assert_allclose(lab.intervals, [[s["start"], s["end"]] for s in secs], atol=1e-6)
        y, _ = sf.read(wav)
        assert np.sqrt(np.mean(y ** 2)) > 0.02
        assert mido.MidiFile(wav.with_suffix(".mid")).length > secs[-1]["start"]


def test_same_seed_same_bytes_and_more_pieces_keep_the_first(built, tmp_path):
    assert main(["dev-corpus", str(tmp_path), "--source", "music21", "--pieces", "1", "--seed", "0", "-q"]) == 0
    (one,) = read_corpus_index(tmp_path)["pieces"]
    assert one["source"] == "music21:ryansMammoth"
    for ext in (".wav", ".json", ".lab", ".mid"):
        assert (tmp_path / one["wav"]).with_suffix(ext).read_bytes() == (built / one["wav"]).with_suffix(ext).read_bytes()
