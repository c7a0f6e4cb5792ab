"""Reading single-cell count matrices into AnnData (cells x genes, sparse).

Formats: ``h5ad``; ``loom`` (read with h5py: real loom files carry 2-D column
attributes that ``anndata.io.read_loom`` rejects and attributes that fail loompy's
validation); ``csv``/``tsv`` in either orientation, gzip or not, read in chunks of rows
into a sparse matrix; ``10x_mtx`` Cell Ranger folders (v2 ``genes.tsv``, v3
``features.tsv.gz``); ``zarr`` (anndata's Zarr store, a folder, read like h5ad: only the
matrix asked for, ``obs``, ``var`` and ``obsm``); ``10x_h5`` (Cell Ranger's HDF5 matrix,
v2 or v3 layout, through ``scanpy.read_10x_h5``; gene expression features only).
"""

from __future__ import annotations

import csv
import logging
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import numpy as np
import pandas as pd
from anndata._io.specs.registry import IORegistryError  # an unknown encoding; anndata does not export it
from anndata.io import read_elem
from scipy import sparse

from genoprep import textio
from genoprep.errors import InputError
from genoprep.progress import Progress
from genoprep.values import check_values as check_value_kinds

log = logging.getLogger(__name__)

FORMATS = ("h5ad", "zarr", "loom", "csv", "tsv", "10x_mtx", "10x_h5")
#: formats whose input is a folder
FOLDER_FORMATS = ("10x_mtx", "zarr")
_CSV_CHUNK_ROWS = 2000
_LOOM_BLOCK_VALUES = 1 << 24  # dense values read from a loom matrix at a time (64 MB of float32)


def read_matrix(
    path: str | os.PathLike[str], fmt: str, *, orientation: str | None = None, layer: str | None = None
) -> ad.AnnData:
    """Read a count matrix as a cells x genes AnnData with a canonical float32 CSR ``X``.

    ``layer`` picks an h5ad layer (``"raw"`` for ``.raw.X``) or a loom layer instead of the
    main matrix. Cell ids must be unique; duplicate gene names are made unique as scanpy
    does (``GENE``, ``GENE-1``, ...).
    """
    path = Path(path)
    textio.check_readable(path, folder=fmt in FOLDER_FORMATS)
    if fmt == "h5ad":
        adata = _read_h5ad(path, layer)
    elif fmt == "zarr":
        adata = _read_zarr(path, layer)
    elif fmt == "10x_h5":
        adata = _read_10x_h5(path)
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
    check_names(adata, path)
    adata.X = as_float32_csr(adata.X)
    return adata


def check_names(adata: ad.AnnData, path: str | os.PathLike[str]) -> None:
    """Refuse an empty matrix and duplicate cell ids; make duplicate gene names unique (in place)."""
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(str(path), f"the matrix is empty ({adata.n_obs} cells x {adata.n_vars} genes)")
    adata.obs_names = adata.obs_names.astype(str)
    adata.var_names = adata.var_names.astype(str)
    duplicated = adata.obs_names[adata.obs_names.duplicated()].unique()
    if len(duplicated):
        raise InputError(
            str(path), f"{len(duplicated)} cell ids occur more than once (e.g. {', '.join(duplicated[:3])})"
        )
    if not adata.var_names.is_unique:
        log.warning("%s: duplicate gene names made unique", path)
        adata.var_names_make_unique()


def as_float32_csr(matrix: Any) -> sparse.csr_matrix:
    """``matrix`` as a canonical (sorted, no duplicates) float32 CSR matrix, copying only what must change."""
    if not sparse.issparse(matrix):
        matrix = sparse.csr_matrix(np.asarray(matrix, dtype=np.float32))
    elif not isinstance(matrix, sparse.csr_matrix):
        matrix = sparse.csr_matrix(matrix)
    if matrix.dtype != np.float32:
        matrix = sparse.csr_matrix((matrix.data.astype(np.float32), matrix.indices, matrix.indptr), shape=matrix.shape)
    if not matrix.has_canonical_format:
        matrix.sum_duplicates()
    return matrix


def obs_columns(path: str | os.PathLike[str], fmt: str) -> list[str] | None:
    """The per-cell columns an input carries, read without its matrix (``None`` when unknown).

    h5ad, zarr: the ``obs`` columns; loom: the column attributes; the other formats have none.
    """
    if fmt == "zarr":
        return _zarr_obs_columns(path)
    if fmt not in ("h5ad", "loom"):
        return []
    try:
        with h5py.File(path, "r") as handle:
            if fmt == "loom":
                return list(handle["col_attrs"].keys()) if "col_attrs" in handle else []
            if "obs" not in handle:
                return []
            group = handle["obs"]
            if isinstance(group, h5py.Group) and "column-order" in group.attrs:
                return [str(c) for c in np.atleast_1d(group.attrs["column-order"])]
            return None
    except (OSError, KeyError):
        return None  # the reader gives the one-line error


def _zarr_obs_columns(path: str | os.PathLike[str]) -> list[str] | None:
    import zarr

    try:
        store = zarr.open_group(path, mode="r")
        if "obs" not in store:
            return []
        order = store["obs"].attrs.get("column-order")
    except (OSError, KeyError, ValueError, TypeError):
        return None  # the reader gives the one-line error
    return None if order is None else [str(c) for c in np.atleast_1d(order)]


def _h5_error(path: Path, what: str, err: Exception) -> InputError:
    detail = " ".join(str(err).split())
    if isinstance(err, OSError) and ("signature" in detail or "truncated" in detail or "file" in detail.lower()):
        return InputError(
            str(path), f"not a readable {what} (HDF5) file: truncated, empty or another format ({detail[:160]})"
        )
    return InputError(str(path), f"cannot read {what}: {detail[:200]}")


def _read_h5ad(path: Path, layer: str | None) -> ad.AnnData:
    """Only the matrix asked for, ``obs``, ``var`` and ``obsm`` (other layers are not loaded)."""
    try:
        with h5py.File(path, "r") as handle:
            parts = _anndata_parts(handle, path, layer, "h5ad")
    except InputError:
        raise
    except (OSError, KeyError, ValueError, TypeError, IORegistryError) as err:
        raise _h5_error(path, "h5ad", err) from None
    if parts is None:
        return _read_h5ad_legacy(path, layer)  # anndata < 0.7 layout (record arrays)
    return _assemble(path, *parts)


def _read_zarr(path: Path, layer: str | None) -> ad.AnnData:
    """An anndata Zarr store (a folder), read as :func:`_read_h5ad` reads h5ad."""
    import zarr

    try:
        store = zarr.open_group(path, mode="r")
    except (OSError, ValueError, KeyError, TypeError) as err:  # zarr's GroupNotFoundError is an OSError
        detail = " ".join(str(err).split())[:160]
        raise InputError(str(path), f"not a readable anndata Zarr store ({detail})") from None
    try:
        parts = _anndata_parts(store, path, layer, "zarr")
    except InputError:
        raise
    except (OSError, KeyError, ValueError, TypeError, IORegistryError) as err:
        raise InputError(str(path), f"cannot read the Zarr store: {' '.join(str(err).split())[:200]}") from None
    if parts is None:
        raise InputError(str(path), "not an anndata Zarr store: obs/var are not data frames")
    return _assemble(path, *parts)


def _anndata_parts(handle: Any, path: Path, layer: str | None, what: str) -> tuple[Any, Any, Any, dict] | None:
    """The matrix, obs, var and obsm of an open h5ad file or Zarr group (``None``: old h5ad layout)."""
    if layer is None:
        key, var_key = "X", "var"
    elif layer == "raw":
        if "raw" not in handle:
            raise InputError(str(path), "input.layer is 'raw' but the file has no .raw")
        key, var_key = "raw/X", "raw/var"
    else:
        layers = list(handle["layers"].keys()) if "layers" in handle else []
        if layer not in layers:
            raise InputError(str(path), f"no layer {layer!r} (layers: {', '.join(layers) or 'none'})")
        key, var_key = f"layers/{layer}", "var"
    if key not in handle:
        raise InputError(str(path), f"the {what} input has no X matrix")
    if "obs" not in handle or var_key not in handle:
        raise InputError(str(path), f"not an {what} input: no obs/var tables")
    matrix = read_elem(handle[key])
    obs = read_elem(handle["obs"])
    var = read_elem(handle[var_key])
    if not isinstance(obs, pd.DataFrame) or not isinstance(var, pd.DataFrame):
        return None
    obsm = {}
    if "obsm" in handle:
        group = handle["obsm"]
        if hasattr(group, "keys"):
            obsm = {k: read_elem(group[k]) for k in group}
        else:  # anndata < 0.7 stored obsm as one record array: not carried over
            log.warning("%s: obsm in an old format (one record array) is not read", path)
    return matrix, obs, var, obsm


def _assemble(path: Path, matrix: Any, obs: pd.DataFrame, var: pd.DataFrame, obsm: dict) -> ad.AnnData:
    shape = matrix.shape
    if shape != (len(obs), len(var)):
        raise InputError(
            str(path), f"the matrix is {shape[0]} x {shape[1]}, but obs has {len(obs)} rows and var {len(var)}"
        )
    adata = ad.AnnData(X=matrix, obs=obs, var=var)
    for name, value in obsm.items():
        if getattr(value, "shape", (None,))[0] == adata.n_obs:
            adata.obsm[name] = value
    return adata


def _read_h5ad_legacy(path: Path, layer: str | None) -> ad.AnnData:
    """An h5ad in anndata's old layout, read whole by anndata (which converts it)."""
    try:
        source = ad.read_h5ad(path)
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise _h5_error(path, "h5ad", err) from None
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
    return ad.AnnData(X=matrix, obs=source.obs.copy(), var=var.copy())


def _decode(values: np.ndarray) -> np.ndarray:
    """Byte strings of an HDF5 attribute as text, element by element for any shape (h5py gives variable-length
    strings as an object array of bytes; iterating a 2-D one gave rows, so their bytes were kept)."""
    if values.dtype.kind == "S":
        return values.astype(str)
    if values.dtype.kind == "O":
        decoded = np.empty(values.size, dtype=object)
        decoded[:] = [v.decode() if isinstance(v, bytes) else v for v in values.ravel()]
        return decoded.reshape(values.shape)
    return values


def _loom_attributes(
    group: h5py.Group,
    n: int,
    path: Path,
    what: str,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """1-D attributes (and 2-D ones of width 1, squeezed) as columns; wider 2-D ones as arrays.

    An attribute whose length is not the matrix's number of ``what`` is refused (it would
    otherwise be dropped, and a short ``CellID`` would silently rename the cells).
    """
    columns: dict[str, np.ndarray] = {}
    multi: dict[str, np.ndarray] = {}
    for name, dataset in group.items():
        if not isinstance(dataset, h5py.Dataset):
            continue
        if dataset.shape[:1] != (n,):
            length = dataset.shape[0] if dataset.shape else "a scalar"
            raise InputError(
                str(path),
                f"{length} values, but the matrix has {n} {what} (a loom attribute holds one value per {what[:-1]})",
                record=f"{group.name}/{name}",
            )
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
        raise _h5_error(path, "loom", err) from None
    with handle:
        matrix, obs, var, obsm, varm = _loom_parts(handle, path, layer)
        n_genes, n_cells = matrix.shape
        # genes x cells on disk: read blocks of genes (bounded memory), keep them sparse, transpose at the end
        rows = max(1, _LOOM_BLOCK_VALUES // max(n_cells, 1))
        blocks = [sparse.csr_matrix(matrix[start : start + rows, :]) for start in range(0, n_genes, rows)]
        genes_x_cells = sparse.vstack(blocks, format="csr") if blocks else sparse.csr_matrix((0, n_cells))
    adata = ad.AnnData(X=genes_x_cells.T.tocsr(), obs=obs, var=var)
    for key, value in obsm.items():
        adata.obsm[key] = value
    for key, value in varm.items():
        adata.varm[key] = value
    return adata


def loom_header(handle: h5py.File, path: Path, layer: str | None) -> tuple[h5py.Dataset, pd.DataFrame, pd.DataFrame]:
    """The matrix (genes x cells, on disk), ``obs`` and ``var`` of an open loom file, as :func:`read_matrix`
    names them (for the streaming conversion, :mod:`genoprep.scrna.convert`)."""
    matrix, obs, var, _obsm, _varm = _loom_parts(handle, path, layer)
    return matrix, obs, var


def _loom_parts(
    handle: h5py.File, path: Path, layer: str | None
) -> tuple[h5py.Dataset, pd.DataFrame, pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    if "matrix" not in handle:
        raise InputError(str(path), "not a loom file: no /matrix")
    matrix = handle["matrix"] if not layer else handle.get(f"layers/{layer}")
    if matrix is None:
        raise InputError(str(path), f"no loom layer {layer!r}")
    n_genes, n_cells = matrix.shape
    var, varm = (
        _loom_attributes(handle["row_attrs"], n_genes, path, "genes") if "row_attrs" in handle else (pd.DataFrame(), {})
    )
    obs, obsm = (
        _loom_attributes(handle["col_attrs"], n_cells, path, "cells") if "col_attrs" in handle else (pd.DataFrame(), {})
    )
    obs.index = pd.Index(obs.pop("CellID").astype(str) if "CellID" in obs else [f"cell_{i}" for i in range(n_cells)])
    for name in ("Gene", "gene_symbols", "Accession"):
        if name in var:
            var.index = pd.Index(var[name].astype(str))
            break
    else:
        var.index = pd.Index([f"gene_{i}" for i in range(n_genes)])
    if "Accession" in var and "gene_ids" not in var:
        var["gene_ids"] = var["Accession"].astype(str)
    return matrix, obs, var, obsm, varm


def _read_delimited(path: Path, sep: str, orientation: str) -> ad.AnnData:
    """A CSV/TSV matrix read in chunks of rows into a sparse matrix (:func:`delimited_blocks`)."""
    blocks: list[sparse.csr_matrix] = []
    row_names: list[str] = []
    columns: pd.Index | None = None
    for header, names, block in delimited_blocks(path, sep):
        columns = header
        blocks.append(block)
        row_names.extend(names)
    if columns is None:
        raise InputError(str(path), "the table has no data rows")
    matrix = sparse.vstack(blocks, format="csr")
    rows = pd.DataFrame(index=pd.Index(row_names))
    cols = pd.DataFrame(index=columns.astype(str))
    if orientation == "genes_x_cells":
        return ad.AnnData(X=matrix.T.tocsr(), obs=cols, var=rows)
    return ad.AnnData(X=matrix, obs=rows, var=cols)


def delimited_blocks(path: Path, sep: str) -> Iterator[tuple[pd.Index, list[str], sparse.csr_matrix]]:
    """A CSV/TSV matrix in blocks of rows: the column names, the block's row names and its values as
    float32 CSR (through :mod:`genoprep.textio`: gzip or not, a byte-order mark and CRLF line ends are
    fine, damaged gzip is one line; a bad header, field or value is one line naming it)."""
    columns: pd.Index | None = None
    rows_before = 0
    try:
        with textio.open_text(path) as handle:
            header = next(csv.reader([handle.readline()], delimiter=sep), [])
            reader = pd.read_csv(
                handle,
                sep=sep,
                header=None,
                index_col=0,
                chunksize=_CSV_CHUNK_ROWS,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
            )
            n_fields = len(header)
            progress = Progress(f"reading {path.name}", unit="rows")
            for chunk in reader:
                if columns is None:
                    # a header one field short (R write.csv) names only the data columns
                    columns = pd.Index(header[len(header) - chunk.shape[1] :] if len(header) >= chunk.shape[1] else [])
                    if len(columns) != chunk.shape[1] or n_fields not in (chunk.shape[1], chunk.shape[1] + 1):
                        raise InputError(
                            str(path),
                            f"the header has {n_fields} fields, but the rows have {chunk.shape[1] + 1}",
                            record="line 1",
                        )
                block = _numeric_block(chunk, columns, path, rows_before)
                progress.update(chunk.shape[0])
                rows_before += chunk.shape[0]
                yield columns, list(chunk.index.astype(str)), block
            progress.finish()
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(str(path), "the table has no data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise InputError(str(path), f"cannot parse the table: {' '.join(str(err).split())}") from None


def _numeric_block(chunk: pd.DataFrame, names: pd.Index, path: Path, rows_before: int) -> sparse.csr_matrix:
    """A chunk of text fields as a float32 CSR block; an empty or non-numeric field is one line."""
    values = chunk.apply(pd.to_numeric, errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        row, col = np.argwhere(bad)[0]
        field = chunk.iat[row, col]
        problem = "is empty (a short row?)" if pd.isna(field) else f"value {field!r} is not a number"
        raise InputError(
            str(path), problem, record=f"line {rows_before + row + 2}, row {chunk.index[row]!s}, column {names[col]!s}"
        )
    return sparse.csr_matrix(values.to_numpy(dtype=np.float32))


def _read_10x(path: Path) -> ad.AnnData:
    """A Cell Ranger matrix folder: v3 (``matrix.mtx.gz``, ``features.tsv.gz``, ``barcodes.tsv.gz``)
    or v2 (``matrix.mtx``, ``genes.tsv``, ``barcodes.tsv``); a missing file is named."""
    _check_10x_folder(path)
    try:
        import scanpy as sc

        adata = sc.read_10x_mtx(path, var_names="gene_symbols", make_unique=True, gex_only=True)
    except (EOFError, OSError, ValueError, IndexError, KeyError, zlib.error) as err:
        raise _10x_error(path, err) from None
    return adata


def read_10x_header(path: Path) -> tuple[Path, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """A Cell Ranger folder's matrix file, ``obs`` and ``var`` as :func:`_read_10x` (scanpy's
    ``read_10x_mtx(var_names="gene_symbols", make_unique=True, gex_only=True)``) gives them, and the
    mask of the features it keeps (gene expression), without reading the matrix."""
    _check_10x_folder(path)
    legacy = (path / "genes.tsv").is_file()  # as scanpy decides
    suffix = "" if legacy else ".gz"
    try:
        genes = pd.read_csv(path / f"{'genes' if legacy else 'features'}.tsv{suffix}", header=None, sep="\t")
        barcodes = pd.read_csv(path / f"barcodes.tsv{suffix}", header=None)
        var = pd.DataFrame(index=ad.utils.make_index_unique(pd.Index(genes[1].values)))
        var["gene_ids"] = genes[0].values
        keep = np.ones(len(var), dtype=bool)
        if not legacy:
            var["feature_types"] = genes[2].values
            keep = (var["feature_types"] == "Gene Expression").to_numpy()
            var = var.iloc[np.flatnonzero(keep)].copy()
    except (EOFError, OSError, ValueError, IndexError, KeyError, zlib.error) as err:
        raise _10x_error(path, err) from None
    obs = pd.DataFrame(index=pd.Index(barcodes[0].values))
    return path / f"matrix.mtx{suffix}", obs, var, keep


def _10x_error(path: Path, err: Exception) -> InputError:
    """The one line for a 10x folder that cannot be read (a truncated gzip said so)."""
    if isinstance(err, EOFError):
        return InputError(str(path), "truncated gzip: a file of the 10x folder ends before its compressed stream does")
    return InputError(str(path), f"cannot read the 10x matrix folder: {' '.join(str(err).split())[:200]}")


def _check_10x_folder(path: Path) -> None:
    v3 = (path / "matrix.mtx.gz").exists() or (path / "features.tsv.gz").exists()
    needed = (
        ("matrix.mtx.gz", "features.tsv.gz", "barcodes.tsv.gz") if v3 else ("matrix.mtx", "genes.tsv", "barcodes.tsv")
    )
    missing = [name for name in needed if not (path / name).is_file()]
    if missing:
        raise InputError(
            str(path),
            f"not a complete 10x matrix folder: {', '.join(missing)} missing "
            f"(a {'v3' if v3 else 'v2'} folder holds {', '.join(needed)})",
        )


def _read_10x_h5(path: Path) -> ad.AnnData:
    """Cell Ranger's HDF5 matrix (``filtered_feature_bc_matrix.h5``; v3 ``matrix/features`` or v2
    ``<genome>/genes``), gene expression features only, gene symbols as names (ids in ``gene_ids``)."""
    try:
        with h5py.File(path, "r") as handle:
            groups = list(handle.keys())
    except OSError as err:
        raise _h5_error(path, "10x HDF5", err) from None
    if not groups:
        raise InputError(str(path), "not a 10x HDF5 matrix: the file holds no groups")
    if "matrix" in groups:
        with h5py.File(path, "r") as handle:
            missing = [
                k for k in ("data", "indices", "indptr", "shape", "barcodes", "features") if k not in handle["matrix"]
            ]
        if missing:
            raise InputError(str(path), f"not a complete 10x HDF5 matrix: matrix/{', matrix/'.join(missing)} missing")
    try:
        import scanpy as sc

        adata = sc.read_10x_h5(path, gex_only=True)
    except (OSError, ValueError, IndexError, KeyError, TypeError) as err:
        raise InputError(str(path), f"cannot read the 10x HDF5 matrix: {' '.join(str(err).split())[:200]}") from None
    return adata


#: what :func:`genoprep.values.check_values` checks for each ``input.value_type``
VALUE_KINDS = {"counts": "counts", "log_normalized": "non_negative"}
_HINTS = {
    "negative": "the matrix looks scaled (z-scored), not raw counts; genoprep needs raw counts (or a "
    "log-normalised matrix with input.value_type: log_normalized)",
    "not_integer": "the matrix looks normalised or log-transformed, not raw counts; if it is log-normalised on "
    "purpose, say input.value_type: log_normalized in the card",
}


def check_values(adata: ad.AnnData, source: str, value_type: str = "counts") -> None:
    """Refuse matrices that do not hold what the card says (:func:`genoprep.values.check_values`
    on the stored values of the sparse matrix).

    ``counts`` must be non-negative integers (possibly stored as floats); a matrix with
    negative values is scaled/z-scored, one with fractions is normalised. ``log_normalized``
    must be non-negative. The message names a cell and gene holding an offending value.
    """
    matrix = as_float32_csr(adata.X)

    def locate(position: int) -> str:
        row = int(np.searchsorted(matrix.indptr, position, side="right") - 1)
        return f"cell {adata.obs_names[row]}, gene {adata.var_names[int(matrix.indices[position])]}"

    check_value_kinds(matrix.data, VALUE_KINDS[value_type], source, locate, _HINTS)  # type: ignore[arg-type]
