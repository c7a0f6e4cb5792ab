"""What the scRNA-seq chain writes beside the ML matrix: the per-cell table (``obs.tsv``, see
:mod:`genoprep.ml_files`) and the embeddings and scaled layer of ``processed.h5ad``.

:func:`write_counts` starts ``processed.h5ad`` with ``layers['counts']`` before the chain
normalises the counts in place, and :func:`write_processed` adds the rest after HVG selection.
:func:`add_pca` and :func:`add_umap` (:func:`add_embeddings`: both) run at the end of the chain,
once ``processed.h5ad`` is written and its AnnData released: they append to the file, so the
counts, the normalised matrix and the dense scaled block are never in memory together, and the
dense block is released before the UMAP.

- ``obsm['X_pca']`` — :func:`genoprep.embed.pca` of the scaled HVG matrix (``X.npy``),
  ``uns['pca']`` its ``variance_ratio`` and parameters (scanpy's names);
- ``obsm['X_umap']`` — :func:`genoprep.embed.umap` of those components (when the card asks for
  it, there are enough cells and no more than ``params.umap_max_cells``: a seeded UMAP runs on
  one thread and takes hours at atlas scale, so above that size it is skipped with a line on
  the terminal saying how to ask for it), ``uns['umap']`` its parameters;
- ``layers['scaled']`` — the scaled HVG values (``X.npy``) in their genes' columns, as a CSR
  matrix cells x all genes whose other genes hold no stored value (they are not scaled).
"""

from __future__ import annotations

import os

import anndata as ad
import h5py
import numpy as np
import pandas as pd
from scipy import sparse

from genoprep import embed, runtime
from genoprep.scrna.annotate import LABELS
from genoprep.scrna.options import EmbedOptions
from genoprep.scrna.qc import QC_OBS

#: rows of the scaled layer written at a time (bounds the index array in memory)
_ROWS_PER_BLOCK = 4096


def obs_table(adata: ad.AnnData) -> pd.DataFrame:
    """Cell id first, then the label columns present, then the QC columns, in row order."""
    columns = [c for c in LABELS if c in adata.obs] + [c for c in QC_OBS if c in adata.obs]
    table = adata.obs[columns].copy()
    table.insert(0, "cell_id", adata.obs_names.astype(str))
    return table


def umap_of(coordinates: np.ndarray, options: EmbedOptions) -> np.ndarray | None:
    """The seeded UMAP of the PCA ``coordinates``, or None when the card asks for none, when there are
    more cells than ``umap_max_cells`` (the terminal says so) or too few for the neighbours."""
    if not options.umap:
        return None
    n_cells = coordinates.shape[0]
    if options.umap_max_cells is not None and n_cells > options.umap_max_cells:
        runtime.console(
            f"UMAP skipped: {n_cells} cells is over params.umap_max_cells ({options.umap_max_cells}); "
            "obsm has X_pca only (raise umap_max_cells, or set it to null, to compute the UMAP)"
        )
        return None
    return embed.umap(coordinates, options.umap_n_neighbors, options.embedding_seed)


def embeddings(scaled: np.ndarray, options: EmbedOptions) -> dict[str, np.ndarray]:
    """``{"X_pca": ..., "X_umap": ..., "variance_ratio": ...}`` of the scaled HVG matrix
    (``X_umap`` only when asked for and computable)."""
    coordinates, variance_ratio = embed.pca(scaled, options.n_pcs)
    found = {"X_pca": coordinates, "variance_ratio": variance_ratio}
    umap = umap_of(coordinates, options)
    if umap is not None:
        found["X_umap"] = umap
    return found


def _write_scaled_layer(group: h5py.Group, scaled: np.ndarray, columns: np.ndarray, n_vars: int) -> None:
    """``layers/scaled`` as anndata's CSR encoding, written block by block."""
    n_cells, n_hvg = scaled.shape
    layer = group.create_group("scaled")
    layer.attrs["encoding-type"] = "csr_matrix"
    layer.attrs["encoding-version"] = "0.1.0"
    layer.attrs["shape"] = np.array([n_cells, n_vars], dtype=np.int64)
    data = layer.create_dataset("data", shape=(n_cells * n_hvg,), dtype=np.float32)
    indices = layer.create_dataset("indices", shape=(n_cells * n_hvg,), dtype=np.int32)
    # block by block: ``scaled`` may be a memory map of X.npy, whose pages row_blocks gives back
    for start, block in embed.row_blocks(scaled, np.float32, _ROWS_PER_BLOCK):
        stop = start + block.shape[0]
        data[start * n_hvg : stop * n_hvg] = block.reshape(-1)
        indices[start * n_hvg : stop * n_hvg] = np.tile(columns.astype(np.int32), stop - start)
    layer.create_dataset("indptr", data=np.arange(n_cells + 1, dtype=np.int64) * n_hvg)


def add_embeddings(
    path: str | os.PathLike[str], scaled: np.ndarray, features: list[str], options: EmbedOptions
) -> None:
    """Append ``obsm['X_pca']``, ``obsm['X_umap']``, ``uns['pca']``/``uns['umap']`` and
    ``layers['scaled']`` to the written ``processed.h5ad`` (``scaled`` is ``X.npy``, its columns
    ``features``): :func:`add_pca` then :func:`add_umap`."""
    add_umap(path, add_pca(path, scaled, features, options), options)


def add_pca(path: str | os.PathLike[str], scaled: np.ndarray, features: list[str], options: EmbedOptions) -> np.ndarray:
    """Append ``obsm['X_pca']``, ``uns['pca']`` and ``layers['scaled']`` to ``processed.h5ad``; return the PCA
    coordinates (all :func:`add_umap` needs: the caller can drop ``scaled`` before the UMAP)."""
    with h5py.File(path, "r") as handle:
        var_names = ad.io.read_elem(handle["var"]).index.astype(str)
        n_obs = handle["obs"][handle["obs"].attrs["_index"]].shape[0]
    columns = var_names.get_indexer(pd.Index(features))
    if (columns < 0).any() or scaled.shape != (n_obs, len(features)):
        raise ValueError(f"{path}: the scaled matrix does not match the AnnData's cells and genes")
    coordinates, variance_ratio = embed.pca(scaled, options.n_pcs)
    with h5py.File(path, "r+") as handle:
        ad.io.write_elem(handle["obsm"], "X_pca", coordinates)
        pca_params = {"n_comps": int(coordinates.shape[1]), "zero_center": True}
        ad.io.write_elem(handle["uns"], "pca", {"variance_ratio": variance_ratio, "params": pca_params})
        _write_scaled_layer(handle.require_group("layers"), scaled, columns, len(var_names))
    return coordinates


def add_umap(path: str | os.PathLike[str], coordinates: np.ndarray, options: EmbedOptions) -> None:
    """Append ``obsm['X_umap']`` and ``uns['umap']`` (of the PCA ``coordinates``) to ``processed.h5ad`` when the
    card asks for a UMAP and there are enough cells."""
    umap = umap_of(coordinates, options)
    if umap is None:
        return
    with h5py.File(path, "r+") as handle:
        ad.io.write_elem(handle["obsm"], "X_umap", umap)
        umap_params = {"n_neighbors": options.umap_n_neighbors, "n_components": 2, "seed": options.embedding_seed}
        ad.io.write_elem(handle["uns"], "umap", {"params": umap_params})


def write_counts(path: str | os.PathLike[str], counts: sparse.csr_matrix) -> None:
    """Start ``processed.h5ad`` with ``layers['counts']`` only, so that the counts can then be normalised in
    place (one matrix in memory instead of two); :func:`write_processed` adds the rest."""
    with h5py.File(path, "w") as handle:
        handle.attrs["encoding-type"] = "anndata"
        handle.attrs["encoding-version"] = "0.1.0"
        ad.io.write_elem(handle, "layers", {"counts": counts})


def write_processed(path: str | os.PathLike[str], adata: ad.AnnData, counts_written: bool) -> None:
    """``adata.write_h5ad(path)``; with ``counts_written`` into the file :func:`write_counts` started, keeping
    its ``layers['counts']`` (every other element written as ``write_h5ad`` writes it, strings of
    ``obs``/``var`` turned into categoricals as it does)."""
    if not counts_written:
        adata.write_h5ad(path)
        return
    adata.strings_to_categoricals()
    with h5py.File(path, "a") as handle:
        ad.io.write_elem(handle, "X", adata.X)
        ad.io.write_elem(handle, "obs", adata.obs)
        ad.io.write_elem(handle, "var", adata.var)
        for key in ("obsm", "varm", "obsp", "varp"):
            ad.io.write_elem(handle, key, dict(getattr(adata, key)))
        for name, layer in adata.layers.items():
            ad.io.write_elem(handle["layers"], name, layer)
        ad.io.write_elem(handle, "uns", dict(adata.uns))
