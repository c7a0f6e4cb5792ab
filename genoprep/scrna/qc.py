"""Quality control of cells and genes, with scanpy's metrics and filters.

Order of the filters (as in scanpy's tutorials; each threshold comes from the card):

1. ``min_genes``  — ``sc.pp.filter_cells(min_genes=...)``: cells with at least this many genes;
2. ``min_cells``  — ``sc.pp.filter_genes(min_cells=...)``: genes detected in at least this many cells;
3. ``max_genes``  — cells with ``n_genes_by_counts <= max_genes`` (inclusive, like ``filter_cells(max_genes=)``);
4. ``max_pct_mito`` — cells with ``pct_counts_mt <= max_pct_mito`` (a percentage, 0-100).

Metrics for 3 and 4 are computed after 1 and 2 (on the genes kept); the metrics stored
at the end are recomputed on the final matrix. Besides scanpy's names (``n_genes_by_counts``,
``total_counts``, ``pct_counts_mt``), obs gets the spec's ``n_genes``, ``n_counts`` and
``percent_mito`` (the same values; ``percent_mito`` in percent).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from genoprep.errors import InputError
from genoprep.filters import FilterStep, describe
from genoprep.scrna import kernels
from genoprep.scrna.options import QcOptions
from genoprep.textio import open_text

log = logging.getLogger(__name__)

QC_OBS = ("n_genes", "n_counts", "percent_mito")


def read_gene_list(path: str | os.PathLike[str]) -> set[str]:
    """Every id and symbol of a gene list TSV (``#`` comments, a header row).

    Empty fields are skipped, never read as a missing value (pandas would make them NaN, which
    then matched a gene literally named ``nan``); surrounding blanks are stripped.
    """
    with open_text(path) as handle:
        table = pd.read_csv(handle, sep="\t", comment="#", dtype=str, keep_default_na=False, na_filter=False)
    return {value.strip() for value in table.to_numpy().ravel()} - {""}


def flag_mito(var: pd.DataFrame, var_names: pd.Index, prefixes: Iterable[str], genes: Iterable[str]) -> np.ndarray:
    """Boolean mask of mitochondrial genes.

    A gene is mitochondrial when its symbol (``var['gene_symbols']``, else its name)
    starts with one of ``prefixes`` (``MT-`` human, ``mt-`` mouse), or when its name, id or
    symbol is in ``genes`` (e.g. the Ensembl ids of resources/mito_genes_human.tsv).
    """
    prefixes = tuple(prefixes)
    genes = set(genes)
    symbols = var["gene_symbols"].astype(str) if "gene_symbols" in var else pd.Series(var_names, index=var.index)
    symbols = symbols.where(symbols != "", pd.Series(var_names, index=var.index))
    mask = symbols.str.startswith(prefixes).to_numpy() if prefixes else np.zeros(len(var), dtype=bool)
    if genes:
        mask |= np.isin(np.asarray(var_names, dtype=str), list(genes))
        for column in ("gene_ids", "gene_symbols"):
            if column in var:
                mask |= var[column].astype(str).isin(genes).to_numpy()
    return mask


def pct_mito(mito: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Percent of counts in mitochondrial genes as scanpy's ``pct_counts_mt`` (float32, NaN for empty cells).

    This is the reported value only; :func:`mito_within` decides the filter exactly.
    """
    mito32 = mito.astype(np.float32)
    total32 = total.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (mito32 / total32) * np.float32(100)


def mito_within(mito: np.ndarray, total: np.ndarray, max_pct: float) -> np.ndarray:
    """``mito / total * 100 <= max_pct`` decided exactly for exact fractions: ``mito * 100 * q <= p * total``
    where ``p / q`` is the threshold as written (``Fraction(str(max_pct))``, e.g. 12.5 = 25/2).

    The float32 percentage scanpy computes puts a cell with 3 of 10 counts at 30.0000019 %,
    above ``max_pct_mito: 30``, although the filter keeps cells *at* the threshold. Counts
    are integers below 2**24 and ``q`` is bounded, so these float64 products are exact.
    A cell without counts has no percentage and is removed (as scanpy's NaN is).
    """
    threshold = Fraction(str(max_pct)).limit_denominator(10**6)
    return (total > 0) & (mito * 100.0 * threshold.denominator <= threshold.numerator * total)


@dataclass
class QcDecision:
    """What the filters decided, before anything is copied: kept cells and genes, the report
    for ``qc.json`` (without ``after``), the per-cell table and the filter steps."""

    cell_kept: np.ndarray
    gene_kept: np.ndarray
    cells_per_gene: np.ndarray
    report: dict[str, Any]
    cells: pd.DataFrame
    steps: list[FilterStep]


def decide_filters(adata: ad.AnnData, options: QcOptions) -> QcDecision:
    """Decide the four QC filters (see :func:`apply_filters` for the copy).

    ``adata`` (float32 CSR ``X``, ``var['mt']``) is not changed. The report (for
    ``qc.json``) has the cells and genes before and after each filter and the mean
    genes/counts/% mito per cell before and after. The per-cell table lists every input
    cell with its metrics on the input matrix and ``removed_by``: the first filter that
    removed it (empty for kept cells). The filters decide on metrics computed in one pass
    each over the CSR arrays, exactly as scanpy's filters would (``min_genes`` on all genes;
    ``max_genes`` and ``max_pct_mito`` on the genes kept by ``min_cells``), and the kept
    rows and columns are copied once, by :func:`apply_filters`.
    """
    matrix = adata.X
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    n_genes = adata.n_vars
    mito_mask = adata.var["mt"].to_numpy(dtype=bool)
    all_genes = np.ones(n_genes, dtype=bool)
    return decide_from_metrics(
        adata.obs_names,
        n_genes,
        mito_mask,
        options,
        kernels.row_metrics(indptr, indices, data, all_genes, mito_mask),
        lambda keep: kernels.column_metrics(indptr, indices, data, keep, n_genes)[0],
        lambda gene_kept: kernels.row_metrics(indptr, indices, data, gene_kept, mito_mask),
    )


def decide_from_metrics(
    cell_ids: pd.Index,
    n_genes: int,
    mito_mask: np.ndarray,
    options: QcOptions,
    first: tuple[np.ndarray, np.ndarray, np.ndarray],
    cells_per_gene_of: Callable[[np.ndarray], np.ndarray],
    kept_metrics_of: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> QcDecision:
    """:func:`decide_filters` from the per-cell metrics over all genes (``first``: genes detected, total,
    mito total) and two callbacks: the cells per gene over the cells kept by ``min_genes``, and the
    per-cell metrics over the genes kept by ``min_cells``. The in-memory path computes them on the
    matrix; the out-of-core path (:mod:`genoprep.scrna.ooc`) in passes over chunks of cells."""
    genes0, total0, mito0 = first
    n_cells = len(cell_ids)
    cells = pd.DataFrame(
        {
            "cell_id": cell_ids.astype(str),
            "n_genes_by_counts": genes0.astype(np.int32),
            "total_counts": total0.astype(np.float32),
            "pct_counts_mt": pct_mito(mito0, total0),
        }
    )
    removed_by = np.full(n_cells, "", dtype=object)
    report: dict[str, Any] = {"before": summary(cells, n_genes), "filters": [], "mito_genes": int(mito_mask.sum())}
    steps: list[FilterStep] = []

    def record(
        name: str,
        threshold: Any,
        kept: np.ndarray,
        before: np.ndarray,
        genes_before: int,
        genes_after: int,
        unit: str,
        values: np.ndarray | None,
        label: str,
    ) -> None:
        removed_by[before & ~kept & (removed_by == "")] = name
        report["filters"].append(
            {
                "filter": name,
                "threshold": threshold,
                "cells_before": int(before.sum()),
                "cells_after": int(kept.sum()),
                "genes_before": genes_before,
                "genes_after": genes_after,
            }
        )
        rule = "" if threshold is None else f"{name} {'>=' if name.startswith('min') else '<='} {threshold:g}"
        spread = describe(values, label) if values is not None and values.size else ""
        if unit == "genes":
            steps.append(FilterStep(name, "genes", genes_before, genes_after, rule, spread))
        else:
            steps.append(FilterStep(name, "cells", int(before.sum()), int(kept.sum()), rule, spread))

    everyone = np.ones(n_cells, dtype=bool)
    keep = genes0 >= options.min_genes
    record("min_genes", options.min_genes, keep, everyone, n_genes, n_genes, "cells", genes0, "genes detected per cell")
    cells_per_gene = cells_per_gene_of(keep)
    gene_kept = cells_per_gene >= options.min_cells
    n_kept_genes = int(gene_kept.sum())
    record("min_cells", options.min_cells, keep, keep, n_genes, n_kept_genes, "genes", cells_per_gene, "cells per gene")
    genes1, total1, mito1 = kept_metrics_of(gene_kept)
    before = keep
    if options.max_genes is not None:
        keep = before & (genes1 <= options.max_genes)
    record(
        "max_genes",
        options.max_genes,
        keep,
        before,
        n_kept_genes,
        n_kept_genes,
        "cells",
        genes1[before],
        "genes detected per cell",
    )
    before = keep
    if options.max_pct_mito is not None:
        keep = before & mito_within(mito1, total1, options.max_pct_mito)
    record(
        "max_pct_mito",
        options.max_pct_mito,
        keep,
        before,
        n_kept_genes,
        n_kept_genes,
        "cells",
        pct_mito(mito1, total1)[before],
        "% mito per cell",
    )
    cells["removed_by"] = removed_by
    return QcDecision(keep, gene_kept, cells_per_gene, report, cells, steps)


def check_left(decision: QcDecision, source: str) -> None:
    """One line when a filter removed every cell or every gene (naming the filter)."""
    for step in decision.steps:
        if step.after == 0:
            raise InputError(
                source,
                f"no {step.unit} left after the {step.name} filter ({step.threshold}); "
                f"relax params.{step.name} in the card",
                record="params",
            )


def apply_filters(adata: ad.AnnData, decision: QcDecision) -> tuple[ad.AnnData, dict[str, Any]]:
    """The kept cells and genes as a new AnnData, with the final metrics, and the completed report.

    The kept values are moved to the front of ``adata.X``'s own arrays (no second copy of
    the matrix), so ``adata`` must not be used afterwards: its matrix is consumed.
    """
    keep, gene_kept = decision.cell_kept, decision.gene_kept
    matrix = adata.X
    new_column = np.where(gene_kept, np.cumsum(gene_kept) - 1, -1).astype(np.int64)
    indptr = kernels.compact(matrix.indptr, matrix.indices, matrix.data, keep, new_column)
    nnz = int(indptr[-1])
    shape = (int(keep.sum()), int(gene_kept.sum()))
    filtered = ad.AnnData(
        X=sparse.csr_matrix((matrix.data[:nnz], matrix.indices[:nnz], indptr), shape=shape, copy=False),
        obs=adata.obs.iloc[np.flatnonzero(keep)].copy(),
        var=adata.var.iloc[np.flatnonzero(gene_kept)].copy(),
    )
    adata.X = sparse.csr_matrix(adata.shape, dtype=np.float32)  # the consumed matrix is not left behind
    compute_qc_metrics(filtered)
    return filtered, {**decision.report, "after": summary(filtered.obs, filtered.n_vars)}


def compute_qc_metrics(adata: ad.AnnData) -> None:
    """scanpy's ``calculate_qc_metrics(qc_vars=['mt'], percent_top=None, log1p=False)`` columns, with the
    same names and dtypes, computed in two passes over the CSR arrays; plus the spec's names
    (``n_genes``, ``n_counts``, ``percent_mito``) and ``var['n_cells']`` for the final cells."""
    matrix = adata.X
    mito_mask = adata.var["mt"].to_numpy(dtype=bool)
    store_cell_metrics(
        adata.obs,
        *kernels.row_metrics(matrix.indptr, matrix.indices, matrix.data, np.ones(adata.n_vars, dtype=bool), mito_mask),
    )
    cells_with, gene_total = kernels.column_metrics(
        matrix.indptr, matrix.indices, matrix.data, np.ones(adata.n_obs, dtype=bool), adata.n_vars
    )
    store_gene_metrics(adata.var, adata.n_obs, cells_with, gene_total)


def store_cell_metrics(obs: pd.DataFrame, genes: np.ndarray, total: np.ndarray, mito: np.ndarray) -> None:
    """The per-cell columns of :func:`compute_qc_metrics` from the final cells' metrics (in place)."""
    obs["n_genes_by_counts"] = genes.astype(np.int32)
    obs["total_counts"] = total.astype(np.float32)
    obs["total_counts_mt"] = mito.astype(np.float32)
    obs["pct_counts_mt"] = pct_mito(mito, total)
    obs["n_genes"] = obs["n_genes_by_counts"].to_numpy()
    obs["n_counts"] = obs["total_counts"].to_numpy()
    obs["percent_mito"] = obs["pct_counts_mt"].to_numpy()


def store_gene_metrics(var: pd.DataFrame, n_cells: int, cells_with: np.ndarray, gene_total: np.ndarray) -> None:
    """The per-gene columns of :func:`compute_qc_metrics` from the final genes' cell counts and totals (in place)."""
    var["n_cells_by_counts"] = cells_with
    var["mean_counts"] = gene_total / n_cells
    var["pct_dropout_by_counts"] = (1 - cells_with / n_cells) * 100
    var["total_counts"] = gene_total.astype(np.float32)
    var["n_cells"] = cells_with


def summary(metrics: pd.DataFrame, n_genes: int) -> dict[str, Any]:
    return {
        "cells": len(metrics),
        "genes": int(n_genes),
        "mean_genes_per_cell": float(metrics["n_genes_by_counts"].mean()),
        "mean_counts_per_cell": float(metrics["total_counts"].mean()),
        "mean_pct_mito": float(metrics["pct_counts_mt"].mean()),
    }
