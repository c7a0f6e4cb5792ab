"""Per-sample QC: library sizes, genes detected, sample-to-sample correlation, outlier flags.

Outliers are flagged, never removed. Two rules, each with a threshold in median absolute
deviations (MAD, scaled by 1.4826 so that it estimates the standard deviation of normal
data; ``null`` disables a rule):

- ``library_size_mads`` (counts tables only): |log10 library size - median| > k x MAD;
- ``correlation_mads``: a sample's median Pearson correlation with the other samples (on
  the log values of the genes kept by the expression filter) is below the median of those
  medians by more than k x MAD.

A rule needs at least 3 samples, and flags nothing when the MAD is 0 (all samples alike).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAD_SCALE = 1.4826
MIN_SAMPLES = 3


def genes_detected(log: np.ndarray, expressed_threshold: float) -> np.ndarray:
    """Per sample: how many genes have a log value > ``expressed_threshold``."""
    return (log > expressed_threshold).sum(axis=1)


def correlation_matrix(log: np.ndarray) -> np.ndarray:
    """Pearson correlation between samples (rows); NaN where a sample is constant."""
    if log.shape[0] < 2 or log.shape[1] < 2:
        return np.full((log.shape[0], log.shape[0]), np.nan)
    centered = log - log.mean(axis=1, keepdims=True)
    # a constant sample's mean is not always its value in floating point (7 x 2.3 -> 4.4e-16
    # off): centre it to exact zeros, so that its correlations are 0/0 = NaN, not rounding noise
    centered[np.ptp(log, axis=1) == 0] = 0.0
    norms = np.sqrt((centered**2).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (centered @ centered.T) / np.outer(norms, norms)
    np.fill_diagonal(corr, np.where(norms > 0, 1.0, np.nan))
    return np.clip(corr, -1.0, 1.0)


def median_correlations(corr: np.ndarray) -> np.ndarray:
    """Per sample: the median of its correlations with every other sample (NaN if none)."""
    n = corr.shape[0]
    out = np.full(n, np.nan)
    for i in range(n):
        others = np.delete(corr[i], i)
        others = others[np.isfinite(others)]
        if others.size:
            out[i] = np.median(others)
    return out


def scaled_mad(values: np.ndarray) -> tuple[float, float]:
    """Median and scaled MAD of the finite values."""
    finite = values[np.isfinite(values)]
    median = float(np.median(finite)) if finite.size else float("nan")
    return median, float(MAD_SCALE * np.median(np.abs(finite - median))) if finite.size else float("nan")


@dataclass(frozen=True)
class OutlierRule:
    """One rule's outcome: the statistic, its centre and spread, and the flags."""

    name: str
    mads: float | None
    median: float
    mad: float
    flagged: np.ndarray
    applied: bool
    note: str


def _rule(name: str, statistic: np.ndarray, mads: float | None, two_sided: bool, skip: str | None) -> OutlierRule:
    n = statistic.shape[0]
    median, mad = scaled_mad(statistic)
    flagged = np.zeros(n, dtype=bool)
    if skip is not None or mads is None:
        return OutlierRule(name, mads, median, mad, flagged, False, skip or "disabled (null in params)")
    if n < MIN_SAMPLES:
        return OutlierRule(name, mads, median, mad, flagged, False, f"needs at least {MIN_SAMPLES} samples")
    if not mad > 0:
        return OutlierRule(name, mads, median, mad, flagged, True, "MAD is 0: no sample differs, none flagged")
    deviation = statistic - median
    with np.errstate(invalid="ignore"):
        flagged = (np.abs(deviation) if two_sided else -deviation) > mads * mad
    flagged &= np.isfinite(statistic)
    side = "|x - median|" if two_sided else "median - x"
    return OutlierRule(name, mads, median, mad, flagged, True, f"flag when {side} > {mads:g} x MAD")


def library_size_rule(sizes: np.ndarray, mads: float | None, counts: bool) -> OutlierRule:
    with np.errstate(divide="ignore"):
        log_sizes = np.log10(sizes)
    skip = None if counts else "library sizes are only compared for counts tables"
    return _rule("library_size", log_sizes, mads, two_sided=True, skip=skip)


def correlation_rule(medians: np.ndarray, mads: float | None) -> OutlierRule:
    return _rule("median_correlation", medians, mads, two_sided=False, skip=None)
