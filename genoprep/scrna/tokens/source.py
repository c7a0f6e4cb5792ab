"""The raw counts of the QC-passing cells, read chunk by chunk for the token rules.

The token rules re-read the card's raw input (the chain keeps no copy of the counts of all
genes). An h5ad whose matrix is stored as CSR (``X``, ``layers/<name>`` or ``raw/X``; what
anndata writes for sparse counts) is **streamed**: only ``indptr`` (8 bytes per cell), the
gene table, the cell ids and one chunk of rows are in memory at a time, so a million-cell
file is tokenised in the memory of a chunk. Every other input (loom, 10x, csv/tsv, dense or
CSC h5ad) is read whole by the chain's reader, :func:`genoprep.scrna.io.read_matrix`, and
then cut into chunks. Either way a chunk is what the chain reads: canonical float32 CSR.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import numpy as np
import pandas as pd
from anndata.io import read_elem
from scipy import sparse

from genoprep import textio
from genoprep.errors import InputError
from genoprep.scrna import annotate, io

CHUNK_CELLS = 10_000


@dataclasses.dataclass
class RawCounts:
    """The QC-passing cells of the raw input, with the gene names the schemes key on."""

    kept: np.ndarray  # row indices of the cells that passed QC, in input order
    cell_ids: np.ndarray  # of the kept cells
    geneformer_names: list[str]  # Ensembl id where known, else the symbol
    cells_in_input: int
    n_genes: int
    read_rows: Callable[[np.ndarray], sparse.csr_matrix]  # sorted input rows -> their counts
    streamed: bool

    def chunks(self, size: int = CHUNK_CELLS) -> Iterator[tuple[int, sparse.csr_matrix]]:
        """``(first_kept_cell, rows)`` over the kept cells, ``size`` at a time."""
        for start in range(0, self.kept.shape[0], size):
            yield start, self.read_rows(self.kept[start : start + size])


def _csr_key(handle: h5py.File, layer: str | None) -> tuple[str, str] | None:
    """(matrix key, var key) of a CSR-encoded h5ad matrix, else None (read whole then)."""
    key, var_key = {None: ("X", "var"), "raw": ("raw/X", "raw/var")}.get(layer, (f"layers/{layer}", "var"))
    group = handle.get(key)
    if not isinstance(group, h5py.Group) or group.attrs.get("encoding-type") != "csr_matrix":
        return None
    if not all(isinstance(group.get(name), h5py.Dataset) for name in ("data", "indices", "indptr")):
        return None
    if not isinstance(handle.get("obs"), h5py.Group) or var_key not in handle:
        return None
    return key, var_key


def _streamed_h5ad(path: Path, layer: str | None) -> tuple[ad.AnnData, Callable[[np.ndarray], Any]] | None:
    """The cells and genes of a CSR h5ad (no values) and a row reader, or None when not CSR."""
    try:
        with h5py.File(path, "r") as handle:
            keys = _csr_key(handle, layer)
            if keys is None:
                return None
            key, var_key = keys
            obs = handle["obs"]
            cell_ids = read_elem(obs[obs.attrs["_index"]]) if "_index" in obs.attrs else None
            var = read_elem(handle[var_key])
            shape = tuple(int(n) for n in handle[key].attrs["shape"])
            indptr = handle[key]["indptr"][:].astype(np.int64)
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise InputError(str(path), f"cannot read h5ad: {' '.join(str(err).split())[:200]}") from None
    if cell_ids is None or not isinstance(var, pd.DataFrame):
        return None
    if shape != (len(cell_ids), len(var)) or indptr.shape[0] != shape[0] + 1:
        raise InputError(
            str(path), f"the matrix is {shape[0]} x {shape[1]}, but obs has {len(cell_ids)} rows and var {len(var)}"
        )
    header = ad.AnnData(obs=pd.DataFrame(index=pd.Index(np.asarray(cell_ids).astype(str))), var=var)

    def read_rows(rows: np.ndarray) -> sparse.csr_matrix:
        first, last = int(rows[0]), int(rows[-1]) + 1
        lo, hi = indptr[first], indptr[last]
        with h5py.File(path, "r") as handle:
            group = handle[key]
            block = sparse.csr_matrix(
                (group["data"][lo:hi], group["indices"][lo:hi], indptr[first : last + 1] - lo),
                shape=(last - first, shape[1]),
            )
        if rows.shape[0] != last - first:
            block = block[rows - first]
        return io.as_float32_csr(block)

    return header, read_rows


def read_raw(data_path: str, options: Any, qc_cells_path: str) -> RawCounts:
    """The card's raw input and the QC-passing cells of ``qc_cells.tsv`` (same cells, same order).

    ``options`` has ``format``, ``orientation``, ``layer`` and ``columns`` (a TokenOptions).
    """
    path = Path(data_path)
    streamed = None
    if options.format == "h5ad":
        textio.check_readable(path)
        streamed = _streamed_h5ad(path, options.layer)
    if streamed is not None:
        adata, read_rows = streamed
        if not adata.var_names.is_unique:
            adata.var_names_make_unique()
    else:
        adata = io.read_matrix(data_path, options.format, orientation=options.orientation, layer=options.layer)
        matrix = adata.X

        def read_rows(rows: np.ndarray) -> sparse.csr_matrix:
            return matrix[rows]

    annotate.annotate_genes(adata, _plain(options.columns), str(data_path))
    cells = pd.read_csv(qc_cells_path, sep="\t", dtype=str, keep_default_na=False)
    if cells["cell_id"].tolist() != adata.obs_names.tolist():
        raise InputError(
            qc_cells_path,
            f"lists {len(cells)} cells, not the {adata.n_obs} cells of {data_path} "
            "in their order (stale qc_cells.tsv?)",
        )
    kept = np.flatnonzero((cells["removed_by"] == "").to_numpy())
    ids = adata.var["gene_ids"].astype(str).to_numpy()
    symbols = adata.var["gene_symbols"].astype(str).to_numpy()
    names = [i if i else (s if s else n) for i, s, n in zip(ids, symbols, adata.var_names)]
    return RawCounts(
        kept=kept,
        cell_ids=adata.obs_names.to_numpy()[kept].astype(object),
        geneformer_names=names,
        cells_in_input=adata.n_obs,
        n_genes=adata.n_vars,
        read_rows=read_rows,
        streamed=streamed is not None,
    )


def _plain(columns: Mapping[str, Any]) -> dict[str, Any]:
    return {k: columns[k] for k in ("gene_ids", "gene_symbols") if k in columns}
