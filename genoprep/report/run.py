"""Run summary of a dataset: wall time and peak memory of each rule, from Snakemake's
``benchmark:`` files (``OUT/<dataset>/benchmarks/<rule>.tsv``). These numbers differ between
runs, so the figure is written outside the dataset folder and the card never depends on it."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from genoprep.plotting import Figure, plt
from genoprep.report.common import empty_panel


def read_benchmarks(paths: Sequence[str | PathLike[str]]) -> pd.DataFrame:
    """One row per benchmark file: ``rule`` (the file's stem), ``seconds`` (wall time) and
    ``max_rss_mib`` (peak resident memory, NaN where Snakemake wrote "-"), sorted by rule.

    A file with several rows (``repeat()``) gives their mean.
    """
    rows = []
    for path in sorted(paths, key=lambda p: Path(p).stem):
        table = pd.read_csv(path, sep="\t", na_values=["-", "NA", ""])
        if "s" not in table.columns or "max_rss" not in table.columns:
            raise ValueError(f"{path}: not a Snakemake benchmark file (no 's'/'max_rss' column)")
        rows.append(
            {
                "rule": Path(path).stem,
                "seconds": float(table["s"].mean()),
                "max_rss_mib": float(pd.to_numeric(table["max_rss"], errors="coerce").mean()),
            }
        )
    return pd.DataFrame(rows, columns=["rule", "seconds", "max_rss_mib"])


def run_summary_figure(runs: pd.DataFrame, title: str) -> Figure:
    """Two horizontal bar charts: wall time (s) and peak memory (MiB) per rule."""
    height = 1.5 + 0.32 * max(1, len(runs))
    figure, axes = plt.subplots(1, 2, figsize=(12, height))
    for ax, column, xlabel in ((axes[0], "seconds", "wall time (s)"), (axes[1], "max_rss_mib", "peak memory (MiB)")):
        if runs.empty:
            empty_panel(ax, xlabel, "no benchmark files")
            continue
        values = runs[column].to_numpy(dtype=float)
        names = runs["rule"].tolist()[::-1]
        shown = np.nan_to_num(values, nan=0.0)[::-1]
        bars = ax.barh(names, shown, color="tab:gray")
        for bar, value in zip(bars, values[::-1]):
            text = "n/a" if np.isnan(value) else f"{value:.3g}"
            ax.annotate(
                text,
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize="small",
            )
        ax.set_xlim(0, max(float(np.nanmax(shown)) if shown.size else 0.0, 1e-9) * 1.25)
        ax.set_xlabel(xlabel)
    total = float(np.nansum(runs["seconds"])) if not runs.empty else 0.0
    figure.suptitle(f"{title}: {len(runs)} rule(s), {total:.1f} s of wall time in total")
    figure.tight_layout()
    return figure
