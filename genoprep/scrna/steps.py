"""The scRNA-seq steps, one function each, run in this order by :func:`genoprep.scrna.chain.process`:

ingest -> quality_control (decide) -> filter_cells (copy once) -> normalize -> select_hvg
-> ml_matrix (scaled HVG block), then facts for the completed card.

Each takes the AnnData of the step before and its own options (:mod:`genoprep.scrna.options`)
and returns data; the chain writes the files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from genoprep.errors import InputError
from genoprep.provenance import software_versions as provenance_software_versions
from genoprep.provenance import verify_sha256
from genoprep.scrna import annotate, io, preprocess, qc
from genoprep.scrna.options import HvgOptions, IngestOptions, NormalizeOptions, QcOptions, ScaleOptions
from genoprep.tables import read_table

log = logging.getLogger(__name__)

SOFTWARE = (
    "scanpy",
    "anndata",
    "numpy",
    "scipy",
    "pandas",
    "h5py",
    "scikit-misc",
    "numba",
    "scikit-learn",
    "umap-learn",
)


def software_versions() -> dict[str, str]:
    """genoprep and the libraries the scRNA-seq chain computes with."""
    return provenance_software_versions(SOFTWARE)


def check_columns(options: IngestOptions, available: Iterable[str] | None, source: str) -> None:
    """The card's label columns and ``hvg_batch_key`` must name per-cell columns that exist.

    ``available`` are the input's own per-cell columns (read without the matrix) and the
    metadata table's; ``None`` when the input's cannot be known before reading it.
    Checked before the matrix is read, so that a typo costs seconds, not a full run.
    """
    if available is None:
        return
    names = {str(name) for name in available}
    shown = ", ".join(sorted(names)[:15]) or "none"
    for label in annotate.LABELS:
        ref = options.columns.get(label)
        if ref is not None and str(ref) not in names:
            raise InputError(
                source,
                f"columns.{label} names column {ref!r}, which is not there (per-cell columns: {shown})",
                record="columns",
            )
    key = options.hvg_batch_key
    mapped = {label for label in annotate.LABELS if options.columns.get(label) is not None}
    if key is not None and key not in names | mapped:
        raise InputError(
            source,
            f"params.hvg_batch_key names column {key!r}, which is not there "
            f"(per-cell columns: {', '.join(sorted(names | mapped)[:15]) or 'none'})",
            record="params",
        )


def read_metadata(metadata_path: str | os.PathLike[str], options: IngestOptions) -> pd.DataFrame:
    """The card's per-cell metadata table, indexed by cell id."""
    verify_sha256(metadata_path, options.metadata_sha256)
    return read_table(
        metadata_path, options.metadata_format, header=options.metadata_header, id_column=options.metadata_id_column
    )


def ingest(
    data_path: str | os.PathLike[str],
    options: IngestOptions,
    dataset_id: str,
    metadata_path: str | os.PathLike[str] | None = None,
) -> ad.AnnData:
    """Read the card's matrix, check its values, join metadata, map labels and gene ids.

    Cheap checks come first: the SHA-256 when the card gives one, the metadata table and
    the column names the card refers to (against the input's header), then the matrix; a
    scaled or normalised matrix is refused right after reading.
    """
    source = str(data_path)
    table = check_header(data_path, options, metadata_path)
    adata = io.read_matrix(data_path, options.format, orientation=options.orientation, layer=options.layer)
    io.check_values(adata, source, options.value_type)
    annotate_ingested(adata, table, options, dataset_id, source, metadata_path)
    return adata


def check_header(
    data_path: str | os.PathLike[str], options: IngestOptions, metadata_path: str | os.PathLike[str] | None
) -> pd.DataFrame | None:
    """The cheap checks before a matrix is read: SHA-256, the metadata table, the columns named by the card.
    Returns the metadata table (``None`` without one)."""
    source = str(data_path)
    if options.sha256 is not None:
        verify_sha256(data_path, options.sha256)
    table = read_metadata(metadata_path, options) if metadata_path is not None else None
    own = io.obs_columns(data_path, options.format)
    available = None if own is None else [*own, *(table.columns if table is not None else [])]
    check_columns(options, available, str(metadata_path) if table is not None else source)
    return table


def annotate_ingested(
    adata: ad.AnnData,
    table: pd.DataFrame | None,
    options: IngestOptions,
    dataset_id: str,
    source: str,
    metadata_path: str | os.PathLike[str] | None,
) -> None:
    """Join the metadata, map labels and gene ids, and record the dataset in ``uns['genoprep']``
    (``obs``/``var`` only: the out-of-core path calls this on an AnnData without a matrix)."""
    unused_rows = 0
    if table is not None:
        unused_rows = annotate.add_metadata(adata, table, str(metadata_path), options.metadata_unmatched)
    columns = dict(options.columns)
    annotate.apply_labels(adata, columns, source)
    annotate.annotate_genes(adata, columns, source)
    adata.uns["genoprep"] = {
        "dataset_id": dataset_id,
        "value_type": options.value_type,
        "metadata_rows_unmatched": unused_rows,
    }
    log.info("ingested %s: %d cells x %d genes", source, adata.n_obs, adata.n_vars)


def quality_control(
    adata: ad.AnnData, options: QcOptions, mito_gene_lists: Iterable[str | os.PathLike[str]]
) -> qc.QcDecision:
    """Flag mitochondrial genes (``var['mt']``) and decide the filters (see :mod:`genoprep.scrna.qc`)."""
    known = set(options.mito_genes)
    for path in mito_gene_lists:
        known |= qc.read_gene_list(path)
    adata.var["mt"] = qc.flag_mito(adata.var, adata.var_names, options.mito_prefixes, known)
    decision = qc.decide_filters(adata, options)
    info = adata.uns["genoprep"]
    decision.report = {
        "dataset_id": info["dataset_id"],
        **decision.report,
        "metadata_rows_unmatched": info["metadata_rows_unmatched"],
    }
    return decision


def filter_cells(adata: ad.AnnData, decision: qc.QcDecision) -> tuple[ad.AnnData, dict[str, Any]]:
    """The kept cells and genes, copied once, with their final QC metrics; and the report for ``qc.json``."""
    filtered, report = qc.apply_filters(adata, decision)
    filtered.uns["genoprep"] = dict(adata.uns["genoprep"])
    return filtered, {**report, "metadata_rows_unmatched": report.pop("metadata_rows_unmatched")}


def normalize(adata: ad.AnnData, options: NormalizeOptions, *, in_place: bool = False) -> ad.AnnData:
    """``layers['counts']`` = the counts (the same buffers); ``X`` = log1p(normalize_total), unless the
    card says the input is log-normalised already. With ``in_place`` the counts' values are overwritten
    and ``layers['counts']`` is not set (the caller has written the counts out)."""
    if options.value_type == "counts":
        counts = adata.X
        adata.X = preprocess.normalize_log1p(counts, options.target_sum, in_place=in_place)
        if not in_place:
            adata.layers["counts"] = counts
        adata.uns["log1p"] = {"base": None}
    else:
        log.info("input is log-normalised already: normalize_total and log1p skipped")
    return adata


def select_hvg(adata: ad.AnnData, options: HvgOptions) -> ad.AnnData:
    """Highly variable genes (``var['highly_variable']``, ``means``, ``dispersions``, ...)."""
    n_hvg = preprocess.select_hvg(adata, options)
    adata.uns["genoprep"] = {**adata.uns["genoprep"], "n_hvg": n_hvg}
    return adata


def record_provenance(adata: ad.AnnData, *options: Any) -> None:
    """The options that made the dataset and the software versions, in ``uns['genoprep']``."""
    params: dict[str, Any] = {}
    for step in options:
        params.update({k: list(v) if isinstance(v, tuple) else v for k, v in step.as_params().items()})
    adata.uns["genoprep"] = {**adata.uns["genoprep"], "params": params, "software": software_versions()}


def hvg_matrix(adata: ad.AnnData) -> tuple[sparse.csr_matrix, list[str]]:
    """The HVG columns of ``X`` (a small CSR copy) and their names, in column order."""
    hvg = adata.var["highly_variable"].to_numpy(dtype=bool)
    return preprocess.hvg_block(adata.X, hvg), list(adata.var_names[hvg])


def ml_matrix(block: sparse.csr_matrix, options: ScaleOptions) -> np.ndarray:
    """The scaled, clipped cells x HVG float32 matrix (the only dense array)."""
    return preprocess.scale_block(block, options.scale_max_value)


def facts(
    adata: ad.AnnData,
    normalize_options: NormalizeOptions,
    hvg_options: HvgOptions,
    scale_options: ScaleOptions,
    n_features: int,
) -> dict[str, Any]:
    """What the completed card records about the processed dataset."""
    counts = normalize_options.value_type == "counts"
    return {
        "n_cells": int(adata.n_obs),
        "n_genes": int(adata.n_vars),
        "n_features": n_features,
        "preprocessing": {
            "software": software_versions(),
            "normalization": (
                f"scanpy normalize_total target_sum={normalize_options.target_sum:g}, log1p"
                if counts
                else "none (input already log-normalised)"
            ),
            "feature_selection": preprocess.hvg_description(hvg_options, n_features),
            "scaling": f"scanpy scale zero_center=True max_value={scale_options.scale_max_value}",
        },
    }
