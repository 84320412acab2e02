"""The Overview's evaluation card (sectionist/dashboard/data/evaluation.py): shown when the songs carry truth, with every
segmentation scheme's mean scores; absent without truth; computed once per store version."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from synthetic_store import build_synthetic_store

from sectionist.store.schema import SECTIONS, SONGS

pytestmark = pytest.mark.slow


def _with_truth(store, folder):
    """Truth JSON beside each song: its sections with their truth labels."""
    folder.mkdir()
    songs, secs = store.read_table(SONGS), store.read_table(SECTIONS).sort_values(["song_id", "start_s"])
    for sid, g in secs.groupby("song_id"):
        parts = [{"start": r["start_s"], "end": r["end_s"], "label": r["truth_label"]} for r in g.to_dict("records")]
        path = folder / f"{sid}.json"
        path.write_text(json.dumps({"sections": parts}))
        row = songs[songs["song_id"] == sid].copy()
        row["truth_path"] = str(path)
        store.write_part(SONGS, SONGS.part(song_id=sid), row)
    store.write_manifest(store.read_manifest())


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("overview-eval")
    plain = build_synthetic_store(root / "plain", n_sections=24, sections_per_song=12, section_seconds=3.0,
                                  random_state=2)
    truth = build_synthetic_store(root / "truth", n_sections=24, sections_per_song=12, section_seconds=3.0,
                                  random_state=2)
    _with_truth(truth, root / "refs")
    return plain, truth, root


def _client(store, root, name):
    from sectionist.dashboard.app import create_app
    from tests.auth_helpers import login, make_user

    db = f"sqlite:///{root / (name + '.sqlite')}"
    app = create_app(store.uri, db_url=db, secret_key="e" * 40)
    password = make_user(db, "viewer1", "viewer")
    client = app.server.test_client()
    login(client, "viewer1", password)
    return app, client


def _callback(client, app):
    from sectionist.dashboard.ui import ids
    from tests.auth_helpers import csrf_header

    body = {"output": f"{ids.OVERVIEW_EVALUATION}.children",
            "outputs": {"id": ids.OVERVIEW_EVALUATION, "property": "children"},
            "inputs": [{"id": ids.OVERVIEW_EVALUATION, "property": "id", "value": ids.OVERVIEW_EVALUATION}],
            "changedPropIds": [], "state": []}
    resp = client.post("/_dash-update-component", json=body, headers=csrf_header(client))
    assert resp.status_code in (200, 204), resp.get_data(as_text=True)[:400]
    return resp.get_data(as_text=True)


def test_card_shows_scheme_scores_when_truth_exists(stores):
    _plain, truth, root = stores
    app, client = _client(truth, root, "t")
    page = client.get("/")
    assert page.status_code == 200
    text = _callback(client, app)
    assert "Segmentations against the truth" in text
    assert "boundary F at 0.5 s" in text and "pairwise F" in text and "frame ARI" in text
    assert '"scheme":"fixed"' in text.replace(" ", "")
    with app.server.test_request_context("/"):
        from sectionist.dashboard.data.store_data import get_data
        from sectionist.dashboard.data.evaluation import scheme_scores

        data = get_data()
        scores = scheme_scores(data)
        assert scores is not None and set(scores["scheme"]) == {"fixed"}
        # the synthetic sections are the truth's own boundaries: boundary F is 1
        assert scores["hr_f_0.5"].min() == pytest.approx(1.0)
        assert scheme_scores(data) is scores  # cached for this store version


def test_no_card_without_truth(stores):
    plain, _truth, root = stores
    app, client = _client(plain, root, "p")
    text = _callback(client, app)
    assert "Segmentations against the truth" not in text


def test_scores_are_kept_in_the_media_folder_for_every_worker(stores, monkeypatch):
    """Scoring is whole-store work: made beforehand into the media folder (media-warm), a second
    process of the server (its memory empty) reads the scores there instead of scoring again."""
    from sectionist.dashboard.app import create_app
    from sectionist.dashboard.data import evaluation
    from sectionist.dashboard.data.store_data import get_data

    _plain, truth, root = stores
    media = root / "media"
    app = create_app(truth.uri, db_url=f"sqlite:///{root / 'm.sqlite'}", secret_key="e" * 40,
                     media_cache_bytes=10_000_000, media_dir=media)
    monkeypatch.setattr(evaluation, "_cache", {})
    assert evaluation.warm_evaluation(app)["made"]  # what sectionist media-warm runs
    assert [p for p in media.rglob("*") if p.is_file()], "nothing written to the media folder"
    assert not evaluation.warm_evaluation(app)["made"]  # there already
    with app.server.test_request_context("/"):
        first = evaluation.scheme_scores(get_data())
    assert first is not None and len(first)

    def no_scoring(*_a, **_k):
        raise AssertionError("scored again although the media folder holds the scores")

    monkeypatch.setattr(evaluation, "evaluate_store", no_scoring)
    monkeypatch.setattr(evaluation, "_cache", {})  # another worker process: nothing in memory
    other = create_app(truth.uri, db_url=f"sqlite:///{root / 'm.sqlite'}", secret_key="e" * 40,
                       media_cache_bytes=10_000_000, media_dir=media)
    with other.server.test_request_context("/"):
        again = evaluation.scheme_scores(get_data())
    pd.testing.assert_frame_equal(again.reset_index(drop=True), first.reset_index(drop=True), check_dtype=False)
