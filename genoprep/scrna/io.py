"""Reading single-cell count matrices into AnnData (cells x genes, sparse).

Formats: ``h5ad``; ``loom`` (read with h5py: real loom files carry 2-D column
attributes that ``anndata.io.read_loom`` rejects and attributes that fail loompy's
validation); ``csv``/``tsv`` in either orientation, gzip or not, read in chunks of rows
into a sparse matrix; ``10x_mtx`` Cell Ranger folders (v2 ``genes.tsv``, v3
``features.tsv.gz``).
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
import re
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scanpy as sc
from scipy import sparse

from genoprep.errors import InputError

log = logging.getLogger(__name__)

FORMATS = ("h5ad", "loom", "csv", "tsv", "10x_mtx")
ENSEMBL_GENE = re.compile(r"^ENS[A-Z]*G\d{11}(\.\d+)?$")
_CSV_CHUNK_ROWS = 2000
_LOOM_BLOCK_VALUES = 1 << 24  # dense values read from a loom matrix at a time (64 MB of float32)


def read_matrix(path: str | os.PathLike[str], fmt: str, *, orientation: str | None = None,
                layer: str | None = None) -> ad.AnnData:
    """Read a count matrix as a cells x genes AnnData with a CSR ``X``.

    ``layer`` picks an h5ad layer (``"raw"`` for ``.raw.X``) or a loom layer instead of the
    main matrix. Cell ids must be unique; duplicate gene names are made unique as scanpy
    does (``GENE``, ``GENE-1``, ...).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "input does not exist")
    if fmt == "h5ad":
        adata = _read_h5ad(path, layer)
    elif fmt == "loom":
        adata = _read_loom(path, layer)
    elif fmt in ("csv", "tsv"):
        if orientation not in ("genes_x_cells", "cells_x_genes"):
            raise InputError(str(path), "csv/tsv input needs input.orientation: genes_x_cells or cells_x_genes")
        adata = _read_delimited(path, "," if fmt == "csv" else "\t", orientation)
    elif fmt == "10x_mtx":
        adata = _read_10x(path)
    else:
        raise InputError(str(path), f"unknown scRNA-seq format {fmt!r} (known: {', '.join(FORMATS)})")
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(str(path), f"the matrix is empty ({adata.n_obs} cells x {adata.n_vars} genes)")
    adata.obs_names = adata.obs_names.astype(str)
    adata.var_names = adata.var_names.astype(str)
    duplicated = adata.obs_names[adata.obs_names.duplicated()].unique()
    if len(duplicated):
        raise InputError(str(path), f"{len(duplicated)} cell ids occur more than once (e.g. {', '.join(duplicated[:3])})")
    if not adata.var_names.is_unique:
        log.warning("%s: duplicate gene names made unique", path)
        adata.var_names_make_unique()
    if not sparse.issparse(adata.X):
        adata.X = sparse.csr_matrix(adata.X)
    elif not isinstance(adata.X, sparse.csr_matrix):
        adata.X = sparse.csr_matrix(adata.X)
    return adata


def _read_h5ad(path: Path, layer: str | None) -> ad.AnnData:
    try:
        source = ad.read_h5ad(path)
    except (OSError, KeyError, ValueError) as err:
        raise InputError(str(path), f"cannot read h5ad: {' '.join(str(err).split())}") from None
    if layer is None:
        matrix, var = source.X, source.var
    elif layer == "raw":
        if source.raw is None:
            raise InputError(str(path), "input.layer is 'raw' but the file has no .raw")
        matrix, var = source.raw.X, source.raw.var
    elif layer in source.layers:
        matrix, var = source.layers[layer], source.var
    else:
        raise InputError(str(path), f"no layer {layer!r} (layers: {', '.join(source.layers) or 'none'})")
    if matrix is None:
        raise InputError(str(path), "the h5ad file has no X matrix")
    adata = ad.AnnData(X=matrix, obs=source.obs.copy(), var=var.copy())
    for key, value in source.obsm.items():
        adata.obsm[key] = value
    return adata


def _decode(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "S":
        return values.astype(str)
    if values.dtype.kind == "O":
        return np.array([v.decode() if isinstance(v, bytes) else v for v in values], dtype=object)
    return values


def _loom_attributes(group: h5py.Group, n: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """1-D attributes (and 2-D ones of width 1, squeezed) as columns; wider 2-D ones as arrays."""
    columns: dict[str, np.ndarray] = {}
    multi: dict[str, np.ndarray] = {}
    for name, dataset in group.items():
        if not isinstance(dataset, h5py.Dataset) or dataset.shape[:1] != (n,):
            continue
        values = _decode(dataset[()])
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim == 1:
            columns[name] = values
        else:
            multi[name] = values
    return pd.DataFrame(columns), multi


def _read_loom(path: Path, layer: str | None) -> ad.AnnData:
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise InputError(str(path), f"cannot open loom (HDF5) file: {err}") from None
    with handle:
        if "matrix" not in handle:
            raise InputError(str(path), "not a loom file: no /matrix")
        matrix = handle["matrix"] if not layer else handle.get(f"layers/{layer}")
        if matrix is None:
            raise InputError(str(path), f"no loom layer {layer!r}")
        n_genes, n_cells = matrix.shape
        # genes x cells on disk: read blocks of genes (bounded memory), keep them sparse, transpose at the end
        rows = max(1, _LOOM_BLOCK_VALUES // max(n_cells, 1))
        blocks = [sparse.csr_matrix(matrix[start:start + rows, :]) for start in range(0, n_genes, rows)]
        genes_x_cells = sparse.vstack(blocks, format="csr") if blocks else sparse.csr_matrix((0, n_cells))
        var, varm = _loom_attributes(handle["row_attrs"], n_genes) if "row_attrs" in handle else (pd.DataFrame(), {})
        obs, obsm = _loom_attributes(handle["col_attrs"], n_cells) if "col_attrs" in handle else (pd.DataFrame(), {})
    obs.index = pd.Index(obs.pop("CellID").astype(str) if "CellID" in obs else [f"cell_{i}" for i in range(n_cells)])
    for name in ("Gene", "gene_symbols", "Accession"):
        if name in var:
            var.index = pd.Index(var[name].astype(str))
            break
    else:
        var.index = pd.Index([f"gene_{i}" for i in range(n_genes)])
    if "Accession" in var and "gene_ids" not in var:
        var["gene_ids"] = var["Accession"].astype(str)
    adata = ad.AnnData(X=genes_x_cells.T.tocsr(), obs=obs, var=var)
    for key, value in obsm.items():
        adata.obsm[key] = value
    for key, value in varm.items():
        adata.varm[key] = value
    return adata


def _read_delimited(path: Path, sep: str, orientation: str) -> ad.AnnData:
    blocks: list[sparse.csr_matrix] = []
    row_names: list[str] = []
    columns: pd.Index | None = None
    try:
        reader = pd.read_csv(path, sep=sep, index_col=0, chunksize=_CSV_CHUNK_ROWS, compression="infer")
        for chunk in reader:
            if columns is None:
                columns = chunk.columns
            values = chunk.apply(pd.to_numeric, errors="coerce")
            bad = values.isna() & chunk.notna() | chunk.isna()
            if bad.to_numpy().any():
                row, col = np.argwhere(bad.to_numpy())[0]
                raise InputError(str(path), f"value {chunk.iat[row, col]!r} is not a number",
                                 record=f"row {chunk.index[row]!s}, column {chunk.columns[col]!s}")
            blocks.append(sparse.csr_matrix(values.to_numpy(dtype=np.float32)))
            row_names.extend(chunk.index.astype(str))
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as err:
        raise InputError(str(path), f"cannot parse the table: {' '.join(str(err).split())}") from None
    if columns is None:
        raise InputError(str(path), "the table has no rows")
    matrix = sparse.vstack(blocks, format="csr")
    rows = pd.DataFrame(index=pd.Index(row_names))
    cols = pd.DataFrame(index=pd.Index(_header_names(path, sep, len(columns))))
    if orientation == "genes_x_cells":
        return ad.AnnData(X=matrix.T.tocsr(), obs=cols, var=rows)
    return ad.AnnData(X=matrix, obs=rows, var=cols)


def _header_names(path: Path, sep: str, n_columns: int) -> list[str]:
    """The last ``n_columns`` names of the header row as written (pandas renames duplicates)."""
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rt", newline="") if gzipped else open(path, newline="")) as handle:
        header = next(csv.reader(handle, delimiter=sep))
    return header[len(header) - n_columns:]


def _read_10x(path: Path) -> ad.AnnData:
    if not path.is_dir():
        raise InputError(str(path), "a 10x_mtx input must be a Cell Ranger matrix folder")
    try:
        adata = sc.read_10x_mtx(path, var_names="gene_symbols", make_unique=True, gex_only=True)
    except (OSError, ValueError, IndexError) as err:
        raise InputError(str(path), f"cannot read the 10x matrix folder: {' '.join(str(err).split())}") from None
    return adata


def check_values(adata: ad.AnnData, source: str, value_type: str = "counts") -> None:
    """Refuse matrices that do not hold what the card says.

    ``counts`` must be non-negative integers (possibly stored as floats); a matrix with
    negative values is scaled/z-scored, one with fractions is normalised. ``log_normalized``
    must be non-negative. The message names a cell and gene holding an offending value.
    """
    matrix = adata.X.tocsr() if sparse.issparse(adata.X) else sparse.csr_matrix(adata.X)
    data = matrix.data
    if not np.all(np.isfinite(data)):
        _raise_at(adata, matrix, ~np.isfinite(data), source, "is not a finite number")
    if (data < 0).any():
        _raise_at(adata, matrix, data < 0, source,
                  "is negative: the matrix looks scaled (z-scored), not raw counts; genoprep needs raw counts "
                  "(or a log-normalised matrix with input.value_type: log_normalized)")
    if value_type == "counts" and (data != np.round(data)).any():
        _raise_at(adata, matrix, data != np.round(data), source,
                  "is not an integer: the matrix looks normalised or log-transformed, not raw counts; "
                  "if it is log-normalised on purpose, say input.value_type: log_normalized in the card")


def _raise_at(adata: ad.AnnData, matrix: sparse.csr_matrix, mask: np.ndarray, source: str, problem: str) -> None:
    position = int(np.flatnonzero(mask)[0])
    row = int(np.searchsorted(matrix.indptr, position, side="right") - 1)
    col = int(matrix.indices[position])
    value = matrix.data[position]
    raise InputError(source, f"value {value:g} {problem}",
                     record=f"cell {adata.obs_names[row]}, gene {adata.var_names[col]}")


def looks_like_ensembl(names: pd.Index) -> bool:
    """True when most names are Ensembl gene ids (``ENSG...``, ``ENSMUSG...``)."""
    if len(names) == 0:
        return False
    return float(np.mean([bool(ENSEMBL_GENE.match(n)) for n in names])) > 0.9
