"""``sectionist.analysis.corpus.tracker`` and ``sectionist dev-corpus --source tracker``: tracker modules
rendered with the real libopenmpt, the truth read from the order list as it plays.

The module is written here byte by byte (a 4-channel ProTracker ``M.K.`` file), so its truth is known
exactly. Needs the Debian package libopenmpt0 (scripts/install-system-deps.sh); no network.
"""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import pytest
import soundfile as sf

from sectionist.analysis.corpus import debpkg
from sectionist.analysis.corpus.openmpt import Module
from sectionist.analysis.corpus.split import split_of
from sectionist.analysis.corpus.tracker import CHUNK_FRAMES, cell_similarity, make_tracker_corpus
from sectionist.analysis.errors import InputError
from sectionist.analysis.evaluate import read_reference
from sectionist.analysis.structure.base import part_letter
from sectionist.cli import main

SR = 22050
ROW_S = 6 * 441 / SR  # speed 6, tempo 125: 6 ticks of 2.5/125 s (441 frames at 22 050 Hz) per row

C2, D2, E2, G2, A2, C3 = 428, 381, 339, 285, 254, 214  # Amiga periods


def cell(period=0, sample=0, effect=0, param=0) -> bytes:
    return bytes([(sample & 0xF0) | (period >> 8), period & 0xFF, ((sample & 0x0F) << 4) | effect, param])


def pattern(notes) -> bytes:
    """64 rows × 4 channels; ``notes`` maps ``(row, channel)`` to a cell."""
    return b"".join(notes.get((r, c), cell()) for r in range(64) for c in range(4))


def part_a(extra=None):
    notes = {(r, 0): cell((C2, E2, G2, C3)[(r // 2) % 4], 1) for r in range(0, 64, 2)}
    notes |= {(r, 1): cell(C2 if r % 8 == 0 else G2, 2) for r in range(0, 64, 4)}
    return notes | (extra or {})


def part_b(extra=None):
    notes = {(r, 0): cell((A2, D2, A2, E2)[(r // 2) % 4], 2) for r in range(0, 64, 2)}
    notes |= {(r, 2): cell(D2, 1) for r in range(0, 64, 8)}
    return notes | (extra or {})


def part_c(extra=None):
    notes = {(r, 3): cell((G2, A2, C3)[r % 3], 1) for r in range(0, 64)}
    return notes | (extra or {})


#: Patterns: 0 = A; 1 = B; 2 = A with one more cell (D00, a pattern break at row 31: 32 rows play);
#: 3 = C with a position jump B06 at row 15 (16 rows play, order 5 is skipped); 4 = only in order 5.
PATTERNS = [part_a(), part_b(), part_a({(31, 3): cell(0, 0, 0xD, 0x00)}), part_c({(15, 2): cell(0, 0, 0xB, 6)}),
            {(r, 0): cell(C3, 2) for r in range(64)}]
ORDERS = [0, 1, 1, 2, 3, 4, 1]
#: (rows played, label, patterns, orders) of the truth.
EXPECTED = [(64, "A", [0], [0]), (128, "B", [1], [1, 2]), (32, "A", [2], [3]), (16, "C", [3], [4]),
            (64, "B", [1], [6])]


def mod_file(patterns=PATTERNS, orders=ORDERS) -> bytes:
    """A ProTracker module: title, 31 sample headers, order list, 'M.K.', patterns, sample data."""
    square = bytes([100] * 16 + [156] * 16)  # signed 8-bit, looped
    saw = bytes((np.arange(32) * 8 - 128).astype(np.int8).tobytes())
    samples = [square, saw]
    head = b"sectionist test".ljust(20, b"\0")
    for i in range(31):
        data = samples[i] if i < len(samples) else b""
        words = len(data) // 2
        head += f"s{i}".encode().ljust(22, b"\0") + struct.pack(">HBBHH", words, 0, 64 if data else 0, 0,
                                                                 words if data else 1)
    head += bytes([len(orders), 127]) + bytes(orders).ljust(128, b"\0") + b"M.K."
    assert len(head) == 1084
    return head + b"".join(pattern(p) for p in patterns) + b"".join(samples)


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    d = tmp_path_factory.mktemp("modules")
    (d / "song.mod").write_bytes(mod_file())
    (d / "sub").mkdir()
    (d / "sub" / "broken.xm").write_bytes(b"Extended Module: this is no module at all" * 10)
    # one pattern all through: a single part, dropped
    (d / "loop.mod").write_bytes(mod_file([PATTERNS[0]], [0] * 6))
    return d


@pytest.fixture(scope="module")
def corpus(modules, tmp_path_factory):
    out = tmp_path_factory.mktemp("tracker")
    rep = make_tracker_corpus(out, modules_dir=modules, progress=False)
    return out, rep


def truth_of(out):
    (wav,) = sorted(out.glob("*/local-song-s0.wav"))
    return wav, json.loads(wav.with_suffix(".json").read_text())


def test_truth_follows_the_order_list_as_it_plays(corpus):
    out, _ = corpus
    wav, meta = truth_of(out)
    secs = meta["sections"]
    assert [(s["rows"], s["label"], s["patterns"], s["orders"]) for s in secs] == EXPECTED
    true_starts = np.cumsum([0] + [rows for rows, *_ in EXPECTED]) * ROW_S
    got = [s["start"] for s in secs] + [secs[-1]["end"]]
    for g, t in zip(got[1:-1], true_starts[1:-1]):  # within one chunk before the pattern's first tick
        assert t - CHUNK_FRAMES / SR - 1e-6 <= g <= t + 1e-6, (g, t)
    assert got[0] == 0.0 and got[-1] == pytest.approx(true_starts[-1], abs=1e-6)  # the song ends on its last row
    assert all(a["end"] == b["start"] for a, b in zip(secs, secs[1:]))
    assert meta["form"] == "A B A C B"
    assert (meta["speed"], meta["tempo"], meta["channels"], meta["format"]) == (6, 125, 4, "mod")
    assert meta["rows_per_pattern"] == {"0": 64, "1": 64, "2": 64, "3": 64}
    assert all((s["speed"], s["tempo"]) == (6, 125) for s in secs)
    # the audio: the truth's length, mono at the corpus rate, peak at -1 dBFS, not silent
    info = sf.info(wav)
    assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
    assert info.frames / SR == pytest.approx(meta["duration_s"], abs=1e-6) == pytest.approx(secs[-1]["end"])
    y, _ = sf.read(wav)
    assert np.max(np.abs(y)) == pytest.approx(10 ** (-1 / 20), abs=1e-4)
    # the .lab says the same
    lab = read_reference(wav.with_suffix(".lab"))
    assert lab.labels == [s["label"] for s in secs]
    np.testing.assert_allclose(lab.intervals, [[s["start"], s["end"]] for s in secs], atol=1e-6)


def test_piece_fields_split_and_listing(corpus, modules):
    out, rep = corpus
    wav, meta = truth_of(out)
    assert meta["piece"] == "local/song.mod" and meta["source"] == "tracker:local"
    assert meta["split"] == split_of("local/song.mod") and wav.parent.name == meta["split"]
    assert meta["licence"].startswith("unknown")
    listing = json.loads((out / "corpus.json").read_text())
    assert [(p["piece"], p["split"], p["wav"]) for p in listing["pieces"]] == [
        ("local/song.mod", meta["split"], f"{meta['split']}/local-song-s0.wav")]
    assert listing["pieces"][0]["duration_s"] == meta["duration_s"]
    dropped = {(d["piece"], d["reason"]) for d in listing["dropped"]}
    assert ("local/loop.mod", "a single part throughout") in dropped
    # the unreachable order 5 is libopenmpt's second subsong of song.mod: one pattern, too short
    assert any(p == "local/song.mod" and r.startswith("too short") for p, r in dropped)
    (bad,) = listing["unreadable"]
    assert bad["piece"] == "local/sub/broken.xm"
    assert str(modules / "sub" / "broken.xm") in bad["reason"] and "cannot read" in bad["reason"]


def test_same_module_same_bytes(corpus, modules, tmp_path):
    out, _ = corpus
    make_tracker_corpus(tmp_path, modules_dir=modules, progress=False)
    for rel in [p.relative_to(out) for p in sorted(out.rglob("*")) if p.is_file()]:
        assert hashlib.sha256((out / rel).read_bytes()).digest() == hashlib.sha256((tmp_path / rel).read_bytes()).digest(), rel


def test_split_is_fixed_by_the_piece_id():
    ids = [f"pkg/usr/share/games/x/song{i:03d}.xm" for i in range(400)]
    splits = [split_of(i) for i in ids]
    assert splits == [("tune", "held")[hashlib.sha1(i.encode()).digest()[-1] % 2] for i in ids]
    assert 160 <= splits.count("tune") <= 240


def test_parts_from_cells():
    a = Module(mod_file(), "song.mod")
    with a:
        p0, p1, p2 = (a.pattern_cells(p) for p in range(3))
    assert p0.shape == (64, 4, 6)
    assert cell_similarity(p0, p0) == 1.0
    assert cell_similarity(p0, p2) == pytest.approx(48 / 49)  # 48 used cells, the D00 one more
    assert cell_similarity(p0, p1) < 0.2
    assert cell_similarity(p0, p0[:32]) == 0.0  # other row counts: never one part
    assert [part_letter(i) for i in (0, 1, 25, 26, 27, 52)] == ["A", "B", "Z", "AA", "AB", "BA"]


def test_cut_at_max_seconds(modules, tmp_path):
    make_tracker_corpus(tmp_path, modules_dir=modules, max_seconds=31.0, min_seconds=20, progress=False)
    _, meta = truth_of(tmp_path)
    assert meta["cut"] is True and meta["duration_s"] == pytest.approx(31.0, abs=1 / SR)
    assert meta["sections"][-1]["end"] == meta["duration_s"] and meta["sections"][-1]["label"] == "B"
    assert meta["full_duration_s"] == pytest.approx(36.48, abs=0.01)


def test_trailing_silence_is_cut(tmp_path):
    mods = tmp_path / "m"
    mods.mkdir()
    silence = {(0, c): cell(0, 0, 0xC, 0) for c in range(4)}  # C00: every channel's volume to 0
    (mods / "tail.mod").write_bytes(mod_file([PATTERNS[0], PATTERNS[1], silence], [0, 1, 0, 2]))
    make_tracker_corpus(tmp_path / "out", modules_dir=mods, min_seconds=20, progress=False)
    (wav,) = sorted((tmp_path / "out").glob("*/local-tail.wav"))
    meta = json.loads(wav.with_suffix(".json").read_text())
    assert [s["label"] for s in meta["sections"]] == ["A", "B", "A"]  # the silent pattern is gone
    sound = 3 * 64 * ROW_S
    assert sound + 0.5 <= meta["duration_s"] <= sound + 0.5 + 0.05 + 1e-6  # a 0.5 s margin, 50 ms windows
    assert meta["trimmed_silence_s"] == pytest.approx(4 * 64 * ROW_S - meta["duration_s"], abs=1e-5)
    assert meta["sections"][-1]["end"] == meta["duration_s"] and meta["sections"][-1]["rows"] == 64
    assert sf.info(wav).frames == round(meta["duration_s"] * SR)


def test_bad_module_names_its_path(tmp_path):
    p = tmp_path / "x.mod"
    p.write_bytes(b"\0" * 300)
    with pytest.raises(InputError, match="x.mod: libopenmpt cannot read it"):
        Module(p.read_bytes(), str(p))
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"no usable tracker piece.*x\.mod: .*cannot read"):
        make_tracker_corpus(out, modules_dir=tmp_path, progress=False)


def test_licence_of_copyright_files():
    dep5 = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\n"
            "Files: *\nCopyright: 2000 Someone\nLicense: GPL-2+\n\nFiles: debian/*\nLicense: MIT\n")
    assert debpkg.licence_of(dep5) == "GPL-2+"
    prose = ("License:\n\n    This package is free software; you can redistribute it under the terms of the GNU "
             "General Public License as published by the Free Software Foundation; either version 2 of the "
             "License, or (at your option) any later version.\n")
    assert debpkg.licence_of(prose) == "GPL-2+"
    assert debpkg.licence_of("All rights reserved.") == "unknown"


def test_unfetchable_package_is_reported(tmp_path):
    with pytest.raises(InputError, match="not a Debian package name"):
        debpkg.fetch_deb("Not A Package!", tmp_path)


def test_cli_tracker_source(modules, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["dev-corpus", str(out), "--source", "tracker", "--modules", str(modules), "-q"]) == 0
    cap = capsys.readouterr()
    assert "wrote 1 pieces" in cap.out and "tune" in cap.out and "held" in cap.out
    assert str(modules / "sub" / "broken.xm") in cap.err
    assert "dropped local/loop.mod subsong 0: a single part throughout" in cap.err
    listing = json.loads((out / "corpus.json").read_text())
    assert len(listing["pieces"]) == 1 and (out / listing["pieces"][0]["wav"]).is_file()
