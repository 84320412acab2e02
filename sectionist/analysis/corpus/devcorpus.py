"""A development corpus of real timbres: songs composed as MIDI and rendered with FluidSynth.

The synthetic demo corpus (:mod:`sectionist.analysis.corpus.demo`) is easy: each label has its own instruments and
loudness. Real songs are harder: a chorus comes back with other drums, a verse with one voice
changed, the last chorus a tone higher. This corpus composes such songs programmatically and
renders them with a General MIDI soundfont, so that defaults can be chosen on audio whose timbres
are those of real instruments, with exact truth beside each file.

Each song (composed by :mod:`sectionist.analysis.corpus.devsongs`) has

- a key (any tonic, major or natural minor) and an integer tempo in its ``TEMPO_RANGE``;
- a form drawn from its ``FORMS`` (verse–chorus–bridge, AABA, verse–pre-chorus–chorus,
  verse–chorus with a solo), whose sections last a whole number of bars;
- for each section type (intro, verse, prechorus, chorus, bridge, solo, outro) its own chord
  progression, melody, bass line, drum pattern, comping style and General MIDI instruments;
- variations when a section type recurs, as composers write them (its ``VARIATIONS``): another drum
  pattern, the lead instrument swapped, the melody an octave up or with some notes changed, the whole
  section a tone higher (a last-chorus modulation), a drum fill in the last bar.

Boundaries fall on bar lines; the truth JSON beside each WAV (same stem) has the format of the demo
corpus, ``{"title", "tempo_bpm", "key", "form", "duration_s", "sample_rate", "seed",
"sections": [{"start", "end", "label", "variations"}]}``, so ``sectionist analyze`` records its
labels, and a MIREX ``.lab`` file (``start end label``) and the ``.mid`` file are written too.

Rendering needs the ``fluidsynth`` program and a General MIDI soundfont (Debian packages
``fluidsynth`` and ``fluid-soundfont-gm``). FluidSynth renders to 32-bit float (no dither), the
result is mixed to mono, cut to the exact length of the form, high-passed at 20 Hz, peak-normalised
and written as 16-bit WAV, so the same seed gives byte-identical files.

The entry point is :func:`make_dev_corpus` (``sectionist dev-corpus``, defined in
:mod:`sectionist.analysis.commands.corpus`); this module renders and writes. The songs are composed
by :mod:`sectionist.analysis.corpus.devsongs`: :func:`~sectionist.analysis.corpus.devsongs.compose_song`
is a pure function from a random generator to a song, and
:func:`~sectionist.analysis.corpus.devsongs.song_midi` turns a song into a :class:`mido.MidiFile`.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from sectionist.store.fileio import atomic_write

from sectionist.analysis.corpus.devsongs import MIN_SECONDS, compose_song, song_midi
from sectionist.analysis.corpus.synth import butter_filter
from sectionist.analysis.corpus.wavwriter import write_wav
from sectionist.analysis.errors import InputError, ParameterError

#: The soundfont of the Debian package ``fluid-soundfont-gm``.
DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

#: Song length range (seconds) drawn per song when no length is asked for.
DEFAULT_SECONDS_RANGE: tuple[float, float] = (120.0, 240.0)

#: Peak level of every song, in dBFS.
PEAK_DBFS: float = -1.0

#: Cut-off (Hz) of the high-pass applied to the render (below hearing; FluidSynth leaves drift there).
HIGHPASS_HZ: float = 20.0


# --------------------------------------------------------------------------------------------
# rendering


def check_renderer(soundfont=DEFAULT_SOUNDFONT):
    """The ``fluidsynth`` program and the soundfont, or an :class:`InputError` naming the packages."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise InputError("the 'fluidsynth' program is not installed: install the Debian package "
                         "'fluidsynth' (apt-get install fluidsynth fluid-soundfont-gm)")
    sf = Path(soundfont)
    if not sf.is_file():
        raise InputError(f"soundfont {sf} not found: install the Debian package 'fluid-soundfont-gm' "
                         "(it provides /usr/share/sounds/sf2/FluidR3_GM.sf2) or pass --soundfont PATH")
    return exe, sf


def render(song, wav_path, *, soundfont=DEFAULT_SOUNDFONT, sample_rate=22050, mid_path=None):
    """Render ``song`` with FluidSynth to a mono 16-bit WAV of exactly ``song.n_bars`` bars.

    Parameters
    ----------
    song : Song
    wav_path : str or Path
        Destination (written atomically).
    soundfont : str or Path
        A General MIDI ``.sf2``/``.sf3``.
    sample_rate : int
        Output rate in Hz.
    mid_path : str or Path, optional
        Also keep the MIDI file here.

    Returns
    -------
    n_samples : int
    """
    return render_midi(song_midi(song), wav_path, seconds=song.n_bars * song.bar_seconds, soundfont=soundfont,
                       sample_rate=sample_rate, mid_path=mid_path)


def render_midi(mid, wav_path, *, seconds, soundfont=DEFAULT_SOUNDFONT, sample_rate=22050, mid_path=None):
    """Render a MIDI file with FluidSynth to a mono 16-bit WAV of exactly ``seconds`` (rounded to samples).

    The render is mixed to mono, padded or cut to length, high-passed at :data:`HIGHPASS_HZ`, faded
    out over its last 50 ms, peak-normalised to :data:`PEAK_DBFS` and written as 16-bit PCM: the
    same MIDI gives byte-identical files.

    Parameters
    ----------
    mid : mido.MidiFile
    wav_path : str or Path
        Destination (written atomically).
    seconds : float
        Length of the WAV file.
    soundfont : str or Path
        A General MIDI ``.sf2``/``.sf3``.
    sample_rate : int
        Output rate in Hz.
    mid_path : str or Path, optional
        Also keep the MIDI file here.

    Returns
    -------
    n_samples : int
    """
    import soundfile as sf

    exe, font = check_renderer(soundfont)
    with tempfile.TemporaryDirectory(prefix="sectionist-devcorpus-") as tmp:
        mp, fp = Path(tmp) / "song.mid", Path(tmp) / "song.wav"
        mid.save(mp)
        cmd = [exe, "-n", "-i", "-q", "-g", "0.5", "-r", str(int(sample_rate)), "-O", "float", "-T", "wav",
               "-o", "synth.cpu-cores=1", "-F", str(fp), str(font), str(mp)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not fp.is_file():
            raise InputError(f"fluidsynth failed on {wav_path} (exit {proc.returncode}): "
                             f"{(proc.stderr or proc.stdout).strip()[-500:]}")
        y, sr = sf.read(fp, dtype="float64", always_2d=True)
        if sr != int(sample_rate):
            raise InputError(f"fluidsynth wrote {sr} Hz instead of {sample_rate} Hz for {wav_path}")
        if mid_path is not None:
            data = mp.read_bytes()
            atomic_write(mid_path, lambda fh: fh.write(data))
    y = y.mean(axis=1)
    n = int(round(seconds * sample_rate))
    y = np.pad(y, (0, max(0, n - y.size)))[:n]
    y = butter_filter("highpass", y, HIGHPASS_HZ, sample_rate)  # the renders carry some infrasonic drift
    fade = min(n, int(0.05 * sample_rate))
    y[n - fade:] *= np.linspace(1.0, 0.0, fade)
    y -= y.mean()
    peak = float(np.max(np.abs(y))) if n else 0.0
    if peak > 0:
        y *= 10.0 ** (PEAK_DBFS / 20.0) / peak
    write_wav(wav_path, y, sample_rate)
    return n


def mirex_lab(sections) -> str:
    """``start end label`` lines (MIREX ``.lab``) of truth sections."""
    return "".join(f"{s['start']:.6f}\t{s['end']:.6f}\t{s['label']}\n" for s in sections)


def song_seconds(seed, index, seconds):
    """Target length of song ``index``: ``seconds``, or drawn from :data:`DEFAULT_SECONDS_RANGE`."""
    if seconds is not None:
        return float(seconds)
    lo, hi = DEFAULT_SECONDS_RANGE
    return float(np.random.default_rng([int(seed), int(index), 2]).uniform(lo, hi))


def make_dev_corpus(out_dir, *, n_songs=24, seed=0, seconds=None, soundfont=DEFAULT_SOUNDFONT,
                    sample_rate=22050, progress=True):
    """Compose and render a development corpus: ``dev_XX.wav`` with ``.json``, ``.lab`` and ``.mid``.

    Song ``i`` depends only on ``(seed, i, seconds, sample_rate, soundfont)``: the same call writes
    byte-identical files, and a larger ``n_songs`` adds songs without changing the first ones.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if missing).
    n_songs : int
        Number of songs (1–999).
    seed : int
        Seed of the corpus (non-negative).
    seconds : float, optional
        Approximate length of every song; by default each song draws one in
        :data:`DEFAULT_SECONDS_RANGE`.
    soundfont : str or Path
        General MIDI soundfont.
    sample_rate : int
        Samples per second of the WAV files.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    paths : list of Path
        The WAV files, in order.

    Raises
    ------
    ParameterError
        A bad count, seed, length or sample rate, or ``out_dir`` is not a folder.
    InputError
        ``fluidsynth`` or the soundfont is missing, or rendering failed.
    """
    from tqdm.auto import tqdm

    try:
        n_songs, seed = int(n_songs), int(seed)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"n_songs={n_songs!r}, seed={seed!r}: must be integers") from exc
    if not 1 <= n_songs <= 999:
        raise ParameterError(f"n_songs={n_songs}: must be within 1–999")
    if seed < 0:
        raise ParameterError(f"seed={seed}: must be >= 0")
    if seconds is not None:
        seconds = float(seconds)
        if not math.isfinite(seconds) or seconds < MIN_SECONDS:
            raise ParameterError(f"seconds={seconds}: a dev-corpus song must last at least {MIN_SECONDS:g} s")
    if not 8000 <= int(sample_rate) <= 192000:
        raise ParameterError(f"sample_rate={sample_rate}: must be within 8000–192000 Hz")
    check_renderer(soundfont)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)

    paths = []
    for i in tqdm(range(n_songs), desc="dev songs", unit="song", disable=not progress):
        title = f"dev_{i:02d}"
        song = compose_song(np.random.default_rng([seed, i]), seconds=song_seconds(seed, i, seconds), title=title)
        wav = out / f"{title}.wav"
        n = render(song, wav, soundfont=soundfont, sample_rate=sample_rate, mid_path=wav.with_suffix(".mid"))
        sections = song.truth()
        meta = {"title": title, "tempo_bpm": round(song.tempo_bpm, 4), "key": song.key, "form": song.form,
                "duration_s": round(n / sample_rate, 6), "sample_rate": int(sample_rate), "seed": seed,
                "soundfont": Path(soundfont).name, "sections": sections}
        text = (json.dumps(meta, indent=1) + "\n").encode()
        atomic_write(wav.with_suffix(".json"), lambda fh, text=text: fh.write(text))
        lab = mirex_lab(sections).encode()
        atomic_write(wav.with_suffix(".lab"), lambda fh, lab=lab: fh.write(lab))
        paths.append(wav)
    return paths
