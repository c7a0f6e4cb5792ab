"""The scRNA-seq chain, one function per workflow step (each called by one script).

ingest -> quality_control -> normalize_step -> hvg_step -> ml_matrix
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from genoprep import __version__
from genoprep.provenance import package_versions, verify_sha256
from genoprep.scrna import annotate, io, preprocess, qc
from genoprep.tables import read_metadata_table

log = logging.getLogger(__name__)

SOFTWARE = ("scanpy", "anndata", "numpy", "scipy", "pandas", "h5py", "scikit-misc")


def software_versions() -> dict[str, str]:
    """genoprep and the libraries the scRNA-seq chain computes with."""
    return {"genoprep": __version__, **package_versions(SOFTWARE)}


def ingest(data_path: str | os.PathLike[str], card: Mapping[str, Any],
           metadata_path: str | os.PathLike[str] | None = None) -> ad.AnnData:
    """Read the card's matrix, check its values, join metadata, map labels and gene ids.

    The input's SHA-256 is checked first when the card gives one. Cheap checks come before
    the heavy ones: a scaled or normalised matrix is refused right after reading.
    """
    spec = card["input"]
    source = str(data_path)
    input_sha256 = verify_sha256(data_path, spec.get("sha256"))
    adata = io.read_matrix(data_path, spec["format"], orientation=spec.get("orientation"), layer=spec.get("layer"))
    io.check_values(adata, source, spec.get("value_type", "counts"))
    unused_rows = 0
    if metadata_path is not None:
        meta = card["metadata"]
        verify_sha256(metadata_path, meta.get("sha256"))
        table = read_metadata_table(metadata_path, meta.get("format"), header=meta.get("header", True),
                                    id_column=meta.get("id_column", 0))
        unused_rows = annotate.add_metadata(adata, table, str(metadata_path))
    columns = card.get("columns", {})
    annotate.apply_labels(adata, columns, source)
    annotate.annotate_genes(adata, columns, source)
    adata.uns["genoprep"] = {
        "dataset_id": card["dataset_id"],
        "input_sha256": input_sha256,
        "value_type": spec.get("value_type", "counts"),
        "metadata_rows_unmatched": unused_rows,
    }
    log.info("ingested %s: %d cells x %d genes", source, adata.n_obs, adata.n_vars)
    return adata


def quality_control(adata: ad.AnnData, params: Mapping[str, Any], mito_gene_lists: Iterable[str | os.PathLike[str]],
                    source: str) -> tuple[ad.AnnData, dict[str, Any], pd.DataFrame]:
    """Flag mitochondrial genes, compute QC metrics and filter (see :mod:`genoprep.scrna.qc`).

    Returns the filtered AnnData, the report for ``qc.json`` and the per-cell QC table.
    """
    known = set(params.get("mito_genes", []))
    for path in mito_gene_lists:
        known |= qc.read_gene_list(path)
    adata.var["mt"] = qc.flag_mito(adata.var, adata.var_names, params["mito_prefixes"], known)
    filtered, report, cells = qc.filter_cells_and_genes(adata, params, source)
    info = dict(adata.uns.get("genoprep", {}))
    report = {"dataset_id": info.get("dataset_id"), **report,
              "metadata_rows_unmatched": info.get("metadata_rows_unmatched", 0)}
    return filtered, report, cells


def normalize_step(adata: ad.AnnData, params: Mapping[str, Any]) -> ad.AnnData:
    """normalize_total + log1p, unless the card says the input is already log-normalised."""
    if adata.uns["genoprep"]["value_type"] == "counts":
        preprocess.normalize(adata, params["target_sum"])
    else:
        log.info("input is log-normalised already: normalize_total and log1p skipped")
    return adata


def hvg_step(adata: ad.AnnData, params: Mapping[str, Any]) -> ad.AnnData:
    """Highly variable genes; records the parameters and software versions in ``uns['genoprep']``."""
    n_hvg = preprocess.select_hvg(adata, params["hvg_flavor"], params["n_top_genes"], params.get("hvg_batch_key"))
    adata.var["mean_counts"] = adata.var["mean_counts"].to_numpy()
    adata.uns["genoprep"] = {**adata.uns["genoprep"], "params": dict(params), "n_hvg": n_hvg,
                             "software": software_versions()}
    return adata


def facts(adata: ad.AnnData, params: Mapping[str, Any], n_features: int) -> dict[str, Any]:
    """What the completed card records about the processed dataset."""
    counts = adata.uns["genoprep"]["value_type"] == "counts"
    return {
        "n_cells": int(adata.n_obs),
        "n_genes": int(adata.n_vars),
        "n_features": n_features,
        "preprocessing": {
            "software": software_versions(),
            "normalization": (f"scanpy normalize_total target_sum={params['target_sum']:g}, log1p"
                              if counts else "none (input already log-normalised)"),
            "feature_selection": preprocess.hvg_description(dict(params), n_features),
            "scaling": f"scanpy scale zero_center=True max_value={params['scale_max_value']}",
        },
    }


def ml_matrix(adata: ad.AnnData, params: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
    """The scaled cells x HVG float32 matrix and its feature names in column order."""
    matrix = preprocess.scale_hvg(adata, params["scale_max_value"])
    features = list(adata.var_names[adata.var["highly_variable"].to_numpy()])
    return matrix, features

