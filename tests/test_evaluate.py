"""``sectionist.analysis.evaluate`` and ``sectionist evaluate``: hand-made references with known scores."""

from __future__ import annotations

import json
from math import comb

import numpy as np
import pandas as pd
import pytest

from sectionist.analysis.errors import InputError, ParameterError
from sectionist.analysis.evaluate import (
    COLUMNS,
    METRICS,
    hierarchy_scores,
    structure_scores,
    Segmentation,
    boundary_scores,
    cover,
    csv_safe,
    evaluate_store,
    find_references,
    label_scores,
    mean_table,
    read_reference,
)
from sectionist.cli import main
from sectionist.store import open_store
from sectionist.store.schema import CLUSTERINGS, RUNS, SECTIONS, SONGS

# A 30 s song: A [0, 10.05), B [10.05, 20.05), A [20.05, 30). Boundaries sit between the 0.1 s frames,
# so the frame counts are exact: A 101 + 99 = 200 frames, B 100 frames.
REF = Segmentation(np.array([[0.0, 10.05], [10.05, 20.05], [20.05, 30.0]]), ["A", "B", "A"])
DUR = 30.0


def seg(bounds, labels):
    return Segmentation(np.array(list(zip(bounds[:-1], bounds[1:])), dtype=float), list(labels))


def test_identical_segmentation_scores_one_everywhere():
    b = boundary_scores(REF, REF, DUR)
    lab = label_scores(REF, REF, DUR)
    hier = hierarchy_scores(REF, [REF], DUR)
    assert set(b) | set(lab) | set(hier) == set(METRICS)
    for name, v in {**b, **lab, **hier}.items():
        assert v == pytest.approx(1.0), name


def test_l_measure_of_levels_rewards_the_finer_level_that_matches():
    """One coarse level that misses the A/B split scores below the same level over a phrase level
    that has it; a hierarchy whose phrase level is the truth has full L-recall."""
    coarse = seg([0.0, 30.0], "X")
    alone = hierarchy_scores(REF, [coarse], DUR)
    with_phrases = hierarchy_scores(REF, [coarse, REF], DUR)
    assert with_phrases["l_f"] > alone["l_f"] + 0.2
    assert with_phrases["l_r"] == pytest.approx(1.0)


def test_structure_scores_score_each_level_and_the_hierarchy():
    rows = pd.DataFrame({"start_s": [0.0, 10.05, 20.05, 0.0], "end_s": [10.05, 20.05, 30.0, 30.0],
                         "label": [0, 1, 0, 0], "level": ["phrase", "phrase", "phrase", "section"]})
    out = structure_scores(REF, rows, DUR)
    assert set(out) == {"section", "phrase"}
    assert out["phrase"]["ari_frames"] == pytest.approx(1.0)
    assert out["section"]["ari_frames"] == pytest.approx(0.0)
    # a one-segment section level over the true phrases: the hierarchy holds the truth whole
    assert out["section"]["l_f"] == pytest.approx(1.0) and "l_f" not in out["phrase"]
    # an older store's rows (no level column) are one section level
    old = structure_scores(REF, rows[rows["level"] == "phrase"].drop(columns="level"), DUR)
    assert set(old) == {"section"} and old["section"]["l_f"] == pytest.approx(1.0)
    # without the hierarchy (the Overview's card, which shows no L-measure): the same scores, no l_*
    flat = structure_scores(REF, rows, DUR, hierarchy=False)
    assert not {"l_p", "l_r", "l_f"} & set(flat["section"])
    assert flat["phrase"] == out["phrase"]
    assert flat["section"] == {k: v for k, v in out["section"].items() if not k.startswith("l_")}


def test_boundary_shifted_by_one_second_hits_at_3s_not_at_half_second():
    est = seg([0.0, 11.05, 20.05, 30.0], "ABA")
    b = boundary_scores(REF, est, DUR)
    # trimmed: ref {10.05, 20.05}, est {11.05, 20.05}: one hit of two at ±0.5 s, both at ±3 s
    assert (b["hr_p_0.5"], b["hr_r_0.5"], b["hr_f_0.5"]) == pytest.approx((0.5, 0.5, 0.5))
    assert (b["hr_p_3"], b["hr_r_3"], b["hr_f_3"]) == pytest.approx((1.0, 1.0, 1.0))

    # labels: ref A 200, B 100 frames; est X 111 + 99 = 210, Y 90; overlaps (A,X) 200, (B,X) 10, (B,Y) 90
    lab = label_scores(REF, seg([0.0, 11.05, 20.05, 30.0], "XYX"), DUR)
    agree_both = comb(200, 2) + comb(10, 2) + comb(90, 2)
    agree_ref = comb(200, 2) + comb(100, 2)
    agree_est = comb(210, 2) + comb(90, 2)
    assert lab["pairwise_p"] == pytest.approx(agree_both / agree_est)
    assert lab["pairwise_r"] == pytest.approx(agree_both / agree_ref)
    assert lab["pairwise_f"] == pytest.approx(2 * agree_both / (agree_ref + agree_est))
    expected = agree_ref * agree_est / comb(300, 2)
    ari = (agree_both - expected) / ((agree_ref + agree_est) / 2 - expected)
    assert lab["ari_frames"] == pytest.approx(ari)
    assert 0 < lab["nce_over"] < 1 and 0 < lab["nce_under"] < 1


def test_labels_swapped_consistently_score_one():
    lab = label_scores(REF, seg([0.0, 10.05, 20.05, 30.0], ["B", "A", "B"]), DUR)
    assert lab["pairwise_f"] == pytest.approx(1.0)
    assert lab["ari_frames"] == pytest.approx(1.0)
    assert lab["nce_f"] == pytest.approx(1.0)


def test_one_label_for_everything_has_full_pairwise_recall_and_no_precision_gain():
    lab = label_scores(REF, seg([0.0, 30.0], "Z"), DUR)
    assert lab["pairwise_r"] == pytest.approx(1.0)
    assert lab["pairwise_p"] == pytest.approx((comb(200, 2) + comb(100, 2)) / comb(300, 2))
    assert lab["ari_frames"] == pytest.approx(0.0)
    # under-segmentation score 1 − H(ref | est) / log2(2 ref labels): H(ref | est) = H(2/3, 1/3)
    h = -(2 / 3) * np.log2(2 / 3) - (1 / 3) * np.log2(1 / 3)
    assert lab["nce_under"] == pytest.approx(1 - h)


def test_cover_fills_gaps_and_clips():
    c = cover(Segmentation(np.array([[0.0, 10.0], [12.0, 40.0]]), ["a", "b"]), 30.0)
    assert c.intervals.tolist() == [[0.0, 10.0], [10.0, 12.0], [12.0, 30.0]]
    assert c.labels == ["a", "(none)", "b"]
    c = cover(Segmentation(np.array([[1.0, 20.0]]), ["a"]), 30.0)
    assert c.labels == ["(none)", "a", "(none)"]


# ---- the input formats ------------------------------------------------------------------------------

def write_formats(folder, stem="song", intervals=REF.intervals, labels=REF.labels):
    folder.mkdir(parents=True, exist_ok=True)
    rows = list(zip(intervals[:, 0], intervals[:, 1], labels))
    (folder / f"{stem}.lab").write_text("".join(f"{s} {e} {lab}\n" for s, e, lab in rows))
    (folder / f"{stem}_h.csv").write_text("start,end,label\n" + "".join(f"{s},{e},{lab}\n" for s, e, lab in rows))
    (folder / f"{stem}_n.csv").write_text("".join(f"{s},{e},{lab}\n" for s, e, lab in rows))
    (folder / f"{stem}_d.json").write_text(json.dumps(
        {"title": stem, "sections": [{"start": s, "end": e, "label": lab} for s, e, lab in rows]}))
    import jams

    jam = jams.JAMS()
    jam.file_metadata.duration = float(intervals[-1, 1])
    ann = jams.Annotation(namespace="segment_open")
    for s, e, lab in rows:
        ann.append(time=float(s), duration=float(e - s), value=lab)
    jam.annotations.append(ann)
    jam.save(str(folder / f"{stem}_j.jams"))


def test_every_format_reads_to_the_same_segments(tmp_path):
    write_formats(tmp_path)
    names = ["song.lab", "song_h.csv", "song_n.csv", "song_d.json", "song_j.jams"]
    for name in names:
        r = read_reference(tmp_path / name)
        np.testing.assert_allclose(r.intervals, REF.intervals, err_msg=name)
        assert r.labels == REF.labels, name


def test_lab_labels_may_contain_spaces_and_csv_header_may_reorder(tmp_path):
    (tmp_path / "a.lab").write_text("# comment\n0.0\t5.0\tverse one\n\n5.0\t9.0\tchorus\n")
    r = read_reference(tmp_path / "a.lab")
    assert r.labels == ["verse one", "chorus"]
    (tmp_path / "b.csv").write_text("label,start,end\nx,0,4\ny,4,8\n")
    r = read_reference(tmp_path / "b.csv")
    assert r.labels == ["x", "y"] and r.intervals.tolist() == [[0, 4], [4, 8]]


@pytest.mark.parametrize("name,text,match", [
    ("bad.lab", "0 5 a\n5 x b\n", r"bad\.lab: line 2: 'x' is not a number"),
    ("short.lab", "0 5\n", r"short\.lab: line 1: expected 'start end label'"),
    ("back.csv", "0,5,a\n7,6,b\n", r"back\.csv: row 2: end 6 is not after start 7"),
    ("over.json", json.dumps({"sections": [{"start": 0, "end": 5, "label": "a"},
                                           {"start": 4, "end": 8, "label": "b"}]}), r"over\.json: .*overlaps"),
    ("none.json", json.dumps({"title": "x"}), r"none\.json: expected"),
    ("empty.csv", "start,end,label\n", r"empty\.csv: no segments"),
    ("nan.csv", "0,nan,a\n", r"nan\.csv: row 1: 'nan' is not a finite"),
    ("x.txt", "0 1 a\n", r"x\.txt: unknown reference format"),
    ("bad.jams", "nonsense", r"bad\.jams: not a readable JAMS file"),
    ("beats.jams", json.dumps({"file_metadata": {"duration": 10.0}, "annotations": [
        {"namespace": "beat", "data": [{"time": 1.0, "duration": 0.0, "value": 1, "confidence": None}]}]}),
     r"beats\.jams: no segment_open"),
])
def test_bad_references_raise_naming_the_file_and_place(tmp_path, name, text, match):
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=match):
        read_reference(tmp_path / name)


def test_find_references_prefers_jams_then_json_then_lab_then_csv(tmp_path):
    for ext in (".csv", ".lab", ".json"):
        (tmp_path / f"s{ext}").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "t.lab").write_text("x")
    (tmp_path / "t.mid").write_text("x")
    found = find_references(tmp_path)
    assert found == {"s": tmp_path / "s.json", "t": tmp_path / "sub" / "t.lab"}
    with pytest.raises(InputError, match="not a folder"):
        find_references(tmp_path / "nope")


def test_csv_safe_neutralises_formulas():
    df = pd.DataFrame({"title": ["=HYPERLINK(1)", "ok", "-x", "@y"], "value": [-1.0, 2.0, 3.0, 4.0]})
    out = csv_safe(df)
    assert out["title"].tolist() == ["'=HYPERLINK(1)", "ok", "'-x", "'@y"]
    assert out["value"].tolist() == [-1.0, 2.0, 3.0, 4.0]


# ---- a store and the command ------------------------------------------------------------------------

def make_store(root, audio_dir):
    """Two songs of 30 s with 'fixed' sections of 10 s and one run; song b has no truth beside it."""
    store = open_store(str(root))
    for sid, title in (("a" * 16, "song"), ("b" * 16, "other")):
        truth = audio_dir / f"{title}_d.json"
        store.write_part(SONGS, SONGS.part(song_id=sid), pd.DataFrame([{
            "song_id": sid, "uri": str(audio_dir / f"{title}.wav"), "title": title, "duration_s": DUR,
            "truth_path": str(truth) if truth.exists() else None}]))
        # sections of 10 s: boundaries 10 and 20 (ref 10.05, 20.05: hits at 0.5 s)
        store.write_part(SECTIONS, SECTIONS.part(song_id=sid), pd.DataFrame({
            "section_id": [f"{sid}-{i:05d}" for i in range(3)], "song_id": sid, "scheme": "fixed",
            "index": range(3), "start_s": [0.0, 10.0, 20.0], "end_s": [10.0, 20.0, 30.0],
            "is_central": True, "rank": 1, "truth_label": None}))
    store.write_part(RUNS, RUNS.part(run_id="r1"), pd.DataFrame([{"run_id": "r1", "space": "classical17"}]))
    store.write_part(CLUSTERINGS, CLUSTERINGS.part(run_id="r1"), pd.DataFrame({
        "run_id": "r1", "section_id": [f"{s * 16}-{i:05d}" for s in "ab" for i in range(3)],
        "label": [0, 1, 0, 2, 2, 2]}))
    return store


def test_evaluate_store_scores_songs_with_truth_and_reports_the_rest(tmp_path):
    write_formats(tmp_path / "audio")
    store = make_store(tmp_path / "store", tmp_path / "audio")
    table, skipped = evaluate_store(store, progress=False)
    assert list(table.columns) == list(COLUMNS)
    assert set(table["song_id"]) == {"a" * 16}
    assert [(s[1], "no truth_path" in s[2]) for s in skipped] == [("other", True)]
    v = table.set_index(["run_id", "metric"])["value"]
    assert v[("", "hr_f_0.5")] == pytest.approx(1.0)
    assert v[("r1", "pairwise_f")] < 1.0  # frames 10.0 and 20.0 differ from the reference
    assert v[("r1", "ari_frames")] > 0.9
    means = mean_table(table)
    assert means[["scheme", "run_id"]].values.tolist() == [["fixed", ""], ["fixed", "r1"]]
    assert means["n_songs"].tolist() == [1, 1]

    with pytest.raises(ParameterError, match="--scheme novelty: not in .*schemes there: fixed"):
        evaluate_store(store, schemes=["novelty"], progress=False)
    with pytest.raises(ParameterError, match="--run nope: not in .*runs there: r1"):
        evaluate_store(store, runs=["nope"], progress=False)


def test_truth_folder_matches_by_stem(tmp_path):
    write_formats(tmp_path / "audio")
    store = make_store(tmp_path / "store", tmp_path / "audio")
    refs = tmp_path / "refs"
    write_formats(refs, stem="other")  # other.lab etc.: "other" now has a reference; "song" does not
    table, skipped = evaluate_store(store, refs, progress=False)
    assert set(table["title"]) == {"other"}
    assert skipped[0][1] == "song" and "no reference named song.*" in skipped[0][2]
    with pytest.raises(InputError, match="no song has a reference"):
        evaluate_store(store, tmp_path / "store", progress=False)  # a folder without references


def test_cli_writes_csv_and_parquet_and_prints_means(tmp_path, capsys):
    write_formats(tmp_path / "audio")
    make_store(tmp_path / "store", tmp_path / "audio")
    out_csv, out_pq = tmp_path / "t.csv", tmp_path / "t.parquet"
    assert main(["evaluate", "--store", str(tmp_path / "store"), "-q", "-o", str(out_csv)]) == 0
    cap = capsys.readouterr()
    assert "(boundaries)" in cap.out and "hr_f_0.5" in cap.out and "1 songs scored, 1 skipped" in cap.out
    assert "skipped other" in cap.err
    csv_table = pd.read_csv(out_csv, keep_default_na=False)
    assert list(csv_table.columns) == list(COLUMNS)
    assert main(["evaluate", "--store", str(tmp_path / "store"), "-q", "--scheme", "fixed", "--run", "r1",
                 "-o", str(out_pq)]) == 0
    pq = pd.read_parquet(out_pq)
    assert set(pq["run_id"]) == {"", "r1"}
    assert len(pq) == len(csv_table)
    assert main(["evaluate", "--store", str(tmp_path / "store"), "-o", str(tmp_path / "t.xlsx")]) == 2
    assert "use a .csv or .parquet" in capsys.readouterr().err
    assert main(["evaluate", "--store", str(tmp_path / "store"), "--scheme", "beats"]) == 2
    assert "schemes there: fixed" in capsys.readouterr().err
