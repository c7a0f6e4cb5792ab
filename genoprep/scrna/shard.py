"""The scRNA-seq chain sharded across Snakemake jobs (``params.shards: N``, rules/scrna_shard.smk).

The out-of-core passes (:mod:`genoprep.scrna.ooc`) over row ranges of the input instead of the
whole matrix, each range (shard) in its own job, locally or as SLURM jobs:

0. ``convert_input`` (10x folders, CSV/TSV, loom only): the input converted once, streaming, into the
   CSR h5ad the other jobs read (:func:`genoprep.scrna.convert.to_h5ad`, as the one-job path converts);
1. ``plan`` (a checkpoint): N shards of consecutive cells, into ``shards.json``;
2. ``metrics`` per shard (pass 1): per-cell QC metrics over all genes, the value checks, and the
   cells per gene (int64) over the cells ``min_genes`` keeps;
3. ``kept`` per shard (pass 2): merges every shard's cells per gene, decides the genes
   ``min_cells`` keeps (:func:`genoprep.scrna.qc.decide_from_metrics`), and computes the shard's
   per-cell metrics over those genes (with ``params.split``, also each cell's identical-cells key over
   those genes, :func:`shard_cell_keys`);
4. ``decide`` (reduce): the cell and gene filters from all shards' metrics with
   :func:`~genoprep.scrna.qc.decide_from_metrics`; writes ``qc.json`` and ``qc_cells.tsv``; with
   ``params.split`` it assigns the split of every kept cell once (:func:`assign_split`, the one-job
   path's :func:`genoprep.scrna.splitting.assign_cells` and ``record_split``) into its decision file;
5. ``sums`` per shard (pass 3): normalize + log1p of the shard's kept cells (written for the
   transform and gather jobs) and the per-gene sums of :class:`genoprep.scrna.ooc.GeneSums` (with a
   split: the scaling sums over the train rows, the HVG sums too with ``hvg_on_train``);
   for ``seurat_v3`` flavors and ``hvg_batch_key`` also the per-batch HVG statistics of
   :class:`genoprep.scrna.ooc_hvg.BatchHvg` (:func:`shard_batch_hvg`); for ``seurat_v3`` flavors then
   ``clip_values`` (reduce: the merged moments, the loess fit, the clip values) and ``shard_clip`` per
   shard (the clipped sums);
6. ``hvg`` (reduce): the sums merged in shard order (integers as integers, floats in float64) and the
   HVGs and the scaling mean/std from :func:`genoprep.scrna.ooc.select_hvg` (with the merged
   :class:`~genoprep.scrna.ooc_hvg.BatchHvg` when there is one, :func:`merged_batch_hvg`);
7. ``scale`` per shard (pass 4): the shard's scaled HVG block;
8. ``gather``: ``processed.h5ad`` (rows appended shard by shard), ``X.npy`` (blocks through a memory
   map), ``features.tsv``, ``obs.tsv``, the facts and the embeddings, as the one-job rule writes them.

Integer statistics equal the one-job run's exactly; float sums are added per shard, so they may
differ from the one-job run in the last bits (within 1e-6). The HVG sums use the plan's number of
slots whatever the threads of the job that computes them, so a rerun with the same plan gives the
same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import anndata as ad
import h5py
import numpy as np
from scipy import sparse

from genoprep import filters, leakage, runtime
from genoprep.atomic import written_whole
from genoprep.errors import InputError
from genoprep.jsonio import write_json
from genoprep.options import StepOptions
from genoprep.scrna import convert, io, kernels, ooc, ooc_hvg, preprocess, qc, resources, splitting, steps
from genoprep.scrna.chain import ChainOptions, Outputs, StepTable, write_qc_diagnostics
from genoprep.scrna.export import add_embeddings
from genoprep.scrna.options import COUNT_FLAVORS
from genoprep.tasks.train_only import Scaler, scale_in_place

log = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]


@dataclasses.dataclass(frozen=True)
class ShardOptions(StepOptions):
    """How many shards of cells (1: not sharded; ``auto``: by size, :func:`shards_by_size`) and the chunk of
    cells each shard job streams."""

    shards: int | str
    memory_budget_mb: int | None
    chunk_cells: int | None


@dataclasses.dataclass(frozen=True)
class Shard:
    """Rows ``start:stop`` of the input and their stored values."""

    start: int
    stop: int
    nnz: int

    @property
    def n_cells(self) -> int:
        return self.stop - self.start


@dataclasses.dataclass(frozen=True)
class Plan:
    n_cells: int
    n_genes: int
    slots: int
    shards: tuple[Shard, ...]

    @classmethod
    def read(cls, path: StrPath) -> Plan:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return cls(data["n_cells"], data["n_genes"], data["slots"], tuple(Shard(**s) for s in data["shards"]))

    def write(self, path: StrPath) -> None:
        write_json(
            {
                "n_cells": self.n_cells,
                "n_genes": self.n_genes,
                "slots": self.slots,
                "shards": [dataclasses.asdict(s) for s in self.shards],
            },
            path,
        )

    def size(self, index: int) -> resources.InputSize:
        shard = self.shards[index]
        return resources.InputSize(shard.n_cells, self.n_genes, shard.nnz)


def boundaries(n_cells: int, n_shards: int) -> list[tuple[int, int]]:
    """``n_shards`` consecutive row ranges of ``n_cells`` rows, as even as integers allow (never empty)."""
    n = max(1, min(n_shards, n_cells))
    edges = [i * n_cells // n for i in range(n + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


#: ``params.shards`` asking for shards planned by size
BY_SIZE = "auto"


def shards_by_size(row_offsets: np.ndarray, n_genes: int, budget: int) -> int:
    """The fewest shards of consecutive cells (:func:`boundaries`) whose every job's memory estimate
    (:func:`resources.shard_mem_mb`, first attempt) fits ``budget`` MiB. ``row_offsets`` are the input's
    row pointers (the stored values before each row, ``n_cells + 1`` of them). A budget that even
    one-cell shards exceed is an error (the estimate's floor: the interpreter and the per-cell tables
    of the whole dataset)."""
    n_cells = row_offsets.size - 1
    offsets = np.asarray(row_offsets, dtype=np.int64)

    def largest(n_shards: int) -> int:
        edges = np.asarray([0, *(stop for _, stop in boundaries(n_cells, n_shards))], dtype=np.int64)
        nnz, cells = np.diff(offsets[edges]), np.diff(edges)
        # the estimate grows linearly with a shard's stored values and cells: its largest shard is that one
        dense_bytes = 2 * min(resources.HVG_COLUMNS, n_genes) * 4
        worst = int(np.argmax(nnz * 48 + cells * dense_bytes))
        return resources.shard_mem_mb(resources.InputSize(int(cells[worst]), n_genes, int(nnz[worst])), n_cells, 1)

    if n_cells == 0 or largest(n_cells) > budget:
        need = largest(max(n_cells, 1)) if n_cells else 0
        raise ValueError(f"params.memory_budget_mb {budget}: a shard job needs {need} MiB even with one cell per shard")
    fixed = resources.shard_mem_mb(resources.InputSize(0, n_genes, 0), n_cells, 1)
    variable = resources.shard_mem_mb(resources.InputSize(n_cells, n_genes, int(offsets[-1])), n_cells, 1) - fixed
    n_shards = max(1, min(n_cells, int(0.9 * variable / (max(budget - fixed, 0) + 1))))  # the average must fit
    while largest(n_shards) > budget:
        n_shards += 1
    return n_shards


def chunk_of(plan: Plan, index: int, shard_options: ShardOptions) -> int:
    """Cells per chunk inside a shard job (the card's ``chunk_cells``, else from the budget)."""
    budget = resources.budget_mb(shard_options.memory_budget_mb)
    return resources.chunk_cells(plan.size(index), budget, shard_options.chunk_cells)


# ---- reading -------------------------------------------------------------------------------


class _Input:
    """The input opened for a shard job: the matrix's row reader, and (when ``header``) ``obs``/``var``
    annotated as the one-job path annotates them, with the mitochondrial flag."""

    def __init__(
        self,
        data_path: StrPath,
        options: ChainOptions,
        header: bool,
        dataset: str = "",
        metadata_path: StrPath | None = None,
        mito_gene_lists: Sequence[StrPath] = (),
        stream_path: StrPath | None = None,
    ):
        self.source = str(data_path)
        table_meta = steps.check_header(data_path, options.ingest, metadata_path) if header else None
        layer = _stream_layer(options, stream_path)
        opened = data_path if stream_path is None else stream_path
        ooc.textio_check(opened)
        try:
            self.handle = h5py.File(opened, "r")
        except OSError as err:
            raise io._h5_error(data_path, "h5ad", err) from None
        self.header: ad.AnnData | None = None
        if header:
            self.header, self.reader = ooc.read_header(self.handle, data_path, layer)
            steps.annotate_ingested(self.header, table_meta, options.ingest, dataset, self.source, metadata_path)
            known = set(options.qc.mito_genes)
            for path in mito_gene_lists:
                known |= qc.read_gene_list(path)
            self.header.var["mt"] = qc.flag_mito(
                self.header.var, self.header.var_names, options.qc.mito_prefixes, known
            )
            self.mito = self.header.var["mt"].to_numpy(dtype=bool)
        else:
            key, var_key = resources.matrix_keys(layer)
            element = self.handle[key]
            n_genes = int(element.shape[1]) if isinstance(element, h5py.Dataset) else int(element.attrs["shape"][1])
            self.reader = ooc.RowReader(element, n_genes)

    def __enter__(self) -> _Input:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _npz(path: StrPath) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _save(path: StrPath, arrays: Mapping[str, np.ndarray]) -> None:
    """An ``.npz`` written whole or not at all (through a temporary name)."""
    with written_whole(path) as partial:
        np.savez(partial, **arrays)


# ---- 0. converted inputs ----------------------------------------------------------------------


def _stream_layer(options: ChainOptions, stream_path: StrPath | None) -> str | None:
    """The layer a shard job reads: the card's for an h5ad input; ``X`` of the converted file otherwise."""
    if stream_path is None:
        if options.ingest.format != "h5ad":
            raise ValueError(f"input.format {options.ingest.format} is read from its converted h5ad")
        return options.ingest.layer
    return None


def convert_input(data_path: StrPath, options: ChainOptions, metadata_path: StrPath | None, out: StrPath) -> None:
    """A 10x folder, CSV/TSV table or loom file converted once, streaming, into the CSR h5ad ``out`` that
    the shard jobs read (:func:`genoprep.scrna.convert.to_h5ad`, as the one-job out-of-core path converts),
    after the cheap checks of the card's columns, metadata and checksum."""
    steps.check_header(data_path, options.ingest, metadata_path)
    ingest = options.ingest
    convert.to_h5ad(data_path, ingest.format, out, orientation=ingest.orientation, layer=ingest.layer)


# ---- 1. plan -------------------------------------------------------------------------------


def unsupported(data_path: StrPath, options: ChainOptions) -> str | None:
    """Why the sharded path cannot take this input (``None`` when it can): what the one-job out-of-core
    path cannot stream (every format, HVG flavor, batch key and split it streams is sharded too)."""
    return ooc.unsupported(data_path, options.ingest, options.hvg)


def plan(
    data_path: StrPath,
    options: ChainOptions,
    shard_options: ShardOptions,
    out: StrPath,
    stream_path: StrPath | None = None,
) -> Plan:
    """Check that the sharded path can take the input, and write the plan of its shards (``stream_path``:
    the CSR h5ad :func:`convert_input` made of a 10x/CSV/TSV/loom input)."""
    import numba

    source = str(data_path)
    reason = unsupported(data_path, options)
    if reason is not None:
        raise InputError(source, f"params.shards {shard_options.shards} cannot take {reason}; set params.shards: 1")
    with _Input(data_path, options, header=False, stream_path=stream_path) as source_input:
        reader = source_input.reader
        n_shards = planned_shards(reader, shard_options, source)
        if reader.indptr is None:
            n_genes = reader.n_genes
            stored = [(stop - start) * n_genes for start, stop in boundaries(reader.n_cells, n_shards)]
        else:
            stored = [
                int(reader.indptr[stop] - reader.indptr[start]) for start, stop in boundaries(reader.n_cells, n_shards)
            ]
        ranges = boundaries(reader.n_cells, n_shards)
        result = Plan(
            reader.n_cells,
            reader.n_genes,
            int(numba.get_num_threads()),
            tuple(Shard(start, stop, nnz) for (start, stop), nnz in zip(ranges, stored, strict=True)),
        )
    if len(result.shards) < n_shards:
        log.warning("%d cells: %d shards instead of %d", result.n_cells, len(result.shards), n_shards)
    result.write(out)
    log.info("%d cells x %d genes in %d shards", result.n_cells, result.n_genes, len(result.shards))
    return result


def planned_shards(reader: ooc.RowReader, shard_options: ShardOptions, source: str) -> int:
    """The card's number of shards, or with ``params.shards: auto`` the fewest whose jobs fit
    ``params.memory_budget_mb`` (:func:`shards_by_size` over the input's row pointers)."""
    if shard_options.shards != BY_SIZE:
        return int(shard_options.shards)
    budget = resources.budget_mb(shard_options.memory_budget_mb)
    if reader.indptr is None:  # dense rows: every value stored
        offsets = np.arange(reader.n_cells + 1, dtype=np.int64) * reader.n_genes
    else:
        offsets = reader.indptr
    try:
        n_shards = shards_by_size(offsets, reader.n_genes, budget)
    except ValueError as err:
        raise InputError(source, f"params.shards auto: {err}") from None
    log.info("params.shards auto: %d shards fit the %d MiB budget", n_shards, budget)
    return n_shards


@dataclasses.dataclass(frozen=True)
class Source:
    """What the jobs that read the input's annotations share: the input, its metadata table, the
    mitochondrial gene lists, the dataset id and the chain's options (one per sharded dataset)."""

    data: StrPath
    metadata: StrPath | None
    mito_gene_lists: Sequence[StrPath]
    dataset: str
    options: ChainOptions
    stream: StrPath | None = None  # the CSR h5ad converted from a 10x/CSV/TSV/loom input

    def open(self) -> _Input:
        """The input with ``obs``/``var`` annotated (:class:`_Input` with ``header``)."""
        return _Input(self.data, self.options, True, self.dataset, self.metadata, self.mito_gene_lists, self.stream)


@dataclasses.dataclass(frozen=True)
class ShardFiles:
    """The statistic passes' files the reduce and gather jobs read: the plan and one file per shard each."""

    plan: StrPath
    metrics: Sequence[StrPath]
    kept: Sequence[StrPath]
    sums: Sequence[StrPath]
    decision: StrPath | None = None  # the decide job's file (the split of the kept cells, with params.split)
    clip: StrPath | None = None  # seurat_v3: the clip values (clip_values) and the shards' clipped sums
    clipped: Sequence[StrPath] = ()


# ---- 2. per-shard metrics (pass 1) -----------------------------------------------------------


def shard_metrics(
    source: Source,
    shard_options: ShardOptions,
    plan_path: StrPath,
    index: int,
    out: StrPath,
) -> None:
    """Pass 1 over one shard: per-cell metrics, cells per gene and the shard's first bad value."""
    the_plan = Plan.read(plan_path)
    shard = the_plan.shards[index]
    options = source.options
    with source.open() as opened:
        assert opened.header is not None
        values = ooc._ValueCheck(
            opened.source, options.ingest.value_type, opened.header.obs_names, opened.header.var_names
        )
        (genes, total, mito), cells_per_gene = ooc.cell_metrics(
            opened.reader,
            shard.start,
            shard.stop,
            chunk_of(the_plan, index, shard_options),
            opened.mito,
            options.qc.min_genes,
            values,
        )
    found = "" if values.found is None else json.dumps([values.found[0], *_error_fields(values.found[1])])
    _save(out, {"genes": genes, "total": total, "mito": mito, "cells_per_gene": cells_per_gene, "value_error": found})


def _error_fields(error: InputError) -> list[Any]:
    return [error.source, error.problem, error.record]


def raise_value_error(metrics: Sequence[Mapping[str, np.ndarray]]) -> None:
    """The value error the one-job path raises: the lowest-ranked problem, the first shard's of a rank."""
    found = [json.loads(str(m["value_error"])) for m in metrics if str(m["value_error"])]
    if found:
        rank = min(f[0] for f in found)
        _, source, problem, record = next(f for f in found if f[0] == rank)
        raise InputError(source, problem, record=record)


def merge_counts(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Per-gene integer counts of the shards summed as int64 (exact)."""
    total = np.zeros_like(arrays[0], dtype=np.int64)
    for array in arrays:
        if array.dtype.kind not in "iu":
            raise TypeError(f"integer counts expected, got {array.dtype}")
        total += array
    return total


def concat_metrics(metrics: Sequence[Mapping[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-cell (genes, total, mito) of all shards, in row order."""
    return tuple(np.concatenate([m[key] for m in metrics]) for key in ("genes", "total", "mito"))  # type: ignore[return-value]


class _GenesDecided(Exception):
    def __init__(self, gene_kept: np.ndarray):
        self.gene_kept = gene_kept


def decide_genes(
    n_genes: int, mito: np.ndarray, qc_options: Any, metrics: Sequence[Mapping[str, np.ndarray]]
) -> np.ndarray:
    """The genes ``min_cells`` keeps, decided by :func:`qc.decide_from_metrics` (stopped before it needs
    the per-cell metrics over those genes) from every shard's pass-1 statistics."""
    raise_value_error(metrics)
    first = concat_metrics(metrics)
    cells_per_gene = merge_counts([m["cells_per_gene"] for m in metrics])

    def stop(gene_kept: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise _GenesDecided(gene_kept)

    import pandas as pd

    try:
        qc.decide_from_metrics(
            pd.Index(np.arange(first[0].size).astype(str)),
            n_genes,
            mito,
            qc_options,
            first,
            _checked(first, qc_options, cells_per_gene),
            stop,
        )
    except _GenesDecided as decided:
        return decided.gene_kept
    raise AssertionError("decide_from_metrics did not ask for the kept genes' metrics")


def _checked(first: tuple[np.ndarray, ...], qc_options: Any, cells_per_gene: np.ndarray) -> Any:
    def cells_per_gene_of(keep: np.ndarray) -> np.ndarray:
        if not np.array_equal(keep, first[0] >= qc_options.min_genes):
            raise AssertionError("the min_genes filter is decided on the metrics of pass 1")
        return cells_per_gene

    return cells_per_gene_of


# ---- 3. per-shard metrics over the kept genes (pass 2) ---------------------------------------


def _mito_mask(source: Source) -> tuple[np.ndarray, int]:
    with source.open() as opened:
        return opened.mito, opened.reader.n_genes


def shard_kept(
    source: Source,
    shard_options: ShardOptions,
    plan_path: StrPath,
    index: int,
    metrics_paths: Sequence[StrPath],
    out: StrPath,
) -> None:
    """Pass 2 over one shard: its cells' metrics over the genes ``min_cells`` keeps (from all shards)."""
    the_plan = Plan.read(plan_path)
    shard = the_plan.shards[index]
    metrics = [_npz(p) for p in metrics_paths]
    mito, n_genes = _mito_mask(source)
    gene_kept = decide_genes(n_genes, mito, source.options.qc, metrics)
    with _Input(source.data, source.options, header=False, stream_path=source.stream) as opened:
        chunk = chunk_of(the_plan, index, shard_options)
        genes, total, mito_total = ooc.kept_cell_metrics(opened.reader, shard.start, shard.stop, chunk, gene_kept, mito)
        keys = {}
        if source.options.split.enabled:
            keys["cell_keys"] = shard_cell_keys(opened.reader, shard.start, shard.stop, chunk, gene_kept)
    _save(out, {"genes": genes, "total": total, "mito": mito_total, **keys})


def shard_cell_keys(
    reader: ooc.RowReader, start: int, stop: int, chunk_cells: int, gene_kept: np.ndarray
) -> np.ndarray:
    """The "identical cells" keys of rows ``start:stop`` (:func:`genoprep.leakage.cell_keys` of their counts
    over the genes ``min_cells`` keeps, the kept counts' rows the one-job path digests), one row of
    bytes (uint8) per cell; the decide job picks the kept cells' rows."""
    new_column = np.where(gene_kept, np.cumsum(gene_kept) - 1, -1).astype(np.int64)
    every_row = np.ones(reader.n_cells, dtype=bool)
    keys: list[bytes] = []
    for _row, counts, _x in ooc.normalized_chunks(reader, start, stop, chunk_cells, every_row, new_column, None, 0):
        keys.extend(leakage.cell_keys(counts))
    width = len(keys[0]) if keys else 0
    return np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), width)


# ---- 4. decide (reduce) --------------------------------------------------------------------


def _decide(
    source: _Input,
    options: ChainOptions,
    metrics: Sequence[Mapping[str, np.ndarray]],
    kept: Sequence[Mapping[str, np.ndarray]],
) -> qc.QcDecision:
    assert source.header is not None
    raise_value_error(metrics)
    first = concat_metrics(metrics)
    cells_per_gene = merge_counts([m["cells_per_gene"] for m in metrics])
    second = concat_metrics(kept)
    return qc.decide_from_metrics(
        source.header.obs_names,
        source.header.n_vars,
        source.mito,
        options.qc,
        first,
        _checked(first, options.qc, cells_per_gene),
        lambda gene_kept: second,
    )


def _shell(source: _Input, decision: qc.QcDecision) -> ad.AnnData:
    """``obs``/``var`` of the kept cells and genes, with the per-cell QC metrics (over the kept genes)."""
    header = source.header
    assert header is not None
    keep, gene_kept = decision.cell_kept, decision.gene_kept
    shell = ad.AnnData(
        obs=header.obs.iloc[np.flatnonzero(keep)].copy(), var=header.var.iloc[np.flatnonzero(gene_kept)].copy()
    )
    shell.uns["genoprep"] = dict(header.uns["genoprep"])
    return shell


def decide(
    source: Source,
    metrics_paths: Sequence[StrPath],
    kept_paths: Sequence[StrPath],
    qc_path: StrPath,
    cells_path: StrPath,
    logs: StrPath,
    out: StrPath,
) -> None:
    """The QC decision from all shards' metrics: ``qc.json``, ``qc_cells.tsv`` and the kept cells and genes."""
    metrics = [_npz(p) for p in metrics_paths]
    kept = [_npz(p) for p in kept_paths]
    options, dataset = source.options, source.dataset
    with source.open() as opened:
        decision = _decide(opened, options, metrics, kept)
        assert opened.header is not None
        info = opened.header.uns["genoprep"]
        decision.report = {
            "dataset_id": info["dataset_id"],
            **decision.report,
            "metadata_rows_unmatched": info["metadata_rows_unmatched"],
        }
        runtime.console(filters.summary_line(dataset, decision.steps))
        try:
            filters.guard(opened.source, decision.steps, "cells", options.qc.min_fraction_kept)
            qc.check_left(decision, opened.source)
        except InputError as err:
            written = write_qc_diagnostics(decision.cells, options.qc, dataset, logs)
            raise InputError(
                err.source, f"{err.problem} (per-cell QC table and figure: {', '.join(written)})", record=err.record
            ) from None
        shell = _shell(opened, decision)
        keep = decision.cell_kept
        genes1, total1, mito1 = concat_metrics(kept)
        qc.store_cell_metrics(shell.obs, genes1[keep], total1[keep], mito1[keep])
        report = {**decision.report, "after": qc.summary(shell.obs, shell.n_vars)}
        report = {**report, "metadata_rows_unmatched": report.pop("metadata_rows_unmatched")}
        split_arrays: dict[str, np.ndarray] = {}
        if options.split.enabled:  # once, for every kept cell, as the one-job path assigns it
            split = assign_split(shell, opened.source, options, kept, keep)
            report = splitting.record_split(shell, split, options.split, dataset, report)
            split_arrays = {"split": split.splits.astype(str), "split_qc": np.array(json.dumps(split.qc))}
        write_json(report, qc_path)
        decision.cells.to_csv(cells_path, sep="\t", index=False, lineterminator="\n")
        hvg_fit = split.train if options.split.enabled and options.train_only.hvg_on_train else None
        batches = hvg_batches(shell.obs, hvg_fit, options)
        _save(out, {"cell_kept": keep, "gene_kept": decision.gene_kept, **split_arrays, **batches})


def assign_split(
    shell: ad.AnnData,
    source: str,
    options: ChainOptions,
    kept: Sequence[Mapping[str, np.ndarray]],
    keep: np.ndarray,
) -> splitting.CellSplits:
    """The split of the kept cells (``shell.obs``) from :func:`splitting.assign_cells`, with the
    identical-cells keys the shards' pass 2 computed (:func:`shard_cell_keys`, concatenated in row order)."""
    keys = np.concatenate([k["cell_keys"] for k in kept])
    if keys.shape[0] != keep.size:
        raise AssertionError(f"the shards hold {keys.shape[0]} cell keys for {keep.size} cells")
    cell_keys = [row.tobytes() for row in keys[keep]]
    return splitting.assign_cells(shell.obs, options.split, options.leakage.policy, source, cell_keys=cell_keys)


def read_split(decision_path: StrPath | None) -> splitting.CellSplits | None:
    """The kept cells' split the decide job assigned (``None`` when the card has no ``params.split``)."""
    if decision_path is None:
        return None
    decision = _npz(decision_path)
    if "split" not in decision:
        return None
    qc_section = json.loads(str(decision["split_qc"]))
    return splitting.CellSplits(np.asarray(decision["split"], dtype=object), qc_section, None)


def _apply_split(shell: ad.AnnData, split: splitting.CellSplits, options: ChainOptions) -> None:
    """The ``split`` column and provenance :func:`splitting.record_split` gave ``shell`` in the decide job."""
    shell.obs["split"] = split.categorical()
    shell.uns["genoprep"] = {**shell.uns["genoprep"], "split": options.split.describe()}


def _train_of(decision: Mapping[str, np.ndarray]) -> np.ndarray | None:
    return np.asarray(decision["split"] == "train", dtype=bool) if "split" in decision else None


# ---- 5. per-shard normalisation and sums (pass 3) --------------------------------------------


def _csr_arrays(prefix: str, matrix: sparse.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr.astype(np.int64),
        f"{prefix}_shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def _csr_of(arrays: Mapping[str, np.ndarray], prefix: str) -> sparse.csr_matrix:
    shape = tuple(int(v) for v in arrays[f"{prefix}_shape"])
    return sparse.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]), shape=shape, copy=False
    )


def shard_sums(
    data_path: StrPath,
    options: ChainOptions,
    shard_options: ShardOptions,
    plan_path: StrPath,
    index: int,
    decision_path: StrPath,
    out_sums: StrPath,
    out_rows: StrPath,
    stream_path: StrPath | None = None,
) -> None:
    """Pass 3 over one shard: its kept cells normalised (``out_rows``: counts and values, CSR) and the
    shard's per-gene sums (``out_sums``, with the per-batch HVG statistics of :func:`shard_batch_hvg`)."""
    the_plan = Plan.read(plan_path)
    shard = the_plan.shards[index]
    decision = _npz(decision_path)
    keep, gene_kept = decision["cell_kept"], decision["gene_kept"]
    n_vars = int(gene_kept.sum())
    new_column = np.where(gene_kept, np.cumsum(gene_kept) - 1, -1).astype(np.int64)
    first_row = int(keep[: shard.start].sum())
    train = _train_of(decision)  # with params.split: the scaling (and hvg_on_train the HVGs) fit the train rows
    hvg_fit = train if train is not None and options.train_only.hvg_on_train else None
    sums = ooc.GeneSums(n_vars, the_plan.slots, hvg_fit=hvg_fit)
    batch_hvg = shard_batch_hvg(options, decision, n_vars, the_plan.slots, _hvg_row(sums, first_row))
    counts_parts, x_parts = [], []
    with _Input(data_path, options, header=False, stream_path=stream_path) as source:
        chunks = ooc.normalized_chunks(
            source.reader,
            shard.start,
            shard.stop,
            chunk_of(the_plan, index, shard_options),
            keep,
            new_column,
            options.normalize,
            first_row,
        )
        for row, counts, x in chunks:
            fit = np.ones(x.shape[0], dtype=bool) if train is None else train[row : row + x.shape[0]]
            sums.add(row, counts, x, fit, options.hvg.hvg_flavor)
            if batch_hvg is not None:
                for hvg_row, hvg_counts, hvg_x in sums.hvg_rows([(row, counts, x)]):
                    batch_hvg.add(hvg_row, hvg_counts, hvg_x)
            counts_parts.append(counts)
            x_parts.append(x)
    n_rows = int(keep[shard.start : shard.stop].sum())
    empty = sparse.csr_matrix((0, n_vars), dtype=np.float32)
    counts = sparse.vstack(counts_parts, format="csr") if counts_parts else empty
    x = sparse.vstack(x_parts, format="csr") if x_parts else empty
    assert counts.shape == (n_rows, n_vars)
    _save(out_rows, {**_csr_arrays("counts", counts), **_csr_arrays("x", x), "first_row": np.int64(first_row)})
    _save(out_sums, {**sums.arrays(), **_prefixed(batch_hvg.state() if batch_hvg is not None else {})})


def merge_sums(
    n_vars: int, slots: int, shard_sums_arrays: Iterable[Mapping[str, np.ndarray]], hvg_fit: np.ndarray | None = None
) -> ooc.GeneSums:
    """Every shard's pass-3 sums added in shard order (``hvg_fit``: the kept rows the HVG sums saw)."""
    total = ooc.GeneSums(n_vars, slots, hvg_fit=hvg_fit)
    for arrays in shard_sums_arrays:
        total.merge(arrays)
    return total


# ---- per-batch HVG statistics across shards (seurat_v3, hvg_batch_key) ----------------------
#
# The sums jobs add the shard's rows to a BatchHvg started at the shard's first kept row and write its
# state beside the GeneSums arrays (keys prefixed "batch_hvg_"). seurat_v3 then needs the clip values: one
# reduce (clip_values) merges the states and fits the loess, one job per shard (shard_clip) sums its
# clipped counts, and the hvg reduce merges both and selects with BatchHvg.select, as one job does.

_HVG_PREFIX = "batch_hvg_"


def _prefixed(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {_HVG_PREFIX + key: value for key, value in arrays.items()}


def _unprefixed(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key[len(_HVG_PREFIX) :]: value for key, value in arrays.items() if key.startswith(_HVG_PREFIX)}


def _hvg_row(sums: ooc.GeneSums, kept_row: int) -> int:
    """The index, among the rows HVG selection sees, of the first of those at or after kept row ``kept_row``."""
    return kept_row if sums.hvg_fit is None else int(np.count_nonzero(sums.hvg_fit[:kept_row]))


def needs_clip_pass(card: Mapping[str, Any]) -> bool:
    """Whether the card's HVG flavor needs the clip pass (rules scrna_shard_clip_values and scrna_shard_clip,
    in the job graph of a sharded dataset only then)."""
    return card["params"]["hvg_flavor"] in COUNT_FLAVORS


def hvg_batches(obs: Any, hvg_fit: np.ndarray | None, options: ChainOptions) -> dict[str, np.ndarray]:
    """The batch codes (:func:`ooc_hvg.batch_codes`) of the kept cells' rows that per-batch HVG statistics
    see (:func:`ooc.batch_hvg_obs`: the ``hvg_fit`` rows only when given), for the shard jobs; no entry when
    the HVG flavor and ``hvg_batch_key`` need none."""
    hvg_obs = ooc.batch_hvg_obs(obs, hvg_fit, options)
    if hvg_obs is None:
        return {}
    labels, codes = ooc_hvg.batch_codes(options.hvg.hvg_flavor, options.hvg.hvg_batch_key, hvg_obs)
    return {"hvg_batch": codes, "hvg_n_batches": np.int64(len(labels))}


def shard_batch_hvg(
    options: ChainOptions, decision: Mapping[str, np.ndarray], n_vars: int, slots: int, first_row: int
) -> ooc_hvg.BatchHvg | None:
    """The per-batch HVG accumulators of a shard whose first HVG row is ``first_row`` (``None`` when the
    flavor and batch key need none), from the batch codes the decide job wrote."""
    if "hvg_batch" not in decision:
        return None
    batch_hvg = ooc_hvg.BatchHvg.from_codes(
        options.hvg.hvg_flavor,
        options.hvg.hvg_batch_key,
        decision["hvg_batch"],
        int(decision["hvg_n_batches"]),
        n_vars,
        slots,
    )
    batch_hvg.start_at(first_row)
    return batch_hvg


def merge_hvg_states(batch_hvg: ooc_hvg.BatchHvg, shard_sums_arrays: Iterable[Mapping[str, np.ndarray]]) -> None:
    """Every shard's per-batch statistics (in its sums file) merged into ``batch_hvg``, in shard order (one
    shard's arrays at a time when given as a generator: per batch they are genes x slots each)."""
    for arrays in shard_sums_arrays:
        batch_hvg.merge(_unprefixed(arrays))


def clip_values(
    options: ChainOptions, plan_path: StrPath, decision_path: StrPath, sums_paths: Sequence[StrPath], out: StrPath
) -> None:
    """``seurat_v3`` (reduce): the shards' per-batch count moments merged, scanpy's loess fit per batch
    (:meth:`ooc_hvg.BatchHvg.start_clip_pass`), and its clip values for the per-shard clip jobs."""
    decision = _npz(decision_path)
    batch_hvg = shard_batch_hvg(options, decision, int(decision["gene_kept"].sum()), Plan.read(plan_path).slots, 0)
    if batch_hvg is None or not batch_hvg.needs_clip_pass:
        raise ValueError(f"hvg flavor {options.hvg.hvg_flavor} has no clip pass")
    merge_hvg_states(batch_hvg, (_npz(p) for p in sums_paths))
    batch_hvg.start_clip_pass()
    _save(out, batch_hvg.clip_values())


def shard_clip(
    options: ChainOptions,
    plan_path: StrPath,
    decision_path: StrPath,
    rows_path: StrPath,
    clip_path: StrPath,
    out: StrPath,
) -> None:
    """``seurat_v3``, one shard: its kept counts clipped at the clip values and summed per batch (the
    counts the sums job kept, in row order, as the one-job clip pass sums them; with ``hvg_on_train``
    the train rows only)."""
    decision = _npz(decision_path)
    rows = _npz(rows_path)
    counts = _csr_of(rows, "counts")
    first_row = int(rows["first_row"])
    train = _train_of(decision)
    if train is not None and options.train_only.hvg_on_train:  # the rows HVG selection sees
        counts = counts[train[first_row : first_row + counts.shape[0]]]
        first_row = int(np.count_nonzero(train[:first_row]))
    batch_hvg = shard_batch_hvg(options, decision, counts.shape[1], Plan.read(plan_path).slots, first_row)
    if batch_hvg is None:
        raise ValueError(f"hvg flavor {options.hvg.hvg_flavor} has no clip pass")
    batch_hvg.use_clip_values(_npz(clip_path))
    batch_hvg.add_clipped(first_row, counts)
    _save(out, batch_hvg.clipped_state())


def merged_batch_hvg(
    obs: Any, hvg_fit: np.ndarray | None, options: ChainOptions, n_vars: int, slots: int, files: ShardFiles
) -> ooc_hvg.BatchHvg | None:
    """The per-batch HVG statistics of all shards merged (with the clipped sums for ``seurat_v3``) over the
    kept cells' rows :func:`ooc.batch_hvg_obs` gives, ready for :meth:`ooc_hvg.BatchHvg.select`; ``None``
    when the flavor and batch key need none."""
    hvg_obs = ooc.batch_hvg_obs(obs, hvg_fit, options)
    if hvg_obs is None:
        return None
    flavor, batch_key = options.hvg.hvg_flavor, options.hvg.hvg_batch_key
    batch_hvg = ooc_hvg.BatchHvg(flavor, batch_key, hvg_obs, n_vars, slots)  # the codes the decide job wrote
    merge_hvg_states(batch_hvg, (_npz(p) for p in files.sums))
    if batch_hvg.needs_clip_pass:
        if files.clip is None or len(files.clipped) != len(files.sums):
            raise ValueError(f"hvg flavor {flavor} needs the clip values and every shard's clipped sums")
        batch_hvg.use_clip_values(_npz(files.clip))
        for path in files.clipped:
            batch_hvg.merge_clipped(_npz(path))
    return batch_hvg


# ---- 6. HVGs and scaling statistics (reduce) -------------------------------------------------


def _final_shell(source: Source, files: ShardFiles) -> tuple[ad.AnnData, np.ndarray, np.ndarray]:
    """The kept cells' ``obs``/``var``/``uns`` with QC metrics and HVGs, and the scaling mean and std."""
    metrics = [_npz(p) for p in files.metrics]
    kept = [_npz(p) for p in files.kept]
    with source.open() as opened:
        decision = _decide(opened, source.options, metrics, kept)
        shell = _shell(opened, decision)
    keep = decision.cell_kept
    genes1, total1, mito1 = concat_metrics(kept)
    qc.store_cell_metrics(shell.obs, genes1[keep], total1[keep], mito1[keep])
    split = read_split(files.decision) if source.options.split.enabled else None
    n_fit, hvg_fit = shell.n_obs, None
    if split is not None:
        _apply_split(shell, split, source.options)
        n_fit = int(split.train.sum())
        hvg_fit = split.train if source.options.train_only.hvg_on_train else None
    slots = Plan.read(files.plan).slots
    sums = merge_sums(shell.n_vars, slots, (_npz(p) for p in files.sums), hvg_fit)
    sums.batch_hvg = merged_batch_hvg(shell.obs, hvg_fit, source.options, shell.n_vars, slots, files)
    mean, std = ooc.select_hvg(shell, sums, shell.n_obs, n_fit, source.options)
    return shell, mean, std


def hvg(source: Source, files: ShardFiles, out: StrPath) -> None:
    """The HVG columns and their scaling mean and standard deviation, for the per-shard transform jobs."""
    shell, mean, std = _final_shell(source, files)
    hvg_mask = shell.var["highly_variable"].to_numpy(dtype=bool)
    log.info("%d of %d genes highly variable", int(hvg_mask.sum()), shell.n_vars)
    _save(out, {"highly_variable": hvg_mask, "mean": mean, "std": std})


# ---- 7. per-shard scaled block (pass 4) ------------------------------------------------------


def scaled_block(
    rows: Mapping[str, np.ndarray],
    statistics: Mapping[str, np.ndarray],
    max_value: float | None,
    train_only: bool = False,
) -> np.ndarray:
    """A shard's kept rows' HVG columns, centred, divided and clipped (float32); ``train_only`` (with
    ``params.split``): as :func:`ooc.write_scaled` scales with the train rows' statistics."""
    hvg_mask = statistics["highly_variable"]
    position = np.where(hvg_mask, np.cumsum(hvg_mask) - 1, -1).astype(np.int64)
    x = _csr_of(rows, "x")
    dense = kernels.dense_columns(x.indptr, x.indices, x.data, position, int(hvg_mask.sum()))
    if train_only:
        scale_in_place(dense, Scaler(mean=statistics["mean"], std=statistics["std"], n_fitted=0, ddof=1), max_value)
    else:
        preprocess.apply_scaling(dense, statistics["mean"], statistics["std"], max_value)
    return dense


def shard_scale(options: ChainOptions, rows_path: StrPath, hvg_path: StrPath, out: StrPath) -> None:
    """Pass 4 over one shard: its scaled HVG block (``.npy``)."""
    block = scaled_block(_npz(rows_path), _npz(hvg_path), options.scale.scale_max_value, options.split.enabled)
    with written_whole(out) as partial:
        np.save(partial, block)


# ---- 8. gather -----------------------------------------------------------------------------


def gather(
    source: Source,
    files: ShardFiles,
    rows_paths: Sequence[StrPath],
    block_paths: Sequence[StrPath],
    hvg_path: StrPath,
    outputs: Outputs,
) -> None:
    """``processed.h5ad``, ``X.npy``, ``features.tsv``, ``obs.tsv`` and the facts from the shards' files."""
    table = StepTable()
    try:
        start = time.perf_counter()
        options = source.options
        shell, _, _ = _final_shell(source, files)
        hvg_mask = shell.var["highly_variable"].to_numpy(dtype=bool)
        if not np.array_equal(hvg_mask, _npz(hvg_path)["highly_variable"]):
            raise AssertionError("the HVGs differ from the ones the shards were scaled with")
        n_kept, n_vars = shell.shape
        n_hvg = int(hvg_mask.sum())
        with h5py.File(outputs.processed, "w") as out:
            ad.io.write_elem(out, "layers", {})
            first = True
            for path in rows_paths:
                rows = _npz(path)
                counts, x = _csr_of(rows, "counts"), _csr_of(rows, "x")
                if x.shape[0] == 0:
                    continue
                ooc.append_rows(out, first, counts, x, options.normalize)
                first = False
            ooc.write_annotations(out, shell)
        table.add("gather_h5ad", (n_kept, n_vars), (n_kept, n_vars), start)

        start = time.perf_counter()
        header = np.lib.format.open_memmap(outputs.x, mode="w+", dtype=np.float32, shape=(n_kept, n_hvg))
        offset = header.offset
        del header
        row = 0
        for path in block_paths:
            block = np.load(path, mmap_mode="r")
            if block.shape[1] != n_hvg:
                raise AssertionError(f"{path}: {block.shape[1]} columns, not {n_hvg}")
            if block.shape[0]:
                target = np.memmap(
                    outputs.x, dtype=np.float32, mode="r+", offset=offset + row * n_hvg * 4, shape=block.shape
                )
                target[:] = block
                target.flush()
                del target
            row += block.shape[0]
        if row != n_kept:
            raise AssertionError(f"the shards' blocks hold {row} rows, not {n_kept}")
        features = ooc.write_tables(shell, outputs, options, read_split(files.decision))
        table.add("gather_x", (n_kept, n_vars), (n_kept, n_hvg), start)

        start = time.perf_counter()
        add_embeddings(outputs.processed, np.load(outputs.x, mmap_mode="r"), features, options.embed)
        table.add("embed", (n_kept, n_hvg), (n_kept, n_hvg), start)
    finally:
        table.write(outputs.steps)


# ---- resources -------------------------------------------------------------------------------


def shard_mem_mb(plan_path: StrPath, index: int | None, attempt: int) -> int:
    """``mem_mb`` of a shard job (``index``) or of a reduce/gather job (``None``: its largest shard, which
    it holds at a time), from the plan (:func:`resources.shard_mem_mb`)."""
    the_plan = Plan.read(plan_path)
    if index is None:
        index = max(range(len(the_plan.shards)), key=lambda i: the_plan.shards[i].nnz)
    return resources.shard_mem_mb(the_plan.size(index), the_plan.n_cells, attempt)


def shard_runtime(plan_path: StrPath, index: int | None, attempt: int) -> int:
    """``runtime`` (minutes) of a shard job, or of a reduce/gather job (``None``: the whole input)."""
    the_plan = Plan.read(plan_path)
    if index is None:
        return resources.shard_runtime(
            resources.InputSize(the_plan.n_cells, the_plan.n_genes, sum(s.nnz for s in the_plan.shards)), attempt
        )
    return resources.shard_runtime(the_plan.size(index), attempt)


def shard_disk_mb(plan_path: StrPath, kind: str, index: int | None, attempt: int, n_hvg: int) -> int:
    """``disk_mb`` of the shard jobs that write large files, from the plan: ``rows`` (a shard's normalised
    rows, its sums job), ``block`` (its scaled HVG block, scale job) or ``outputs`` (``processed.h5ad`` and
    ``X.npy`` of the whole input, gather job; ``index`` is ``None``)."""
    the_plan = Plan.read(plan_path)
    if kind == "outputs":
        whole = resources.InputSize(the_plan.n_cells, the_plan.n_genes, sum(s.nnz for s in the_plan.shards))
        return resources.outputs_disk_mb(whole, attempt, n_hvg)
    assert index is not None
    if kind == "block":
        return resources.shard_block_disk_mb(the_plan.size(index), attempt, n_hvg)
    if kind == "rows":
        return resources.shard_rows_disk_mb(the_plan.size(index), attempt)
    raise ValueError(f"no disk estimate for {kind!r}")


# ---- the rules' params -----------------------------------------------------------------------


def _option_classes() -> dict[str, type[StepOptions]]:
    from genoprep.scrna import options as scrna_options
    from genoprep.scrna.splitting import TrainOnlyOptions
    from genoprep.splits import SplitOptions
    from genoprep.tasks.params import LeakageOptions

    return {
        "ingest": scrna_options.IngestOptions,
        "qc": scrna_options.QcOptions,
        "normalize": scrna_options.NormalizeOptions,
        "hvg": scrna_options.HvgOptions,
        "scale": scrna_options.ScaleOptions,
        "embed": scrna_options.EmbedOptions,
        "split": SplitOptions,
        "leakage": LeakageOptions,
        "train_only": TrainOnlyOptions,
        "shard": ShardOptions,
    }


def chain_params(card: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step's options of a card as plain dicts (one ``params`` entry of the shard rules)."""
    return {name: cls.from_card(card).as_params() for name, cls in _option_classes().items()}


def options_from(params: Mapping[str, Mapping[str, Any]]) -> tuple[ChainOptions, ShardOptions]:
    """:func:`chain_params`'s dicts back as the chain's options and the shard options."""
    built = {name: cls.from_params(params[name]) for name, cls in _option_classes().items()}
    shard_options = built.pop("shard")
    return ChainOptions(**built), shard_options  # type: ignore[arg-type]


def job_source(inputs: Any, dataset: str, options: ChainOptions) -> Source:
    """The :class:`Source` of a shard rule's ``input`` (data, metadata table if any, mito gene lists, the
    converted h5ad if any)."""
    metadata = inputs.metadata[0] if getattr(inputs, "metadata", None) else None
    stream = job_stream(inputs)
    return Source(inputs.data[0], metadata, tuple(getattr(inputs, "mito_genes", ())), dataset, options, stream)


def shard_files(inputs: Any) -> ShardFiles:
    """The :class:`ShardFiles` of a reduce or gather rule's ``input`` (``clip``/``clipped``: empty unless
    the flavor has a clip pass)."""
    clip = list(getattr(inputs, "clip", ()))
    return ShardFiles(
        inputs.plan,
        list(inputs.metrics),
        list(inputs.kept),
        list(inputs.sums),
        getattr(inputs, "decision", None),
        clip[0] if clip else None,
        list(getattr(inputs, "clipped", ())),
    )


def job_stream(inputs: Any) -> str | None:
    """The converted h5ad among a shard rule's ``input`` (``converted``: empty for an h5ad input)."""
    return inputs.converted[0] if getattr(inputs, "converted", None) else None


def run_in_process(
    source: Source,
    shard_options: ShardOptions,
    work: StrPath,
    outputs: Outputs,
) -> Plan:
    """Every job of rules/scrna_shard.smk in order, in this process, with the working files in ``work``
    (what the workflow runs as separate jobs; for tests and debugging)."""
    os.makedirs(work, exist_ok=True)

    def path(name: str) -> str:
        return os.path.join(work, name)

    options = source.options
    if options.ingest.format != "h5ad":
        convert_input(source.data, options, source.metadata, path("input.h5ad"))
        source = dataclasses.replace(source, stream=path("input.h5ad"))
    the_plan = plan(source.data, options, shard_options, path("plan.json"), source.stream)
    indices = range(len(the_plan.shards))
    clip = options.hvg.hvg_flavor in COUNT_FLAVORS
    files = ShardFiles(
        path("plan.json"),
        [path(f"metrics_{i}.npz") for i in indices],
        [path(f"kept_{i}.npz") for i in indices],
        [path(f"sums_{i}.npz") for i in indices],
        path("decision.npz"),
        path("clip.npz") if clip else None,
        [path(f"clipped_{i}.npz") for i in indices] if clip else [],
    )
    rows = [path(f"rows_{i}.npz") for i in indices]
    blocks = [path(f"block_{i}.npy") for i in indices]
    for i in indices:
        shard_metrics(source, shard_options, files.plan, i, files.metrics[i])
    for i in indices:
        shard_kept(source, shard_options, files.plan, i, files.metrics, files.kept[i])
    decide(source, files.metrics, files.kept, outputs.qc, outputs.cells, outputs.logs, path("decision.npz"))
    for i in indices:
        shard_sums(
            source.data,
            options,
            shard_options,
            files.plan,
            i,
            path("decision.npz"),
            files.sums[i],
            rows[i],
            source.stream,
        )
    if files.clip is not None:
        clip_values(options, files.plan, path("decision.npz"), files.sums, files.clip)
        for i in indices:
            shard_clip(options, files.plan, path("decision.npz"), rows[i], files.clip, files.clipped[i])
    hvg(source, files, path("hvg.npz"))
    for i in indices:
        shard_scale(options, rows[i], path("hvg.npz"), blocks[i])
    gather(source, files, rows, blocks, path("hvg.npz"), outputs)
    return the_plan
