"""Normalisation, highly variable genes and scaling, with scanpy's arithmetic.

- :func:`normalize_log1p` — a new CSR matrix ``log1p(normalize_total(target_sum))`` of the
  counts, computed in float32 in its own data array; it shares ``indices``/``indptr`` with
  the counts (which stay as they are, for ``layers['counts']``). The same operations, in the
  same precision and order, as ``sc.pp.normalize_total`` + ``sc.pp.log1p``.
- :func:`select_hvg` — ``sc.pp.highly_variable_genes`` with the card's flavor; the
  ``seurat_v3`` flavors run on ``layers['counts']`` as scanpy requires. ``var`` gets
  ``highly_variable``, ``means``, ``dispersions`` (for seurat_v3: the count variance over
  the count mean, the same ratio) and ``mean_counts`` (from the QC metrics).
- :func:`hvg_block` / :func:`scale_block` — only the highly variable columns are densified
  (float32 cells x HVG), then ``sc.pp.scale(max_value)`` scales that block in place: the ML matrix.
"""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from genoprep.scrna import kernels
from genoprep.scrna.options import COUNT_FLAVORS, HvgOptions

log = logging.getLogger(__name__)


def normalize_log1p(counts: sparse.csr_matrix, target_sum: float, *, in_place: bool = False) -> sparse.csr_matrix:
    """``log1p(counts / (cell total / target_sum))`` per cell, as a CSR matrix sharing the counts' structure.

    Cell totals are summed as scanpy's ``normalize_total`` does (stored in float32), divided
    by ``target_sum`` in float32, each value divided by its cell's factor in float32, then
    ``np.log1p`` in place: the same bytes as ``normalize_total`` + ``log1p``. Cells without
    counts have no stored values and stay empty.

    With ``in_place`` the counts' own float32 values are overwritten (no second array the size
    of the values): ``counts`` then holds the normalised values, and is returned.
    """
    every_gene = np.ones(counts.shape[1], dtype=bool)
    no_mito = np.zeros(counts.shape[1], dtype=bool)
    _, totals, _ = kernels.row_metrics(counts.indptr, counts.indices, counts.data, every_gene, no_mito)
    factors = totals.astype(np.float32) / target_sum
    factors[factors == 0] = 1  # scanpy leaves empty cells as they are
    if in_place and counts.data.dtype == np.float32:
        data = counts.data
    else:
        data = counts.data.astype(np.float32, copy=True)
    kernels.divide_rows(counts.indptr, data, factors)
    np.log1p(data, out=data)
    if data is counts.data:
        return counts
    return sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape, copy=False)


def effective_n_top_genes(n_top_genes: int, n_vars: int) -> int:
    """``n_top_genes`` capped at the number of genes left after QC."""
    if n_top_genes > n_vars:
        log.warning("n_top_genes=%d exceeds the %d genes after QC; using %d", n_top_genes, n_vars, n_vars)
    return min(n_top_genes, n_vars)


def select_hvg(adata: ad.AnnData, options: HvgOptions) -> int:
    """Flag highly variable genes in ``var['highly_variable']`` (``sc.pp.highly_variable_genes`` with the
    card's flavor, ``n_top_genes`` and batch key); return how many were flagged."""
    flavor, batch_key = options.hvg_flavor, options.hvg_batch_key
    n_top = effective_n_top_genes(options.n_top_genes, adata.n_vars)
    layer = None
    if flavor in COUNT_FLAVORS:
        if "counts" not in adata.layers:
            raise ValueError(f"hvg flavor {flavor} needs raw counts, and this dataset has none")
        layer = "counts"
    if flavor == "seurat" and batch_key is None and sparse.issparse(adata.X):
        _seurat_hvg(adata, n_top)
    else:
        import scanpy as sc  # imported here only: the default path does not need it (about 90 MiB, 2 s)

        sc.pp.highly_variable_genes(adata, flavor=flavor, n_top_genes=n_top, batch_key=batch_key, layer=layer)
    if "dispersions" not in adata.var:
        with np.errstate(divide="ignore", invalid="ignore"):
            adata.var["dispersions"] = np.where(
                adata.var["means"] > 0, adata.var["variances"] / adata.var["means"], 0.0
            )
    return int(adata.var["highly_variable"].sum())


def _seurat_hvg(adata: ad.AnnData, n_top: int) -> None:
    """``sc.pp.highly_variable_genes(flavor="seurat", n_top_genes=n_top)`` on a CSR ``X``, without its copies.

    scanpy copies the whole matrix and then takes ``expm1`` into another one (values and
    indices twice, about 2x the matrix at its peak); here ``expm1`` is taken a block of rows
    at a time and summed as scanpy's mean/variance kernel sums (:class:`SlotMoments`), so
    no matrix-sized array is made. Every following step is scanpy's own
    (its mean/variance kernel, binning, per-bin statistics and cut-off), in the same order
    and precision, so ``var`` gets the same values (tested against scanpy).
    """
    matrix = adata.X
    moments = SlotMoments(matrix.shape[1])
    rows = max(1, _EXPM1_BLOCK * matrix.shape[0] // max(matrix.nnz, 1))
    for start in range(0, matrix.shape[0], rows):
        block = row_view(matrix, start, start + rows)
        moments.add(block, start, np.expm1(block.data))
    mean, var = moments.mean_var(matrix.shape[0])
    hvg_from_moments(adata, mean, var, "seurat", n_top)


#: stored values whose ``expm1`` is taken at a time in the seurat HVG statistics
_EXPM1_BLOCK = 1 << 22


class SlotMoments:
    """Per-gene sums and sums of squares of a CSR matrix's values, added block of rows by block, exactly as
    scanpy's ``sparse_mean_var_minor_axis`` sums them (one row of partial sums per numba thread, rows
    dealt round-robin); :meth:`mean_var` then gives what scanpy's ``_get_mean_var`` returns."""

    def __init__(self, n_genes: int):
        import numba

        slots = numba.get_num_threads()
        self.sums = np.zeros((slots, n_genes), dtype=np.float64)
        self.squares = np.zeros((slots, n_genes), dtype=np.float64)

    def add(self, block: sparse.csr_matrix, first_row: int, values: np.ndarray) -> None:
        """Rows ``first_row ...`` of the matrix, with ``values`` in place of ``block.data``."""
        kernels.slot_moments_into(block.indptr, block.indices, values, first_row, self.sums, self.squares)

    def mean_var(self, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        mean = self.sums.sum(axis=0) / n_rows
        var = self.squares.sum(axis=0) / n_rows - mean**2
        if n_rows != 1:
            var *= n_rows / (n_rows - 1)  # scanpy's unbiased estimator
        return mean, var


def hvg_from_moments(adata: ad.AnnData, mean: np.ndarray, var: np.ndarray, flavor: str, n_top: int) -> None:
    """``var['highly_variable']``, ``means``, ``dispersions``, ``dispersions_norm`` and ``uns['hvg']`` from the
    per-gene mean and unbiased variance scanpy's ``_get_mean_var`` gives (of ``expm1(X)`` for ``seurat``,
    of ``X`` for ``cell_ranger``): scanpy's own binning, per-bin statistics and cut-off, in its order.

    ``mean`` and ``var`` are changed in place. The out-of-core path (:mod:`genoprep.scrna.ooc`)
    accumulates them chunk by chunk and calls this on a var-only AnnData.
    """
    mean[mean == 0] = 1e-12
    dispersion = var / mean
    if flavor == "seurat":
        dispersion[dispersion == 0] = np.nan
        dispersion = np.log(dispersion)
        mean = np.log1p(mean)
    frame = pd.DataFrame({"means": mean, "dispersions": dispersion})
    frame["mean_bin"] = _mean_bins(frame["means"], flavor, 20)
    stats = _disp_stats(frame, flavor)
    frame["dispersions_norm"] = (frame["dispersions"] - stats["avg"]) / stats["dev"]
    norm = frame["dispersions_norm"].to_numpy()
    cut_off = _nth_highest(norm, min(n_top, adata.n_vars))
    adata.uns["hvg"] = {"flavor": flavor}
    adata.var["highly_variable"] = np.nan_to_num(norm, nan=-np.inf) >= cut_off
    adata.var["means"] = frame["means"].to_numpy()
    adata.var["dispersions"] = frame["dispersions"].to_numpy()
    adata.var["dispersions_norm"] = norm.astype(np.float32, copy=False)


def _mean_bins(means: pd.Series, flavor: str, n_bins: int) -> pd.Series:
    """scanpy's ``_get_mean_bins``: ``n_bins`` equal-width bins of the means (``seurat``), or bins at every
    5th percentile from the 10th (``cell_ranger``)."""
    if flavor == "seurat":
        return pd.cut(means, bins=n_bins)
    return pd.cut(means, bins=np.r_[-np.inf, np.percentile(means, np.arange(10, 105, 5)), np.inf])


def _disp_stats(frame: pd.DataFrame, flavor: str) -> pd.DataFrame:
    """scanpy's ``_get_disp_stats``: per gene, its mean bin's average and deviation of the dispersions.

    ``seurat``: mean and standard deviation per bin, and a bin with one gene gets (avg 0, dev its
    dispersion), as scanpy's ``_postprocess_dispersions_seurat`` sets them; ``cell_ranger`` (median and
    MAD, through statsmodels) is scanpy's own function.
    """
    if flavor != "seurat":
        from scanpy.preprocessing._highly_variable_genes import _get_disp_stats

        return _get_disp_stats(frame, flavor)
    stats = frame.groupby("mean_bin", observed=True)["dispersions"].agg(avg="mean", dev="std")
    one_gene = stats["dev"].isnull()
    stats.loc[one_gene, "dev"] = stats.loc[one_gene, "avg"]
    stats.loc[one_gene, "avg"] = 0
    return stats.loc[frame["mean_bin"]].set_index(frame.index)


def _nth_highest(values: np.ndarray, n: int) -> float:
    """scanpy's ``_nth_highest``: the ``n``-th highest of the non-NaN values (the lowest one when there are
    fewer)."""
    values = np.sort(values[~np.isnan(values)])[::-1]
    return values[min(n, values.size) - 1]


def hvg_block(matrix: sparse.csr_matrix, hvg: np.ndarray) -> sparse.csr_matrix:
    """The highly variable columns of ``matrix`` (a CSR copy of only those values)."""
    position = np.where(hvg, np.cumsum(hvg) - 1, -1).astype(np.int64)
    every_cell = np.ones(matrix.shape[0], dtype=bool)
    indptr, indices, data = kernels.subset(matrix.indptr, matrix.indices, matrix.data, every_cell, position)
    return sparse.csr_matrix((data, indices, indptr), shape=(matrix.shape[0], int(hvg.sum())))


def row_view(matrix: sparse.csr_matrix, start: int, stop: int) -> sparse.csr_matrix:
    """Rows ``[start, stop)`` of a CSR matrix as views of its values and indices (only the row
    pointers are new), not the copy ``matrix[start:stop]`` makes."""
    indptr = matrix.indptr[start : stop + 1]
    first, last = int(indptr[0]), int(indptr[-1])
    return sparse.csr_matrix(
        (matrix.data[first:last], matrix.indices[first:last], indptr - first),
        shape=(indptr.size - 1, matrix.shape[1]),
        copy=False,
    )


def hvg_blocks(matrix: sparse.csr_matrix, hvg: np.ndarray, n_blocks: int = 16) -> list[sparse.csr_matrix]:
    """:func:`hvg_block` cut into about ``n_blocks`` blocks of consecutive rows, so that
    :func:`scale_blocks` can release each one as soon as it is densified."""
    rows = max(1, -(-matrix.shape[0] // n_blocks))
    blocks = []
    for start in range(0, matrix.shape[0], rows):
        blocks.append(hvg_block(row_view(matrix, start, start + rows), hvg))
    return blocks


def scale_blocks(blocks: list[sparse.csr_matrix], max_value: float | None) -> np.ndarray:
    """:func:`scale_block` of the blocks stacked by rows (the same bytes). The list is consumed: each
    block is removed from it once written into the dense matrix, so the sparse copy of the HVG
    columns and the dense matrix are never both whole in memory."""
    n_rows = sum(block.shape[0] for block in blocks)
    n_columns = blocks[0].shape[1]
    dense = np.zeros((n_rows, n_columns), dtype=np.float32)
    every_column = np.arange(n_columns, dtype=np.int64)
    row = 0
    while blocks:
        block = blocks.pop(0)
        stop = row + block.shape[0]
        kernels.dense_columns_into(block.indptr, block.indices, block.data, every_column, dense[row:stop])
        row = stop
        del block
    mean, mean_sq = kernels.column_moments(dense)
    mean, std = scale_statistics(mean, mean_sq, dense.shape[0])
    apply_scaling(dense, mean, std, max_value)
    return dense


def scale_block(block: sparse.csr_matrix, max_value: float | None) -> np.ndarray:
    """Dense float32 cells x HVG matrix, z-scored per gene and clipped at ``max_value``.

    ``sc.pp.scale(zero_center=True, max_value=...)`` on the dense block, step for step and
    in place (the same bytes, tested): scanpy's mean/variance of a dense array makes a
    full-size ``x * x`` temporary, which :func:`kernels.column_moments` avoids, so the block
    is the only large array.
    """
    every_column = np.arange(block.shape[1], dtype=np.int64)
    dense = kernels.dense_columns(block.indptr, block.indices, block.data, every_column, block.shape[1])
    mean, mean_sq = kernels.column_moments(dense)
    mean, std = scale_statistics(mean, mean_sq, dense.shape[0])
    apply_scaling(dense, mean, std, max_value)
    return dense


def scale_statistics(mean: np.ndarray, mean_sq: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene mean and standard deviation (unbiased, 1 where it is 0) from the mean and the mean square
    of ``n`` rows, as ``sc.pp.scale`` computes them."""
    var = mean_sq - mean**2
    if n != 1:
        var *= n / (n - 1)  # scanpy's unbiased estimator
    std = np.sqrt(var)
    std[std == 0] = 1
    return mean, std


def apply_scaling(dense: np.ndarray, mean: np.ndarray, std: np.ndarray, max_value: float | None) -> None:
    """Centre, divide and clip a dense float32 block of rows in place (each row on its own, so a chunk
    of rows gets the bytes the whole block would)."""
    dense -= mean
    np.true_divide(dense, std, out=dense)
    if max_value is not None:  # scanpy's clip(zero_center=True): values beyond +-max_value set to it
        np.clip(dense, -max_value, max_value, out=dense)


def hvg_description(options: HvgOptions, n_hvg: int) -> str:
    """A human-readable record of the feature selection for the completed card."""
    batch = f", batch_key={options.hvg_batch_key}" if options.hvg_batch_key else ""
    return f"scanpy highly_variable_genes flavor={options.hvg_flavor}, n_top_genes={n_hvg}{batch}"
