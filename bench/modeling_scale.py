"""Modelling at scale (issue 16): wall time and peak memory of the default modelling of N sections.

Builds a synthetic store of ``--sections`` sections (default 1 000 000): songs of
``--per-song`` sections, each song cycling through 3 of ``--sounds`` latent sounds (verse/chorus
structure); the ``classical17`` features of a section are its sound's centre plus Gaussian noise.
Only ``sections`` and ``features`` parts are written (no ``songs`` table), one part per 1000 songs,
straight with :meth:`store.Store.write_part` and the :mod:`sectionist.store.schema` constants. **No frames**:
embedder runs are not part of this bench (``--frames`` is not offered; the default runs on a store
without frames are the three classical17 runs).

Then, in a fresh process (so the store building does not count), it times
:func:`sectionist.analysis.modeling.defaults.run_default_models` (K-Means and GMM with the K rule, K-Means K = 4, the
PCA 2-D/3-D, t-SNE and UMAP maps, centroids on every map, comparisons), sampling the process's
resident memory every 0.2 s; it prints the per-step times and ends with one JSON line::

    {"sections": N, "wall_s": …, "peak_gb": …, "steps": {...}, "loadavg": [...]}

Usage: ``python bench/modeling_scale.py [--sections 1000000] [--large-rows 100000] [--store DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_store(root, n_sections: int, *, per_song: int = 16, n_sounds: int = 8, seed: int = 0,
                songs_per_part: int = 1000) -> None:
    """Write ``sections`` and ``features`` of ``n_sections`` synthetic sections under ``root``."""
    import pandas as pd

    from sectionist.analysis.sections.features import CLASSICAL17
    from sectionist.store import open_store
    from sectionist.store.schema import FEATURES, SECTIONS

    rng = np.random.default_rng(seed)
    store = open_store(root)
    n_songs = -(-n_sections // per_song)
    centres = rng.normal(0, 1, (n_sounds, len(CLASSICAL17))).astype(np.float32) * 2.5
    scale = rng.uniform(0.5, 3, len(CLASSICAL17)).astype(np.float32)
    offset = rng.uniform(-1, 5, len(CLASSICAL17)).astype(np.float32)
    pattern = np.array([0, 0, 1, 0, 1, 2, 1, 1, 2, 0])
    for p, first in enumerate(range(0, n_songs, songs_per_part)):
        songs = np.arange(first, min(first + songs_per_part, n_songs))
        song_of = np.repeat(songs, per_song)
        index = np.tile(np.arange(per_song), len(songs))
        keep = song_of * per_song + index < n_sections
        song_of, index = song_of[keep], index[keep]
        sounds = np.stack([rng.choice(n_sounds, 3, replace=False) for _ in songs])
        sound = sounds[song_of - first, pattern[index % len(pattern)]]
        song_ids = np.char.add("song", np.char.zfill(song_of.astype(str), 7)).astype(object)
        section_ids = (song_ids + "-" + np.char.zfill(index.astype(str), 5).astype(object))
        n = len(section_ids)
        sections = pd.DataFrame({
            "section_id": section_ids, "song_id": song_ids, "scheme": "fixed", "index": index.astype(np.int32),
            "start_s": index * 15.0, "end_s": index * 15.0 + 15.0, "is_central": rng.random(n) < 0.6,
            "rank": np.ones(n, np.int32), "truth_label": np.array([f"S{s}" for s in range(n_sounds)],
                                                                   dtype=object)[sound],
        })
        z = centres[sound] + rng.normal(0, 0.6, (n, len(CLASSICAL17))).astype(np.float32)
        feats = pd.DataFrame(z * scale + offset, columns=CLASSICAL17)
        feats.insert(0, "song_id", song_ids)
        feats.insert(0, "section_id", section_ids)
        part = f"bench-{p:05d}"
        store.write_part(SECTIONS, SECTIONS.part(song_id=part), sections)
        store.write_part(FEATURES, FEATURES.part(song_id=part), feats)


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def model(root, large_rows: int) -> dict:
    """Run the default modelling on the store at ``root``; wall time, peak memory and step times."""
    from sectionist.analysis.modeling.defaults import run_default_models
    from sectionist.store import open_store

    peak = [_rss_gb()]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.2):
            peak[0] = max(peak[0], _rss_gb())

    threading.Thread(target=sample, daemon=True).start()
    store = open_store(root, create=False)
    t0 = time.perf_counter()
    run_default_models(store, embedders=(), progress=False, large_rows=large_rows)
    wall = time.perf_counter() - t0
    stop.set()
    peak_ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB → GB
    steps = store.read_manifest().get("timings", {}).get("models", {})
    return {"wall_s": round(wall, 1), "peak_gb": round(max(peak[0], peak_ru), 2), "steps": steps}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", type=int, default=1_000_000, help="synthetic sections (default 1 000 000)")
    ap.add_argument("--large-rows", type=int, default=None,
                    help="threshold of the large-corpus path (default sectionist.analysis.modeling.runs.LARGE_ROWS)")
    ap.add_argument("--store", default=None, help="store folder (default: a temporary one, removed)")
    ap.add_argument("--model-only", action="store_true", help=argparse.SUPPRESS)  # the fresh process
    args = ap.parse_args(argv)
    from sectionist.analysis.modeling.runs import LARGE_ROWS

    large_rows = LARGE_ROWS if args.large_rows is None else args.large_rows
    if args.model_only:
        print(json.dumps(model(args.store, large_rows)))
        return 0
    with tempfile.TemporaryDirectory(prefix="modeling-scale-") as tmp:
        root = args.store or str(Path(tmp) / "store")
        t0 = time.perf_counter()
        build_store(root, args.sections)
        print(f"store of {args.sections} sections built in {time.perf_counter() - t0:.1f} s", flush=True)
        out = subprocess.run([sys.executable, __file__, "--model-only", "--store", root,
                              "--large-rows", str(large_rows)], capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stderr[-4000:])
            return out.returncode
        res = json.loads(out.stdout.strip().splitlines()[-1])
    for step, s in res["steps"].items():
        print(f"  {step:<40} {s:>8.1f} s")
    res = {"sections": args.sections, **res, "loadavg": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
