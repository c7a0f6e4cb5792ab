"""The bulk QC figure: library sizes, genes detected and sample-sample correlation, outliers marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from genoprep.plotting import Figure, plt


def qc_figure(qc: Mapping[str, Any], title: str) -> Figure:
    """Three panels from a bulk ``qc.json``: per-sample library size and genes detected (flagged
    outliers in orange), and the correlation heatmap in the report's sample order."""
    per_sample = qc["per_sample"]
    names = [row["sample_id"] for row in per_sample]
    colours = ["#dd8452" if row["outlier"] else "#4c72b0" for row in per_sample]
    positions = np.arange(len(names))
    height = max(3.6, 0.18 * len(names) + 1.5)
    figure, axes = plt.subplots(1, 3, figsize=(14, height), layout="constrained")
    for axis, key, label in (
        (axes[0], "library_size", "library size (sum over genes)"),
        (axes[1], "n_genes_detected", "genes detected"),
    ):
        axis.barh(positions, [row[key] for row in per_sample], color=colours)
        axis.set_yticks(positions, names, fontsize=7)
        axis.invert_yaxis()
        axis.set_xlabel(label)
    correlation = np.asarray(qc["correlation"]["matrix"], dtype=float)
    image = axes[2].imshow(correlation, cmap="viridis", interpolation="nearest")
    axes[2].set_xticks(positions, qc["correlation"]["samples"], rotation=90, fontsize=7)
    axes[2].set_yticks(positions, qc["correlation"]["samples"], fontsize=7)
    axes[2].set_title("Pearson correlation (log expression)", fontsize=9)
    figure.colorbar(image, ax=axes[2], shrink=0.8)
    flagged = ", ".join(qc.get("outliers", [])) or "none"
    figure.suptitle(f"{title}: outliers flagged (orange): {flagged}")
    return figure
