"""Task bundles built from a modality's finished artifacts (the folder layout is in :mod:`.bundle`).

* :func:`cell_type_annotation` — ``X.npy`` rows + a label column: ``X_<split>.npy`` (float32),
  ``y_<split>.npy`` (int64 codes), ``labels.tsv`` (code, label), ``rows.tsv`` (id, split,
  label, code, in_bundle). Rows whose label is ``NA``/missing are left out and counted;
  val/test rows flagged by the leakage policy ``drop_from_eval`` too.
* :func:`gene_expression_prediction` — a normalised expression matrix (cells or samples x
  genes): per row, ``round(mask_fraction x n_expressed)`` of its expressed (non-zero) genes are
  hidden (at least one when it has any), chosen with a generator seeded by
  ``(seed, hash of the row id)`` so that a row's mask does not depend on the other rows;
  optionally a fixed panel of ``heldout_genes`` genes (the lowest ``H(seed, gene)``) hidden in
  every row. ``<split>.npz`` holds ``input`` (the profile with hidden entries set to 0),
  ``target`` (the full profile) and ``mask`` (1 at hidden entries), all CSR; ``genes.tsv``
  (gene, heldout) and ``rows.tsv``.
* :func:`sequence_classification` — DNA token arrays and k-mer counts + labels:
  ``<split>.npz`` with ``y``, ``ids``, one entry per token scheme and ``kmers``;
  ``labels.tsv``, ``rows.tsv``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genoprep.splits import SPLITS, unit_hash
from genoprep.tasks import bundle


def _write_labels(folder: Path, names: Sequence[str]) -> Path:
    path = folder / "labels.tsv"
    pd.DataFrame({"code": range(len(names)), "label": list(names)}).to_csv(
        path, sep="\t", index=False, lineterminator="\n"
    )
    return path


def _write_rows(folder: Path, table: pd.DataFrame) -> Path:
    path = folder / "rows.tsv"
    table.to_csv(path, sep="\t", index=False, lineterminator="\n")
    return path


def _kept(splits: np.ndarray, usable: np.ndarray, drop_from_eval: np.ndarray | None) -> np.ndarray:
    keep = usable.copy()
    if drop_from_eval is not None:
        keep &= ~(drop_from_eval & (splits != "train"))
    return keep


def cell_type_annotation(
    matrix: np.ndarray,
    ids: Sequence[str],
    labels: Sequence[str],
    splits: Sequence[str],
    folder: str | os.PathLike[str],
    *,
    dataset_id: str,
    label_column: str,
    drop_from_eval: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write the annotation bundle; returns task.yaml's content."""

    def write_split(folder: Path, split: str, rows: np.ndarray, codes: np.ndarray) -> list[Path]:
        x_path, y_path = folder / f"X_{split}.npy", folder / f"y_{split}.npy"
        np.save(x_path, np.ascontiguousarray(np.asarray(matrix)[rows], dtype=np.float32), allow_pickle=False)
        np.save(y_path, codes[rows].astype(np.int64), allow_pickle=False)
        return [x_path, y_path]

    described = {
        "dataset_id": dataset_id,
        "inputs": ["X.npy", "obs.tsv", "splits.tsv"],
        "target": f"obs column {label_column!r} as integer codes (labels.tsv)",
    }
    rows = (ids, labels, splits, drop_from_eval)
    return _labelled_bundle(folder, "cell_type_annotation", rows, write_split, described)


def _labelled_bundle(
    folder: str | os.PathLike[str],
    task: str,
    rows: tuple[Sequence[str], Sequence[str], Sequence[str], np.ndarray | None],
    write_split: Callable[[Path, str, np.ndarray, np.ndarray], list[Path]],
    described: Mapping[str, Any],
) -> dict[str, Any]:
    """A classification bundle of ``rows`` = (ids, labels, splits, drop_from_eval):
    ``write_split(folder, split, kept, codes)`` writes each split's files (``kept`` a boolean
    mask of the kept rows in that split); then ``labels.tsv``, ``rows.tsv`` and task.yaml
    (``described``: its ``dataset_id``, ``inputs`` and ``target``), whose content it returns."""
    ids, labels, splits, drop_from_eval = rows
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    splits = np.asarray(splits, dtype=object)
    codes, names, missing = bundle.label_codes(labels)
    keep = _kept(splits, ~missing, drop_from_eval)
    files = []
    counts = {}
    for split in SPLITS:
        kept = keep & (splits == split)
        files += write_split(folder, split, kept, codes)
        counts[split] = int(kept.sum())
    files.append(_write_labels(folder, names))
    files.append(
        _write_rows(
            folder,
            pd.DataFrame({"id": list(ids), "split": splits, "label": list(labels), "code": codes, "in_bundle": keep}),
        )
    )
    return bundle.write_task_yaml(
        folder,
        task,
        **described,
        metric="balanced_accuracy",
        split_file="../../splits.tsv",
        files=files,
        extra={
            "n_classes": len(names),
            "counts": counts,
            "excluded_missing_label": int(missing.sum()),
            "excluded_by_leakage_policy": int((~missing & ~keep).sum()),
        },
    )


def _row_rng(seed: int, row_id: str) -> np.random.Generator:
    digest = hashlib.blake2b(str(row_id).encode("utf-8"), digest_size=8).digest()
    return np.random.default_rng([seed, int.from_bytes(digest, "big")])


def expression_mask(
    matrix: sp.csr_matrix, ids: Sequence[str], *, mask_fraction: float, seed: int, heldout: np.ndarray | None = None
) -> sp.csr_matrix:
    """1 at the hidden entries: ``mask_fraction`` of each row's expressed genes, plus the held-out columns."""
    csr = sp.csr_matrix(matrix)
    csr.eliminate_zeros()
    csr.sort_indices()
    heldout = np.zeros(csr.shape[1], dtype=bool) if heldout is None else np.asarray(heldout, dtype=bool)
    rows, cols = [], []
    panel = np.flatnonzero(heldout)
    for i in range(csr.shape[0]):
        expressed = csr.indices[csr.indptr[i] : csr.indptr[i + 1]]
        candidates = expressed[~heldout[expressed]]
        n_hide = int(np.floor(mask_fraction * candidates.size + 0.5))
        if candidates.size and n_hide == 0:
            n_hide = 1
        chosen = candidates[np.argsort(_row_rng(seed, ids[i]).random(candidates.size), kind="stable")[:n_hide]]
        hidden = np.union1d(chosen, panel)
        rows.append(np.full(hidden.size, i, dtype=np.int64))
        cols.append(hidden)
    row_index = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    col_index = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    mask = sp.csr_matrix((np.ones(row_index.size, dtype=np.int8), (row_index, col_index)), shape=csr.shape)
    mask.sort_indices()
    return mask


def heldout_panel(genes: Sequence[str], n: int, seed: int) -> np.ndarray:
    """A fixed gene panel: the ``n`` genes with the lowest ``H(seed, gene)`` (stable under added genes)."""
    flags = np.zeros(len(genes), dtype=bool)
    if n:
        u = unit_hash([str(g) for g in genes], seed)
        flags[np.argsort(u, kind="stable")[:n]] = True
    return flags


def gene_expression_prediction(
    matrix: Any,
    ids: Sequence[str],
    genes: Sequence[str],
    splits: Sequence[str],
    folder: str | os.PathLike[str],
    *,
    dataset_id: str,
    mask_fraction: float,
    heldout_genes: int,
    seed: int,
    drop_from_eval: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write the expression-prediction bundle; returns task.yaml's content."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = sp.csr_matrix(matrix, dtype=np.float32)
    target.eliminate_zeros()
    target.sort_indices()
    splits = np.asarray(splits, dtype=object)
    panel = heldout_panel(genes, heldout_genes, seed)
    mask = expression_mask(target, ids, mask_fraction=mask_fraction, seed=seed, heldout=panel)
    masked_input = target - target.multiply(mask.astype(bool))
    masked_input = sp.csr_matrix(masked_input, dtype=np.float32)
    masked_input.eliminate_zeros()
    keep = _kept(splits, np.ones(len(ids), dtype=bool), drop_from_eval)
    files, counts = [], {}
    for split in SPLITS:
        rows = np.flatnonzero(keep & (splits == split))
        path = folder / f"{split}.npz"
        bundle.save_arrays(
            path,
            {
                "input": masked_input[rows],
                "target": target[rows],
                "mask": mask[rows],
                "ids": np.asarray([ids[i] for i in rows], dtype=str),
            },
        )
        files.append(path)
        counts[split] = {"n": int(rows.size), "n_hidden": int(mask[rows].nnz)}
    genes_path = folder / "genes.tsv"
    pd.DataFrame({"gene": list(genes), "heldout": panel}).to_csv(genes_path, sep="\t", index=False, lineterminator="\n")
    files.append(genes_path)
    files.append(_write_rows(folder, pd.DataFrame({"id": list(ids), "split": splits, "in_bundle": keep})))
    return bundle.write_task_yaml(
        folder,
        "gene_expression_prediction",
        dataset_id=dataset_id,
        inputs=["input (masked profile)"],
        target="target (the full normalised profile) at the entries where mask is 1",
        metric="pearson_r",
        split_file="../../splits.tsv",
        files=files,
        extra={"mask_fraction": mask_fraction, "heldout_genes": int(panel.sum()), "seed": seed, "counts": counts},
    )


def sequence_classification(
    ids: Sequence[str],
    labels: Sequence[str],
    splits: Sequence[str],
    tokens: Mapping[str, Any],
    kmers: sp.csr_matrix | np.ndarray,
    folder: str | os.PathLike[str],
    *,
    dataset_id: str,
    drop_from_eval: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write the sequence-classification bundle; ``tokens`` maps a scheme to a 2-D array (rows = ids)."""
    kmer_rows = sp.csr_matrix(kmers)

    def write_split(folder: Path, split: str, kept: np.ndarray, codes: np.ndarray) -> list[Path]:
        rows = np.flatnonzero(kept)
        arrays: dict[str, Any] = {
            "y": codes[rows],
            "ids": np.asarray([ids[i] for i in rows], dtype=str),
            "kmers": kmer_rows[rows],
        }
        for scheme, values in tokens.items():
            arrays[f"tokens_{scheme}"] = np.asarray(values)[rows]
        path = folder / f"{split}.npz"
        bundle.save_arrays(path, arrays)
        return [path]

    described = {
        "dataset_id": dataset_id,
        "inputs": [f"tokens_{s}" for s in tokens] + ["kmers"],
        "target": "y: label codes (labels.tsv)",
    }
    rows = (ids, labels, splits, drop_from_eval)
    return _labelled_bundle(folder, "sequence_classification", rows, write_split, described)
