"""Variants report figures: MAF and missingness of the kept variants and samples (from
variants.parquet and samples.tsv, thresholds from qc.json), and what each filter removed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from genoprep.plotting import Figure, plt
from genoprep.report.common import bin_edges, empty_panel, removed_bars


def _histogram(
    ax: Any,
    values: np.ndarray,
    title: str,
    xlabel: str,
    ylabel: str,
    threshold: float | None,
    side: str,
    upper: float | None = None,
) -> None:
    """A histogram of fractions on bins from 0 to ``upper`` (default: the largest value or the
    threshold, 1 if both are 0), with the threshold drawn dashed."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        empty_panel(ax, title, "nothing kept")
        return
    top = upper if upper is not None else max(float(values.max()), threshold or 0.0)
    ax.hist(values, bins=bin_edges(values, (0.0, top if top > 0 else 1.0)), color="tab:blue")
    if threshold is not None:
        ax.axvline(threshold, color="tab:red", linestyle="--", label=f"{side} {threshold:g}")
        ax.legend(fontsize="small")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def qc_figure(variants: pd.DataFrame, samples: pd.DataFrame, qc: Mapping[str, Any], title: str) -> Figure:
    """Three histograms of what was kept: variant MAF, variant missing rate, sample missing
    rate (after the filters), each with its filter's threshold (dashed) where one was set."""
    filters = qc["filters"]
    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    _histogram(
        axes[0],
        variants["MAF"],
        "variants: minor allele frequency",
        "MAF",
        "variants",
        filters.get("min_maf"),
        "min_maf",
        upper=0.5,
    )
    _histogram(
        axes[1],
        variants["missing_rate"],
        "variants: missing genotypes",
        "missing rate",
        "variants",
        filters.get("max_variant_missing"),
        "max_variant_missing",
    )
    _histogram(
        axes[2],
        samples["missing_rate"],
        "samples: missing genotypes",
        "missing rate",
        "samples",
        filters.get("max_sample_missing"),
        "max_sample_missing",
    )
    figure.suptitle(f"{title}: {len(variants)} variants x {len(samples)} samples kept")
    figure.tight_layout()
    return figure


def removed_per_filter(qc: Mapping[str, Any]) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """(variants removed per filter, samples removed per filter) as (name, removed, of how many),
    in the order the steps ran.

    The load step's VCF records removed (region, FILTER, multiallelic) come first, named
    ``load: <reason>``, out of the records read; then each filter of ``filter_order`` that
    qc.json lists for the unit, out of the variants (after load, multiallelic records split)
    or samples before the filters.
    """
    read = int(qc["records_read"])
    variants = [(f"load: {reason}", int(n), read) for reason, n in qc.get("records_removed", {}).items()]
    samples: list[tuple[str, int, int]] = []
    for name in qc["filter_order"][1:]:
        if name in qc.get("variants_removed", {}):
            variants.append((name, int(qc["variants_removed"][name]), int(qc["variants_before"])))
        if name in qc.get("samples_removed", {}):
            samples.append((name, int(qc["samples_removed"][name]), int(qc["samples_before"])))
    return variants, samples


def filter_figure(qc: Mapping[str, Any], title: str) -> Figure:
    """Horizontal bars: variants and samples removed by each filter (top: first to run)."""
    variants, samples = removed_per_filter(qc)
    figure, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    removed_bars(axes[0], variants, "variants")
    removed_bars(axes[1], samples, "samples")
    figure.suptitle(
        f"{title}: {qc['variants_before']} -> {qc['variants_after']} variants, "
        f"{qc['samples_before']} -> {qc['samples_after']} samples"
    )
    figure.tight_layout()
    return figure
