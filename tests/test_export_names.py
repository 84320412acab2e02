"""Exports carry the names experts gave clusters (issue 23, "Exports carry names").

Every format (REAPER, Audacity, JAMS, MIREX .lab, the labels CSV/parquet, XSPF, Projector) labels a
named cluster by its name, escaped for that format, with a hostile name (``<``, quotes, a spreadsheet
formula, a backtick, a newline); two clusters never share a label; ``sectionist export`` reads the
names from the store's database (or ``--db``), carries a v1 name over to an unnamed v2 cluster, and
leaves ``cluster N`` with ``--no-names`` or without a database. The app's downloads (every kind of
the Clusters, Songs and Map pages, posted to the real Dash endpoint by a logged-in expert) label each
cluster of a version 2 by its own name, by version 1's name marked ``(from v1)``, else ``cluster N``.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pandas as pd
import pytest
from synthetic_store import RUNS, build_synthetic_store
from test_export import _value, read_rpp

from sectionist.analysis.export.data import gather
from sectionist.analysis.export.files import export_files
from sectionist.analysis.export.names import cluster_labels, cluster_name, one_line
from sectionist.analysis.export.playlist import XSPF_NS
from sectionist.analysis.export.reaper import rpp_quote
from sectionist.analysis.export.tables import NAME_SUFFIX
from sectionist.cli import main
from sectionist.store.schema import CLUSTERINGS

RUN = RUNS[0][0]
#: A name an expert could type, and worse: markup, both quotes, a backtick, a formula, a newline.
HOSTILE = "=cmd|' /C calc'!A0 <b>\"Intro\"</b> & `x`\nsecond line"
FLAT = one_line(HOSTILE)  # what every one-line format shows


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-names")
    return build_synthetic_store(root / "store", n_sections=36, sections_per_song=12, section_seconds=3.0,
                                 random_state=7)


@pytest.fixture(scope="module")
def named(store):
    """The run's biggest cluster (named HOSTILE), another one (named "Chorus"), and the names."""
    lab = store.read_part(CLUSTERINGS, RUN)
    counts = lab.loc[lab["label"] >= 0, "label"].value_counts()
    big, other = int(counts.index[0]), int(counts.index[1])
    return big, other, {RUN: {big: HOSTILE, other: "Chorus"}}


def test_cluster_labels_are_names_and_never_shared():
    assert cluster_labels([0, 1, -1], {1: " Verse\tA "}) == {-1: "noise", 0: "cluster 0", 1: "Verse A"}
    # two clusters named alike, and a name that is another cluster's default: each says its number
    got = cluster_labels([0, 1, 2, 3], {0: "Drop", 1: "Drop", 2: "cluster 3", 3: ""})
    assert got == {0: "Drop (cluster 0)", 1: "Drop (cluster 1)", 2: "cluster 3 (cluster 2)", 3: "cluster 3"}
    assert len(set(got.values())) == 4


def test_audacity_and_lab_labels_carry_the_name_on_one_line(store, named, tmp_path):
    import mir_eval

    big, other, names = named
    data = gather(store, runs=[RUN], names=names)
    lab = store.read_part(CLUSTERINGS, RUN).set_index("section_id")["label"]
    for name, payload in export_files("audacity", data).items():
        rows = [ln.split("\t") for ln in payload.decode().splitlines()]
        assert all(len(r) == 3 for r in rows)  # the newline did not start a line of its own
        song_id = next(s for s in data.songs.index if f"-{s[:8]}." in name)
        song = data.sections[data.sections["song_id"] == song_id]
        want = [{big: FLAT, other: "Chorus"}.get(int(v), cluster_name(v))
                for v in lab.reindex(song.sort_values("start_s")["section_id"])]
        assert [r[2] for r in rows] == want
    texts = b"".join(export_files("audacity", data).values()).decode()
    assert FLAT in texts and "Chorus" in texts
    for name, payload in export_files("lab", data).items():
        (tmp_path / name).write_bytes(payload)
        _, labels = mir_eval.io.load_labeled_intervals(str(tmp_path / name))
        assert all(" " not in w for w in labels)
    words = {w for n in export_files("lab", data) for w in mir_eval.io.load_labeled_intervals(str(tmp_path / n))[1]}
    assert re.sub(r"\s+", "_", FLAT) in words and "Chorus" in words


def test_jams_values_and_sandbox_carry_name_cluster_and_version(store, named, tmp_path):
    import jams

    big, other, names = named
    data = gather(store, runs=[RUN], names=names)
    seen = set()
    for name, payload in export_files("jams", data).items():
        (tmp_path / name).write_bytes(payload)
        jam = jams.load(str(tmp_path / name), validate=True, strict=True)
        ann = jam.search(namespace="segment_open")[0]
        box = ann.sandbox["sectionist"]
        assert box["run_id"] == RUN and box["version"] == 1 and box["lineage"] == RUN
        by_label = {c["label"]: c for c in box["clusters"]}
        assert by_label[FLAT]["cluster"] == big and by_label[FLAT]["name"] == FLAT
        assert by_label[FLAT]["named_in"] == RUN
        assert by_label["Chorus"]["cluster"] == other
        unnamed = next(c for c in box["clusters"] if c["cluster"] not in (big, other))
        assert unnamed["label"] == cluster_name(unnamed["cluster"]) and unnamed["name"] is None
        seen |= set(ann.to_interval_values()[1])
        json.loads(payload)  # plain JSON
    assert FLAT in seen and "Chorus" in seen


def test_reaper_items_are_named_and_quoted_by_reapers_rules(store, named):
    big, other, names = named
    data = gather(store, runs=[RUN], names=names)
    text = export_files("reaper", data, location="name")["project.rpp"].decode()
    assert "\nsecond line" not in text  # one token, one line
    assert f"NAME {rpp_quote(HOSTILE)}" in text
    root = read_rpp(text)
    track = next(t for t in root["chunks"] if t["name"] == "TRACK" and _value(t, "NAME")[0].startswith(RUN))
    item_names = [_value(it, "NAME")[0] for it in track["chunks"] if it["name"] == "ITEM"]
    # with all three quote characters REAPER has no quote left: backticks become single quotes
    assert FLAT.replace("`", "'") in item_names and "Chorus" in item_names
    lab = store.read_part(CLUSTERINGS, RUN)["label"]
    assert item_names.count("Chorus") == int((lab == other).sum())


def test_xspf_titles_creators_and_annotations_carry_the_name_as_escaped_xml(store, named):
    big, other, names = named
    data = gather(store, runs=[RUN], cluster=big, names=names)
    payload = export_files("xspf", data, location="corpus")["playlist.xspf"]
    assert b"<b>" not in payload and b"&lt;b&gt;" in payload
    ns = {"x": XSPF_NS}
    tracks = ET.fromstring(payload).findall("x:trackList/x:track", ns)
    assert len(tracks) == len(data.sections) > 0
    for t in tracks:
        assert t.find("x:creator", ns).text == FLAT
        assert t.find("x:title", ns).text.endswith(f" · {FLAT}")
        assert t.find("x:annotation", ns).text.endswith(f"{RUN}: {FLAT} (cluster {big})")


def test_labels_table_has_a_name_column_beside_each_run_and_neutralises_formulas(store, named):
    big, other, names = named
    runs = [r for r, *_ in RUNS]
    data = gather(store, runs=runs, names=names)
    par = pd.read_parquet(io.BytesIO(export_files("parquet", data)["sections.parquet"]))
    cols = list(par.columns)
    for rid in runs:
        assert cols.index(rid + NAME_SUFFIX) == cols.index(rid) + 1
    lab = par[RUN]
    assert (par.loc[lab == big, RUN + NAME_SUFFIX] == FLAT).all()
    assert (par.loc[lab == other, RUN + NAME_SUFFIX] == "Chorus").all()
    rest = ~lab.isin([big, other])
    assert par.loc[rest, RUN + NAME_SUFFIX].tolist() == [cluster_name(v) for v in lab[rest]]
    other_run = runs[1]
    assert par[other_run + NAME_SUFFIX].tolist() == [cluster_name(v) if pd.notna(v) else "" for v in par[other_run]]
    csv = pd.read_csv(io.BytesIO(export_files("csv", data)["sections.csv"]), keep_default_na=False)
    assert len(csv) == len(par)
    assert (csv.loc[csv[RUN] == big, RUN + NAME_SUFFIX] == "'" + FLAT).all()  # a formula no more
    assert csv[RUN].dtype.kind == "i"  # numbers stay numbers


def test_projector_metadata_carries_names_neutralised(store, named):
    from synthetic_store import EMBEDDER

    from sectionist.analysis.export.data import space_vectors

    big, other, names = named
    data = gather(store, runs=[RUN], names=names)
    files = export_files("projector", data, vectors=space_vectors(store, EMBEDDER))
    meta = pd.read_csv(io.BytesIO(files["metadata.tsv"]), sep="\t", dtype=str, keep_default_na=False)
    assert "'" + FLAT in set(meta[RUN]) and "Chorus" in set(meta[RUN])


def test_export_files_names_argument_and_the_default(store, named):
    big, other, names = named
    data = gather(store, runs=[RUN])
    plain = b"".join(export_files("audacity", data).values()).decode()
    assert "Chorus" not in plain and f"cluster {other}" in plain
    given = b"".join(export_files("audacity", data, names={RUN: {other: "Chorus"}}).values()).decode()
    assert "Chorus" in given and f"\tcluster {other}\n" not in given


# ---- sectionist export: names from the database ----------------------------------------------------------
def _store_with_database(tmp_path, store):
    import shutil

    from sectionist.dashboard.auth.accounts import create_user, get_user
    from sectionist.dashboard.judging.repository import record_cluster_name
    from sectionist.dashboard.models import ClusterName, Database, sqlite_url
    from sectionist.store import open_store

    root = tmp_path / "store"
    shutil.copytree(store.root, root)
    st = open_store(root, create=False)
    db = Database(sqlite_url(root / "sectionist.sqlite"))
    create_user(db, "ada", "expert")
    ada = get_user(db, "ada")
    record_cluster_name(db, ada, run_id=RUN, cluster=1, name="Quiet intro")
    record_cluster_name(db, ada, run_id=RUN, cluster=1, name="Soft intro")  # the current one
    with db.write() as s:  # a name the app's form refuses (a newline), as if written by hand
        s.add(ClusterName(user_id=ada.id, run_id=RUN, cluster=2, name=HOSTILE))
    db.dispose()
    return st


def test_cli_export_reads_names_from_the_stores_database(store, tmp_path, capsys):
    st = _store_with_database(tmp_path, store)
    out = tmp_path / "labels"
    assert main(["export", "audacity", "--store", st.uri, "--run", RUN, "-o", str(out)]) == 0
    text = "".join(p.read_text() for p in out.iterdir())
    assert "\tSoft intro\n" in text and f"\t{FLAT}\n" in text and "Quiet intro" not in text
    assert "\tcluster 1\n" not in text
    # --no-names: the numbers; a --db that does not exist: an error naming it
    assert main(["export", "audacity", "--store", st.uri, "--run", RUN, "--no-names", "-o", str(tmp_path / "n")]) == 0
    plain = "".join(p.read_text() for p in (tmp_path / "n").iterdir())
    assert "Soft intro" not in plain and "\tcluster 1\n" in plain
    missing = tmp_path / "nope.sqlite"
    assert main(["export", "csv", "--store", st.uri, "--run", RUN, "--db", f"sqlite:///{missing}",
                 "-o", str(tmp_path / "x.csv")]) == 2
    assert "no such database file" in capsys.readouterr().err and not missing.exists()
    # --db names another database explicitly
    assert main(["export", "csv", "--store", store.uri, "--run", RUN, "--db",
                 f"sqlite:///{st.root}/sectionist.sqlite", "-o", str(tmp_path / "s.csv")]) == 0
    csv = pd.read_csv(tmp_path / "s.csv", keep_default_na=False)
    assert set(csv.loc[csv[RUN] == 1, RUN + NAME_SUFFIX]) == {"Soft intro"}


def test_cli_export_without_a_database_keeps_cluster_numbers(store, tmp_path):
    out = tmp_path / "p.xspf"
    assert main(["export", "xspf", "--store", store.uri, "--run", RUN, "--cluster", "1", "-o", str(out)]) == 0
    creators = {e.text for e in ET.parse(out).iter(f"{{{XSPF_NS}}}creator")}
    assert creators == {"cluster 1"}
    assert not (store.root / "sectionist.sqlite").exists()  # nothing created by reading


def test_cli_export_carries_a_v1_name_to_the_matched_v2_cluster(store, tmp_path):
    from version_store import add_run_version

    st = _store_with_database(tmp_path, store)
    lab = st.read_part(CLUSTERINGS, RUN).set_index("section_id")["label"]
    # version 2: the same grouping under other numbers (cluster 1 of v1 is cluster 4 of v2)
    perm = {c: (c + 3) % 6 for c in range(6)}
    v2 = add_run_version(st, RUN, lab.map(perm))
    out = tmp_path / "v2.zip"
    assert main(["export", "jams", "--store", st.uri, "--run", v2, "-o", str(out)]) == 0
    with zipfile.ZipFile(out) as zf:
        boxes = [json.loads(zf.read(n))["annotations"][0]["sandbox"]["sectionist"] for n in zf.namelist()]
    entry = next(c for c in boxes[0]["clusters"] if c["cluster"] == perm[1])
    assert entry["label"] == "Soft intro (from v1)" and entry["named_in"] == RUN
    assert boxes[0]["version"] == 2 and boxes[0]["lineage"] == RUN and boxes[0]["run_id"] == v2
    assert np.all([b["run_id"] == v2 for b in boxes])


# ---- the app's downloads: every page's download button, through the real Dash endpoint ------------------
#: A name the app's rename form accepts (one line) that is still hostile in every format.
APP_NAME = "=cmd|' <b>\"Drop\"</b> & `x`"


@pytest.fixture(scope="module")
def app_store(store, tmp_path_factory):
    """A copy of the store with a version 2 of RUN (v1's clusters renumbered), an app on it and a
    logged-in expert; v1's cluster 1 is named "Soft intro", v2's biggest cluster APP_NAME."""
    import shutil

    from auth_helpers import login, make_user
    from version_store import add_run_version

    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.judging.repository import record_cluster_name
    from sectionist.dashboard.models import get_database, sqlite_url
    from sectionist.store import open_store

    root = tmp_path_factory.mktemp("export-names-app")
    shutil.copytree(store.root, root / "store")
    st = open_store(root / "store", create=False)
    lab = st.read_part(CLUSTERINGS, RUN).set_index("section_id")["label"]
    perm = {c: (c + 3) % 6 for c in range(6)}
    v2 = add_run_version(st, RUN, lab.map(perm))
    v2_labels = lab.map(perm)
    counts = v2_labels[v2_labels >= 0].value_counts()
    big = int(counts.index[0]) if int(counts.index[0]) != perm[1] else int(counts.index[1])
    db_url = sqlite_url(root / "users.sqlite")
    app = create_app(st.uri, db_url=db_url, secret_key="export-names-" + "s" * 32)
    password = make_user(db_url, "ada", "expert")
    ada = get_user(get_database(db_url), "ada")
    record_cluster_name(get_database(db_url), ada, run_id=RUN, cluster=1, name="Soft intro")
    record_cluster_name(get_database(db_url), ada, run_id=v2, cluster=big, name=APP_NAME)
    client = app.server.test_client()
    login(client, "ada", password)
    # the label each v2 cluster must carry in every download
    want = {c: cluster_name(c) for c in v2_labels.unique()}
    want[big], want[perm[1]] = APP_NAME, "Soft intro (from v1)"
    return {"client": client, "store": st, "v2": v2, "labels": v2_labels, "big": big, "want": want}


def _post_download(client, output: str, inputs: list, state: list, changed: str) -> tuple[str, bytes]:
    """POST one download callback as the browser does; the file name and bytes it sends."""
    import base64

    from auth_helpers import csrf_header

    body = {"output": f"{output}.data", "outputs": {"id": output, "property": "data"},
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": [changed]}
    resp = client.post("/_dash-update-component", json=body, headers=csrf_header(client))
    assert resp.status_code == 200, resp.data[:500]
    sent = resp.get_json()["response"][output]["data"]
    return sent["filename"], base64.b64decode(sent["content"]) if sent.get("base64") else sent["content"].encode()


def _clusters_download(client, run, kind, *, cluster=None, links="xspf", playlist=False):
    from sectionist.dashboard.ui import ids

    return _post_download(
        client, ids.CLUSTERS_DOWNLOAD,
        [(ids.CLUSTERS_EXPORT_RUN, "n_clicks", None if playlist else 1),
         (ids.CLUSTERS_EXPORT_PLAYLIST, "n_clicks", 1 if playlist else None)],
        [(ids.CLUSTERS_RUN, "value", run), (ids.CLUSTERS_CLUSTER, "value", cluster),
         (ids.CLUSTERS_EXPORT_KIND, "value", kind), (ids.CLUSTERS_EXPORT_QUEUE, "value", "all"),
         (ids.CLUSTERS_EXPORT_LINKS, "value", links)],
        f"{ids.CLUSTERS_EXPORT_PLAYLIST if playlist else ids.CLUSTERS_EXPORT_RUN}.n_clicks")


def _files(filename: str, payload: bytes) -> dict:
    if filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            return {n: zf.read(n) for n in zf.namelist()}
    return {filename: payload}


def _xspf_creators(payload: bytes) -> dict:
    """section id → the track's creator (its cluster's label) of an XSPF playlist."""
    ns = {"x": XSPF_NS}
    return {t.find("x:annotation", ns).text.split(";")[0]: t.find("x:creator", ns).text
            for t in ET.fromstring(payload).findall("x:trackList/x:track", ns)}


def test_every_clusters_page_download_carries_the_experts_names_and_version(app_store):
    client, v2, labels, want = app_store["client"], app_store["v2"], app_store["labels"], app_store["want"]
    # REAPER: each item of the run's track named by its cluster's label (REAPER's quoting)
    name, payload = _clusters_download(client, v2, "reaper")
    assert name.endswith(".rpp")
    text = payload.decode()
    track = next(t for t in read_rpp(text)["chunks"] if t["name"] == "TRACK" and _value(t, "NAME")[0].startswith(v2))
    items = [_value(it, "NAME")[0] for it in track["chunks"] if it["name"] == "ITEM"]
    assert sorted(items) == sorted(want[int(c)].replace("`", "'") for c in labels)  # all three quotes: ` -> '
    # Audacity labels (a zip, one file per song): third column is the label
    name, payload = _clusters_download(client, v2, "audacity")
    got = [ln.split("\t")[2] for body in _files(name, payload).values() for ln in body.decode().splitlines()]
    assert sorted(got) == sorted(want[int(c)] for c in labels)
    # the labels table: a name column beside the run's column, the formula neutralised
    name, payload = _clusters_download(client, v2, "csv")
    csv = pd.read_csv(io.BytesIO(payload), keep_default_na=False).set_index("section_id")
    names = csv[v2 + NAME_SUFFIX].to_dict()
    assert names == {sid: ("'" + want[int(c)] if want[int(c)] == APP_NAME else want[int(c)])
                     for sid, c in labels.items()}
    # both kinds of VLC playlist of the whole run
    for links, ending in (("xspf", "-links.xspf"), ("xspf-local", "-paths.xspf")):
        name, payload = _clusters_download(client, v2, links)
        assert name.endswith(ending)  # the two kinds never share a file name
        assert b"<b>" not in payload
        assert _xspf_creators(payload) == {sid: want[int(c)] for sid, c in labels.items()}
    # the cluster playlist: its file name and every track say the name
    big = app_store["big"]
    name, payload = _clusters_download(client, v2, "reaper", cluster=big, playlist=True, links="xspf-local")
    assert "Drop" in name and name.endswith("-paths.xspf")
    assert set(_xspf_creators(payload).values()) == {APP_NAME}
    assert set(_xspf_creators(payload)) == set(labels.index[labels == big])


def test_songs_and_map_downloads_carry_the_experts_names_and_version(app_store, tmp_path):
    import jams

    from sectionist.dashboard.ui import ids

    client, st, v2, labels, want = (app_store[k] for k in ("client", "store", "v2", "labels", "want"))
    secs = st.read_table("sections").set_index("section_id")
    songs = list(dict.fromkeys(secs.loc[labels.index, "song_id"]))
    song, other = songs[0], songs[1]
    in_songs = labels[secs.loc[labels.index, "song_id"].isin([song, other]).to_numpy()]

    def songs_download(kind):
        return _post_download(client, ids.SONGS_DOWNLOAD, [(ids.SONGS_EXPORT, "n_clicks", 1)],
                              [(ids.SONGS_SONG, "value", song), (ids.SONGS_COMPARE, "value", [other]),
                               (ids.SONGS_RUN, "value", v2), (ids.SONGS_EXPORT_KIND, "value", kind)],
                              f"{ids.SONGS_EXPORT}.n_clicks")

    files = _files(*songs_download("audacity"))
    assert len(files) == 2
    got = [ln.split("\t")[2] for body in files.values() for ln in body.decode().splitlines()]
    assert sorted(got) == sorted(want[int(c)] for c in in_songs)
    files = _files(*songs_download("lab"))
    words = [ln.split()[2] for body in files.values() for ln in body.decode().splitlines()]
    assert sorted(words) == sorted(re.sub(r"\s+", "_", want[int(c)]) for c in in_songs)
    files = _files(*songs_download("jams"))
    values = []
    for n, body in files.items():
        (tmp_path / n).write_bytes(body)
        ann = jams.load(str(tmp_path / n), validate=True, strict=True).search(namespace="segment_open")[0]
        box = ann.sandbox["sectionist"]
        # the version the names belong to: this run is version 2; "Soft intro" was given in version 1
        assert (box["run_id"], box["lineage"], box["version"]) == (v2, RUN, 2)
        named_in = {c["label"]: c["named_in"] for c in box["clusters"]}
        assert named_in.get(APP_NAME, v2) == v2 and named_in.get("Soft intro (from v1)", RUN) == RUN
        values += ann.to_interval_values()[1]
    assert sorted(values) == sorted(want[int(c)] for c in in_songs)

    # the Map's selection of every section (rows: positions in the app's section order)
    positions = list(range(len(secs)))
    for kind in ("csv", "xspf", "xspf-local"):
        name, payload = _post_download(client, ids.MAP_DOWNLOAD, [(ids.MAP_EXPORT, "n_clicks", 1)],
                                       [(ids.MAP_SELECTION_ROWS, "data", {"rows": positions}),
                                        (ids.MAP_RUN, "value", v2), (ids.MAP_EXPORT_KIND, "value", kind),
                                        (ids.MAP_META, "data", {})], f"{ids.MAP_EXPORT}.n_clicks")
        if kind == "csv":
            csv = pd.read_csv(io.BytesIO(payload), keep_default_na=False).set_index("section_id")
            got = {sid: n.removeprefix("'") for sid, n in csv[v2 + NAME_SUFFIX].items()}
        else:
            got = _xspf_creators(payload)
        assert got == {sid: want[int(c)] for sid, c in labels.items()}, kind
