"""Every structure scheme's scores per song group, each level, other people's algorithms beside them,
and ablations.

Songs are WAV files with a truth JSON/.lab beside them (``sectionist dev-corpus`` / ``demo-corpus``
folders). Each group is ``NAME=FOLDER[:FIRST-LAST]`` (song indices in file order), e.g.
``real-held=/work/corpora/tracker/held composed-held=/tmp/devcorpus:12-23 demo=/tmp/s1demo``.
Beat-synchronous features (:func:`sectionist.analysis.structure.beats.beat_features`) and the
segmentations of schemes that need the audio are cached under ``bench/out/structure/`` (keyed by the
file's path, size and mtime), so sweeps are cheap.

Rows, for each scheme of ``--schemes`` (default: every registered scheme, the default ``repeats``
first): its ``section`` level (with the L-measure of all its levels), each finer level
(``repeats:phrase``), and ``SCHEME (own boundaries, unique labels)``: its section boundaries with every
segment its own label, which tells whether its repeat labels add anything over its boundaries.
``--peers msaf,librosa-gallery`` adds other people's algorithms as rows (:func:`peer_segmentations`,
bench/peers/README.md): MSAF's six pairs, run by MSAF's own venv, and librosa's gallery Laplacian
segmentation; a song a peer fails on scores as one segment. ``--tune JSON`` adds ``repeats``
variants ``{label: {repeats_beats keyword: value}}``. ``--ladder`` adds the ablation ladder of the
older ``merged`` (:data:`LADDER`, or ``--variants``); ``--baselines`` adds the previous ``merged``
(``merged-mfcc``) and ``merged``'s slices with its clusters.

Columns: boundary F at 0.5 s (HR.5F) and 3 s (HR3F), pairwise F (PW_F), the normalised-entropy F
(S_F), frame ARI and the L-measure F (L_F, McFee et al. 2017), means over the group's songs; the last
line is one JSON object ``{group: {row: {metric: mean}}}``. ``--pool NAME=G1,G2`` adds a group of the
songs of several groups (each song weighted equally; rows that every member group has).

Usage: python bench/structure_ablation.py GROUP ... [--schemes S,…] [--peers msaf,librosa-gallery]
       [--tune JSON] [--ladder [--variants JSON]] [--baselines] [--pool NAME=G1,G2 …]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import pickle
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "structure")
METRICS = ("hr_f_0.5", "hr_f_3", "pairwise_f", "nce_f", "ari_frames", "l_f")
#: Column titles of :data:`METRICS`.
TITLES = ("HR.5F", "HR3F", "PW_F", "S_F", "ARI", "L_F")
#: The baseline row of the final variant's slices before merging, unclustered (one label per slice).
RAW_NOVELTY = "novelty (raw slices, one label each)"

#: Each step of the new ``merged`` alone (added to the previous one), ending at the defaults.
LADDER = {
    "beats: harmony+timbre novelty 16 beats, K 2-10, min 8 s": dict(
        kernels=(16,), novelty_features=("harmony", "timbre"), k_min=2, min_seconds=8.0, repeat_min=0.0),
    "+ K 3-10": dict(kernels=(16,), novelty_features=("harmony", "timbre"), k_min=3, min_seconds=8.0,
                     repeat_min=0.0),
    "+ multi-scale novelty 16/32 beats": dict(novelty_features=("harmony", "timbre"), k_min=3, min_seconds=8.0,
                                              repeat_min=0.0),
    "+ embedding novelty": dict(k_min=3, min_seconds=8.0, repeat_min=0.0),
    "+ K 4-10": dict(min_seconds=8.0, repeat_min=0.0),
    "+ min length 6 s (merged v2)": dict(repeat_min=0.0),
    "+ repetition test 0.31 (the defaults)": dict(),
}


def _key(path: str, what: str) -> str:
    st = os.stat(path)
    return hashlib.sha1(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{what}".encode()).hexdigest()[:16]


def cached(path: str, what: str, compute):
    os.makedirs(CACHE, exist_ok=True)
    f = os.path.join(CACHE, f"{os.path.basename(path)[:-4]}-{what}-{_key(path, what)}.pkl")
    if os.path.exists(f):
        with open(f, "rb") as fh:
            return pickle.load(fh)
    value = compute()
    with open(f + ".tmp", "wb") as fh:
        pickle.dump(value, fh)
    os.replace(f + ".tmp", f)
    return value


def groups_of(specs):
    out = {}
    for spec in specs:
        name, _, rest = spec.partition("=")
        folder, _, rng = rest.partition(":")
        paths = sorted(glob.glob(os.path.join(folder, "*.wav")))
        if rng:
            a, b = (int(v) for v in rng.split("-"))
            paths = paths[a:b + 1]
        if not paths:
            raise SystemExit(f"{spec}: no WAV files")
        out[name] = paths
    return out


def score(ref, bounds, labels, duration, levels=()) -> dict:
    """Boundary, label and L-measure scores of one segmentation; ``levels``: its finer levels as
    ``(bounds, labels)`` pairs (the L-measure then scores the hierarchy; a flat one is one level)."""
    from sectionist.analysis.evaluate import Segmentation, boundary_scores, hierarchy_scores, label_scores

    def seg(b, lab):
        return Segmentation(np.asarray(b, float).reshape(-1, 2), [str(v) for v in lab])

    est = seg(bounds, labels)
    hier = [est] + [seg(b, lab) for b, lab in levels]
    return {**boundary_scores(ref, est, duration), **label_scores(ref, est, duration),
            **hierarchy_scores(ref, hier, duration)}


def scheme_rows(name, structure, ref, duration) -> dict:
    """``{row: scores}`` of one song's :class:`~sectionist.analysis.structure.base.Structure` by
    scheme ``name``: its section level (L-measure over every level), each finer level, and its own
    boundaries with unique labels."""
    b, lab = structure.bounds, structure.labels
    levels = [(sub.bounds, sub.labels) for sub in structure.levels.values()]
    out = {name: score(ref, b, lab, duration, levels)}
    for level, sub in structure.levels.items():
        out[f"{name}:{level}"] = score(ref, sub.bounds, sub.labels, duration)
    out[f"{name} (own boundaries, unique labels)"] = score(ref, b, np.arange(len(b)), duration)
    return out


#: ``--peers``: other people's structure algorithms as rows of the same table (bench/peers/README.md).
PEERS = ("msaf", "librosa-gallery")
PEER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers")


def peer_segmentations(paths, peers) -> dict:
    """``{path: {row name: (intervals, labels) or None when it failed}}`` of each peer on each song.

    ``msaf``: ``bench/peers/msaf_peer.py`` run once over all songs by MSAF's own venv
    (``bench/peers/.venv-msaf``, ``make bench-peers``; this venv never imports msaf), one row per
    MSAF pair (``msaf sf+fmc2d`` …), cached by the peer under ``bench/out/peers/msaf/``; its times
    per song and pair go to stderr. ``librosa-gallery``: librosa's Laplacian segmentation example
    verbatim (``bench/peers/librosa_gallery.py``, k = 5), cached here.
    """
    import subprocess
    import time

    paths = [os.path.abspath(p) for p in paths]
    out = {p: {} for p in paths}
    if "msaf" in peers:
        python = os.path.join(PEER_DIR, ".venv-msaf", "bin", "python")
        if not os.path.exists(python):
            raise SystemExit(f"--peers msaf: {python} missing: run `make bench-peers` first")
        proc = subprocess.run([python, os.path.join(PEER_DIR, "msaf_peer.py"), "--json", *paths],
                              stdout=subprocess.PIPE, text=True)
        if proc.returncode:
            raise SystemExit(f"--peers msaf: msaf_peer.py exited with {proc.returncode}")
        times = {}
        for song in json.loads(proc.stdout)["songs"]:
            times.setdefault("features", []).append(song.get("features_s"))
            for name, r in song["pairs"].items():
                ok = "error" not in r and "error" not in song
                t = np.asarray(r.get("times", []), float)
                out[song["path"]][f"msaf {name}"] = (np.column_stack([t[:-1], t[1:]]), r["labels"]) if ok else None
                times.setdefault(name, []).append(r.get("seconds"))
        for p in paths:  # a song MSAF failed on fails every pair
            out[p].update({f"msaf {name}": None for name in times if name != "features" and f"msaf {name}" not in out[p]})
        print("msaf seconds per song (mean, min-max; features once per song, then each pair): " + ", ".join(
            f"{k} {np.mean(v):.1f} ({min(v):.1f}-{max(v):.1f})" for k, v in times.items()
            if all(x is not None for x in v)), file=sys.stderr)
    if "librosa-gallery" in peers:
        sys.path.insert(0, PEER_DIR)
        from librosa_gallery import segment_file

        for p in paths:
            def run(p=p):
                t0 = time.perf_counter()
                try:
                    return (*segment_file(p), time.perf_counter() - t0)
                except IndexError as e:  # the gallery's own failure (its docstring)
                    return None, str(e), time.perf_counter() - t0
            b, lab, secs = cached(p, "librosa-gallery-v1", run)
            out[p]["librosa-gallery"] = (b, lab) if b is not None else None
            print(f"librosa-gallery {os.path.basename(p)}: {secs:.1f} s" + ("" if b is not None else f" FAILED {lab}"),
                  file=sys.stderr)
    return out


def main(argv=None) -> int:
    from sectionist.analysis.corpus.audio import load_audio
    from sectionist.analysis.evaluate import read_reference
    from sectionist.analysis.structure.beats import beat_features
    from sectionist.analysis.structure.helpers import frame_features
    from sectionist.analysis.structure.merged import merged_beats
    from sectionist.analysis.structure.repeats import repeats_beats
    from sectionist.analysis.structure.schemes import STRUCTURES, compute_structure

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("groups", nargs="+", metavar="NAME=FOLDER[:A-B]")
    ap.add_argument("--schemes", default=",".join(STRUCTURES), help="comma-separated structure schemes [all]")
    ap.add_argument("--tune", default=None, help="JSON {label: repeats_beats kwargs}: repeats variants as rows")
    ap.add_argument("--ladder", action="store_true", help="the older merged's ablation ladder (or --variants)")
    ap.add_argument("--variants", default=None, help="JSON {label: merged_beats kwargs} for --ladder")
    ap.add_argument("--baselines", action="store_true")
    ap.add_argument("--peers", default="", help="comma-separated peers to add as rows: " + ", ".join(PEERS))
    ap.add_argument("--pool", action="append", default=[], metavar="NAME=G1,G2",
                    help="also a group NAME of the songs of groups G1, G2, … (every song weighted equally)")
    args = ap.parse_args(argv)
    peers = [v for v in args.peers.split(",") if v]
    if set(peers) - set(PEERS):
        ap.error(f"--peers: unknown {sorted(set(peers) - set(PEERS))}; known: {', '.join(PEERS)}")
    schemes = [STRUCTURES[v].name for v in args.schemes.split(",") if v]
    variants = json.loads(args.variants) if args.variants else (LADDER if args.ladder or args.baselines else {})
    for kw in variants.values():
        for key in ("kernels", "novelty_features"):
            if key in kw:
                kw[key] = tuple(kw[key])
    tune = json.loads(args.tune) if args.tune else {}
    rows = {}  # (group, row) -> list of score dicts
    groups = groups_of(args.groups)
    peer = peer_segmentations(sorted({p for ps in groups.values() for p in ps}), peers) if peers else {}
    for group, paths in groups.items():
        for p in paths:
            ref = read_reference(p[:-4] + ".json" if os.path.exists(p[:-4] + ".json") else p[:-4] + ".lab")
            audio = {}

            def y():
                if not audio:
                    audio["y"], audio["sr"] = load_audio(p, 22050)
                return audio["y"], audio["sr"]

            bfs = {}

            def features(opts):
                key = json.dumps(opts, sort_keys=True)
                if key not in bfs:
                    what = "beatfeat" + ("-" + hashlib.sha1(key.encode()).hexdigest()[:8] if opts else "")
                    bfs[key] = cached(p, what, lambda: beat_features(*y(), **opts))
                return bfs[key]

            duration = features({}).duration
            for name in schemes:
                spec = STRUCTURES[name]
                if spec.inputs == ("features",):
                    structure = spec.segment(None, 22050, features=features({}))
                else:  # schemes on the audio: cached by name and version
                    structure = cached(p, f"{spec.key.replace('@', 'v')}-structure",
                                       lambda name=name: compute_structure(*y(), name))
                for row, sc in scheme_rows(name, structure, ref, duration).items():
                    rows.setdefault((group, row), []).append(sc)
            for label, kw in tune.items():
                r = repeats_beats(features({}), **{k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()})
                rows.setdefault((group, label), []).append(
                    score(ref, r["bounds"], r["labels"], duration, [(r["phrase_bounds"], r["phrase_labels"])]))
            last = None
            for label, kw in variants.items():
                kw = dict(kw)
                last = merged_beats(features(kw.pop("beat_features", {})), **kw)
                rows.setdefault((group, label), []).append(score(ref, last["post"], last["labels"], duration))
            if args.baselines:
                rows.setdefault((group, "novelty (same slices, same clusters)"), []).append(
                    score(ref, last["pre"], last["pre_labels"], duration))
                rows.setdefault((group, RAW_NOVELTY), []).append(
                    score(ref, last["pre"], np.arange(len(last["pre"])), duration))

                def run():
                    yy, sr = y()
                    r = _old_merged(yy, sr, {"features": frame_features(yy, sr)})
                    return r.bounds, r.labels
                b, lab = cached(p, "merged-v1", run)
                rows.setdefault((group, "merged-mfcc"), []).append(score(ref, b, lab, duration))
            for name, seg in peer.get(os.path.abspath(p), {}).items():  # a failed song scores as one segment
                b, lab = seg if seg is not None else ([[0.0, duration]], ["0"])
                rows.setdefault((group, name), []).append(score(ref, b, lab, duration))
            print(f"{group} {os.path.basename(p)}", file=sys.stderr, flush=True)
    for spec in args.pool:
        name, _, members = spec.partition("=")
        members = [m for m in members.split(",") if m]
        if not name or not members or set(members) - set(groups):
            ap.error(f"--pool {spec}: expected NAME=G1,G2 of the groups {', '.join(groups)}")
        for row in [r for g, r in rows if g == members[0]]:
            if all((m, row) in rows for m in members):
                rows[(name, row)] = [sc for m in members for sc in rows[(m, row)]]
    width = max(len(r) for _g, r in rows) if rows else 10
    print(f"{'group':14s} {'scheme':{width}s} " + " ".join(f"{t:>6s}" for t in TITLES))
    out = {}
    for (group, row), rs in rows.items():
        means = {m: round(float(np.mean([r[m] for r in rs])), 3) for m in METRICS}
        out.setdefault(group, {})[row] = {**means, "n_songs": len(rs)}
        print(f"{group:14s} {row:{width}s} " + " ".join(f"{means[m]:6.3f}" for m in METRICS))
    print(json.dumps(out))
    return 0


def _old_merged(y, sr, kw):
    """The previous ``merged`` (MFCC-bin novelty, Ward on mean MFCC/chroma/RMS), for comparison."""
    from sectionist.analysis.structure.base import Structure
    from sectionist.analysis.structure.merged import merged_parts

    _, _, post, labels, _ = merged_parts(y, sr, threshold=1.0, kernel_seconds=6.0, min_slice_seconds=2.0, window=0,
                                          k=None, k_max=8, k_min=2, min_seconds=8.0, min_fraction=0.0, **kw)
    return Structure(post, labels)


if __name__ == "__main__":
    sys.exit(main())
