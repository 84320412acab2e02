"""2-D and 3-D maps of a space: PCA, t-SNE (openTSNE) and UMAP, seeded.

A :class:`Projector` standardises its input, fits one model, and can place new points with the
same fitted model — which is how cluster centroids are drawn on the map (the reference study
refitted a PCA on the centroids alone, so its centroids and points lived in different planes).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sectionist.analysis.modeling.checks import check_rows
from sectionist.analysis.errors import InputError, ParameterError
from sectionist.analysis.threads import one_thread

#: Projection kinds.
KINDS = ("pca", "tsne", "umap")
#: Above this many input dimensions, t-SNE and UMAP run on the first 50 principal components.
PRE_PCA_DIMS = 50
#: t-SNE uses FFT-accelerated gradients from this many rows on (Barnes–Hut below, as openTSNE's "auto").
FFT_MIN_ROWS = 10000
#: t-SNE uses ``n_jobs`` threads from this many rows on (one thread below: less overhead).
THREADS_MIN_ROWS = 5000
#: Large-corpus path (:func:`fit_embed`): rows t-SNE and UMAP are fitted on; the others are placed
#: with ``transform``. (20 000 rather than 50 000: a t-SNE fit of 50 000 rows alone takes minutes on 2 cores.)
PROJECTION_FIT_SAMPLE = 20_000
#: Rows placed per ``transform`` call in the large-corpus path (bounds the memory of the neighbour search).
TRANSFORM_CHUNK = 50_000
#: Optimisation iterations of openTSNE's ``transform`` in the large-corpus path (openTSNE's default
#: is 250; the neighbour search and median initialisation cost as much as 50 iterations).
LARGE_TSNE_TRANSFORM_ITER = 50


class Projector(TransformerMixin, BaseEstimator):
    """Fit a 2-D or 3-D projection of rows; place new rows with the same model.

    Parameters
    ----------
    kind : {"pca", "tsne", "umap"}
    n_components : {2, 3}
    random_state : int
        Seed.
    perplexity : float
        t-SNE perplexity (reduced automatically for few rows).
    n_neighbors : int
        UMAP neighbourhood size (reduced automatically for few rows).
    n_jobs : int
        Threads for t-SNE.

    Attributes
    ----------
    embedding_ : np.ndarray [shape=(n, n_components)]
        The fitted rows' coordinates.
    explained_variance_ratio_ : np.ndarray or None
        PCA only.
    params_ : dict
        Effective parameters (for ``projection_info``).
    """

    def __init__(self, kind="pca", n_components=2, random_state=0, perplexity=30.0, n_neighbors=15, n_jobs=2):
        self.kind = kind
        self.n_components = n_components
        self.random_state = random_state
        self.perplexity = perplexity
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs

    def _prepare(self, X):
        Z = (X - self.mean_) / self.scale_
        if self.pre_pca_ is not None:
            Z = self.pre_pca_.transform(Z)
        return Z

    def fit(self, X, y=None):
        """Fit on ``X`` with BLAS/OpenMP on one thread (:func:`sectionist.analysis.threads.one_thread`;
        t-SNE's own ``n_jobs`` threads aside): the same map whatever this process's thread pools are
        set to (t-SNE moved by ~1e-13 between 1 and 2 BLAS threads, enough to grow over a larger fit)."""
        if self.kind == "tsne":
            import openTSNE  # noqa: F401  (loaded before the layout is set, so that it covers its pools)
        elif self.kind == "umap":
            import umap  # noqa: F401
        with one_thread():
            return self._fit(X)

    def _fit(self, X):
        from sklearn.decomposition import PCA

        if self.kind not in KINDS:
            raise ParameterError(f"projection kind {self.kind!r}: use one of {', '.join(KINDS)}")
        if self.n_components not in (2, 3):
            raise ParameterError(f"n_components={self.n_components}: use 2 or 3")
        X = check_rows(self, X, reset=True, min_rows=4, what="project")
        n, d = X.shape
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale <= 1e-12] = 1.0
        self.scale_ = scale
        self.pre_pca_ = None
        self.explained_variance_ratio_ = None
        Z = (X - self.mean_) / self.scale_
        params = {"kind": self.kind, "n_components": self.n_components, "random_state": self.random_state,
                  "standardised": True}
        if self.kind != "pca" and d > PRE_PCA_DIMS:
            m = min(PRE_PCA_DIMS, n)
            self.pre_pca_ = PCA(n_components=m, random_state=self.random_state).fit(Z)
            Z = self.pre_pca_.transform(Z)
            params["pre_pca"] = m
        if self.kind == "pca":
            k = min(self.n_components, d, n)
            self.model_ = PCA(n_components=k, random_state=self.random_state).fit(Z)
            emb = self.model_.transform(Z)
            self.explained_variance_ratio_ = self.model_.explained_variance_ratio_.copy()
        elif self.kind == "tsne":
            from openTSNE import TSNE

            perplexity = float(max(2.0, min(self.perplexity, (n - 1) / 3.0)))
            # FFT-accelerated gradients scale linearly (1–2-D only); Barnes–Hut is quicker for few
            # points and the only choice in 3-D. Threads only pay off on larger inputs.
            method = "fft" if self.n_components <= 2 and n >= FFT_MIN_ROWS else "bh"
            n_jobs = self.n_jobs if n >= THREADS_MIN_ROWS else 1
            self.model_ = TSNE(
                n_components=self.n_components, perplexity=perplexity, initialization="pca",
                negative_gradient_method=method, n_jobs=n_jobs, random_state=self.random_state,
                verbose=False,
            ).fit(Z)
            emb = np.asarray(self.model_)
            params.update(perplexity=perplexity, negative_gradient_method=method, initialization="pca",
                          n_jobs=n_jobs)
        else:
            import umap

            nn = int(max(2, min(self.n_neighbors, n - 1)))
            self.model_ = umap.UMAP(
                n_components=self.n_components, n_neighbors=nn, min_dist=0.1, random_state=self.random_state, n_jobs=1,
                init="spectral" if n > self.n_components + 1 else "random",
            ).fit(Z)
            emb = self.model_.embedding_
            params.update(n_neighbors=nn, min_dist=0.1)
        emb = np.asarray(emb, dtype=np.float64)
        if emb.shape[1] < self.n_components:  # PCA of fewer dimensions than asked: pad with zeros
            emb = np.hstack([emb, np.zeros((n, self.n_components - emb.shape[1]))])
        self.embedding_ = emb
        self.params_ = params
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        """Fit and return the fitted rows' coordinates :attr:`embedding_` [shape=(n, n_components)]."""
        return self.fit(X).embedding_

    def transform(self, X, *, n_iter: int | None = None) -> np.ndarray:
        """Coordinates of new rows (original units of the space) under the fitted model.

        Parameters
        ----------
        X : np.ndarray [shape=(m, d)]
        n_iter : int, optional
            t-SNE only: optimisation iterations of the placement (default: openTSNE's).

        Returns
        -------
        np.ndarray [shape=(m, n_components)]
        """
        check_is_fitted(self)
        with one_thread():  # the layout of the fit (see :meth:`fit`)
            return self._transform(X, n_iter)

    def _transform(self, X, n_iter) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X))  # one 1-D row (a centroid) is one row
        if X.ndim == 2 and X.shape[1] != self.n_features_in_:
            raise InputError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input (rows have {X.shape[1]} columns, the "
                             f"projection was fitted on {self.n_features_in_})")
        X = check_rows(self, X, reset=False, what="project")
        Z = self._prepare(X)
        if self.kind == "tsne":
            # new points are placed against the fixed reference embedding
            extra = {} if n_iter is None else {"n_iter": int(n_iter)}
            out = np.asarray(self.model_.transform(Z, perplexity=min(5.0, self.params_["perplexity"]), **extra))
        else:
            out = np.asarray(self.model_.transform(Z))
        if out.shape[1] < self.n_components:
            out = np.hstack([out, np.zeros((out.shape[0], self.n_components - out.shape[1]))])
        return out.astype(np.float64)


def fit_embed(X, kind: str, n_components: int, *, random_state=0, fit_sample: int | None = None,
              chunk: int = TRANSFORM_CHUNK, progress: bool = False) -> tuple[Projector, np.ndarray]:
    """Fit a :class:`Projector` and return it with the coordinates of every row of ``X``.

    With ``fit_sample`` set and more rows than that, t-SNE and UMAP take the **large-corpus path**:
    they are fitted on a seeded uniform sample of ``fit_sample`` rows and every other row is placed
    with :meth:`Projector.transform`, ``chunk`` rows at a time (t-SNE with
    :data:`LARGE_TSNE_TRANSFORM_ITER` iterations). The projector's ``params_`` then record
    ``fit_sample`` and ``placed_by_transform``. PCA is always fitted on every row (its cost is
    linear in the rows).

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
    kind : {"pca", "tsne", "umap"}
    n_components : {2, 3}
    random_state : int
    fit_sample : int, optional
    chunk : int
    progress : bool
        A progress bar over the placed chunks.

    Returns
    -------
    projector : Projector
    embedding : np.ndarray [shape=(n, n_components)]
    """
    X = np.asarray(X)
    n = X.shape[0]
    proj = Projector(kind, n_components, random_state=random_state)
    if kind == "pca" or fit_sample is None or n <= fit_sample:
        proj.fit(X)
        return proj, proj.embedding_
    if chunk < 1:
        raise ParameterError(f"chunk={chunk}: must be ≥ 1")
    idx = np.sort(np.random.default_rng(random_state).choice(n, int(fit_sample), replace=False))
    proj.fit(X[idx])
    E = np.empty((n, n_components), dtype=np.float64)
    E[idx] = proj.embedding_
    rest = np.setdiff1d(np.arange(n), idx, assume_unique=True)
    starts = range(0, len(rest), chunk)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=f"placing on {kind}{n_components}", leave=False, disable=None)
    n_iter = LARGE_TSNE_TRANSFORM_ITER if kind == "tsne" else None
    for a in starts:
        rows = rest[a:a + chunk]
        E[rows] = proj.transform(X[rows], n_iter=n_iter)
    proj.params_ = {**proj.params_, "fit_sample": int(len(idx)), "placed_by_transform": int(len(rest)),
                    **({"transform_n_iter": n_iter} if n_iter is not None else {})}
    return proj, E
