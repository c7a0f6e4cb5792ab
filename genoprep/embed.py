"""Low-dimensional views of a processed matrix: PCA (scRNA-seq and bulk) and UMAP (scRNA-seq).

- :func:`pca` — principal components of a cells (or samples) x features matrix, centred per
  feature, as ``sc.pp.pca`` computes them (scikit-learn's ``PCA``: seeded ARPACK for a large
  matrix, else the full SVD; signs fixed by scikit-learn's ``svd_flip``, so the same input
  gives the same bytes).
- :func:`umap` — a 2-D UMAP of those components (umap-learn, seeded). With a seed
  umap-learn runs on one thread: its parallel optimisation is not reproducible.

Both return float32 arrays, ready for ``obsm['X_pca']`` and ``obsm['X_umap']``.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

log = logging.getLogger(__name__)


def n_components(n_pcs: int, shape: tuple[int, int]) -> int:
    """``n_pcs`` capped by what the matrix has: at most min(rows, columns) - 1 components
    (ARPACK needs fewer than the smaller side), at least 1."""
    return max(1, min(n_pcs, min(shape) - 1))


def pca(matrix: np.ndarray, n_pcs: int, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(coordinates rows x k, explained variance ratio of each component), k = :func:`n_components`.

    ARPACK (started from ``seed``) when both sides of the matrix exceed 200 and a seed is
    given; else the full SVD (exact, nothing random).
    """
    from sklearn.decomposition import PCA

    k = n_components(n_pcs, matrix.shape)
    solver = "arpack" if seed is not None and min(matrix.shape) > 200 else "full"
    model = PCA(n_components=k, svd_solver=solver, random_state=seed)
    coordinates = model.fit_transform(matrix)
    log.info("PCA: %d components of a %d x %d matrix (%s solver)", k, *matrix.shape, solver)
    return coordinates.astype(np.float32, copy=False), model.explained_variance_ratio_.astype(np.float32)


def umap(coordinates: np.ndarray, n_neighbors: int, seed: int) -> np.ndarray | None:
    """A seeded 2-D UMAP of ``coordinates`` (rows x components), or None when there are too few
    rows for ``n_neighbors`` neighbours (the reason is logged)."""
    n_rows = coordinates.shape[0]
    if n_rows <= n_neighbors + 1:
        log.warning("UMAP skipped: %d cells, need more than n_neighbors + 1 = %d", n_rows, n_neighbors + 1)
        return None
    import umap as umap_learn

    model = umap_learn.UMAP(n_components=2, n_neighbors=n_neighbors, random_state=seed, transform_seed=seed)
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state": the one thread is what we want
        warnings.filterwarnings("ignore", message=".*overridden to 1 by setting random_state.*")
        embedding = model.fit_transform(np.ascontiguousarray(coordinates, dtype=np.float32))
    log.info("UMAP: %d cells, n_neighbors=%d, seed=%d", n_rows, n_neighbors, seed)
    return np.asarray(embedding, dtype=np.float32)
