"""Overview, clusters, compare and songs pages: layouts and callbacks as plain functions."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_store import RUNS, build_synthetic_store

from sectionist.dashboard.ui import ids

N = 60


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("dash-pages") / "store"
    return build_synthetic_store(root, n_sections=N, sections_per_song=10, section_seconds=2.0, audio=True,
                                 random_state=4)


@pytest.fixture(scope="module")
def app(store, tmp_path_factory):
    from sectionist.dashboard.app import create_app

    db = f"sqlite:///{tmp_path_factory.mktemp('pages-db') / 'users.sqlite'}"
    return create_app(store.uri, db_url=db, secret_key="p" * 40)


@pytest.fixture(scope="module")
def data(app):
    return app.server.extensions["sectionist_data"]


def render(component) -> str:
    import plotly.io.json as pj

    return pj.to_json_plotly(component).replace("\\u002f", "/")


def test_every_page_is_registered_and_renders(app):
    import dash

    pages = {p["path"]: p for p in dash.page_registry.values()}
    assert {"/", "/map", "/clusters", "/compare", "/songs"} <= set(pages)
    with app.server.test_request_context("/"):
        for path in ("/", "/map", "/clusters", "/compare", "/songs"):
            out = render(pages[path]["layout"]())
            assert '"type":"Div"' in out.replace(" ", ""), path
    # navigation comes from the registry, in the app's order
    from sectionist.dashboard.app import _nav_links

    links = _nav_links(dash.page_registry, "/clusters")
    names = [link.children for link in links]
    assert names[:5] == ["Overview", "Map", "Clusters", "Compare", "Songs"]
    assert [link.className for link in links][2] == "nav-link active"


def test_contract_ids_on_judging_pages(app):
    import dash

    pages = {p["path"]: p for p in dash.page_registry.values()}
    with app.server.test_request_context("/"):
        for name in ("map", "clusters", "compare", "songs"):
            out = render(pages[f"/{name}"]["layout"]())
            assert f'"{ids.selected(name)}"' in out and f'"{ids.judge_container(name)}"' in out, name


def test_overview(app, data):
    from sectionist.dashboard.pages import overview

    rows, cols = overview.runs_table_data(data)
    assert [r["run_id"] for r in rows] == sorted(r[0] for r in RUNS) or len(rows) == len(RUNS)
    assert {"silhouette", "ari_truth", "fidelity"} <= {c["id"] for c in cols}
    assert all(isinstance(r["silhouette"], float) for r in rows)
    curves = overview.curves_for(data, "classical17")
    assert len(curves) == 1 and list(curves.values())[0]["k"][0] == 2
    fig = overview.curves_for(data)
    assert len(fig) == len(RUNS)
    with app.server.test_request_context("/"):
        out = render(overview.layout())
    assert f"{N:,}" in out and "Runs and their quality" in out
    assert "expert_agreement" not in {c["id"] for c in cols}  # no verdicts yet: no column


def test_overview_shows_expert_agreement_beside_the_metrics(app, data):
    from sectionist.dashboard.judging import repository, stats
    from sectionist.dashboard.auth.accounts import create_user, get_user
    from sectionist.dashboard.auth.context import get_db
    from sectionist.dashboard.pages import overview

    db = get_db(app.server)
    create_user(db, "ola", "expert")
    ola = get_user(db, "ola")
    run_a, run_b = RUNS[0][0], RUNS[1][0]
    for i, sid in enumerate(data.section_ids[:8]):  # run A: 6 of 8 agree; run B: 2 of 4 (and 1 unsure)
        repository.record_judgement(db, ola, run_id=run_a, section_id=sid, verdict="agree" if i < 6 else "disagree")
    for i, sid in enumerate(data.section_ids[:5]):
        repository.record_judgement(db, ola, run_id=run_b, section_id=sid,
                                    verdict=["agree", "agree", "disagree", "disagree", "unsure"][i])
    agreement = stats.agreement_per_run(repository.judgements_frame(db))
    rows, cols = overview.runs_table_data(data, agreement)
    spec = {c["id"]: c for c in cols}
    assert spec["expert_agreement"]["format"]["specifier"] == ".0%"
    by_run = {r["run_id"]: r for r in rows}
    assert by_run[run_a]["expert_agreement"] == pytest.approx(0.75) and by_run[run_a]["expert_verdicts"] == 8
    # five verdicts on run B: the unsure one counts as a verdict, only the agreement rate leaves it out
    assert by_run[run_b]["expert_agreement"] == pytest.approx(0.5) and by_run[run_b]["expert_verdicts"] == 5
    others = [r for r in rows if r["run_id"] not in (run_a, run_b)]
    assert all(r["expert_agreement"] is None and r["expert_verdicts"] is None for r in others)
    with app.server.test_request_context("/"):
        out = render(overview.layout())
    assert "experts agree" in out and "0.75" in out


def test_clusters_body_and_queues(app, data):
    from sectionist.dashboard.pages import clusters

    run_id = RUNS[0][0]
    opts = clusters.cluster_options(data, run_id)
    assert [o["value"] for o in opts] == list(data.run_arrays(run_id).clusters)
    c = opts[0]["value"]
    out = render(clusters.cluster_body(data, run_id, c))
    info = data.clusters(run_id).loc[c]
    for sid in info["prototypes"][:3] + info["borderline"][:3]:
        assert sid in out  # ▶ buttons of both queues
    assert f"/spectrogram/cluster/{run_id}/{c}.png" in out
    assert "Prototype queue" in out and "Borderline queue" in out and "Each dot a section of this cluster" in out
    fig = clusters.sizes_figure(data, run_id)
    assert sum(fig.data[0].y) == int((data.run_arrays(run_id).label >= -1).sum())
    assert "Pick a run" in render(clusters.cluster_body(data, None, None))


def test_cluster_spectra_image_from_the_store(app, data):
    import io

    from PIL import Image

    from sectionist.dashboard.media.audio import SPEC_AXES, SPEC_SIZE, cluster_spectra_png

    run_id = RUNS[0][0]
    c = data.run_arrays(run_id).clusters[0]
    png = cluster_spectra_png(data, run_id, c)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert img.shape == (SPEC_SIZE[1], SPEC_SIZE[0]) and img.std() > 5
    # the image inside its axes (labels around it)
    h, w = img.shape
    img = img[h - int(h * (SPEC_AXES[1] + SPEC_AXES[3])) + 2:h - int(h * SPEC_AXES[1]) - 2,
              int(w * SPEC_AXES[0]) + 2:int(w * (SPEC_AXES[0] + SPEC_AXES[2])) - 2]
    # the synthetic sounds have two spectral peaks: some rows (mel bands) are much brighter
    rows = img.mean(axis=1)
    assert rows.max() - np.median(rows) > 40
    assert cluster_spectra_png(data, run_id, 999) is None


def test_compare_table_is_paged_sorted_filtered(app, data):
    from sectionist.dashboard.pages import compare

    a, b = RUNS[0][0], RUNS[1][0]
    rows, pages, note = compare.table_page(data, a, b, 0, 10)
    cmp = data.comparison(a, b)
    same = int(cmp["agree"][cmp["both"]].sum())
    # the note says how many sections the runs agree on, not how many rows the (empty) filter keeps
    assert len(rows) == 10 and pages == N // 10 and note.startswith(f"Same cluster for {same} of {N} sections")
    assert {"id", "song", "label_a", "label_b", "relation"} <= set(rows[0])
    rows, _, _ = compare.table_page(data, a, b, 0, 100, sort_by=[{"column_id": "label_a", "direction": "desc"}])
    assert [r["label_a"] for r in rows] == sorted((r["label_a"] for r in rows), reverse=True)
    rows, _, note = compare.table_page(data, a, b, 0, 100, only_disagree=True)
    cmp = data.comparison(a, b)
    # only the sections that differ: not the matched cluster, nor a split or a merge
    assert len(rows) <= int((~cmp["agree"][cmp["both"]]).sum())
    assert all(r["relation"] == "differs" for r in rows)
    rows, _, _ = compare.table_page(data, a, b, 0, 100, filter_query="{label_a} = 1 && {song} contains song 0002")
    assert rows and all(r["label_a"] == 1 and "0002" in r["song"] for r in rows)
    # a page past the end is clamped, never the whole table
    rows, pages, _ = compare.table_page(data, a, b, 999, 10)
    assert len(rows) <= 10
    metrics = render(compare.metrics_view(data, a, b))
    assert f"{cmp['ari']:.3f}" in metrics


def test_songs_timelines(app, data):
    from sectionist.dashboard.pages import songs

    song = data.songs.index[0]
    secs = data.song_sections(song)
    sid = secs["section_id"].iloc[2]
    fig = songs.timeline(data, [song], "lanes", RUNS[0][0], sid)
    bars = [t for t in fig.data if t.type == "bar"]
    lanes = {t.y[0] for t in bars}
    # one lane per run, then the truth lane (the synthetic songs have ground truth)
    assert len(lanes) == len(RUNS) + 1 and fig.layout.yaxis.ticktext[-1] == "truth"
    assert fig.data[0].name == "waveform"  # the song's real audio, read in blocks
    assert fig.layout.shapes[0].x0 == pytest.approx(secs["start_s"].iloc[2])
    tracks = songs.timeline(data, [song], "tracks", RUNS[0][0], sid)
    labels = data.run_arrays(RUNS[0][0]).label[secs["pos"].to_numpy()]
    assert len(tracks.layout.yaxis.ticktext) == len(np.unique(labels))
    multi = songs.timeline(data, list(data.songs.index[:3]), "lanes", RUNS[0][0], sid)
    assert len(multi.layout.yaxis.ticktext) == 3
    # a click on a block names its section
    from sectionist.dashboard.ui.components.selection import section_from_click

    block = bars[0]
    click = {"points": [{"customdata": int(block.customdata[0])}]}
    assert section_from_click(data, click) == data.section_ids[int(block.customdata[0])]


def test_deep_links(app, data):
    import dash

    pages = {p["path"]: p for p in dash.page_registry.values()}
    sid = data.section_ids[25]
    with app.server.test_request_context("/"):
        out = render(pages["/songs"]["layout"](section=sid, run=RUNS[1][0]))
        assert f'"section_id":"{sid}"' in out.replace(" ", "")
        out = render(pages["/map"]["layout"](section=sid, run=RUNS[2][0]))
        assert '"value":"synthnet"' in out.replace(" ", "")  # the run's space is chosen
        out = render(pages["/clusters"]["layout"](run=RUNS[1][0], cluster="2"))
        assert f'"value":"{RUNS[1][0]}"' in out.replace(" ", "")


def test_each_page_registered_its_own_judging_panel_and_selection(app):
    """No central list: the callbacks exist because each page module registered them for itself."""
    outputs = set(app.callback_map)
    for page in ("map", "clusters", "compare", "songs", "judge"):
        assert f"{ids.judge_container(page)}.children" in outputs, page
    for page in ("map", "clusters", "compare", "songs"):
        assert any(k.startswith(f"{ids.selected(page)}.data") or f"..{ids.selected(page)}.data" in k
                   for k in outputs), page
