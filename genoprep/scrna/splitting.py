"""Splits of a scRNA-seq dataset inside the one-job chain, and the statistics fitted on train only.

Called by :func:`genoprep.scrna.chain.process` after QC when ``params.split.enabled``
(the out-of-core path can call the same functions):

* :func:`assign_cells` — the split of each kept cell, from its ``obs`` columns alone
  (``stratify_by`` / ``group_by`` / ``predefined`` name obs columns, the mapped labels
  ``cell_type``/``donor_id``/``batch`` included), with the leakage checks: identical cells
  (the same count vector, :func:`genoprep.leakage.cell_keys`, when the counts are given)
  and groups crossing splits, under the card's ``params.leakage.policy``.
* :func:`select_hvg_on_train` — the card's highly-variable-gene selection run on the train
  cells only; the flags (and the statistics scanpy computed) are copied to every gene.
* :func:`scale_on_train` — the scaled ``X.npy`` block: mean and std (ddof=1, as
  ``sc.pp.scale``) fitted on the train rows (a boolean mask), every row transformed and
  clipped at ``max_value``; test rows are transformed, never fitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd
from scipy import sparse

from genoprep import leakage
from genoprep.options import StepOptions
from genoprep.scrna.options import HvgOptions
from genoprep.splits import SPLITS, SplitOptions
from genoprep.tasks.steps import split_rows
from genoprep.tasks.train_only import fit_scaler, scale_in_place

if TYPE_CHECKING:  # scanpy and numba load only when a split step runs, not when the workflow is parsed
    import anndata as ad


@dataclass(frozen=True)
class TrainOnlyOptions(StepOptions):
    """``params.split.hvg_on_train``: with splits on, select the HVGs on the train cells only."""

    hvg_on_train: bool

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        return cls(hvg_on_train=bool(card["params"]["split"]["hvg_on_train"]))


@dataclass(frozen=True)
class CellSplits:
    """The split of each cell (row order of the AnnData), the qc.json section and the eval rows to drop."""

    splits: np.ndarray
    qc: dict[str, Any]
    drop_from_eval: np.ndarray | None

    @property
    def train(self) -> np.ndarray:
        """The boolean mask of the train rows (what statistics are fitted on)."""
        return np.asarray(self.splits == "train", dtype=bool)

    def categorical(self) -> pd.Categorical:
        """The ``split`` column of ``obs`` (categories train, val, test in that order)."""
        return pd.Categorical(self.splits.astype(str), categories=list(SPLITS))


def assign_cells(
    obs: pd.DataFrame,
    options: SplitOptions,
    policy: str,
    source: str,
    counts: sparse.spmatrix | Iterable[sparse.spmatrix] | None = None,
    cell_keys: Sequence[bytes] | None = None,
) -> CellSplits:
    """Splits of the cells of ``obs`` (index = cell ids) and their leakage checks.

    ``counts`` (cells x genes, the raw counts of the same rows, or its blocks of rows in order, as
    the out-of-core path streams them) adds the "identical cells" check (one digest per row); the
    groups of ``group_by`` are always checked for crossing. ``cell_keys`` gives those digests
    already computed (:func:`genoprep.leakage.cell_keys` of the same rows, e.g. by the shard jobs).
    Under policy ``error`` a leak raises one line (:func:`genoprep.leakage.apply_policy`).
    """
    ids = [str(i) for i in obs.index]
    columns = {str(name): obs[name].to_numpy() for name in obs.columns}
    keys: list[tuple[str, Sequence[Any]]] = []
    if cell_keys is not None:
        keys.append(("identical cells", list(cell_keys)))
    elif counts is not None:
        blocks = [counts] if sparse.issparse(counts) else counts
        keys.append(("identical cells", [key for block in blocks for key in leakage.cell_keys(block)]))
    splits, qc, drop = split_rows(ids, columns, options, policy, source, keys=keys)
    return CellSplits(splits=np.asarray(splits, dtype=object), qc=qc, drop_from_eval=drop)


def record_split(
    adata: ad.AnnData, split: CellSplits, options: SplitOptions, dataset: str, report: dict[str, Any]
) -> dict[str, Any]:
    """The ``split`` column and provenance into ``adata``, the split's line on the terminal; returns
    ``report`` (the qc.json content) with the split's sections."""
    from genoprep import runtime

    adata.obs["split"] = split.categorical()
    n = split.qc["splits"]["n"]
    runtime.console(
        f"{dataset}: split {n['train']}/{n['val']}/{n['test']} cells ({options.describe()}); {split.qc['leakage_line']}"
    )
    adata.uns["genoprep"] = {**adata.uns["genoprep"], "split": options.describe()}
    return {**report, **{k: v for k, v in split.qc.items() if k != "leakage_line"}}


def select_hvg_on_train(adata: ad.AnnData, options: HvgOptions, train: np.ndarray) -> int:
    """:func:`genoprep.scrna.preprocess.select_hvg` on the train cells only; the result goes to every gene.

    Only what the selection reads is copied for the train cells (``X``, the ``counts``
    layer for the seurat_v3 flavors, the batch column); ``var`` of ``adata`` gains
    ``highly_variable`` and the statistics of the train cells (``means``, ``dispersions``,
    ...). Returns the number of genes flagged.
    """
    import anndata as ad

    from genoprep.scrna import preprocess

    rows = np.flatnonzero(np.asarray(train, dtype=bool))
    if rows.size < 2:
        raise ValueError(f"{rows.size} train cell(s): too few to select highly variable genes")
    keep = [options.hvg_batch_key] if options.hvg_batch_key else []
    subset = ad.AnnData(
        X=adata.X[rows],
        obs=adata.obs.iloc[rows][keep].copy(),
        var=pd.DataFrame(index=adata.var_names.copy()),
    )
    if options.hvg_flavor in preprocess.COUNT_FLAVORS and "counts" in adata.layers:
        subset.layers["counts"] = adata.layers["counts"][rows]
    n_hvg = preprocess.select_hvg(subset, options)
    for column in subset.var.columns:
        adata.var[column] = subset.var[column].to_numpy()
    if "hvg" in subset.uns:
        adata.uns["hvg"] = dict(subset.uns["hvg"])
    adata.uns["genoprep"] = {**adata.uns["genoprep"], "n_hvg": n_hvg, "hvg_fitted_on": "train cells"}
    return n_hvg


def scale_on_train(block: sparse.csr_matrix, max_value: float | None, train: np.ndarray) -> tuple[np.ndarray, Any]:
    """The dense float32 cells x HVG matrix scaled with the mean/std (ddof=1) of the train rows.

    Returns ``(matrix, scaler)``; the scaler holds the float64 statistics (for the facts
    and for tests). Only the float32 block is dense; the transform runs in row chunks.
    """
    from genoprep.scrna import kernels

    scaler = fit_scaler(block, train, ddof=1)
    every_column = np.arange(block.shape[1], dtype=np.int64)
    dense = kernels.dense_columns(block.indptr, block.indices, block.data, every_column, block.shape[1])
    scale_in_place(dense, scaler, max_value)
    return dense, scaler


def split_facts(
    facts: dict[str, Any], split: CellSplits, options: SplitOptions, train_only: TrainOnlyOptions
) -> dict[str, Any]:
    """The chain's facts for the completed card, saying what was fitted on the train cells."""
    preprocessing = dict(facts["preprocessing"])
    preprocessing["split"] = options.describe()
    if train_only.hvg_on_train:
        preprocessing["feature_selection"] += " (fitted on the train cells only)"
    preprocessing["scaling"] += " (mean and std fitted on the train cells only)"
    return {**facts, "splits": dict(split.qc["splits"]["n"]), "preprocessing": preprocessing}
