"""Feature names a musician can read, and descriptive default names of clusters.

The one place where a column of the ``features`` table gets its plain-language name, its unit, a
one-line meaning and the words for "higher" and "lower" (:data:`FEATURE_GLOSSARY`). Every page of
the dashboard (SHAP bars, beeswarm, "Colour by", centroid profile, detail panel) labels features
through :func:`describe`, and :func:`default_cluster_names` builds names such as
``"loud · bright · dense · techno"`` from a cluster's profile with the adjectives kept here.

Pure: no store, no Dash. Columns are ``<feature>_<stat>`` with ``<stat>`` in
:data:`analysis.features.STATS` (the median, mean or standard deviation over the section's
frames), plus ``tempo_bpm``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .features import FEATURE_NAMES, FEATURE_SETS, STATS

PITCH_CLASSES = ("C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B")


@dataclass(frozen=True)
class Term:
    """How one per-frame feature is told to a musician.

    ``higher`` / ``lower`` are comparatives ("brighter"); ``high_word`` / ``low_word`` the adjectives
    a cluster name may use ("bright"), None when the feature has no plain adjective. Features that
    describe one quality to a listener share a ``concept`` ("level": RMS, peak level, MFCC 1), so a
    name never says "loud · quiet".
    """

    name: str
    technical: str
    unit: str
    meaning: str
    higher: str
    lower: str
    high_word: str | None = None
    low_word: str | None = None
    concept: str | None = None


#: Per-frame features (before the statistic over the section) → how they are told.
BASE_TERMS: dict[str, Term] = {
    "amplitude_envelope": Term("peak level", "amplitude envelope", "amplitude, 0–1",
                               "how loud the loudest moments are: accents, hits, peaks",
                               "punchier", "softer", "punchy", "soft", "level"),
    "rms": Term("loudness", "RMS energy", "RMS amplitude, 0–1",
                "the average energy of the sound: quiet ↔ loud", "louder", "quieter", "loud", "quiet", "level"),
    "zero_crossing_rate": Term("noisiness", "zero-crossing rate", "share of samples, 0–1",
                               "how often the waveform flips sign: hiss, cymbals and distortion raise it",
                               "noisier", "smoother", "noisy", "smooth", "noise"),
    "spectral_centroid": Term("brightness", "spectral centroid", "Hz",
                              "the spectrum's centre of mass: dark ↔ bright", "brighter", "darker", "bright", "dark",
                              "brightness"),
    "spectral_bandwidth": Term("fullness", "spectral bandwidth", "Hz",
                               "how widely the sound spreads around its centre: sparse ↔ dense",
                               "denser", "sparser", "dense", "sparse"),
    "spectral_rolloff": Term("treble reach", "spectral roll-off (85 %)", "Hz",
                             "the frequency below which 85 % of the energy lies: muffled ↔ airy",
                             "airier", "more muffled", "airy", "muffled", "brightness"),
    "spectral_flatness": Term("noise-likeness", "spectral flatness", "0–1",
                              "tone ↔ noise: pitched instruments are low, drums and hiss high",
                              "more noise-like", "more tonal", "percussive", "tonal", "noise"),
}
for _i, _pc in enumerate(PITCH_CLASSES, start=1):
    BASE_TERMS[f"chroma{_i}"] = Term(f"pitch class {_pc}", f"chroma {_i}", "share of pitch energy, 0–1",
                                     f"how much of the harmonic energy falls on {_pc} (any octave)",
                                     f"more {_pc}", f"less {_pc}")
_MFCC = {
    1: Term("overall level", "MFCC 1", "cepstral units",
            "the overall level of the spectrum: quiet ↔ loud", "louder", "quieter", "loud", "quiet", "level"),
    2: Term("spectral tilt", "MFCC 2", "cepstral units",
            "spectral tilt: bright ↔ dark (higher = more bass than treble)", "darker", "brighter", "bassy", "bright",
            "brightness"),
    3: Term("mid-range scoop", "MFCC 3", "cepstral units",
            "the middle of the spectrum against both ends: mid-heavy ↔ scooped", "more scooped", "more mid-heavy",
            "scooped", "mid-heavy"),
}
for _i in range(1, 21):
    BASE_TERMS[f"mfcc{_i}"] = _MFCC.get(_i) or Term(
        f"timbre detail {_i}", f"MFCC {_i}", "cepstral units",
        f"a finer ripple of the spectral envelope (the {_i}th cepstral shape): tells instruments and voices apart",
        "higher", "lower")
    _b = BASE_TERMS[f"mfcc{_i}"]
    BASE_TERMS[f"mfcc_delta{_i}"] = Term(f"change of {_b.name}", f"Δ MFCC {_i}", "coefficient per frame",
                                         f"how fast the {_b.name} changes from frame to frame", "rising", "falling")

#: How each statistic over the section's frames is said.
STAT_WORDS = {"median": "", "mean": "average", "std": "variation of"}

TEMPO = Term("tempo", "tempo", "BPM", "the beat rate of the song the section is in: slow ↔ fast",
             "faster", "slower", "fast", "slow")


@dataclass(frozen=True)
class FeatureTerm:
    """One column of the features table told plainly (see :func:`describe`)."""

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

    @property
    def label(self) -> str:
        """``"brightness (Hz)"``: the name with its unit, for axes and pickers."""
        return f"{self.name} ({self.unit})" if self.unit else self.name

    @property
    def glossary(self) -> str:
        """One line: ``"brightness = spectral centroid, median over the section, Hz: the spectrum's …"``."""
        unit = f", {self.unit}" if self.unit else ""
        return f"{self.name} = {self.technical}{unit}: {self.meaning}"

    def word(self, direction: float) -> str | None:
        """The adjective for a value above (``direction > 0``) or below usual, or None."""
        return self.high_word if direction > 0 else self.low_word if direction < 0 else None

    def direction_text(self, above: bool) -> str:
        """``"brighter than usual"`` / ``"darker than usual"``."""
        return f"{self.higher if above else self.lower} than usual"


def _term(column: str) -> FeatureTerm | None:
    if column == "tempo_bpm":
        t = TEMPO
        return FeatureTerm(column, t.name, t.technical, t.unit, t.meaning, t.higher, t.lower, t.high_word, t.low_word,
                           "tempo")
    base, _, stat = column.rpartition("_")
    if stat not in STATS or base not in BASE_TERMS:
        return None
    t = BASE_TERMS[base]
    technical = f"{t.technical}, {stat if stat != 'std' else 'standard deviation'} over the section"
    if stat == "std":
        steady = base in ("rms", "amplitude_envelope")
        return FeatureTerm(column, f"variation of {t.name}", technical, t.unit,
                           f"how much the {t.name} changes within the section",
                           "more changing", "steadier", "dynamic" if steady else None, "steady" if steady else None,
                           "dynamics")
    name = t.name if stat == "median" else f"average {t.name}"
    # the median carries the adjectives; the mean says the same thing a second time in names
    words = (t.high_word, t.low_word) if stat == "median" else (None, None)
    return FeatureTerm(column, name, technical, t.unit, t.meaning, t.higher, t.lower, *words, t.concept or base)


#: Every column of the classical feature sets → its :class:`FeatureTerm`.
FEATURE_GLOSSARY: dict[str, FeatureTerm] = {
    c: _term(c) for c in dict.fromkeys(FEATURE_SETS["classical"] + FEATURE_SETS["classical17"])
}
assert all(FEATURE_GLOSSARY.values()), "a classical feature column has no glossary entry"
assert len(FEATURE_NAMES) * len(STATS) + 1 == len(FEATURE_GLOSSARY)


def describe(column: str) -> FeatureTerm:
    """The :class:`FeatureTerm` of a features column; an unknown column gets a readable fallback
    (underscores as spaces, digits split off: ``"loudness_lufs"`` → ``"loudness lufs"``)."""
    column = str(column)
    term = FEATURE_GLOSSARY.get(column)
    if term is not None:
        return term
    plain = re.sub(r"(?<=[a-z])(?=\d)", " ", column.replace("_", " ")).strip()
    return FeatureTerm(column, plain, column, "", "a stored feature without a glossary entry", "higher", "lower",
                       None, None)


def feature_label(column: str) -> str:
    """``"brightness (Hz)"`` for ``"spectral_centroid_median"`` (:attr:`FeatureTerm.label`)."""
    return describe(column).label


def contribution_text(column: str, shap_value: float, above: bool | None) -> str:
    """How a SHAP value reads: ``"brighter than usual → towards this cluster"``.

    Parameters
    ----------
    column : str
    shap_value : float
        Positive: pushes towards the section's cluster; negative: away from it.
    above : bool or None
        Whether the section's value is above the corpus median (None: unknown).
    """
    term = describe(column)
    where = "towards this cluster" if shap_value >= 0 else "away from this cluster"
    if above is None:
        return f"{term.name} → {where}"
    return f"{term.direction_text(above)} → {where}"


def is_neural_space(space) -> bool:
    """Whether ``space`` is an embedding (musicnn, VGGish, …) rather than a classical feature set:
    its explanations then come from a surrogate over classical features."""
    return str(space) not in FEATURE_SETS


def surrogate_note(space, fidelity) -> str | None:
    """The sentence shown beside an explanation of a neural-embedding run, or None for a run on
    classical features (whose explanation speaks about its own inputs)."""
    if not is_neural_space(space):
        return None
    try:
        f = float(fidelity)
    except (TypeError, ValueError):
        f = float("nan")
    how = (f"it reproduces this run's clusters for {f:.0%} of sections (fidelity)" if np.isfinite(f)
           else "its fidelity was not stored")
    return (f"A surrogate model is speaking: this run groups {space} embeddings, which have no readable "
            f"dimensions, so a tree model that predicts its clusters from classical features explains them; {how}.")


# ---- default names of clusters ----------------------------------------------------------------------
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
                          separator: str = " · ") -> dict[int, str]:
    """A descriptive name per cluster from what distinguishes it, unique within the run.

    Parameters
    ----------
    z : pd.DataFrame
        :func:`cluster_profiles_z`: clusters × feature columns, in corpus standard deviations.
    top_tags : dict, optional
        cluster → its most distinctive tag (``"techno"``), appended as the last part.
    n_words : int
        Adjectives per name: those of the columns with the largest ``|z|`` that have a plain
        adjective in the glossary, one per quality (:attr:`Term.concept`: "loud" from RMS keeps
        "quiet" from MFCC 1 out).
    separator : str

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
    for c, row in z.iterrows():
        words, concepts = [], set()
        for col in row.abs().sort_values(ascending=False, kind="stable").index:
            term = describe(col)
            w = term.word(row[col])
            if w and w not in words and term.concept not in concepts:
                words.append(w)
                concepts.add(term.concept)
        ranked[int(c)] = words
    used = {c: min(n_words, len(w)) for c, w in ranked.items()}

    # a cluster with neither a distinguishing word nor a tag gets no name (shown as "cluster 3")
    ranked = {c: w for c, w in ranked.items() if w or top_tags.get(c)}

    def name(c, numbered=False):
        parts = ranked[c][:used[c]]
        tag = top_tags.get(c)
        if tag and str(tag) not in parts:  # a tag "fast" after the adjective "fast" says nothing new
            parts = parts + [str(tag)]
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
