"""One-pass numba kernels over the arrays of a CSR count matrix (``indptr``, ``indices``, ``data``).

The scRNA-seq chain works on these arrays directly: no boolean or float temporaries the
size of the matrix, no intermediate copies of views. Each kernel is a plain loop whose
result does not depend on thread scheduling (no parallel reductions), so reruns give the
same bytes.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def row_metrics(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, gene_kept: np.ndarray, gene_mito: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, over the kept genes: genes with a non-zero value, sum of values, sum in mito genes.

    Sums are accumulated in float64 (counts are integers, so they are exact).
    """
    n_rows = indptr.size - 1
    n_genes = np.zeros(n_rows, dtype=np.int64)
    total = np.zeros(n_rows, dtype=np.float64)
    mito = np.zeros(n_rows, dtype=np.float64)
    for i in range(n_rows):
        genes = 0
        row_total = 0.0
        row_mito = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            gene = indices[j]
            if not gene_kept[gene]:
                continue
            value = data[j]
            if value != 0:
                genes += 1
            row_total += value
            if gene_mito[gene]:
                row_mito += value
        n_genes[i] = genes
        total[i] = row_total
        mito[i] = row_mito
    return n_genes, total, mito


@numba.njit(cache=True)
def column_metrics(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, row_kept: np.ndarray, n_columns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per column, over the kept rows: rows with a non-zero value, and the sum of values (float64)."""
    n_rows_with = np.zeros(n_columns, dtype=np.int64)
    total = np.zeros(n_columns, dtype=np.float64)
    for i in range(indptr.size - 1):
        if not row_kept[i]:
            continue
        for j in range(indptr[i], indptr[i + 1]):
            value = data[j]
            if value != 0:
                n_rows_with[indices[j]] += 1
            total[indices[j]] += value
    return n_rows_with, total


@numba.njit(cache=True, inline="always")
def _copy_kept(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    row_kept: np.ndarray,
    new_column: np.ndarray,
    out_indptr: np.ndarray,
    out_indices: np.ndarray,
    out_data: np.ndarray,
) -> None:
    """Write the kept values of the kept rows, renumbered by ``new_column``, to the front of
    ``out_indices``/``out_data`` and the row pointers to ``out_indptr`` (zeroed, one entry per
    kept row plus one). The outputs may be the inputs themselves: value ``j`` is read before
    position ``k <= j`` is written.
    """
    row = 0
    k = 0
    for i in range(indptr.size - 1):
        if not row_kept[i]:
            continue
        for j in range(indptr[i], indptr[i + 1]):
            column = new_column[indices[j]]
            if column >= 0:
                out_indices[k] = column
                out_data[k] = data[j]
                k += 1
        row += 1
        out_indptr[row] = k


@numba.njit(cache=True)
def subset(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, row_kept: np.ndarray, new_column: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kept rows and columns as new CSR arrays, in one pass after a counting pass.

    ``new_column[c]`` is column ``c``'s position in the result, or -1 when it is dropped
    (positions increase with ``c``, so sorted indices stay sorted).
    """
    n_kept = 0
    nnz = 0
    for i in range(indptr.size - 1):
        if row_kept[i]:
            n_kept += 1
            for j in range(indptr[i], indptr[i + 1]):
                if new_column[indices[j]] >= 0:
                    nnz += 1
    out_indptr = np.zeros(n_kept + 1, dtype=np.int64)
    out_indices = np.empty(nnz, dtype=np.int32)
    out_data = np.empty(nnz, dtype=data.dtype)
    _copy_kept(indptr, indices, data, row_kept, new_column, out_indptr, out_indices, out_data)
    return out_indptr, out_indices, out_data


@numba.njit(cache=True)
def compact(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, row_kept: np.ndarray, new_column: np.ndarray
) -> np.ndarray:
    """:func:`subset` in place: the kept values move to the front of ``indices``/``data`` (a value
    never moves backwards past an unread one); returns the new row pointers (their last entry
    is the number of values kept). The arrays no longer describe the input matrix afterwards.
    """
    n_kept = 0
    for i in range(indptr.size - 1):
        if row_kept[i]:
            n_kept += 1
    out_indptr = np.zeros(n_kept + 1, dtype=np.int64)
    _copy_kept(indptr, indices, data, row_kept, new_column, out_indptr, indices, data)
    return out_indptr


@numba.njit(cache=True)
def divide_rows(indptr: np.ndarray, data: np.ndarray, divisors: np.ndarray) -> None:
    """``data`` of row ``i`` divided by ``divisors[i]``, in place (in the arrays' own precision)."""
    for i in range(indptr.size - 1):
        divisor = divisors[i]
        for j in range(indptr[i], indptr[i + 1]):
            data[j] = data[j] / divisor


@numba.njit(cache=True)
def dense_columns(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, position: np.ndarray, n_out: int
) -> np.ndarray:
    """A dense float32 rows x ``n_out`` block of the columns with ``position[c] >= 0``."""
    out = np.zeros((indptr.size - 1, n_out), dtype=np.float32)
    for i in range(indptr.size - 1):
        for j in range(indptr[i], indptr[i + 1]):
            column = position[indices[j]]
            if column >= 0:
                out[i, column] = data[j]
    return out


@numba.njit(cache=True)
def dense_columns_into(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, position: np.ndarray, out: np.ndarray
) -> None:
    """:func:`dense_columns` written into ``out`` (a zeroed rows x ``n_out`` block, e.g. a slice of rows of a
    bigger one)."""
    for i in range(indptr.size - 1):
        for j in range(indptr[i], indptr[i + 1]):
            column = position[indices[j]]
            if column >= 0:
                out[i, column] = data[j]


@numba.njit(cache=True)
def column_moments(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of a dense float32 block: the mean of the values and the mean of their float32
    squares, both summed in float64 in row order (what ``np.mean(x, axis=0, dtype=float64)`` and
    ``np.mean(x * x, axis=0, dtype=float64)`` give, without the ``x * x`` temporary)."""
    n_rows, n_columns = block.shape
    total = np.zeros(n_columns, dtype=np.float64)
    squares = np.zeros(n_columns, dtype=np.float64)
    for i in range(n_rows):
        for j in range(n_columns):
            value = block[i, j]
            total[j] += np.float64(value)
            squares[j] += np.float64(value * value)
    return total / n_rows, squares / n_rows


@numba.njit(cache=True)
def column_metrics_into(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n_rows_with: np.ndarray, total: np.ndarray
) -> None:
    """:func:`column_metrics` over every row, added to running ``n_rows_with``/``total`` arrays (row order is
    kept across calls, so chunks of rows give the same float64 sums as one call on the whole matrix)."""
    for i in range(indptr.size - 1):
        for j in range(indptr[i], indptr[i + 1]):
            value = data[j]
            if value != 0:
                n_rows_with[indices[j]] += 1
            total[indices[j]] += value


@numba.njit(cache=True)
def slot_moments_into(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, first_row: int, sums: np.ndarray, squares: np.ndarray
) -> None:
    """Per column, the sum of values and of their squares (in the values' precision), summed in float64
    into row ``(first_row + i) % n_slots`` of ``sums``/``squares``: the partial sums of scanpy's
    ``sparse_mean_var_minor_axis`` with ``n_slots`` numba threads, for a chunk of rows starting at
    global row ``first_row``."""
    n_slots = sums.shape[0]
    for i in range(indptr.size - 1):
        slot = (first_row + i) % n_slots
        for j in range(indptr[i], indptr[i + 1]):
            column = indices[j]
            value = data[j]
            sums[slot, column] += value
            squares[slot, column] += value * value


@numba.njit(cache=True)
def masked_moments_into(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    row_kept: np.ndarray,
    total: np.ndarray,
    squares: np.ndarray,
) -> None:
    """Per column, over the rows with ``row_kept``: the float64 sum of the float32 values and of their
    float32 squares, in row order (what :func:`column_moments` sums over a dense block; its zeros add
    nothing)."""
    for i in range(indptr.size - 1):
        if not row_kept[i]:
            continue
        for j in range(indptr[i], indptr[i + 1]):
            value = data[j]
            total[indices[j]] += np.float64(value)
            squares[indices[j]] += np.float64(value * value)
