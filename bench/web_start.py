"""Start time and memory of the web process (not run by CI).

Builds (once, cached under bench/out/web_start/) a small synthetic store with audio, then, in fresh
subprocesses, times what a gunicorn worker does before its first request — import the app module
and call ``create_app`` — and reads the subprocess's peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) twice: after that start, and after serving the main
pages (every registered page's layout, a section's spectrogram and audio, through the Flask test
client, logged in). Each child also reports which heavy modules (librosa, numba, torch, the
embeddings package) ended up imported.

"before" runs the same children against another tree given with ``--before PATH`` (default
``/tmp/old``, the layout before the one ``sectionist`` package: top-level ``dashboard``,
``analysis``, ``store``; a ``git archive`` of an earlier commit works too), put first on
``PYTHONPATH``; "after" runs them against this checkout (or ``--after PATH``).
Median of ``--repeats`` runs each (default 5), the two sides' runs interleaved. The last printed line is one JSON object:
{"import_s_before", "import_s_after", "create_app_s_before", "create_app_s_after", "start_s_before",
"start_s_after", "rss_mb_before", "rss_mb_after", "rss_served_mb_before", "rss_served_mb_after",
"heavy_before", "heavy_after"}.

Usage: python bench/web_start.py [--before /tmp/old] [--after PATH] [--repeats 5] [--only after]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "web_start"

#: The child: everything it prints on its last line is one JSON object.
CHILD = r"""
import json, resource, sys, time, uuid
t0 = time.perf_counter()
pkg = sys.argv[3]  # "sectionist." or "" (the old layout's top-level packages)
import importlib
create_app = importlib.import_module(pkg + "dashboard.app").create_app
t1 = time.perf_counter()
store, db = sys.argv[1], sys.argv[2]
app = create_app(store, db_url=db, secret_key="b" * 40)
t2 = time.perf_counter()
rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

import dash
# where create_user lives: the auth module of the old layout, auth.accounts since auth is a package
auth = importlib.import_module(pkg + ("dashboard.auth.accounts" if pkg else "dashboard.auth"))
models = importlib.import_module(pkg + "dashboard.models")
user = "bench" + uuid.uuid4().hex[:8]
password = auth.create_user(models.get_database(db), user, "admin")
client = app.server.test_client()
page = client.get("/login").get_data(as_text=True)
token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
assert client.post("/login", data={"username": user, "password": password, "csrf_token": token}).status_code == 302
data = app.server.extensions["sectionist_data"]
sid = str(data.section_ids[0])
status = {}
for path in ["/", "/map", "/clusters", "/compare", "/songs", "/judge", "/judgements", "/_dash-layout",
             "/_dash-dependencies", f"/spectrogram/{sid}.png", f"/audio/{sid}.wav"]:
    status[path] = client.get(path).status_code
with app.server.test_request_context("/"):
    for p in dash.page_registry.values():
        if p["path"] in ("/", "/map", "/clusters", "/compare", "/songs"):
            p["layout"]()
rss_served = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
heavy = sorted(m for m in ("librosa", "numba", "torch", pkg + "analysis.embeddings") if m in sys.modules)
print(json.dumps({"import_s": t1 - t0, "create_app_s": t2 - t1, "rss_mb": rss_start, "rss_served_mb": rss_served,
                  "heavy": heavy, "status": status}))
"""


def build_store() -> str:
    store = OUT / "store"
    if not (store / "manifest.json").exists():
        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, str(ROOT / "tests"))
        from synthetic_store import build_synthetic_store

        build_synthetic_store(store, n_sections=96, sections_per_song=16, section_seconds=3.0, audio=True,
                              audio_sr=8000, random_state=5)
    return str(store)


def run_child(pythonpath: str, store: str, i: int, label: str) -> dict:
    env = dict(os.environ, PYTHONPATH=pythonpath, OMP_NUM_THREADS="1")
    pkg = "sectionist." if (Path(pythonpath) / "sectionist" / "dashboard").is_dir() else ""
    db_file = OUT / f"users-{label}-{i}.sqlite"  # a fresh database each run (both sides create its tables)
    db_file.unlink(missing_ok=True)
    db = f"sqlite:///{db_file}"
    # run from a neutral folder so the checkout is only importable through PYTHONPATH
    proc = subprocess.run([sys.executable, "-c", CHILD, store, db, pkg], env=env, cwd=str(OUT), capture_output=True,
                          text=True, timeout=600)
    db_file.unlink(missing_ok=True)
    if proc.returncode:
        raise SystemExit(f"{label} run {i} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict], label: str) -> dict:
    out = {k: statistics.median(r[k] for r in runs) for k in ("import_s", "create_app_s", "rss_mb", "rss_served_mb")}
    out["start_s"] = statistics.median(r["import_s"] + r["create_app_s"] for r in runs)
    out["heavy"] = runs[-1]["heavy"]
    out["status"] = runs[-1]["status"]
    print(f"{label}: import {out['import_s']:.2f} s, create_app {out['create_app_s']:.2f} s, "
          f"start {out['start_s']:.2f} s, max RSS {out['rss_mb']:.0f} MB after start, "
          f"{out['rss_served_mb']:.0f} MB after serving; heavy modules: {out['heavy'] or 'none'}", flush=True)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="/tmp/old", help="tree of the 'before' measurement (PYTHONPATH)")
    ap.add_argument("--after", default=str(ROOT), help="tree of the 'after' measurement (default: this checkout)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", choices=["before", "after"], help="measure one side only")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    store = build_store()
    result = {}
    sides = [(label, path) for label, path in (("before", args.before), ("after", args.after))
             if not args.only or label == args.only]
    runs = {label: [] for label, _ in sides}
    for i in range(args.repeats):  # interleaved, so a change in the machine's load hits both sides alike
        for label, path in sides:
            runs[label].append(run_child(path, store, i, label))
    for label, _ in sides:
        m = summarise(runs[label], label)
        for k in ("import_s", "create_app_s", "start_s", "rss_mb", "rss_served_mb", "heavy"):
            result[f"{k}_{label}"] = round(m[k], 3) if isinstance(m[k], float) else m[k]
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
