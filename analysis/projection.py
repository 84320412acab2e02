"""2-D and 3-D maps of a space: PCA, t-SNE (openTSNE) and UMAP, seeded.

A :class:`Projector` standardises its input, fits one model, and can place new points with the
same fitted model — which is how cluster centroids are drawn on the map (the reference study
refitted a PCA on the centroids alone, so its centroids and points lived in different planes).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .clustering import check_rows
from .errors import InputError, ParameterError

#: Projection kinds.
KINDS = ("pca", "tsne", "umap")
#: Above this many input dimensions, t-SNE and UMAP run on the first 50 principal components.
PRE_PCA_DIMS = 50
#: t-SNE uses FFT-accelerated gradients from this many rows on (Barnes–Hut below, as openTSNE's "auto").
FFT_MIN_ROWS = 10000
#: t-SNE uses ``n_jobs`` threads from this many rows on (one thread below: less overhead).
THREADS_MIN_ROWS = 5000


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

    def transform(self, X) -> np.ndarray:
        """Coordinates of new rows (original units of the space) under the fitted model.

        Parameters
        ----------
        X : np.ndarray [shape=(m, d)]

        Returns
        -------
        np.ndarray [shape=(m, n_components)]
        """
        check_is_fitted(self)
        X = np.atleast_2d(np.asarray(X))  # one 1-D row (a centroid) is one row
        if X.ndim == 2 and X.shape[1] != self.n_features_in_:
            raise InputError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input (rows have {X.shape[1]} columns, the "
                             f"projection was fitted on {self.n_features_in_})")
        X = check_rows(self, X, reset=False, what="project")
        Z = self._prepare(X)
        if self.kind == "tsne":
            # new points are placed against the fixed reference embedding
            out = np.asarray(self.model_.transform(Z, perplexity=min(5.0, self.params_["perplexity"])))
        else:
            out = np.asarray(self.model_.transform(Z))
        if out.shape[1] < self.n_components:
            out = np.hstack([out, np.zeros((out.shape[0], self.n_components - out.shape[1]))])
        return out.astype(np.float64)
