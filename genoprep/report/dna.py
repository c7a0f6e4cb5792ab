"""DNA report figures: length, GC and N fraction per class (from obs.tsv), and token-length
distributions per tokenization scheme (from the token artifacts themselves)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp

from genoprep.dna.tokenize import get_scheme
from genoprep.plotting import Figure, plt
from genoprep.report.common import bin_edges, empty_panel, group_labels

#: obs.tsv columns drawn, with their axis titles
SEQUENCE_PANELS = (("length", "length (bases)"), ("gc", "GC fraction"), ("n_fraction", "N fraction"))
#: the label of sequences without one
UNLABELLED = "unlabelled"
#: rows of a fixed-length token matrix read at once
ROWS_PER_READ = 65536


def read_obs(path: str | PathLike[str]) -> pd.DataFrame:
    """obs.tsv of a DNA dataset, labels as strings ("unlabelled" where empty)."""
    obs = pd.read_csv(path, sep="\t", dtype={"id": str, "label": str}, keep_default_na=False)
    obs["label"] = obs["label"].replace("", UNLABELLED)
    return obs


def sequence_figure(obs: pd.DataFrame, title: str) -> Figure:
    """Histograms of length, GC fraction and N fraction, one colour per class (shared bins).

    Classes beyond the largest few are pooled as "other" (:func:`group_labels`).
    """
    labels, groups = group_labels(obs["label"].to_numpy(dtype=str))
    figure, axes = plt.subplots(1, len(SEQUENCE_PANELS), figsize=(13, 4))
    for ax, (column, xlabel) in zip(axes, SEQUENCE_PANELS):
        values = obs[column].to_numpy(dtype=float)
        edges = bin_edges(values)
        for group in groups:
            ax.hist(
                values[labels == group], bins=edges, alpha=0.55, label=f"{group} (n={int((labels == group).sum())})"
            )
        ax.set_xlabel(xlabel)
        ax.set_ylabel("sequences")
    axes[0].legend(fontsize="small", title="class")
    figure.suptitle(f"{title}: {len(obs)} sequences, {len(groups)} class(es)")
    figure.tight_layout()
    return figure


def _pad_id(scheme: str, settings: Mapping[str, Any]) -> int:
    vocabulary = get_scheme(scheme).vocabulary(**settings)
    pads = [i for i, token in enumerate(vocabulary) if "PAD" in token.upper()]
    if len(pads) != 1:
        raise ValueError(f"scheme {scheme!r}: no single padding token in its vocabulary")
    return pads[0]


def token_lengths(path: str | PathLike[str], scheme: str, settings: Mapping[str, Any]) -> np.ndarray:
    """Tokens per sequence in a scheme's artifact (its first file), as int64.

    fixed (.npy): the non-padding ids of each row; variable (.parquet): the length of each
    ``input_ids`` list; counts (.npz): the k-mers counted per sequence (row sums); text
    (.tsv): the space-separated k-mers of each row.
    """
    kind = get_scheme(scheme).kind
    if kind == "fixed":
        tokens = np.load(path, mmap_mode="r")
        pad = _pad_id(scheme, settings)
        lengths = [
            np.count_nonzero(tokens[i : i + ROWS_PER_READ] != pad, axis=1)
            for i in range(0, tokens.shape[0], ROWS_PER_READ)
        ]
        return np.concatenate(lengths).astype(np.int64) if lengths else np.zeros(0, np.int64)
    if kind == "variable":
        # batch by batch: a windowed chromosome's input_ids column is ~1 GB, its lengths a few MB
        batches = pq.ParquetFile(path).iter_batches(batch_size=ROWS_PER_READ, columns=["input_ids"])
        lengths = [
            pc.list_value_length(batch.column(0)).to_numpy(zero_copy_only=False).astype(np.int64) for batch in batches
        ]
        return np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    if kind == "counts":
        return np.asarray(sp.load_npz(path).sum(axis=1), dtype=np.int64).ravel()
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return np.array([len(row["sequence"].split()) for row in rows], dtype=np.int64)


def token_length_figure(
    lengths: Mapping[str, np.ndarray], title: str, unit: str = "sequence", notes: Mapping[str, str] | None = None
) -> Figure:
    """One histogram of tokens per ``unit`` (a DNA sequence, a cell) for each scheme (in the given
    order); ``notes`` adds a scheme's own line to its panel title (e.g. the cells truncated)."""
    n = max(1, len(lengths))
    figure, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8), squeeze=False)
    for ax, (scheme, values) in zip(axes[0], lengths.items()):
        if values.size == 0:
            empty_panel(ax, scheme, f"no {unit}s")
            continue
        ax.hist(values, bins=bin_edges(values), color="tab:blue")
        note = (notes or {}).get(scheme)
        ax.set_title(f"{scheme} (median {np.median(values):g})" + (f"\n{note}" if note else ""))
        ax.set_xlabel(f"tokens per {unit}")
        ax.set_ylabel(f"{unit}s")
    if not lengths:
        empty_panel(axes[0][0], "tokens", "no tokenization scheme")
    figure.suptitle(f"{title}: token lengths per scheme")
    figure.tight_layout()
    return figure
