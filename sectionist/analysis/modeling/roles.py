"""Song-relative ("role") spaces: every feature measured against the section's own song.

Clustered on absolute features, a corpus's sections group by song: a song's mix, key, tempo and
loudness make its sections alike, so "with colour by song every island of the map is one song".
A **role space** takes that away: in ``<space>-role`` every column is a z-score *within the song*
(how far the section is above or below its song's mean, in the song's own standard deviations), so
a cluster gathers the sections that play the same part in their songs (the loudest, brightest part
of each song: a drop or a chorus; the thinnest: a break) whatever the songs sound like overall. In
``<space>-rel`` every column is the difference from the song's mean (the song's level removed, its
spread kept). The base ``<space>`` is any space (``classical17``, ``classical``, an embedder); the
column names stay those of the base space, their values are relative to the song.

Pure helpers (no store): the space names (:func:`split_space`, :func:`song_relative_space`) and the
standardisation (:func:`song_relative`). :mod:`sectionist.analysis.modeling.spaces` applies it where
a space's rows are read, so runs, maps, explanations and placement of new songs all see it.
"""

from __future__ import annotations

import numpy as np

from sectionist.analysis.errors import ParameterError

__all__ = ["FLAT_TOLERANCE", "SONG_RELATIVE", "is_song_relative", "song_relative", "song_relative_space",
           "split_space"]

#: The song-relative kinds: the suffix of the space name → what a column then holds.
SONG_RELATIVE = {
    "role": "z-score within the song (the song's mean and standard deviation over its sections)",
    "rel": "difference from the song's mean over its sections",
}
#: A column whose standard deviation within a song is at most this share of its mean's magnitude is
#: flat in that song (float rounding of equal values): its z-scores are 0.
FLAT_TOLERANCE = 1e-9


def split_space(space) -> tuple[str, str | None]:
    """The base space and the song-relative kind of a space name.

    ``"classical17-role"`` → ``("classical17", "role")``, ``"musicnn-rel"`` → ``("musicnn", "rel")``,
    ``"classical17"`` → ``("classical17", None)``.
    """
    space = str(space)
    for kind in SONG_RELATIVE:
        suffix = f"-{kind}"
        if space.endswith(suffix) and len(space) > len(suffix):
            return space[: -len(suffix)], kind
    return space, None


def is_song_relative(space) -> bool:
    """Whether ``space`` is a role space (``-role`` or ``-rel``): its values are relative to each song."""
    return split_space(space)[1] is not None


def song_relative_space(base: str, kind: str = "role") -> str:
    """The name of ``base``'s song-relative space (``classical17`` → ``classical17-role``)."""
    if kind not in SONG_RELATIVE:
        raise ParameterError(f"song-relative kind {kind!r}: use one of {', '.join(SONG_RELATIVE)}")
    if is_song_relative(base):
        raise ParameterError(f"space {base!r} is already song-relative")
    return f"{base}-{kind}"


def song_relative(X, song_ids, *, kind: str = "role") -> np.ndarray:
    """Each column of ``X`` relative to the rows of the same song.

    Parameters
    ----------
    X : array-like [shape=(n, d)]
        Rows (sections, or frames) in the units of their space.
    song_ids : array-like [shape=(n,)]
        The song of each row.
    kind : {"role", "rel"}
        ``role``: ``(x − mean) / std`` with the song's mean and population standard deviation
        (``ddof=0``) of the column; ``rel``: ``x − mean``.

    Returns
    -------
    np.ndarray [shape=(n, d)], float64
        A song with a single row, or a column that is flat within a song (standard deviation at
        most :data:`FLAT_TOLERANCE` × |mean|), gives 0 there (``role``; ``rel`` gives 0 for a single
        row by itself). Non-finite values stay NaN and are left out of their song's mean and
        standard deviation; a column with one finite value in a song counts as that song's single row.
    """
    if kind not in SONG_RELATIVE:
        raise ParameterError(f"song-relative kind {kind!r}: use one of {', '.join(SONG_RELATIVE)}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ParameterError(f"X must be 2-D (rows × columns), got shape {X.shape}")
    song_ids = np.asarray(song_ids)
    if song_ids.shape != (X.shape[0],):
        raise ParameterError(f"{song_ids.shape[0] if song_ids.ndim else 0} song ids for {X.shape[0]} rows")
    if not X.size:
        return X.copy()
    _, song = np.unique(song_ids.astype(str), return_inverse=True)
    n_songs = int(song.max()) + 1
    finite = np.isfinite(X)
    out = np.full(X.shape, np.nan)
    for j in range(X.shape[1]):
        ok = finite[:, j]
        x = X[ok, j]
        s = song[ok]
        count = np.bincount(s, minlength=n_songs).astype(np.float64)
        mean = np.bincount(s, weights=x, minlength=n_songs) / np.maximum(count, 1)
        dev = x - mean[s]
        if kind == "rel":
            out[ok, j] = dev
            continue
        std = np.sqrt(np.bincount(s, weights=dev * dev, minlength=n_songs) / np.maximum(count, 1))
        flat = (count < 2) | (std <= FLAT_TOLERANCE * np.abs(mean))
        out[ok, j] = np.where(flat[s], 0.0, dev / np.where(flat, 1.0, std)[s])
    return out
