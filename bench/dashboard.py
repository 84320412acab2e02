"""Dashboard callbacks on a large store, timed server-side (not run by CI).

Builds (once, cached under bench/out/store<N>/) a synthetic store in the full store layout — past
200 000 sections in parts (tests/synthetic_store.build_streamed_synthetic_store), so a million
sections never sit in memory at once — starts the real app in-process, and times the callback
bodies that matter, each including the JSON serialisation Dash does before answering:

- map first draw on a filter change (clusters, songs, central only, confidence, colour,
  projection): points up to ``pages.map.DENSITY_THRESHOLD`` (100 000), density cells above it
  on a 2-D map, a stratified sample on a 3-D one;
- map zoom: the relayout of a density map (at 100 000 sections one drawn with a threshold of a
  quarter of the store), windows from a tenth to a thousandth of its area (points again when the
  window holds few enough, finer cells otherwise);
- click -> detail: a click on a density cell (nearest section in the cell), the selection, the
  detail panel and the ring patch;
- box selection on the density map, resolved on the server, and its summary card;
- compare page (metrics, contingency + Sankey, one page of the server-paged table).

Reference, measured in the same run: building and serialising a plain Scattergl figure of up to
100 000 points with plotly alone. Prints median and p95 per callback, the ratios to the reference
and to the targets of issue #16 (150 ms p95, 2 MB per response), the largest response and the
process's resident memory, and as its last line one JSON object:
{"sections", "map_p95_ms", "zoom_p95_ms", "detail_p95_ms", "selection_p95_ms", "compare_p95_ms",
"max_response_bytes", "server_rss_mb"}.

Usage: python bench/dashboard.py [--sections 100000|1000000] [--repeats 40] [--out bench/out]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the synthetic-store builder is test/bench support, not shipped


#: Stores larger than this are built in parts (tests/synthetic_store.build_streamed_synthetic_store).
STREAM_ABOVE = 200_000


def _ms(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return (time.perf_counter() - t) * 1000, out


def _serialise(obj) -> int:
    import plotly.io.json as pj

    return len(pj.to_json_plotly(obj))


def _stats(xs):
    xs = np.asarray(xs)
    return float(np.median(xs)), float(np.percentile(xs, 95))


def reference_ms(n: int, repeats: int, rng) -> list[float]:
    """Plain plotly: an n-point Scattergl in 6 traces (coordinates and an index per point as
    numpy arrays), built and serialised."""
    import plotly.graph_objects as go

    x = rng.normal(size=n).astype(np.float32)
    y = rng.normal(size=n).astype(np.float32)
    lab = rng.integers(0, 6, n)
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fig = go.Figure([go.Scattergl(x=x[lab == c], y=y[lab == c], customdata=np.flatnonzero(lab == c),
                                      mode="markers") for c in range(6)])
        _serialise(fig)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _page_module(name: str):
    """A page module the app imported. Dash names it from the app's name, "dashboard", found as a
    module: run as a script, that is this file (bench/dashboard.py), so the pages are registered as
    ``…sectionist.dashboard.pages.<name>`` under a longer prefix than when the app runs."""
    suffix = f"sectionist.dashboard.pages.{name}"
    return next(m for n, m in sys.modules.items() if n == suffix or n.endswith("." + suffix))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    args = ap.parse_args(argv)

    import tempfile

    from synthetic_store import RUNS, build_streamed_synthetic_store, build_synthetic_store

    from sectionist.dashboard.data.map_sections import density_click_position
    from sectionist.dashboard.ui.components.detail import section_detail
    from sectionist.dashboard.ui.components.selection import resolve_selection
    from sectionist.store import open_store

    rng = np.random.default_rng(0)
    root = Path(args.out) / f"store{args.sections}"
    manifest = open_store(root).read_manifest() if (root / "manifest.json").exists() else {}
    if manifest.get("config", {}).get("n_sections") != args.sections:
        print(f"building a synthetic store of {args.sections:,} sections in {root} …", file=sys.stderr)
        if args.sections > STREAM_ABOVE:  # in parts: a million sections' tables never in memory at once
            t, _ = _ms(build_streamed_synthetic_store, root, n_sections=args.sections, random_state=0,
                       progress=lambda m: print(f"  {m}", file=sys.stderr))
        else:
            t, _ = _ms(build_synthetic_store, root, n_sections=args.sections, part_per_song=False, random_state=0)
        print(f"  built in {t / 1000:.1f} s", file=sys.stderr)

    from sectionist.dashboard.app import create_app

    # the real app (page modules can only be imported by it); its store access object is timed
    app = create_app(str(root), db_url=f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite", secret_key="b" * 40,
                     check_interval=3600)
    data = app.server.extensions["sectionist_data"]
    map_page = _page_module("map")
    compare_page = _page_module("compare")
    t_load, _ = _ms(lambda: (data.sections, [data.run_arrays(r[0]) for r in RUNS], data.features,
                             data.projection("classical17", "umap", 2), data.space_vectors("classical17")))
    print(f"store loaded and arrays precomputed in {t_load:.0f} ms (once per process)")

    run_id = RUNS[0][0]
    songs = list(data.songs.index)
    clusters = list(data.run_arrays(run_id).clusters)
    feature = "spectral_centroid_median"
    variants = [
        dict(color="cluster"),
        dict(color="cluster", clusters=clusters[:3]),
        dict(color="cluster", central=True),
        dict(color="cluster", confidence=[0.5, 1.0]),
        dict(color="song"),
        dict(color="confidence"),
        dict(color=f"feature:{feature}"),
        dict(color="cluster", songs=list(rng.choice(songs, 200, replace=False))),
        dict(color="cluster", projection="pca3"),
        dict(color="cluster", projection="pca2", clusters=clusters[1:4], central=True),
    ]
    # warm the caches every variant needs (first use of a projection reads its part once)
    for v in variants:
        kw = dict(v)
        map_page.render_map(data, "classical17", kw.pop("projection", "umap2"), run_id, **kw)

    ref_n = min(args.sections, 100_000)
    ref = reference_ms(ref_n, max(10, args.repeats // 2), rng)
    ref_med = float(np.median(ref))
    all_sizes = []

    def timed(fn):
        """(ms, bytes) of one callback body: the call and the JSON Dash sends back."""
        t = time.perf_counter()
        size = _serialise(fn())
        all_sizes.append(size)
        return (time.perf_counter() - t) * 1000, size

    # map first draw on a filter change (density past map_page.DENSITY_THRESHOLD points)
    t_map, sizes, metas = [], [], []
    per_variant = {}
    for i in range(args.repeats):
        kw = dict(variants[i % len(variants)])
        proj = kw.pop("projection", "umap2")
        label = f"{proj} " + " ".join(f"{k}={v if not isinstance(v, list) or len(v) < 5 else f'[{len(v)}]'}"
                                      for k, v in kw.items())

        def redraw():
            fig, count, meta = map_page.render_map(data, "classical17", proj, run_id, **kw)
            metas.append(meta)
            return {"figure": fig, "count": count, "meta": meta}

        t, size = timed(redraw)
        t_map.append(t)
        sizes.append(size)
        per_variant.setdefault(label, []).append((t, size, bool(metas[-1].get("density"))))
    for label, xs in per_variant.items():
        print(f"  map {label:<58} median {np.median([x[0] for x in xs]):7.1f} ms  "
              f"{max(x[1] for x in xs) / 1e6:5.2f} MB  {'density' if xs[0][2] else 'points'}")
    dense = [m for m in metas if m.get("density")]
    print(f"map: {len(dense)} of {len(metas)} draws were density maps "
          f"(threshold {map_page.DENSITY_THRESHOLD:,} points)")

    # zoom (relayoutData of a density map): windows from a tenth to a thousandth of the map's area
    _f, _c, full = map_page.render_map(data, "classical17", "umap2", run_id, "cluster",
                                       density_threshold=min(map_page.DENSITY_THRESHOLD, data.n_sections // 4))
    xyz = data.projection("classical17", "umap", 2).xyz
    lo, hi = np.nanmin(xyz[:, :2], axis=0), np.nanmax(xyz[:, :2], axis=0)
    t_zoom = []
    for i in range(args.repeats):
        frac = np.sqrt([0.1, 0.03, 0.01, 0.003, 0.001][i % 5])
        c = xyz[int(rng.integers(0, data.n_sections)), :2]
        half = (hi - lo) * frac / 2
        relayout = {"xaxis.range[0]": float(c[0] - half[0]), "xaxis.range[1]": float(c[0] + half[0]),
                    "yaxis.range[0]": float(c[1] - half[1]), "yaxis.range[1]": float(c[1] + half[1])}

        def zoom():
            fig, count, meta = map_page.zoom_redraw(data, relayout, full)
            return {"figure": fig, "count": count, "meta": meta}

        t, _s = timed(zoom)
        t_zoom.append(t)

    # click -> detail: on a density cell (cell -> nearest section, then the click on its row), else a point
    t_detail = []
    for i in range(args.repeats):
        pos = int(rng.integers(0, data.n_sections))

        def click():
            out = {}
            if full.get("density"):
                out["cell"] = {"row": density_click_position(data, full, float(xyz[pos, 0]), float(xyz[pos, 1])),
                               "at": 1}
                row = out["cell"]["row"]
            else:
                row = pos
            sel = resolve_selection(data, "graph", click={"points": [{"customdata": row}]}, run=run_id)
            out.update(selected=sel, panel=section_detail(data, sel["section_id"], sel["run_id"], "map"),
                       ring=map_page.ring_patch(data, full, sel))
            return out

        t, _s = timed(click)
        t_detail.append(t)

    # box selection (server-side on a density map), its summary card
    t_sel = []
    for i in range(args.repeats):
        frac = np.sqrt([0.05, 0.01, 0.001][i % 3])
        c = xyz[int(rng.integers(0, data.n_sections)), :2]
        half = (hi - lo) * frac / 2
        sel = {"rows": [], "n": 0, "active": True,
               "range": {"x": [float(c[0] - half[0]), float(c[0] + half[0])],
                         "y": [float(c[1] - half[1]), float(c[1] + half[1])]}}
        t, _s = timed(lambda: map_page.selection_summary(data, sel, run_id, meta=full))
        t_sel.append(t)

    t_compare = []
    pairs = [(a[0], b[0]) for a in RUNS for b in RUNS if a != b]
    # first use of a pair aligns the two runs and builds its table (once per pair and store version)
    cold = [_ms(compare_page.table_page, data, a, b, 0, 15)[0] for a, b in pairs]
    for i in range(args.repeats):
        a, b = pairs[i % len(pairs)]
        page = int(rng.integers(0, 200))
        sort_by = [{"column_id": "song", "direction": "asc"}] if i % 3 == 1 else []
        query = "{label_a} = 1" if i % 3 == 2 else ""

        def compare():
            metrics = compare_page.metrics_view(data, a, b)
            heat, flow = compare_page.compare_figures(data, a, b)
            rows = compare_page.table_page(data, a, b, page, 15, sort_by, query, i % 2 == 0)
            return {"m": metrics, "h": heat, "s": flow, "t": rows}

        t, _s = timed(compare)
        t_compare.append(t)

    rss_mb = _rss_mb()
    target_ms, target_bytes = 150.0, 2_000_000
    print(f"\nsections: {data.n_sections:,}; repeats: {args.repeats}")
    print(f"reference (plain plotly {ref_n:,}-point Scattergl build + serialise): median {ref_med:.1f} ms")
    for name, xs in [("map first draw", t_map), ("map zoom", t_zoom), ("click -> detail", t_detail),
                     ("box selection", t_sel), ("compare page", t_compare)]:
        med, p95 = _stats(xs)
        print(f"{name:>16}: median {med:7.1f} ms   p95 {p95:7.1f} ms   p95 / reference = {p95 / ref_med:.2f}x   "
              f"p95 / target ({target_ms:.0f} ms) = {p95 / target_ms:.2f}")
    print(f"map payload: median {np.median(sizes) / 1e6:.2f} MB of JSON; largest response "
          f"{max(all_sizes) / 1e6:.2f} MB (target < {target_bytes / 1e6:.0f} MB)")
    print(f"compare, first use of a pair (alignment + table, then cached): median {np.median(cold):.0f} ms, "
          f"max {np.max(cold):.0f} ms")
    print(f"server memory: {rss_mb:.0f} MB resident now, {_peak_rss_mb():.0f} MB peak (this process: store "
          f"arrays, caches, the benchmark's own arrays)")
    result = {"sections": int(data.n_sections), "map_p95_ms": round(_stats(t_map)[1], 1),
              "zoom_p95_ms": round(_stats(t_zoom)[1], 1), "detail_p95_ms": round(_stats(t_detail)[1], 1),
              "selection_p95_ms": round(_stats(t_sel)[1], 1), "compare_p95_ms": round(_stats(t_compare)[1], 1),
              "max_response_bytes": int(max(all_sizes)), "server_rss_mb": round(rss_mb, 1)}
    print(json.dumps(result))
    return 0


def _rss_mb() -> float:
    """Resident memory of this process now (Linux /proc; the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            import os

            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return _peak_rss_mb()


def _peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


if __name__ == "__main__":
    sys.exit(main())
