"""Names, colours and checks every export shares: cluster names and colours, one-line text, file stems."""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from sectionist.analysis.errors import ParameterError

#: Item colours of clusters 0, 1, … (cycled), as ``#rrggbb``; noise gets :data:`NOISE_COLOR`.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#2ca02c")
NOISE_COLOR = "#c8ccd2"


def cluster_name(label) -> str:
    """``"cluster 3"``, ``"noise"`` (−1), or ``""`` for a section the run did not label."""
    if label is None or pd.isna(label) or int(label) < -1:
        return ""
    return "noise" if int(label) == -1 else f"cluster {int(label)}"


def clean_names(names) -> dict[int, str]:
    """``{cluster: name}`` with each name on one line (:func:`one_line`) and empty names left out
    (an empty name means the default one)."""
    out = {}
    for c, n in (names or {}).items():
        text = one_line(n)
        if text:
            out[int(c)] = text
    return out


def cluster_labels(clusters, names=None) -> dict[int, str]:
    """The label of each cluster in an export: its expert name, else :func:`cluster_name`.

    Parameters
    ----------
    clusters : iterable of int
        The clusters (−1: noise) the run gives the exported sections; missing values are skipped.
    names : dict, optional
        ``{cluster: name}``: the names experts gave clusters of this run version.

    Returns
    -------
    dict
        cluster → label, for every cluster of ``clusters`` and ``names``. Labels are distinct: a name
        that two clusters would share (two experts' names alike, or a name such as ``"cluster 2"``
        given to another cluster) is followed by its cluster, ``"Intro (cluster 4)"``.
    """
    named = clean_names(names)
    known = {int(c) for c in clusters if c is not None and not pd.isna(c) and int(c) >= -1}
    out = {c: named.get(c) or cluster_name(c) for c in sorted(known | set(named))}
    shared = Counter(out.values())
    return {c: f"{label} ({cluster_name(c)})" if shared[label] > 1 and c in named else label
            for c, label in out.items()}


def cluster_color(label) -> str:
    """The ``#rrggbb`` colour of a cluster (:data:`PALETTE`, :data:`NOISE_COLOR` for noise)."""
    if label is None or pd.isna(label) or int(label) < 0:
        return NOISE_COLOR
    return PALETTE[int(label) % len(PALETTE)]


def one_line(text) -> str:
    """``text`` as one line: tabs, carriage returns and newlines become spaces (for tab/line formats)."""
    return re.sub(r"[\t\r\n\x0b\x0c\x85\u2028\u2029]+", " ", "" if text is None else str(text)).strip()


def file_stem(text: str, limit: int = 60) -> str:
    """A file-name-safe stem of ``text`` (letters, digits, ``.-_``; never a path, never hidden)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._-")[:limit]
    return stem or "untitled"


def check_known(kind: str, given, valid) -> list:
    """``given`` (a list) when each is in ``valid``, else :class:`ParameterError` listing the valid ones."""
    valid = list(valid)
    bad = [g for g in given if g not in valid]
    if bad:
        shown = ", ".join(map(str, valid[:50])) + (f", … ({len(valid)} in all)" if len(valid) > 50 else "")
        raise ParameterError(f"unknown {kind} {', '.join(map(repr, bad))} (valid: {shown or 'none'})")
    return list(given)
