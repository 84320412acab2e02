"""The Lab page's first open and song change, through the real server in a real browser (issue #23;
not run by CI).

Starts the web app as ``sectionist serve`` does (gunicorn, ``--workers`` processes of the gthread
class, ``--threads`` each) on ``--store``, makes an expert with ``sectionist users add``, logs in
through the login form in headless Chromium (Debian's, through Playwright, as the browser tests do)
and, ``--repeats`` times (each time in a fresh server, so every worker starts cold):

- opens ``/lab?song=…`` (a song picked in turn from the store) and times it from the navigation
  until the counts line shows the song's numbers ("first open");
- picks ``--changes`` other songs in the Song dropdown with real clicks and times each from the
  click until the counts line shows the new song's numbers ("song change"), and whether the old
  song's counts were still on screen 100 ms after the click ("stale");
- moves the threshold slider with the keyboard (→ five times: five settings).

Every ``/_dash-update-component`` request is timed in the page (the browser's Resource Timing:
request sent → answer's first byte, which on loopback is the server's time) and grouped by the
callback's outputs. Printed: first open and song change (p50 / max), p50 / p95 / max per callback,
and as the last line one JSON object::

    {"store_songs", "workers", "first_open_s": [...], "song_change_s": [...], "stale_after_100ms",
     "callback_p95_s": {outputs: p95}, "callback_p95_max_s"}

With ``--warm``, ``sectionist media-warm`` runs first (into the server's media folder: every song's
Lab front end, :mod:`sectionist.dashboard.data.lab_cache`; the sections' media are cut short by
``--share 0.001``). Without it, the folder holds what earlier visits made (each visit opens other songs).

Usage: python bench/lab.py --store S [--repeats 3] [--changes 4] [--workers 2] [--threads 8] [--warm]
[--workdir /tmp/sectionist-lab-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests"))  # the browser tests' Chromium launcher

#: The counts line's id (sectionist.dashboard.ui.ids.LAB_COUNTS).
COUNTS = "lab-counts"
PASSWORD = "lab-bench-" + "x" * 12

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: str, db_url: str, workdir: Path, workers: int, threads: int):
    """``sectionist serve`` on a free port; ``(process, base URL)`` once it answers ``/healthz``."""
    import urllib.request

    port = _free_port()
    env = dict(os.environ, SECRET_KEY=secrets.token_urlsafe(32), SECTIONIST_DATA_DIR=str(workdir / "data"))
    log = open(workdir / "server.log", "a")
    proc = subprocess.Popen([str(BIN / "sectionist"), "serve", "--store", store, "--db", db_url, "--port", str(port),
                             "--workers", str(workers), "--threads", str(threads), "--no-warm"], stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped ({proc.returncode}); see {workdir / 'server.log'}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return proc, base
        except OSError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the server did not answer /healthz in 120 s")


def _counts(page) -> str:
    return page.locator(f"#{COUNTS}").inner_text()


def _wait_counts(page, old: str, timeout_s: float = 120.0) -> None:
    """Wait until the counts line shows numbers (digits, not the waiting text) other than ``old``, or
    the same numbers again after the waiting text (another song may have the same counts); checked
    on every animation frame."""
    page.wait_for_function(
        "([id, old]) => { const t = (document.getElementById(id) || {}).innerText || '';"
        " if (!/\\d/.test(t)) { window.__labWaited = true; }"
        " return /\\d/.test(t) && (t !== old || window.__labWaited === true); }", arg=[COUNTS, old],
        timeout=timeout_s * 1000, polling="raf")


def _record(calls: list):
    """A Playwright ``requestfinished`` handler: each ``_dash-update-component`` request's outputs and
    server time (request sent → first byte of the answer) appended to ``calls``."""
    def handler(request):
        if "_dash-update-component" not in request.url:
            return
        try:
            output = (request.post_data_json or {}).get("output", "?")
        except ValueError:
            output = "?"
        timing = request.timing
        calls.append((output, (timing["responseStart"] - timing["requestStart"]) / 1000))
    return handler


def visit(base: str, songs: list[tuple[str, str]], first: int, changes: int) -> dict:
    """One browser visit: log in, open the Lab on ``songs[first]``, change song ``changes`` times,
    move the threshold. Returns the times and every callback's ``(outputs, seconds)``."""
    from browser_helpers import chromium_page

    out = {"first_open_s": None, "song_change_s": [], "stale": 0, "calls": []}
    with chromium_page(viewport=(1440, 900), timeout_ms=120_000) as (page, errors):
        page.goto(base + "/login")
        page.fill("input[name=username]", "labbench")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-button")
        page.wait_for_url(lambda u: "/login" not in u)
        page.on("requestfinished", _record(out["calls"]))
        t0 = time.perf_counter()
        page.goto(f"{base}/lab?song={songs[first][0]}")
        _wait_counts(page, "")
        out["first_open_s"] = time.perf_counter() - t0
        for j in range(1, changes + 1):
            title = songs[(first + 7 * j) % len(songs)][1]
            old = _counts(page)
            page.evaluate("window.__labWaited = false")
            page.click("#lab-song")
            page.keyboard.type(title)
            option = page.get_by_role("option", name=title, exact=True)
            try:
                option.click(timeout=10_000)
            except Exception:  # the list did not offer it (a title the search box matches otherwise): next
                page.keyboard.press("Escape")
                continue
            t_click = time.perf_counter()
            page.wait_for_timeout(100)
            out["stale"] += int(_counts(page) == old)
            _wait_counts(page, old)
            out["song_change_s"].append(time.perf_counter() - t_click)
        page.locator("#lab-threshold [role=slider]").focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(300)
        page.wait_for_timeout(1000)
        out["errors"] = list(errors)
    return out


def _pct(xs, q):
    return float(np.percentile(xs, q)) if xs else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--changes", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--workdir", default="/tmp/sectionist-lab-bench")
    ap.add_argument("--warm", action="store_true",
                    help="run 'sectionist media-warm' first (every song's Lab front end; sections' media barely)")
    args = ap.parse_args(argv)
    from sectionist.store import open_store
    from sectionist.store.schema import SONGS

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    songs_df = open_store(args.store, create=False).read_table(SONGS, columns=["song_id", "title"])
    songs = sorted(zip(songs_df["song_id"].astype(str), songs_df["title"].astype(str)), key=lambda s: s[1])
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    subprocess.run([str(BIN / "sectionist"), "users", "add", "labbench", "--role", "expert", "--password-stdin",
                    "--reset-if-exists", "--db", db_url], input=PASSWORD + "\n", text=True, check=True,
                   stdout=subprocess.DEVNULL)
    if args.warm:
        env = dict(os.environ, SECTIONIST_DATA_DIR=str(workdir / "data"))
        t0 = time.perf_counter()
        subprocess.run([str(BIN / "sectionist"), "media-warm", "--store", args.store, "--share", "0.001",
                        "--languages", "en"], check=True, env=env)
        print(f"media-warm: {time.perf_counter() - t0:.1f} s", flush=True)
    firsts, changes, stale, calls, errors = [], [], 0, [], []
    for r in range(args.repeats):
        proc, base = start_server(args.store, db_url, workdir, args.workers, args.threads)
        try:
            v = visit(base, songs, (11 * r) % len(songs), args.changes)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        firsts.append(v["first_open_s"])
        changes += v["song_change_s"]
        stale += v["stale"]
        calls += v["calls"]
        errors += v["errors"]
        print(f"visit {r + 1}: first open {v['first_open_s']:.2f} s, song changes "
              + ", ".join(f"{x:.2f}" for x in v["song_change_s"]) + f" s, stale after 100 ms: {v['stale']}",
              flush=True)
    print(f"first open: p50 {_pct(firsts, 50):.2f} s, max {max(firsts):.2f} s ({len(firsts)} cold servers)")
    print(f"song change: p50 {_pct(changes, 50):.2f} s, max {max(changes):.2f} s; old counts on screen 100 ms "
          f"after the click: {stale} of {len(changes)}")
    groups: dict = {}
    for output, t in calls:
        groups.setdefault(output, []).append(t)
    print(f"{'callback outputs':70s} {'n':>4s} {'p50 s':>7s} {'p95 s':>7s} {'max s':>7s}")
    for output, ts in sorted(groups.items(), key=lambda kv: -_pct(kv[1], 95)):
        print(f"{output[:70]:70s} {len(ts):4d} {_pct(ts, 50):7.3f} {_pct(ts, 95):7.3f} {max(ts):7.3f}")
    if errors:
        print("page errors:", *errors[:5], sep="\n  ")
    p95 = {o: round(_pct(ts, 95), 3) for o, ts in groups.items()}
    print(json.dumps({"store_songs": len(songs), "workers": args.workers,
                      "first_open_s": [round(x, 2) for x in firsts], "song_change_s": [round(x, 2) for x in changes],
                      "stale_after_100ms": stale, "callback_p95_s": p95,
                      "callback_p95_max_s": max(p95.values()) if p95 else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
