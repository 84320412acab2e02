"""Orchestration of ``sectionist analyze``: decode → sections → features → embeddings → store.

Each song is analysed on its own (in a worker process when ``workers > 1``); its parts are written
atomically, the ``songs`` part last, so a song is either complete in the store or absent. A
re-run skips songs whose content hash and config hash are unchanged (and whose embeddings are
present); ``force`` recomputes. A bad file is reported with its path and reason in the manifest
and the summary, and the rest of the corpus goes on. A failure is remembered: a file that failed
is, while unchanged and under the same settings, reported again without being re-read
(``retry_failed`` or ``force`` tries it again); internal errors are always retried.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from sectionist.store import SCHEMA_VERSION, Store
from sectionist.store.base import frame_to_arrow
from sectionist.store.schema import FEATURES, FRAMES, MELSPEC, SECTIONS, SONGS, SOUND_TRACKS, TAGS

from sectionist.analysis import __version__
from sectionist.analysis.corpus.audio import AUDIO_EXTENSIONS, content_hash, load_audio, probe
from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.run.cpu import available_cores
from sectionist.analysis.errors import AudioError, ParameterError, SectionistError

log = logging.getLogger(__name__)


# ---- inputs ---------------------------------------------------------------------------------------

def collect_inputs(paths) -> list[Path]:
    """Expand files and folders (recursively) into a sorted, de-duplicated list of audio files.

    Files given explicitly are kept whatever their extension (so a bad file is reported, not
    silently ignored); inside folders only known audio extensions are picked up. Broken symbolic
    links and link loops are left out here; :func:`discover_inputs` also returns them with a reason.
    """
    return discover_inputs(paths)[0]


def discover_inputs(paths) -> tuple[list[Path], dict[str, str]]:
    """:func:`collect_inputs`'s files, and the symbolic links that lead to no file.

    Returns
    -------
    files : list of Path
        Sorted, de-duplicated, resolved audio files.
    bad : dict
        ``absolute path of the link → reason`` for each dangling link or link loop given explicitly
        or found in a folder under an audio extension (reported like any other bad file).

    Raises
    ------
    ParameterError
        A path given explicitly that does not exist (and is not a symbolic link).
    """
    out: list[Path] = []
    bad: dict[str, str] = {}
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            for q in sorted(p.rglob("*")):
                if q.suffix.lower() not in AUDIO_EXTENSIONS:
                    continue
                if q.is_file():
                    out.append(q)
                elif q.is_symlink():
                    bad[os.path.abspath(q)] = _broken_link_reason(q)
        elif p.exists():
            out.append(p)
        elif p.is_symlink():
            bad[os.path.abspath(p)] = _broken_link_reason(p)
        else:
            raise ParameterError(f"{p}: no such file or folder")
    seen, uniq = set(), []
    for p in out:
        r = p.resolve()
        if r not in seen:
            seen.add(r)
            uniq.append(r)
    return uniq, bad


def _broken_link_reason(link: Path) -> str:
    """Why the symbolic link ``link`` leads to no file: a loop, or a target that does not exist."""
    try:
        target = os.readlink(link)
    except OSError:
        target = "?"
    try:
        link.resolve(strict=True)
    except (RuntimeError, OSError) as exc:  # RuntimeError: a loop (Python < 3.13); OSError ELOOP / ENOENT
        import errno

        if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
            return f"symbolic link loop (-> {target}): leads to no file"
        return f"broken symbolic link: its target {target} does not exist"
    return f"symbolic link (-> {target}) to something that is not a file"

def read_truth(audio_path: Path) -> tuple[Path | None, list[dict]]:
    """The ground-truth JSON beside an audio file (same stem), if any."""
    jp = audio_path.with_suffix(".json")
    if not jp.is_file():
        return None, []
    try:
        data = json.loads(jp.read_text())
        sections = [s for s in data.get("sections", []) if {"start", "end", "label"} <= set(s)]
        return jp, sections
    except (json.JSONDecodeError, AttributeError, OSError):
        log.warning("%s: ground-truth JSON is unreadable; ignored", jp)
        return None, []


def truth_labels(sections: pd.DataFrame, truth: list[dict]) -> list:
    """Label of the truth segment that overlaps each section most (None without truth)."""
    if not truth:
        return [None] * len(sections)
    ts = np.array([[t["start"], t["end"]] for t in truth], dtype=float)
    labels = [t["label"] for t in truth]
    out = []
    for s, e in zip(sections["start_s"], sections["end_s"]):
        ov = np.minimum(e, ts[:, 1]) - np.maximum(s, ts[:, 0])
        j = int(np.argmax(ov))
        out.append(labels[j] if ov[j] > 0 else None)
    return out


# ---- one song ---------------------------------------------------------------------------------------

@dataclass
class SongResult:
    path: str
    status: str  # ok / failed / skipped
    song_id: str | None = None
    reason: str | None = None
    seconds: float = 0.0
    duration_s: float = 0.0
    n_sections: int = 0
    parts: dict = field(default_factory=dict)  # table/part → DataFrame
    song_row: dict | None = None


_EMBEDDERS: dict = {}


def _embedder(name: str, device: str):
    key = (name, device)
    if key not in _EMBEDDERS:
        from sectionist.analysis.embeddings import get_embedder

        _EMBEDDERS[key] = get_embedder(name, device=device)
    return _EMBEDDERS[key]


def analyze_song(path: Path, song_id: str, digest: str, cfg: AnalysisConfig) -> SongResult:
    """Analyse one file into its table parts (nothing is written here).

    The song is decoded once; its mel spectrogram at hop 512 (:class:`~sectionist.analysis.sections.features.SongSpectrum`)
    is computed once and shared by the structure schemes' beat tracking and MFCCs (same values as
    computing them in each scheme).
    """
    from sectionist.analysis.sections.features import FeatureParams, onset_envelope, section_features, song_tempo
    from sectionist.analysis.sections.sectioning import SCHEMES, make_sections, select_central

    t0 = time.perf_counter()
    info = probe(path)
    y, sr = load_audio(path, cfg.sample_rate, min_seconds=cfg.min_song_seconds)
    duration = len(y) / sr
    oenv = onset_envelope(y, sr, cfg.hop_length)
    tempo = song_tempo(oenv, sr, cfg.hop_length)
    params = dict(section_seconds=cfg.section_seconds, beats_per_section=cfg.beats_per_section,
                  min_section_seconds=cfg.min_section_seconds, y=y, sr=sr)
    if SCHEMES[cfg.scheme].needs_novelty:
        from sectionist.analysis.sections.features import novelty_boundaries

        params["boundaries_s"] = novelty_boundaries(y, sr, min_section_seconds=cfg.min_section_seconds)
    if SCHEMES[cfg.scheme].needs_beats:
        import librosa

        _, beats = librosa.beat.beat_track(onset_envelope=oenv, sr=sr, hop_length=cfg.hop_length, bpm=tempo)
        params["beat_times"] = librosa.frames_to_time(beats, sr=sr, hop_length=cfg.hop_length)
    sections = make_sections(song_id, duration, cfg.scheme, **params)
    if sections.empty:
        raise AudioError(path, f"too short for one section with scheme {cfg.scheme!r} "
                               f"({duration:.2f} s; a fixed section needs more than {cfg.section_seconds / 2:g} s)")
    bounds = np.round(sections[["start_s", "end_s"]].to_numpy() * sr).astype(np.int64)
    fp = FeatureParams(sr=sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels, n_mfcc=cfg.n_mfcc)
    feats, mel = section_features(y, bounds, fp, return_mel=True)
    feats["tempo_bpm"] = np.float32(tempo)
    is_central, rank = select_central(feats["rms_median"].to_numpy(), feats["spectral_centroid_median"].to_numpy(),
                                      rule=cfg.central_rule, fraction=cfg.central_fraction)
    sections["is_central"] = is_central
    sections["rank"] = rank
    truth_path, truth = read_truth(path)
    sections["truth_label"] = pd.Series(truth_labels(sections, truth), dtype="string")
    feats.insert(0, "song_id", song_id)
    feats.insert(0, "section_id", sections["section_id"].to_numpy())
    melspec = pd.DataFrame(mel, columns=[f"mel{i}" for i in range(mel.shape[1])])
    melspec.insert(0, "song_id", song_id)
    melspec.insert(0, "section_id", sections["section_id"].to_numpy())
    parts = {(SECTIONS, SECTIONS.part(song_id=song_id)): sections, (FEATURES, FEATURES.part(song_id=song_id)): feats,
             (MELSPEC, MELSPEC.part(song_id=song_id)): melspec}
    if cfg.structure_schemes:  # per-song structure labels (sectionist.analysis.structure), beside the sections
        from sklearn.cluster import KMeans  # noqa: F401  (loads its OpenMP runtime, so the limit below applies)
        from threadpoolctl import threadpool_limits

        from sectionist.analysis.sections.features import SongSpectrum
        from sectionist.analysis.structure import song_segments

        spectrum = SongSpectrum(y, sr, 512)  # the merged and laplacian schemes' beats and MFCCs, once
        # their K-Means and neighbour searches are on a few hundred beats: OpenMP threads only cost
        # (on a busy machine a small fit took 160 ms on 2 threads, 5 ms on one)
        with threadpool_limits(limits=1, user_api="openmp"):
            parts.update(song_segments(song_id, y, sr, cfg.structure_schemes, spectrum=spectrum))
    if cfg.sound_tracks:  # the producers' sound tracks with the defaults of 'sectionist tracks' (off: slower)
        from sectionist.analysis.sections.soundtracks import song_tracks

        tracks = song_tracks(y, sr).tracks
        tracks.insert(0, "song_id", song_id)
        parts[(SOUND_TRACKS, SOUND_TRACKS.part(song_id=song_id))] = tracks
    if cfg.embed:
        from sectionist.analysis.embeddings import embed_song

        for name in cfg.embedders:
            frames, tags = embed_song(_embedder(name, cfg.device), y, sr, sections)
            parts[(FRAMES, FRAMES.part(embedder=name, song_id=song_id))] = frames
            if tags is not None and len(tags):
                model = str(tags["model"].iloc[0])
                parts[(TAGS, TAGS.part(model=model, song_id=song_id))] = tags
    song_row = {
        "song_id": song_id, "uri": str(path), "title": path.stem, "format": info.format,
        "duration_s": float(duration), "sample_rate": int(info.sample_rate), "channels": int(info.channels),
        "analysis_sr": int(sr), "tempo_bpm": float(tempo), "n_sections": int(len(sections)),
        "analyzed_with": cfg.config_hash(), "content_hash": digest,
        "truth_path": str(truth_path) if truth_path else None,
        "embedders": ",".join(cfg.embedders) if cfg.embed else "",
    }
    return SongResult(str(path), "ok", song_id, seconds=time.perf_counter() - t0, duration_s=duration,
                      n_sections=len(sections), parts=parts, song_row=song_row)


def _worker(path: Path, song_id: str, digest: str, cfg: AnalysisConfig) -> SongResult:
    """Run :func:`analyze_song`, turning any failure into a reported result."""
    t0 = time.perf_counter()
    try:
        res = analyze_song(path, song_id, digest, cfg)
        res.parts = _arrow_parts(res.parts)
        return res
    except AudioError as exc:
        return SongResult(str(path), "failed", song_id, reason=exc.reason, seconds=time.perf_counter() - t0)
    except SectionistError as exc:
        return SongResult(str(path), "failed", song_id, reason=str(exc), seconds=time.perf_counter() - t0)
    except MemoryError:
        return SongResult(str(path), "failed", song_id, reason="out of memory", seconds=time.perf_counter() - t0)
    except Exception as exc:  # a bug or an odd file must not stop the corpus; the reason is kept
        log.exception("unexpected error on %s", path)
        return SongResult(str(path), "failed", song_id, reason=f"internal error: {type(exc).__name__}: {exc}",
                          seconds=time.perf_counter() - t0)


def _arrow_parts(parts: dict) -> dict:
    """The song's parts as Arrow tables of their declared types (what ``Store.write_part`` makes of a
    DataFrame), converted here, in the worker: the process that writes the store receives them
    ready (the conversion of the wide frames and mel parts was ~60 % of its work per song)."""
    return {(table, part): table.conform(frame_to_arrow(df)) for (table, part), df in parts.items()}


#: The thread-pool limits of this worker process (kept alive: dropping them restores the defaults).
_THREAD_LIMITS = []


def worker_threads(workers: int, cores: int | None = None) -> int:
    """Threads each of ``workers`` processes gets for BLAS and the network: the machine's cores
    shared out (at least one), so that the processes together never ask for more threads than
    there are cores (oversubscribed BLAS threads spin against each other)."""
    cores = cores or available_cores()
    return max(1, cores // max(1, workers))


#: Modules the worker processes' forkserver imports once (see :func:`pool_context`).
WORKER_PRELOAD = ("sectionist.analysis.run.pipeline", "sectionist.analysis.sections.features", "sectionist.analysis.structure", "sectionist.analysis.embeddings.musicnn",
                  "librosa.beat", "librosa.onset", "librosa.feature", "librosa.segment", "scipy.linalg",
                  "scipy.signal", "sklearn.cluster", "pyarrow.parquet")


def pool_context():
    """The :mod:`multiprocessing` context of the analysis's worker pool.

    Where there is a forkserver (Linux), that: the server process imports :data:`WORKER_PRELOAD` once
    and each worker is forked from it ready, instead of importing everything again and compiling
    librosa's numba beat tracker (whose local-score kernel is not cached) before its first song, as
    spawned workers did: 2.1 s more for its first song and 0.8 s of start per worker. Nothing has
    run a thread pool in the server, so forking it is safe. Elsewhere, ``spawn``.
    """
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(WORKER_PRELOAD))
    return ctx


def _pool_likely(files: list[Path], cfg: AnalysisConfig) -> bool:
    """Whether ``analyze`` will probably start a worker pool for ``files``: ``workers`` > 1, or by
    default enough audio (file headers read until :data:`~sectionist.analysis.run.config.POOL_MIN_AUDIO_S` is
    reached; songs already analysed are not known yet, so a pool may turn out not to be needed)."""
    from sectionist.analysis.run.config import POOL_MIN_AUDIO_S

    if cfg.workers is not None:
        return cfg.workers > 1
    if cfg.worker_count(len(files), 10 * POOL_MIN_AUDIO_S) < 2:
        return False  # one core
    total = 0.0
    for p in files:
        total += _duration_hint(p)
        if total >= POOL_MIN_AUDIO_S:
            return True
    return False


def _start_pool_server() -> None:
    """Start the forkserver of :func:`pool_context` now (it returns at once; the server imports in the
    background), so that its imports overlap other work; nothing where there is none."""
    if pool_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _init_worker(threads: int = 1, embedders: tuple = (), device: str = "cpu"):
    """Limit a worker process's BLAS/OpenMP pools and torch to ``threads`` threads, then load the
    ``embedders`` (their weights are read once per worker, while the other workers already decode).

    Setting ``OMP_NUM_THREADS`` is not enough once NumPy is imported (its BLAS read it already, and
    unpickling the task imports NumPy before this runs): threadpoolctl changes the live pools. It
    only sees the pools loaded when it is called, so SciPy's own OpenBLAS (eigh, the CQT's linear
    algebra) and scikit-learn's OpenMP are loaded first: left unlimited they ran 2 threads in each of
    2 workers, and a song took 0.58 s in a worker of 2 against 0.52 s in one single-threaded process.
    """
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["SECTIONIST_WORKER"] = "1"
    import numpy  # noqa: F401  (each import loads a thread pool, so the limit below reaches it)
    import scipy.linalg  # noqa: F401
    import sklearn.cluster  # noqa: F401
    from threadpoolctl import threadpool_limits

    _THREAD_LIMITS.append(threadpool_limits(limits=threads))
    if "torch" in sys.modules:  # else torch, if an embedder imports it later, reads OMP_NUM_THREADS
        sys.modules["torch"].set_num_threads(threads)  # (the NumPy musicnn never does: importing it cost 0.9 s)
    for name in embedders:
        try:
            _embedder(name, device)
        except Exception:  # checked in the parent already; a song that needs it reports the error
            log.warning("worker could not preload embedder %s", name, exc_info=True)


def _init_local_dask_worker(threads: int) -> None:
    """A ``--dask local:N`` worker before its first song: :func:`_init_worker`, and the closing
    heartbeat's error record dropped (:func:`sectionist.analysis.run.distributed.quiet_closing_heartbeat`)."""
    from sectionist.analysis.run.distributed import quiet_closing_heartbeat

    _init_worker(threads)
    quiet_closing_heartbeat()


def _duration_hint(path: Path) -> float:
    """The file's duration from its header (0 when unreadable: the song itself will report why)."""
    try:
        return probe(path).duration_s
    except (SectionistError, OSError, ValueError, RuntimeError):
        return 0.0


# ---- the corpus -------------------------------------------------------------------------------------

@dataclass
class Summary:
    ok: int = 0
    skipped: int = 0
    failed: dict = field(default_factory=dict)  # path → reason
    failed_before: int = 0  # of ``failed``: unchanged files that failed the same way last time (not retried)
    sections: int = 0
    audio_s: float = 0.0
    wall_s: float = 0.0
    runs: list = field(default_factory=list)
    modeling: list = field(default_factory=list)  # lines on placement and runs not covering new sections

    def realtime_factor(self) -> float:
        return self.audio_s / self.wall_s if self.wall_s > 0 else float("nan")

    def lines(self) -> list[str]:
        out = [
            f"songs: {self.ok} analysed, {self.skipped} unchanged (skipped), {len(self.failed)} failed"
            + (f" ({self.failed_before} unchanged since they failed before; --retry-failed tries them again)"
               if self.failed_before else ""),
            f"sections: {self.sections} (in analysed songs)",
            f"audio: {self.audio_s / 3600:.3f} h in {self.wall_s:.1f} s wall time "
            f"({self.realtime_factor():.0f} audio hours per wall hour)" if self.wall_s else "",
        ]
        if self.runs:
            out.append(f"clustering runs: {', '.join(self.runs)}")
        out.extend(self.modeling)
        for p, r in self.failed.items():
            out.append(f"FAILED {p}: {r}")
        return [line for line in out if line]


def _existing_songs(store: Store) -> dict[str, dict]:
    if not store.list_parts(SONGS):
        return {}
    df = store.read_table(SONGS)
    return {r["song_id"]: r for r in df.to_dict("records")}


def _is_done(row: dict | None, cfg: AnalysisConfig, store: Store) -> bool:
    if row is None or row.get("analyzed_with") != cfg.config_hash():
        return False
    if cfg.embed:
        have = set(str(row.get("embedders") or "").split(","))
        if not set(cfg.embedders) <= have:
            return False
    return True


def _failed_before(entry: dict | None, song_id: str, cfg: AnalysisConfig) -> str | None:
    """The reason an unchanged file failed under the same settings last time, or None.

    Only failures that come from the file itself are remembered; an internal error (a bug, a
    machine out of memory) is always retried.
    """
    if not entry or entry.get("status") != "failed" or entry.get("song_id") != song_id:
        return None
    if entry.get("analyzed_with") != cfg.config_hash() or entry.get("embedders") != _embedders_key(cfg):
        return None
    reason = entry.get("reason") or ""
    return None if not reason or reason.startswith("internal error") else reason


def _embedders_key(cfg: AnalysisConfig) -> str:
    return ",".join(cfg.embedders) if cfg.embed else ""


def check_embedders(cfg: AnalysisConfig) -> None:
    """Fail early (before any song) when a requested embedder cannot run here."""
    if not cfg.embed:
        return
    from sectionist.analysis.embeddings import get_embedder

    for name in cfg.embedders:
        get_embedder(name, device=cfg.device)  # raises a clear error (e.g. weights not fetched)


def analyze(paths, store: Store, cfg: AnalysisConfig | None = None, *, progress: bool = True) -> Summary:
    """Analyse every audio file in ``paths`` into ``store``; see the module docstring.

    Returns
    -------
    Summary
        Counts, failures with reasons, sections, audio seconds and wall time.
    """
    from tqdm.auto import tqdm

    cfg = cfg or AnalysisConfig()
    t_start = time.perf_counter()
    files, bad_links = discover_inputs(paths)
    if not files and not bad_links:
        raise ParameterError("no audio files found in the given paths")
    check_embedders(cfg)
    if not cfg.dask and len(files) > 1 and _pool_likely(files, cfg):
        _start_pool_server()  # its imports overlap the hashing below
    manifest = store.read_manifest()
    manifest.setdefault("songs", {})
    manifest.setdefault("errors", {})
    existing = _existing_songs(store)
    summary = Summary()
    for link, reason in bad_links.items():  # dangling links and loops: reported like other bad files
        summary.failed[link] = manifest["errors"][link] = reason

    # hash every file first: identity and resume both rest on content, not on names
    todo: list[tuple[Path, str, str]] = []
    seen_ids: dict[str, Path] = {}
    for p in tqdm(files, desc="checking", unit="file", disable=not progress or len(files) < 50, leave=False):
        try:
            digest = content_hash(p)
        except AudioError as exc:
            summary.failed[str(p)] = manifest["errors"][str(p)] = exc.reason
            continue
        song_id = digest[:16]
        if song_id in seen_ids:
            summary.failed[str(p)] = manifest["errors"][str(p)] = f"duplicate of {seen_ids[song_id]} (same content)"
            continue
        seen_ids[song_id] = p
        if not cfg.force and _is_done(existing.get(song_id), cfg, store):
            summary.skipped += 1
            manifest["songs"][str(p)] = {**manifest["songs"].get(str(p), {}), "status": "ok", "song_id": song_id}
            manifest["errors"].pop(str(p), None)
            continue
        reason = None if cfg.force or cfg.retry_failed else _failed_before(manifest["songs"].get(str(p)), song_id, cfg)
        if reason is not None:
            summary.failed[str(p)] = reason
            summary.failed_before += 1
            manifest["errors"][str(p)] = reason
            continue
        todo.append((p, song_id, digest))

    def record(res: SongResult):
        if res.status == "ok":
            for (table, part), df in res.parts.items():
                store.write_part(table, part, df)
            store.write_part(SONGS, res.song_id, pd.DataFrame([res.song_row]))  # last: marks the song done
            summary.ok += 1
            summary.sections += res.n_sections
            summary.audio_s += res.duration_s
            manifest["errors"].pop(res.path, None)
        else:
            summary.failed[res.path] = res.reason
            manifest["errors"][res.path] = res.reason
        manifest["songs"][res.path] = {"status": res.status, "song_id": res.song_id, "reason": res.reason,
                                       "seconds": round(res.seconds, 3), "analyzed_with": cfg.config_hash(),
                                       "embedders": _embedders_key(cfg)}

    durations = {p: _duration_hint(p) for p, _, _ in todo} if cfg.dask or cfg.workers != 1 else {}
    workers = cfg.worker_count(len(todo), sum(durations.values()))
    if cfg.dask or workers > 1:  # longest first, so that the last song to finish is a short one
        todo.sort(key=lambda t: -durations[t[0]])
    preload = tuple(cfg.embedders) if cfg.embed else ()
    bar = tqdm(total=len(todo), desc="analysing", unit="song", disable=not progress, dynamic_ncols=True)
    interrupted = False
    try:
        if cfg.dask and todo:
            from sectionist.analysis.run.distributed import dask_client, parse_address, run_songs

            with dask_client(cfg.dask) as client:
                lost = lambda path, song_id, reason: SongResult(path, "failed", song_id, reason=reason)  # noqa: E731
                kind, n_local = parse_address(cfg.dask)
                # local:N shares this machine's cores out; a remote worker process is one per core
                init = (functools.partial(_init_local_dask_worker, worker_threads(n_local)) if kind == "local"
                        else functools.partial(_init_worker, 1))
                for res in run_songs(client, todo, cfg, work=_worker, init=init, lost=lost):
                    record(res)
                    bar.set_postfix_str(Path(res.path).name[-30:])
                    bar.update(1)
        elif workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(), initializer=_init_worker,
                                     initargs=(worker_threads(workers), preload, cfg.device)) as pool:
                futures = {pool.submit(_worker, p, sid, dg, cfg): p for p, sid, dg in todo}
                try:
                    for fut in as_completed(futures):
                        res = fut.result()
                        record(res)
                        bar.set_postfix_str(Path(res.path).name[-30:])
                        bar.update(1)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
        else:
            for p, sid, dg in todo:
                bar.set_postfix_str(p.name[-30:])
                record(_worker(p, sid, dg, cfg))
                bar.update(1)
    except BaseException:  # Ctrl-C, a kill turned into an exception, a store that stopped answering
        interrupted = True
        raise
    finally:
        bar.close()
        summary.wall_s = time.perf_counter() - t_start
        manifest["config"] = {**cfg.to_dict(), "hash": cfg.config_hash()}
        manifest["libraries"] = _library_versions()
        manifest.setdefault("timings", {})["analyze"] = {
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_s": round(summary.wall_s, 2), "songs_analysed": summary.ok, "audio_s": round(summary.audio_s, 2),
            "interrupted": interrupted,
        }
        manifest["schema_version"] = SCHEMA_VERSION
        try:
            store.write_manifest(manifest)
        except Exception:
            if not interrupted:
                raise
            log.warning("could not record the interrupted run in %s/manifest.json", store.uri)

    if cfg.cluster and files and store.list_parts(SONGS):
        # modelling is its own resumable step: it always checks for missing units (new sections to
        # place, default runs and maps not made yet, comparisons not finished), whatever the songs did
        from sectionist.analysis.modeling import run_default_models

        embedders = tuple(cfg.embedders) if cfg.embed else ()
        report: dict = {}
        summary.runs = list(run_default_models(store, embedders=embedders, progress=progress, report=report))
        summary.modeling = report["placement"].lines() if "placement" in report else []
        summary.wall_s = time.perf_counter() - t_start
    return summary


def _library_versions() -> dict:
    import importlib.metadata as md

    out = {"sectionist": __version__, "python": sys.version.split()[0]}
    for name in ("numpy", "scipy", "librosa", "soundfile", "soxr", "pyarrow", "pandas", "scikit-learn",
                 "openTSNE", "umap-learn", "shap", "torch"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out
