"""Normalisation, highly variable genes and scaling, as plain scanpy calls.

- :func:`normalize` — ``layers['counts']`` keeps the raw counts; ``X`` becomes
  ``log1p(normalize_total(target_sum))``.
- :func:`select_hvg` — ``sc.pp.highly_variable_genes`` with the card's flavor; the
  ``seurat_v3`` flavors run on ``layers['counts']`` as scanpy requires. ``var`` gets
  ``highly_variable``, ``means``, ``dispersions`` (for seurat_v3: the count variance over
  the count mean, the same ratio) and ``mean_counts`` (from the QC metrics).
- :func:`scale_hvg` — the highly variable genes of ``X``, ``sc.pp.scale(max_value)``, as a
  dense float32 cells x HVG matrix: the ML matrix.
"""

from __future__ import annotations

import logging
from typing import Any

import anndata as ad
import numpy as np
import scanpy as sc
from scipy import sparse

log = logging.getLogger(__name__)

COUNT_FLAVORS = ("seurat_v3", "seurat_v3_paper")


def normalize(adata: ad.AnnData, target_sum: float) -> None:
    """Keep raw counts in ``layers['counts']``; ``X`` = log1p of counts scaled to ``target_sum`` per cell."""
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=target_sum)
    sc.pp.log1p(adata)


def effective_n_top_genes(n_top_genes: int, n_vars: int) -> int:
    """``n_top_genes`` capped at the number of genes left after QC."""
    if n_top_genes > n_vars:
        log.warning("n_top_genes=%d exceeds the %d genes after QC; using %d", n_top_genes, n_vars, n_vars)
    return min(n_top_genes, n_vars)


def select_hvg(adata: ad.AnnData, flavor: str, n_top_genes: int, batch_key: str | None = None) -> int:
    """Flag highly variable genes in ``var['highly_variable']``; return how many were flagged."""
    n_top = effective_n_top_genes(n_top_genes, adata.n_vars)
    layer = None
    if flavor in COUNT_FLAVORS:
        if "counts" not in adata.layers:
            raise ValueError(f"hvg flavor {flavor} needs raw counts, and this dataset has none")
        layer = "counts"
    sc.pp.highly_variable_genes(adata, flavor=flavor, n_top_genes=n_top, batch_key=batch_key, layer=layer)
    if "dispersions" not in adata.var:
        with np.errstate(divide="ignore", invalid="ignore"):
            adata.var["dispersions"] = np.where(adata.var["means"] > 0,
                                                adata.var["variances"] / adata.var["means"], 0.0)
    return int(adata.var["highly_variable"].sum())


def scale_hvg(adata: ad.AnnData, max_value: float | None) -> np.ndarray:
    """Dense float32 cells x HVG matrix, z-scored per gene and clipped at ``max_value``.

    Only the highly variable columns are densified (the output is dense by nature).
    """
    subset = adata[:, adata.var["highly_variable"].to_numpy()]
    matrix = subset.X.toarray() if sparse.issparse(subset.X) else np.asarray(subset.X)
    scaled = sc.pp.scale(np.asarray(matrix, dtype=np.float32), max_value=max_value, copy=True)
    return np.ascontiguousarray(scaled, dtype=np.float32)


def hvg_description(params: dict[str, Any], n_hvg: int) -> str:
    """A human-readable record of the feature selection for the completed card."""
    batch = f", batch_key={params['hvg_batch_key']}" if params.get("hvg_batch_key") else ""
    return f"scanpy highly_variable_genes flavor={params['hvg_flavor']}, n_top_genes={n_hvg}{batch}"
