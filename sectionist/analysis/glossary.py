"""Feature names a musician can read, and descriptive default names of clusters.

The one place where a column of the ``features`` table gets its plain-language name, its unit, a
one-line meaning and the words for "higher" and "lower" (:data:`FEATURE_GLOSSARY`). Every page of
the dashboard (SHAP bars, beeswarm, "Colour by", centroid profile, detail panel) labels features
through :func:`describe`, and :func:`default_cluster_names` builds names such as
``"loud · bright · dense · techno"`` from a cluster's profile with the adjectives kept here.

Pure: no store, no Dash. Columns are ``<feature>_<stat>`` with ``<stat>`` in
:data:`sectionist.analysis.sections.features.STATS` (the median, mean or standard deviation over the section's
frames), plus ``tempo_bpm``.

Translation: every text here is an English template marked with :func:`N_` (the dashboard's
catalogue extracts them), and each public function that composes text takes ``gettext``, a
callable ``str -> str`` (the dashboard passes :func:`sectionist.dashboard.ui.i18n._`; ``None`` keeps English,
as the CLI and the exports do). Templates are whole phrases with ``%(name)s`` placeholders,
translated before they are filled, so another language can order the words its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sectionist.analysis.modeling.roles import split_space
from sectionist.analysis.sections.feature_names import FEATURE_NAMES, FEATURE_SETS, STATS

PITCH_CLASSES = ("C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B")


def N_(message: str) -> str:
    """Mark an English template for the translation catalogue (translated where it is composed)."""
    return message


def _english(message: str) -> str:
    return message


@dataclass(frozen=True)
class Msg:
    """A template with its parameters, translated as a whole when it is composed: ``params`` are
    ``(name, value)`` pairs whose values are plain text (not translated: numbers, note names) or
    other :class:`Msg` (translated too)."""

    template: str
    params: tuple = ()

    def __call__(self, gettext=None) -> str:
        return say(self, gettext)


def say(text, gettext=None) -> str | None:
    """``text`` (an English template, a :class:`Msg` or None) in the language of ``gettext``."""
    if text is None:
        return None
    g = gettext or _english
    if isinstance(text, Msg):
        out = g(text.template)
        if text.params:
            out = out % {k: say(v, gettext) if isinstance(v, Msg) else v for k, v in text.params}
        return out
    return g(text)


@dataclass(frozen=True)
class Term:
    """How one per-frame feature is told to a musician (each text an English template or a :class:`Msg`).

    ``higher`` / ``lower`` are comparatives ("brighter"); ``high_word`` / ``low_word`` the adjectives
    a cluster name may use ("bright"), None when the feature has no plain adjective. Features that
    describe one quality to a listener share a ``concept`` ("level": RMS, peak level, MFCC 1), so a
    name never says "loud · quiet".
    """

    name: str | Msg
    technical: str | Msg
    unit: str
    meaning: str | Msg
    higher: str | Msg
    lower: str | Msg
    high_word: str | None = None
    low_word: str | None = None
    concept: str | None = None


#: Per-frame features (before the statistic over the section) → how they are told.
BASE_TERMS: dict[str, Term] = {
    "amplitude_envelope": Term(N_("peak level"), N_("amplitude envelope"), N_("amplitude, 0–1"),
                               N_("the largest sample of each frame: how loud the loudest moments are (accents, "
                                  "hits, peaks)"),
                               N_("punchier"), N_("softer"), N_("punchy"), N_("soft"), "level"),
    "rms": Term(N_("loudness"), N_("RMS energy"), N_("RMS amplitude, 0–1"),
                N_("the waveform's average power (root mean square of its samples), led by the strongest sounds, "
                   "usually bass and kick: quiet ↔ loud"), N_("louder"), N_("quieter"), N_("loud"),
                N_("quiet"), "level"),
    "zero_crossing_rate": Term(N_("noisiness"), N_("zero-crossing rate"), N_("share of samples, 0–1"),
                               N_("how often the waveform flips sign: hiss, cymbals and distortion raise it"),
                               N_("noisier"), N_("smoother"), N_("noisy"), N_("smooth"), "noise"),
    "spectral_centroid": Term(N_("brightness"), N_("spectral centroid"), "Hz",
                              N_("the spectrum's centre of mass: dark ↔ bright"), N_("brighter"), N_("darker"),
                              N_("bright"), N_("dark"), "brightness"),
    "spectral_bandwidth": Term(N_("fullness"), N_("spectral bandwidth"), "Hz",
                               N_("how widely the sound spreads around its centre: sparse ↔ dense"),
                               N_("denser"), N_("sparser"), N_("dense"), N_("sparse")),
    "spectral_rolloff": Term(N_("treble reach"), N_("spectral roll-off (85 %)"), "Hz",
                             N_("the frequency below which 85 % of the energy lies: muffled ↔ airy"),
                             N_("airier"), N_("more muffled"), N_("airy"), N_("muffled"), "brightness"),
    "spectral_flatness": Term(N_("noise-likeness"), N_("spectral flatness"), "0–1",
                              N_("tone ↔ noise: pitched instruments are low, drums and hiss high"),
                              N_("more noise-like"), N_("more tonal"), N_("percussive"), N_("tonal"), "noise"),
}
for _i, _pc in enumerate(PITCH_CLASSES, start=1):
    BASE_TERMS[f"chroma{_i}"] = Term(Msg(N_("pitch class %(pc)s"), (("pc", _pc),)), Msg(N_("chroma %(i)s"), (("i", _i),)),
                                     N_("share of pitch energy, 0–1"),
                                     Msg(N_("how much of the harmonic energy falls on %(pc)s (any octave)"),
                                         (("pc", _pc),)),
                                     Msg(N_("more %(pc)s"), (("pc", _pc),)), Msg(N_("less %(pc)s"), (("pc", _pc),)))
_MFCC = {
    1: Term(N_("overall level"), "MFCC 1", N_("cepstral units"),
            N_("the mean level in decibels of the 128 mel bands, each band counting the same (unlike loudness, RMS: "
               "here quiet treble weighs as much as loud bass): quiet ↔ loud"), N_("louder"), N_("quieter"), N_("loud"),
            N_("quiet"), "level"),
    2: Term(N_("spectral tilt"), "MFCC 2", N_("cepstral units"),
            N_("spectral tilt: bright ↔ dark (higher = more bass than treble)"), N_("darker"), N_("brighter"),
            N_("bassy"), N_("bright"), "brightness"),
    3: Term(N_("mid-range scoop"), "MFCC 3", N_("cepstral units"),
            N_("the middle of the spectrum against both ends: mid-heavy ↔ scooped"), N_("more scooped"),
            N_("more mid-heavy"), N_("scooped"), N_("mid-heavy")),
}
#: The mel bands the MFCCs are taken over and their top frequency (sample rate 22 050 Hz): the
#: defaults of :class:`sectionist.analysis.sections.features.FeatureParams` (tests/test_words.py checks).
MFCC_MEL_BANDS, MFCC_TOP_HZ = 128, 11025.0
#: What the finer MFCCs describe, by the spacing of their peaks in semitones (above 1 kHz): at least
#: two octaves apart, a few wide regions; one to two octaves, resonances of a vowel's formant size;
#: closer, narrow resonances.
MFCC_SCALES = ((24.0, N_("the balance of a few wide regions of the spectrum")),
               (12.0, N_("resonances the size of a vowel's formants: what tells an 'ah' from an 'ee', or one "
                         "instrument body from another")),
               (0.0, N_("narrow resonances and fine texture: a nasal, hollow or metallic colour")))


def mfcc_spacing(i: int) -> tuple[int, int]:
    """How far apart the peaks of MFCC ``i`` (1-based, ``i >= 2``) lie along the spectrum:
    ``(semitones above 1 kHz, Hz below 1 kHz)``, rounded. MFCC ``i`` is the DCT-II coefficient
    ``i - 1`` over :data:`MFCC_MEL_BANDS` log-mel bands: a cosine with ``i - 1`` half-periods across
    the bands, so one period spans ``2 * bands / (i - 1)`` bands of the Slaney mel scale (linear
    below 1 kHz, logarithmic above: :mod:`sectionist.analysis.melscale`)."""
    from sectionist.analysis.melscale import hz_to_mel, mel_to_hz

    if i < 2:
        raise ValueError(f"MFCC {i} has no ripple: it is the mean level")
    band_mel = float(hz_to_mel(MFCC_TOP_HZ)) / (MFCC_MEL_BANDS + 1)
    period_mel = 2 * MFCC_MEL_BANDS / (i - 1) * band_mel
    start = float(hz_to_mel(1000.0))  # where the scale turns logarithmic
    semitones = 12 * np.log2(float(mel_to_hz(start + period_mel)) / 1000.0)
    hz_per_mel = float(mel_to_hz(1.0)) - float(mel_to_hz(0.0))  # the linear part's slope
    return int(round(semitones)), int(round(period_mel * hz_per_mel))


def _mfcc_detail(i: int) -> Term:
    semitones, hz = mfcc_spacing(i)
    scale = next(text for edge, text in MFCC_SCALES if semitones >= edge)
    meaning = Msg(N_("%(scale)s; one peak of the spectral envelope every %(semitones)s semitones above 1 kHz "
                     "(every %(hz)s Hz below)"), (("scale", Msg(scale)), ("semitones", semitones), ("hz", hz)))
    return Term(Msg(N_("timbre detail %(i)s"), (("i", i),)), f"MFCC {i}", N_("cepstral units"), meaning,
                N_("higher"), N_("lower"))


for _i in range(1, 21):
    BASE_TERMS[f"mfcc{_i}"] = _MFCC.get(_i) or _mfcc_detail(_i)
    _b = BASE_TERMS[f"mfcc{_i}"]
    BASE_TERMS[f"mfcc_delta{_i}"] = Term(Msg(N_("change of %(name)s"), (("name", _b.name),)), f"Δ MFCC {_i}",
                                         N_("coefficient per frame"),
                                         Msg(N_("how fast the %(name)s changes from frame to frame"),
                                             (("name", _b.name),)), N_("rising"), N_("falling"))

#: How the technical name of each statistic over the section's frames is said.
STAT_TECHNICAL = {"median": N_("%(technical)s, median over the section"),
                  "mean": N_("%(technical)s, mean over the section"),
                  "std": N_("%(technical)s, standard deviation over the section")}

TEMPO = Term(N_("tempo"), N_("tempo"), "BPM", N_("the beat rate of the song the section is in: slow ↔ fast"),
             N_("faster"), N_("slower"), N_("fast"), N_("slow"))


@dataclass(frozen=True)
class FeatureTerm:
    """One column of the features table told plainly (see :func:`describe`), in the language of
    ``gettext`` (None: English), which also translates the composed texts (label, glossary line…)."""

    column: str
    name: str
    technical: str
    unit: str
    meaning: str
    higher: str
    lower: str
    high_word: str | None
    low_word: str | None
    concept: str | None = None
    gettext: object = field(default=None, repr=False, compare=False)

    def _(self, template: str, **params) -> str:
        return (self.gettext or _english)(template) % params

    @property
    def label(self) -> str:
        """``"brightness (Hz)"``: the name with its unit, for axes and pickers."""
        return self._(N_("%(name)s (%(unit)s)"), name=self.name, unit=self.unit) if self.unit else self.name

    @property
    def glossary(self) -> str:
        """One line: ``"brightness = spectral centroid, median over the section, Hz: the spectrum's …"``."""
        if self.unit:
            return self._(N_("%(name)s = %(technical)s, %(unit)s: %(meaning)s"), name=self.name,
                          technical=self.technical, unit=self.unit, meaning=self.meaning)
        return self._(N_("%(name)s = %(technical)s: %(meaning)s"), name=self.name, technical=self.technical,
                      meaning=self.meaning)

    @property
    def definition(self) -> str:
        """The glossary line without the name: ``"spectral centroid, median over the section, Hz: …"``."""
        if self.unit:
            return self._(N_("%(technical)s, %(unit)s: %(meaning)s"), technical=self.technical, unit=self.unit,
                          meaning=self.meaning)
        return self._(N_("%(technical)s: %(meaning)s"), technical=self.technical, meaning=self.meaning)

    def word(self, direction: float) -> str | None:
        """The adjective for a value above (``direction > 0``) or below usual, or None."""
        return self.high_word if direction > 0 else self.low_word if direction < 0 else None

    def direction_text(self, above: bool) -> str:
        """``"brighter than usual"`` / ``"darker than usual"``."""
        return self._(N_("%(change)s than usual"), change=self.higher if above else self.lower)


def _term(column: str, gettext=None) -> FeatureTerm | None:
    def s(text):
        return say(text, gettext)

    if column == "tempo_bpm":
        t = TEMPO
        return FeatureTerm(column, s(t.name), s(t.technical), s(t.unit), s(t.meaning), s(t.higher), s(t.lower),
                           s(t.high_word), s(t.low_word), "tempo", gettext)
    base, _sep, stat = column.rpartition("_")
    if stat not in STATS or base not in BASE_TERMS:
        return None
    t = BASE_TERMS[base]
    technical = s(Msg(STAT_TECHNICAL[stat], (("technical", t.technical),)))
    if stat == "std":
        steady = base in ("rms", "amplitude_envelope")
        return FeatureTerm(column, s(Msg(N_("variation of %(name)s"), (("name", t.name),))), technical, s(t.unit),
                           s(Msg(N_("how much the %(name)s changes within the section"), (("name", t.name),))),
                           s(N_("more changing")), s(N_("steadier")), s(N_("dynamic")) if steady else None,
                           s(N_("steady")) if steady else None, "dynamics", gettext)
    name = s(t.name) if stat == "median" else s(Msg(N_("average %(name)s"), (("name", t.name),)))
    # the median carries the adjectives; the mean says the same thing a second time in names
    words = (s(t.high_word), s(t.low_word)) if stat == "median" else (None, None)
    return FeatureTerm(column, name, technical, s(t.unit), s(t.meaning), s(t.higher), s(t.lower), *words,
                       t.concept or base, gettext)


#: Every column of the classical feature sets → its :class:`FeatureTerm` (in English).
FEATURE_GLOSSARY: dict[str, FeatureTerm] = {
    c: _term(c) for c in dict.fromkeys(FEATURE_SETS["classical"] + FEATURE_SETS["classical17"])
}
assert all(FEATURE_GLOSSARY.values()), "a classical feature column has no glossary entry"
assert len(FEATURE_NAMES) * len(STATS) + 1 == len(FEATURE_GLOSSARY)


def describe(column: str, gettext=None) -> FeatureTerm:
    """The :class:`FeatureTerm` of a features column, in the language of ``gettext`` (None:
    English); an unknown column gets a readable fallback (underscores as spaces, digits split off:
    ``"loudness_lufs"`` → ``"loudness lufs"``)."""
    column = str(column)
    if gettext is None:
        term = FEATURE_GLOSSARY.get(column)
    else:
        term = _term(column, gettext) if column in FEATURE_GLOSSARY else None
    if term is not None:
        return term
    plain = re.sub(r"(?<=[a-z])(?=\d)", " ", column.replace("_", " ")).strip()
    return FeatureTerm(column, plain, column, "", say(N_("a stored feature without a glossary entry"), gettext),
                       say(N_("higher"), gettext), say(N_("lower"), gettext), None, None, None, gettext)


def feature_label(column: str, gettext=None) -> str:
    """``"brightness (Hz)"`` for ``"spectral_centroid_median"`` (:attr:`FeatureTerm.label`)."""
    return describe(column, gettext).label


def natural_key(text) -> tuple:
    """A sort key that reads runs of digits as numbers: ``"timbre detail 2"`` before
    ``"timbre detail 10"``, ``"mfcc2_median"`` before ``"mfcc10_median"``; letters without case."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
                 for part in re.split(r"(\d+)", str(text)) if part)


_GLOSSARY_ORDER = {c: i for i, c in enumerate(FEATURE_GLOSSARY)}


def feature_order_key(column) -> tuple:
    """Where a features column goes in a list: the glossary's order (levels, noise, spectrum,
    pitch classes 1–12, MFCCs 1–20, their changes; each as median, mean, variation), then other
    columns in natural order (:func:`natural_key`)."""
    return _GLOSSARY_ORDER.get(str(column), len(_GLOSSARY_ORDER)), natural_key(column)


#: How a contribution reads, by whether the section's value is known to be above or below usual.
CONTRIBUTION = {
    (True, True): N_("%(change)s than usual → towards this cluster"),
    (True, False): N_("%(change)s than usual → away from this cluster"),
    (False, True): N_("%(feature)s → towards this cluster"),
    (False, False): N_("%(feature)s → away from this cluster"),
}


def contribution_text(column: str, shap_value: float, above: bool | None, gettext=None) -> str:
    """How a SHAP value reads: ``"brighter than usual → towards this cluster"``.

    Parameters
    ----------
    column : str
    shap_value : float
        Positive: pushes towards the section's cluster; negative: away from it.
    above : bool or None
        Whether the section's value is above the corpus median (None: unknown).
    gettext : callable, optional
        Translates the templates (None: English).
    """
    term = describe(column, gettext)
    template = CONTRIBUTION[(above is not None, shap_value >= 0)]
    params = {"feature": term.name} if above is None else {"change": term.higher if above else term.lower}
    return (gettext or _english)(template) % params


def is_neural_space(space) -> bool:
    """Whether ``space`` is an embedding (musicnn, VGGish, …) rather than a classical feature set:
    its explanations then come from a surrogate over classical features. A song-relative space
    (``classical17-role``, ``musicnn-role``: :mod:`sectionist.analysis.modeling.roles`) is what its base is."""
    return split_space(space)[0] not in FEATURE_SETS


def surrogate_note(space, fidelity, gettext=None, percent=None) -> str | None:
    """The sentence shown beside an explanation of a neural-embedding run, or None for a run on
    classical features (whose explanation speaks about its own inputs). ``gettext`` translates it
    (None: English); ``percent`` formats the fidelity (a fraction → text; default ``"87%"``)."""
    if not is_neural_space(space):
        return None
    try:
        f = float(fidelity)
    except (TypeError, ValueError):
        f = float("nan")
    g = gettext or _english
    if np.isfinite(f):
        return g(N_("A surrogate model is speaking: this run groups %(space)s embeddings, which have no readable "
                    "dimensions, so a tree model that predicts its clusters from classical features explains them; "
                    "it reproduces this run's clusters for %(fidelity)s of sections (fidelity).")) % {
            "space": space, "fidelity": percent(f) if percent else f"{f:.0%}"}
    return g(N_("A surrogate model is speaking: this run groups %(space)s embeddings, which have no readable "
                "dimensions, so a tree model that predicts its clusters from classical features explains them; "
                "its fidelity was not stored.")) % {"space": space}


# ---- default names of clusters ----------------------------------------------------------------------
#: A tag joins a cluster's default name only when the cluster's sections give it at least this mean
#: probability. musicnn's taggers end in one sigmoid per tag trained with binary cross-entropy, so
#: 0.5 is where the model says the tag applies more often than not; below it a genre word is a
#: guess. On 16 game-music tunes of the tracker development corpus (150 sections of 15 s,
#: MSD_musicnn) the top tag's probability had a median of 0.43: the genre guesses ("jazz", "80s",
#: "dance", "instrumental") stayed at or under 0.42, only "electronic" and "ambient" passed 0.5.
TAG_MIN_PROBABILITY = 0.5

#: The words a tag is shown with in a name: every tag of musicnn's two taggers (Last.fm / MSD and
#: MagnaTagATune: :mod:`sectionist.analysis.embeddings.musicnn`), each translated in the catalogue so
#: that a name is in one language. A tag without an entry here never enters a name.
TAG_WORDS = {
    "rock": N_("rock"), "pop": N_("pop"), "alternative": N_("alternative"), "indie": N_("indie"),
    "electronic": N_("electronic"), "female vocalists": N_("female voice"), "dance": N_("dance"),
    "00s": N_("2000s"), "alternative rock": N_("alternative rock"), "jazz": N_("jazz"), "beautiful": N_("beautiful"),
    "metal": N_("metal"), "chillout": N_("chillout"), "male vocalists": N_("male voice"),
    "classic rock": N_("classic rock"), "soul": N_("soul"), "indie rock": N_("indie rock"), "Mellow": N_("mellow"),
    "electronica": N_("electronica"), "80s": N_("80s"), "folk": N_("folk"), "90s": N_("90s"), "chill": N_("chill"),
    "instrumental": N_("instrumental"), "punk": N_("punk"), "oldies": N_("oldies"), "blues": N_("blues"),
    "hard rock": N_("hard rock"), "ambient": N_("ambient"), "acoustic": N_("acoustic"),
    "experimental": N_("experimental"), "female vocalist": N_("female voice"), "guitar": N_("guitar"),
    "Hip-Hop": N_("hip-hop"), "70s": N_("70s"), "party": N_("party"), "country": N_("country"),
    "easy listening": N_("easy listening"), "sexy": N_("sexy"), "catchy": N_("catchy"), "funk": N_("funk"),
    "electro": N_("electro"), "heavy metal": N_("heavy metal"), "Progressive rock": N_("progressive rock"),
    "60s": N_("60s"), "rnb": N_("R&B"), "indie pop": N_("indie pop"), "sad": N_("sad"), "House": N_("house"),
    "happy": N_("happy"),
    "classical": N_("classical"), "slow": N_("slow"), "techno": N_("techno"), "strings": N_("strings"),
    "drums": N_("drums"), "fast": N_("fast"), "piano": N_("piano"), "beat": N_("beat"), "violin": N_("violin"),
    "vocal": N_("vocal"), "synth": N_("synth"), "female": N_("female voice"), "indian": N_("indian"),
    "opera": N_("opera"), "male": N_("male voice"), "singing": N_("singing"), "vocals": N_("vocals"),
    "no vocals": N_("no vocals"), "harpsichord": N_("harpsichord"), "loud": N_("loud"), "quiet": N_("quiet"),
    "flute": N_("flute"), "woman": N_("woman's voice"), "male vocal": N_("male voice"), "no vocal": N_("no vocals"),
    "soft": N_("soft"), "sitar": N_("sitar"), "solo": N_("solo"), "man": N_("man's voice"), "classic": N_("classic"),
    "choir": N_("choir"), "voice": N_("voice"), "new age": N_("new age"), "male voice": N_("male voice"),
    "female vocal": N_("female voice"), "beats": N_("beats"), "harp": N_("harp"), "cello": N_("cello"),
    "no voice": N_("no vocals"), "weird": N_("weird"), "female voice": N_("female voice"), "choral": N_("choral"),
}

#: Words that contradict each other in one name (the English words of :data:`BASE_TERMS`, the
#: variation adjectives and :data:`TAG_WORDS`): a name keeps the first, the one that sets the cluster
#: furthest apart. Features of one quality (:attr:`Term.concept`) never both speak anyway; these are
#: the pairs across qualities that a listener reads as a contradiction ("dense · airy").
OPPOSITES = frozenset(frozenset(pair) for pair in [
    ("loud", "quiet"), ("loud", "soft"), ("punchy", "soft"), ("punchy", "quiet"),
    ("noisy", "smooth"), ("noisy", "tonal"), ("percussive", "tonal"), ("percussive", "smooth"),
    ("bright", "dark"), ("bright", "muffled"), ("bright", "bassy"), ("airy", "muffled"), ("airy", "dark"),
    ("airy", "bassy"), ("airy", "dense"), ("dense", "sparse"), ("scooped", "mid-heavy"), ("fast", "slow"),
    ("dynamic", "steady"), ("vocal", "no vocals"), ("vocals", "no vocals"), ("sad", "happy"),
])


def contradicts(word: str, others) -> bool:
    """Whether the English name word ``word`` is the opposite of one of ``others`` (:data:`OPPOSITES`)."""
    return any(frozenset((word, o)) in OPPOSITES for o in others)


def tag_label(tag, gettext=None) -> str:
    """A tag as a reader sees it: its words in :data:`TAG_WORDS`, in the language of ``gettext``
    (``"80s"`` → ``"años 80"``); a tag without an entry as it is."""
    return say(TAG_WORDS[str(tag)], gettext) if str(tag) in TAG_WORDS else str(tag)


def tag_word(tag, probability, gettext=None) -> str | None:
    """The word a cluster's top tag adds to its name, or None: when its mean probability in the
    cluster is under :data:`TAG_MIN_PROBABILITY` (or not a number), or the tag has no entry in
    :data:`TAG_WORDS` (so no translation)."""
    try:
        p = float(probability)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(p) or p < TAG_MIN_PROBABILITY or str(tag) not in TAG_WORDS:
        return None
    return say(TAG_WORDS[str(tag)], gettext)


def cluster_profiles_z(values: np.ndarray, labels: np.ndarray, columns) -> pd.DataFrame:
    """Each cluster's mean of every column in corpus standard deviations.

    Parameters
    ----------
    values : np.ndarray [shape=(n, f)]
        Feature values of the sections (NaN where missing).
    labels : np.ndarray [shape=(n,)]
        Cluster labels; negative ones (noise, not clustered) are left out.
    columns : list of str [length f]

    Returns
    -------
    pd.DataFrame
        Index: cluster; columns: ``columns``; ``(mean_in_cluster - corpus_mean) / corpus_std``
        (0 where the corpus does not vary).
    """
    values = np.asarray(values, dtype=np.float64)
    labels = np.asarray(labels)
    if values.ndim != 2 or values.shape[0] != labels.shape[0] or values.shape[1] != len(columns):
        raise ValueError(f"values {values.shape} do not match {labels.shape[0]} labels and {len(columns)} columns")
    mu = np.nanmean(values, axis=0) if len(values) else np.zeros(len(columns))
    sd = np.nanstd(values, axis=0) if len(values) else np.ones(len(columns))
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, np.inf)
    clusters = sorted(int(c) for c in np.unique(labels) if c >= 0)
    rows = [(np.nanmean(values[labels == c], axis=0) - mu) / sd for c in clusters]
    return pd.DataFrame(np.nan_to_num(np.array(rows).reshape(len(clusters), len(columns))),
                        index=pd.Index(clusters, name="cluster"), columns=list(columns))


def default_cluster_names(z: pd.DataFrame, top_tags: dict | None = None, *, n_words: int = 3,
                          separator: str = " · ", gettext=None) -> dict[int, str]:
    """A descriptive name per cluster from what distinguishes it, unique within the run.

    Parameters
    ----------
    z : pd.DataFrame
        :func:`cluster_profiles_z`: clusters × feature columns, in corpus standard deviations.
    top_tags : dict, optional
        cluster → ``(tag, mean probability in the cluster)`` of its most distinctive tag
        (``("techno", 0.64)``), appended as the last part when :func:`tag_word` accepts it: at least
        :data:`TAG_MIN_PROBABILITY`, a known tag, not the opposite of an adjective already in the name.
    n_words : int
        Adjectives per name: those of the columns with the largest ``|z|`` that have a plain
        adjective in the glossary, one per quality (:attr:`Term.concept`: "loud" from RMS keeps
        "quiet" from MFCC 1 out) and none the opposite of one already chosen (:data:`OPPOSITES`:
        "dense" keeps "airy" out).
    separator : str
    gettext : callable, optional
        Translates every word, adjectives and tags (None: English).

    Returns
    -------
    dict
        cluster → name, e.g. ``"loud · bright · dense · techno"``. Two clusters whose names would
        be equal get their next distinguishing adjective, and the cluster number if still equal.
        A cluster with no adjective (no feature with a plain word) and no tag is left out: it is
        shown by its number.
    """
    if n_words < 1:
        raise ValueError(f"n_words={n_words}: must be at least 1")
    top_tags = top_tags or {}
    ranked: dict[int, list[str]] = {}
    english: dict[int, list[str]] = {}
    # composed once per column, not per cluster: the English terms decide (concepts, opposites), the
    # translated ones are shown
    terms = {col: (describe(col), describe(col, gettext)) for col in z.columns}
    for c, row in z.iterrows():
        words, chosen, concepts = [], [], set()
        for col in row.abs().sort_values(ascending=False, kind="stable").index:
            term, shown = terms[col]
            w = term.word(row[col])
            if w and w not in chosen and term.concept not in concepts and not contradicts(w, chosen):
                words.append(shown.word(row[col]))
                chosen.append(w)
                concepts.add(term.concept)
        ranked[int(c)] = words
        english[int(c)] = chosen
    used = {c: min(n_words, len(w)) for c, w in ranked.items()}

    def tag_of(c):
        tag, probability = top_tags.get(c) or (None, None)
        word_en = tag_word(tag, probability)
        # a tag "fast" after the adjective "fast" says nothing new; "quiet" after "loud" contradicts it
        if word_en is None or word_en in english[c][:used[c]] or contradicts(word_en, english[c][:used[c]]):
            return None
        return tag_word(tag, probability, gettext)

    # a cluster with neither a distinguishing word nor a tag gets no name (shown as "cluster 3")
    ranked = {c: w for c, w in ranked.items() if w or tag_of(c)}

    def name(c, numbered=False):
        parts = ranked[c][:used[c]]
        tag = tag_of(c)
        if tag and tag not in parts:
            parts = parts + [tag]
        text = separator.join(parts)
        return f"{text} ({c})" if numbered else text

    names = {c: name(c) for c in ranked}
    while True:  # lengthen colliding names while they have words left
        groups: dict[str, list[int]] = {}
        for c, n in names.items():
            groups.setdefault(n, []).append(c)
        grew = False
        for members in groups.values():
            if len(members) < 2:
                continue
            for c in members:
                if used[c] < len(ranked[c]):
                    used[c] += 1
                    grew = True
        if not grew:
            break
        names = {c: name(c) for c in ranked}
    counts: dict[str, int] = {}
    for n in names.values():
        counts[n] = counts.get(n, 0) + 1
    return {c: name(c, numbered=counts[n] > 1) for c, n in names.items()}
