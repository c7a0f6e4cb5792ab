"""The QC figure: per-cell metrics before filtering, with the card's thresholds."""

from __future__ import annotations

import pandas as pd

from genoprep.plotting import Figure, plt
from genoprep.scrna.options import QcFigureOptions

PANELS = (
    ("n_genes_by_counts", "genes detected per cell", ("min_genes", "max_genes")),
    ("total_counts", "counts per cell", ()),
    ("pct_counts_mt", "% counts in mitochondrial genes", ("max_pct_mito",)),
)


def qc_figure(cells: pd.DataFrame, options: QcFigureOptions, title: str) -> Figure:
    """Histograms of kept and removed cells for each QC metric, thresholds as dashed lines."""
    figure, axes = plt.subplots(1, len(PANELS), figsize=(12, 3.6), layout="constrained")
    kept = cells["removed_by"].fillna("") == ""
    for axis, (column, label, thresholds) in zip(axes, PANELS):
        values = cells[column].astype(float)
        axis.hist(
            [values[kept], values[~kept]],
            bins=40,
            stacked=True,
            color=["#4c72b0", "#dd8452"],
            label=[f"kept ({int(kept.sum())})", f"removed ({int((~kept).sum())})"],
        )
        for name in thresholds:
            threshold = getattr(options, name)
            if threshold is not None:
                axis.axvline(threshold, color="black", linestyle="--", linewidth=1)
                axis.annotate(
                    f"{name}={threshold:g}",
                    (threshold, 1),
                    xycoords=("data", "axes fraction"),
                    rotation=90,
                    va="top",
                    ha="right",
                    fontsize=8,
                )
        axis.set_xlabel(label)
        axis.set_ylabel("cells")
    axes[0].legend(fontsize=8)
    figure.suptitle(title)
    return figure
