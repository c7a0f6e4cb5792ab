"""Streaming conversion of the text and loom inputs into the chunked CSR h5ad the out-of-core path reads.

10x ``.mtx`` folders, CSV/TSV tables (either orientation, gzip or not) and loom files are read
once, block by block, and never held whole: each block's stored values go, as (cell, gene,
value) triples, to a spill file beside the target while the values per cell are counted; the
row pointers follow from the counts, and the triples are then scattered into memory-mapped
``data``/``indices`` arrays at their cell's cursor (in arrival order, so a cell's values keep
the order of the file; the row reader puts each chunk into canonical form as the in-memory
reader does). When the triples already came in cell order (10x folders written by Cell
Ranger, a cells x genes table) the spill file is copied as it is. ``obs`` and ``var`` are
exactly what the in-memory reader (:func:`genoprep.scrna.io.read_matrix`) gives: the header
readers are shared with it.

The h5ad holds ``X`` (CSR: float32 data, int32 indices and row pointers, int64
row pointers past 2**31 values; chunked), ``obs``
and ``var``; it lives in the dataset's work folder for the length of one run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import anndata as ad
import h5py
import numba
import numpy as np
import pandas as pd
from anndata.io import write_elem

from genoprep import textio
from genoprep.errors import InputError
from genoprep.scrna import io

log = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]

#: the formats :func:`to_h5ad` converts
FORMATS = ("10x_mtx", "csv", "tsv", "loom")
_TRIPLE = np.dtype([("cell", "<i8"), ("gene", "<i4"), ("value", "<f4")])
_BLOCK = 1 << 22  # triples per block read back from the spill file (64 MiB)
_MTX_LINES = 1 << 21  # lines of a .mtx file parsed at a time


@numba.njit(cache=True)
def _scatter(cells, genes, values, cursor, indices, data):  # pragma: no cover - compiled
    for i in range(cells.size):
        position = cursor[cells[i]]
        indices[position] = genes[i]
        data[position] = values[i]
        cursor[cells[i]] = position + 1


class CsrBuilder:
    """Collects (cell, gene, value) triples in any order; :meth:`write` stores them as CSR by cells."""

    def __init__(self, folder: StrPath, n_genes: int):
        self.folder = Path(folder)
        self.n_genes = n_genes
        self.spill_path = self.folder / "convert.triples"
        self.spill = open(self.spill_path, "wb")  # noqa: SIM115 - closed in write()/close()
        self.row_nnz = np.zeros(0, dtype=np.int64)
        self.nnz = 0
        self.last_cell = -1
        self.in_order = True

    def add(self, cells: np.ndarray, genes: np.ndarray, values: np.ndarray) -> None:
        if cells.size == 0:
            return
        triples = np.empty(cells.size, dtype=_TRIPLE)
        triples["cell"], triples["gene"], triples["value"] = cells, genes, values
        triples.tofile(self.spill)
        if self.in_order and (cells[0] < self.last_cell or np.any(np.diff(cells) < 0)):
            self.in_order = False
        self.last_cell = max(self.last_cell, int(cells[-1]))
        counts = np.bincount(cells)
        if counts.size > self.row_nnz.size:
            self.row_nnz = np.concatenate([self.row_nnz, np.zeros(counts.size - self.row_nnz.size, np.int64)])
        self.row_nnz[: counts.size] += counts
        self.nnz += cells.size

    def _blocks(self) -> Iterator[np.ndarray]:
        done = 0
        while done < self.nnz:
            count = min(_BLOCK, self.nnz - done)
            yield np.fromfile(self.spill_path, dtype=_TRIPLE, count=count, offset=done * _TRIPLE.itemsize)
            done += count

    def write(self, target: StrPath, obs: pd.DataFrame, var: pd.DataFrame) -> None:
        """``target``: an h5ad with ``X`` (CSR), ``obs`` and ``var``; the spill file is removed."""
        self.spill.close()
        n_cells = len(obs)
        if self.row_nnz.size > n_cells or len(var) != self.n_genes:
            raise ValueError("the triples name more cells or genes than obs and var hold")
        row_nnz = np.zeros(n_cells, dtype=np.int64)
        row_nnz[: self.row_nnz.size] = self.row_nnz
        indptr = np.zeros(n_cells + 1, dtype=np.int64)
        np.cumsum(row_nnz, out=indptr[1:])
        try:
            with h5py.File(target, "w") as out:
                out.attrs["encoding-type"] = "anndata"
                out.attrs["encoding-version"] = "0.1.0"
                group = out.create_group("X")
                group.attrs["encoding-type"] = "csr_matrix"
                group.attrs["encoding-version"] = "0.1.0"
                group.attrs["shape"] = (n_cells, self.n_genes)
                chunks = (min(max(self.nnz, 1), 1 << 16),)
                data = group.create_dataset("data", shape=(self.nnz,), dtype=np.float32, chunks=chunks)
                indices = group.create_dataset("indices", shape=(self.nnz,), dtype=np.int32, chunks=chunks)
                small = self.nnz < np.iinfo(np.int32).max  # anndata's own choice: int32 pointers when they fit
                group.create_dataset("indptr", data=indptr.astype(np.int32) if small else indptr)
                if self.in_order:
                    done = 0
                    for block in self._blocks():
                        data[done : done + block.size] = block["value"]
                        indices[done : done + block.size] = block["gene"]
                        done += block.size
                else:
                    self._scatter_into(indptr, data, indices)
                write_elem(out, "obs", obs)
                write_elem(out, "var", var)
                for key in ("obsm", "varm", "obsp", "varp", "layers", "uns"):
                    write_elem(out, key, {})
        finally:
            self.spill_path.unlink(missing_ok=True)

    def _scatter_into(self, indptr: np.ndarray, data: h5py.Dataset, indices: h5py.Dataset) -> None:
        """Triples in any order: scattered into memory maps at each cell's cursor, then copied in blocks."""
        mapped = {
            name: np.lib.format.open_memmap(self.folder / f"convert.{name}.npy", "w+", dtype, (max(self.nnz, 1),))
            for name, dtype in (("data", np.float32), ("indices", np.int32))
        }
        try:
            cursor = indptr[:-1].copy()
            for block in self._blocks():
                _scatter(
                    np.ascontiguousarray(block["cell"]),
                    np.ascontiguousarray(block["gene"]),
                    np.ascontiguousarray(block["value"]),
                    cursor,
                    mapped["indices"],
                    mapped["data"],
                )
            for start in range(0, self.nnz, _BLOCK):
                stop = min(start + _BLOCK, self.nnz)
                data[start:stop] = mapped["data"][start:stop]
                indices[start:stop] = mapped["indices"][start:stop]
        finally:
            del mapped
            for name in ("data", "indices"):
                (self.folder / f"convert.{name}.npy").unlink(missing_ok=True)

    def close(self) -> None:
        self.spill.close()
        self.spill_path.unlink(missing_ok=True)


def to_h5ad(
    path: StrPath, fmt: str, target: StrPath, *, orientation: str | None = None, layer: str | None = None
) -> None:
    """Convert the input ``path`` (``fmt`` one of :data:`FORMATS`) into the CSR h5ad ``target``, streaming."""
    path, target = Path(path), Path(target)
    textio.check_readable(path, folder=fmt in io.FOLDER_FORMATS)
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("converting %s (%s) into %s, streaming", path, fmt, target)
    if fmt == "10x_mtx":
        _convert_10x(path, target)
    elif fmt in ("csv", "tsv"):
        if orientation not in ("genes_x_cells", "cells_x_genes"):
            raise InputError(str(path), "csv/tsv input needs input.orientation: genes_x_cells or cells_x_genes")
        _convert_delimited(path, "," if fmt == "csv" else "\t", orientation, target)
    elif fmt == "loom":
        _convert_loom(path, layer, target)
    else:
        raise ValueError(f"no streaming conversion of {fmt!r}")


def _write(builder: CsrBuilder, target: Path, obs: pd.DataFrame, var: pd.DataFrame, path: Path) -> None:
    """The names checked (and gene names made unique) as the in-memory reader does, then the h5ad."""
    header = ad.AnnData(obs=obs, var=var)
    io.check_names(header, path)
    builder.write(target, header.obs, header.var)


def _convert_10x(path: Path, target: Path) -> None:
    matrix_file, obs, var, keep = io.read_10x_header(path)
    new_column = np.where(keep, np.cumsum(keep) - 1, -1).astype(np.int32)
    builder = CsrBuilder(target.parent, int(keep.sum()))
    try:
        try:
            with textio.open_text(matrix_file) as handle:
                n_genes, n_cells, kind, line_no = _mtx_header(handle, matrix_file)
                if (n_genes, n_cells) != (keep.size, len(obs)):
                    raise InputError(
                        str(matrix_file),
                        f"the matrix is {n_genes} genes x {n_cells} cells, but the folder names {keep.size} "
                        f"features and {len(obs)} barcodes",
                    )
                columns = 2 if kind == "pattern" else 3
                reader = pd.read_csv(
                    handle, sep=r"\s+", header=None, usecols=range(columns), chunksize=_MTX_LINES, dtype=np.float64
                )
                for chunk in reader:
                    values = chunk.to_numpy()
                    genes, cells = values[:, 0].astype(np.int64) - 1, values[:, 1].astype(np.int64) - 1
                    bad = (genes < 0) | (genes >= n_genes) | (cells < 0) | (cells >= n_cells) | np.isnan(values).any(1)
                    if bad.any():
                        row = int(np.flatnonzero(bad)[0])
                        raise InputError(
                            str(matrix_file),
                            f"entry {' '.join(f'{v:g}' for v in chunk.iloc[row].tolist())} is outside the "
                            f"{n_genes} x {n_cells} matrix or not a number",
                            record=f"line {line_no + row + 1}",
                        )
                    line_no += len(chunk)
                    kept = new_column[genes] >= 0
                    entry = np.ones(len(chunk), np.float32) if kind == "pattern" else values[:, 2].astype(np.float32)
                    builder.add(cells[kept], new_column[genes[kept]], entry[kept])
        except EOFError:
            raise InputError(
                str(path), "truncated gzip: a file of the 10x folder ends before its compressed stream does"
            ) from None
        except (pd.errors.ParserError, ValueError, OSError) as err:
            if isinstance(err, InputError):
                raise
            raise InputError(str(matrix_file), f"cannot parse the matrix: {' '.join(str(err).split())[:200]}") from None
        _write(builder, target, obs, var, path)
    finally:
        builder.close()


def _mtx_header(handle, path: Path) -> tuple[int, int, str, int]:
    """The banner and size line of a Matrix Market file: genes, cells, field kind and lines read."""
    banner = handle.readline().split()
    if len(banner) < 4 or banner[0].lower() != "%%matrixmarket" or banner[2].lower() != "coordinate":
        raise InputError(str(path), "not a Matrix Market coordinate file", record="line 1")
    kind = banner[3].lower()
    if kind not in ("integer", "real", "pattern") or (len(banner) > 4 and banner[4].lower() != "general"):
        raise InputError(str(path), f"Matrix Market {' '.join(banner[3:])} is not read (integer/real/pattern general)")
    line_no = 1
    for line in handle:
        line_no += 1
        if line.startswith("%") or not line.strip():
            continue
        fields = line.split()
        try:
            n_genes, n_cells = int(fields[0]), int(fields[1])
        except (IndexError, ValueError):
            raise InputError(str(path), f"bad size line {line.strip()[:80]!r}", record=f"line {line_no}") from None
        return n_genes, n_cells, kind, line_no
    raise InputError(str(path), "no size line")


def _convert_delimited(path: Path, sep: str, orientation: str, target: Path) -> None:
    """Blocks of rows (:func:`genoprep.scrna.io.delimited_blocks`, the in-memory reader's parser)."""
    builder: CsrBuilder | None = None
    names: list[str] = []
    columns: pd.Index | None = None
    try:
        for columns, block_names, block in io.delimited_blocks(path, sep):
            if builder is None:
                # genes x cells: the columns are the cells, the rows genes (counted as they come)
                builder = CsrBuilder(target.parent, len(columns) if orientation == "cells_x_genes" else 0)
            coo = block.tocoo()
            rows = coo.row.astype(np.int64) + len(names)
            if orientation == "cells_x_genes":
                builder.add(rows, coo.col.astype(np.int32), coo.data)
            else:
                order = np.argsort(coo.col, kind="stable")  # gene order within each cell, as the transpose gives
                builder.add(coo.col[order].astype(np.int64), rows[order].astype(np.int32), coo.data[order])
            names.extend(block_names)
        if builder is None or columns is None:
            raise InputError(str(path), "the table has no data rows")
        rows_frame = pd.DataFrame(index=pd.Index(names))
        cols_frame = pd.DataFrame(index=columns.astype(str))
        if orientation == "genes_x_cells":
            builder.n_genes = len(names)
            _write(builder, target, cols_frame, rows_frame, path)
        else:
            _write(builder, target, rows_frame, cols_frame, path)
    finally:
        if builder is not None:
            builder.close()


def _convert_loom(path: Path, layer: str | None, target: Path) -> None:
    """Blocks of genes of the dense genes x cells matrix, as the in-memory reader reads them."""
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise io._h5_error(path, "loom", err) from None
    with handle:
        matrix, obs, var = io.loom_header(handle, path, layer)
        n_genes, n_cells = matrix.shape
        builder = CsrBuilder(target.parent, n_genes)
        try:
            rows = max(1, io._LOOM_BLOCK_VALUES // max(n_cells, 1))
            for start in range(0, n_genes, rows):
                block = np.asarray(matrix[start : start + rows, :])
                cells, genes = np.nonzero(block.T)  # by cell, then gene, within the block
                values = block.T[cells, genes].astype(np.float32)
                builder.add(cells.astype(np.int64), (genes + start).astype(np.int32), values)
            _write(builder, target, obs, var, path)
        finally:
            builder.close()
