"""Beat-synchronous features of a song (what ``merged``, ``novelty`` and ``laplacian`` work on) and
its beats, at most :data:`MAX_BEATS` of them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sectionist.analysis.errors import ParameterError
from sectionist.analysis.structure import graph

#: The most beat intervals a structure scheme works on. Its graphs are n × n and the Laplacian's
#: eigendecomposition costs n³: a 60-minute mix (~7 000 beats) took 5.1 GB and 211 s in one worker
#: (bench/worker_memory.py). Past it every k-th beat is kept, k the smallest that fits, so the units
#: of a long file are bars or phrases; a song under ~17 minutes at 120 bpm keeps every beat.
MAX_BEATS = 2048


def coarsen_beats(beats: np.ndarray, max_beats: int = MAX_BEATS) -> np.ndarray:
    """``beats`` when there are at most ``max_beats``, else every k-th of them (k = ⌈n / max_beats⌉)."""
    beats = np.asarray(beats)
    if len(beats) <= max_beats:
        return beats
    return beats[::-(-len(beats) // int(max_beats))]


@dataclass(frozen=True)
class BeatFeatures:
    """One song's beat-synchronous features (what ``merged`` and ``novelty`` work on).

    Attributes
    ----------
    times : np.ndarray [shape=(n + 1,)]
        Edges of the ``n`` beat intervals in seconds: ``0``, the beats, the song's duration.
    harmony : np.ndarray [shape=(n, n_bins)]
        Log CQT (dB), the median of each beat interval.
    timbre : np.ndarray [shape=(n, n_mfcc)]
        MFCCs, the mean of each beat interval.
    """

    times: np.ndarray
    harmony: np.ndarray
    timbre: np.ndarray
    _recurrence: list = field(default_factory=list, init=False, repr=False, compare=False)

    def recurrence(self) -> np.ndarray:
        """:func:`~sectionist.analysis.structure.graph.harmony_recurrence` of :attr:`harmony`, computed
        once (``merged``'s graph and its repetition test both read it) [shape=(n, n)]."""
        if not self._recurrence:
            self._recurrence.append(graph.harmony_recurrence(np.asarray(self.harmony).T))
        return self._recurrence[0]

    @property
    def n(self) -> int:
        return int(self.harmony.shape[0])

    @property
    def duration(self) -> float:
        return float(self.times[-1])


def beat_features(y: np.ndarray, sr: int, *, hop_length: int = 512, bins_per_octave: int = 12,
                  n_octaves: int = 7, n_mfcc: int = 20, beat_times: np.ndarray | None = None,
                  spectrum=None) -> BeatFeatures:
    """Beat-synchronous log CQT (harmony) and MFCC (timbre) of a song (beats tracked unless given).

    Cheaper than the gallery Laplacian's front end: 12 CQT bins per octave (not 36), one beat tracking.
    ``spectrum``: the song's :class:`sectionist.analysis.sections.spectrum.SongSpectrum` (same ``hop_length``), whose beats
    and MFCCs are used instead of computing them again (same values).
    """
    import librosa

    from sectionist.analysis.sections.spectrum import cqt

    duration = len(y) / sr
    spectrum = check_spectrum(spectrum, y, sr, hop_length)
    beats = beat_frames(y, sr, hop_length, spectrum, beat_times)
    C = librosa.amplitude_to_db(cqt(y, sr, hop_length=hop_length, bins_per_octave=bins_per_octave,
                                    n_bins=n_octaves * bins_per_octave, magnitude=True), ref=np.max)
    M = (spectrum.mfcc(n_mfcc) if spectrum is not None
         else librosa.feature.mfcc(y=y, sr=sr, hop_length=hop_length, n_mfcc=n_mfcc))
    n_frames = min(C.shape[1], M.shape[1])
    frames = librosa.util.fix_frames(np.asarray(beats), x_min=0, x_max=n_frames)
    frames = frames[frames <= n_frames]
    H = librosa.util.sync(C[:, :n_frames], frames, aggregate=np.median, pad=False)
    T = librosa.util.sync(M[:, :n_frames], frames, pad=False)
    times = librosa.frames_to_time(frames, sr=sr, hop_length=hop_length).astype(np.float64)
    times[0], times[-1] = 0.0, duration
    n = min(H.shape[1], T.shape[1], len(times) - 1)
    return BeatFeatures(times[: n + 1], H[:, :n].T.astype(np.float64), T[:, :n].T.astype(np.float64))


def beat_frames(y, sr, hop_length, spectrum, beat_times) -> np.ndarray:
    """Beat frames of the song: from ``beat_times`` when given, else the shared SongSpectrum's beat
    tracking, else librosa's beat tracker on ``y``; at most :data:`MAX_BEATS` (:func:`coarsen_beats`)."""
    import librosa

    if beat_times is not None:
        beats = librosa.time_to_frames(np.asarray(beat_times), sr=sr, hop_length=hop_length)
    elif spectrum is not None:
        beats = spectrum.beat_frames()
    else:
        _, beats = librosa.beat.beat_track(y=y, sr=sr, hop_length=hop_length, trim=False)
    return coarsen_beats(beats)


def check_spectrum(spectrum, y, sr, hop_length):
    """``spectrum`` (a SongSpectrum or None), refused when it was computed from other samples or another hop."""
    if spectrum is not None and not spectrum.matches(y, sr, hop_length):
        raise ParameterError(f"spectrum: not the SongSpectrum of this song at sr={sr} and hop_length={hop_length}")
    return spectrum


def beat_input(y, sr, features, beat_times) -> BeatFeatures:
    """``features`` when they are BeatFeatures (else a ParameterError), or :func:`beat_features` when None."""
    if features is None:
        return beat_features(y, sr, beat_times=beat_times)
    if not isinstance(features, BeatFeatures):
        raise ParameterError("features: expected the BeatFeatures of "
                             "sectionist.analysis.structure.beats.beat_features(y, sr) "
                             f"(got {type(features).__name__}; frame_features() is not used by merged since version 2)")
    return features

