"""Exports (sectionist/analysis/export/, sectionist export, the app's downloads): every format read back to the
same segments and labels — Audacity labels, XSPF (XML, start/stop options), JAMS (validated, read by
mir_eval), MIREX .lab, Projector TSVs, the REAPER project (by the small RPP reader below), the labels
table — plus bad names, server paths and atomic writes."""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_store import EMBEDDER, RUNS, build_synthetic_store

from sectionist.analysis.export.data import gather, read_selection, space_vectors
from sectionist.analysis.export.files import KINDS, export_files, write_files
from sectionist.analysis.export.names import cluster_name
from sectionist.analysis.export.playlist import VLC_APP, VLC_NS, XSPF_NS
from sectionist.analysis.export.reaper import rpp_quote
from sectionist.analysis.errors import ParameterError
from sectionist.cli import main
from sectionist.store.schema import CLUSTERINGS, SECTIONS, SONGS

RUN = RUNS[0][0]
HOSTILE = '=HYPERLINK("http://evil") He said "hi" & it\'s <b>`x`</b>\tend'


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    st = build_synthetic_store(root / "store", n_sections=36, sections_per_song=12, section_seconds=3.0,
                               random_state=5)
    songs = st.read_table(SONGS)
    first = songs.iloc[[0]].copy()
    first["title"] = HOSTILE  # user-controlled text, escaped in every format
    st.write_part(SONGS, first["song_id"].iloc[0], first)
    return st


def _truth(store, run=RUN):
    """(song_id → DataFrame start_s, end_s, label) straight from the store's tables."""
    secs = store.read_table(SECTIONS)
    lab = store.read_part(CLUSTERINGS, run).set_index("section_id")["label"]
    secs["label"] = [cluster_name(v) for v in lab.reindex(secs["section_id"])]
    return {sid: g.sort_values("start_s")[["start_s", "end_s", "label"]].reset_index(drop=True)
            for sid, g in secs.groupby("song_id")}


def _song_of(name, songs):
    return next(s for s in songs if f"-{s[:8]}." in name)


# ---- a small RPP reader, written for the test ----------------------------------------------------------
def read_rpp(text: str) -> dict:
    """Parse REAPER's project format: ``<NAME args`` opens a chunk, ``>`` closes it, other lines are
    ``KEY values`` (tokens quoted with "", '' or ``). Returns the root chunk as
    ``{"name", "args", "lines": [[key, *values]], "chunks": [...]}``."""
    def tokens(line):
        return [next(g for g in m.groups() if g is not None)
                for m in re.finditer(r'"([^"]*)"|\'([^\']*)\'|`([^`]*)`|(\S+)', line)]

    stack, root = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("<"):
            tok = tokens(line[1:])
            chunk = {"name": tok[0], "args": tok[1:], "lines": [], "chunks": []}
            if stack:
                stack[-1]["chunks"].append(chunk)
            else:
                assert root is None, "two root chunks"
                root = chunk
            stack.append(chunk)
        elif line == ">":
            stack.pop()
        else:
            assert stack, f"line outside any chunk: {line!r}"
            stack[-1]["lines"].append(tokens(line))
    assert not stack, "unclosed chunk"
    return root


def _value(chunk, key):
    return next(ln[1:] for ln in chunk["lines"] if ln[0] == key)


# ---- round trips ---------------------------------------------------------------------------------------
def test_audacity_labels_round_trip(store):
    files = export_files("audacity", gather(store, runs=[RUN]))
    truth = _truth(store)
    assert len(files) == len(truth)
    for name, payload in files.items():
        rows = [ln.split("\t") for ln in payload.decode().splitlines()]
        want = truth[_song_of(name, truth)]
        assert [float(r[0]) for r in rows] == pytest.approx(want["start_s"].tolist())
        assert [float(r[1]) for r in rows] == pytest.approx(want["end_s"].tolist())
        assert [r[2] for r in rows] == want["label"].tolist()


def test_mirex_lab_round_trip_through_mir_eval(store, tmp_path):
    import mir_eval

    files = export_files("lab", gather(store, runs=[RUN]))
    truth = _truth(store)
    for name, payload in files.items():
        (tmp_path / name).write_bytes(payload)
        intervals, labels = mir_eval.io.load_labeled_intervals(str(tmp_path / name))
        want = truth[_song_of(name, truth)]
        np.testing.assert_allclose(intervals, want[["start_s", "end_s"]].to_numpy())
        assert labels == [w.replace(" ", "_") for w in want["label"]]


def test_jams_validates_and_mir_eval_reads_it(store, tmp_path):
    import jams
    import mir_eval

    files = export_files("jams", gather(store, runs=[RUN]))
    truth = _truth(store)
    for name, payload in files.items():
        (tmp_path / name).write_bytes(payload)
        jam = jams.load(str(tmp_path / name), validate=True, strict=True)
        ann = jam.search(namespace="segment_open")[0]
        assert ann.annotation_metadata.annotator.name == RUN
        intervals, values = ann.to_interval_values()
        want = truth[_song_of(name, truth)]
        np.testing.assert_allclose(intervals, want[["start_s", "end_s"]].to_numpy())
        assert values == want["label"].tolist()
        ref = want[["start_s", "end_s"]].to_numpy()
        mir_eval.util.validate_intervals(intervals)
        p, r, f = mir_eval.segment.detection(ref, intervals, window=0.5)
        assert (p, r, f) == (1.0, 1.0, 1.0)
    titles = {jams.load(str(tmp_path / n)).file_metadata.title for n in files}
    assert HOSTILE.replace("\t", " ") in titles


def test_xspf_cluster_playlist_has_start_and_stop_per_section(store, tmp_path):
    lab = store.read_part(CLUSTERINGS, RUN)
    cluster = int(lab.loc[lab["label"] >= 0, "label"].mode()[0])
    data = gather(store, runs=[RUN], cluster=cluster)
    payload = export_files("xspf", data, location="relative", out_dir=tmp_path)["playlist.xspf"]
    root = ET.fromstring(payload)
    ns = {"x": XSPF_NS, "vlc": VLC_NS}
    tracks = root.findall("x:trackList/x:track", ns)
    members = set(lab.loc[lab["label"] == cluster, "section_id"])
    secs = store.read_table(SECTIONS).set_index("section_id").loc[sorted(members)]
    assert len(tracks) == len(members) > 0
    got = []
    for t in tracks:
        sid = t.find("x:annotation", ns).text.split(";")[0]
        opts = dict(o.text.split("=", 1) for o in t.findall("x:extension/vlc:option", ns))
        assert t.find("x:extension", ns).get("application") == VLC_APP
        assert not t.find("x:location", ns).text.startswith("/")  # relative
        got.append((sid, float(opts["start-time"]), float(opts["stop-time"])))
    got = pd.DataFrame(got, columns=["section_id", "start", "stop"]).set_index("section_id").loc[secs.index]
    np.testing.assert_allclose(got["start"], secs["start_s"], atol=1e-3)
    np.testing.assert_allclose(got["stop"], secs["end_s"], atol=1e-3)
    # the hostile title is escaped XML that parses back to the same text
    full = export_files("xspf", gather(store, runs=[RUN]))["playlist.xspf"]
    assert b"<b>" not in full
    titles = [e.text for e in ET.fromstring(full).iter(f"{{{XSPF_NS}}}title")]
    assert any(t.startswith(HOSTILE.replace("\t", " ")) for t in titles)


def test_xspf_queue_follows_the_stored_order(store):
    from sectionist.store.schema import CLUSTERS

    info = store.read_part(CLUSTERS, RUN).set_index("cluster")
    cluster = int(info.index[info.index >= 0][0])
    protos = list(info.loc[cluster, "prototypes"])
    assert protos
    data = gather(store, runs=[RUN], cluster=cluster, queue="prototypes")
    assert list(data.sections["section_id"]) == protos


def test_projector_tsvs_align_vectors_and_metadata(store):
    ids, X = space_vectors(store, EMBEDDER)
    data = gather(store, runs=[r for r, *_ in RUNS])
    files = export_files("projector", data, vectors=(ids, X))
    vec = np.loadtxt(io.StringIO(files["vectors.tsv"].decode()), delimiter="\t")
    meta = pd.read_csv(io.BytesIO(files["metadata.tsv"]), sep="\t", dtype=str, keep_default_na=False)
    assert vec.shape == (len(meta), X.shape[1]) and len(meta) == len(ids)
    row_of = {s: i for i, s in enumerate(ids)}
    for i, sid in enumerate(meta["section_id"]):
        np.testing.assert_allclose(vec[i], X[row_of[sid]], rtol=1e-6, atol=1e-6)
    lab = store.read_part(CLUSTERINGS, RUN).set_index("section_id")["label"]
    assert meta[RUN].tolist() == [cluster_name(v) for v in lab.reindex(meta["section_id"])]
    assert {"song", "time"} <= set(meta.columns)
    assert not any(v.startswith("=") for v in meta["song"])  # neutralised against spreadsheet formulas


def test_reaper_project_tracks_items_and_offsets(store, tmp_path):
    runs = [r for r, *_ in RUNS]
    data = gather(store, runs=runs)
    text = export_files("reaper", data, location="absolute")["project.rpp"].decode()
    root = read_rpp(text)
    assert root["name"] == "REAPER_PROJECT"
    tracks = [c for c in root["chunks"] if c["name"] == "TRACK"]
    assert len(tracks) == len(data.schemes) + len(runs)
    songs = store.read_table(SONGS).set_index("song_id")
    uri_of = {str(Path(u).absolute()): s for s, u in songs["uri"].items()}
    markers = {ln[3]: float(ln[2]) for ln in root["lines"] if ln[0] == "MARKER"}
    # quoted by REAPER's rules (with all three quote characters, backticks become single quotes)
    assert HOSTILE.replace("\t", " ").replace("`", "'") in markers
    truth = _truth(store)
    run_track = next(t for t in tracks if _value(t, "NAME")[0].startswith(RUN))
    items = [c for c in run_track["chunks"] if c["name"] == "ITEM"]
    assert len(items) == sum(len(v[v["label"] != ""]) for v in truth.values())
    for it in items:
        pos, length, soffs = (float(_value(it, k)[0]) for k in ("POSITION", "LENGTH", "SOFFS"))
        src = it["chunks"][0]
        assert src["name"] == "SOURCE" and src["args"] == ["WAVE"]
        sid = uri_of[_value(src, "FILE")[0]]
        offset = markers[songs.loc[sid, "title"].replace("\t", " ").replace("`", "'")]
        want = truth[sid]
        row = want[np.isclose(want["start_s"], soffs)]
        assert len(row) == 1
        assert pos == pytest.approx(offset + soffs, abs=1e-6)
        assert length == pytest.approx(float(row["end_s"].iloc[0] - row["start_s"].iloc[0]), abs=1e-6)
        assert _value(it, "NAME")[0] == row["label"].iloc[0]
        assert int(_value(it, "COLOR")[0]) & 0x1000000


def test_rpp_quoting_rules():
    assert rpp_quote("plain") == '"plain"'
    assert rpp_quote('say "x"') == "'say \"x\"'"
    assert rpp_quote("it's \"x\"") == "`it's \"x\"`"
    assert rpp_quote("a`b'c\"d") == "`a'b'c\"d`"
    assert rpp_quote("two\nlines") == '"two lines"'


def test_labels_table_csv_and_parquet(store):
    runs = [r for r, *_ in RUNS]
    data = gather(store, runs=runs)
    csv = pd.read_csv(io.BytesIO(export_files("csv", data)["sections.csv"]))
    par = pd.read_parquet(io.BytesIO(export_files("parquet", data)["sections.parquet"]))
    assert len(csv) == len(par) == len(store.read_table(SECTIONS))
    for rid in runs:
        lab = store.read_part(CLUSTERINGS, rid).set_index("section_id")["label"]
        assert par[rid].tolist() == lab.reindex(par["section_id"]).tolist()
        assert csv[rid].tolist() == lab.reindex(csv["section_id"]).tolist()
    assert not csv["title"].str.startswith("=").any()
    assert (csv["title"].str.startswith("'=HYPERLINK") | csv["title"].str.startswith("Synthetic")).all()
    assert csv["title"].str.startswith("'=HYPERLINK").any()


# ---- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, valid", [
    ({"runs": ["nope"]}, RUN), ({"scheme": "nope"}, "fixed"), ({"songs": ["nope"]}, None),
    ({"runs": [RUN], "cluster": 99}, "0"), ({"runs": [RUN], "cluster": 0, "queue": "nope"}, "prototypes"),
])
def test_unknown_names_list_the_valid_ones(store, kwargs, valid):
    with pytest.raises(ParameterError, match="nope|99") as exc:
        gather(store, **kwargs)
    assert "valid:" in str(exc.value)
    if valid:
        assert valid in str(exc.value)


def test_unknown_space_and_kind(store):
    with pytest.raises(ParameterError, match=f"unknown space 'nope'.*{EMBEDDER}"):
        space_vectors(store, "nope")
    with pytest.raises(ParameterError, match="unknown export kind 'midi'.*reaper"):
        export_files("midi", gather(store, runs=[RUN]))


def test_cli_export_and_its_errors(store, tmp_path, capsys):
    out = tmp_path / "labels"
    assert main(["export", "audacity", "--store", store.uri, "--run", RUN, "-o", str(out)]) == 0
    assert len(list(out.iterdir())) == 3
    sel = tmp_path / "sel.txt"
    ids = list(store.read_table(SECTIONS)["section_id"][:4])
    sel.write_text("\n".join(ids) + "\n")
    assert main(["export", "xspf", "--store", store.uri, "--run", RUN, "--selection", str(sel),
                 "--paths", "url", "--base-url", "https://app.example", "-o", str(tmp_path / "s.xspf")]) == 0
    locs = [e.text for e in ET.parse(tmp_path / "s.xspf").iter(f"{{{XSPF_NS}}}location")]
    assert locs == [f"https://app.example/audio/{s}.wav" for s in ids]
    assert main(["export", "reaper", "--store", store.uri, "--run", "missing-run", "-o", str(tmp_path / "p.rpp")]) == 2
    err = capsys.readouterr().err
    assert "unknown run 'missing-run'" in err and RUN in err
    assert not (tmp_path / "p.rpp").exists()
    assert main(["export", "projector", "--store", store.uri, "--space", EMBEDDER, "-o",
                 str(tmp_path / "proj.zip")]) == 0
    assert sorted(zipfile.ZipFile(tmp_path / "proj.zip").namelist()) == ["metadata.tsv", "vectors.tsv"]


def test_export_help_lists_every_kind(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    out = capsys.readouterr().out
    assert all(k in out for k in KINDS)


def test_export_help_examples_name_runs_the_demo_store_has(capsys):
    """Issue 24.13: the help's example named classical17-kmeans-k6, a run `make demo`'s store does not have."""
    import re

    from sectionist.analysis.modeling.defaults import REFERENCE_K
    from sectionist.analysis.modeling.specs import make_run_id

    with pytest.raises(SystemExit):
        main(["export", "--help"])
    named = re.findall(r"--run (\S+)", capsys.readouterr().out.split("examples:")[1])
    demo_runs = {make_run_id("classical17", m, k) for m, k in [("kmeans", "auto"), ("gmm", "auto"), ("kmeans", REFERENCE_K)]}
    assert named and set(named) <= demo_runs, named


def test_exported_files_follow_the_umask_and_private_writes_stay_private(tmp_path):
    """Issue 24.13: atomic writes went through mkstemp, so every export was mode 0600."""
    from sectionist.store.fileio import atomic_write

    old = os.umask(0o027)
    try:
        (one,) = write_files({"playlist.xspf": b"x"}, tmp_path / "p.xspf")
        many = write_files({"a.txt": b"1", "b.txt": b"2"}, tmp_path / "many")
        (archive,) = write_files({"a.txt": b"1", "b.txt": b"2"}, tmp_path / "all.zip")
        atomic_write(tmp_path / "secret", lambda fh: fh.write(b"s"), private=True)
        os.umask(0o022)
        (again,) = write_files({"playlist.xspf": b"y"}, tmp_path / "q.xspf")
    finally:
        os.umask(old)
    for path in [one, *many, archive]:
        assert path.stat().st_mode & 0o777 == 0o640, path
    assert again.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600


# ---- the app's exports and atomic writes -------------------------------------------------------------
def test_app_exports_hold_no_server_path(store):
    from sectionist.dashboard.media import downloads
    from sectionist.dashboard.data.store_data import StoreData

    data = StoreData(store.uri)
    private = str(Path(store.uri).parent)
    for kind, opts in [("reaper", {}), ("xspf", {}), ("audacity", {}), ("csv", {})]:
        exp = downloads.export_data(data, [RUN])
        payload, ext = downloads.export_payload(kind, exp, base_url="https://app.example", title=f"t {kind}")
        texts = ([zipfile.ZipFile(io.BytesIO(payload)).read(n) for n in zipfile.ZipFile(io.BytesIO(payload)).namelist()]
                 if ext == "zip" else [payload])
        for t in texts:
            assert private.encode() not in t and b"file://" not in t, kind
    exp = downloads.export_data(data, [RUN], section_ids=list(data.section_ids[:3]))
    payload, ext = downloads.export_payload("xspf", exp, base_url="https://app.example", title="three")
    assert ext == "xspf"
    locs = [e.text for e in ET.fromstring(payload).iter(f"{{{XSPF_NS}}}location")]
    assert locs == [f"https://app.example/audio/{s}.wav" for s in data.section_ids[:3]]
    rpp = read_rpp(downloads.export_payload("reaper", downloads.export_data(data, [RUN]), base_url="",
                                            title="")[0].decode())
    files = {_value(src, "FILE")[0] for t in rpp["chunks"] for it in t["chunks"] for src in it["chunks"]}
    assert files and all("/" not in f for f in files)


def test_writes_are_atomic(tmp_path, monkeypatch):
    target = tmp_path / "p.xspf"
    write_files({"playlist.xspf": b"old"}, target)
    assert target.read_bytes() == b"old"

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_files({"playlist.xspf": b"new"}, target)
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["p.xspf"]  # no temporary file left
    out = tmp_path / "many"
    written = write_files({"a.txt": b"1", "b.txt": b"2"}, out)
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"] == sorted(p.name for p in written)


def test_selection_file_forms(tmp_path):
    (tmp_path / "ids.txt").write_text("# picked\nsec-1\n\nsec-2\n")
    (tmp_path / "sel.csv").write_text("section_id,note\nsec-3,x\nsec-4,y\n")
    assert read_selection(tmp_path / "ids.txt") == ["sec-1", "sec-2"]
    assert read_selection(tmp_path / "sel.csv") == ["sec-3", "sec-4"]
    with pytest.raises(ParameterError, match="cannot read"):
        read_selection(tmp_path / "missing.txt")


def test_structure_jams_holds_every_level_as_one_hierarchy(store, tmp_path):
    """The structure kind: one JAMS per song and scheme, its section and phrase levels as one
    multi_segment hierarchy (mir_eval's L-measure reads it back) and a segment_open per level."""
    import jams
    import mir_eval

    from sectionist.analysis.structure.base import Structure
    from sectionist.analysis.structure.writer import segment_rows
    from sectionist.store.schema import SEGMENTS

    sid = store.read_table(SONGS)["song_id"].iloc[0]
    phrase = Structure(np.array([[0.0, 4.0], [4.0, 8.0], [8.0, 12.0], [12.0, 16.0]]), np.array([0, 1, 0, 1]),
                       confidence=np.array([0.9, 0.8, 0.9, 0.8]))
    top = Structure(np.array([[0.0, 16.0]]), np.array([0]), {"version": 1}, confidence=np.array([0.85]),
                    levels={"phrase": phrase})
    store.write_part(SEGMENTS, SEGMENTS.part(scheme="repeats", song_id=sid), segment_rows(sid, "repeats", top))
    try:
        files = export_files("structure", gather(store, runs=[RUN]))
    finally:
        store.delete_part(SEGMENTS, SEGMENTS.part(scheme="repeats", song_id=sid))
    [(name, payload)] = [(n, p) for n, p in files.items() if sid[:8] in n]
    assert name.endswith(".structure-repeats.jams")
    (tmp_path / name).write_bytes(payload)
    jam = jams.load(str(tmp_path / name), validate=True, strict=True)
    multi = jam.search(namespace="multi_segment")[0]
    intervals, labels = jams.eval.hierarchy_flatten(multi)
    intervals = [np.asarray(iv) for iv in intervals]
    np.testing.assert_allclose(intervals[0], [[0.0, 16.0]])
    np.testing.assert_allclose(intervals[1], phrase.bounds)
    assert labels[1] == ["part A", "part B", "part A", "part B"]
    assert [a.sandbox.sectionist["level"] for a in jam.search(namespace="segment_open")] == ["section", "phrase"]
    # the hierarchy against itself: L-measure 1
    assert mir_eval.hierarchy.lmeasure(intervals, labels, intervals, labels)[2] == pytest.approx(1.0)
    assert float(jam.search(namespace="segment_open")[0].data[0].confidence) == pytest.approx(0.85)
