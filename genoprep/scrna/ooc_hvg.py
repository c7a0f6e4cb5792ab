"""HVG selection out of core for ``seurat_v3``/``seurat_v3_paper`` and for ``hvg_batch_key``, from per-batch
accumulators filled chunk by chunk (:mod:`genoprep.scrna.ooc`).

- ``seurat_v3``: per batch (``np.unique`` of the batch column, one batch without a key) the mean and
  variance of the counts (summed as scanpy's mean/variance kernel sums them: one row of partial
  sums per numba thread, the batch's rows dealt round-robin), the loess fit of scanpy, then a
  second pass over the counts for the clipped sums (summed in the batch's row order, as scanpy's
  ``_sum_and_sum_squares_clipped``), and scanpy's ranking and batch merge;
- ``seurat``/``cell_ranger`` with a batch key: per batch (the column's categories) the moments of
  ``expm1(X)`` or ``X`` and the cells with a value per gene (scanpy's ``filter_genes(min_cells=1)``
  inside each batch), scanpy's single-batch selection on the genes a batch expresses, and its merge.

Every step after the sums is scanpy 1.11's own arithmetic, in its order (tested against the
in-memory path, which calls scanpy, on real data).

The sharded path (:mod:`genoprep.scrna.shard`) fills one :class:`BatchHvg` per shard (started at the
shard's first row, so that every row lands in the slot it takes in one job), writes its
:meth:`~BatchHvg.state` as plain arrays, and merges them in shard order; for ``seurat_v3`` the loess
fit and clip values are computed once from the merged sums, the clipped sums per shard, merged the
same way. The selection is the same :meth:`BatchHvg.select` in both paths.
"""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np
import pandas as pd
from scipy import sparse

from genoprep.scrna.options import COUNT_FLAVORS


@numba.njit(cache=True)
def _batch_moments_into(indptr, indices, data, batch, batch_rows, sums, squares):  # pragma: no cover - compiled
    """:func:`genoprep.scrna.kernels.slot_moments_into` per batch: row ``i`` of the chunk goes to batch
    ``batch[i]``, into the slot of its row number within that batch (``batch_rows`` counts them)."""
    n_slots = sums.shape[1]
    for i in range(indptr.size - 1):
        b = batch[i]
        slot = batch_rows[b] % n_slots
        batch_rows[b] += 1
        for j in range(indptr[i], indptr[i + 1]):
            column = indices[j]
            value = data[j]
            sums[b, slot, column] += value
            squares[b, slot, column] += value * value


@numba.njit(cache=True)
def _batch_expressed_into(indptr, indices, data, batch, expressed):  # pragma: no cover - compiled
    for i in range(indptr.size - 1):
        for j in range(indptr[i], indptr[i + 1]):
            if data[j] > 0:
                expressed[batch[i], indices[j]] += 1


@numba.njit(cache=True)
def _batch_clipped_into(indptr, indices, data, batch, clip, squares, sums):  # pragma: no cover - compiled
    for i in range(indptr.size - 1):
        b = batch[i]
        for j in range(indptr[i], indptr[i + 1]):
            idx = indices[j]
            element = min(np.float64(data[j]), clip[b, idx])
            squares[b, idx] += element**2
            sums[b, idx] += element


def _mean_var(sums: np.ndarray, squares: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`genoprep.scrna.preprocess.SlotMoments.mean_var` of one batch's slots."""
    mean = sums.sum(axis=0) / n
    var = squares.sum(axis=0) / n - mean**2
    if n != 1:
        var *= n / (n - 1)  # scanpy's unbiased estimator
    return mean, var


def _extended(rows: np.ndarray, row: int, n: int, what: str) -> np.ndarray:
    """``rows`` ([first, stop)) after ``n`` more rows from ``row``, which must follow the ones added."""
    if row != rows[1]:
        raise ValueError(f"{what}: rows from {row}, but the rows added so far stop at {int(rows[1])}")
    return np.array([rows[0], row + n], dtype=np.int64)


def _merged_rows(rows: np.ndarray, other: np.ndarray, what: str) -> np.ndarray:
    """The row range after merging ``other`` ([first, stop)), which must follow ``rows``."""
    first, stop = (int(v) for v in other)
    if first != rows[1]:
        raise ValueError(
            f"{what}: the statistics of rows {first}:{stop} do not follow rows {int(rows[0])}:{int(rows[1])}"
        )
    return np.array([rows[0], stop], dtype=np.int64)


def _check_complete(rows: np.ndarray, n_rows: int, what: str) -> None:
    if int(rows[0]) != 0 or int(rows[1]) != n_rows:
        raise ValueError(f"{what} of rows {int(rows[0])}:{int(rows[1])}, not of all {n_rows} rows")


def _add_arrays(mine: Mapping[str, np.ndarray], other: Mapping[str, np.ndarray]) -> None:
    """``mine += other`` array by array (the same shapes and dtypes: integers stay integers); nothing is
    added unless every array matches."""
    for key, value in mine.items():
        if key not in other:
            raise ValueError(f"{key}: missing from the statistics to merge")
        theirs = other[key]
        if theirs.shape != value.shape or theirs.dtype != value.dtype:
            raise ValueError(f"{key}: {theirs.dtype}{theirs.shape} cannot be added to {value.dtype}{value.shape}")
    for key, value in mine.items():
        value += other[key]


def streamed(flavor: str, batch_key: str | None) -> bool:
    """Whether :class:`BatchHvg` (rather than the plain moments of :mod:`genoprep.scrna.ooc`) selects."""
    return flavor in COUNT_FLAVORS or batch_key is not None


def batch_codes(flavor: str, batch_key: str | None, obs: pd.DataFrame) -> tuple[list, np.ndarray]:
    """The batches (labels) and each row's batch (int64 codes) as scanpy's selection sees them: one batch
    without a key; ``np.unique`` of the column for ``seurat_v3``; the column's categories otherwise."""
    if batch_key is None:
        return [0], np.zeros(len(obs), dtype=np.int64)
    column = obs[batch_key]
    if flavor in COUNT_FLAVORS:
        values = column.to_numpy()
        labels = list(np.unique(values))
        return labels, np.searchsorted(np.asarray(labels, dtype=values.dtype), values).astype(np.int64)
    # scanpy's sanitize_anndata makes the column categorical; its categories are the batches
    column = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
    return list(column.cat.categories), column.cat.codes.to_numpy().astype(np.int64)


def _rows_per_batch(batch: np.ndarray, n_batches: int) -> np.ndarray:
    """Rows per batch as the kernels count them (a code of -1, a missing category, indexes the last batch)."""
    return np.bincount(np.where(batch < 0, batch + n_batches, batch), minlength=n_batches).astype(np.int64)


class BatchHvg:
    """Per-batch HVG accumulators for the kept cells ``obs`` (in row order) and ``n_genes`` genes, the
    partial sums in ``slots`` rows (the numba threads by default, as scanpy's kernel).

    The accumulators of a range of rows (a shard: :meth:`start_at` its first row, :meth:`add` its chunks)
    are plain arrays (:meth:`state`, :meth:`clipped_state`) that :meth:`merge` and :meth:`merge_clipped`
    add in row order: integers exactly, floats in float64. Merged, they select with the same code as one
    object fed every row (:meth:`select`); the loess fit and clip values of ``seurat_v3``
    (:meth:`start_clip_pass`) travel between jobs as :meth:`clip_values` / :meth:`use_clip_values`."""

    def __init__(self, flavor: str, batch_key: str | None, obs: pd.DataFrame, n_genes: int, slots: int | None = None):
        labels, batch = batch_codes(flavor, batch_key, obs)
        self._setup(flavor, batch_key, batch, len(labels), n_genes, slots)
        self.labels: list = labels

    @classmethod
    def from_codes(
        cls, flavor: str, batch_key: str | None, batch: np.ndarray, n_batches: int, n_genes: int, slots: int
    ) -> BatchHvg:
        """The accumulators from the rows' batch codes (:func:`batch_codes`) rather than ``obs``."""
        self = cls.__new__(cls)
        self._setup(flavor, batch_key, np.asarray(batch, dtype=np.int64), n_batches, n_genes, slots)
        self.labels = list(range(n_batches))
        return self

    def _setup(
        self, flavor: str, batch_key: str | None, batch: np.ndarray, n_batches: int, n_genes: int, slots: int | None
    ) -> None:
        self.flavor, self.batch_key, self.n_genes = flavor, batch_key, n_genes
        self.counts_flavor = flavor in COUNT_FLAVORS
        self.batch, self.n_batches = batch, n_batches
        slots = numba.get_num_threads() if slots is None else slots
        self.sums = np.zeros((n_batches, slots, n_genes), dtype=np.float64)
        self.squares = np.zeros((n_batches, slots, n_genes), dtype=np.float64)
        self.batch_rows = np.zeros(n_batches, dtype=np.int64)
        self.n_rows = np.bincount(self.batch[self.batch >= 0], minlength=n_batches)
        self.expressed = np.zeros((n_batches, n_genes), dtype=np.int64)
        self.every: tuple[np.ndarray, np.ndarray] | None = None
        self.every_rows = np.zeros(1, dtype=np.int64)
        if self.counts_flavor and batch_key is not None:  # scanpy's means/variances over all cells
            self.every = (np.zeros((slots, n_genes)), np.zeros((slots, n_genes)))
        self.rows = np.zeros(2, dtype=np.int64)  # the rows added: [first, stop)
        self.clip: np.ndarray | None = None
        self.clip_rows = np.zeros(2, dtype=np.int64)
        self.clipped_squares: np.ndarray | None = None
        self.clipped_sums: np.ndarray | None = None
        self.clip_done = False

    @property
    def needs_clip_pass(self) -> bool:
        """``seurat_v3`` still needs its clipped sums (not merged from other jobs yet)."""
        return self.counts_flavor and not self.clip_done

    def start_at(self, row: int) -> None:
        """Start at row ``row`` (a shard's first): each later row goes to the slot it takes when every row
        is added to one object, so the partial sums of consecutive shards add up to the one-job sums."""
        before = self.batch[:row]
        self.batch_rows = _rows_per_batch(before, self.n_batches)
        self.every_rows = np.array([row], dtype=np.int64)
        self.rows = np.array([row, row], dtype=np.int64)
        self.clip_rows = np.array([row, row], dtype=np.int64)

    def add(self, row: int, counts: sparse.csr_matrix, x: sparse.csr_matrix) -> None:
        """Rows ``row ...`` of the kept cells: their counts and their log-normalised values."""
        self.rows = _extended(self.rows, row, counts.shape[0], "add")
        batch = self.batch[row : row + counts.shape[0]]
        if self.counts_flavor:
            _batch_moments_into(
                counts.indptr, counts.indices, counts.data, batch, self.batch_rows, self.sums, self.squares
            )
            if self.every is not None:
                _batch_moments_into(
                    counts.indptr,
                    counts.indices,
                    counts.data,
                    np.zeros(batch.size, dtype=np.int64),
                    self.every_rows,
                    self.every[0][None],
                    self.every[1][None],
                )
            return
        values = np.expm1(x.data) if self.flavor == "seurat" else x.data
        _batch_moments_into(x.indptr, x.indices, values, batch, self.batch_rows, self.sums, self.squares)
        _batch_expressed_into(x.indptr, x.indices, x.data, batch, self.expressed)

    def _mean_var(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        return _mean_var(self.sums[b], self.squares[b], int(self.n_rows[b]))

    def state(self) -> dict[str, np.ndarray]:
        """The first pass's accumulators of the rows added (``rows``: [first, stop))."""
        arrays = {"rows": self.rows, "sums": self.sums, "squares": self.squares, "expressed": self.expressed}
        if self.every is not None:
            arrays |= {"every_sums": self.every[0], "every_squares": self.every[1]}
        return arrays

    def merge(self, state: Mapping[str, np.ndarray]) -> None:
        """Add the :meth:`state` of the rows that follow the ones merged so far."""
        mine = self.state()
        rows = _merged_rows(self.rows, state["rows"], "merge")
        _add_arrays({k: v for k, v in mine.items() if k != "rows"}, state)
        self.rows = rows
        self.batch_rows = _rows_per_batch(self.batch[: self.rows[1]], self.n_batches)
        self.every_rows = self.rows[1:].copy()

    def check_complete(self) -> None:
        """Every row was added (or merged) once, in order."""
        _check_complete(self.rows, self.batch.size, "HVG statistics")
        if self.counts_flavor:
            _check_complete(self.clip_rows, self.batch.size, "clipped HVG statistics")

    def start_clip_pass(self) -> None:
        """The loess fit per batch (scanpy's ``span=0.3``, degree 2) and the clip values of the second pass."""
        from skmisc.loess import loess

        _check_complete(self.rows, self.batch.size, "HVG statistics")
        n_batches = self.n_batches
        clip = np.zeros((n_batches, self.n_genes), dtype=np.float64)
        reg_std_all = np.zeros((n_batches, self.n_genes), dtype=np.float64)
        batch_mean = np.zeros((n_batches, self.n_genes), dtype=np.float64)
        for b in range(n_batches):
            mean, var = self._mean_var(b)
            not_const = var > 0
            estimat_var = np.zeros(self.n_genes, dtype=np.float64)
            model = loess(np.log10(mean[not_const]), np.log10(var[not_const]), span=0.3, degree=2)
            model.fit()
            estimat_var[not_const] = model.outputs.fitted_values
            reg_std = np.sqrt(10**estimat_var)
            clip[b] = reg_std * np.sqrt(self.n_rows[b]) + mean
            reg_std_all[b], batch_mean[b] = reg_std, mean
        self.use_clip_values({"clip": clip, "reg_std": reg_std_all, "batch_mean": batch_mean})

    def clip_values(self) -> dict[str, np.ndarray]:
        """The loess fit's results (:meth:`start_clip_pass`): the clip values, and the regression's standard
        deviation and the batch means that the selection uses."""
        if self.clip is None:
            raise ValueError("the clip values are fitted by start_clip_pass")
        return {"clip": self.clip, "reg_std": self.reg_std, "batch_mean": self.batch_mean}

    def use_clip_values(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Start the clip pass with :meth:`clip_values` fitted elsewhere (by the same code on the same sums)."""
        shape = (self.n_batches, self.n_genes)
        for key in ("clip", "reg_std", "batch_mean"):
            if arrays[key].shape != shape or arrays[key].dtype != np.float64:
                raise ValueError(f"{key}: {arrays[key].dtype}{arrays[key].shape}, not float64{shape}")
        self.clip, self.reg_std, self.batch_mean = (np.asarray(arrays[k]) for k in ("clip", "reg_std", "batch_mean"))
        self.clipped_squares = np.zeros(shape, dtype=np.float64)
        self.clipped_sums = np.zeros(shape, dtype=np.float64)
        self.clip_rows = np.array([self.clip_rows[0]] * 2, dtype=np.int64)

    def add_clipped(self, row: int, counts: sparse.csr_matrix) -> None:
        if self.clip is None or self.clipped_squares is None or self.clipped_sums is None:
            raise ValueError("the clip pass starts with start_clip_pass or use_clip_values")
        self.clip_rows = _extended(self.clip_rows, row, counts.shape[0], "add_clipped")
        batch = self.batch[row : row + counts.shape[0]]
        _batch_clipped_into(
            counts.indptr, counts.indices, counts.data, batch, self.clip, self.clipped_squares, self.clipped_sums
        )

    def clipped_state(self) -> dict[str, np.ndarray]:
        """The clip pass's sums of the rows added (``clip_rows``: [first, stop))."""
        if self.clipped_squares is None or self.clipped_sums is None:
            raise ValueError("no clip pass was started")
        return {"clip_rows": self.clip_rows, "clipped_sums": self.clipped_sums, "clipped_squares": self.clipped_squares}

    def merge_clipped(self, state: Mapping[str, np.ndarray]) -> None:
        """Add the :meth:`clipped_state` of the rows that follow the ones merged so far (after
        :meth:`use_clip_values`); when the last rows are in, the selection needs no clip pass here."""
        mine = self.clipped_state()
        rows = _merged_rows(self.clip_rows, state["clip_rows"], "merge_clipped")
        _add_arrays({k: v for k, v in mine.items() if k != "clip_rows"}, state)
        self.clip_rows = rows
        self.clip_done = bool(self.clip_rows[1] == self.batch.size)

    def select(self, var: pd.DataFrame, n_top: int) -> dict:
        """Set ``var``'s HVG columns as the in-memory path does; return ``uns['hvg']``. The one selection of
        the out-of-core and the sharded paths: after every row was added, or every range's state merged."""
        self.check_complete()
        if self.counts_flavor:
            self._seurat_v3(var, n_top)
        else:
            self._batched(var, n_top)
        return {"flavor": self.flavor}

    def _seurat_v3(self, var: pd.DataFrame, n_top_genes: int) -> None:
        df = pd.DataFrame(index=var.index)
        if self.every is None:
            df["means"], df["variances"] = self._mean_var(0)
        else:
            df["means"], df["variances"] = _mean_var(*self.every, int(self.n_rows.sum()))
        norm_gene_vars = []
        for b in range(self.n_batches):
            n_obs, mean, reg_std = int(self.n_rows[b]), self.batch_mean[b], self.reg_std[b]
            norm_gene_var = (1 / ((n_obs - 1) * np.square(reg_std))) * (
                (n_obs * np.square(mean)) + self.clipped_squares[b] - 2 * self.clipped_sums[b] * mean
            )
            norm_gene_vars.append(norm_gene_var.reshape(1, -1))
        norm_gene_vars = np.concatenate(norm_gene_vars, axis=0)
        ranked_norm_gene_vars = np.argsort(np.argsort(-norm_gene_vars, axis=1), axis=1)
        ranked_norm_gene_vars = ranked_norm_gene_vars.astype(np.float32)
        num_batches_high_var = np.sum((ranked_norm_gene_vars < n_top_genes).astype(int), axis=0)
        ranked_norm_gene_vars[ranked_norm_gene_vars >= n_top_genes] = np.nan
        ma_ranked = np.ma.masked_invalid(ranked_norm_gene_vars)
        median_ranked = np.ma.median(ma_ranked, axis=0).filled(np.nan)
        df["gene_name"] = df.index
        df["highly_variable_nbatches"] = num_batches_high_var
        df["highly_variable_rank"] = median_ranked
        df["variances_norm"] = np.mean(norm_gene_vars, axis=0)
        if self.flavor == "seurat_v3":
            sort_cols, sort_ascending = ["highly_variable_rank", "highly_variable_nbatches"], [True, False]
        else:
            sort_cols, sort_ascending = ["highly_variable_nbatches", "highly_variable_rank"], [False, True]
        sorted_index = df[sort_cols].sort_values(sort_cols, ascending=sort_ascending, na_position="last").index
        df["highly_variable"] = False
        df.loc[sorted_index[: int(n_top_genes)], "highly_variable"] = True
        var["highly_variable"] = df["highly_variable"].to_numpy()
        var["highly_variable_rank"] = df["highly_variable_rank"].to_numpy()
        var["means"] = df["means"].to_numpy()
        var["variances"] = df["variances"].to_numpy()
        var["variances_norm"] = df["variances_norm"].to_numpy().astype("float64", copy=False)
        if self.batch_key is not None:
            var["highly_variable_nbatches"] = df["highly_variable_nbatches"].to_numpy()

    def _single_batch(self, b: int, var_names: pd.Index, n_top: int) -> pd.DataFrame:
        from scanpy.preprocessing._highly_variable_genes import _get_disp_stats, _get_mean_bins, _nth_highest

        filt = self.expressed[b] >= 1
        mean, var = self._mean_var(b)
        mean, var = mean[filt], var[filt]
        mean[mean == 0] = 1e-12
        dispersion = var / mean
        if self.flavor == "seurat":
            dispersion[dispersion == 0] = np.nan
            dispersion = np.log(dispersion)
            mean = np.log1p(mean)
        df = pd.DataFrame(dict(zip(["means", "dispersions"], (mean, dispersion), strict=True)))
        df["mean_bin"] = _get_mean_bins(df["means"], self.flavor, 20)
        disp_stats = _get_disp_stats(df, self.flavor)
        df["dispersions_norm"] = (df["dispersions"] - disp_stats["avg"]) / disp_stats["dev"]
        norm = df["dispersions_norm"].to_numpy()
        cut_off = _nth_highest(norm, min(n_top, int(filt.sum())))
        df["highly_variable"] = np.nan_to_num(norm, nan=-np.inf) >= cut_off
        df.index = var_names[filt]
        n_removed = int((~filt).sum())
        if n_removed > 0:
            missing_hvg = pd.DataFrame(np.zeros((n_removed, len(df.columns))), columns=df.columns)
            missing_hvg["highly_variable"] = missing_hvg["highly_variable"].astype(bool)
            missing_hvg.index = var_names[~filt]
            df = pd.concat([df, missing_hvg]).loc[var_names]
        return df

    def _batched(self, var: pd.DataFrame, cutoff: int) -> None:
        df = pd.concat([self._single_batch(b, var.index, cutoff) for b in range(self.n_batches)], axis=0)
        df["highly_variable"] = df["highly_variable"].astype(int)
        df = df.groupby(df.index, observed=True).agg(
            dict(means="mean", dispersions="mean", dispersions_norm="mean", highly_variable="sum")
        )
        df["highly_variable_nbatches"] = df["highly_variable"]
        df["highly_variable_intersection"] = df["highly_variable_nbatches"] == self.n_batches
        df_orig_ind = var.index.copy()
        df.sort_values(
            ["highly_variable_nbatches", "dispersions_norm"], ascending=False, na_position="last", inplace=True
        )
        df["highly_variable"] = np.arange(df.shape[0]) < cutoff
        df = df.loc[df_orig_ind]
        var["highly_variable"] = df["highly_variable"]
        var["means"] = df["means"]
        var["dispersions"] = df["dispersions"]
        var["dispersions_norm"] = df["dispersions_norm"].astype(np.float32, copy=False)
        var["highly_variable_nbatches"] = df["highly_variable_nbatches"]
        var["highly_variable_intersection"] = df["highly_variable_intersection"]
