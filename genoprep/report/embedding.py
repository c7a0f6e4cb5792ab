"""Report figures of the expression modalities (scRNA-seq and bulk), drawn from ``processed.h5ad``,
``obs.tsv`` and ``qc.json``:

- :func:`hvg_figure` — scRNA-seq: mean against dispersion of every gene, highly variable
  genes highlighted (``var`` of ``processed.h5ad``);
- :func:`embedding_figure` — PCA (and UMAP) coordinates of ``obsm``, one row of panels per
  label column (cell type, donor, batch; bulk: the card's labels), coloured by class;
- :func:`cells_removed_figure` — scRNA-seq: cells and genes removed by each QC filter;
- :func:`correlation_figure` — bulk: the sample-sample correlation heatmap of ``qc.json``
  with a colour strip per label column.

:func:`read_processed` reads only the small parts of ``processed.h5ad`` the figures need.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from genoprep.plotting import Figure, plt
from genoprep.report.common import group_labels, removed_bars

#: obs.tsv columns a scRNA-seq figure colours by, when present (genoprep.scrna.annotate.LABELS)
SCRNA_LABELS = ("cell_type", "donor_id", "batch")
#: the embeddings drawn, with their axis names
EMBEDDINGS = (("X_pca", "PC"), ("X_umap", "UMAP"))
#: colour of the "other" group (beyond the largest classes) and of missing labels
OTHER_COLOUR = "#b0b0b0"


@dataclass(frozen=True)
class Processed:
    """What the figures read from ``processed.h5ad``."""

    obsm: dict[str, np.ndarray]
    var: pd.DataFrame
    variance_ratio: np.ndarray | None


def read_processed(path: str | os.PathLike[str]) -> Processed:
    """``obsm`` X_pca/X_umap, ``var`` and ``uns['pca']['variance_ratio']`` (no matrix is read)."""
    import anndata as ad
    import h5py

    with h5py.File(path, "r") as handle:
        obsm = {name: np.asarray(handle["obsm"][name]) for name, _ in EMBEDDINGS if name in handle.get("obsm", {})}
        var = ad.io.read_elem(handle["var"])
        pca = handle.get("uns/pca/variance_ratio")
        ratio = None if pca is None else np.asarray(pca)
    return Processed(obsm, var, ratio)


def hvg_figure(var: pd.DataFrame, title: str) -> Figure:
    """Mean (``means``) against dispersion (``dispersions``) of every gene; the highly variable genes
    in orange, the others grey (as ``sc.pl.highly_variable_genes``)."""
    figure, ax = plt.subplots(figsize=(6.5, 4.8), layout="constrained")
    means = var["means"].to_numpy(dtype=float)
    dispersions = var["dispersions"].to_numpy(dtype=float)
    hvg = var["highly_variable"].to_numpy(dtype=bool)
    finite = np.isfinite(means) & np.isfinite(dispersions)
    ax.scatter(
        means[finite & ~hvg],
        dispersions[finite & ~hvg],
        s=3,
        c=OTHER_COLOUR,
        label=f"other genes ({int((~hvg).sum())})",
    )
    ax.scatter(
        means[finite & hvg], dispersions[finite & hvg], s=4, c="tab:orange", label=f"highly variable ({int(hvg.sum())})"
    )
    ax.set_xlabel("mean expression of the gene (var['means'])")
    ax.set_ylabel("dispersion (var['dispersions'])")
    ax.legend(fontsize="small", markerscale=3)
    ax.set_title(title)
    return figure


def _scatter(ax: Axes, xy: np.ndarray, labels: np.ndarray | None, axis_name: str, ratio: np.ndarray | None) -> None:
    size = max(2.0, min(30.0, 3000.0 / max(xy.shape[0], 1)))
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, c="tab:blue", linewidths=0)
    else:
        grouped, groups = group_labels(labels)
        palette = plt.get_cmap("tab10").colors
        for i, group in enumerate(groups):
            where = grouped == group
            colour = OTHER_COLOUR if group in ("other", "NA") else palette[i % len(palette)]
            ax.scatter(
                xy[where, 0], xy[where, 1], s=size, color=colour, linewidths=0, label=f"{group} ({int(where.sum())})"
            )
        ax.legend(fontsize="x-small", markerscale=max(1.0, 12 / size), loc="best", frameon=False)
    for k, name in enumerate(("x", "y")):
        text = f"{axis_name}{k + 1}"
        if ratio is not None and k < ratio.size:
            text += f" ({100 * float(ratio[k]):.1f}% of variance)"
        getattr(ax, f"set_{name}label")(text)
    ax.set_xticks([])
    ax.set_yticks([])


def embedding_figure(
    obsm: Mapping[str, np.ndarray], labels: Mapping[str, Sequence[str]], title: str, ratio: np.ndarray | None = None
) -> Figure:
    """One row per label column (or one uncoloured row without labels), one column per embedding
    present (PCA: the first two components; UMAP)."""
    present = [(name, axis) for name, axis in EMBEDDINGS if name in obsm]
    if not present:
        raise ValueError("no embedding to draw (obsm has neither X_pca nor X_umap)")
    rows: list[tuple[str | None, np.ndarray | None]] = [
        (name, np.asarray(values, dtype=str)) for name, values in labels.items()
    ] or [(None, None)]
    figure, axes = plt.subplots(
        len(rows), len(present), figsize=(5.2 * len(present), 4.4 * len(rows)), squeeze=False, layout="constrained"
    )
    for row, (label, values) in enumerate(rows):
        for col, (name, axis_name) in enumerate(present):
            xy = np.asarray(obsm[name], dtype=float)
            if xy.shape[1] < 2:  # one principal component only: draw it against itself
                xy = np.column_stack([xy[:, 0], xy[:, 0]])
            ax = axes[row, col]
            _scatter(ax, xy[:, :2], values, axis_name, ratio if name == "X_pca" else None)
            ax.set_title(
                f"{axis_name.replace('PC', 'PCA')} coloured by {label}" if label else axis_name.replace("PC", "PCA")
            )
    figure.suptitle(title)
    return figure


def label_columns(obs: pd.DataFrame, candidates: Sequence[str]) -> dict[str, np.ndarray]:
    """The label columns of ``obs.tsv`` among ``candidates`` that are there, as strings."""
    return {name: obs[name].fillna("NA").astype(str).to_numpy() for name in candidates if name in obs}


def cells_removed(qc: Mapping[str, Any]) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """(cells removed per filter, genes removed per filter) of a scRNA-seq ``qc.json``, as (filter,
    removed, of how many before it), in the order the filters ran; a filter that removed none is kept."""
    cells, genes = [], []
    for step in qc["filters"]:
        name = f"{step['filter']} ({step['threshold']:g})" if step.get("threshold") is not None else step["filter"]
        cells.append((name, int(step["cells_before"]) - int(step["cells_after"]), int(step["cells_before"])))
        genes.append((name, int(step["genes_before"]) - int(step["genes_after"]), int(step["genes_before"])))
    return cells, genes


def cells_removed_figure(qc: Mapping[str, Any], title: str) -> Figure:
    """Horizontal bars: cells and genes removed by each QC filter (top: first to run)."""
    cells, genes = cells_removed(qc)
    figure, axes = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    removed_bars(axes[0], cells, "cells")
    removed_bars(axes[1], genes, "genes")
    figure.suptitle(
        f"{title}: {qc['before']['cells']} -> {qc['after']['cells']} cells, "
        f"{qc['before']['genes']} -> {qc['after']['genes']} genes"
    )
    return figure


def correlation_figure(qc: Mapping[str, Any], labels: Mapping[str, Sequence[str]], title: str) -> Figure:
    """The sample-sample Pearson correlation of a bulk ``qc.json`` (its sample order), with one
    colour strip per label column above it (each sample's class; legend beside)."""
    samples = list(qc["correlation"]["samples"])
    matrix = np.asarray(qc["correlation"]["matrix"], dtype=float)
    n_strips = len(labels)
    size = max(5.0, 0.22 * len(samples) + 3)
    figure = plt.figure(figsize=(size + 3.5, size + 0.4 * n_strips), layout="constrained")
    grid = figure.add_gridspec(
        n_strips + 1, 2, height_ratios=[0.6] * n_strips + [len(samples) or 1], width_ratios=[1, 0.3]
    )
    heat = figure.add_subplot(grid[n_strips, 0])
    image = heat.imshow(matrix, cmap="viridis", interpolation="nearest", aspect="auto")
    positions = np.arange(len(samples))
    heat.set_xticks(positions, samples, rotation=90, fontsize=7)
    heat.set_yticks(positions, samples, fontsize=7)
    figure.colorbar(image, ax=heat, shrink=0.8, label="Pearson correlation (log expression)")
    palette = plt.get_cmap("tab10").colors
    for row, (name, values) in enumerate(labels.items()):
        grouped, groups = group_labels(np.asarray(values, dtype=str))
        colours = {
            g: (OTHER_COLOUR if g in ("other", "NA") else palette[i % len(palette)]) for i, g in enumerate(groups)
        }
        strip = figure.add_subplot(grid[row, 0], sharex=heat)
        strip.imshow(
            np.array([[plt.matplotlib.colors.to_rgb(colours[g]) for g in grouped]]),
            aspect="auto",
            interpolation="nearest",
        )
        strip.set_yticks([0], [name], fontsize=8)
        strip.tick_params(axis="x", labelbottom=False, bottom=False)
        legend = figure.add_subplot(grid[row, 1])
        legend.axis("off")
        for g in groups:
            legend.scatter([], [], color=colours[g], label=f"{g} ({int((grouped == g).sum())})", marker="s")
        legend.legend(fontsize="x-small", loc="center left", frameon=False, ncols=2 if len(groups) > 4 else 1)
    figure.suptitle(title)
    return figure
