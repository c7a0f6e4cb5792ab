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
from collections.abc import Iterable, Mapping
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
from scipy import sparse

from genoprep.errors import InputError

log = logging.getLogger(__name__)

QC_OBS = ("n_genes", "n_counts", "percent_mito")


def read_gene_list(path: str | os.PathLike[str]) -> set[str]:
    """Every id and symbol of a gene list TSV (``#`` comments, a header row)."""
    table = pd.read_csv(path, sep="\t", comment="#", dtype=str)
    return set(table.to_numpy().ravel()) - {""}


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


def compute_qc_metrics(adata: ad.AnnData) -> None:
    """scanpy's per-cell and per-gene QC metrics (needs ``var['mt']``), plus the spec's names."""
    sc.pp.calculate_qc_metrics(adata, qc_vars=["mt"], percent_top=None, log1p=False, inplace=True)
    adata.obs["n_genes"] = adata.obs["n_genes_by_counts"].to_numpy()
    adata.obs["n_counts"] = adata.obs["total_counts"].to_numpy()
    adata.obs["percent_mito"] = adata.obs["pct_counts_mt"].to_numpy()


def cell_metrics(adata: ad.AnnData) -> pd.DataFrame:
    """Per-cell ``n_genes_by_counts``, ``total_counts`` and ``pct_counts_mt`` (needs ``var['mt']``).

    The same definitions as ``sc.pp.calculate_qc_metrics`` (genes with a non-zero count;
    percent of the cell's counts in mitochondrial genes), computed directly on the sparse
    matrix: the filters need only these, and scanpy's full metrics run once, at the end.
    """
    matrix = sparse.csr_matrix(adata.X)
    total = np.ravel(matrix.sum(axis=1))
    mito = np.ravel(matrix[:, adata.var["mt"].to_numpy()].sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(total > 0, mito / total * 100, np.nan)
    return pd.DataFrame({"n_genes_by_counts": np.ravel((matrix != 0).sum(axis=1)), "total_counts": total,
                         "pct_counts_mt": pct}, index=adata.obs_names)


def _summary(metrics: pd.DataFrame, n_genes: int) -> dict[str, Any]:
    return {
        "cells": int(len(metrics)),
        "genes": int(n_genes),
        "mean_genes_per_cell": float(metrics["n_genes_by_counts"].mean()),
        "mean_counts_per_cell": float(metrics["total_counts"].mean()),
        "mean_pct_mito": float(metrics["pct_counts_mt"].mean()),
    }


def filter_cells_and_genes(adata: ad.AnnData, params: Mapping[str, Any],
                           source: str) -> tuple[ad.AnnData, dict[str, Any], pd.DataFrame]:
    """Apply the four QC filters; return the filtered AnnData, the QC report and a per-cell table.

    ``adata`` must carry ``var['mt']``. The report (for ``qc.json``) has the cells and
    genes before and after each filter and the mean genes/counts/% mito per cell before
    and after. The per-cell table lists every input cell with its metrics on the input
    matrix and ``removed_by``: the first filter that removed it (empty for kept cells).
    A filter that removes every cell raises :class:`InputError` naming the threshold to relax.
    """
    adata = adata.copy()
    cells = cell_metrics(adata)
    report: dict[str, Any] = {"before": _summary(cells, adata.n_vars), "filters": [],
                              "mito_genes": int(adata.var["mt"].sum())}
    cells["removed_by"] = ""

    def record(name: str, threshold: Any, before: tuple[int, int]) -> None:
        removed = ~cells.index.isin(adata.obs_names) & (cells["removed_by"] == "")
        cells.loc[removed, "removed_by"] = name
        report["filters"].append({
            "filter": name, "threshold": threshold,
            "cells_before": before[0], "cells_after": int(adata.n_obs),
            "genes_before": before[1], "genes_after": int(adata.n_vars),
        })
        if adata.n_obs == 0 or adata.n_vars == 0:
            raise InputError(source, f"no {'cells' if adata.n_obs == 0 else 'genes'} left after the {name} filter "
                                     f"({name}={threshold}); relax params.{name} in the card", record="params")

    shape = adata.shape
    sc.pp.filter_cells(adata, min_genes=params["min_genes"])
    record("min_genes", params["min_genes"], shape)

    shape = adata.shape
    sc.pp.filter_genes(adata, min_cells=params["min_cells"])
    record("min_cells", params["min_cells"], shape)

    for name, column in (("max_genes", "n_genes_by_counts"), ("max_pct_mito", "pct_counts_mt")):
        threshold = params[name]
        shape = adata.shape
        if threshold is not None:
            keep = (cell_metrics(adata)[column] <= threshold).to_numpy()
            adata = adata[keep].copy()
        record(name, threshold, shape)

    compute_qc_metrics(adata)
    report["after"] = _summary(adata.obs, adata.n_vars)
    # filter_genes wrote var["n_cells"] before the cell filters; refresh it for the final cells
    adata.var["n_cells"] = adata.var["n_cells_by_counts"].to_numpy()
    cells.insert(0, "cell_id", cells.index.astype(str))
    return adata, report, cells.reset_index(drop=True)

