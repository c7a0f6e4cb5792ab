"""Normalisation, log transform, the expression filter and the per-gene z-score (numpy only).

Definitions (the card's ``params`` name the thresholds):

- library size of a sample: the sum of its raw values over *all* genes of the table;
- ``counts``: CPM = count / library size x 1e6 (when ``cpm`` is on), then ``log1p``
  (natural log); with ``cpm: false``, ``log1p(count)``;
- ``tpm``, ``fpkm``, ``rpkm``: ``log1p(value)`` (no library-size normalisation: these are
  normalised already);
- ``log``: the values as given (no second log);
- a gene is *expressed* in a sample when its log value is > ``expressed_threshold``;
- expression filter: keep a gene when the mean of its log values over all samples is
  strictly greater than ``min_mean_log`` (``null`` disables) *and* the fraction of samples
  in which it is expressed is >= ``min_fraction_expressed``;
- z-score per gene: (x - mean) / standard deviation with ddof=0, as scikit-learn's
  ``StandardScaler``; genes whose variance is indistinguishable from 0 (StandardScaler's
  own test) are only centred, so they become 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CPM_SCALE = 1e6


def library_sizes(raw: np.ndarray) -> np.ndarray:
    """Per-sample sums of the raw values (samples x genes)."""
    return raw.sum(axis=1, dtype=np.float64)


def cpm(raw: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Counts per million: each sample's counts over its library size, times 1e6."""
    return raw / sizes[:, None] * CPM_SCALE


def log_values(raw: np.ndarray, value_type: str, use_cpm: bool) -> np.ndarray:
    """The log expression (samples x genes) of raw values of the given type."""
    if value_type == "log":
        return np.array(raw, dtype=np.float64, copy=True)
    if value_type == "counts" and use_cpm:
        return np.log1p(cpm(raw, library_sizes(raw)))
    return np.log1p(raw)


def normalization_description(value_type: str, use_cpm: bool) -> str:
    """How :func:`log_values` transformed a table, for the completed card."""
    if value_type == "log":
        return "none (input.value_type is log: values used as given, no second log)"
    if value_type == "counts" and use_cpm:
        return "counts to CPM (count / library size x 1e6, library size over all genes), then natural log1p"
    if value_type == "counts":
        return "natural log1p of the raw counts (params.cpm is false: no library-size normalisation)"
    return f"natural log1p of the {value_type.upper()} values (already normalised: no CPM)"


@dataclass(frozen=True)
class GeneFilter:
    """The expression filter's result over all genes."""

    mean_log: np.ndarray
    fraction_expressed: np.ndarray
    passes_mean: np.ndarray
    passes_fraction: np.ndarray

    @property
    def keep(self) -> np.ndarray:
        return self.passes_mean & self.passes_fraction


def expression_filter(
    log: np.ndarray, min_mean_log: float | None, min_fraction_expressed: float, expressed_threshold: float
) -> GeneFilter:
    """Which genes pass: mean log value > ``min_mean_log`` and expressed in enough samples."""
    mean_log = log.mean(axis=0)
    fraction = (log > expressed_threshold).mean(axis=0)
    passes_mean = mean_log > min_mean_log if min_mean_log is not None else np.ones(log.shape[1], dtype=bool)
    passes_fraction = fraction >= min_fraction_expressed
    return GeneFilter(
        mean_log=mean_log, fraction_expressed=fraction, passes_mean=passes_mean, passes_fraction=passes_fraction
    )


def filter_description(min_mean_log: float | None, min_fraction_expressed: float, expressed_threshold: float) -> str:
    parts = []
    if min_mean_log is not None:
        parts.append(f"mean log expression over samples > {min_mean_log:g}")
    if min_fraction_expressed > 0:
        parts.append(f"log expression > {expressed_threshold:g} in at least {min_fraction_expressed:g} of samples")
    return "keep genes with " + " and ".join(parts) if parts else "none (every gene kept)"


def zscore(log: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-gene z-scores as StandardScaler computes them; also the means and scales used.

    Variance with ddof=0; a gene is constant when its variance is at most
    ``n * eps * var + (n * mean * eps) ** 2`` (scikit-learn's ``_is_constant_feature``);
    its scale is then 1 and its z-scores exactly 0.
    """
    n = log.shape[0]
    mean = log.mean(axis=0)
    var = log.var(axis=0)
    eps = np.finfo(np.float64).eps
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    z = (log - mean) / scale
    z[:, constant] = 0.0  # StandardScaler gives x - mean here, 0 up to rounding: make it exactly 0
    return z, mean, scale
