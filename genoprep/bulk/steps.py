"""The bulk RNA-seq chain, one function per workflow step (each called by one script).

ingest -> normalize_step -> qc_step -> export_step (+ facts)

The AnnData passed between steps is samples x genes. ``uns['genoprep']`` carries what
later steps and the completed card need (value type, filter counts, QC outcome).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from genoprep import __version__
from genoprep.bulk import io, preprocess, qc
from genoprep.errors import InputError
from genoprep.provenance import package_versions, verify_sha256
from genoprep.tables import join_metadata, read_metadata_table

log = logging.getLogger(__name__)

SOFTWARE = ("anndata", "numpy", "pandas", "h5py")
#: obs columns genoprep computes; label names may not take them
QC_OBS = ("library_size", "n_genes_detected", "median_correlation", "qc_outlier", "qc_outlier_reasons")
RESERVED_OBS = ("sample_id", *QC_OBS)
#: the expression filters, in the order they apply
GENE_FILTERS = ("min_mean_log", "min_fraction_expressed")
_MAX_LISTED = 50


def software_versions() -> dict[str, str]:
    """genoprep and the libraries the bulk chain computes with."""
    return {"genoprep": __version__, **package_versions(SOFTWARE)}


def _info(adata: ad.AnnData) -> dict[str, Any]:
    return dict(adata.uns.get("genoprep", {}))


# ---------------------------------------------------------------- ingest

def _label_source(obs: pd.DataFrame, ref: str | int, metadata_columns: Sequence[Any], label: str,
                  source: str) -> pd.Series:
    if isinstance(ref, int) and ref in metadata_columns:  # header-less metadata: columns are positions
        return obs[str(ref)]
    if str(ref) in obs.columns:
        return obs[str(ref)]
    available = ", ".join(map(str, obs.columns[:15])) or "none (the card has no metadata table)"
    raise InputError(source, f"columns.{label} names column {ref!r}, which is not in the sample metadata "
                             f"(available: {available})", record="columns")


def _labels(columns: Mapping[str, str | int], obs: pd.DataFrame, metadata_columns: Sequence[Any],
            source: str) -> dict[str, pd.Series]:
    """The label columns: the card's mapping, or (without one) every metadata column by its own name."""
    if columns:
        return {label: _label_source(obs, ref, metadata_columns, label, source) for label, ref in columns.items()}
    labels = {}
    for name in obs.columns:
        if name in RESERVED_OBS:
            log.warning("%s: metadata column %r has a name genoprep computes; it is not used as a label", source, name)
            continue
        labels[str(name)] = obs[name]
    return labels


def _as_label(values: pd.Series) -> np.ndarray:
    return values.astype("string").fillna("NA").to_numpy(dtype=str)


def _gene_var(table: io.ExpressionTable, spec: Mapping[str, Any], source: str) -> pd.DataFrame:
    var = table.gene_annotation.copy()
    var.index = pd.Index(table.genes)
    ids = np.asarray(table.genes, dtype=str)
    symbol_column = spec.get("gene_symbol_column")
    if symbol_column is not None:
        if symbol_column not in var.columns:
            raise InputError(source, f"input.gene_symbol_column {symbol_column!r} must be one of "
                                     f"input.annotation_columns", record="input")
        symbols = var[symbol_column].astype(str).to_numpy()
    else:
        symbols = np.full(len(ids), "", dtype=object) if io.looks_like_ensembl(table.genes) else ids
    var["gene_ids"] = ids
    var["gene_symbols"] = np.asarray(symbols, dtype=str)
    return var


def ingest(data_path: str | os.PathLike[str], card: Mapping[str, Any],
           metadata_path: str | os.PathLike[str] | None = None) -> ad.AnnData:
    """Read and check the card's table, join the sample metadata, map the labels.

    The input's SHA-256 is checked first when the card gives one. Every sample must have
    a metadata row (missing ones are refused, naming them); metadata rows for samples not
    in the table are counted and listed in ``uns['genoprep']`` (and later in ``qc.json``).
    """
    spec = card["input"]
    source = str(data_path)
    input_sha256 = verify_sha256(data_path, spec.get("sha256"))
    orientation = spec.get("orientation", "genes_x_samples")
    id_key = "gene_id_column" if orientation == "genes_x_samples" else "sample_id_column"
    value_type = spec.get("value_type", "counts")
    table = io.read_expression_table(
        data_path, spec["format"], orientation=orientation, id_column=spec.get(id_key, 0),
        annotation_columns=spec.get("annotation_columns", []), value_type=value_type,
        duplicate_genes=spec.get("duplicate_genes", "refuse"))

    obs = table.sample_annotation.copy()
    obs.index = pd.Index(table.samples)
    metadata_columns: list[Any] = []
    unmatched: list[str] = []
    if metadata_path is not None:
        meta = card["metadata"]
        verify_sha256(metadata_path, meta.get("sha256"))
        metadata = read_metadata_table(metadata_path, meta.get("format"), header=meta.get("header", True),
                                       id_column=meta.get("id_column", 0))
        rows, _ = join_metadata(table.samples, metadata, str(metadata_path), what="samples")
        unmatched = [str(i) for i in metadata.index.difference(pd.Index(table.samples), sort=False)]
        metadata_columns = list(metadata.columns)
        for name in rows.columns:
            obs[str(name)] = rows[name].to_numpy()
    labels = _labels(card.get("columns") or {}, obs, metadata_columns, source)
    for label, values in labels.items():
        obs[label] = _as_label(values)

    adata = ad.AnnData(X=table.values, obs=obs, var=_gene_var(table, spec, source))
    adata.uns["genoprep"] = {
        "dataset_id": card["dataset_id"],
        "input_sha256": input_sha256,
        "value_type": value_type,
        "n_genes_input": int(len(table.genes) + sum(n - 1 for n in table.duplicate_genes.values())),
        "duplicate_genes": {"policy": spec.get("duplicate_genes", "refuse"), "ids": len(table.duplicate_genes),
                            "rows": int(sum(table.duplicate_genes.values()))},
        "labels": list(labels),
        "metadata_rows_unmatched": len(unmatched),
        "metadata_ids_unmatched": unmatched[:_MAX_LISTED],
    }
    log.info("ingested %s: %d samples x %d genes, labels: %s", source, adata.n_obs, adata.n_vars,
             ", ".join(labels) or "none")
    return adata


# ---------------------------------------------------------------- normalise + filter

def normalize_step(adata: ad.AnnData, params: Mapping[str, Any], source: str) -> ad.AnnData:
    """Log expression (CPM + log1p for counts), the expression filter; layers raw and log.

    Returns a new AnnData of the genes that pass; ``X`` is the log expression,
    ``obs`` gains ``library_size`` and ``n_genes_detected`` (over all genes), ``var`` gains
    ``mean_log`` and ``fraction_expressed``.
    """
    info = _info(adata)
    value_type = info["value_type"]
    raw = np.asarray(adata.X, dtype=np.float64)
    sizes = preprocess.library_sizes(raw)
    if value_type == "counts" and params["cpm"]:
        empty = np.flatnonzero(sizes <= 0)
        if empty.size:
            raise InputError(source, "library size is 0: CPM is undefined (remove the sample, or set "
                                     "params.cpm: false)", record=f"sample {adata.obs_names[empty[0]]}")
    log_expr = preprocess.log_values(raw, value_type, params["cpm"])
    threshold = params["expressed_threshold"]
    adata.obs["library_size"] = sizes
    adata.obs["n_genes_detected"] = qc.genes_detected(log_expr, threshold).astype(np.int64)

    result = preprocess.expression_filter(log_expr, params["min_mean_log"], params["min_fraction_expressed"],
                                          threshold)
    adata.var["mean_log"] = result.mean_log
    adata.var["fraction_expressed"] = result.fraction_expressed
    keep = result.keep
    n_genes = int(adata.n_vars)
    after_mean = int(result.passes_mean.sum())
    steps = {  # a dict of dicts: h5ad uns cannot hold a list of dicts
        "min_mean_log": {"threshold": params["min_mean_log"], "genes_before": n_genes, "genes_after": after_mean},
        "min_fraction_expressed": {"threshold": params["min_fraction_expressed"], "expressed_threshold": threshold,
                                   "genes_before": after_mean, "genes_after": int(keep.sum())},
    }
    if not keep.any():
        rule = preprocess.filter_description(params["min_mean_log"], params["min_fraction_expressed"], threshold)
        raise InputError(source, f"no genes pass the expression filter ({rule}); relax params.min_mean_log or "
                                 f"params.min_fraction_expressed in the card", record="params")
    filtered = adata[:, keep].copy()
    filtered.layers["raw"] = raw[:, keep]
    filtered.layers["log"] = log_expr[:, keep]
    filtered.X = filtered.layers["log"].copy()
    filtered.uns["genoprep"] = {**info, "gene_filters": steps,
                                "normalization": preprocess.normalization_description(value_type, params["cpm"])}
    log.info("expression filter: %d of %d genes kept", filtered.n_vars, n_genes)
    return filtered


# ---------------------------------------------------------------- QC

def qc_step(adata: ad.AnnData, params: Mapping[str, Any]) -> tuple[ad.AnnData, dict[str, Any]]:
    """Sample-to-sample correlation and outlier flags (obs), and the ``qc.json`` report."""
    info = _info(adata)
    log_expr = np.asarray(adata.layers["log"], dtype=np.float64)
    corr = qc.correlation_matrix(log_expr)
    medians = qc.median_correlations(corr)
    sizes = adata.obs["library_size"].to_numpy(dtype=np.float64)
    rules = [qc.library_size_rule(sizes, params["library_size_mads"], info["value_type"] == "counts"),
             qc.correlation_rule(medians, params["correlation_mads"])]
    reasons = [";".join(rule.name for rule in rules if rule.flagged[i]) for i in range(adata.n_obs)]
    adata.obs["median_correlation"] = medians
    adata.obs["qc_outlier"] = np.array([bool(r) for r in reasons])
    adata.obs["qc_outlier_reasons"] = np.asarray(reasons, dtype=str)
    samples = [str(s) for s in adata.obs_names]
    outliers = [s for s, r in zip(samples, reasons) if r]
    for sample, reason in zip(samples, reasons):
        if reason:
            log.warning("sample %s flagged as an outlier (%s); it is kept", sample, reason)

    def number(value: float, digits: int = 6) -> float | None:
        return round(float(value), digits) if np.isfinite(value) else None

    report = {
        "dataset_id": info.get("dataset_id"),
        "value_type": info["value_type"],
        "samples": adata.n_obs,
        "genes_input": info.get("n_genes_input"),
        "duplicate_genes": info.get("duplicate_genes"),
        "genes_after_filters": adata.n_vars,
        "gene_filters": [{"filter": name, **info["gene_filters"][name]} for name in GENE_FILTERS
                         if name in info.get("gene_filters", {})],
        "metadata_rows_unmatched": info.get("metadata_rows_unmatched", 0),
        "metadata_ids_unmatched": list(info.get("metadata_ids_unmatched", [])),
        "outlier_rules": [
            {"rule": r.name, "mads": r.mads, "applied": r.applied, "median": number(r.median), "mad": number(r.mad),
             "note": r.note, "flagged": int(r.flagged.sum())} for r in rules],
        "outliers": outliers,
        "per_sample": [
            {"sample_id": s, "library_size": float(sizes[i]),
             "n_genes_detected": int(adata.obs["n_genes_detected"].iloc[i]),
             "median_correlation": number(medians[i]), "outlier": bool(reasons[i]),
             "outlier_reasons": reasons[i].split(";") if reasons[i] else []}
            for i, s in enumerate(samples)],
        "correlation": {
            "method": "pearson, on the log expression of the genes kept by the filter",
            "samples": samples,
            "matrix": [[number(v) for v in row] for row in corr],
        },
    }
    adata.uns["genoprep"] = {**info, "outliers": len(outliers)}
    return adata, report


# ---------------------------------------------------------------- export

def ml_matrix(adata: ad.AnnData, params: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
    """The float32 samples x genes ML matrix (z-scored log expression, or log) and its feature names."""
    log_expr = np.asarray(adata.layers["log"], dtype=np.float64)
    values = preprocess.zscore(log_expr)[0] if params["zscore"] else log_expr
    return np.ascontiguousarray(values, dtype=np.float32), [str(g) for g in adata.var_names]


def export_step(adata: ad.AnnData, params: Mapping[str, Any]) -> tuple[ad.AnnData, np.ndarray, list[str]]:
    """``processed.h5ad`` content (X = the ML matrix) plus the matrix and feature names."""
    matrix, features = ml_matrix(adata, params)
    adata.X = matrix
    adata.uns["genoprep"] = {**_info(adata), "params": dict(params), "software": software_versions()}
    return adata, matrix, features


def obs_table(adata: ad.AnnData) -> pd.DataFrame:
    """Sample id first, then the labels (card order), then the per-sample QC columns."""
    labels = [str(c) for c in _info(adata).get("labels", [])]
    table = pd.DataFrame({"sample_id": adata.obs_names.astype(str)})
    for name in labels:
        table[name] = adata.obs[name].astype(str).to_numpy()
    for name in QC_OBS:
        if name in adata.obs:
            table[name] = adata.obs[name].to_numpy()
    return table


def facts(adata: ad.AnnData, params: Mapping[str, Any], n_features: int) -> dict[str, Any]:
    """What the completed card records about the processed dataset."""
    info = _info(adata)
    return {
        "n_samples": int(adata.n_obs),
        "n_genes": int(adata.n_vars),
        "n_genes_input": info.get("n_genes_input"),
        "n_features": n_features,
        "n_outliers_flagged": info.get("outliers", 0),
        "labels": list(info.get("labels", [])),
        "preprocessing": {
            "software": software_versions(),
            "value_type": info["value_type"],
            "normalization": info["normalization"],
            "filter": preprocess.filter_description(params["min_mean_log"], params["min_fraction_expressed"],
                                                    params["expressed_threshold"]),
            "scaling": ("z-score per gene (ddof=0, as scikit-learn StandardScaler; constant genes become 0)"
                        if params["zscore"] else "none (X is the log expression)"),
            "qc": (f"outliers flagged, not removed: library_size_mads={params['library_size_mads']}, "
                   f"correlation_mads={params['correlation_mads']}"),
        },
    }
