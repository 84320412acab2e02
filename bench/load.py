"""Many experts clicking the map at once, through the real server (issue #23, item 1; not run by CI).

Starts the web app as ``sectionist serve`` does (gunicorn, ``--workers`` processes of the gthread
class, ``--threads`` each) on a store: ``--store``, else a demo store built once in ``--workdir``
with ``sectionist demo-corpus`` and ``sectionist analyze`` (34 songs of 150 s by default: the 85 minutes of
the issue's store). Creates the accounts with ``sectionist users add`` and, with Locust (2.47, as a
library), lets N logged-in experts use the Map page as Chromium does: each logs in through the
login form (CSRF token and all), opens ``/map`` (the page, ``/_dash-layout``, ``/_dash-dependencies``,
the page's content and the map's first draw through ``/_dash-update-component``), then clicks map
points, waiting ``--think`` seconds (uniform) between clicks. A click posts exactly what Dash's
renderer posts (recorded from Chromium): the selection and the density-click callbacks; once the
selection is back, the shared selection, the judging panel, the map's selection ring and the
detail panel; once the detail is back, its spectrogram image, its audio (autoplay) and the compare
slots' callback. A click's time runs from its first request until the selection, ring, judging
panel, detail and spectrogram have all arrived (the audio streams on and is timed on its own row).

Every level starts its users over ``--ramp`` seconds and then measures the clicks started during
the next ``--duration`` seconds. Printed per level: clicks, per-click p50 / p95, clicks with an
error (any answer but 200/204/206/304, or none), the server's CPU share; then the slowest requests
by p95. The server keeps its rendered media between levels (a section's spectrogram is rendered
once, by the first click on it; its folder is emptied when the bench starts; with ``--warm``,
``sectionist media-warm`` makes them all before the server starts). The load generator
runs on the same machine: on 2 cores it takes some of them. On a machine shared with other work,
``--nice -10`` (root) puts the server and the load generator ahead of it, as on a machine of their
own; the load average printed per level says how busy the machine was.

The last line is one JSON object::

    {"users": [...], "p50_s": [...], "p95_s": [...], "errors": [...], "clicks": [...],
     "target_50_users_p95_lt_2s": bool}

Usage: python bench/load.py [--users 1,10,25,50,100] [--store S] [--duration 60] [--ramp 10] [--nice -10]
[--think 3,7] [--workers 2] [--threads 8] [--warm] [--workdir /tmp/sectionist-load]
"""

from __future__ import annotations

# Locust patches the standard library with gevent when it is imported: first, before anything else
from locust import HttpUser, events, task  # noqa: I001
from locust.exception import StopUser
from locust.env import Environment

import argparse
import itertools
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import gevent
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: The users levels of the issue's curve.
DEFAULT_USERS = (1, 10, 25, 50, 100)
#: Answers that are not errors (204: Dash's "no update"; 206/304: audio ranges and revalidation).
OK_STATUS = (200, 204, 206, 304)
TIMEOUT_S = 120.0
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


# ---- the server ---------------------------------------------------------------------------------
def demo_store(workdir: Path, songs: int, seconds: float) -> Path:
    """A demo store in ``workdir`` (built once: ``sectionist demo-corpus`` then ``sectionist analyze``)."""
    store, audio = workdir / "store", workdir / "songs"
    done = workdir / f"store-{songs}x{seconds:g}.done"
    if done.exists():
        return store
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(audio, ignore_errors=True)
    print(f"building a demo store of {songs} songs x {seconds:g} s in {workdir} (once) …", file=sys.stderr)
    t = time.monotonic()
    subprocess.run([str(BIN / "sectionist"), "demo-corpus", str(audio), "--songs", str(songs), "--seconds",
                    str(seconds), "--seed", "0"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(BIN / "sectionist"), "analyze", str(audio), "--store", str(store), "-q"], check=True)
    print(f"  built in {time.monotonic() - t:.0f} s", file=sys.stderr)
    done.touch()
    return store


def make_users(db_url: str, n: int, password: str) -> list[str]:
    """Accounts ``expert001…`` made by ``sectionist users add`` (one process runs the command for all:
    a process per account would take ~3 s each), each given ``password``."""
    names = [f"expert{i:03d}" for i in range(1, n + 1)]
    script = ("import io, sys\nfrom sectionist.cli import main\n"
              "names, db, pw = sys.argv[1].split(','), sys.argv[2], sys.argv[3]\n"
              "for name in names:\n"
              "    sys.stdin = io.StringIO(pw + '\\n')\n"
              "    rc = main(['users', 'add', name, '--role', 'expert', '--password-stdin', '--reset-if-exists',"
              " '--db', db])\n"
              "    if rc:\n"
              "        sys.exit(rc)\n")
    subprocess.run([sys.executable, "-c", script, ",".join(names), db_url, password], check=True,
                   stdout=subprocess.DEVNULL)
    return names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path, db_url: str, workdir: Path, workers: int, threads: int):
    """``sectionist serve`` under gunicorn on a free loopback port; ``(process, base URL)`` once it answers
    ``/healthz``."""
    import requests

    port = _free_port()
    env = dict(os.environ, SECRET_KEY=secrets.token_urlsafe(32), SECTIONIST_DATA_DIR=str(workdir / "data"))
    log = open(workdir / "server.log", "w")
    proc = subprocess.Popen([str(BIN / "sectionist"), "serve", "--store", str(store), "--db", db_url, "--port",
                             str(port), "--workers", str(workers), "--threads", str(threads), "--no-warm"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped (status {proc.returncode}); see {workdir / 'server.log'}")
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"the server did not answer /healthz in 120 s; see {workdir / 'server.log'}")


def server_cpu_seconds(proc) -> float:
    """CPU seconds used so far by the server's process tree (gunicorn's master and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [proc.pid]
    while pids:
        pid = pids.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


# ---- what the browser posts -------------------------------------------------------------------------
def _walk(component, out: dict) -> None:
    """Every ``(id, property) -> value`` of a Dash component tree (JSON as the server sends it)."""
    if isinstance(component, list):
        for c in component:
            _walk(c, out)
        return
    if not isinstance(component, dict):
        return
    props = component.get("props")
    if not isinstance(props, dict):
        return
    cid = props.get("id")
    if cid is not None:
        key = json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else cid
        for prop, value in props.items():
            if prop != "children":
                out[(key, prop)] = value
    for value in props.values():
        if isinstance(value, (dict, list)):
            _walk(value, out)


def _outputs(output: str) -> list[dict] | dict:
    """Dash's ``outputs`` field from a dependency's output string (``..a.x...b.y..`` for several)."""
    def one(spec):
        cid, prop = spec.rsplit(".", 1) if "@" not in spec else (spec.split(".", 1)[0], spec.split(".", 1)[1])
        return {"id": cid, "property": prop}

    if output.startswith("..") and output.endswith(".."):
        return [one(s) for s in output[2:-2].split("...")]
    return one(output)


def _first_column(values) -> list:
    """A trace's ``customdata`` (a list, or plotly's typed array ``{"dtype", "bdata", "shape"}``) as
    the list of its first column: the section positions the map's points carry."""
    import base64

    if not values:
        return []
    if isinstance(values, dict) and "bdata" in values:
        arr = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        shape = values.get("shape")
        if shape:
            arr = arr.reshape([int(x) for x in str(shape).split(",")])
        return (arr[:, 0] if arr.ndim == 2 else arr).tolist()
    return [v[0] if isinstance(v, list) else v for v in values]


class Callbacks:
    """The app's callbacks as ``/_dash-dependencies`` lists them, and the bodies the renderer posts."""

    def __init__(self, dependencies: list[dict]):
        self.deps = [d for d in dependencies if not d.get("clientside_function")]

    def find(self, *needles: str) -> dict:
        """The one server callback whose output string contains every needle."""
        hits = [d for d in self.deps if all(n in d["output"] for n in needles)]
        if len(hits) != 1:
            raise SystemExit(f"expected one callback with outputs {needles}, found {len(hits)}: has the page changed?")
        return hits[0]

    def where(self, output_prefix: str, input_id: str) -> dict:
        """The one server callback whose output starts with ``output_prefix`` and that reads ``input_id``."""
        hits = [d for d in self.deps if d["output"].startswith(output_prefix)
                and any(i["id"] == input_id for i in d["inputs"])]
        if len(hits) != 1:
            raise SystemExit(f"expected one callback {output_prefix}… on {input_id}, found {len(hits)}")
        return hits[0]

    @staticmethod
    def body(dep: dict, values: dict, changed: list[str]) -> dict:
        """The request body of ``dep`` with inputs and state from ``values`` (``(id, property) ->
        value``; a wildcard input lists the components in ``values`` that match it)."""
        def entry(spec):
            cid, prop = spec["id"], spec["property"]
            if not cid.startswith("{"):
                return {"id": cid, "property": prop, "value": values.get((cid, prop))}
            pattern = json.loads(cid)
            fixed = {k: v for k, v in pattern.items() if not isinstance(v, list)}
            found = []
            for (key, p), value in values.items():
                if p != prop or not key.startswith("{"):
                    continue
                other = json.loads(key)
                if other.keys() == pattern.keys() and all(other[k] == v for k, v in fixed.items()):
                    found.append({"id": other, "property": prop, "value": value})
            return found

        return {"output": dep["output"], "outputs": _outputs(dep["output"]),
                "inputs": [entry(s) for s in dep["inputs"]], "changedPropIds": changed,
                "state": [entry(s) for s in dep["state"]]}


# ---- the users --------------------------------------------------------------------------------------
class MapExpert(HttpUser):
    """One expert: logs in, opens the Map, clicks points (see the module docstring)."""

    # set by run_level
    usernames: list[str] = []
    password = ""
    think = (3.0, 7.0)
    clicks: list = []  # (start time, seconds, error) of every click of the level
    start_failures: list = []  # users whose page did not load, and why
    numbers = itertools.count()

    def wait_time(self):
        return random.uniform(*self.think)

    # -- requests
    def _check(self, resp, what: str) -> bool:
        if resp.status_code not in OK_STATUS:
            self.errors.append(f"{what}: {resp.status_code or getattr(resp, 'error', None)!r}")
            return False
        return True

    def _dash(self, dep, changed, name):
        body = Callbacks.body(dep, self.values, changed)
        resp = self.client.post("/_dash-update-component", data=json.dumps(body), name=name, timeout=TIMEOUT_S,
                                headers={"Content-Type": "application/json", "X-CSRFToken": self._csrf()})
        if not self._check(resp, name) or resp.status_code == 204:
            return None
        out = resp.json().get("response") or {}
        for cid, props in out.items():
            for prop, value in props.items():
                self.values[(cid, prop.split("@")[0])] = value
                _walk(value, self.values)
        return out

    def _get(self, url, name):
        resp = self.client.get(url, name=name, timeout=TIMEOUT_S)
        self._check(resp, name)
        return resp

    def _json(self, url, name):
        """A JSON answer of the page load; a user whose page does not load stops (counted)."""
        resp = self._get(url, name)
        try:
            return resp.json()
        except ValueError:
            self._give_up(f"{name}: {resp.status_code} from {resp.url} is not JSON: {resp.text[:120]!r}")

    def _give_up(self, why: str):
        self.start_failures.append(f"{self.username}: {why}")
        raise StopUser()

    def _csrf(self) -> str:
        return self.client.cookies.get("_csrf_token") or ""

    def _together(self, *jobs):
        """Run requests at once (as the renderer does) and wait for them all."""
        greenlets = [gevent.spawn(fn, *args) for fn, *args in jobs]
        gevent.joinall(greenlets)
        for g in greenlets:
            if g.exception is not None:
                self.errors.append(repr(g.exception))
        return [g.value for g in greenlets]

    # -- the visit
    def on_start(self):
        self.errors: list[str] = []
        self.values: dict = {}
        self.username = name = self.usernames[next(self.numbers) % len(self.usernames)]
        page = self._get("/login", "GET /login")
        token = _CSRF_FIELD.search(page.text)
        resp = self.client.post("/login", data={"username": name, "password": self.password,
                                                "csrf_token": token.group(1) if token else ""},
                                allow_redirects=False, name="POST /login")
        if resp.status_code != 302 or "/login" in resp.headers.get("Location", ""):
            self._give_up(f"login answered {resp.status_code} {resp.headers.get('Location', '')}")
        self._get("/map", "GET /map")
        _walk(self._json("/_dash-layout", "GET /_dash-layout"), self.values)
        deps = self._json("/_dash-dependencies", "GET /_dash-dependencies")
        cbs = Callbacks(deps)
        self.cb = {"page": cbs.find("_pages_content.children"),
                   "redraw": cbs.find("..map-graph.figure...map-count.children...map-meta.data.."),
                   "select": cbs.find("map-selected.data"), "density": cbs.find("map-graph-click.data@"),
                   "ring": cbs.where("map-graph.figure@", "map-selected"), "detail": cbs.find("map-detail.children"),
                   "judge": cbs.find("map-judge.children"), "slots": cbs.find("map-slot-store.data"),
                   "share": cbs.where("app-selection.data@", "map-selected")}
        self.values[("_pages_location", "pathname")] = "/map"
        self.values[("_pages_location", "search")] = ""
        self._dash(self.cb["page"], ["_pages_location.pathname", "_pages_location.search"], "page content")
        self._dash(self.cb["select"], [], "selection (page load)")
        out = self._dash(self.cb["redraw"], [], "map first draw") or {}
        figure = (out.get("map-graph") or {}).get("figure") or {}
        self.rows = [int(r) for t in figure.get("data", []) if t.get("name") != "selected"
                     for r in _first_column(t.get("customdata"))]
        if not self.rows:
            self._give_up("the map's first draw has no points to click")

    @task
    def click(self):
        started, t0 = time.time(), time.perf_counter()
        self.errors = []
        row = random.choice(self.rows)
        self.values[("map-graph-click", "data")] = {"row": row, "at": int(started * 1000)}
        changed = ["map-graph-click.data"]
        selected, _density = self._together((self._dash, self.cb["select"], changed, "click: selection"),
                                            (self._dash, self.cb["density"], changed, "click: density cell"))
        section = ((selected or {}).get("map-selected") or {}).get("data") or {}
        sid = section.get("section_id")
        if not sid:
            self.errors.append("the click selected no section")
        else:
            changed = ["map-selected.data"]
            _share, _judge, _ring, detail = self._together(
                (self._dash, self.cb["share"], changed, "click: shared selection"),
                (self._dash, self.cb["judge"], changed, "click: judging panel"),
                (self._dash, self.cb["ring"], changed, "click: selection ring"),
                (self._dash, self.cb["detail"], changed, "click: detail"))
            spectrogram = json.dumps(detail or {})
            if f"/spectrogram/{sid}.png" not in spectrogram:
                self.errors.append("the detail shows no spectrogram")
            slots = list(dict.fromkeys(json.dumps(k[0]) for k in self.values
                                       if k[0].startswith('{"page":"map","slot"')))
            audio = gevent.spawn(self._get, f"/audio/{sid}.ogg", "click: audio (autoplay)")
            self._together((self._get, f"/spectrogram/{sid}.png", "click: spectrogram"),
                           (self._dash, self.cb["slots"], [f"{s}.n_clicks" for s in slots], "click: compare slots"))
        elapsed = time.perf_counter() - t0
        self.clicks.append((started, elapsed, bool(self.errors)))
        if self.errors:
            print(f"  click error ({self.username}): {self.errors}", file=sys.stderr)
        if sid:
            audio.join()


def run_level(base: str, users: int, *, duration: float, ramp: float, server_proc) -> dict:
    """N experts for ``ramp`` + ``duration`` seconds; the clicks started after the ramp."""
    MapExpert.clicks, MapExpert.numbers, MapExpert.start_failures = [], itertools.count(), []
    env = Environment(user_classes=[MapExpert], host=base, events=events)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users / ramp if ramp > 0 else users)
    gevent.sleep(ramp)
    t_start, cpu0, own0 = time.time(), server_cpu_seconds(server_proc), time.process_time()
    gevent.sleep(duration)
    t_end, cpu1, own1 = time.time(), server_cpu_seconds(server_proc), time.process_time()
    runner.quit()
    runner.greenlet.join(timeout=30)
    window = [(t, s, e) for t, s, e in MapExpert.clicks if t_start <= t <= t_end]
    times = np.array([s for _, s, _ in window])
    if not len(times):
        times = np.array([np.nan])
    slow = sorted(((name, e.num_requests, e.get_response_time_percentile(0.5) / 1000,
                    e.get_response_time_percentile(0.95) / 1000, e.num_failures)
                   for (name, _method), e in env.stats.entries.items() if name.startswith("click")),
                  key=lambda r: -r[3])
    return {"users": users, "clicks": len(window), "p50_s": float(np.median(times)),
            "p95_s": float(np.percentile(times, 95)), "errors": int(sum(e for _, _, e in window)),
            "server_cpu": (cpu1 - cpu0) / (t_end - t_start), "client_cpu": (own1 - own0) / (t_end - t_start),
            "load": os.getloadavg()[0], "requests": slow,
            "start_failures": list(MapExpert.start_failures)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", default=",".join(map(str, DEFAULT_USERS)),
                    help="comma-separated numbers of experts, one level each")
    ap.add_argument("--store", default=None, help="store to serve (default: a demo store built in --workdir)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds measured per level (after the ramp)")
    ap.add_argument("--ramp", type=float, default=10.0, help="seconds over which a level's experts arrive")
    ap.add_argument("--think", default="3,7", help="seconds between a user's clicks: min,max (uniform)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    ap.add_argument("--threads", type=int, default=8, help="threads per worker")
    ap.add_argument("--songs", type=int, default=34, help="songs of the demo store")
    ap.add_argument("--seconds", type=float, default=150.0, help="length of each demo song")
    ap.add_argument("--workdir", default="/tmp/sectionist-load", help="demo store, database, media, server log")
    ap.add_argument("--warm", action="store_true",
                    help="run 'sectionist media-warm' first (every section's spectrogram and audio made before the "
                    "first click; default: made by the first click on each section)")
    ap.add_argument("--nice", type=int, default=0,
                    help="niceness of the server and of this load generator (negative: ahead of the machine's "
                    "other work, as on a machine of its own; needs the right to raise priority)")
    args = ap.parse_args(argv)
    levels = [int(u) for u in args.users.split(",") if u.strip()]
    think = tuple(float(x) for x in args.think.split(","))
    if not levels or min(levels) < 1 or len(think) != 2 or think[0] < 0 or think[1] < think[0]:
        ap.error("--users takes positive counts, --think takes min,max seconds")

    if args.nice:
        try:
            os.nice(args.nice)
        except PermissionError:
            ap.error(f"--nice {args.nice}: this user may not raise its priority")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    store = Path(args.store) if args.store else demo_store(workdir, args.songs, args.seconds)
    db_url = f"sqlite:///{(workdir / 'users.sqlite').resolve()}"
    subprocess.run([str(BIN / "sectionist"), "db", "upgrade", "--db", db_url], check=True, stdout=subprocess.DEVNULL)
    password = "load-" + secrets.token_urlsafe(12)
    MapExpert.usernames = make_users(db_url, max(levels), password)
    MapExpert.password, MapExpert.think = password, think
    shutil.rmtree(workdir / "data" / "media", ignore_errors=True)  # every run starts with no rendered media
    if args.warm:  # or with every section's made beforehand, as `sectionist media-warm` does after analyze
        t = time.monotonic()
        subprocess.run([str(BIN / "sectionist"), "media-warm", "--store", str(store), "--share", "1"], check=True,
                       env=dict(os.environ, SECTIONIST_DATA_DIR=str(workdir / "data")), stderr=subprocess.DEVNULL)
        print(f"media made beforehand (sectionist media-warm) in {time.monotonic() - t:.0f} s")
    # the server inherits this process's niceness
    proc, base = start_server(store, db_url, workdir, args.workers, args.threads)
    print(f"server: {args.workers} gunicorn workers x {args.threads} threads on {base}; store {store}; "
          f"niceness {os.nice(0)} (server and load generator); "
          f"think {think[0]:g}-{think[1]:g} s; ramp {args.ramp:g} s, then {args.duration:g} s measured per level; "
          f"{os.cpu_count()} cores here (the load generator shares them)")
    results = []
    try:
        for users in levels:
            r = run_level(base, users, duration=args.duration, ramp=args.ramp, server_proc=proc)
            results.append(r)
            print(f"{users:>4} users: {r['clicks']:>5} clicks   p50 {r['p50_s']:6.2f} s   p95 {r['p95_s']:6.2f} s   "
                  f"errors {r['errors']}   CPU: server {r['server_cpu']:.2f}, load generator {r['client_cpu']:.2f} "
                  f"cores, load average {r['load']:.1f}", flush=True)
            if r["start_failures"]:
                print(f"        {len(r['start_failures'])} users could not open the map, e.g. {r['start_failures'][0]}")
            for name, n, p50, p95, fails in r["requests"][:4]:
                print(f"        {name:<26} {n:>5} requests   p50 {p50:6.2f} s   p95 {p95:6.2f} s   failed {fails}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    fifty = [r for r in results if r["users"] == 50]
    def seconds(x):  # null for a level without a click
        return round(x, 3) if np.isfinite(x) else None

    summary = {"users": [r["users"] for r in results], "p50_s": [seconds(r["p50_s"]) for r in results],
               "p95_s": [seconds(r["p95_s"]) for r in results],
               "errors": [r["errors"] + len(r["start_failures"]) for r in results],
               "clicks": [r["clicks"] for r in results],
               "target_50_users_p95_lt_2s": bool(fifty and fifty[0]["p95_s"] < 2.0 and fifty[0]["errors"] == 0)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
