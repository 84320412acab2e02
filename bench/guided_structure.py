"""How much a few expert corrections improve a song's structure: simulated experts correct each song's
``merged`` and default (``repeats``) structure from the truth, and the section level is scored after
0, 1, 3 and 5 corrections per song.

The simulated expert (:func:`oracle`) looks at the structure as it stands and makes the correction that
fixes the largest error against the truth, as seconds of song:

- a **missed boundary** (a truth boundary with no boundary within 0.5 s): ``split`` there; its size is
  the shorter of the two stretches the missing boundary leaves run together (to the boundaries around it);
- a **wrong merge** (two segments with one label whose truth parts differ): ``different`` at the
  middle of each segment's stretch of its main truth part; its size is the shorter segment;
- a **missed repeat** (two segments with different labels and the same main truth part): ``same``, as
  above.

A segment's main truth part is the truth label covering most of it. Each new correction is added to
those before it and the structure recomputed from the scheme's own by
:func:`sectionist.analysis.structure.constrained.constrained_structure` (what ``sectionist segment
--constraints`` and the dashboard do); a correction it refuses (a contradiction through a segment that
spans two truth parts) is skipped for the next largest. Variants: ``--tau`` (how alike a segment must
sound to follow a corrected one) and ``--no-propagate`` (only the segments named change).

Songs: a folder of WAV files with truth beside them (``sectionist dev-corpus DIR``; any format
:func:`sectionist.analysis.evaluate.read_reference` reads). Columns: ARI (frame ARI), PW_F (pairwise
F), HR.5F (boundary F at 0.5 s), means over the songs. Every recomputed structure is checked with
:func:`sectionist.analysis.structure.constrained.violations` (``violated``: the corrections broken,
summed over songs, schemes, variants and counts; 0 means none ever was), and each correction's
change of frame ARI is tallied by kind (``corrections``: how many, the mean change, the share that
lowered ARI). The last line is one JSON object ``{scheme: {variant: {n_corrections: {metric:
mean}}}}`` plus ``"corrections"``, ``"violated"``, ``"songs"`` and ``"seconds"``.

Usage: python bench/guided_structure.py FOLDER [--schemes merged,repeats] [--counts 0,1,3,5]
       [--tau 0.5,0.75,1.0] [--no-propagate] [--max-songs N]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: The metrics of :func:`sectionist.analysis.evaluate.structure_scores` reported, and their titles.
METRICS = ("ari_frames", "pairwise_f", "hr_f_0.5")
TITLES = ("ARI", "PW_F", "HR.5F")
#: A truth boundary with a boundary this close (seconds) is found (the HR.5F window).
WINDOW = 0.5


def main_part(ref, a: float, b: float) -> tuple[str, float, float]:
    """The truth label covering most of ``[a, b)`` and the stretch of ``[a, b)`` it covers."""
    best = ("", 0.0, a, b)
    for (s, e), lab in zip(ref.intervals, ref.labels):
        lo, hi = max(a, s), min(b, e)
        if hi - lo > best[1]:
            best = (lab, hi - lo, lo, hi)
    return best[0], best[2], best[3]


def oracle(structure, ref, done=()) -> list:
    """The corrections a simulated expert could make to ``structure`` against the truth ``ref``,
    largest error first (module docstring); those in ``done`` are left out."""
    from sectionist.analysis.structure.constrained import Correction

    bounds, labels = np.asarray(structure.bounds), np.asarray(structure.labels)
    cuts = np.concatenate([[0.0], bounds[1:, 0], [bounds[-1, 1]]])
    out = []
    for b in ref.intervals[1:, 0]:
        if not 0 < b < bounds[-1, 1] or np.abs(cuts - b).min() <= WINDOW:
            continue
        before, after = cuts[cuts < b].max(), cuts[cuts > b].min()
        out.append((min(b - before, after - b), Correction("split", round(float(b), 3))))
    parts = [main_part(ref, a, b) for a, b in bounds]
    dur = bounds[:, 1] - bounds[:, 0]
    for i in range(len(bounds)):
        for j in range(i + 1, len(bounds)):
            if not parts[i][0] or not parts[j][0]:
                continue
            same_truth, same_label = parts[i][0] == parts[j][0], labels[i] == labels[j]
            if same_truth == same_label:
                continue
            ti, tj = (round(float(np.mean(parts[k][1:])), 3) for k in (i, j))
            out.append((min(dur[i], dur[j]), Correction("same" if same_truth else "different", ti, tj)))
    known = {json.dumps(c.as_dict(), sort_keys=True) for c in done}
    out = [(size, c) for size, c in out if json.dumps(c.as_dict(), sort_keys=True) not in known]
    return [c for _size, c in sorted(out, key=lambda sc: -sc[0])]


def scores(ref, structure, duration) -> dict:
    from sectionist.analysis.evaluate import Segmentation, boundary_scores, label_scores

    est = Segmentation(np.asarray(structure.bounds, dtype=float), [str(int(v)) for v in structure.labels])
    s = {**boundary_scores(ref, est, duration), **label_scores(ref, est, duration)}
    return {m: s[m] for m in METRICS}


def guided_curve(base, ref, features, counts, *, tau=None, propagate=True) -> dict:
    """``{n: scores}`` of ``base`` after the simulated expert's first ``n`` corrections, for ``n`` in
    ``counts``; each also has ``"violated"`` (the corrections so far that the structure breaks) and
    ``"steps"`` (``(kind, change of frame ARI)`` of each correction made so far, in order)."""
    from sectionist.analysis.errors import ParameterError
    from sectionist.analysis.structure.constrained import TAU, constrained_structure, violations

    tau = TAU if tau is None else tau

    duration = float(base.bounds[-1, 1])
    current, corrections, out, steps = base, [], {}, []
    ari = scores(ref, base, duration)["ari_frames"]
    for n in range(max(counts) + 1):
        if n in counts:
            out[n] = {**scores(ref, current, duration), "violated": len(violations(current, corrections)),
                      "steps": list(steps)}
        if n == max(counts):
            break
        for c in oracle(current, ref, corrections):
            try:
                current = constrained_structure(base, corrections + [c], features=features, tau=tau,
                                                propagate=propagate)
            except ParameterError:
                continue
            corrections.append(c)
            after = scores(ref, current, duration)["ari_frames"]
            steps.append((c.kind, after - ari))
            ari = after
            break
    return out


def main(argv=None) -> int:
    from sectionist.analysis.corpus.audio import load_audio
    from sectionist.analysis.evaluate import find_references, read_reference
    from sectionist.analysis.structure.beats import beat_features
    from sectionist.analysis.structure.constrained import TAU
    from sectionist.analysis.structure.schemes import DEFAULT_SCHEMES, STRUCTURES

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--schemes", default=f"merged,{DEFAULT_SCHEMES[0]}")
    ap.add_argument("--counts", default="0,1,3,5")
    ap.add_argument("--tau", default=str(TAU), help=f"comma-separated values, one variant each [{TAU}: constrained.TAU]")
    ap.add_argument("--no-propagate", action="store_true", help="add the variant without propagation")
    ap.add_argument("--max-songs", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    counts = sorted({int(c) for c in args.counts.split(",")})
    schemes = [STRUCTURES[s].name for s in args.schemes.split(",")]
    variants = {f"tau {t}": dict(tau=float(t)) for t in args.tau.split(",")}
    if args.no_propagate:
        variants["no propagation"] = dict(propagate=False)
    refs = find_references(args.folder)
    wavs = [w for w in sorted(glob.glob(os.path.join(args.folder, "**", "*.wav"), recursive=True))
            if os.path.splitext(os.path.basename(w))[0] in refs]
    if args.max_songs:
        wavs = wavs[: args.max_songs]
    if not wavs:
        print(f"{args.folder}: no WAV files with truth beside them", file=sys.stderr)
        return 2
    curves: dict = {s: {v: {n: [] for n in counts} for v in variants} for s in schemes}
    for w in wavs:
        ref = read_reference(refs[os.path.splitext(os.path.basename(w))[0]])
        y, sr = load_audio(w, 22050)
        feats = beat_features(y, sr)
        for s in schemes:
            spec = STRUCTURES[s]
            base = spec.segment(y, sr, **({"features": feats} if "features" in spec.inputs else {}))
            for v, kw in variants.items():
                for n, sc in guided_curve(base, ref, feats, counts, **kw).items():
                    curves[s][v][n].append(sc)
        print(f"{os.path.basename(w)}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    out: dict = {}
    print(f"{len(wavs)} songs of {args.folder}; means after n corrections per song")
    print(f"{'scheme':<10} {'variant':<16} {'n':>2}  " + "  ".join(f"{t:>6}" for t in TITLES))
    for s in schemes:
        out[s] = {}
        for v in variants:
            out[s][v] = {}
            for n in counts:
                mean = {m: round(float(np.mean([sc[m] for sc in curves[s][v][n]])), 4) for m in METRICS}
                out[s][v][n] = mean
                print(f"{s:<10} {v:<16} {n:>2}  " + "  ".join(f"{mean[m]:6.3f}" for m in METRICS))
    print("what the simulated expert's corrections did (all counts up to the largest): kind, how many, mean "
          "change of ARI, share that lowered it")
    for s in schemes:
        for v in variants:
            made = [st for sc in curves[s][v][max(counts)] for st in sc["steps"]]
            out.setdefault("corrections", {}).setdefault(s, {})[v] = by_kind = {}
            for kind in sorted({k for k, _ in made}):
                d = np.array([x for k, x in made if k == kind])
                by_kind[kind] = {"n": len(d), "mean_ari_change": round(float(d.mean()), 4),
                                 "lowered": round(float((d < -1e-9).mean()), 3)}
                print(f"{s:<10} {v:<16} {kind:<9} {len(d):4d}  {d.mean():+.3f}  {(d < -1e-9).mean():.0%}")
    out["violated"] = int(sum(sc["violated"] for s in schemes for v in variants for n in counts
                              for sc in curves[s][v][n]))
    print(f"corrections broken by a recomputed structure (every song, scheme, variant and count): {out['violated']}")
    out["songs"] = len(wavs)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
