"""Killers for the mutants of genoprep/scrna/resources.py that survived the module tests (issue 16; docs/testing.md).

The `scrna_resources` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is hand-computed,
re-implemented here in plain numpy/pandas/h5py, or read with an independent library (scanpy, anndata, h5py),
never taken from genoprep's own output. Inputs are tiny and written in the test.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pytest
from scipy import sparse

from genoprep.scrna import resources
from genoprep.scrna.resources import IN_MEMORY, OUT_OF_CORE, InputSize, input_size

# Three sizes: genes above and below the 2,000 HVG columns, and an atlas whose per-cell and per-value terms
# move the integer results when any constant of a formula changes by one.
A = InputSize(3000, 2500, 6_000_000)
B = InputSize(1000, 500, 123_456)
C = InputSize(2_000_000, 30_000, 3_000_000_000)


def test_csr_mib_is_eight_bytes_per_value_and_per_row_pointer() -> None:
    # 2**17 values x 8 bytes = 1 MiB, plus (3 + 1) row pointers x 8 bytes
    assert InputSize(3, 5, 2**17).csr_mib == (2**20 + 32) / 2**20


# Expected values hand-computed from the docstrings' formulas, e.g. mem_mb(A, 3): the CSR is
# (6e6 * 8 + 3001 * 8) / 2**20 = 45.799 MiB, the dense HVG block 3000 * 2000 * 4 / 2**20 = 22.888 MiB,
# (1024 + 4 * 45.799 + 22.888) * 3 = 3690.26 -> 3690.
@pytest.mark.parametrize(
    ("size", "attempt", "expected"),
    [(A, 1, 1230), (A, 3, 3690), (B, 1, 1029), (B, 3, 3089), (C, 1, 107896), (C, 3, 323689)],
)
def test_mem_mb_hand_computed(size: InputSize, attempt: int, expected: int) -> None:
    assert resources.mem_mb(size, attempt) == expected
    assert resources.job_mem_mb(size, IN_MEMORY, 4096, attempt) == expected


@pytest.mark.parametrize(
    ("size", "attempt", "in_memory", "out_of_core"),
    # (10 + nnz / 5e6) * attempt and (10 + nnz / 2e6) * attempt, truncated
    [(A, 1, 11, 13), (A, 3, 33, 39), (B, 3, 30, 30), (C, 1, 610, 1510), (C, 3, 1830, 4530)],
)
def test_runtimes_hand_computed(size: InputSize, attempt: int, in_memory: int, out_of_core: int) -> None:
    assert resources.runtime_minutes(size, attempt) == in_memory
    assert resources.ooc_runtime_minutes(size, attempt) == out_of_core
    assert resources.job_runtime(size, IN_MEMORY, attempt) == in_memory
    assert resources.job_runtime(size, OUT_OF_CORE, attempt) == out_of_core
    assert resources.shard_runtime(size, attempt) == out_of_core  # the same formula per shard


@pytest.mark.parametrize(
    ("size", "attempt", "expected"),
    # (1024 + cells * 400 / 2**20 + 4096 / 4) * attempt
    [(A, 1, 2049), (A, 2, 4098), (B, 2, 4096), (C, 1, 2810), (C, 2, 5621)],
)
def test_out_of_core_memory_hand_computed(size: InputSize, attempt: int, expected: int) -> None:
    assert resources.ooc_mem_mb(size, 4096, attempt) == expected
    assert resources.job_mem_mb(size, OUT_OF_CORE, 4096, attempt) == expected


def test_threads_past_twenty_million_values() -> None:
    assert resources.threads(InputSize(10, 10, 20_000_000)) == 1
    assert resources.threads(InputSize(10, 10, 20_000_001)) == 2


def test_plan_boundary_is_the_first_attempts_memory() -> None:
    # mem_mb(A, 1) = 1230: a budget of exactly that keeps the job in memory, one less streams it
    assert resources.plan(A, 1230, streamable=True) == IN_MEMORY
    assert resources.plan(A, 1229, streamable=True) == OUT_OF_CORE
    assert resources.plan(A, 1229, streamable=False) == IN_MEMORY


def test_machine_memory_and_budget_against_proc_meminfo() -> None:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        pytest.skip("no /proc/meminfo on this system")
    kib = next(int(line.split()[1]) for line in meminfo.read_text().splitlines() if line.startswith("MemTotal:"))
    assert resources.machine_mb() == kib // 1024
    assert resources.budget_mb(None) == kib // 1024 // 2
    assert resources.budget_mb(4096) == 4096
    assert resources.budget_mb(0) == 0


@pytest.mark.parametrize(
    ("size", "budget", "expected"),
    # per cell: 40 * nnz / cells + 8 * min(2000, genes) + 64 bytes; cells = budget MiB / 8 / per cell, within [1, cells]
    # C: 40 * 1500 + 16000 + 64 = 76064 bytes; 4096 * 2**20 / 8 / 76064 = 7058.7
    [(A, 4096, 3000), (A, 64, 87), (A, 1, 1), (B, 64, 931), (B, 1, 14), (C, 4096, 7058), (C, 64, 110)],
)
def test_chunk_cells_hand_computed(size: InputSize, budget: int, expected: int) -> None:
    assert resources.chunk_cells(size, budget) == expected
    assert resources.chunk_cells(size, budget, None) == expected
    assert resources.chunk_cells(size, budget, 17) == 17


def test_chunk_cells_of_an_empty_input_is_one() -> None:
    assert resources.chunk_cells(InputSize(0, 10, 0), 4096) == 1


@pytest.mark.parametrize(
    ("size", "attempt", "expected"),
    # (1024 + 5e6 * 400 / 2**20 + nnz * 48 / 2**20 + 2 * cells * min(2000, genes) * 4 / 2**20) * attempt
    [(A, 1, 3251), (A, 2, 6503), (B, 1, 2940), (B, 2, 5881), (C, 1, 170778), (C, 2, 341556)],
)
def test_shard_memory_hand_computed(size: InputSize, attempt: int, expected: int) -> None:
    assert resources.shard_mem_mb(size, 5_000_000, attempt) == expected


def test_disk_estimates_hand_computed() -> None:
    # converted: (nnz * 32 + (cells + genes) * 128) / 2**20 + 16 MiB, times the attempt, + 1
    assert [resources.converted_disk_mb(s) for s in (A, B, C)] == [200, 20, 91817]
    assert [resources.converted_disk_mb(s, 2) for s in (A, B, C)] == [400, 40, 183634]
    # outputs: 16 * nnz + 12 * cells * min(n_hvg, genes) + 424 * cells + 128 * (cells + genes) bytes, + 32 MiB
    assert [resources.outputs_disk_mb(s) for s in (A, B, C)] == [195, 41, 92642]
    assert [resources.outputs_disk_mb(s, 3) for s in (A, B, C)] == [583, 121, 277924]
    assert [resources.outputs_disk_mb(s, 1, 300) for s in (A, B, C)] == [136, 38, 53732]
    assert [resources.outputs_disk_mb(s, 2, 300) for s in (A, B, C)] == [272, 76, 107463]
    # rows: (16 * nnz + 16 * cells) / 2**20 + 1 MiB; block: cells * min(n_hvg, genes) * 4 / 2**20 + 1 MiB
    assert [resources.shard_rows_disk_mb(s) for s in (A, B, C)] == [93, 3, 45808]
    assert [resources.shard_rows_disk_mb(s, 2) for s in (A, B, C)] == [186, 6, 91616]
    assert [resources.shard_block_disk_mb(s) for s in (A, B, C)] == [24, 3, 15260]
    assert [resources.shard_block_disk_mb(s, 3) for s in (A, B, C)] == [72, 9, 45780]
    assert [resources.shard_block_disk_mb(s, 1, 300) for s in (A, B, C)] == [5, 3, 2290]
    assert [resources.shard_block_disk_mb(s, 2, 300) for s in (A, B, C)] == [9, 5, 4580]


def test_job_disk_adds_the_converted_input_out_of_core_only() -> None:
    assert resources.job_disk_mb(A, OUT_OF_CORE, "csv", 2, 300) == 272 + 400
    assert resources.job_disk_mb(A, OUT_OF_CORE, "h5ad", 2, 300) == 272
    assert resources.job_disk_mb(A, IN_MEMORY, "csv", 2, 300) == 272
    assert resources.job_disk_mb(A, IN_MEMORY, "csv", 3) == 583


def test_matrix_keys() -> None:
    assert resources.matrix_keys(None) == ("X", "var")
    assert resources.matrix_keys("raw") == ("raw/X", "raw/var")
    assert resources.matrix_keys("counts") == ("layers/counts", "var")


def _adata_with_raw() -> ad.AnnData:
    matrix = sparse.random(40, 12, density=0.25, format="csr", random_state=1, dtype=np.float32)
    raw = sparse.random(40, 21, density=0.3, format="csr", random_state=2, dtype=np.float32)
    adata = ad.AnnData(X=matrix)
    adata.raw = ad.AnnData(X=raw)
    adata.layers["counts"] = sparse.csr_matrix(matrix.toarray() + 1)  # dense values stored as CSR: 480 values
    return adata


def test_h5ad_and_zarr_sizes_of_raw_and_layers(tmp_path: Path) -> None:
    adata = _adata_with_raw()
    adata.write_h5ad(tmp_path / "x.h5ad")
    adata.write_zarr(tmp_path / "x.zarr")
    for path, fmt in ((tmp_path / "x.h5ad", "h5ad"), (tmp_path / "x.zarr", "zarr")):
        assert input_size(path, fmt) == InputSize(40, 12, adata.X.nnz)
        assert input_size(path, fmt, "raw") == InputSize(40, 21, adata.raw.X.nnz)
        assert input_size(path, fmt, "counts") == InputSize(40, 12, 480)


def test_dense_zarr_counts_every_value(tmp_path: Path) -> None:
    ad.AnnData(X=np.ones((6, 4), dtype=np.float32)).write_zarr(tmp_path / "d.zarr")
    assert input_size(tmp_path / "d.zarr", "zarr") == InputSize(6, 4, 24)


def test_a_missing_zarr_store_is_not_created(tmp_path: Path) -> None:
    # opening read-only: sizing an input must not write a new empty store where the input should be
    missing = tmp_path / "missing.zarr"
    assert input_size(missing, "zarr") == InputSize(1, 20_000, 1)
    assert not missing.exists()


def test_loom_size_from_its_matrix_shape(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "x.loom", "w") as handle:
        handle["matrix"] = np.zeros((7, 5), dtype=np.float32)  # genes x cells
    assert input_size(tmp_path / "x.loom", "loom") == InputSize(5, 7, 35)


def test_plain_mtx_size_line_after_comments(tmp_path: Path) -> None:
    (tmp_path / "tenx").mkdir()
    (tmp_path / "tenx" / "matrix.mtx").write_text(
        "%%MatrixMarket matrix coordinate integer general\n% a comment\n%\n300 40 1234\n1 1 1\n"
    )
    assert input_size(tmp_path / "tenx", "10x_mtx") == InputSize(40, 300, 1234)


def test_mtx_without_a_size_line_falls_back_to_the_folders_bytes(tmp_path: Path) -> None:
    (tmp_path / "tenx").mkdir()
    text = "%%MatrixMarket matrix coordinate integer general\n" + "%" * 39_949 + "\n"  # 40,000 bytes
    with gzip.open(tmp_path / "tenx" / "matrix.mtx.gz", "wt") as handle:
        handle.write(text)
    size = (tmp_path / "tenx" / "matrix.mtx.gz").stat().st_size  # the folder's bytes, not compressed x5
    assert input_size(tmp_path / "tenx", "10x_mtx") == InputSize(max(size // 10_000, 1), 20_000, size // 4)


def test_byte_estimates_hand_computed(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_bytes(b"1" * 40_004)  # 4 rows per 10 kB (floored), 4 bytes per value
    assert input_size(tmp_path / "m.csv", "csv") == InputSize(4, 20_000, 10_001)
    assert type(input_size(tmp_path / "m.csv", "csv").n_cells) is int
    (tmp_path / "m.csv.gz").write_bytes(b"1" * 8_000)  # compressed: 5x
    assert input_size(tmp_path / "m.csv.gz", "csv") == InputSize(4, 20_000, 10_000)
    (tmp_path / "m.tsv.bgz").write_bytes(b"1" * 2_000)
    assert input_size(tmp_path / "m.tsv.bgz", "tsv") == InputSize(1, 20_000, 2_500)
    (tmp_path / "tiny.csv").write_bytes(b"1")
    assert input_size(tmp_path / "tiny.csv", "csv") == InputSize(1, 20_000, 1)
    assert input_size(tmp_path / "absent.csv", "csv") == InputSize(1, 20_000, 1)
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a").write_bytes(b"1" * 30_000)
    (folder / "sub" / "b").write_bytes(b"1" * 12_000)
    assert input_size(folder, "csv") == InputSize(4, 20_000, 10_500)


def test_unreadable_headers_fall_back_to_the_byte_estimate(tmp_path: Path) -> None:
    (tmp_path / "bad.h5ad").write_bytes(b"x" * 20_000)  # not HDF5: OSError
    assert input_size(tmp_path / "bad.h5ad", "h5ad") == InputSize(2, 20_000, 5_000)
    (tmp_path / "bad.h5").write_bytes(b"x" * 20_000)
    assert input_size(tmp_path / "bad.h5", "10x_h5") == InputSize(2, 20_000, 5_000)
    ad.AnnData(X=np.ones((3, 2), dtype=np.float32)).write_h5ad(tmp_path / "x.h5ad")
    nbytes = (tmp_path / "x.h5ad").stat().st_size
    expected = InputSize(max(nbytes // 10_000, 1), 20_000, nbytes // 4)
    assert input_size(tmp_path / "x.h5ad", "h5ad", "nope") == expected  # no such layer: KeyError


def _message_of(path: Path, key: str | None = None) -> str:
    try:
        with h5py.File(path, "r") as handle:
            handle[key]
    except (OSError, KeyError) as err:
        return f"the file cannot be opened as h5ad here ({' '.join(str(err).split())[:80]})"
    raise AssertionError("expected an error")


def test_unsupported_messages(tmp_path: Path) -> None:
    assert resources.unsupported(tmp_path / "x", "zarr", None, "seurat", None) == (
        "input.format zarr (it streams h5ad, 10x_mtx, csv, tsv, loom)"
    )
    assert resources.unsupported(tmp_path / "absent.csv", "csv", None, "seurat", None) is None
    adata = _adata_with_raw()
    adata.write_h5ad(tmp_path / "csr.h5ad")
    assert resources.unsupported(tmp_path / "csr.h5ad", "h5ad", None, "seurat", None) is None
    assert resources.unsupported(tmp_path / "csr.h5ad", "h5ad", "raw", "seurat", None) is None
    ad.AnnData(X=np.ones((3, 2), dtype=np.float32)).write_h5ad(tmp_path / "dense.h5ad")
    assert resources.unsupported(tmp_path / "dense.h5ad", "h5ad", None, "seurat", None) is None
    ad.AnnData(X=sparse.csc_matrix(np.eye(3, dtype=np.float32))).write_h5ad(tmp_path / "csc.h5ad")
    assert resources.unsupported(tmp_path / "csc.h5ad", "h5ad", None, "seurat", None) == (
        "X stored as csc_matrix (it reads CSR or dense rows)"
    )
    with h5py.File(tmp_path / "old.h5ad", "w") as handle:  # a sparse group without anndata's encoding attributes
        handle["X/data"] = np.ones(2, dtype=np.float32)
        handle["obs"] = np.zeros(3)
        handle.create_group("var")
    assert resources.unsupported(tmp_path / "old.h5ad", "h5ad", None, "seurat", None) == (
        "X stored as an old layout (it reads CSR or dense rows)"
    )
    with h5py.File(tmp_path / "oldobs.h5ad", "w") as handle:
        handle["X"] = np.ones((3, 2), dtype=np.float32)
        handle["obs"] = np.zeros(3)  # anndata < 0.7 wrote obs as a record array
        handle.create_group("var")
    assert resources.unsupported(tmp_path / "oldobs.h5ad", "h5ad", None, "seurat", None) == (
        "obs in anndata's old layout"
    )
    with h5py.File(tmp_path / "oldvar.h5ad", "w") as handle:
        handle["raw/X"] = np.ones((3, 2), dtype=np.float32)
        handle["raw/var"] = np.zeros(2)
        handle.create_group("obs")
        handle.create_group("var")
    assert resources.unsupported(tmp_path / "oldvar.h5ad", "h5ad", None, "seurat", None) is not None  # no X
    assert resources.unsupported(tmp_path / "oldvar.h5ad", "h5ad", "raw", "seurat", None) == (
        "raw/var in anndata's old layout"
    )
    missing = tmp_path / "absent  file.h5ad"
    assert resources.unsupported(missing, "h5ad", None, "seurat", None) == _message_of(missing)
    assert resources.unsupported(tmp_path / "dense.h5ad", "h5ad", "nope", "seurat", None) == _message_of(
        tmp_path / "dense.h5ad", "layers/nope"
    )


def test_resource_figures_at_their_boundaries_by_hand() -> None:
    """threads at 20 million values, the runtimes and a job's disk (converted input only out of core and not for
    h5ad, times the attempt) worked by hand from the documented rules."""
    from genoprep.scrna import resources as r

    assert [r.threads(r.InputSize(1, 1, nnz)) for nnz in (0, 20_000_000, 20_000_001)] == [1, 1, 2]
    ten_million = r.InputSize(100, 100, 10_000_000)
    # in memory: 10 min + 1 per 5 million values; out of core and a shard: 10 + 1 per 2 million; times the attempt
    assert [r.runtime_minutes(ten_million, a) for a in (1, 2)] == [12, 24]
    assert [r.ooc_runtime_minutes(r.InputSize(100, 100, 4_000_000), a) for a in (1, 3)] == [12, 36]
    assert [r.shard_runtime(r.InputSize(100, 100, 4_000_000), a) for a in (1, 2)] == [12, 24]
    size = r.InputSize(1024, 1024, 2**15)
    # outputs: 16 * 2**15 + 12 * 1024 * 1024 + 1024 * (52 * 8 + 8) + 2048 * 128 bytes = 13.1640625 MiB, + 32 MiB of
    # HDF5; converted: 32 * 2**15 + 2048 * 128 bytes = 1.25 MiB, + 16; each times the attempt (2), cut, plus 1
    outputs, converted = int((13.1640625 + 32) * 2) + 1, int((1.25 + 16) * 2) + 1
    assert (outputs, converted) == (91, 35)
    assert r.job_disk_mb(size, r.OUT_OF_CORE, "10x_mtx", 2, n_hvg=1024) == outputs + converted
    assert r.job_disk_mb(size, r.OUT_OF_CORE, "h5ad", 2, n_hvg=1024) == outputs
    assert r.job_disk_mb(size, r.IN_MEMORY, "10x_mtx", 2, n_hvg=1024) == outputs


def test_input_size_of_a_plain_matrix_mtx_and_of_zarr_layers(tmp_path) -> None:
    """An uncompressed matrix.mtx (comment lines first), and a zarr store's dense X and sparse raw/X (anndata)."""
    from genoprep.scrna.resources import InputSize, input_size

    folder = tmp_path / "tenx"
    folder.mkdir()
    (folder / "matrix.mtx").write_text("%%MatrixMarket matrix coordinate integer general\n% x\n7 5 9\n1 1 1\n")
    assert input_size(folder, "10x_mtx") == InputSize(5, 7, 9)
    counts = np.array([[1, 0, 2], [0, 0, 3]], dtype=np.float32)
    adata = ad.AnnData(X=counts)
    adata.raw = ad.AnnData(X=sparse.csr_matrix(np.array([[1, 0, 0, 4], [0, 0, 0, 0]], dtype=np.float32)))
    store = tmp_path / "data.zarr"
    adata.write_zarr(store)
    assert input_size(store, "zarr") == InputSize(2, 3, 6)  # dense: every value counts
    assert input_size(store, "zarr", "raw") == InputSize(2, 4, 2)
    # a text table: 4 bytes per value, one cell per 10 kB, 20,000 genes; a BGZF (.bgz) file counts 5x, as .gz
    # (whole values: 40,002 bytes -> 10,000; 5 x 40,002 -> 50,002)
    for name, cells, values in (("m.csv", 4, 10_000), ("m.csv.gz", 20, 50_002), ("m.tsv.bgz", 20, 50_002)):
        (tmp_path / name).write_bytes(b"x" * 40_002)
        size = input_size(tmp_path / name, "csv")
        assert size == InputSize(cells, 20_000, values) and isinstance(size.nnz, int)


def test_memory_and_disk_of_ooc_jobs_and_shards_by_hand() -> None:
    """Every term of the out-of-core and shard memory and of the output/shard disk figures, by hand, on sizes where
    each term is a whole number of MiB (so a changed coefficient moves the result)."""
    from genoprep.scrna import resources as r

    # 1 GiB + 400 bytes x 2**20 cells (400 MiB) + a quarter of a 4000 MiB budget; times 2
    assert r.ooc_mem_mb(r.InputSize(2**20, 100, 10), 4000, 2) == (1024 + 400 + 1000) * 2
    # 1 GiB + 400 bytes x 2**21 cells of the dataset (800 MiB) + 48 bytes x 2**20 values (48 MiB) + twice the dense
    # block of 2**18 cells x 2000 HVG columns x 4 bytes (2 x 2000 MiB); times 2
    shard = r.InputSize(2**18, 4000, 2**20)
    assert r.shard_mem_mb(shard, 2**21, 2) == (1024 + 800 + 48 + 4000) * 2
    # the block alone, 2000 MiB + 1, times the attempt (default 1), cut, plus 1
    assert (r.shard_block_disk_mb(shard), r.shard_block_disk_mb(shard, 2)) == (2002, 4003)
    # rows: 16 bytes x 2**16 values (1 MiB) + 16 bytes x 2**20 cells (16 MiB) + 1 MiB, times the attempt, plus 1
    rows = r.InputSize(2**20, 10, 2**16)
    assert (r.shard_rows_disk_mb(rows), r.shard_rows_disk_mb(rows, 2)) == (19, 37)
    # outputs, default 2000 HVG columns: 16 x 2**20 values (16 MiB) + 12 x 2**20 cells x 2000 (24000 MiB) + 424 bytes
    # x 2**20 cells (424 MiB) + 128 bytes x (2**20 + 8192) names (129 MiB) + 32 MiB of HDF5, plus 1
    assert r.outputs_disk_mb(r.InputSize(2**20, 8192, 2**20)) == 16 + 24000 + 424 + 129 + 32 + 1
