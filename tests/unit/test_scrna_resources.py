"""Resources of the scrna_process job, read from the input's header."""

from __future__ import annotations

import gzip
from pathlib import Path

import anndata as ad
import numpy as np
from scipy import sparse

from genoprep.scrna.resources import InputSize, input_size, mem_mb, runtime_minutes


def test_h5ad_size_from_the_header(tmp_path: Path) -> None:
    matrix = sparse.random(50, 30, density=0.2, format="csr", random_state=0, dtype=np.float32)
    adata = ad.AnnData(X=matrix)
    adata.layers["spliced"] = sparse.csr_matrix(matrix[:, :10].toarray().repeat(3, axis=1))
    adata.write_h5ad(tmp_path / "x.h5ad")
    assert input_size(tmp_path / "x.h5ad", "h5ad") == InputSize(50, 30, matrix.nnz)
    assert input_size(tmp_path / "x.h5ad", "h5ad", "spliced").nnz == adata.layers["spliced"].nnz
    dense = ad.AnnData(X=matrix.toarray())
    dense.write_h5ad(tmp_path / "dense.h5ad")
    assert input_size(tmp_path / "dense.h5ad", "h5ad") == InputSize(50, 30, 1500)
    adata.write_zarr(tmp_path / "x.zarr")  # the same sizes from the Zarr store's metadata
    assert input_size(tmp_path / "x.zarr", "zarr") == InputSize(50, 30, matrix.nnz)
    assert input_size(tmp_path / "x.zarr", "zarr", "spliced").nnz == adata.layers["spliced"].nnz


def test_10x_h5_size_from_its_datasets(tmp_path: Path) -> None:
    import h5py

    with h5py.File(tmp_path / "m.h5", "w") as handle:
        handle["matrix/shape"] = np.array([33538, 4000], dtype=np.int32)  # features x barcodes
        handle["matrix/data"] = np.ones(1234, dtype=np.int32)
    assert input_size(tmp_path / "m.h5", "10x_h5") == InputSize(4000, 33538, 1234)


def test_10x_size_line(tmp_path: Path) -> None:
    (tmp_path / "tenx").mkdir()
    with gzip.open(tmp_path / "tenx" / "matrix.mtx.gz", "wt") as handle:
        handle.write("%%MatrixMarket matrix coordinate integer general\n%\n33538 4000 123456\n1 1 1\n")
    assert input_size(tmp_path / "tenx", "10x_mtx") == InputSize(4000, 33538, 123456)


def test_memory_and_runtime_grow_with_the_input_and_the_attempt() -> None:
    small, big = InputSize(1000, 20000, 10**6), InputSize(100000, 20000, 10**8)
    assert mem_mb(big, 1) > mem_mb(small, 1) >= 1024
    assert mem_mb(big, 2) == 2 * mem_mb(big, 1) or abs(mem_mb(big, 2) - 2 * mem_mb(big, 1)) <= 1
    # the raw CSR of 10^8 values is 763 MiB; the job asks for at least 4x that
    assert mem_mb(big, 1) >= 4 * big.csr_mib
    assert runtime_minutes(big, 3) > runtime_minutes(big, 1) > runtime_minutes(small, 1)


def test_the_out_of_core_job_asks_for_the_budget_not_the_matrix() -> None:
    from genoprep.scrna.resources import IN_MEMORY, OUT_OF_CORE, job_mem_mb, job_runtime, plan

    atlas = InputSize(1_000_000, 20_000, 10**9)  # a 7.5 GiB raw CSR
    budget = 4096
    assert plan(atlas, budget, streamable=True) == OUT_OF_CORE
    assert plan(atlas, budget, streamable=False) == IN_MEMORY
    streamed = job_mem_mb(atlas, OUT_OF_CORE, budget, 1)
    assert 1024 + budget / 4 < streamed < atlas.csr_mib < job_mem_mb(atlas, IN_MEMORY, budget, 1)
    assert job_mem_mb(atlas, OUT_OF_CORE, budget, 2) >= 2 * streamed - 1
    assert job_runtime(atlas, OUT_OF_CORE, 2) > job_runtime(atlas, OUT_OF_CORE, 1) > job_runtime(atlas, IN_MEMORY, 1)


def test_chunks_fit_the_budget() -> None:
    from genoprep.scrna.resources import chunk_cells

    atlas = InputSize(1_000_000, 20_000, 10**9)
    cells = chunk_cells(atlas, 4096)
    # one chunk's stored values (data + indices) stay within an eighth of the budget
    assert 1 < cells < atlas.n_cells and cells * 1000 * 8 <= 4096 * 2**20 / 8
    assert chunk_cells(atlas, 4096, 50) == 50
    assert chunk_cells(InputSize(10, 20_000, 10_000), 4096) == 10
