"""Orchestration of ``sectionist analyze``: decode → sections → features → embeddings → store.

Each song is analysed on its own (:mod:`sectionist.analysis.run.song`; in a worker process of
:mod:`sectionist.analysis.run.pool` when ``workers > 1``); its parts are written atomically, the
``songs`` part last, so a song is either complete in the store or absent. A
re-run skips songs whose content hash and config hash are unchanged (and whose embeddings are
present); ``force`` recomputes. A bad file is reported with its path and reason in the manifest
and the summary, and the rest of the corpus goes on. A failure is remembered: a file that failed
is, while unchanged and under the same settings, reported again without being re-read
(``retry_failed`` or ``force`` tries it again); internal errors are always retried. The run's
records are applied to the manifest as it is when the run ends
(:class:`~sectionist.analysis.run.records.ManifestRecords`), so two processes analysing other
folders into one store both keep theirs.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from sectionist.store import Store
from sectionist.store.schema import SONGS

from sectionist.analysis import __version__
from sectionist.analysis.corpus.audio import AUDIO_EXTENSIONS, content_hash
from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.run.records import ManifestRecords
from sectionist.analysis.run.pool import (
    duration_hint,
    init_local_dask_worker,
    init_worker,
    pool_context,
    pool_likely,
    start_pool_server,
    worker_threads,
)
from sectionist.analysis.run.song import SongResult, run_song
from sectionist.analysis.errors import AudioError, ParameterError

log = logging.getLogger(__name__)


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


def checked_inputs(paths) -> tuple[list[Path], dict[str, str]]:
    """:func:`discover_inputs`, raising :class:`ParameterError` when a path is missing or none holds audio
    (``sectionist analyze`` calls it before it opens, and so creates, the store)."""
    files, bad_links = discover_inputs(paths)
    if not files and not bad_links:
        raise ParameterError("no audio files found in the given paths")
    return files, bad_links


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
    files, bad_links = checked_inputs(paths)
    check_embedders(cfg)
    if not cfg.dask and len(files) > 1 and pool_likely(files, cfg):
        start_pool_server()  # its imports overlap the hashing below
    # what earlier runs recorded (read once); this run's records are kept as changes and applied to the
    # manifest as it is when this run writes it, so another process's records are never overwritten
    earlier = store.read_manifest().get("songs") or {}
    records = ManifestRecords()
    existing = _existing_songs(store)
    summary = Summary()
    for link, reason in bad_links.items():  # dangling links and loops: reported like other bad files
        summary.failed[link] = reason
        records.fail(link, reason)

    # hash every file first: identity and resume both rest on content, not on names
    todo: list[tuple[Path, str, str]] = []
    seen_ids: dict[str, Path] = {}
    for p in tqdm(files, desc="checking", unit="file", disable=not progress or len(files) < 50, leave=False):
        try:
            digest = content_hash(p)
        except AudioError as exc:
            summary.failed[str(p)] = exc.reason
            records.fail(p, exc.reason)
            continue
        song_id = digest[:16]
        if song_id in seen_ids:
            summary.failed[str(p)] = f"duplicate of {seen_ids[song_id]} (same content)"
            records.fail(p, summary.failed[str(p)])
            continue
        seen_ids[song_id] = p
        if not cfg.force and _is_done(existing.get(song_id), cfg, store):
            summary.skipped += 1
            records.song(p, {"status": "ok", "song_id": song_id}, merge=True)
            records.clear(p)
            continue
        reason = None if cfg.force or cfg.retry_failed else _failed_before(earlier.get(str(p)), song_id, cfg)
        if reason is not None:
            summary.failed[str(p)] = reason
            summary.failed_before += 1
            records.fail(p, reason)
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
            records.clear(res.path)
        else:
            summary.failed[res.path] = res.reason
            records.fail(res.path, res.reason)
        records.song(res.path, {"status": res.status, "song_id": res.song_id, "reason": res.reason,
                                "seconds": round(res.seconds, 3), "analyzed_with": cfg.config_hash(),
                                "embedders": _embedders_key(cfg)})

    durations = {p: duration_hint(p) for p, _, _ in todo} if cfg.dask or cfg.workers != 1 else {}
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
                init = (functools.partial(init_local_dask_worker, worker_threads(n_local)) if kind == "local"
                        else functools.partial(init_worker, 1))
                for res in run_songs(client, todo, cfg, work=run_song, init=init, lost=lost):
                    record(res)
                    bar.set_postfix_str(Path(res.path).name[-30:])
                    bar.update(1)
        elif workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(), initializer=init_worker,
                                     initargs=(worker_threads(workers), preload, cfg.device)) as pool:
                futures = {pool.submit(run_song, p, sid, dg, cfg): p for p, sid, dg in todo}
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
                record(run_song(p, sid, dg, cfg))
                bar.update(1)
    except BaseException:  # Ctrl-C, a kill turned into an exception, a store that stopped answering
        interrupted = True
        raise
    finally:
        bar.close()
        summary.wall_s = time.perf_counter() - t_start
        records.set("config", {**cfg.to_dict(), "hash": cfg.config_hash()})
        records.set("libraries", _library_versions())
        records.timing("analyze", {
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_s": round(summary.wall_s, 2), "songs_analysed": summary.ok, "audio_s": round(summary.audio_s, 2),
            "interrupted": interrupted,
        })
        try:
            store.update_manifest(records.apply)
        except Exception:
            if not interrupted:
                raise
            log.warning("could not record the interrupted run in %s/manifest.json", store.uri)

    if cfg.cluster and files and store.list_parts(SONGS):
        # modelling is its own resumable step: it always checks for missing units (new sections to
        # place, default runs and maps not made yet, comparisons not finished), whatever the songs did
        from sectionist.analysis.modeling.defaults import run_default_models

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

