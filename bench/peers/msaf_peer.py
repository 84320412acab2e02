"""MSAF's flat segmentations of songs, as a peer of the structure bench (bench/structure_ablation.py).

Runs under MSAF's own venv (``bench/peers/.venv-msaf``, made by ``make bench-peers``), never under
sectionist's. For each WAV and each (boundaries, labels) pair of :data:`PAIRS` it calls
``msaf.process(wav, boundaries_id=..., labels_id=...)`` in single-file mode with MSAF's defaults,
exactly as a user of MSAF would: its own features (beat-synchronous ``pcp``, 22 050 Hz, hop 1024,
FFT 4096; OLDA adds its MFCCs), its own beat tracker, each algorithm's default configuration, no
tuning; only Python's ``random`` is seeded as MSAF seeds numpy (:data:`SEED`), so that ``cnmf``
gives the same result every run. MSAF writes its scratch files (``.features_msaf_tmp.json`` in the working directory,
``../estimations/NAME.jams`` beside the audio folder) into a temporary folder that holds a link to the
song, so nothing is written beside the corpus and a stale features file is never read.

Each (file, pair) result is cached under ``bench/out/peers/msaf/`` keyed by the file's absolute path,
size and mtime, the pair and MSAF's version. A failing file or pair is reported (``error``) and the
rest go on; failures are not cached.

Output (``--json``: one JSON document on stdout; ``--out DIR``: one JSON file per song):
``{"msaf": VERSION, "features": {...}, "songs": [{"path", "duration", "features_s",
"pairs": {"sf+fmc2d": {"times", "labels", "seconds", "cpu_s", "warnings"} | {"error"}}} | {"path", "error"}]}``.
``times`` are MSAF's boundary times (0 … duration, so segment i spans times[i]..times[i+1]) and
``labels`` one label per segment, as strings. ``seconds`` (``cpu_s``: this process's CPU time, all
threads) is the pair's ``msaf.process`` call, which reads the features file; ``features_s``
(``features_cpu_s``) is the one computation of the ``pcp`` features (HPSS, beats, CQT) per song
before the pairs run. ``warnings``: what MSAF logged or warned about the song (not API notices).

Usage: bench/peers/.venv-msaf/bin/python bench/peers/msaf_peer.py WAV ... (--json | --out DIR)
       [--pairs sf+fmc2d,...] [--cache DIR | --no-cache]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import random
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(os.path.dirname(HERE), "out", "peers", "msaf")
#: In the cache key: results of an older peer (2: Python's ``random`` seeded) are not reused.
PEER_VERSION = 2
#: MSAF's own seed: ``msaf.process`` seeds numpy with it, but cnmf's k-means initialisation
#: (``msaf/pymf/kmeans.py``) draws from Python's ``random``, which the peer seeds with it too.
SEED = 123

#: Each boundary algorithm with the label algorithm MSAF pairs it with: itself where it labels
#: (scluster, cnmf, vmo), else 2D-FMC (sf, foote, olda), as in MSAF's documentation and examples.
PAIRS = (("sf", "fmc2d"), ("foote", "fmc2d"), ("olda", "fmc2d"),
         ("scluster", "scluster"), ("cnmf", "cnmf"), ("vmo", "vmo"))


def pair_name(bounds_id: str, labels_id: str) -> str:
    """``sf+fmc2d``; an algorithm that labels its own segments is named once (``scluster``)."""
    return bounds_id if bounds_id == labels_id else f"{bounds_id}+{labels_id}"


def file_key(path: str, what: str) -> str:
    st = os.stat(path)
    return hashlib.sha1(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{what}".encode()).hexdigest()[:16]


class _Collect(logging.Handler):
    """MSAF's warnings (e.g. OLDA's "Audio file too short! Only start and end boundaries.", which it
    logs instead of raising) kept with the result they concern."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        msg = record.getMessage()[:300]
        if msg not in self.messages:
            self.messages.append(msg)


@contextlib.contextmanager
def _collected():
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield handler.messages
            for w in caught:
                if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
                    continue  # jams/scipy/librosa API notices, not about this song
                msg = f"{w.category.__name__}: {str(w.message)[:200]}"
                if msg not in handler.messages:
                    handler.messages.append(msg)
    finally:
        root.removeHandler(handler)


def _label(v) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else str(f)


def segment_song(path: str, pairs=PAIRS, cache: str | None = CACHE, log=sys.stderr) -> dict:
    """MSAF's segmentation of one WAV by each pair (see the module docstring); never raises for
    a failing song or pair: the result holds its ``error``."""
    import msaf
    import numpy as np
    from msaf.features import Features

    path = os.path.abspath(path)
    song = {"path": path, "pairs": {}}
    try:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
        stem = os.path.basename(path).rsplit(".", 1)[0]

        def cache_file(what):
            key = file_key(path, f"msaf-{msaf.__version__}-peer{PEER_VERSION}-{what}")
            return os.path.join(cache, f"{stem}-{what}-{key}.json")

        todo, files = [], {}
        for b, lab in pairs:
            name = pair_name(b, lab)
            files[name] = cache_file(name) if cache else None
            if files[name] and os.path.exists(files[name]):
                with open(files[name]) as fh:
                    song["pairs"][name] = json.load(fh)
            else:
                todo.append((b, lab, name))
        meta = cache_file("features") if cache else None
        if meta and os.path.exists(meta):
            with open(meta) as fh:
                song.update(json.load(fh))  # duration and the features' time when they were computed
        if not todo:
            return song
        with tempfile.TemporaryDirectory(prefix="msaf-peer-") as tmp, _chdir(tmp):
            os.mkdir("audio")
            audio = os.path.join("audio", os.path.basename(path))
            os.symlink(path, audio)
            t0, c0 = time.perf_counter(), time.process_time()
            with _collected():  # what msaf.process does first, timed apart from the algorithms
                fs = msaf.io.FileStruct(audio)
                fs.features_file = msaf.config.features_tmp_file
                feats = Features.select_features("pcp", fs, False, False)
                feats.features  # computes and writes the features file the pairs then read
            song["features_s"] = round(time.perf_counter() - t0, 3)
            song["features_cpu_s"] = round(time.process_time() - c0, 3)
            song["duration"] = float(feats.dur)
            if meta:
                _write_json(meta, {k: song[k] for k in ("duration", "features_s", "features_cpu_s")})
            print(f"msaf {os.path.basename(path)}: features {song['features_s']:.1f} s", file=log, flush=True)
            for b, lab, name in todo:
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    random.seed(SEED)  # else cnmf differs from run to run (SEED)
                    with _collected() as msgs:
                        times, labels = msaf.process(audio, boundaries_id=b, labels_id=lab)
                    times, labels = np.asarray(times, float), np.asarray(labels).ravel()
                    if len(times) != len(labels) + 1:
                        raise ValueError(f"{len(times)} boundary times for {len(labels)} labels")
                    result = {"times": [round(float(t), 6) for t in times],
                              "labels": [_label(v) for v in labels],
                              "seconds": round(time.perf_counter() - t0, 3),
                              "cpu_s": round(time.process_time() - c0, 3), "warnings": msgs}
                except Exception as e:  # a user of MSAF sees it fail: reported, the rest go on
                    result = {"error": f"{type(e).__name__}: {e}"[:500],
                              "seconds": round(time.perf_counter() - t0, 3)}
                song["pairs"][name] = result
                if files[name] and "error" not in result:
                    _write_json(files[name], result)
                print(f"msaf {os.path.basename(path)}: {name} {result['seconds']:.1f} s "
                      + (f"ERROR {result['error']}" if "error" in result else f"{len(result['labels'])} segments"),
                      file=log, flush=True)
    except Exception as e:
        song["error"] = f"{type(e).__name__}: {e}"[:500]
        print(f"msaf {path}: ERROR {song['error']}", file=log, flush=True)
    return song


@contextlib.contextmanager
def _chdir(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _write_json(path: str, value) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as fh:
        json.dump(value, fh)
    os.replace(path + ".tmp", path)


def parse_pairs(text: str | None):
    if not text:
        return PAIRS
    known = {pair_name(b, lab): (b, lab) for b, lab in PAIRS}
    out = []
    for name in text.split(","):
        if name in known:
            out.append(known[name])
        elif "+" in name:
            out.append(tuple(name.split("+", 1)))
        else:
            raise SystemExit(f"--pairs: {name!r} is neither one of {sorted(known)} nor BOUNDS+LABELS")
    return tuple(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wavs", nargs="+", metavar="WAV")
    ap.add_argument("--out", metavar="DIR", help="write one JSON per song (NAME-msaf.json) into DIR")
    ap.add_argument("--json", action="store_true", help="print one JSON document with every song on stdout")
    ap.add_argument("--pairs", help="comma-separated pair names (default: " +
                    ",".join(pair_name(b, lab) for b, lab in PAIRS) + ")")
    ap.add_argument("--cache", default=CACHE, help="cache folder (default: bench/out/peers/msaf)")
    ap.add_argument("--no-cache", action="store_true")
    args = ap.parse_args(argv)
    if not args.out and not args.json:
        ap.error("give --json, --out DIR or both")
    pairs = parse_pairs(args.pairs)
    stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # MSAF and vmo print; stdout carries only the JSON
        import librosa
        import msaf

        doc = {"msaf": msaf.__version__, "librosa": librosa.__version__,
               "features": {"feature": "pcp", "beat_sync": True, "sample_rate": msaf.config.sample_rate,
                            "hop_size": msaf.config.hop_size, "n_fft": msaf.config.n_fft},
               "songs": []}
        for p in args.wavs:
            song = segment_song(p, pairs, None if args.no_cache else args.cache)
            doc["songs"].append(song)
            if args.out:
                name = os.path.basename(p).rsplit(".", 1)[0]
                _write_json(os.path.join(args.out, f"{name}-msaf.json"), {k: v for k, v in doc.items() if k != "songs"}
                            | {"song": song})
    if args.json:
        json.dump(doc, stdout)
        stdout.write("\n")
    failed = sum("error" in s or any("error" in r for r in s["pairs"].values()) for s in doc["songs"])
    print(f"msaf: {len(doc['songs'])} songs, {failed} with a failure", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
