"""Benchmark: which K the automatic rule chooses on corpora with known truth, with the curves.

Three corpora, each analysed into its own store (classical features only, no embeddings):

``demo``
    ``sectionist.analysis.corpus.demo.make_corpus`` (default 8 songs × 60 s), truth: 5 section labels.
``dev``
    The development corpus of real timbres (``sectionist.analysis.corpus.devcorpus.make_dev_corpus``: songs composed
    as MIDI in real forms, rendered by FluidSynth with a General MIDI soundfont), ``--dev-songs``
    songs (default 24); its truth labels are the form's section types (verse, chorus, bridge, …).
    Left out, with a line saying why, when FluidSynth or the soundfont is missing.
``hard``
    A harder corpus built here from the demo generator: ``--hard-songs`` songs (default 24) of
    90–240 s, tempi 96–150 BPM, each with its own random "production" (a low-pass tilt between
    2.5 and 11 kHz, a high-shelf of white noise at 18–35 dB SNR, a random segment length of 4, 8
    or 16 bars), so sections of one label differ much more between songs. Truth: the labels of
    its segments (5).
``two``
    Songs made only of ``drop`` and ``break`` segments (``--two-songs``, default 20, 60–120 s,
    the same per-song production): truth with exactly 2 groups, where K = 2 is the right answer.

For every corpus it fits the default runs (``sectionist.analysis.modeling.defaults.default_run_specs`` plus the
reference study's fixed K = 4 run) and prints each run's curves (silhouette, stability, BIC,
inertia), the K chosen and the rule's reason, the number of truth labels and ARI / NMI against the
truth, and the K the former rule (best silhouette; GMM: lowest BIC) would choose from the same
curves. The last line is one JSON object: ``{"demo_k": {run: {"k": …, "truth_k": …, "ari": …,
"nmi": …, "k_rule": …, "k_at_edge": …, "former_k": …}}, "dev_k": …, "hard_k": …, "two_k": …}``.

Usage: python bench/kchoice.py [--demo-songs 8] [--demo-seconds 60] [--dev-songs 24] [--hard-songs 24] [--two-songs 20]
       [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sectionist.analysis.corpus.demo import make_corpus, synth_song
from sectionist.analysis.corpus.demoplan import Segment, grid_step
from sectionist.analysis.corpus.synth import butter_filter
from sectionist.analysis.corpus.wavwriter import write_wav
from sectionist.store.fileio import atomic_write


def _produce(y, rng, sample_rate):
    """A song's own "production": low-pass tilt and a bed of high-passed noise at a random SNR."""
    cutoff = float(rng.uniform(2500, 11000))
    y = 0.5 * y + 0.5 * butter_filter("lowpass", y, min(cutoff, 0.45 * sample_rate), sample_rate)
    snr_db = float(rng.uniform(18, 35))
    noise = butter_filter("highpass", rng.standard_normal(y.size), 2000.0, sample_rate)
    noise *= np.sqrt(np.mean(y**2) / max(np.mean(noise**2), 1e-12)) * 10 ** (-snr_db / 20)
    y = y + noise
    return (0.89 * y / max(np.max(np.abs(y)), 1e-12)).astype(np.float32)


def _write(out: Path, i: int, y, info, sample_rate, seed):
    wav = out / f"song_{i:02d}.wav"
    write_wav(wav, y, sample_rate)
    meta = {"tempo_bpm": info["tempo_bpm"], "key": info["key"], "duration_s": round(y.size / sample_rate, 6),
            "sample_rate": sample_rate, "seed": seed, "sections": info["sections"]}
    text = (json.dumps(meta, indent=1) + "\n").encode()
    atomic_write(wav.with_suffix(".json"), lambda fh, text=text: fh.write(text))
    return wav


def _structure(n_bars, unit, labels_cycle, rng):
    """Segments of ``unit`` bars; labels drawn from ``labels_cycle`` (a list of label sequences)."""
    k = max(2, n_bars // unit)
    seq = list(labels_cycle[int(rng.integers(len(labels_cycle)))])
    labels = [seq[j % len(seq)] for j in range(k)]
    lengths = [unit] * k
    lengths[-1] += n_bars - sum(lengths)
    segs, bar = [], 0
    for lab, nb in zip(labels, lengths):
        segs.append(Segment(lab, bar, nb))
        bar += nb
    return segs


def make_hard_corpus(out_dir, *, n_songs=24, seed=7, sample_rate=22050, two_groups=False):
    """Write the ``hard`` (5 labels) or ``two`` (drop/break only) corpus; returns the WAV paths."""
    from tqdm.auto import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    five = [["intro", "build", "drop", "break", "build", "drop", "outro"],
            ["intro", "drop", "break", "build", "drop", "break", "outro"],
            ["intro", "build", "drop", "break", "drop", "outro"]]
    two = [["drop", "break"], ["break", "drop"], ["drop", "drop", "break"], ["break", "break", "drop"]]
    paths = []
    for i in tqdm(range(n_songs), desc="two" if two_groups else "hard", unit="song"):
        rng = np.random.default_rng([seed, i, 2 if two_groups else 5])
        seconds = float(rng.uniform(60, 120) if two_groups else rng.uniform(90, 240))
        tempo = float(rng.integers(96, 151))
        step, _ = grid_step(tempo, sample_rate)
        n_bars = int(round(seconds * sample_rate)) // (16 * step)
        unit = int(rng.choice([4, 8] if two_groups else [4, 8, 16]))
        labels = two if two_groups else five
        structure = _structure(n_bars, unit, labels, rng)
        if not two_groups:  # the last segment is the outro whatever the cycle gave
            structure[-1] = Segment("outro", structure[-1].start_bar, structure[-1].n_bars)
        y, info = synth_song(seconds, tempo, sample_rate=sample_rate, rng=rng, structure=structure)
        paths.append(_write(out, i, _produce(y, rng, sample_rate), info, sample_rate, seed))
    return paths


def analyse(folder: Path, store_dir: Path):
    """Features only (no embeddings, no clusterings) of every song of ``folder`` into a store."""
    from sectionist.analysis.run.config import AnalysisConfig
    from sectionist.analysis.run.pipeline import analyze
    from sectionist.store import open_store

    store = open_store(store_dir)
    analyze([str(folder)], store, AnalysisConfig(embed=False, cluster=False), progress=False)
    return store


def _fmt(v):
    return "   –  " if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:6.3f}"


def evaluate(store, name: str) -> dict:
    """Fit the default runs of ``store`` (plus K = 4) and print curves, chosen K and truth scores."""
    from sectionist.analysis.modeling.defaults import default_run_specs
    from sectionist.analysis.modeling.kchoice import choose_k
    from sectionist.analysis.modeling.runs import fit_run
    from sectionist.analysis.modeling.scores import score_truth
    from sectionist.analysis.modeling.spaces import load_space, read_sections
    from sectionist.analysis.modeling.specs import RunSpec

    sections = read_sections(store).set_index("section_id")
    out = {}
    specs = default_run_specs(store, embedders=())
    for sp in specs:
        data = load_space(store, sp["space"], level=sp.get("level"))
        spec = RunSpec(sp["space"], sp.get("method", "kmeans"), sp.get("k", "auto"))
        t0 = time.perf_counter()
        res = fit_run(data, spec)
        secs = time.perf_counter() - t0
        truth = sections["truth_label"].reindex(res.section_ids).to_numpy()
        ts = score_truth(res, truth)
        truth_k = int(len({t for t in truth if isinstance(t, str) and t}))
        c = res.curves
        print(f"\n[{name}] {res.run_id}: {len(res.section_ids)} sections, truth has {truth_k} labels")
        if c.get("k"):
            print("   K   " + "  ".join(f"{m:>10s}" for m in ("silhouette", "stability", "bic", "inertia")))
            for j, kk in enumerate(c["k"]):
                vals = [c.get(m, [None] * len(c["k"]))[j] for m in ("silhouette", "stability", "bic", "inertia")]
                mark = " <" if kk == res.n_clusters else ""
                print(f"  {kk:2d}   " + "  ".join(f"{_fmt(v):>10s}" for v in vals) + mark)
        print(f"  chosen K={res.n_clusters} by {res.k_rule} (range {res.k_min}–{res.k_max}, at edge: "
              f"{res.k_at_edge}); {res.k_reason}")
        old_k = None
        if c.get("k"):  # what the former rule (best silhouette; GMM: lowest BIC) chose from the same curves
            old_rule = "bic" if "bic" in c else "silhouette"
            old_k = choose_k(c["k"], c["silhouette"], rule=old_rule, bic=c.get("bic"))[0]
            print(f"  former rule ({old_rule}) would choose K={old_k}")
        print(f"  ARI={ts['ari']:.3f} NMI={ts['nmi']:.3f} silhouette={res.quality['silhouette']:.3f} "
              f"({secs:.1f} s)")
        out[res.run_id] = {"k": int(res.n_clusters), "truth_k": truth_k, "ari": round(float(ts["ari"]), 3),
                           "nmi": round(float(ts["nmi"]), 3), "k_rule": res.k_rule,
                           "k_at_edge": bool(res.k_at_edge), "former_k": old_k, "seconds": round(secs, 2)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo-songs", type=int, default=8)
    ap.add_argument("--demo-seconds", type=float, default=60.0)
    ap.add_argument("--dev-songs", type=int, default=24)
    ap.add_argument("--hard-songs", type=int, default=24)
    ap.add_argument("--two-songs", type=int, default=20)
    ap.add_argument("--work", default=None, help="folder for the corpora and stores (default: a temporary one; "
                    "an existing one is reused, so a second run only refits)")
    args = ap.parse_args(argv)
    if args.hard_songs < 20 or args.dev_songs < 20:
        ap.error("--hard-songs/--dev-songs: the acceptance asks for at least 20 songs")
    from sectionist.analysis.corpus.devcorpus import check_renderer, make_dev_corpus
    from sectionist.analysis.errors import SectionistError

    try:
        check_renderer()
        dev = True
    except SectionistError as exc:
        print(f"dev corpus left out: {exc}")
        dev = False

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        result = {}
        for name, build in (
            ("demo", lambda d: make_corpus(d, n_songs=args.demo_songs, seconds=args.demo_seconds, seed=0,
                                           progress=False)),
            *((("dev", lambda d: make_dev_corpus(d, n_songs=args.dev_songs, seed=0)),) if dev else ()),
            ("hard", lambda d: make_hard_corpus(d, n_songs=args.hard_songs)),
            ("two", lambda d: make_hard_corpus(d, n_songs=args.two_songs, two_groups=True)),
        ):
            songs, store_dir = work / f"{name}-songs", work / f"{name}-store"
            if not store_dir.exists():
                build(songs)
                analyse(songs, store_dir)
            from sectionist.store import open_store

            result[f"{name}_k"] = evaluate(open_store(store_dir, create=False), name)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
