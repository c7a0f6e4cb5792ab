"""What the one job of an scRNA-seq dataset needs (threads, memory, runtime), from the input's size.

Read from the file's header only (h5ad/loom shapes and stored values, the 10x
``matrix.mtx`` size line, the byte size of a CSV/TSV), so that Snakemake can ask for
resources before the job runs (and SLURM can place it). Every figure grows with the
attempt number, so ``--retries`` escalates.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import h5py

#: values per dense HVG block row assumed when sizing (scanpy's default n_top_genes is 2000)
HVG_COLUMNS = 2000


@dataclass(frozen=True)
class InputSize:
    """Cells, genes and stored (non-zero) values of an input; estimates where the file cannot say."""

    n_cells: int
    n_genes: int
    nnz: int

    @property
    def csr_mib(self) -> float:
        """The raw count matrix in memory as float32 CSR (values + int32 column indices + row pointers)."""
        return (self.nnz * 8 + (self.n_cells + 1) * 8) / 2**20


def input_size(path: str | os.PathLike[str], fmt: str, layer: str | None = None) -> InputSize:
    """The input's size from its header; a rough estimate from the byte size when that fails."""
    path = Path(path)
    try:
        if fmt == "h5ad":
            return _h5ad_size(path, layer)
        if fmt == "loom":
            with h5py.File(path, "r") as handle:
                n_genes, n_cells = handle["matrix"].shape
            return InputSize(n_cells, n_genes, n_cells * n_genes)  # dense on disk: an upper bound
        if fmt == "10x_mtx":
            return _mtx_size(path)
        if fmt == "10x_h5":
            with h5py.File(path, "r") as handle:
                n_genes, n_cells = (int(v) for v in handle["matrix/shape"][:])
                return InputSize(n_cells, n_genes, int(handle["matrix/data"].shape[0]))
        if fmt == "zarr":
            return _zarr_size(path, layer)
    except (OSError, KeyError, ValueError, IndexError):
        pass  # the job itself says what is wrong with the file
    return _bytes_estimate(path)


def _h5ad_size(path: Path, layer: str | None) -> InputSize:
    key = "X" if layer is None else ("raw/X" if layer == "raw" else f"layers/{layer}")
    with h5py.File(path, "r") as handle:
        element = handle[key]
        if isinstance(element, h5py.Dataset):
            n_cells, n_genes = element.shape
            return InputSize(n_cells, n_genes, n_cells * n_genes)
        n_rows, n_columns = (int(v) for v in element.attrs["shape"])
        return InputSize(n_rows, n_columns, int(element["data"].shape[0]))


def _zarr_size(path: Path, layer: str | None) -> InputSize:
    import zarr

    key = "X" if layer is None else ("raw/X" if layer == "raw" else f"layers/{layer}")
    element = zarr.open_group(path, mode="r")[key]
    if isinstance(element, zarr.Array):
        n_cells, n_genes = element.shape
        return InputSize(n_cells, n_genes, n_cells * n_genes)
    n_rows, n_columns = (int(v) for v in element.attrs["shape"])
    return InputSize(n_rows, n_columns, int(element["data"].shape[0]))


def _mtx_size(folder: Path) -> InputSize:
    name = folder / "matrix.mtx.gz"
    opener = gzip.open if name.exists() else open
    with opener(name if name.exists() else folder / "matrix.mtx", "rt") as handle:  # type: ignore[operator]
        for line in handle:
            if not line.startswith("%"):
                n_genes, n_cells, nnz = (int(v) for v in line.split()[:3])
                return InputSize(n_cells, n_genes, nnz)
    raise ValueError("no size line")


def _bytes_estimate(path: Path) -> InputSize:
    """A text matrix: about 4 bytes per stored value (compressed ~5x); one row per ~10 kB."""
    if path.is_dir():
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    else:
        size = path.stat().st_size if path.exists() else 0
    if path.name.endswith((".gz", ".bgz")):
        size *= 5
    nnz = max(size // 4, 1)
    return InputSize(max(size // 10_000, 1), 20_000, nnz)


def mem_mb(size: InputSize, attempt: int) -> int:
    """1 GiB for the interpreter and libraries, 4x the raw CSR (counts, normalised values, scanpy's
    transient copies in HVG selection) and the dense HVG block; times the attempt."""
    dense_mib = size.n_cells * min(HVG_COLUMNS, size.n_genes) * 4 / 2**20
    return int((1024 + 4 * size.csr_mib + dense_mib) * attempt)


def runtime_minutes(size: InputSize, attempt: int) -> int:
    """10 minutes plus one per 5 million stored values (about 5x what this machine needs); times the attempt."""
    return int((10 + size.nnz / 5e6) * attempt)


def threads(size: InputSize) -> int:
    """One thread; two for matrices past 20 million values (scanpy's numba kernels and BLAS use them)."""
    return 2 if size.nnz > 20_000_000 else 1


#: the chain's two paths (see :func:`plan`)
IN_MEMORY, OUT_OF_CORE = "in_memory", "out_of_core"


def machine_mb() -> int:
    """The machine's physical memory in MiB."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20)


def budget_mb(memory_budget_mb: int | None) -> int:
    """The card's ``params.memory_budget_mb``, or half of the machine's memory when it says null."""
    return memory_budget_mb if memory_budget_mb is not None else machine_mb() // 2


def plan(size: InputSize, budget: int, streamable: bool) -> str:
    """In memory when :func:`mem_mb` (first attempt) fits the budget, or when the input cannot be
    streamed; out of core otherwise."""
    return OUT_OF_CORE if streamable and mem_mb(size, 1) > budget else IN_MEMORY


def chunk_cells(size: InputSize, budget: int, chunk: int | None = None) -> int:
    """Cells per chunk on the out-of-core path: the card's ``params.chunk_cells``, else as many as fit
    an eighth of the budget at about 40 bytes per stored value (the chunk read, its subset, the
    normalised values and their ``expm1``) plus the chunk's dense scaled HVG rows (twice)."""
    if chunk is not None:
        return chunk
    per_cell = 40 * size.nnz / max(size.n_cells, 1) + 8 * min(HVG_COLUMNS, size.n_genes) + 64
    return int(max(1, min(size.n_cells, budget * 2**20 / 8 / per_cell)))


def ooc_mem_mb(size: InputSize, budget: int, attempt: int) -> int:
    """The out-of-core path: 1 GiB for the interpreter and libraries, about 400 bytes per cell (QC
    metrics, ``obs`` and the per-cell tables) and a quarter of the budget for the chunks (each an
    eighth, with room for their temporaries); times the attempt."""
    return int((1024 + size.n_cells * 400 / 2**20 + budget / 4) * attempt)


def ooc_runtime_minutes(size: InputSize, attempt: int) -> int:
    """Four passes over the input: 10 minutes plus one per 2 million stored values; times the attempt."""
    return int((10 + size.nnz / 2e6) * attempt)


#: input formats the out-of-core path takes (the others are converted into a CSR h5ad first)
STREAMED_FORMATS = ("h5ad", "10x_mtx", "csv", "tsv", "loom")


def matrix_keys(layer: str | None) -> tuple[str, str]:
    """The h5ad keys of the matrix and of its ``var`` table for the card's ``input.layer``."""
    if layer is None:
        return "X", "var"
    if layer == "raw":
        return "raw/X", "raw/var"
    return f"layers/{layer}", "var"


def unsupported(
    path: str | os.PathLike[str], fmt: str, layer: str | None, flavor: str, batch_key: str | None
) -> str | None:
    """Why the out-of-core path cannot take this input (``None`` when it can); reads the file's header only.

    Every HVG flavor and batch key streams (``flavor`` and ``batch_key`` are kept for callers)."""
    if fmt not in STREAMED_FORMATS:
        return f"input.format {fmt} (it streams {', '.join(STREAMED_FORMATS)})"
    if fmt != "h5ad":
        return None  # converted, streaming, into a CSR h5ad first (genoprep.scrna.convert)
    key, var_key = matrix_keys(layer)
    try:
        with h5py.File(path, "r") as handle:
            element = handle[key]
            if not isinstance(element, h5py.Dataset) and element.attrs.get("encoding-type") != "csr_matrix":
                stored = element.attrs.get("encoding-type", "an old layout")
                return f"{key} stored as {stored} (it reads CSR or dense rows)"
            for name in ("obs", var_key):
                if not isinstance(handle[name], h5py.Group):
                    return f"{name} in anndata's old layout"
    except (OSError, KeyError) as err:
        return f"the file cannot be opened as h5ad here ({' '.join(str(err).split())[:80]})"
    return None


def job_mem_mb(size: InputSize, route: str, budget: int, attempt: int) -> int:
    """``mem_mb`` of the job on the chosen path."""
    return mem_mb(size, attempt) if route == IN_MEMORY else ooc_mem_mb(size, budget, attempt)


def job_runtime(size: InputSize, route: str, attempt: int) -> int:
    """``runtime`` (minutes) of the job on the chosen path."""
    return runtime_minutes(size, attempt) if route == IN_MEMORY else ooc_runtime_minutes(size, attempt)


def shard_mem_mb(shard: InputSize, n_cells_total: int, attempt: int) -> int:
    """A job of the sharded chain (rules/scrna_shard.smk) over one shard: 1 GiB for the interpreter and
    libraries, about 400 bytes per cell of the whole dataset (its ``obs`` and per-cell metrics), 48 bytes
    per stored value of the shard (its counts and normalised values, and their stacked copies) and twice
    its dense HVG block; times the attempt."""
    dense_mib = shard.n_cells * min(HVG_COLUMNS, shard.n_genes) * 4 / 2**20
    return int((1024 + n_cells_total * 400 / 2**20 + shard.nnz * 48 / 2**20 + 2 * dense_mib) * attempt)


def shard_runtime(shard: InputSize, attempt: int) -> int:
    """A shard job: 10 minutes plus one per 2 million stored values of the shard; times the attempt."""
    return int((10 + shard.nnz / 2e6) * attempt)


# ---- disk (``disk_mb``): what a job writes, from the input's size -----------------------------------

#: bytes per stored value while an input is converted (genoprep.scrna.convert): the spilled (cell, gene,
#: value) triples (16), the cells' scatter memory maps for out-of-order inputs such as genes x cells
#: tables (8) and the CSR h5ad itself (float32 values + int32 columns, 8); measured on the real 10x, CSV
#: and loom files (tests/unit/test_scrna_resources_disk.py)
CONVERTED_BYTES_PER_VALUE = 32

#: bytes per cell and per gene name and annotation row in an h5ad (obs/var tables, row pointers)
_NAME_BYTES = 128

#: MiB of HDF5 metadata, attributes and small tables every written h5ad may hold
_H5_MIB = 16


def converted_disk_mb(size: InputSize, attempt: int = 1) -> int:
    """Temporary disk of an input converted into a CSR h5ad in the work folder (the out-of-core job and
    the sharded chain's conversion job): :data:`CONVERTED_BYTES_PER_VALUE` per stored value at the peak,
    the names and row pointers, and the HDF5 metadata; times the attempt."""
    stored = size.nnz * CONVERTED_BYTES_PER_VALUE + (size.n_cells + size.n_genes) * _NAME_BYTES
    return int((stored / 2**20 + _H5_MIB) * attempt) + 1


def outputs_disk_mb(size: InputSize, attempt: int = 1, n_hvg: int = HVG_COLUMNS) -> int:
    """``processed.h5ad`` and ``X.npy`` of ``size`` (an upper bound: every cell and gene kept): ``X`` and
    ``layers['counts']`` (8 bytes per stored value each), ``layers['scaled']`` (CSR of the dense HVG block,
    8 bytes per cell x HVG), ``X.npy`` (4 bytes per cell x HVG), ``obsm`` (PCA and UMAP, up to 52 float64
    columns) and the names; times the attempt."""
    block = size.n_cells * min(n_hvg, size.n_genes)
    written = 16 * size.nnz + 12 * block + size.n_cells * (52 * 8 + 8) + (size.n_cells + size.n_genes) * _NAME_BYTES
    return int((written / 2**20 + 2 * _H5_MIB) * attempt) + 1


def job_disk_mb(size: InputSize, route: str, fmt: str, attempt: int, n_hvg: int = HVG_COLUMNS) -> int:
    """``disk_mb`` of the one job of a dataset (scrna_process): its artifacts, and out of core the
    converted input of a format other than h5ad (removed when the job ends)."""
    converted = converted_disk_mb(size, attempt) if route == OUT_OF_CORE and fmt != "h5ad" else 0
    return outputs_disk_mb(size, attempt, n_hvg) + converted


def shard_rows_disk_mb(shard: InputSize, attempt: int = 1) -> int:
    """A shard's normalised rows (``rows_<i>.npz``: counts and values as CSR, 8 bytes per stored value each,
    and their row pointers), written by its sums job; times the attempt."""
    return int(((16 * shard.nnz + 16 * shard.n_cells) / 2**20 + 1) * attempt) + 1


def shard_block_disk_mb(shard: InputSize, attempt: int = 1, n_hvg: int = HVG_COLUMNS) -> int:
    """A shard's scaled HVG block (``block_<i>.npy``, float32), written by its scale job; times the attempt."""
    return int((shard.n_cells * min(n_hvg, shard.n_genes) * 4 / 2**20 + 1) * attempt) + 1
