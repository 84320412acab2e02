"""One song of ``sectionist analyze``: decode → sections → features → structure → embeddings, into
table parts (:func:`analyze_song`), and :func:`run_song`, the task a worker runs, which turns any
failure into a reported :class:`SongResult` and hands the parts over as Arrow tables."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sectionist.store.base import frame_to_arrow
from sectionist.store.schema import FEATURES, FRAMES, MELSPEC, SECTIONS, SOUND_TRACKS, TAGS

from sectionist.analysis.corpus.audio import load_audio, probe
from sectionist.analysis.run.config import AnalysisConfig
from sectionist.analysis.errors import AudioError, SectionistError
from sectionist.analysis.threads import cover_new_pools, one_thread

log = logging.getLogger(__name__)


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


def embedder(name: str, device: str):
    """The embedder ``name`` on ``device``, loaded once per process."""
    key = (name, device)
    if key not in _EMBEDDERS:
        from sectionist.analysis.embeddings import get_embedder

        _EMBEDDERS[key] = get_embedder(name, device=device)
        cover_new_pools()  # within a song's layout: torch, if the embedder imported it, on one thread too
    return _EMBEDDERS[key]


def analyze_song(path: Path, song_id: str, digest: str, cfg: AnalysisConfig) -> SongResult:
    """Analyse one file into its table parts (nothing is written here).

    The song is decoded once; its mel spectrogram at hop 512 (:class:`~sectionist.analysis.sections.spectrum.SongSpectrum`)
    is computed once and shared by the structure schemes' beat tracking and MFCCs (same values as
    computing them in each scheme).

    All of it runs with BLAS, OpenMP and torch on one thread (:func:`sectionist.analysis.threads.one_thread`),
    whatever this process's thread pools are set to: in this process, a pool worker or a Dask worker
    (on ``cores // workers`` threads) a song gets the same numbers, bit for bit (issue 24.11).
    """
    with one_thread():
        return _analyze_song(path, song_id, digest, cfg)


def _analyze_song(path: Path, song_id: str, digest: str, cfg: AnalysisConfig) -> SongResult:
    from sectionist.analysis.sections.features import FeatureParams, section_features
    from sectionist.analysis.sections.spectrum import onset_envelope, song_tempo
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
        from sectionist.analysis.sections.timbre import novelty_boundaries

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
        from sectionist.analysis.sections.spectrum import SongSpectrum
        from sectionist.analysis.structure.writer import song_segments

        spectrum = SongSpectrum(y, sr, 512)  # the merged and laplacian schemes' beats and MFCCs, once
        # (their K-Means and neighbour searches are on a few hundred beats: OpenMP on one thread, as
        # everything here, is also the fastest: on a busy machine a small fit took 160 ms on 2 threads, 5 ms on one)
        parts.update(song_segments(song_id, y, sr, cfg.structure_schemes, spectrum=spectrum))
    if cfg.sound_tracks:  # the producers' sound tracks with the defaults of 'sectionist tracks' (off: slower)
        from sectionist.analysis.sections.soundtracks import song_tracks

        tracks = song_tracks(y, sr).tracks
        tracks.insert(0, "song_id", song_id)
        parts[(SOUND_TRACKS, SOUND_TRACKS.part(song_id=song_id))] = tracks
    if cfg.embed:
        from sectionist.analysis.embeddings import embed_song

        for name in cfg.embedders:
            frames, tags = embed_song(embedder(name, cfg.device), y, sr, sections)
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


def run_song(path: Path, song_id: str, digest: str, cfg: AnalysisConfig) -> SongResult:
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

