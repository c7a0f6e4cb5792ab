"""The bulk RNA-seq chain, one function per workflow step, named after its rule.

``bulk_ingest`` -> :func:`ingest`, ``bulk_normalize`` -> :func:`normalize`, ``bulk_export``
-> :func:`export` (per-sample QC, the ML matrix and the facts for the card; the script
writes them with the shared writers). Each takes its slice of the card
(:mod:`genoprep.bulk.options`).

The AnnData passed between steps is samples x genes. ``uns['genoprep']`` carries what
later steps and the completed card need (value type, filter counts, QC outcome).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import anndata as ad
import numpy as np
import pandas as pd

from genoprep import embed, leakage
from genoprep.bulk import io, preprocess, qc
from genoprep.bulk.options import ExportOptions, IngestOptions, NormalizeOptions
from genoprep.errors import InputError
from genoprep.filters import FilterStep, describe, guard, summary_line
from genoprep.provenance import software_versions as installed_versions
from genoprep.provenance import verify_sha256
from genoprep.runtime import console
from genoprep.splits import SPLITS, SplitOptions
from genoprep.tables import join_metadata, looks_like_ensembl, map_labels, read_table
from genoprep.tasks.steps import split_rows
from genoprep.tasks.train_only import apply_scaler, fit_scaler
from genoprep.textio import check_readable

log = logging.getLogger(__name__)

SOFTWARE = ("anndata", "numpy", "pandas", "h5py", "scikit-learn")
#: obs columns genoprep computes; label names may not take them
QC_OBS = ("library_size", "n_genes_detected", "median_correlation", "qc_outlier", "qc_outlier_reasons")
RESERVED_OBS = ("sample_id", *QC_OBS)
#: the expression filters, in the order they apply
GENE_FILTERS = ("min_mean_log", "min_fraction_expressed")
_MAX_LISTED = 50


def software_versions() -> dict[str, str]:
    """genoprep and the libraries the bulk chain computes with."""
    return installed_versions(SOFTWARE)


def _info(adata: ad.AnnData) -> dict[str, Any]:
    return dict(adata.uns["genoprep"])


# ---------------------------------------------------------------- ingest


def _label_columns(columns: Mapping[str, str | int], obs: pd.DataFrame, source: str) -> Mapping[str, str | int]:
    """The card's label mapping, or (without one) every metadata column under its own name."""
    if columns:
        return columns
    mapping: dict[str, str | int] = {}
    for name in obs.columns:
        if name in RESERVED_OBS:
            log.warning("%s: metadata column %r has a name genoprep computes; it is not used as a label", source, name)
            continue
        mapping[str(name)] = name
    return mapping


def _gene_var(table: io.ExpressionTable, options: IngestOptions, source: str) -> pd.DataFrame:
    var = table.gene_annotation.copy()
    var.index = pd.Index(table.genes)
    ids = np.asarray(table.genes, dtype=str)
    symbol_column = options.gene_symbol_column
    if symbol_column is not None:
        if symbol_column not in var.columns:
            raise InputError(
                source,
                f"input.gene_symbol_column {symbol_column!r} must be one of input.annotation_columns",
                record="input",
            )
        symbols = var[symbol_column].astype(str).to_numpy()
    else:
        symbols = np.full(len(ids), "", dtype=object) if looks_like_ensembl(table.genes) else ids
    var["gene_ids"] = ids
    var["gene_symbols"] = np.asarray(symbols, dtype=str)
    return var


def ingest(
    options: IngestOptions,
    data_path: str | os.PathLike[str],
    metadata_path: str | os.PathLike[str] | None = None,
    *,
    gene_ids_path: str | os.PathLike[str] | None = None,
    sample_ids_path: str | os.PathLike[str] | None = None,
) -> ad.AnnData:
    """Rule ``bulk_ingest``: read and check the table, join the sample metadata, map the labels.

    The input's SHA-256 is checked first when the card gives one. Every sample must have
    a metadata row (missing ones are refused, naming them); metadata rows for samples not
    in the table are counted and listed in ``uns['genoprep']`` (and later in ``qc.json``).
    NumPy input (``npy``/``npz``) takes its ids from the sidecar files or the archive.
    """
    source = str(data_path)
    check_readable(data_path)
    input_sha256 = verify_sha256(data_path, options.sha256)
    reading = {
        "orientation": options.orientation,
        "value_type": options.value_type,
        "duplicate_genes": options.duplicate_genes,
    }
    if options.format in io.ARRAY_FORMATS:
        sidecars = {"gene_ids_path": gene_ids_path, "sample_ids_path": sample_ids_path}
        table = io.read_expression_array(data_path, options.format, **reading, **sidecars, arrays=options.arrays)
    else:
        columns = {"id_column": options.id_column, "annotation_columns": options.annotation_columns}
        table = io.read_expression_table(data_path, options.format, **reading, **columns)

    obs = table.sample_annotation.copy()
    obs.index = pd.Index(table.samples)
    unused: list[str] = []
    without_row: list[str] = []
    if metadata_path is not None:
        meta = options.metadata
        assert meta is not None, "a metadata file without the card's metadata entry"
        check_readable(metadata_path)
        verify_sha256(metadata_path, meta["sha256"])
        metadata = read_table(metadata_path, meta["format"], header=meta["header"], id_column=meta["id_column"])
        rows, report = join_metadata(
            table.samples, metadata, str(metadata_path), what="samples", unmatched=meta["unmatched"]
        )
        unused, without_row = list(report.unused_rows), list(report.unmatched_ids)
        for name in rows.columns:
            obs[str(name)] = rows[name].to_numpy()
    labels = map_labels(obs, _label_columns(options.columns, obs, source), source)
    for label, values in labels.items():
        obs[label] = values

    adata = ad.AnnData(X=table.values, obs=obs, var=_gene_var(table, options, source))
    adata.uns["genoprep"] = {
        "dataset_id": options.dataset_id,
        "input": source,
        "input_sha256": input_sha256,
        "value_type": options.value_type,
        "n_genes_input": int(len(table.genes) + sum(n - 1 for n in table.duplicate_genes.values())),
        "duplicate_genes": {
            "policy": options.duplicate_genes,
            "ids": len(table.duplicate_genes),
            "rows": int(sum(table.duplicate_genes.values())),
        },
        "labels": list(labels),
        "metadata_rows_unmatched": len(unused),
        "metadata_ids_unmatched": unused[:_MAX_LISTED],
        "samples_without_metadata": without_row[:_MAX_LISTED],
    }
    log.info(
        "ingested %s: %d samples x %d genes, labels: %s", source, adata.n_obs, adata.n_vars, ", ".join(labels) or "none"
    )
    return adata


# ---------------------------------------------------------------- normalise + filter


def gene_filter_steps(result: preprocess.GeneFilter, options: NormalizeOptions) -> list[FilterStep]:
    """The expression filter as :class:`~genoprep.filters.FilterStep` records (genes), in order."""
    n_genes = int(result.mean_log.size)
    after_mean = int(result.passes_mean.sum())
    mean_rule = (
        "disabled" if options.min_mean_log is None else f"mean log expression over samples > {options.min_mean_log:g}"
    )
    return [
        FilterStep(
            "min_mean_log",
            "genes",
            n_genes,
            after_mean,
            mean_rule,
            describe(result.mean_log, "mean log expression per gene"),
        ),
        FilterStep(
            "min_fraction_expressed",
            "genes",
            after_mean,
            int(result.keep.sum()),
            f"fraction of samples with log expression > {options.expressed_threshold:g} >= "
            f"{options.min_fraction_expressed:g}",
            describe(result.fraction_expressed, "fraction of samples expressing a gene"),
        ),
    ]


def normalize(adata: ad.AnnData, options: NormalizeOptions) -> ad.AnnData:
    """Rule ``bulk_normalize``: log expression (CPM + log1p for counts), the expression filter.

    Returns a new AnnData of the genes that pass; ``X`` is the log expression, layers
    ``raw`` and ``log``; ``obs`` gains ``library_size`` and ``n_genes_detected`` (over all
    genes), ``var`` gains ``mean_log`` and ``fraction_expressed``. What the filter removed
    is said on the terminal (one line); keeping fewer than ``min_fraction_kept`` of the
    genes stops the run with one line naming the input table, the filter and the genes'
    distribution.
    """
    info = _info(adata)
    source = info["input"]
    value_type = info["value_type"]
    raw = np.asarray(adata.X, dtype=np.float64)
    sizes = preprocess.library_sizes(raw)
    if value_type == "counts" and options.cpm:
        empty = np.flatnonzero(sizes <= 0)
        if empty.size:
            raise InputError(
                source,
                "library size is 0: CPM is undefined (remove the sample, or set params.cpm: false)",
                record=f"sample {adata.obs_names[empty[0]]}",
            )
    log_expr = preprocess.log_values(raw, value_type, options.cpm)
    threshold = options.expressed_threshold
    adata.obs["library_size"] = sizes
    adata.obs["n_genes_detected"] = qc.genes_detected(log_expr, threshold).astype(np.int64)

    result = preprocess.expression_filter(log_expr, options.min_mean_log, options.min_fraction_expressed, threshold)
    adata.var["mean_log"] = result.mean_log
    adata.var["fraction_expressed"] = result.fraction_expressed
    keep = result.keep
    steps = gene_filter_steps(result, options)
    console(summary_line(info["dataset_id"], steps))
    guard(source, steps, "genes", options.min_fraction_kept)
    rule = preprocess.filter_description(options.min_mean_log, options.min_fraction_expressed, threshold)
    if not keep.any():
        raise InputError(
            source,
            f"no genes pass the expression filter ({rule}); relax params.min_mean_log or "
            f"params.min_fraction_expressed in the card",
            record="params",
        )
    filtered = adata[:, keep].copy()
    filtered.layers["raw"] = raw[:, keep]
    filtered.layers["log"] = log_expr[:, keep]
    filtered.X = filtered.layers["log"].copy()
    gene_filters = {  # a dict of dicts: h5ad uns cannot hold a list of dicts
        "min_mean_log": {
            "threshold": options.min_mean_log,
            "genes_before": steps[0].before,
            "genes_after": steps[0].after,
        },
        "min_fraction_expressed": {
            "threshold": options.min_fraction_expressed,
            "expressed_threshold": threshold,
            "genes_before": steps[1].before,
            "genes_after": steps[1].after,
        },
    }
    filtered.uns["genoprep"] = {
        **info,
        "gene_filters": gene_filters,
        "filter": rule,
        "params": options.as_params(),
        "normalization": preprocess.normalization_description(value_type, options.cpm),
    }
    log.info("expression filter: %d of %d genes kept", filtered.n_vars, steps[0].before)
    return filtered


# ---------------------------------------------------------------- QC


def sample_qc(adata: ad.AnnData, options: ExportOptions) -> tuple[ad.AnnData, dict[str, Any]]:
    """Sample-to-sample correlation and outlier flags (obs), and the ``qc.json`` report."""
    info = _info(adata)
    log_expr = np.asarray(adata.layers["log"], dtype=np.float64)
    corr = qc.correlation_matrix(log_expr)
    medians = qc.median_correlations(corr)
    sizes = adata.obs["library_size"].to_numpy(dtype=np.float64)
    rules = [
        qc.library_size_rule(sizes, options.library_size_mads, info["value_type"] == "counts"),
        qc.correlation_rule(medians, options.correlation_mads),
    ]
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
        "dataset_id": info["dataset_id"],
        "value_type": info["value_type"],
        "samples": adata.n_obs,
        "genes_input": info["n_genes_input"],
        "duplicate_genes": info["duplicate_genes"],
        "genes_after_filters": adata.n_vars,
        "gene_filters": [
            {"filter": name, **info["gene_filters"][name]} for name in GENE_FILTERS if name in info["gene_filters"]
        ],
        "metadata_rows_unmatched": info["metadata_rows_unmatched"],
        "metadata_ids_unmatched": list(info["metadata_ids_unmatched"]),
        "samples_without_metadata": list(info["samples_without_metadata"]),
        "outlier_rules": [
            {
                "rule": r.name,
                "mads": r.mads,
                "applied": r.applied,
                "median": number(r.median),
                "mad": number(r.mad),
                "note": r.note,
                "flagged": int(r.flagged.sum()),
            }
            for r in rules
        ],
        "outliers": outliers,
        "per_sample": [
            {
                "sample_id": s,
                "library_size": float(sizes[i]),
                "n_genes_detected": int(adata.obs["n_genes_detected"].iloc[i]),
                "median_correlation": number(medians[i]),
                "outlier": bool(reasons[i]),
                "outlier_reasons": reasons[i].split(";") if reasons[i] else [],
            }
            for i, s in enumerate(samples)
        ],
        "correlation": {
            "method": "pearson, on the log expression of the genes kept by the filter",
            "samples": samples,
            "matrix": [[number(v) for v in row] for row in corr],
        },
    }
    adata.uns["genoprep"] = {**info, "outliers": len(outliers)}
    return adata, report


# ---------------------------------------------------------------- export


class Export(NamedTuple):
    """What rule ``bulk_export`` writes: processed.h5ad, qc.json, X.npy + features.tsv + obs.tsv, facts."""

    adata: ad.AnnData
    qc: dict[str, Any]
    matrix: np.ndarray
    features: list[str]
    obs: pd.DataFrame
    facts: dict[str, Any]


def ml_matrix(adata: ad.AnnData, zscore: bool, train: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """The float32 samples x genes ML matrix (z-scored log expression, or log) and its feature names.

    With ``train`` (a boolean mask of the train samples) the z-score mean and std (ddof=0) are
    fitted on the train samples only and applied to every sample (a gene constant on the
    train samples gets std 1).
    """
    log_expr = np.asarray(adata.layers["log"], dtype=np.float64)
    if not zscore:
        values = log_expr
    elif train is None:
        values = preprocess.zscore(log_expr)[0]
    else:
        values = apply_scaler(log_expr, fit_scaler(log_expr, train, ddof=0), dtype=np.float64)
    return np.ascontiguousarray(values, dtype=np.float32), [str(g) for g in adata.var_names]


def assign_splits(adata: ad.AnnData, split: SplitOptions, policy: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The split of each sample (obs columns can be named by params.split) and the qc.json section.

    Leakage checks: identical samples (the same raw expression vector) and, with
    ``group_by``, groups crossing splits.
    """
    columns = {str(name): adata.obs[name].to_numpy() for name in adata.obs.columns}
    keys = [("identical samples", leakage.cell_keys(np.asarray(adata.layers["raw"])))]
    ids = [str(i) for i in adata.obs_names]
    splits, split_qc, _ = split_rows(ids, columns, split, policy, _info(adata)["input"], keys=keys)
    n = split_qc["splits"]["n"]
    console(
        f"{_info(adata)['dataset_id']}: split {n['train']}/{n['val']}/{n['test']} samples ({split.describe()}); "
        f"{split_qc['leakage_line']}"
    )
    return np.asarray(splits, dtype=object), {k: v for k, v in split_qc.items() if k != "leakage_line"}


def export(adata: ad.AnnData, options: ExportOptions, split: SplitOptions, policy: str) -> Export:
    """Rule ``bulk_export``: per-sample QC, then ``processed.h5ad`` (X = the ML matrix), the ML
    files' content and the facts for the completed card.

    With ``split.enabled`` the samples get their split (a ``split`` column in obs and
    obs.tsv, the summary and leakage checks in qc.json) and the z-scores are fitted on the
    train samples only.
    """
    adata, report = sample_qc(adata, options)
    splits = None
    if split.enabled:
        splits, split_qc = assign_splits(adata, split, policy)
        report = {**report, **split_qc}
    matrix, features = ml_matrix(adata, options.zscore, None if splits is None else splits == "train")
    adata.X = matrix
    adata.obsm["X_pca"], variance_ratio = embed.pca(matrix, options.n_pcs)
    adata.uns["pca"] = {"variance_ratio": variance_ratio, "params": {"n_comps": adata.obsm["X_pca"].shape[1]}}
    info = _info(adata)
    adata.uns["genoprep"] = {
        **info,
        "params": {**info["params"], **options.as_params()},
        "software": software_versions(),
    }
    obs = obs_table(adata)
    card_facts = facts(adata, options, len(features))
    if splits is not None:
        adata.obs["split"] = pd.Categorical(splits.astype(str), categories=list(SPLITS))
        obs["split"] = splits.astype(str)
        preprocessing = {**card_facts["preprocessing"], "split": split.describe()}
        if options.zscore:
            preprocessing["scaling"] += "; mean and std fitted on the train samples only"
        card_facts = {**card_facts, "splits": report["splits"]["n"], "preprocessing": preprocessing}
    return Export(adata, report, matrix, features, obs, card_facts)


def obs_table(adata: ad.AnnData) -> pd.DataFrame:
    """Sample id first, then the labels (card order), then the per-sample QC columns."""
    labels = [str(c) for c in _info(adata)["labels"]]
    table = pd.DataFrame({"sample_id": adata.obs_names.astype(str)})
    for name in labels:
        table[name] = adata.obs[name].astype(str).to_numpy()
    for name in QC_OBS:
        if name in adata.obs:
            table[name] = adata.obs[name].to_numpy()
    return table


def facts(adata: ad.AnnData, options: ExportOptions, n_features: int) -> dict[str, Any]:
    """What the completed card records about the processed dataset."""
    info = _info(adata)
    return {
        "n_samples": int(adata.n_obs),
        "n_genes": int(adata.n_vars),
        "n_genes_input": info["n_genes_input"],
        "n_features": n_features,
        "n_outliers_flagged": info["outliers"],
        "labels": list(info["labels"]),
        "preprocessing": {
            "software": software_versions(),
            "value_type": info["value_type"],
            "normalization": info["normalization"],
            "filter": info["filter"],
            "scaling": (
                "z-score per gene (ddof=0, as scikit-learn StandardScaler; constant genes become 0)"
                if options.zscore
                else "none (X is the log expression)"
            ),
            "qc": (
                f"outliers flagged, not removed: library_size_mads={options.library_size_mads}, "
                f"correlation_mads={options.correlation_mads}"
            ),
        },
    }
