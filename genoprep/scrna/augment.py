"""Augmentation of raw scRNA-seq counts, inside one split at a time (never mixing splits).

* :func:`binomial_thinning` — each UMI is kept with probability ``factor``: every stored
  count ``c`` becomes ``Binomial(c, factor)``. Works on the CSR ``data`` array only (the
  matrix is never densified); entries that fall to zero are removed. The expected depth of a
  cell is ``factor`` x its depth.
* :func:`fixed_depth` — the spec's fixed-depth mode: each cell gets exactly
  ``round(factor x depth)`` UMIs drawn from a multinomial over its own genes with
  probabilities ``count / depth`` (a draw *with* replacement, so a gene may exceed its
  original count). Per cell, over its stored entries only.
* :func:`make_doublets` — pairs of two distinct cells of the **same split** (drawn without
  replacement per pair), combined by ``sum`` (default) or ``mean`` of their count vectors;
  the parents' ids, labels and split are recorded and ``is_doublet`` is True.

Every function takes a seed; two calls with the same seed give identical results.
:func:`augment_processed` is rule ``scrna_augment``: the raw counts (``layers['counts']``),
the ``split`` column and the label of a finished ``processed.h5ad`` in, one augmented file out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp


def _csr(counts: Any) -> sp.csr_matrix:
    if not sp.issparse(counts):
        raise TypeError("augmentation works on sparse (CSR) counts; got a dense matrix")
    return sp.csr_matrix(counts)


def binomial_thinning(counts: Any, factor: float, seed: int) -> sp.csr_matrix:
    """Keep each UMI with probability ``factor`` (``0 < factor <= 1``)."""
    if not 0 < factor <= 1:
        raise ValueError(f"downsampling factor must be in (0, 1], not {factor}")
    csr = _csr(counts)
    if csr.data.size and (csr.data.min() < 0 or not np.all(np.mod(csr.data, 1) == 0)):
        raise ValueError("binomial thinning needs non-negative integer counts")
    rng = np.random.default_rng(seed)
    data = rng.binomial(csr.data.astype(np.int64), factor).astype(csr.dtype)
    out = sp.csr_matrix((data, csr.indices.copy(), csr.indptr.copy()), shape=csr.shape)
    out.eliminate_zeros()
    return out


def fixed_depth(counts: Any, factor: float, seed: int) -> sp.csr_matrix:
    """Each cell: a multinomial draw of ``round(factor x depth)`` UMIs over its own profile."""
    if not 0 < factor <= 1:
        raise ValueError(f"downsampling factor must be in (0, 1], not {factor}")
    csr = _csr(counts)
    rng = np.random.default_rng(seed)
    data = np.zeros(csr.data.size, dtype=np.int64)
    for i in range(csr.shape[0]):
        start, end = csr.indptr[i], csr.indptr[i + 1]
        row = csr.data[start:end].astype(np.float64)
        depth = row.sum()
        if depth <= 0:
            continue
        data[start:end] = rng.multinomial(int(np.floor(factor * depth + 0.5)), row / depth)
    out = sp.csr_matrix((data.astype(csr.dtype), csr.indices.copy(), csr.indptr.copy()), shape=csr.shape)
    out.eliminate_zeros()
    return out


@dataclass(frozen=True)
class SplitCells:
    """The cells to augment: raw counts (CSR), ids, the split of each, and a label (or None)."""

    counts: sp.csr_matrix
    ids: np.ndarray
    splits: np.ndarray
    labels: np.ndarray | None = None

    @classmethod
    def of(
        cls, counts: Any, ids: Sequence[str], splits: Sequence[str], labels: Sequence[str] | None = None
    ) -> SplitCells:
        return cls(
            counts=_csr(counts),
            ids=np.asarray([str(c) for c in ids], dtype=object),
            splits=np.asarray([str(s) for s in splits], dtype=object),
            labels=None if labels is None else np.asarray([str(v) for v in labels], dtype=object),
        )

    def obs(self, **columns: Any) -> pd.DataFrame:
        """A per-cell table indexed by ``cell_id``: ``split``, then ``columns``."""
        return pd.DataFrame(
            {"split": self.splits.astype(str), **columns}, index=pd.Index(self.ids.astype(str), name="cell_id")
        )


def make_doublets(cells: SplitCells, *, per_split: int, combine: str, seed: int) -> tuple[sp.csr_matrix, pd.DataFrame]:
    """``per_split`` doublets in each split; returns (doublet counts, their obs table).

    obs columns: ``split``, ``parent_1``, ``parent_2``, ``label_1``, ``label_2`` (when labels
    are given), ``is_doublet`` (True). Row ``i`` of the matrix is ``combine`` of rows
    ``parent_1`` and ``parent_2`` of the counts. A split with fewer than two cells gets none.
    """
    if combine not in ("sum", "mean"):
        raise ValueError(f"combine must be sum or mean, not {combine!r}")
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    split_of: list[str] = []
    for split in ("train", "val", "test"):
        members = np.flatnonzero(cells.splits == split)
        if members.size < 2 or per_split == 0:
            continue
        for _ in range(per_split):
            a, b = rng.choice(members, size=2, replace=False)
            pairs.append((int(a), int(b)))
            split_of.append(split)
    parents = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    combined = cells.counts[parents[:, 0]] + cells.counts[parents[:, 1]]
    if combine == "mean":
        combined = combined.astype(np.float32) * np.float32(0.5)  # "/ 2" would upcast to float64
    combined = sp.csr_matrix(combined)
    combined.sort_indices()
    obs = pd.DataFrame({"split": split_of})
    for k in (1, 2):
        obs[f"parent_{k}"] = cells.ids[parents[:, k - 1]].astype(str)
    if cells.labels is not None:
        for k in (1, 2):
            obs[f"label_{k}"] = cells.labels[parents[:, k - 1]].astype(str)
    obs["is_doublet"] = True
    obs.index = pd.Index([f"doublet_{i}" for i in range(len(obs))], name="cell_id")
    return combined, obs


def augmented_anndata(matrix: sp.csr_matrix, obs: pd.DataFrame, var: pd.DataFrame, description: str) -> Any:
    """An AnnData of augmented cells (a separate file: never mixed into the originals)."""
    import anndata as ad

    adata = ad.AnnData(X=matrix, obs=obs.copy(), var=var.copy())
    adata.uns["genoprep_augmentation"] = description
    return adata


def with_singlets(
    cells: SplitCells, doublets: sp.csr_matrix, doublet_obs: pd.DataFrame
) -> tuple[sp.csr_matrix, pd.DataFrame]:
    """The original cells (``is_doublet`` False, ``parent_1`` = itself) followed by the doublets.

    A doublet-detection set: ``augmented_doublets.h5ad`` holds both classes, every cell with
    its split, so a detector is trained and scored inside one split each.
    """
    columns: dict[str, Any] = {"parent_1": cells.ids.astype(str), "parent_2": ""}
    if cells.labels is not None:
        columns.update(label_1=cells.labels.astype(str), label_2="")
    singlet_obs = cells.obs(**columns, is_doublet=False)
    matrix = sp.vstack([cells.counts.astype(doublets.dtype), doublets], format="csr")
    return matrix, pd.concat([singlet_obs, doublet_obs[singlet_obs.columns]])


def downsample_description(downsample: Mapping[str, Any]) -> str:
    return f"{downsample['mode']} downsampling, factor {downsample['factor']}, seed {downsample['seed']}"


def doublets_description(doublets: Mapping[str, Any]) -> str:
    return (
        f"{doublets['per_split']} doublets per split ({doublets['combine']} of two cells of one "
        f"split), seed {doublets['seed']}"
    )


def write_augmented(
    cells: SplitCells,
    var: pd.DataFrame,
    downsample: Mapping[str, Any],
    doublets: Mapping[str, Any],
    *,
    downsampled_path: str | os.PathLike[str] | None,
    doublets_path: str | os.PathLike[str] | None,
) -> dict[str, Any]:
    """Write ``augmented_downsampled.h5ad`` / ``augmented_doublets.h5ad`` (params.augment); returns facts.

    The downsampled file has one row per original cell (same ids, ``split``, ``label``); the
    doublets file the original cells and the doublets (:func:`with_singlets`).
    """
    facts: dict[str, Any] = {}
    if downsample["enabled"] and downsampled_path is not None:
        thin = binomial_thinning if downsample["mode"] == "binomial" else fixed_depth
        matrix = thin(cells.counts, float(downsample["factor"]), int(downsample["seed"]))
        obs = cells.obs() if cells.labels is None else cells.obs(label=cells.labels.astype(str))
        description = downsample_description(downsample)
        augmented_anndata(matrix, obs, var, description).write_h5ad(downsampled_path)
        facts["downsampled"] = {
            "description": description,
            "n_counts_before": int(cells.counts.sum()),
            "n_counts_after": int(matrix.sum()),
        }
    if doublets["enabled"] and doublets_path is not None:
        made, made_obs = make_doublets(
            cells, per_split=int(doublets["per_split"]), combine=str(doublets["combine"]), seed=int(doublets["seed"])
        )
        matrix, full_obs = with_singlets(cells, made, made_obs)
        description = doublets_description(doublets)
        augmented_anndata(matrix, full_obs, var, description).write_h5ad(doublets_path)
        facts["doublets"] = {"description": description, "n_doublets": int(made.shape[0])}
    return facts


def augment_processed(
    h5ad_path: str | os.PathLike[str],
    kind: str,
    downsample: Mapping[str, Any],
    doublets: Mapping[str, Any],
    label: str,
    out_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """Rule ``scrna_augment``: ``augmented_<kind>.h5ad`` from a finished ``processed.h5ad``.

    Reads the raw counts (``layers['counts']``), the ``split`` column (so the dataset needs
    ``params.split.enabled``) and the ``label`` column when present; ``kind`` is
    ``downsampled`` or ``doublets`` (its section of ``params.augment`` must be enabled).
    """
    import anndata as ad

    from genoprep.errors import InputError

    source = os.fspath(h5ad_path)
    settings = {"downsampled": downsample, "doublets": doublets}[kind]
    section = "downsample" if kind == "downsampled" else "doublets"
    if not settings["enabled"]:
        raise InputError(source, f"params.augment.{section}.enabled is false", record=f"params.augment.{section}")
    adata = ad.read_h5ad(h5ad_path)
    if "counts" not in adata.layers:
        raise InputError(source, "augmentation needs raw counts (input value_type: counts)", record="layers")
    if "split" not in adata.obs:
        raise InputError(source, "augmentation runs inside splits: set params.split.enabled: true", record="obs")
    labels = adata.obs[label].astype(str).to_numpy() if label in adata.obs else None
    cells = SplitCells.of(adata.layers["counts"], adata.obs_names, adata.obs["split"].astype(str), labels)
    var = pd.DataFrame(index=adata.var_names.copy())
    paths = {"downsampled_path": None, "doublets_path": None, f"{kind}_path": out_path}
    return write_augmented(cells, var, downsample, doublets, **paths)
