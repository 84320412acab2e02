"""The web process stays light: no librosa, numba, torch or embeddings package.

A gunicorn worker imports ``sectionist.dashboard.app`` and builds the app; what it serves reads the
store (saliency maps included) and draws spectrograms with :mod:`sectionist.analysis.melscale`
(numpy/scipy). A fresh subprocess does just that — import, ``create_app``, log in, request the
pages, render every page's layout and the main views, the spectrogram and audio routes, the exports,
a musicnn run's saliency map — and reports ``sys.modules``. The module-level imports of every
dashboard module are checked too, and the light modules are compared with librosa.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from synthetic_store import build_synthetic_store

ROOT = Path(__file__).resolve().parents[1]
#: Never in the web process.
HEAVY = ("librosa", "numba", "torch", "sectionist.analysis.embeddings")
SALIENCY_RUN = "synthnet-hdbscan"

CHILD = r"""
import json, sys
store_uri, db_url = sys.argv[1], sys.argv[2]
from sectionist.dashboard.app import create_app
app = create_app(store_uri, db_url=db_url, secret_key="w" * 40)
after_start = sorted(m for m in sys.modules if m.split(".")[0] in ("librosa", "numba", "torch")
                     or m.startswith("sectionist.analysis.embeddings"))

import dash
from auth_helpers import login, make_user

password = make_user(db_url, "ada", "admin")
client = app.server.test_client()
login(client, "ada", password)
data = app.server.extensions["sectionist_data"]
sid = str(data.section_ids[0])
status = {}
for path in ["/", "/map", "/clusters", "/compare", "/songs", "/judge", "/judgements", "/lab", "/_dash-layout",
             "/_dash-dependencies", f"/spectrogram/{sid}.png", f"/audio/{sid}.wav", "/healthz", "/api/me",
             f"/api/cluster-names?run_id={data.runs.index[0]}"]:
    status[path] = client.get(path).status_code
for run_id in data.runs.index:
    for cluster in data.clusters(run_id).index[:2]:
        status[f"/spectrogram/cluster/{run_id}/{cluster}.png"] = \
            client.get(f"/spectrogram/cluster/{run_id}/{int(cluster)}.png").status_code

from sectionist.dashboard.media import downloads
from sectionist.dashboard.pages import clusters, compare, overview

run_ids = list(data.runs.index)
song = str(data.songs.index[0]) if data.songs.index.name == "song_id" else str(data.songs["song_id"].iloc[0])
with app.server.test_request_context("/"):
    pages = {p["path"]: p for p in dash.page_registry.values() if callable(p.get("layout"))}
    for path, page in pages.items():
        if path != "/lab":  # the Lab segments audio on request: librosa there is expected
            page["layout"]()
    pages["/map"]["layout"](section=sid, run=run_ids[0])
    pages["/clusters"]["layout"](run=run_ids[0], section=sid)
    pages["/songs"]["layout"](song=song, section=sid, run=run_ids[0])
    pages["/compare"]["layout"](a=run_ids[0], b=run_ids[1], section=sid)
    overview.runs_table_data(data)
    compare.metrics_view(data, run_ids[0], run_ids[1])
    compare.compare_figures(data, run_ids[0], run_ids[1])
    for run_id in run_ids:
        for cluster in data.clusters(run_id).index[:2]:
            clusters.cluster_body(data, run_id, int(cluster))
    exp = downloads.export_data(data, run_ids[:1])
    for kind in ("reaper", "xspf", "audacity", "csv"):
        downloads.export_payload(kind, exp, base_url="http://localhost", title="t")
    # a musicnn run's stored saliency map (the test wrote one for the run; its space says musicnn here)
    data.runs.loc[sys.argv[3], "space"] = "musicnn"
    block = clusters.saliency_block(data, sys.argv[3], 0)
    import plotly.io.json as pj
    saliency_shown = "heatmap" in pj.to_json_plotly(block)

heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("librosa", "numba", "torch")
               or m.startswith("sectionist.analysis.embeddings"))
print(json.dumps({"after_start": after_start, "heavy": heavy, "status": status, "saliency": saliency_shown}))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import pandas as pd

    from sectionist.analysis.embeddings.saliency import METHOD
    from sectionist.store.schema import SALIENCY

    root = tmp_path_factory.mktemp("web-imports") / "store"
    store = build_synthetic_store(root, n_sections=40, sections_per_song=10, section_seconds=2.0, audio=True,
                                  audio_sr=8000, random_state=3)
    m = np.full((96, 4), 1.0 / (96 * 4), dtype=np.float32)
    rows = [{"run_id": SALIENCY_RUN, "cluster": c, "n_sections": 3, "n_freq": 96, "n_time": 4,
             "map": m.ravel().tolist(), "profile": m.mean(axis=1).tolist(), "method": METHOD,
             "space": "musicnn", "layer": "penultimate"} for c in (0, 1)]
    store.write_part(SALIENCY, SALIENCY.part(run_id=SALIENCY_RUN), pd.DataFrame(rows))
    return store


def test_web_process_imports_no_heavy_module(store, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    proc = subprocess.run([sys.executable, "-c", CHILD, store.uri, f"sqlite:///{tmp_path / 'users.sqlite'}",
                           SALIENCY_RUN], env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    bad = {path: code for path, code in out["status"].items() if code != 200}
    assert not bad, bad
    assert out["saliency"], "the stored saliency map was not drawn"
    assert out["after_start"] == [], f"import + create_app pulled in {out['after_start']}"
    assert out["heavy"] == [], f"serving the pages pulled in {out['heavy']}"


def _module_level_imports(path: Path) -> list[str]:
    """Names imported by the module's own top-level statements (``if``/``try`` blocks included)."""
    names = []

    def walk(body):
        for node in body:
            if isinstance(node, ast.Import):
                names.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
                names.extend(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, (ast.If, ast.Try)):
                walk(node.body)
                walk(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    walk(h.body)

    walk(ast.parse(path.read_text(), filename=str(path)).body)
    return names


def _module_path(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def test_no_dashboard_module_imports_a_heavy_module_at_import_time():
    """Following module-level imports only (what importing a module runs), no dashboard module reaches
    librosa, numba, torch or the embeddings package — whichever page Dash loads."""
    start = [".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
             for p in (ROOT / "sectionist" / "dashboard").rglob("*.py")]
    seen, stack, parent = set(start), list(start), {}
    found = []
    while stack:
        mod = stack.pop()
        path = _module_path(mod)
        if path is None:
            continue
        for name in _module_level_imports(path):
            if name.split(".")[0] in ("librosa", "numba", "torch") or name.startswith(HEAVY[3]):
                chain, m = [name, mod], mod
                while m in parent:
                    m = parent[m]
                    chain.append(m)
                found.append(" <- ".join(chain))
                continue
            parts = name.split(".")
            # the module itself and the packages above it run on import
            for i in range(1, len(parts) + 1):
                sub = ".".join(parts[:i])
                if sub.startswith("sectionist") and sub not in seen and _module_path(sub) is not None:
                    seen.add(sub)
                    parent[sub] = mod
                    stack.append(sub)
    assert not found, "\n".join(found)


def test_saliency_reader_matches_musicnn():
    from sectionist.analysis import saliency_maps
    from sectionist.analysis.embeddings import musicnn, saliency

    assert (saliency_maps.MUSICNN_SR, saliency_maps.MUSICNN_N_MELS) == (musicnn.SR, musicnn.N_MELS)
    assert saliency.band_frequencies is saliency_maps.band_frequencies
    import librosa

    expected = librosa.mel_frequencies(n_mels=musicnn.N_MELS + 2, fmax=musicnn.SR / 2)[1:-1]
    np.testing.assert_array_equal(saliency_maps.band_frequencies(), expected)
    np.testing.assert_array_equal(saliency_maps.band_frequencies(n_mels=40, sr=8000),
                                  librosa.mel_frequencies(n_mels=42, fmax=4000)[1:-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, sr, hop, n_mels, fmax", [
    (24000, 8000, 128, 96, 4000.0), (2048, 22050, 128, 96, None), (50001, 22050, 62, 64, 8000.0),
    (3001, 16000, 512, 128, None),
])
def test_melscale_equals_librosa(dtype, n, sr, hop, n_mels, fmax):
    import librosa

    from sectionist.analysis import melscale

    y = (0.3 * np.random.default_rng(n).standard_normal(n)).astype(dtype)
    fmax = fmax or sr / 2
    want = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=hop, n_mels=n_mels, fmax=fmax)
    got = melscale.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=hop, n_mels=n_mels, fmax=fmax)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    np.testing.assert_allclose(melscale.power_to_db(got, ref=np.max, top_db=80.0),
                               librosa.power_to_db(want, ref=np.max, top_db=80.0), rtol=0, atol=1e-4)


def test_mel_scale_and_filters_equal_librosa():
    import librosa

    from sectionist.analysis import melscale

    hz = np.array([0.0, 50.0, 999.9, 1000.0, 4000.0, 11025.0, 16000.0])
    np.testing.assert_array_equal(melscale.hz_to_mel(hz), librosa.hz_to_mel(hz))
    assert all(float(melscale.hz_to_mel(f)) == float(librosa.hz_to_mel(f)) for f in hz)
    mels = librosa.hz_to_mel(hz)
    np.testing.assert_array_equal(melscale.mel_to_hz(mels), librosa.mel_to_hz(mels))
    np.testing.assert_array_equal(melscale.mel_frequencies(98, fmax=8000.0),
                                  librosa.mel_frequencies(n_mels=98, fmax=8000.0))
    np.testing.assert_array_equal(melscale.mel_filters(sr=22050, n_fft=2048, n_mels=96, fmax=8000.0),
                                  librosa.filters.mel(sr=22050, n_fft=2048, n_mels=96, fmax=8000.0))
    S = np.abs(np.random.default_rng(1).standard_normal((64, 30))) ** 2
    np.testing.assert_array_equal(melscale.power_to_db(S), librosa.power_to_db(S))
    np.testing.assert_array_equal(melscale.power_to_db(S, ref=np.max, top_db=None),
                                  librosa.power_to_db(S, ref=np.max, top_db=None))


def test_feature_names_are_the_features_modules():
    from sectionist.analysis.sections import feature_names, features

    for name in ("FEATURE_NAMES", "FEATURE_SETS", "CLASSICAL", "CLASSICAL17", "STATS", "feature_columns"):
        assert getattr(features, name) is getattr(feature_names, name), name
