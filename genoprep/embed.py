"""Low-dimensional views of a processed matrix: PCA (scRNA-seq and bulk) and UMAP (scRNA-seq).

- :func:`pca` — principal components of a cells (or samples) x features matrix, centred per
  feature (the scores ``sc.pp.pca`` computes, up to each component's sign): exact, from the
  eigen-decomposition of the Gram matrix, block by block, so that the dense matrix is never
  copied; nothing random, the same bytes for the same input.
- :func:`umap` — a 2-D UMAP of those components (umap-learn, seeded). With a seed
  umap-learn runs on one thread: its parallel optimisation is not reproducible.

Both return float32 arrays, ready for ``obsm['X_pca']`` and ``obsm['X_umap']``.
"""

from __future__ import annotations

import logging
import mmap
import warnings
from collections.abc import Iterator

import numpy as np

log = logging.getLogger(__name__)

#: rows of the matrix converted to float64 at a time
_BLOCK_ROWS = 2048


def row_blocks(
    matrix: np.ndarray, dtype: type = np.float64, rows: int = _BLOCK_ROWS
) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, matrix[start:start + rows] as dtype)`` over the rows, a copy each.

    When ``matrix`` is a memory map (``X.npy`` of an out-of-core run), its pages are given back
    after each block (``madvise(MADV_DONTNEED)``; the file's pages stay in the page cache), so
    reading a million cells keeps one block resident, not the file.
    """
    mapping = getattr(matrix, "_mmap", None)
    if mapping is None and isinstance(matrix.base, np.memmap):
        mapping = getattr(matrix.base, "_mmap", None)
    for start in range(0, matrix.shape[0], rows):
        block = np.array(matrix[start : start + rows], dtype=dtype)
        if mapping is not None:
            mapping.madvise(mmap.MADV_DONTNEED)
        yield start, block


def n_components(n_pcs: int, shape: tuple[int, int]) -> int:
    """``n_pcs`` capped by what the matrix has: at most min(rows, columns) - 1 components
    (centred data have rank at most rows - 1), at least 1."""
    return max(1, min(n_pcs, min(shape) - 1))


def pca(matrix: np.ndarray, n_pcs: int) -> tuple[np.ndarray, np.ndarray]:
    """(coordinates rows x k, explained variance ratio of each component), k = :func:`n_components`.

    Exact PCA of the column-centred matrix through the eigen-decomposition of its smaller Gram
    matrix (features x features, accumulated in float64 over blocks of rows, or rows x rows when
    there are fewer rows): no copy of the matrix, nothing random. Each component's sign is
    fixed so that its largest loading is positive.
    """
    n_rows, n_cols = matrix.shape
    k = n_components(n_pcs, matrix.shape)
    mean = np.zeros(n_cols)
    for _, block in row_blocks(matrix):
        mean += block.sum(axis=0)
    mean /= max(n_rows, 1)
    if n_cols <= n_rows:
        from scipy.linalg import eigh

        gram = np.zeros((n_cols, n_cols))
        for _, block in row_blocks(matrix):
            block -= mean  # in place: one float64 block at a time
            gram += block.T @ block
        total_variance = float(np.trace(gram))
        # only the k largest eigenpairs (LAPACK's syevr): no n_cols^2 workspace beside the Gram matrix
        values, vectors = eigh(gram, subset_by_index=[n_cols - k, n_cols - 1], driver="evr", overwrite_a=True)
        order = np.argsort(values)[::-1]
        components = vectors[:, order]
    else:  # few rows (bulk samples): the rows x rows Gram matrix
        centred = matrix.astype(np.float64) - mean
        gram = centred @ centred.T
        values, vectors = np.linalg.eigh(gram)
        order = np.argsort(values)[::-1][:k]
        components = centred.T @ vectors[:, order] / np.sqrt(np.maximum(values[order], np.finfo(float).tiny))
        total_variance = float(np.trace(gram))
    total = total_variance
    largest = np.abs(components).argmax(axis=0)
    components *= np.sign(components[largest, np.arange(k)])
    coordinates = np.empty((n_rows, k), dtype=np.float32)
    for start, block in row_blocks(matrix):
        block -= mean
        coordinates[start : start + block.shape[0]] = block @ components
    ratio = np.clip(values[order], 0, None) / total if total > 0 else np.zeros(k)
    log.info("PCA: %d components of a %d x %d matrix", k, n_rows, n_cols)
    return coordinates, ratio.astype(np.float32)


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
