"""Every Dash callback of the app, fuzzed through the real ``/_dash-update-component`` endpoint
(issue 24, item 2): crafted or stale input never gives a 500.

The app is built on a synthetic store; the valid value of each input and state is read from the
pages' layouts (and the judging panel and ▶ buttons they render later). Then, for every server
callback, each input and state in turn gets each bad value (huge and negative ints, floats, NaN,
inf, strings, lists, dicts, None, an unknown id, a run deleted after the pages were drawn, and
for dict values each key spoiled) while the others keep their valid values. The answer must be
a 200 or a 204, never a 500 (``sectionist/dashboard/ui/inputs.py``; docs/security.md).
"""

from __future__ import annotations

import json
import time

import pytest
from synthetic_store import RUNS, build_synthetic_store

from sectionist.dashboard.ui import ids

N = 40
KEEP_RUN, DELETED_RUN, OTHER_RUN = RUNS[0][0], RUNS[1][0], RUNS[2][0]
BAD_SCALARS = [2**31, 2**70, -1, -2**70, 1.5, float("nan"), float("inf"), "x", "", None, True,
               [2**70], ["x", None], {"x": 1}, "no-such-run", DELETED_RUN, "ÿ" * 5000]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    from tests.auth_helpers import login, make_user

    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("fuzz")
    store = build_synthetic_store(root / "store", n_sections=N, sections_per_song=10, section_seconds=2.0,
                                  audio=True, random_state=3)
    db = f"sqlite:///{root / 'users.sqlite'}"
    app = create_app(store.uri, db_url=db, secret_key="f" * 40, check_interval=0.0)
    client = app.server.test_client()
    login(client, "ada", make_user(db, "ada", "admin"))
    valid, dict_ids = _valid_values(app, db)
    # the pages above still name DELETED_RUN in their state; now `sectionist runs delete` it
    from sectionist.dashboard.judging.runs_cli import delete_run
    from sectionist.dashboard.models import get_database

    delete_run(store, DELETED_RUN, get_database(db))
    return app, client, valid, dict_ids


def _walk(component, valid: dict, dict_ids: list) -> None:
    from dash.development.base_component import Component

    if isinstance(component, (list, tuple)):
        for c in component:
            _walk(c, valid, dict_ids)
        return
    if not isinstance(component, Component):
        return
    props = component.to_plotly_json()["props"]
    cid = props.get("id")
    if isinstance(cid, dict):
        dict_ids.append(cid)
    for name, value in props.items():
        if name == "children":
            continue
        if cid is not None and not isinstance(value, Component):
            valid.setdefault((json.dumps(cid, sort_keys=True) if isinstance(cid, dict) else cid, name), value)
    for name, value in props.items():
        if isinstance(value, (Component, list, tuple)):
            _walk(value, valid, dict_ids)


def _valid_values(app, db):
    """{(id, property): value} and the dict ids found in every page's layout (drawn for a logged-in
    admin on KEEP_RUN and DELETED_RUN) and in the panels and players the pages render later."""
    import dash
    from flask_login import login_user

    from sectionist.dashboard.auth.accounts import get_user
    from sectionist.dashboard.data.store_data import get_data
    from sectionist.dashboard.models import get_database
    from sectionist.dashboard.ui.components import judging

    valid, dict_ids = {}, []
    ada = get_user(get_database(db), "ada")
    for page in dash.page_registry.values():
        for run in (KEEP_RUN, DELETED_RUN):
            with app.server.test_request_context(page["path"]):
                login_user(ada)
                layout = page["layout"](run=run) if callable(page["layout"]) else page["layout"]
                _walk(layout, valid, dict_ids)
    with app.server.test_request_context("/"):
        login_user(ada)
        data = get_data()
        sid = str(data.section_ids[0])
        for page in ("map", "clusters", "compare", "songs", "judge"):
            _walk(judging.panel_children(page, {"section_id": sid, "run_id": KEEP_RUN}), valid, dict_ids)
            dict_ids.append({"type": "play", "page": page, "section": sid})
            valid.setdefault((f"{page}-selected", "data"), {"section_id": sid, "run_id": KEEP_RUN})
        for slot in ("A", "B"):
            dict_ids.append({"type": "slot", "page": "map", "slot": slot})
        valid[("judge-queue", "data")] = {
            "items": [{"section_id": sid, "run_id": KEEP_RUN, "cluster": 0}], "index": 0, "blind": False,
            "strategy": "random", "run_id": KEEP_RUN}
        valid[("app-selection", "data")] = {"section_id": sid, "run_id": KEEP_RUN}
        valid[("map-graph-click", "data")] = {"row": 0}
        valid[("songs-timeline-click", "data")] = {"row": 0}
        valid[("map-selection-rows", "data")] = {"rows": [0, 1, 2], "n": 3, "active": True}
    # the valid values name runs that stay (the pages' defaults may pick the one deleted later)
    for key, value in valid.items():
        if value == DELETED_RUN:
            valid[key] = OTHER_RUN
        elif isinstance(value, dict) and value.get("run_id") == DELETED_RUN:
            valid[key] = {**value, "run_id": OTHER_RUN}
    return valid, dict_ids


def _matches(pattern: dict, dict_ids: list) -> list:
    out = []
    for cid in dict_ids:
        if set(cid) == set(pattern) and all(v == ["ALL"] or v == "ALL" or cid[k] == v for k, v in pattern.items()):
            if cid not in out:
                out.append(cid)
    return out


def _dep(dep: dict, dict_ids: list, value_of):
    """The request entry of one input/state/output: a plain ``{id, property[, value]}``, or the list
    of matches of a wildcard id."""
    cid, prop = dep["id"], dep["property"]
    if cid.startswith("{"):
        pattern = json.loads(cid)
        return [{"id": m, "property": prop, **value_of(json.dumps(m, sort_keys=True), prop, pattern)}
                for m in _matches(pattern, dict_ids)]
    return {"id": cid, "property": prop, **value_of(cid, prop, None)}


def _outputs(key: str):
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    out = []
    for part in parts:
        part = part.split("@")[0]
        cid, prop = part.rsplit(".", 1)
        out.append({"id": cid, "property": prop})
    return out


def _bad_values(valid_value):
    bad = list(BAD_SCALARS)
    if isinstance(valid_value, dict):
        for k in list(valid_value)[:8]:
            for v in ("x", 2**70, None, -1):
                bad.append({**valid_value, k: v})
        bad.append({**valid_value, "items": [{"section_id": "nope", "run_id": DELETED_RUN}]})
    return bad


def _requests(app, valid, dict_ids):
    """(description, body) for every server callback × each input/state × each bad value."""
    for key, cb in app.callback_map.items():
        if cb.get("callback") is None or "_pages" in key:
            continue  # clientside (runs in the browser) or Dash's own page routing
        deps = [("inputs", d) for d in cb["inputs"]] + [("state", d) for d in cb["state"]]
        outputs = []
        for o in _outputs(key):
            entry = _dep(o, dict_ids, lambda c, p, pat: {})
            outputs.append(entry)
        for i, (_, target) in enumerate(deps):
            tkey = (target["id"], target["property"])
            tvalid = valid.get(tkey)
            if tkey[0].startswith("{"):
                ms = _matches(json.loads(tkey[0]), dict_ids)
                tvalid = valid.get((json.dumps(ms[0], sort_keys=True), tkey[1])) if ms else None
            for bad in _bad_values(tvalid):
                body = {"output": key, "outputs": outputs if len(outputs) > 1 or key.startswith("..") else outputs[0],
                        "inputs": [], "state": []}
                for j, (where, d) in enumerate(deps):
                    def value_of(c, p, pat, j=j, bad=bad):
                        return {"value": bad if j == i else valid.get((c, p))}
                    entry = _dep(d, dict_ids, value_of)
                    body[where].append(entry)
                changed = body["inputs"][0] if i >= len(cb["inputs"]) else body["inputs"][i]
                first = changed[0] if isinstance(changed, list) and changed else changed
                if isinstance(first, dict):
                    cid = first["id"]
                    body["changedPropIds"] = [
                        f"{json.dumps(cid, sort_keys=True, separators=(',', ':')) if isinstance(cid, dict) else cid}"
                        f".{first['property']}"]
                else:
                    body["changedPropIds"] = []
                yield f"{key} {target['id']}.{target['property']}={str(bad)[:60]!r}", body


def test_no_callback_answers_500_to_crafted_or_stale_input(fuzz_app):
    from tests.auth_helpers import csrf_header

    app, client, valid, dict_ids = fuzz_app
    headers = {**csrf_header(client), "Content-Type": "application/json"}
    failures, n, t0 = [], 0, time.monotonic()
    for what, body in _requests(app, valid, dict_ids):
        n += 1
        resp = client.post("/_dash-update-component", data=json.dumps(body), headers=headers)
        if resp.status_code not in (200, 204):
            failures.append(f"{resp.status_code} {what}")
    elapsed = time.monotonic() - t0
    print(f"{n} requests in {elapsed:.1f} s")
    assert n > 1000
    assert not failures, f"{len(failures)} of {n} requests failed:\n" + "\n".join(failures[:60])


def _valid_requests(app, valid, dict_ids):
    """One request per server callback with every input and state at its valid value."""
    seen = set()
    for what, body in _requests(app, valid, dict_ids):
        key = body["output"]
        if key in seen:
            continue
        seen.add(key)
        for part in ("inputs", "state"):
            for entry in body[part]:
                for e in entry if isinstance(entry, list) else [entry]:
                    cid = json.dumps(e["id"], sort_keys=True) if isinstance(e["id"], dict) else e["id"]
                    e["value"] = valid.get((cid, e["property"]))
        yield key, body


def test_every_callback_input_and_state_has_a_check(fuzz_app):
    from sectionist.dashboard.ui.inputs import SPECS, is_dash_internal, spec_key

    app = fuzz_app[0]
    missing = set()
    for key, cb in app.callback_map.items():
        if cb.get("callback") is None:
            continue
        for dep in cb["inputs"] + cb["state"]:
            cid = json.loads(dep["id"]) if dep["id"].startswith("{") else dep["id"]
            if not is_dash_internal(cid) and (spec_key(cid), dep["property"]) not in SPECS:
                missing.add((spec_key(cid), dep["property"]))
    assert not missing, f"callback inputs without a check in sectionist/dashboard/ui/inputs.py: {sorted(missing)}"


def test_valid_values_pass_the_checks(fuzz_app):
    """The checks refuse nothing a page really sends: each callback with its layout's values."""
    from tests.auth_helpers import csrf_header

    app, client, valid, dict_ids = fuzz_app
    headers = {**csrf_header(client), "Content-Type": "application/json"}
    refused = []
    for key, body in _valid_requests(app, valid, dict_ids):
        resp = client.post("/_dash-update-component", data=json.dumps(body), headers=headers)
        assert resp.status_code in (200, 204), (key, resp.status_code)
        if resp.status_code == 200 and "app-input-alert" in (resp.get_json().get("sideUpdate") or {}):
            refused.append(f"{key}: {resp.get_json()['sideUpdate']['app-input-alert']['children']}")
    assert not refused, "\n".join(refused)


@pytest.mark.parametrize("output, target, value", [
    ("..judge-queue.data...judge-selected.data..", "judge-start", 2**70),
    ("..judge-queue.data...judge-selected.data..", "judge-start", 2**31),
    ("..judge-queue.data...judge-selected.data..", "judge-strategy", "cheapest"),
    ("..judge-queue.data...judge-selected.data..", "judge-run", DELETED_RUN),
    ("..map-graph.figure...map-count.children...map-meta.data..", "map-clusters", [2**70]),
    ("..map-clusters.options...map-clusters.value..", "map-run", DELETED_RUN),
    ("..compare-metrics.children...compare-heatmap.figure...compare-sankey.figure..", "compare-run-a", DELETED_RUN),
    ("clusters-download.data", "clusters-export-kind", "projector"),
    ("..judge-item.children...judge-progress.children...judge-pair-bar.hidden..", "judge-queue", "index=x"),
])
def test_the_issue_cases_answer_with_a_message(fuzz_app, output, target, value):
    """Issue 24.2's cases: no update, and the alert says which value and why."""
    from tests.auth_helpers import csrf_header

    app, client, valid, dict_ids = fuzz_app
    body = next(b for k, b in _valid_requests(app, valid, dict_ids) if k == output)
    if value == "index=x":
        value = {**valid[("judge-queue", "data")], "index": "x"}
    for part in ("inputs", "state"):
        for e in body[part]:
            if isinstance(e, dict) and e["id"] == target:
                e["value"] = value
                body["changedPropIds"] = [f"{target}.{e['property']}"]
    resp = client.post("/_dash-update-component", data=json.dumps(body),
                       headers={**csrf_header(client), "Content-Type": "application/json"})
    assert resp.status_code == 200, resp.status_code
    out = resp.get_json()
    assert out["response"] == {}
    assert target in out["sideUpdate"]["app-input-alert"]["children"]


def test_moving_to_another_page_clears_the_alert(fuzz_app):
    """The alert belongs to the page that sent the bad value: the navigation callback empties it."""
    from tests.auth_helpers import csrf_header

    app, client, valid, dict_ids = fuzz_app
    key, body = next((k, b) for k, b in _valid_requests(app, valid, dict_ids)
                     if "app-input-alert.children" in k and "app-nav.children" in k)
    resp = client.post("/_dash-update-component", data=json.dumps(body),
                       headers={**csrf_header(client), "Content-Type": "application/json"})
    assert resp.status_code == 200
    assert resp.get_json()["response"]["app-input-alert"] == {"children": None}


@pytest.mark.parametrize("target, value", [
    # what the browser really sends: CLICK_TO_ROW_JS's stores and a Plotly click with its bbox
    ((ids.click(ids.MAP_GRAPH), "data"), {"row": 3, "at": 1765100000000.5}),
    ((ids.click(ids.MAP_GRAPH), "data"), {"cell": [0.25, -1.5], "at": 1765100000000}),
    ((ids.click(ids.SONGS_TIMELINE), "data"), {"row": 0, "at": 1765100000000}),
    ((ids.CLUSTERS_SIZES, "clickData"), {"points": [{"curveNumber": 0, "pointNumber": 2, "pointIndex": 2,
                                                      "x": 2, "y": 14, "label": 2, "value": 14,
                                                      "customdata": [2, "loud"],
                                                      "bbox": {"x0": 1.5, "x1": 9.5, "y0": 20, "y1": 80}}]}),
])
def test_what_browsers_send_passes_the_checks(fuzz_app, target, value):
    """Values as Chromium's Dash renderer posts them after a click (the layouts hold only the
    initial ``None``, so the fuzz test's valid values cannot show these)."""
    from sectionist.dashboard.ui.inputs import SPECS, Invalid

    app, client, valid, dict_ids = fuzz_app
    data = app.server.extensions["sectionist_data"]
    try:
        SPECS[target](value, data)
    except Invalid as exc:  # pragma: no cover - the failure message
        pytest.fail(f"{target} refused {value!r}: {exc}")
