"""sectionist.store.schema is the one place for table names, columns, types and part keys."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from sectionist.store import open_store
from sectionist.store.errors import StoreError
from sectionist.store.schema import (
    BEGIN_MARK,
    CLUSTERINGS,
    PROJECTIONS,
    RUNS,
    SALIENCY,
    SEGMENTS,
    SOUND_TRACKS,
    END_MARK,
    FRAMES,
    SONGS,
    TABLES,
    TAGS,
    markdown,
    section_vectors,
    table,
)

ROOT = Path(__file__).resolve().parents[1]
OLD_STORE = Path(__file__).parent / "fixtures" / "store_layout_v0"
TABLE_NAMES = {t.name for t in TABLES}
STORE_METHODS = {"read_table", "read_part", "write_part", "has_part", "delete_part", "list_parts", "part_key",
                 "read_table_parallel", "table"}


def _code_files():
    paths = sorted((ROOT / "sectionist").rglob("*.py"))
    assert len(paths) > 100
    for path in paths:
        if path != ROOT / "sectionist" / "store" / "schema.py":
            yield path


def test_table_names_and_part_keys_come_from_the_schema_only():
    bad = []
    for path in _code_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name in STORE_METHODS:
                    for arg in node.args:
                        if isinstance(arg, ast.Constant) and arg.value in TABLE_NAMES:
                            bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}({arg.value!r})")
                        if isinstance(arg, ast.JoinedStr):  # a part key built by hand: f"{embedder}/{song_id}"
                            bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}(f-string)")
            elif isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value in TABLE_NAMES
                                                       for c in [node.left, *node.comparators]):
                # 'if "songs" in store.tables()'
                if any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) and isinstance(node.left, ast.Constant):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.left.value!r} in …")
    assert not bad, "table names or part keys written outside sectionist/store/schema.py:\n" + "\n".join(bad)


def test_docs_store_md_is_the_schema():
    text = (ROOT / "docs" / "store.md").read_text()
    generated = text.split(BEGIN_MARK, 1)[1].split(END_MARK, 1)[0]
    assert generated.strip() == markdown().strip(), \
        "docs/store.md disagrees with sectionist/store/schema.py: run python -m sectionist.store.schema --update docs/store.md"
    for t in TABLES:
        assert f"| `{t.name}` | `{t.part_template}` |" in generated
        for c in t.column_names:
            assert f"{c} (" in generated


def test_part_keys_round_trip_and_bad_keys_are_refused():
    assert FRAMES.part(embedder="musicnn", song_id="abc") == "musicnn/abc"
    assert FRAMES.parse_part("musicnn/abc") == {"embedder": "musicnn", "song_id": "abc"}
    assert TAGS.parts_where(["MSD_musicnn/a", "MTT_musicnn/a", "MSD_musicnn/b"], model="MSD_musicnn") == \
        ["MSD_musicnn/a", "MSD_musicnn/b"]
    with pytest.raises(StoreError, match="part key needs"):
        FRAMES.part(song_id="abc")
    with pytest.raises(StoreError, match="bad embedder"):
        FRAMES.part(embedder="../x", song_id="abc")
    with pytest.raises(StoreError, match="unknown table 'nope'"):
        table("nope")
    assert table("songs") is SONGS


def test_writes_conform_to_the_declared_types(tmp_path):
    st = open_store(tmp_path / "st")
    with pytest.raises(StoreError, match="not declared"):
        st.write_part(SONGS, "a", pd.DataFrame({"song_id": ["a"], "colour": ["red"]}))
    with pytest.raises(StoreError, match="unknown table"):
        st.write_part("scratch", "a", pd.DataFrame({"x": [1]}))
    with pytest.raises(StoreError, match="cannot be stored"):
        st.write_part(SONGS, "a", pd.DataFrame({"song_id": ["a"], "duration_s": ["long"]}))
    # one part where every section is hard, one where none is: the list column is null-typed in pandas
    hard = pd.DataFrame({"run_id": "r", "section_id": ["s1"], "label": [0], "label_distribution": [[0.5, 0.5]]})
    soft = pd.DataFrame({"run_id": "r", "section_id": ["s2"], "label": np.array([1], np.int32),
                         "label_distribution": [None]})
    st.write_part(CLUSTERINGS, "r1", hard)
    st.write_part(CLUSTERINGS, "r2", soft)
    whole = ds.dataset(str(tmp_path / "st" / "clusterings"), format="parquet").to_table().to_pandas()
    assert sorted(whole["section_id"]) == ["s1", "s2"]
    assert whole["label"].dtype == np.int64
    assert pd.read_parquet(tmp_path / "st" / "clusterings")["label"].tolist() in ([0, 1], [1, 0])


def test_section_vectors_is_the_mean_of_finite_frames(tmp_path):
    st = open_store(tmp_path / "st")
    fr = pd.DataFrame({"song_id": "a", "section_id": ["a-00001", "a-00000", "a-00000", "a-00001"],
                       "embedder": "emb", "start_s": [3.0, 0.0, 1.0, 4.0], "end_s": [4.0, 1.0, 2.0, 5.0],
                       "e1": np.array([1, 2, 4, np.nan], np.float32), "e0": np.array([5, 1, 3, 9], np.float32)})
    st.write_part(FRAMES, FRAMES.part(embedder="emb", song_id="a"), fr)
    ids, X, cols = section_vectors(st, "emb")
    assert list(ids) == ["a-00000", "a-00001"] and cols == ["e0", "e1"]
    np.testing.assert_allclose(X, [[2.0, 3.0], [5.0, 1.0]])  # the NaN frame of a-00001 is left out
    with pytest.raises(StoreError, match="no frames of embedder 'other'.*embedders in the store: emb"):
        section_vectors(st, "other")


@pytest.fixture()
def old_store(tmp_path):
    """A copy of a store written by the layout before the store package (3 songs, default runs)."""
    dst = tmp_path / "old"
    shutil.copytree(OLD_STORE, dst)
    return dst


def test_a_store_written_before_the_store_package_still_opens(old_store):
    st = open_store(old_store, create=False)
    assert set(st.tables()) <= {t.name for t in TABLES}
    for t in TABLES:
        df = st.read_table(t)
        if t in (SEGMENTS, SOUND_TRACKS, SALIENCY):  # added after that store was written: reads as an empty table
            assert df.empty
            continue
        assert len(df), t
        for col in df.columns:
            assert t.column_type(col) is not None, f"{t}.{col} is not declared"
    runs = st.read_table("runs")
    assert set(runs["run_id"]) == {"classical17-kmeans-auto", "classical17-gmm-auto",
                                   "musicnn-kmeans-auto-frames", "musicnn-kmeans-auto-mean"}
    ids, X, _ = section_vectors(st, "musicnn")
    assert len(ids) == len(st.read_table("sections")) and X.shape[1] == 200


def test_the_dashboard_serves_an_old_store(old_store):
    from sectionist.dashboard.data.store_data import StoreData

    data = StoreData(str(old_store))
    assert len(data.runs) == 4
    assert data.n_sections == 24
    vec = data.space_vectors("musicnn")
    assert vec is not None and vec[0].shape == (24, 200)


def test_columns_newer_than_a_part_read_with_their_defaults(old_store):
    st = open_store(old_store, create=False)
    runs = st.read_table(RUNS)
    assert (runs["lineage"] == runs["run_id"]).all() and (runs["version"] == 1).all()
    assert (runs["n_placed"] == 0).all() and "model_key" not in runs  # no default: not invented
    cl = st.read_table(CLUSTERINGS, columns=["section_id", "label", "placed"])
    assert list(cl.columns) == ["section_id", "label", "placed"] and not cl["placed"].any()
    assert not st.read_table(PROJECTIONS)["placed"].any()


@pytest.mark.parametrize("rows", [0, 1, 7])
def test_frame_to_arrow_is_from_pandas(rows):
    """The wide-frame conversion gives pyarrow's own from_pandas table: values, NaN as null, types,
    pandas metadata; frames it does not handle (an index, narrow) go through from_pandas."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from sectionist.store.base import frame_to_arrow

    rng = np.random.default_rng(rows)
    df = pd.DataFrame({"section_id": [f"s{i}" for i in range(rows)], "song_id": "abc"})
    for i in range(40):
        df[f"f{i}"] = rng.normal(size=rows).astype(np.float32)
    df["d"] = rng.normal(size=rows)
    df["n"] = np.arange(rows, dtype=np.int32)
    df["flag"] = np.arange(rows) % 2 == 0
    df["label"] = pd.Series([None if i % 3 else f"x{i}" for i in range(rows)], dtype="string")
    df["opt"] = pd.array([None if i % 2 else 1.5 for i in range(rows)], dtype="Float32")
    if rows:
        df.loc[0, "f3"] = np.nan
        df.loc[rows - 1, "d"] = np.nan
    for frame in (df, df.iloc[::-1], df[["song_id", "f0"]]):
        ours, theirs = frame_to_arrow(frame), pa.Table.from_pandas(frame, preserve_index=False)
        assert ours.equals(theirs) and ours.schema.equals(theirs.schema, check_metadata=True)
        if rows and "f3" in frame:
            assert ours.column("f3").null_count == theirs.column("f3").null_count == 1
    again = frame_to_arrow(df.copy())  # the layout's metadata from the cache
    assert again.schema.equals(pa.Table.from_pandas(df, preserve_index=False).schema, check_metadata=True)
