"""Statistics that define features, fitted on the training rows only and applied to every row.

With splits on, the scaling of ``X.npy`` (scRNA-seq) and the z-scores of bulk RNA-seq must
not see the test rows: :func:`fit_scaler` computes the per-column mean and standard
deviation of the train rows (exactly, in float64, sparse input never densified: a
two-pass sum over the non-zero entries plus the implicit zeros), and
:func:`apply_scaler` transforms all rows with them. ``ddof=1`` reproduces
``sc.pp.scale`` (scanpy's unbiased variance), ``ddof=0`` scikit-learn's ``StandardScaler``
(the bulk z-score). A column with zero spread gets std 1, as in both.

:func:`hvg_on_train` runs scanpy's ``highly_variable_genes`` on the train cells only and
returns the flags for every gene, to be applied to all cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Scaler:
    """Per-column centre and scale fitted on the train rows."""

    mean: np.ndarray
    std: np.ndarray
    n_fitted: int
    ddof: int


def fit_scaler(matrix: np.ndarray | sp.spmatrix, train_mask: np.ndarray, ddof: int = 1) -> Scaler:
    """Mean and std of each column over the rows where ``train_mask`` is True (float64)."""
    train_mask = np.asarray(train_mask, dtype=bool)
    if train_mask.shape != (matrix.shape[0],):
        raise ValueError(f"train_mask has shape {train_mask.shape}, the matrix {matrix.shape[0]} rows")
    n = int(train_mask.sum())
    if n <= ddof:
        raise ValueError(f"{n} train rows: too few to fit a scaler with ddof={ddof}")
    if sp.issparse(matrix):
        train = sp.csr_matrix(matrix)[np.flatnonzero(train_mask)]
        coo = train.tocoo()
        values = coo.data.astype(np.float64)
        n_cols = matrix.shape[1]
        mean = np.bincount(coo.col, weights=values, minlength=n_cols) / n
        nonzero_per_col = np.bincount(coo.col, minlength=n_cols)
        squared = np.bincount(coo.col, weights=(values - mean[coo.col]) ** 2, minlength=n_cols)
        squared += (n - nonzero_per_col) * mean**2  # the implicit zeros
    else:
        train = np.asarray(matrix, dtype=np.float64)[train_mask]
        mean = train.mean(axis=0)
        squared = ((train - mean) ** 2).sum(axis=0)
    std = np.sqrt(squared / (n - ddof))
    std[std == 0] = 1.0
    return Scaler(mean=mean, std=std, n_fitted=n, ddof=ddof)


def apply_scaler(
    matrix: np.ndarray | sp.spmatrix, scaler: Scaler, max_value: float | None = None, dtype: Any = np.float32
) -> np.ndarray:
    """``(x - mean) / std`` for every row, clipped to ``[-max_value, max_value]`` (as sc.pp.scale)."""
    dense = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    scaled = (dense.astype(np.float64) - scaler.mean) / scaler.std
    if max_value is not None:
        np.clip(scaled, -max_value, max_value, out=scaled)
    return np.ascontiguousarray(scaled, dtype=dtype)


def hvg_on_train(adata: Any, train_mask: np.ndarray, **hvg_kwargs: Any) -> Any:
    """``sc.pp.highly_variable_genes`` on the train cells; returns its ``var`` table for every gene.

    ``hvg_kwargs`` are passed through (``flavor``, ``n_top_genes``, ``batch_key``, ``layer``).
    The caller copies ``highly_variable`` (and the statistics it wants) into the full
    object, so the selection applies to all cells but was fitted on train cells only.
    """
    import scanpy as sc

    train = adata[np.asarray(train_mask, dtype=bool)].copy()
    sc.pp.highly_variable_genes(train, **hvg_kwargs)
    return train.var
