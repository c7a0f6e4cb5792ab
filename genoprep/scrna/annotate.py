"""Labels and gene annotation: the card's ``columns`` mapping applied to an AnnData.

obs gets genoprep's label names (``cell_type``, ``donor_id``, ``batch``) from the source's
own obs columns or from the joined metadata table; var gets ``gene_ids`` (Ensembl where
known) and ``gene_symbols``.
"""

from __future__ import annotations

from collections.abc import Mapping

import anndata as ad
import pandas as pd

from genoprep.errors import InputError
from genoprep.tables import join_metadata, looks_like_ensembl, map_labels

LABELS = ("cell_type", "donor_id", "batch")
GENE_COLUMNS = ("gene_ids", "gene_symbols")


def add_metadata(adata: ad.AnnData, table: pd.DataFrame, source: str, unmatched: str) -> int:
    """Join a per-cell table onto ``adata.obs`` with the card's ``metadata.unmatched`` policy.

    Metadata columns are added as ``obs`` columns; where a name is already taken the
    metadata column wins (the table is the card's explicit choice). Returns the number of
    metadata rows that matched no cell.
    """
    rows, report = join_metadata(adata.obs_names, table, source, what="cells", unmatched=unmatched)
    for name in rows.columns:
        adata.obs[str(name)] = rows[name].to_numpy()
    return len(report.unused_rows)


def _column(frame: pd.DataFrame, ref: str | int, what: str, source: str) -> pd.Series:
    key = str(ref)
    if key in frame.columns:
        return frame[key]
    available = ", ".join(map(str, frame.columns[:15])) or "none"
    raise InputError(
        source, f"columns.{what} names column {ref!r}, which is not there (available: {available})", record="columns"
    )


def apply_labels(adata: ad.AnnData, columns: Mapping[str, str | int], source: str) -> None:
    """Copy the mapped label columns to obs under genoprep's names, as categoricals (``NA`` for missing)."""
    for label, values in map_labels(adata.obs, columns, source, LABELS).items():
        adata.obs[label] = pd.Categorical(values)


def annotate_genes(adata: ad.AnnData, columns: Mapping[str, str | int], source: str) -> None:
    """Fill ``var['gene_ids']`` and ``var['gene_symbols']``.

    A mapped column is used as given. Unmapped: an existing ``gene_ids`` column is kept
    (10x), and gene names that look like Ensembl ids become ``gene_ids``; otherwise the
    gene names are the symbols. Unknown values are empty strings.
    """
    names = adata.var_names.to_series(index=adata.var_names)
    ensembl_names = looks_like_ensembl(adata.var_names)
    for what in GENE_COLUMNS:
        ref = columns.get(what)
        if ref is not None:
            adata.var[what] = _column(adata.var, ref, what, source).astype(str).to_numpy()
    if "gene_ids" not in adata.var:
        adata.var["gene_ids"] = names.to_numpy() if ensembl_names else ""
    if "gene_symbols" not in adata.var:
        adata.var["gene_symbols"] = "" if ensembl_names else names.to_numpy()
    for what in GENE_COLUMNS:
        adata.var[what] = adata.var[what].astype(str)
