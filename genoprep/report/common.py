"""Helpers shared by the report figures: shared bin edges, class grouping, empty panels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

#: at most this many classes get their own colour; the rest are drawn as one "other" group
MAX_CLASSES = 8
#: histogram bins at most (fewer for small data)
MAX_BINS = 30


def bin_edges(values: np.ndarray, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Common bin edges for every group of one panel: numpy's edges over ``value_range``
    (default: the finite values' min..max), sqrt(n) bins, at most MAX_BINS."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.array([0.0, 1.0])
    n_bins = int(min(MAX_BINS, max(1, np.ceil(np.sqrt(values.size)))))
    return np.histogram_bin_edges(values, bins=n_bins, range=value_range)


def group_labels(labels: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Labels with all but the MAX_CLASSES largest classes replaced by "other".

    Returns (the grouped label of each item, the groups in drawing order: largest first,
    ties by name, "other" last).
    """
    labels = np.asarray(labels, dtype=str)
    names, counts = np.unique(labels, return_counts=True)
    order = sorted(range(names.size), key=lambda i: (-counts[i], names[i]))
    if names.size <= MAX_CLASSES:
        return labels, [str(names[i]) for i in order]
    kept = [str(names[i]) for i in order[: MAX_CLASSES - 1]]
    grouped = np.where(np.isin(labels, kept), labels, "other")
    return grouped, [*kept, "other"]


def empty_panel(ax: Axes, title: str, why: str) -> None:
    """A panel that says why it has nothing to show."""
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def removed_bars(ax: Axes, removed: Sequence[tuple[str, int, int]], unit: str) -> None:
    """Horizontal bars of what each filter removed, ``(name, removed, of how many)`` in the order
    the filters ran (first on top), each annotated ``n of total (x%)``."""
    if not removed:
        empty_panel(ax, f"{unit} removed per filter", "no filter of this unit ran")
        return
    removed = list(removed)[::-1]  # first filter on top
    bars = ax.barh([name for name, _, _ in removed], [n for _, n, _ in removed], color="tab:red")
    for bar, (_, n, of) in zip(bars, removed):
        ax.annotate(
            f"{n} of {of} ({100 * n / of:.1f}%)" if of else str(n),
            (bar.get_width(), bar.get_y() + 0.4),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )
    ax.set_xlim(0, max(max(n for _, n, _ in removed), 1) * 1.6)
    ax.set_title(f"{unit} removed per filter")
    ax.set_xlabel(unit)
