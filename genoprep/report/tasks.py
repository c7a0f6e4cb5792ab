"""Report figure of a dataset's task bundles (``tasks/<task>/``): per task, the rows of each split
by class (``rows.tsv``; bundles without classes: rows per split) and the quick baseline's score
with the real training labels against shuffled ones and the chance or trivial reference
(``baseline.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from genoprep.plotting import Figure, plt
from genoprep.report.common import empty_panel, group_labels

#: split order on the figure
SPLIT_ORDER = ("train", "val", "test")


def split_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows in the bundle per split (index, in SPLIT_ORDER) and class (columns, largest first;
    one column ``rows`` for bundles without a label)."""
    kept = rows[rows["in_bundle"].astype(str).str.lower().isin(("true", "1"))] if "in_bundle" in rows else rows
    splits = [s for s in SPLIT_ORDER if s in set(kept["split"])] + sorted(set(kept["split"]) - set(SPLIT_ORDER))
    if "label" not in kept:
        return kept.groupby("split").size().reindex(splits, fill_value=0).to_frame("rows")
    grouped, groups = group_labels(kept["label"].astype(str).to_numpy())
    table = pd.crosstab(kept["split"].to_numpy(), grouped)
    return table.reindex(index=splits, columns=groups, fill_value=0)


def baseline_scores(baseline: Mapping[str, Any]) -> tuple[str, list[tuple[str, float]]]:
    """(metric, [(what, score)]): real labels, shuffled labels and the reference (chance balanced
    accuracy, or the train mean profile of an expression task)."""
    metric = str(baseline["metric"])
    scores = [
        ("real labels", float(baseline["real"][metric])),
        ("shuffled labels", float(baseline["shuffled_labels"][metric])),
    ]
    if "chance_balanced_accuracy" in baseline:
        scores.append(("chance", float(baseline["chance_balanced_accuracy"])))
    elif "mean_profile" in baseline:
        scores.append(("train mean profile", float(baseline["mean_profile"][metric])))
    return metric, scores


def leakage_lines(leakage: Mapping[str, Any] | None) -> list[str]:
    """One line per leakage check of a split (``qc.json``'s ``leakage``, written by
    :meth:`genoprep.leakage.LeakageReport.as_dict`), then the policy and what it dropped."""
    if not leakage:
        return []
    lines = []
    for check in leakage["checks"]:
        if "groups_crossing" in check:
            lines.append(f"{check['what']}: {check['groups_crossing']} in two splits ({check['rows_flagged']} rows)")
        else:
            pairs = [key for key in check if "_in_" in key]
            lines.append(f"{check['what']}: " + ", ".join(f"{check[key]} {key.replace('_', ' ')}" for key in pairs))
    lines.append(f"leakage policy {leakage['policy']}: {leakage['dropped_from_eval']} rows dropped from evaluation")
    return lines


def tasks_figure(
    tasks: Mapping[str, tuple[pd.DataFrame, Mapping[str, Any] | None]],
    title: str,
    leakage: Mapping[str, Any] | None = None,
) -> Figure:
    """One row per task: stacked bars of the rows per split and class, and the baseline bars;
    the split's leakage checks under the title."""
    figure, axes = plt.subplots(len(tasks), 2, figsize=(12, 3.6 * len(tasks)), squeeze=False, layout="constrained")
    palette = plt.get_cmap("tab10").colors
    for row, (task, (rows, baseline)) in enumerate(tasks.items()):
        counts = split_counts(rows)
        ax = axes[row, 0]
        left = np.zeros(len(counts.index))
        for i, column in enumerate(counts.columns):
            values = counts[column].to_numpy(dtype=float)
            ax.barh(list(counts.index), values, left=left, color=palette[i % len(palette)], label=f"{column}")
            left += values
        for y, total in enumerate(left):
            ax.annotate(
                f"{int(total)}", (total, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize="small"
            )
        ax.invert_yaxis()
        ax.set_xlabel("rows in the bundle")
        ax.set_title(f"{task}: rows per split" + (" and class" if list(counts.columns) != ["rows"] else ""))
        if list(counts.columns) != ["rows"]:
            ax.legend(fontsize="x-small", loc="lower right")
        ax = axes[row, 1]
        if baseline is None:
            empty_panel(ax, f"{task}: baseline", "no baseline (params.tasks.baseline: false)")
            continue
        metric, scores = baseline_scores(baseline)
        bars = ax.bar(
            [name for name, _ in scores],
            [value for _, value in scores],
            color=["tab:blue", "tab:gray", "white"][: len(scores)],
            edgecolor="black",
        )
        for bar, (_, value) in zip(bars, scores):
            ax.annotate(
                f"{value:.3f}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize="small",
            )
        ax.set_ylabel(f"{metric} on test")
        ax.set_title(f"{task}: baseline ({'learnable' if baseline.get('learnable') else 'NOT learnable'})")
    figure.suptitle("\n".join([title, *leakage_lines(leakage)]))
    return figure
