"""Statistics that define features, fitted on the training rows only and applied to every row.

With splits on, the scaling of ``X.npy`` (scRNA-seq) and the z-scores of bulk RNA-seq must
not see the test rows: :func:`fit_scaler` computes the per-column mean and standard
deviation of the train rows (exactly, in float64, sparse input never densified: a
two-pass sum over the non-zero entries plus the implicit zeros), and
:func:`apply_scaler` transforms all rows with them. ``ddof=1`` reproduces
``sc.pp.scale`` (scanpy's unbiased variance), ``ddof=0`` scikit-learn's ``StandardScaler``
(the bulk z-score). A column with zero spread gets std 1, as in both.

:func:`scale_in_place` applies a scaler to a dense block in row chunks (no float64 copy of
the whole block). The scRNA-seq HVG selection on train cells is
:func:`genoprep.scrna.splitting.select_hvg_on_train`.
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


def scale_in_place(
    dense: np.ndarray, scaler: Scaler, max_value: float | None = None, rows_per_chunk: int = 4096
) -> np.ndarray:
    """``(x - mean) / std`` of a dense float32/float64 array, in place, in float64 row chunks, clipped
    to ``[-max_value, max_value]`` (as ``sc.pp.scale``); no full-size float64 temporary."""
    for start in range(0, dense.shape[0], rows_per_chunk):
        chunk = (dense[start : start + rows_per_chunk].astype(np.float64) - scaler.mean) / scaler.std
        if max_value is not None:
            np.clip(chunk, -max_value, max_value, out=chunk)
        dense[start : start + rows_per_chunk] = chunk
    return dense


def apply_scaler(
    matrix: np.ndarray | sp.spmatrix, scaler: Scaler, max_value: float | None = None, dtype: Any = np.float32
) -> np.ndarray:
    """``(x - mean) / std`` for every row, clipped to ``[-max_value, max_value]`` (as sc.pp.scale)."""
    dense = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    return scale_in_place(np.array(dense, dtype=dtype, order="C"), scaler, max_value)
