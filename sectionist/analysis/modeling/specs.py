"""What names a run and what it is fitted on: :class:`SpaceData` (the rows), :class:`RunSpec` (the
options) and the run ids made from them (pure, no store)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sectionist.analysis.errors import ParameterError

__all__ = ["K_SEARCH_PARAMS", "LEVELS", "RunSpec", "SpaceData", "fit_params", "group_means", "make_run_id",
           "options_hash", "parse_k", "subset_space", "versioned_run_id"]


LEVELS = ("section", "frame", "section-mean")


@dataclass
class SpaceData:
    """The rows of one space, ready to cluster.

    Attributes
    ----------
    space, level : str
    section_ids : np.ndarray [shape=(n_sections,)]
        Sorted section ids.
    song_ids : np.ndarray [shape=(n_sections,)]
    X : np.ndarray [shape=(n_rows, d)]
        Rows to cluster, original units: sections, or frames at the ``frame`` level.
    groups : np.ndarray [shape=(n_rows,)] or None
        Section index of each frame (``frame`` level only).
    columns : list of str
        Column names of ``X``.
    """

    space: str
    level: str
    section_ids: np.ndarray
    song_ids: np.ndarray
    X: np.ndarray
    groups: np.ndarray | None
    columns: list

    @classmethod
    def from_array(cls, X, *, space: str = "array", section_ids=None, song_ids=None, groups=None,
                   columns=None) -> SpaceData:
        """A space from a plain array (no store): one row per section, or frames with ``groups``.

        Parameters
        ----------
        X : array-like [shape=(n_rows, d)]
        section_ids, song_ids : array-like [shape=(n_sections,)], optional
            Default ``s00000 …`` and one song.
        groups : array-like [shape=(n_rows,)], optional
            Section index of each row (frame level).
        columns : list of str, optional
            Default ``x0 … x{d-1}``.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ParameterError(f"X must be 2-D (rows × columns), got shape {X.shape}")
        if groups is not None:
            groups = np.asarray(groups, dtype=np.int64)
            if groups.shape != (X.shape[0],):
                raise ParameterError(f"groups has shape {groups.shape}, X has {X.shape[0]} rows")
        n_sec = X.shape[0] if groups is None else int(groups.max()) + 1
        ids = np.asarray(section_ids) if section_ids is not None else np.array([f"s{i:05d}" for i in range(n_sec)])
        songs = np.asarray(song_ids) if song_ids is not None else np.full(n_sec, "song")
        if len(ids) != n_sec or len(songs) != n_sec:
            raise ParameterError(f"{len(ids)} section ids and {len(songs)} song ids for {n_sec} sections")
        cols = list(columns) if columns is not None else [f"x{j}" for j in range(X.shape[1])]
        return cls(space, "section" if groups is None else "frame", ids, songs, X, groups, cols)

    def section_matrix(self) -> np.ndarray:
        """One row per section: ``X`` itself, or the mean of each section's frames."""
        if self.groups is None:
            return self.X
        return group_means(self.X, self.groups, len(self.section_ids))


def group_means(X: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """Mean row of each group [shape=(n, d)] (0 for an empty group)."""
    sums = np.zeros((n, X.shape[1]))
    np.add.at(sums, groups, X)
    counts = np.bincount(groups, minlength=n).astype(np.float64)
    return sums / np.maximum(counts, 1)[:, None]


def parse_k(k):
    """``"auto"`` or an int ≥ 1 from a user's ``k``."""
    if k is None or k == "auto":
        return "auto"
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise ParameterError(f"k={k!r}: use 'auto' or an integer ≥ 2") from None
    if k < 1:
        raise ParameterError(f"k={k}: must be ≥ 1")
    return k


#: Estimator parameters of the automatic K search: they change nothing when K is fixed.
K_SEARCH_PARAMS = ("k_range", "k_rule")


def _plain(value):
    """``value`` as plain JSON data (tuples as lists, numpy scalars as Python, 2.0 as 2)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def fit_params(method: str, k="auto", method_params=None) -> dict:
    """The estimator parameters among ``method_params`` that change a run's fit, as plain JSON data
    sorted by name: those equal to the method's default are left out, and so are the K search's
    (:data:`K_SEARCH_PARAMS`) when ``k`` is fixed or the method finds K itself."""
    from sectionist.analysis.modeling.estimators import REGISTRY, make_method

    items = method_params.items() if isinstance(method_params, dict) else (method_params or ())
    known = method in REGISTRY
    defaults = make_method(method).get_params() if known else {}
    searches = (not known or REGISTRY[method].uses_k) and parse_k(k) == "auto"
    out = {}
    for name, value in items:
        if name in ("n_clusters", "random_state") or (name in K_SEARCH_PARAMS and not searches):
            continue
        value = _plain(value)
        if name in defaults and value == _plain(defaults[name]):
            continue
        out[str(name)] = value
    return dict(sorted(out.items()))


def options_hash(params: dict) -> str:
    """A short stable hash (6 hex digits) of :func:`fit_params`' result: the same options, the same hash."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


def make_run_id(space: str, method: str, k="auto", *, scaling="standard", level="section", seed=0,
                central_only=False, method_params=None) -> str:
    """The run id of a set of options (the *lineage* of every version fitted with them).

    Every option that changes the fit names the run: a readable part (space, method, K, scaling,
    level, central sections, seed), e.g. ``classical17-kmeans-auto`` or ``musicnn-kmeans-k4-frames``,
    then, when any estimator parameter differs from the method's default (:func:`fit_params`: the K
    range or rule, GMM's covariance, HDBSCAN's sizes, …), ``-`` and a short stable hash of those
    parameters (:func:`options_hash`), e.g. ``classical17-gmm-auto-3f9a1c``. Runs whose options are all
    defaults keep the readable id alone. A new version ``{lineage}~v{n}`` (:func:`versioned_run_id`)
    is only ever a refit of the same options.
    """
    from sectionist.analysis.modeling.estimators import REGISTRY

    parts = [space, method]
    if method in REGISTRY and REGISTRY[method].uses_k:
        parts.append("auto" if k in (None, "auto") else f"k{int(k)}")
    if scaling != "standard":
        parts.append(scaling)
    if level == "frame":
        parts.append("frames")
    elif level == "section-mean":
        parts.append("mean")
    if central_only:
        parts.append("central")
    if seed != 0:
        parts.append(f"s{seed}")
    params = fit_params(method, k, method_params)
    if params:
        parts.append(options_hash(params))
    return "-".join(parts)


@dataclass(frozen=True)
class RunSpec:
    """What to fit: everything that names a run (:func:`make_run_id`).

    Parameters
    ----------
    space : str
        Feature set or embedder the rows come from (names the run; the rows are a :class:`SpaceData`).
    method : str
        A key of :data:`sectionist.analysis.modeling.estimators.REGISTRY` (unknown: ParameterError listing the known ones).
    k : "auto" or int
        Number of clusters (ignored by methods that find K themselves, e.g. ``hdbscan``).
    scaling : {"standard", "l2cols", "none"}
    level : {"section", "frame", "section-mean"} or None
        ``None`` until the rows are loaded; :func:`sectionist.analysis.modeling.runs.fit_run` fills it from the data.
    seed : int
        Seeds the estimator, the silhouette sample, the stability resamples and the surrogate.
    central_only : bool
        Whether only central sections were loaded (names the run).
    method_params : tuple of (name, value) pairs
        Extra estimator parameters; a dict is accepted and kept in its order.
    """

    space: str
    method: str = "kmeans"
    k: Any = "auto"
    scaling: str = "standard"
    level: str | None = None
    seed: int = 0
    central_only: bool = False
    method_params: tuple = field(default=())

    def __post_init__(self):
        from sectionist.analysis.modeling.estimators import REGISTRY
        from sectionist.analysis.modeling.scaling import SCALINGS

        REGISTRY[self.method]  # unknown method: ParameterError naming the known ones
        object.__setattr__(self, "k", parse_k(self.k))
        if self.scaling not in SCALINGS:
            raise ParameterError(f"scaling={self.scaling!r}: use one of {', '.join(SCALINGS)}")
        if self.level is not None and self.level not in LEVELS:
            raise ParameterError(f"level={self.level!r}: use one of {', '.join(LEVELS)}")
        params = self.method_params
        items = tuple(params.items()) if isinstance(params, dict) else tuple(tuple(p) for p in params)
        object.__setattr__(self, "method_params", items)
        object.__setattr__(self, "seed", int(self.seed))

    @property
    def params(self) -> dict:
        """``method_params`` as a dict."""
        return dict(self.method_params)

    @property
    def uses_k(self) -> bool:
        from sectionist.analysis.modeling.estimators import REGISTRY

        return REGISTRY[self.method].uses_k

    @property
    def run_id(self) -> str:
        """See :func:`make_run_id` (needs ``level``)."""
        if self.level is None:
            raise ParameterError("the run's level is known once its rows are loaded (fit_run fills it)")
        return make_run_id(self.space, self.method, self.k, scaling=self.scaling, level=self.level, seed=self.seed,
                           central_only=self.central_only, method_params=self.method_params)

    def estimator(self, random_state: int | None = None, n_clusters=None):
        """An unfitted estimator of the method (``n_clusters`` default: ``k``; seed default: ``seed``)."""
        from sectionist.analysis.modeling.estimators import make_method

        return make_method(self.method, n_clusters=self.k if n_clusters is None else n_clusters,
                           random_state=self.seed if random_state is None else random_state, **self.params)


def versioned_run_id(lineage: str, version: int) -> str:
    """The run id of ``version`` of a lineage: the lineage itself for version 1, else ``{lineage}~v{version}``."""
    version = int(version)
    if version < 1:
        raise ParameterError(f"version={version}: versions start at 1")
    return lineage if version == 1 else f"{lineage}~v{version}"


def subset_space(data: SpaceData, section_ids) -> SpaceData:
    """The rows of ``data`` that belong to ``section_ids`` (kept in ``data``'s order)."""
    keep = np.isin(data.section_ids, np.asarray(list(section_ids), dtype=object))
    if data.groups is None:
        return replace(data, section_ids=data.section_ids[keep], song_ids=data.song_ids[keep], X=data.X[keep])
    new_index = np.cumsum(keep) - 1
    rows = keep[data.groups]
    return replace(data, section_ids=data.section_ids[keep], song_ids=data.song_ids[keep], X=data.X[rows],
                   groups=new_index[data.groups[rows]].astype(np.int64))
