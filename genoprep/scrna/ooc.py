"""The scRNA-seq chain out of core: chunks of cells streamed from the input, never the whole matrix.

:func:`genoprep.scrna.chain.process` takes this path when the in-memory chain would need more
than ``params.memory_budget_mb`` (:func:`genoprep.scrna.resources.plan`). The input is read
backed, ``params.chunk_cells`` rows at a time (h5ad with ``X``, a layer or ``.raw.X`` stored as
CSR or dense; 10x folders, CSV/TSV and loom are first converted, streaming, into a CSR h5ad in the
work folder by :mod:`genoprep.scrna.convert`), in four passes (``seurat_v3`` adds one over the
counts for its clipped sums, and ``params.split`` one for the identical-cells keys):

1. QC metrics per cell over all genes, the value checks, and the cells per gene over the cells
   that pass ``min_genes``;
2. QC metrics per cell over the genes ``min_cells`` keeps (``max_genes``, ``max_pct_mito``);
   the filters are decided exactly as in memory (:func:`genoprep.scrna.qc.decide_from_metrics`);
3. over the kept cells and genes: the final per-gene QC metrics, ``normalize_total`` + ``log1p``,
   the per-gene sums HVG selection needs (of ``expm1(X)`` for ``seurat``, of ``X`` for
   ``cell_ranger``; summed as scanpy's mean/variance kernel sums them), the sums for the scaling
   mean and standard deviation (over the ``fit`` rows), and ``X`` and ``layers['counts']`` of
   ``processed.h5ad`` appended chunk by chunk (anndata's ``write_elem`` and ``sparse_dataset(...).append``);
   then HVG selection from the sums (:func:`genoprep.scrna.preprocess.hvg_from_moments`) and the
   rest of ``processed.h5ad`` (``obs``, ``var``, ``uns``);
4. the scaled HVG block of each chunk (read back from ``processed.h5ad``'s ``X``), into ``X.npy``
   through a memory map of just that chunk's rows.

HVG selection with ``seurat_v3`` or a batch key uses :mod:`genoprep.scrna.ooc_hvg`; with splits the
assignment is :func:`genoprep.scrna.splitting.assign_cells` over the kept counts chunk by chunk, and
HVGs and scaling are fitted on the train rows.

Every value is computed with the in-memory path's operations in the same order and precision,
so the results are the same (tested on the real data with 50-cell chunks). Memory: the chunk,
a few arrays per cell (QC metrics) and per gene, and the per-cell tables.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

import anndata as ad
import h5py
import numpy as np
import pandas as pd
from anndata.io import read_elem, sparse_dataset, write_elem
from scipy import sparse

from genoprep import filters, runtime
from genoprep.errors import InputError
from genoprep.jsonio import write_json
from genoprep.scrna import convert, io, kernels, ooc_hvg, preprocess, qc, resources, splitting, steps
from genoprep.scrna.export import add_embeddings, obs_table
from genoprep.scrna.options import COUNT_FLAVORS, HvgOptions, IngestOptions, NormalizeOptions
from genoprep.tasks.train_only import Scaler, scale_in_place

if TYPE_CHECKING:
    from genoprep.scrna.chain import ChainOptions, Job, Outputs, StepTable

log = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]


def unsupported(path: StrPath, ingest: IngestOptions, hvg: HvgOptions) -> str | None:
    """Why the streaming path cannot take this input (``None`` when it can)."""
    return resources.unsupported(path, ingest.format, ingest.layer, hvg.hvg_flavor, hvg.hvg_batch_key)


def streaming_chunk(data_path: StrPath, options: ChainOptions) -> int | None:
    """Cells per chunk when the chain must stream this input (its in-memory estimate exceeds the memory
    budget and the streaming path can read it), else ``None`` (the in-memory path)."""
    memory = options.memory
    size = resources.input_size(data_path, options.ingest.format, options.ingest.layer)
    budget = resources.budget_mb(memory.memory_budget_mb if memory is not None else None)
    if resources.plan(size, budget, streamable=True) == resources.IN_MEMORY:
        return None
    reason = unsupported(data_path, options.ingest, options.hvg)
    if reason is not None:
        log.warning(
            "the in-memory chain needs about %d MiB, over the %d MiB budget, but the out-of-core path cannot "
            "take %s: running in memory",
            resources.mem_mb(size, 1),
            budget,
            reason,
        )
        return None
    return resources.chunk_cells(size, budget, memory.chunk_cells if memory is not None else None)


class RowReader:
    """Rows ``start:stop`` of a stored h5ad matrix as canonical float32 CSR (the in-memory reader's
    conversion, row by row); a CSR group's row pointers are read once."""

    def __init__(self, element: h5py.Group | h5py.Dataset, n_genes: int):
        self.element = element
        self.n_genes = n_genes
        if isinstance(element, h5py.Dataset):
            self.indptr = None
            self.n_cells = int(element.shape[0])
        else:
            self.indptr = element["indptr"][...].astype(np.int64)
            self.n_cells = self.indptr.size - 1

    def rows(self, start: int, stop: int) -> sparse.csr_matrix:
        if self.indptr is None:
            return io.as_float32_csr(np.asarray(self.element[start:stop], dtype=np.float32))
        first, last = int(self.indptr[start]), int(self.indptr[stop])
        data = self.element["data"][first:last]
        indices = self.element["indices"][first:last]
        indptr = self.indptr[start : stop + 1] - first
        if last - first < np.iinfo(np.int32).max and indices.dtype == np.int32:
            indptr = indptr.astype(np.int32)  # int64 pointers would make scipy copy the indices to int64
        matrix = sparse.csr_matrix(
            (data.astype(np.float32, copy=False), indices, indptr),
            shape=(stop - start, self.n_genes),
            copy=False,
        )
        return io.as_float32_csr(matrix)

    def chunks(self, size: int, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, sparse.csr_matrix]]:
        """Rows ``start:stop`` (all by default), ``size`` at a time, each with its first row's index."""
        stop = self.n_cells if stop is None else stop
        for first in range(start, stop, size):
            yield first, self.rows(first, min(first + size, stop))


def read_header(handle: h5py.File, path: StrPath, layer: str | None) -> tuple[ad.AnnData, RowReader]:
    """``obs`` and ``var`` as an AnnData without a matrix, and the reader of the matrix's rows."""
    key, var_key = resources.matrix_keys(layer)
    if key not in handle:
        what = "no X matrix" if layer is None else f"no {key}"
        raise InputError(str(path), f"the h5ad file has {what}")
    try:
        obs = read_elem(handle["obs"])
        var = read_elem(handle[var_key])
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise InputError(str(path), f"cannot read h5ad: {' '.join(str(err).split())[:200]}") from None
    reader = RowReader(handle[key], len(var))
    element = handle[key]
    shape = element.shape if isinstance(element, h5py.Dataset) else tuple(int(v) for v in element.attrs["shape"])
    if tuple(shape) != (len(obs), len(var)) or reader.n_cells != len(obs):
        raise InputError(
            str(path), f"the matrix is {shape[0]} x {shape[1]}, but obs has {len(obs)} rows and var {len(var)}"
        )
    adata = ad.AnnData(obs=obs, var=var)
    io.check_names(adata, path)
    return adata, reader


class _ValueCheck:
    """The first offending value over all chunks (:func:`io.check_values` on each), with the in-memory
    check's priority: a value that is not finite at once; else the first negative one; else the
    first fraction (for counts)."""

    def __init__(self, source: str, value_type: str, obs_names: pd.Index, var_names: pd.Index):
        self.source, self.value_type = source, value_type
        self.obs_names, self.var = obs_names, pd.DataFrame(index=var_names)
        self.found: tuple[int, InputError] | None = None

    def check(self, start: int, chunk: sparse.csr_matrix) -> None:
        rows = pd.DataFrame(index=self.obs_names[start : start + chunk.shape[0]])
        try:
            io.check_values(ad.AnnData(X=chunk, obs=rows, var=self.var), self.source, self.value_type)
        except InputError as error:
            rank = 0 if "finite" in error.problem else 1 if "negative" in error.problem else 2
            if rank == 0:
                raise
            if self.found is None or rank < self.found[0]:
                self.found = (rank, error)

    def raise_found(self) -> None:
        if self.found is not None:
            raise self.found[1]


def process(
    job: Job,
    options: ChainOptions,
    table: StepTable,
    chunk_cells: int,
    fit_rows: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> None:
    """Run the chain out of core and write every output of :func:`genoprep.scrna.chain.process`.

    ``fit_rows`` gives, from the kept cells' ``obs``, the boolean mask of the rows whose mean and
    standard deviation scale ``X.npy`` (e.g. the training split); all kept cells by default.
    """
    data_path, metadata_path, outputs = job.data, job.metadata, job.outputs
    start = time.perf_counter()
    table_meta = steps.check_header(data_path, options.ingest, metadata_path)
    fmt, layer = options.ingest.format, options.ingest.layer
    stream_path: StrPath = data_path
    if fmt != "h5ad":  # converted once, streaming, into a CSR h5ad in the work folder
        stream_path = os.path.join(os.path.dirname(os.path.abspath(outputs.facts)), "input.h5ad")
        convert.to_h5ad(data_path, fmt, stream_path, orientation=options.ingest.orientation, layer=layer)
        layer = None
    try:
        _process(job, options, table, chunk_cells, fit_rows, stream_path, layer, table_meta, start)
    finally:
        if stream_path != data_path:
            os.unlink(stream_path)


def _process(
    job: Job,
    options: ChainOptions,
    table: StepTable,
    chunk_cells: int,
    fit_rows: Callable[[pd.DataFrame], np.ndarray] | None,
    stream_path: StrPath,
    layer: str | None,
    table_meta: pd.DataFrame | None,
    start: float,
) -> None:
    from genoprep.scrna.chain import write_qc_diagnostics

    data_path, metadata_path, mito_gene_lists = job.data, job.metadata, job.mito_gene_lists
    dataset, outputs = job.dataset, job.outputs
    source = str(data_path)
    textio_check(stream_path)
    try:
        handle = h5py.File(stream_path, "r")
    except OSError as err:
        raise io._h5_error(data_path, "h5ad", err) from None
    with handle:
        header, reader = read_header(handle, data_path, layer)
        steps.annotate_ingested(header, table_meta, options.ingest, dataset, source, metadata_path)
        n_cells, n_genes = header.shape
        table.add("ingest", (0, 0), header.shape, start)
        log.info("out of core: %d cells x %d genes in chunks of %d cells", n_cells, n_genes, chunk_cells)

        # pass 1: metrics over all genes, value checks, cells per gene over the cells min_genes keeps
        start = time.perf_counter()
        known = set(options.qc.mito_genes)
        for path in mito_gene_lists:
            known |= qc.read_gene_list(path)
        header.var["mt"] = qc.flag_mito(header.var, header.var_names, options.qc.mito_prefixes, known)
        mito_mask = header.var["mt"].to_numpy(dtype=bool)
        values = _ValueCheck(source, options.ingest.value_type, header.obs_names, header.var_names)
        (genes0, total0, mito0), cells_per_gene = cell_metrics(
            reader, 0, n_cells, chunk_cells, mito_mask, options.qc.min_genes, values
        )
        values.raise_found()

        def cells_per_gene_of(keep: np.ndarray) -> np.ndarray:
            if not np.array_equal(keep, genes0 >= options.qc.min_genes):
                raise AssertionError("the min_genes filter is decided on the metrics of pass 1")
            return cells_per_gene

        kept_metrics: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

        def kept_metrics_of(gene_kept: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            # pass 2: metrics over the genes min_cells keeps
            kept_metrics["cells"] = kept_cell_metrics(reader, 0, n_cells, chunk_cells, gene_kept, mito_mask)
            return kept_metrics["cells"]

        decision = qc.decide_from_metrics(
            header.obs_names,
            n_genes,
            mito_mask,
            options.qc,
            (genes0, total0, mito0),
            cells_per_gene_of,
            kept_metrics_of,
        )
        info = header.uns["genoprep"]
        decision.report = {
            "dataset_id": info["dataset_id"],
            **decision.report,
            "metadata_rows_unmatched": info["metadata_rows_unmatched"],
        }
        runtime.console(filters.summary_line(dataset, decision.steps))
        try:
            filters.guard(source, decision.steps, "cells", options.qc.min_fraction_kept)
            qc.check_left(decision, source)
        except InputError as err:
            written = write_qc_diagnostics(decision.cells, options.qc, dataset, outputs.logs)
            raise InputError(
                err.source, f"{err.problem} (per-cell QC table and figure: {', '.join(written)})", record=err.record
            ) from None
        keep, gene_kept = decision.cell_kept, decision.gene_kept
        kept_rows, kept_genes = np.flatnonzero(keep), np.flatnonzero(gene_kept)
        shell = ad.AnnData(obs=header.obs.iloc[kept_rows].copy(), var=header.var.iloc[kept_genes].copy())
        shell.uns["genoprep"] = dict(info)
        genes1, total1, mito1 = kept_metrics.pop("cells")
        qc.store_cell_metrics(shell.obs, genes1[keep], total1[keep], mito1[keep])
        del genes1, total1, mito1
        report = {**decision.report, "after": qc.summary(shell.obs, shell.n_vars)}
        report = {**report, "metadata_rows_unmatched": report.pop("metadata_rows_unmatched")}
        n_kept, n_vars = shell.shape
        new_column = np.where(gene_kept, np.cumsum(gene_kept) - 1, -1).astype(np.int64)

        def kept_chunks(normalized: bool = True) -> Iterator[tuple[int, sparse.csr_matrix, sparse.csr_matrix]]:
            normalize = options.normalize if normalized else None
            return normalized_chunks(reader, 0, n_cells, chunk_cells, keep, new_column, normalize, 0)

        split = None
        if options.split.enabled:  # as the in-memory chain: per cell, from obs and the kept counts' row keys
            counts_blocks = (counts for _row, counts, _x in kept_chunks(False))
            split = splitting.assign_cells(shell.obs, options.split, options.leakage.policy, source, counts_blocks)
            report = splitting.record_split(shell, split, options.split, dataset, report)
        write_json(report, outputs.qc)
        decision.cells.to_csv(outputs.cells, sep="\t", index=False, lineterminator="\n")
        table.add("qc", header.shape, shell.shape, start)
        del decision

        # pass 3: final gene metrics, normalize + log1p, HVG and scaling sums, X and counts of processed.h5ad
        start = time.perf_counter()
        if split is not None:
            fit = split.train
        elif fit_rows is None:
            fit = np.ones(n_kept, dtype=bool)
        else:
            fit = np.asarray(fit_rows(shell.obs), dtype=bool)
        if fit.shape != (n_kept,) or not fit.any():
            raise ValueError(f"the fit mask must hold {n_kept} booleans, at least one True")
        hvg_fit = split.train if split is not None and options.train_only.hvg_on_train else None
        sums = GeneSums(n_vars, hvg_fit=hvg_fit, batch_hvg=batch_statistics(shell.obs, hvg_fit, n_vars, options))

        with h5py.File(outputs.processed, "w") as out:
            write_elem(out, "layers", {})
            for row, counts, x in kept_chunks():
                sums.add(row, counts, x, fit[row : row + x.shape[0]], options.hvg.hvg_flavor)
                append_rows(out, row == 0, counts, x, options.normalize)
            table.add("normalize", (n_kept, n_vars), (n_kept, n_vars), start)

            start = time.perf_counter()
            mean, std = select_hvg(shell, sums, n_kept, int(fit.sum()), options, lambda: kept_chunks(False))
            n_hvg = int(shell.var["highly_variable"].sum())
            write_annotations(out, shell)
        table.add("hvg", (n_kept, n_vars), (n_kept, n_hvg), start)

        # pass 4: the scaled HVG block, chunk by chunk, into X.npy
        start = time.perf_counter()
        hvg = shell.var["highly_variable"].to_numpy(dtype=bool)
        position = np.where(hvg, np.cumsum(hvg) - 1, -1).astype(np.int64)
        with h5py.File(outputs.processed, "r") as written:  # X as pass 3 wrote it: no second subset + normalize
            normalized = RowReader(written["X"], n_vars)
            chunks = ((row, x, x) for row, x in normalized.chunks(chunk_cells))
            max_value = options.scale.scale_max_value
            write_scaled(outputs.x, chunks, position, n_kept, n_hvg, mean, std, max_value, split is not None)
        features = write_tables(shell, outputs, options, split)
        table.add("scale", (n_kept, n_vars), (n_kept, n_hvg), start)

        # obsm X_pca/X_umap and layers scaled, read from X.npy through a memory map (PCA in blocks of rows)
        start = time.perf_counter()
        add_embeddings(outputs.processed, np.load(outputs.x, mmap_mode="r"), features, options.embed)
        table.add("embed", (n_kept, n_hvg), (n_kept, n_hvg), start)


def cell_metrics(
    reader: RowReader,
    start: int,
    stop: int,
    chunk_cells: int,
    mito_mask: np.ndarray,
    min_genes: int,
    values: _ValueCheck | None,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Pass 1 over rows ``start:stop``: per cell, genes detected, total and mito total over all genes;
    per gene, the cells (of these rows) that pass ``min_genes`` and detect it (int64: shards sum exactly).
    ``values`` checks each chunk's values."""
    n_rows, n_genes = stop - start, reader.n_genes
    every_gene = np.ones(n_genes, dtype=bool)
    genes = np.zeros(n_rows, dtype=np.int64)
    total = np.zeros(n_rows, dtype=np.float64)
    mito = np.zeros(n_rows, dtype=np.float64)
    cells_per_gene = np.zeros(n_genes, dtype=np.int64)
    for first, chunk in reader.chunks(chunk_cells, start, stop):
        if values is not None:
            values.check(first, chunk)
        rows = slice(first - start, first - start + chunk.shape[0])
        genes[rows], total[rows], mito[rows] = kernels.row_metrics(
            chunk.indptr, chunk.indices, chunk.data, every_gene, mito_mask
        )
        passed = genes[rows] >= min_genes
        cells_per_gene += kernels.column_metrics(chunk.indptr, chunk.indices, chunk.data, passed, n_genes)[0]
    return (genes, total, mito), cells_per_gene


def kept_cell_metrics(
    reader: RowReader, start: int, stop: int, chunk_cells: int, gene_kept: np.ndarray, mito_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pass 2 over rows ``start:stop``: per cell, the metrics over the genes ``min_cells`` keeps."""
    n_rows = stop - start
    genes = np.zeros(n_rows, dtype=np.int64)
    total = np.zeros(n_rows, dtype=np.float64)
    mito = np.zeros(n_rows, dtype=np.float64)
    for first, chunk in reader.chunks(chunk_cells, start, stop):
        rows = slice(first - start, first - start + chunk.shape[0])
        genes[rows], total[rows], mito[rows] = kernels.row_metrics(
            chunk.indptr, chunk.indices, chunk.data, gene_kept, mito_mask
        )
    return genes, total, mito


def normalized_chunks(
    reader: RowReader,
    start: int,
    stop: int,
    chunk_cells: int,
    keep: np.ndarray,
    new_column: np.ndarray,
    normalize: NormalizeOptions | None,
    first_row: int,
) -> Iterator[tuple[int, sparse.csr_matrix, sparse.csr_matrix]]:
    """The kept cells of rows ``start:stop`` (``keep`` over all rows) and the kept genes (``new_column``,
    -1 for a removed gene), a chunk at a time: (kept row index, counts, normalised + log1p values; the
    counts themselves for values that are not counts or when ``normalize`` is ``None``);
    ``first_row`` is the kept row index of the first kept cell at or after ``start``."""
    n_vars = int((new_column >= 0).sum())
    counts_type = normalize is not None and normalize.value_type == "counts"
    row = first_row
    for first, chunk in reader.chunks(chunk_cells, start, stop):
        rows = keep[first : first + chunk.shape[0]]
        n_rows = int(rows.sum())
        if n_rows == 0:
            continue
        indptr, indices, data = kernels.subset(chunk.indptr, chunk.indices, chunk.data, rows, new_column)
        del chunk
        counts = sparse.csr_matrix((data, indices, indptr), shape=(n_rows, n_vars), copy=False)
        x = preprocess.normalize_log1p(counts, normalize.target_sum) if counts_type else counts
        yield row, counts, x
        row += n_rows


def batch_hvg_obs(obs: pd.DataFrame, hvg_fit: np.ndarray | None, options: ChainOptions) -> pd.DataFrame | None:
    """The rows of the kept cells' ``obs`` that per-batch HVG statistics see (the ``hvg_fit`` rows only when
    given), when the flavor (``seurat_v3``) or ``hvg_batch_key`` needs them (:mod:`genoprep.scrna.ooc_hvg`);
    ``None`` otherwise. The out-of-core and the sharded paths both ask here."""
    flavor = options.hvg.hvg_flavor
    if not ooc_hvg.streamed(flavor, options.hvg.hvg_batch_key):
        return None
    if flavor in COUNT_FLAVORS and options.normalize.value_type != "counts":
        raise ValueError(f"hvg flavor {flavor} needs raw counts, and this dataset has none")
    return obs if hvg_fit is None else obs.iloc[np.flatnonzero(hvg_fit)]


def batch_statistics(
    obs: pd.DataFrame, hvg_fit: np.ndarray | None, n_vars: int, options: ChainOptions
) -> ooc_hvg.BatchHvg | None:
    """The per-batch HVG accumulators over :func:`batch_hvg_obs` (``None`` when none are needed)."""
    hvg_obs = batch_hvg_obs(obs, hvg_fit, options)
    if hvg_obs is None:
        return None
    return ooc_hvg.BatchHvg(options.hvg.hvg_flavor, options.hvg.hvg_batch_key, hvg_obs, n_vars)


class GeneSums:
    """Pass 3's per-gene statistics over kept cells: cells detecting each gene (int64), its total count,
    the HVG statistics and the scaling sums over the ``fit`` rows. :meth:`merge` adds another row range's
    (a shard's) sums.

    The HVG statistics are the sums of :class:`preprocess.SlotMoments` (``slots`` rows; the numba threads
    by default), or ``batch_hvg``'s per-batch accumulators (``seurat_v3``, ``hvg_batch_key``); they see
    the ``hvg_fit`` rows of the kept cells only (e.g. the train split), all by default."""

    def __init__(
        self,
        n_vars: int,
        slots: int | None = None,
        hvg_fit: np.ndarray | None = None,
        batch_hvg: ooc_hvg.BatchHvg | None = None,
    ):
        self.cells_with = np.zeros(n_vars, dtype=np.int64)
        self.gene_total = np.zeros(n_vars, dtype=np.float64)
        self.moments = preprocess.SlotMoments(n_vars)
        if slots is not None:
            self.moments.sums = np.zeros((slots, n_vars), dtype=np.float64)
            self.moments.squares = np.zeros((slots, n_vars), dtype=np.float64)
        self.scale_total = np.zeros(n_vars, dtype=np.float64)
        self.scale_squares = np.zeros(n_vars, dtype=np.float64)
        self.hvg_fit, self.batch_hvg = hvg_fit, batch_hvg
        if hvg_fit is not None:
            if hvg_fit.sum() < 2:
                raise ValueError(f"{int(hvg_fit.sum())} train cell(s): too few to select highly variable genes")
            self.hvg_before = np.cumsum(hvg_fit) - hvg_fit  # a kept row's index among the hvg_fit rows

    @property
    def n_hvg_rows(self) -> int | None:
        """The rows HVG selection sees (``None``: every kept row)."""
        return None if self.hvg_fit is None else int(self.hvg_fit.sum())

    def hvg_rows(
        self, chunks: Iterable[tuple[int, sparse.csr_matrix, sparse.csr_matrix]]
    ) -> Iterator[tuple[int, sparse.csr_matrix, sparse.csr_matrix]]:
        """The chunks' rows HVG selection sees, numbered among those rows."""
        for row, counts, x in chunks:
            if self.hvg_fit is None:
                yield row, counts, x
                continue
            rows = self.hvg_fit[row : row + counts.shape[0]]
            if rows.any():
                hvg_counts = counts[rows]
                yield int(self.hvg_before[row]), hvg_counts, (hvg_counts if x is counts else x[rows])

    def add(self, row: int, counts: sparse.csr_matrix, x: sparse.csr_matrix, fit: np.ndarray, flavor: str) -> None:
        """A chunk of kept rows starting at kept row ``row`` (``fit``: its rows' fit mask)."""
        kernels.column_metrics_into(counts.indptr, counts.indices, counts.data, self.cells_with, self.gene_total)
        for hvg_row, hvg_counts, hvg_x in self.hvg_rows([(row, counts, x)]):
            if self.batch_hvg is None:
                values = np.expm1(hvg_x.data) if flavor == "seurat" else hvg_x.data
                self.moments.add(hvg_x, hvg_row, values)
                del values
            else:
                self.batch_hvg.add(hvg_row, hvg_counts, hvg_x)
        kernels.masked_moments_into(x.indptr, x.indices, x.data, fit, self.scale_total, self.scale_squares)

    def arrays(self) -> dict[str, np.ndarray]:
        if self.batch_hvg is not None:
            raise ValueError("per-batch HVG statistics do not merge across shards")
        return {
            "cells_with": self.cells_with,
            "gene_total": self.gene_total,
            "hvg_sums": self.moments.sums,
            "hvg_squares": self.moments.squares,
            "scale_total": self.scale_total,
            "scale_squares": self.scale_squares,
        }

    def merge(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Add another range's :meth:`arrays` (integers as integers, floats in float64)."""
        mine = self.arrays()
        for key, value in mine.items():
            other = arrays[key]
            if other.shape != value.shape or other.dtype != value.dtype:
                raise ValueError(f"{key}: {other.dtype}{other.shape} cannot be added to {value.dtype}{value.shape}")
            value += other


def select_hvg(
    shell: ad.AnnData,
    sums: GeneSums,
    n_kept: int,
    n_fit: int,
    options: ChainOptions,
    counts_chunks: Callable[[], Iterable[tuple[int, sparse.csr_matrix, sparse.csr_matrix]]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """From the summed statistics: the final gene metrics, the HVGs and provenance into ``shell`` (``var``
    and ``uns``); returns the scaling mean and standard deviation of the HVG columns. ``counts_chunks``
    gives the kept rows' counts again for ``seurat_v3``'s clipped sums (a pass over the counts)."""
    n_vars = shell.n_vars
    qc.store_gene_metrics(shell.var, n_kept, sums.cells_with, sums.gene_total)
    if options.normalize.value_type == "counts":
        shell.uns["log1p"] = {"base": None}
    n_top = preprocess.effective_n_top_genes(options.hvg.n_top_genes, n_vars)
    batch_hvg = sums.batch_hvg
    if batch_hvg is None:
        mean, var = sums.moments.mean_var(n_kept if sums.n_hvg_rows is None else sums.n_hvg_rows)
        preprocess.hvg_from_moments(shell, mean, var, options.hvg.hvg_flavor, n_top)
    else:
        if batch_hvg.needs_clip_pass:  # seurat_v3: the clipped count sums need the fitted clip values
            if counts_chunks is None:
                raise ValueError(f"hvg flavor {options.hvg.hvg_flavor} needs a second pass over the counts")
            batch_hvg.start_clip_pass()
            for row, counts, _x in sums.hvg_rows(counts_chunks()):
                batch_hvg.add_clipped(row, counts)
        shell.uns["hvg"] = batch_hvg.select(shell.var, n_top)
        if "dispersions" not in shell.var:  # as preprocess.select_hvg adds it
            means = shell.var["means"]
            with np.errstate(divide="ignore", invalid="ignore"):
                shell.var["dispersions"] = np.where(means > 0, shell.var["variances"] / means, 0.0)
    hvg = shell.var["highly_variable"].to_numpy(dtype=bool)
    shell.uns["genoprep"] = {**shell.uns["genoprep"], "n_hvg": int(hvg.sum())}
    if sums.hvg_fit is not None:
        shell.uns["genoprep"]["hvg_fitted_on"] = "train cells"
    steps.record_provenance(shell, options.qc, options.normalize, options.hvg, options.scale)
    return preprocess.scale_statistics(sums.scale_total[hvg] / n_fit, sums.scale_squares[hvg] / n_fit, n_fit)


def append_rows(
    out: h5py.File, first: bool, counts: sparse.csr_matrix, x: sparse.csr_matrix, normalize: NormalizeOptions
) -> None:
    """Kept rows appended to ``X`` (and ``layers/counts`` for counts) of an open ``processed.h5ad``."""
    layers = {"X": x, "layers/counts": counts} if normalize.value_type == "counts" else {"X": x}
    for key, matrix in layers.items():
        if first:
            write_elem(out, key, matrix, dataset_kwargs={"indptr_dtype": np.int64})
        else:
            sparse_dataset(out[key]).append(matrix)


def write_annotations(out: h5py.File, shell: ad.AnnData) -> None:
    """``obs``, ``var``, the empty ``obsm``/``varm``/``obsp``/``varp`` and ``uns`` of ``processed.h5ad``."""
    shell.strings_to_categoricals()  # as write_h5ad does
    out.attrs["encoding-type"] = "anndata"
    out.attrs["encoding-version"] = "0.1.0"
    write_elem(out, "obs", shell.obs)
    write_elem(out, "var", shell.var)
    for key in ("obsm", "varm", "obsp", "varp"):
        write_elem(out, key, {})
    write_elem(out, "uns", dict(shell.uns))


def write_tables(
    shell: ad.AnnData, outputs: Outputs, options: ChainOptions, split: splitting.CellSplits | None = None
) -> list[str]:
    """``features.tsv``, ``obs.tsv`` (with the ``split`` column) and the facts (with the split's);
    returns the features (the HVGs in column order)."""
    hvg = shell.var["highly_variable"].to_numpy(dtype=bool)
    features = list(shell.var_names[hvg])
    with open(outputs.features, "w", encoding="utf-8", newline="\n") as handle_out:
        handle_out.writelines(f"{name}\n" for name in features)
    obs = obs_table(shell)
    facts = steps.facts(shell, options.normalize, options.hvg, options.scale, len(features))
    if split is not None:
        facts = splitting.split_facts(facts, split, options.split, options.train_only)
        obs["split"] = split.splits.astype(str)
    obs.to_csv(outputs.obs, sep="\t", index=False, lineterminator="\n")
    write_json(facts, outputs.facts)
    return features


def write_scaled(
    path: StrPath,
    chunks: Iterator[tuple[int, sparse.csr_matrix, sparse.csr_matrix]],
    position: np.ndarray,
    n_rows: int,
    n_columns: int,
    mean: np.ndarray,
    std: np.ndarray,
    max_value: float | None,
    train_only: bool = False,
) -> None:
    """``X.npy`` (float32 rows x HVG) written chunk by chunk: each chunk's rows are mapped, filled and
    unmapped, so that the file's pages never pile up in the process's memory. ``train_only``: scaled as
    :func:`genoprep.scrna.splitting.scale_on_train` scales (in float64, then float32), else as ``sc.pp.scale``."""
    header = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, n_columns))
    offset = header.offset
    del header
    row_bytes = n_columns * np.dtype(np.float32).itemsize
    for row, _counts, x in chunks:
        dense = kernels.dense_columns(x.indptr, x.indices, x.data, position, n_columns)
        if train_only:
            scale_in_place(dense, Scaler(mean=mean, std=std, n_fitted=0, ddof=1), max_value)
        else:
            preprocess.apply_scaling(dense, mean, std, max_value)
        if dense.size:
            block = np.memmap(path, dtype=np.float32, mode="r+", offset=offset + row * row_bytes, shape=dense.shape)
            block[:] = dense
            block.flush()
            del block


def textio_check(path: StrPath) -> None:
    """The in-memory reader's check that the input is there and readable (one line when not)."""
    from genoprep import textio

    textio.check_readable(path)
