"""Killers for the mutants of genoprep/scrna/ooc.py and genoprep/scrna/ooc_hvg.py
that survived the module tests (issue 16; docs/testing.md).

The `scrna_ooc` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is hand-computed,
re-implemented here in plain numpy/pandas/h5py, or read with an independent library (scanpy, anndata, h5py),
never taken from genoprep's own output. Inputs are tiny and written in the test.
"""

from __future__ import annotations

import re
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna import ooc, ooc_hvg

N_CELLS, N_GENES = 40, 30


def _data(seed: int = 1) -> tuple[sparse.csr_matrix, sparse.csr_matrix, pd.DataFrame]:
    """Tiny counts with genes of different means, their log1p values (log1p of the counts: any log-like
    values will do here) and obs with two batches in mixed order; the last gene has no count in batch a."""
    rng = np.random.default_rng(seed)
    means = rng.gamma(0.8, 3.0, size=N_GENES)
    dense = rng.poisson(rng.gamma(2.0, means / 2.0, size=(N_CELLS, N_GENES))).astype(np.float32)
    batch = np.where(rng.random(N_CELLS) < 0.5, "a", "b")
    dense[batch == "a", -1] = 0  # the last gene is not expressed in batch a
    counts = sparse.csr_matrix(dense)
    x = sparse.csr_matrix(np.log1p(dense))
    return counts, x, pd.DataFrame({"batch": batch}, index=[f"c{i}" for i in range(N_CELLS)])


def _exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


# ---- ooc_hvg.BatchHvg: the refusals name what is wrong, whole ---------------------------------------


def test_batch_hvg_passes_out_of_order_are_refused_with_their_whole_message() -> None:
    counts, x, obs = _data()
    hvg = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, 2)
    with pytest.raises(ValueError, match=_exactly("the clip pass starts with start_clip_pass or use_clip_values")):
        hvg.add_clipped(0, counts[:4])
    with pytest.raises(ValueError, match=_exactly("no clip pass was started")):
        hvg.clipped_state()
    with pytest.raises(ValueError, match=_exactly("the clip values are fitted by start_clip_pass")):
        hvg.clip_values()
    hvg.add(0, counts[:5], x[:5])
    with pytest.raises(ValueError, match=_exactly("add: rows from 6, but the rows added so far stop at 5")):
        hvg.add(6, counts[6:8], x[6:8])
    with pytest.raises(ValueError, match=_exactly(f"HVG statistics of rows 0:5, not of all {N_CELLS} rows")):
        hvg.select(pd.DataFrame(index=[f"g{i}" for i in range(N_GENES)]), 5)
    with pytest.raises(ValueError, match=_exactly(f"HVG statistics of rows 0:5, not of all {N_CELLS} rows")):
        hvg.start_clip_pass()
    hvg.add(5, counts[5:], x[5:])
    hvg.start_clip_pass()
    hvg.add_clipped(0, counts[:4])
    with pytest.raises(ValueError, match=_exactly("add_clipped: rows from 5, but the rows added so far stop at 4")):
        hvg.add_clipped(5, counts[5:7])
    with pytest.raises(ValueError, match=_exactly(f"clipped HVG statistics of rows 0:4, not of all {N_CELLS} rows")):
        hvg.select(pd.DataFrame(index=[f"g{i}" for i in range(N_GENES)]), 5)
    good = hvg.clip_values()
    for key, bad, dtype in (
        ("clip", good["clip"][:, :-1], "float64"),
        ("reg_std", good["reg_std"].astype(np.float32), "float32"),
    ):
        shape = (1, N_GENES - 1) if key == "clip" else (1, N_GENES)
        with pytest.raises(ValueError, match=_exactly(f"{key}: {dtype}{shape}, not float64(1, {N_GENES})")):
            hvg.use_clip_values({**good, key: bad})


def test_a_range_with_no_clip_rows_is_an_empty_range_that_merges() -> None:
    """A shard that sees no HVG row in the clip pass (e.g. no train cell) hands over [first, first)."""
    counts, x, obs = _data(2)
    whole = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, 2)
    whole.add(0, counts, x)
    whole.start_clip_pass()
    clip = whole.clip_values()
    _, codes = ooc_hvg.batch_codes("seurat_v3", None, obs)
    empty = ooc_hvg.BatchHvg.from_codes("seurat_v3", None, codes, 1, N_GENES, 2)
    empty.start_at(17)
    empty.use_clip_values(clip)
    state = empty.clipped_state()
    np.testing.assert_array_equal(state["clip_rows"], [17, 17])
    assert state["clip_rows"].dtype == np.int64
    np.testing.assert_array_equal(state["clipped_sums"], np.zeros((1, N_GENES)))

    merged = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, 2)
    merged.add(0, counts, x)
    merged.use_clip_values(clip)
    first = ooc_hvg.BatchHvg.from_codes("seurat_v3", None, codes, 1, N_GENES, 2)
    first.use_clip_values(clip)
    first.add_clipped(0, counts[:17])
    merged.merge_clipped(first.clipped_state())
    handed_out = merged.clipped_state()  # a state given out before the next merge is a snapshot
    merged.merge_clipped(state)  # the empty range in between
    # the clip file's names, as the docs give them: the last range's sums written by hand (plain numpy) with
    # its row range as int32 (another writer's integers: read as integers, never added)
    dense = counts.toarray().astype(np.float64)
    clipped = np.minimum(dense, clip["clip"][0])
    rest = {
        "clip_rows": np.array([17, N_CELLS], dtype=np.int32),
        "clipped_sums": clipped[17:].sum(axis=0)[None],
        "clipped_squares": (clipped[17:] ** 2).sum(axis=0)[None],
    }
    assert list(state) == list(rest)
    merged.merge_clipped(rest)
    np.testing.assert_array_equal(handed_out["clip_rows"], [0, 17])
    np.testing.assert_array_equal(merged.clip_rows, [0, N_CELLS])
    assert not merged.needs_clip_pass
    # the clipped sums against a plain re-implementation: min(count, clip) summed per gene
    np.testing.assert_allclose(merged.clipped_sums[0], clipped.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(merged.clipped_squares[0], (clipped**2).sum(axis=0), rtol=1e-12)


HVG_CASES = {  # flavor, batch key, n_top
    "seurat_v3": ("seurat_v3", None, 8),
    "seurat_v3-batch": ("seurat_v3", "batch", 8),
    "seurat_v3_paper-batch": ("seurat_v3_paper", "batch", 8),
    "seurat-batch": ("seurat", "batch", 8),
    "cell_ranger-batch": ("cell_ranger", "batch", 8),
}


@pytest.mark.parametrize("case", sorted(HVG_CASES))
def test_batch_hvg_selects_what_scanpy_selects_on_a_tiny_matrix(case: str) -> None:
    """Fed in chunks of 7 rows (and the clip pass for seurat_v3), :meth:`BatchHvg.select` against scanpy's
    ``highly_variable_genes`` on the same matrix (counts for seurat_v3, log values otherwise)."""
    import scanpy as sc

    flavor, key, n_top = HVG_CASES[case]
    counts, x, obs = _data(4)
    var_names = [f"g{i}" for i in range(N_GENES)]
    hvg = ooc_hvg.BatchHvg(flavor, key, obs, N_GENES, 3)
    for row in range(0, N_CELLS, 7):
        hvg.add(row, counts[row : row + 7], x[row : row + 7])
    if hvg.needs_clip_pass:
        hvg.start_clip_pass()
        for row in range(0, N_CELLS, 7):
            hvg.add_clipped(row, counts[row : row + 7])
    got = pd.DataFrame(index=var_names)
    assert hvg.select(got, n_top) == {"flavor": flavor}

    matrix = counts if flavor.startswith("seurat_v3") else x
    adata = ad.AnnData(X=matrix.copy(), obs=obs.copy(), var=pd.DataFrame(index=var_names))
    expected = sc.pp.highly_variable_genes(adata, flavor=flavor, n_top_genes=n_top, batch_key=key, inplace=False)
    expected.index = var_names
    assert got["highly_variable"].sum() == n_top
    for column in got.columns:
        want, have = expected[column].to_numpy(), got[column].to_numpy()
        if want.dtype.kind in "biu":
            np.testing.assert_array_equal(have, want, err_msg=column)
        else:
            np.testing.assert_allclose(have.astype(float), want.astype(float), rtol=1e-6, atol=1e-9, err_msg=column)
    assert set(got.columns) == set(expected.columns) - {"gene_name"}


# ---- ooc.read_header, ooc.write_annotations: the h5ad layout, against anndata and h5py ---------------


def _tiny_h5ad(path: Path, dense: bool = False) -> ad.AnnData:
    matrix = np.array([[1, 0, 2], [0, 0, 3], [4, 5, 0], [0, 6, 0]], dtype=np.float32)
    adata = ad.AnnData(
        X=matrix if dense else sparse.csr_matrix(matrix),
        obs=pd.DataFrame({"kind": ["x", "y", "x", "y"]}, index=[f"c{i}" for i in range(4)]),
        var=pd.DataFrame(index=["g0", "g1", "g2"]),
    )
    adata.write_h5ad(path)
    return adata


@pytest.mark.parametrize("dense", [False, True])
def test_read_header_reads_obs_var_and_rows_as_anndata_does(tmp_path: Path, dense: bool) -> None:
    path = tmp_path / "a.h5ad"
    adata = _tiny_h5ad(path, dense)
    with h5py.File(path, "r") as handle:
        header, reader = ooc.read_header(handle, path, None)
        assert header.shape == (4, 3) and header.X is None
        assert list(header.obs_names) == list(adata.obs_names) and list(header.var_names) == ["g0", "g1", "g2"]
        assert (reader.n_cells, reader.n_genes) == (4, 3)
        rows = reader.rows(1, 3)
        assert rows.dtype == np.float32 and rows.shape == (2, 3)
        np.testing.assert_array_equal(rows.toarray(), np.asarray(adata.X[1:3].todense() if not dense else adata.X[1:3]))
        firsts = [first for first, _ in reader.chunks(3)]
        assert firsts == [0, 3]


def test_read_header_refuses_a_matrix_whose_shape_disagrees_with_obs_and_var(tmp_path: Path) -> None:
    path = tmp_path / "a.h5ad"
    _tiny_h5ad(path)
    with h5py.File(path, "r+") as handle:
        handle["X"].attrs["shape"] = np.array([5, 3])
    with h5py.File(path, "r") as handle, pytest.raises(InputError) as info:
        ooc.read_header(handle, path, None)
    assert str(info.value) == f"{path}: the matrix is 5 x 3, but obs has 4 rows and var 3"

    dense = tmp_path / "dense.h5ad"
    _tiny_h5ad(dense, dense=True)
    with h5py.File(dense, "r+") as handle:
        del handle["X"]
        handle["X"] = np.zeros((4, 2), dtype=np.float32)
    with h5py.File(dense, "r") as handle, pytest.raises(InputError) as info:
        ooc.read_header(handle, dense, None)
    assert str(info.value) == f"{dense}: the matrix is 4 x 2, but obs has 4 rows and var 3"
    with h5py.File(dense, "r") as handle:
        for layer, problem in (("counts", "no layers/counts"), ("raw", "no raw/X")):
            with pytest.raises(InputError) as info:
                ooc.read_header(handle, dense, layer)
            assert str(info.value) == f"{dense}: the h5ad file has {problem}"
    with h5py.File(dense, "r+") as handle:
        del handle["X"]
    with h5py.File(dense, "r") as handle, pytest.raises(InputError) as info:
        ooc.read_header(handle, dense, None)
    assert str(info.value) == f"{dense}: the h5ad file has no X matrix"


def test_write_annotations_writes_the_root_anndata_writes(tmp_path: Path) -> None:
    """The root attributes and groups as anndata's own ``write_h5ad`` writes them, read back by anndata."""
    reference = tmp_path / "reference.h5ad"
    adata = _tiny_h5ad(reference)
    shell = ad.AnnData(obs=adata.obs.copy(), var=adata.var.copy())
    shell.uns["genoprep"] = {"n_hvg": 2}
    ours = tmp_path / "ours.h5ad"
    with h5py.File(ours, "w") as out:
        from anndata.io import write_elem

        write_elem(out, "X", adata.X)
        write_elem(out, "layers", {})
        ooc.write_annotations(out, shell)
    with h5py.File(reference, "r") as a, h5py.File(ours, "r") as b:
        assert dict(b.attrs) == dict(a.attrs) == {"encoding-type": "anndata", "encoding-version": "0.1.0"}
        assert sorted(b) == sorted(a)
    back = ad.read_h5ad(ours)
    assert isinstance(back.obs["kind"].dtype, pd.CategoricalDtype)  # strings_to_categoricals, as write_h5ad does
    assert back.obs["kind"].tolist() == ["x", "y", "x", "y"] and back.uns["genoprep"]["n_hvg"] == 2
    assert (back.X != adata.X).nnz == 0


def test_an_h5ad_that_is_not_hdf5_is_one_line_naming_the_file(tmp_path: Path) -> None:
    from genoprep.scrna import chain
    from tests.unit.test_scrna_ooc import MITO, _options, _outputs

    path = tmp_path / "broken.h5ad"
    path.write_bytes(b"this is not an HDF5 file\n" * 40)
    options = _options(tmp_path, path, {}, None)
    with pytest.raises(InputError) as info:
        ooc.process(chain.Job(path, None, tuple(MITO), "d", _outputs(tmp_path / "out")), options, chain.StepTable(), 10)
    line = str(info.value)
    assert line.startswith(f"{path}: not a readable h5ad (HDF5) file: truncated, empty or another format (")
    assert "\n" not in line


# ---- ooc.GeneSums: pass 3's per-gene sums, against numpy over the dense matrix ------------------------

SUMS_KEYS = ["cells_with", "gene_total", "hvg_sums", "hvg_squares", "scale_total", "scale_squares"]


@pytest.mark.parametrize("flavor", ["seurat", "cell_ranger"])
def test_gene_sums_of_two_ranges_merge_to_the_plain_sums(flavor: str) -> None:
    counts, x, _obs = _data(6)
    fit = np.arange(N_CELLS) % 3 != 1  # the scaling rows
    ranges = [ooc.GeneSums(N_GENES, slots=2), ooc.GeneSums(N_GENES, slots=2)]
    for row in range(0, N_CELLS, 6):  # chunks of 6 rows; rows 0:18 to the first range, 18:40 to the second
        sums = ranges[0] if row < 18 else ranges[1]
        stop = min(row + 6, N_CELLS)
        sums.add(row, counts[row:stop], x[row:stop], fit[row:stop], flavor)
    second = ranges[1].arrays()
    assert list(second) == SUMS_KEYS  # the names of a shard's sums file
    assert {key: value.dtype.kind for key, value in second.items()} == dict.fromkeys(SUMS_KEYS, "f") | {
        "cells_with": "i"
    }
    ranges[0].merge(second)
    merged = ranges[0]
    dense = counts.toarray().astype(np.float64)
    values = x.toarray().astype(np.float64)
    np.testing.assert_array_equal(merged.cells_with, (dense > 0).sum(axis=0))
    np.testing.assert_allclose(merged.gene_total, dense.sum(axis=0), rtol=1e-12)
    hvg_values = np.expm1(values) if flavor == "seurat" else values
    for slot in (0, 1):  # rows dealt round-robin by their kept-row index, as scanpy's kernel deals them
        rows = hvg_values[slot::2]
        np.testing.assert_allclose(merged.moments.sums[slot], rows.sum(axis=0), rtol=1e-6)
        np.testing.assert_allclose(merged.moments.squares[slot], (rows**2).sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(merged.scale_total, values[fit].sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(merged.scale_squares, (values[fit] ** 2).sum(axis=0), rtol=1e-5)
    assert merged.n_hvg_rows is None


def test_gene_sums_hvg_statistics_see_the_hvg_fit_rows_only_numbered_among_them() -> None:
    counts, x, _obs = _data(7)
    hvg_fit = np.zeros(N_CELLS, dtype=bool)
    hvg_fit[[1, 2, 5, 6, 7, 8, 11, 16, 33, 39]] = True  # rows 8 and 16 start a chunk
    sums = ooc.GeneSums(N_GENES, slots=3, hvg_fit=hvg_fit)
    assert sums.n_hvg_rows == 10
    for row in range(0, N_CELLS, 8):
        stop = min(row + 8, N_CELLS)
        sums.add(row, counts[row:stop], x[row:stop], np.ones(stop - row, dtype=bool), "cell_ranger")
    values = x.toarray().astype(np.float64)[hvg_fit]  # the 10 fit rows, numbered 0..9: slot = number % 3
    for slot in range(3):
        np.testing.assert_allclose(sums.moments.sums[slot], values[slot::3].sum(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(sums.cells_with, (counts.toarray() > 0).sum(axis=0))  # every kept row
    numbered = list(sums.hvg_rows([(0, counts[:8], x[:8]), (8, counts[8:16], x[8:16])]))
    assert [row for row, _c, _x in numbered] == [0, 5]  # rows 1, 2, 5, 6, 7, then 8 (number 5) and 11
    assert [c.shape[0] for _r, c, _x in numbered] == [5, 2]


def test_gene_sums_refusals_are_whole() -> None:
    with pytest.raises(ValueError, match=_exactly("1 train cell(s): too few to select highly variable genes")):
        ooc.GeneSums(N_GENES, hvg_fit=np.eye(1, N_CELLS, 3, dtype=bool)[0])
    sums = ooc.GeneSums(N_GENES, slots=2)
    bad = {**sums.arrays(), "cells_with": np.zeros(N_GENES)}
    with pytest.raises(
        ValueError, match=_exactly(f"cells_with: float64({N_GENES},) cannot be added to int64({N_GENES},)")
    ):
        sums.merge(bad)
    _counts, _x, obs = _data()
    batched = ooc.GeneSums(N_GENES, batch_hvg=ooc_hvg.BatchHvg("seurat", "batch", obs, N_GENES, 2))
    with pytest.raises(ValueError, match=_exactly("per-batch HVG statistics do not merge across shards")):
        batched.arrays()


# ---- ooc._ValueCheck: the in-memory check's priority over chunks -------------------------------------


def _check_chunks(matrix: np.ndarray, value_type: str, size: int) -> ooc._ValueCheck:
    n_cells, n_genes = matrix.shape
    check = ooc._ValueCheck(
        "in.h5ad", value_type, pd.Index([f"c{i}" for i in range(n_cells)]), pd.Index([f"g{j}" for j in range(n_genes)])
    )
    for first in range(0, n_cells, size):
        check.check(first, sparse.csr_matrix(matrix[first : first + size].astype(np.float32)))
    return check


def test_value_check_keeps_the_first_negative_over_an_earlier_fraction_and_the_first_fraction() -> None:
    matrix = np.zeros((6, 3))
    matrix[0, 1] = 1.5  # chunk 0: a fraction
    matrix[3, 0] = -2  # chunk 1: a negative value wins over the fraction
    matrix[4, 2] = -3  # a later negative value: the first one stays
    matrix[5, 1] = 2.5
    check = _check_chunks(matrix, "counts", 2)
    with pytest.raises(InputError) as info:
        check.raise_found()
    assert str(info.value).startswith("in.h5ad: cell c3, gene g0: value -2 is negative: the matrix looks scaled")

    fractions = np.zeros((6, 3))
    fractions[1, 2], fractions[2, 0], fractions[5, 1] = 0.5, 1.25, 7.5
    check = _check_chunks(fractions, "counts", 2)
    with pytest.raises(InputError) as info:
        check.raise_found()
    assert str(info.value).startswith("in.h5ad: cell c1, gene g2: value 0.5 is not an integer: the matrix looks normal")
    _check_chunks(fractions, "log_normalized", 2).raise_found()  # fractions are what log values are
    with pytest.raises(InputError, match="cell c3, gene g0: value -2 is negative"):
        _check_chunks(matrix, "log_normalized", 4).raise_found()
    _check_chunks(np.ones((3, 3)), "counts", 2).raise_found()  # nothing to say


def test_value_check_raises_a_value_that_is_not_finite_at_its_chunk() -> None:
    matrix = np.zeros((6, 3))
    matrix[0, 0] = -1
    matrix[4, 1] = np.inf
    n_cells = 6
    check = ooc._ValueCheck("in.h5ad", "counts", pd.Index([f"c{i}" for i in range(n_cells)]), pd.Index(["a", "b", "c"]))
    check.check(0, sparse.csr_matrix(matrix[:2].astype(np.float32)))  # the negative value is kept for later
    with pytest.raises(InputError) as info:
        check.check(4, sparse.csr_matrix(matrix[4:].astype(np.float32)))
    assert str(info.value) == "in.h5ad: cell c4, gene b: value inf is not a finite number"


# ---- ooc.cell_metrics, kept_cell_metrics, normalized_chunks on a row range, against numpy --------------


def _reader(tmp_path: Path, matrix: np.ndarray) -> tuple[h5py.File, ooc.RowReader]:
    path = tmp_path / "m.h5ad"
    ad.AnnData(X=sparse.csr_matrix(matrix.astype(np.float32))).write_h5ad(path)
    handle = h5py.File(path, "r")
    return handle, ooc.RowReader(handle["X"], matrix.shape[1])


def test_cell_metrics_of_a_row_range_and_cells_exactly_at_min_genes(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    matrix = rng.poisson(0.7, size=(23, 9)).astype(np.float64)
    matrix[7] = [1, 2, 0, 0, 3, 0, 0, 0, 0]  # exactly 3 genes: passes min_genes 3
    matrix[8] = [0, 0, 0, 0, 0, 1, 1, 0, 0]  # 2 genes: does not
    mito = np.zeros(9, dtype=bool)
    mito[[1, 6]] = True
    handle, reader = _reader(tmp_path, matrix)
    with handle:
        (genes, total, mito_total), cells_per_gene = ooc.cell_metrics(reader, 5, 20, 4, mito, 3, None)
        rows = matrix[5:20]
        np.testing.assert_array_equal(genes, (rows > 0).sum(axis=1))
        assert genes.dtype == np.int64 and genes[2] == 3 and genes[3] == 2
        np.testing.assert_array_equal(total, rows.sum(axis=1))
        np.testing.assert_array_equal(mito_total, rows[:, mito].sum(axis=1))
        passed = (rows > 0).sum(axis=1) >= 3
        np.testing.assert_array_equal(cells_per_gene, (rows[passed] > 0).sum(axis=0))
        assert cells_per_gene.dtype == np.int64

        gene_kept = np.array([1, 1, 0, 1, 1, 0, 1, 1, 1], dtype=bool)
        genes2, total2, mito2 = ooc.kept_cell_metrics(reader, 5, 20, 4, gene_kept, mito)
        np.testing.assert_array_equal(genes2, (rows[:, gene_kept] > 0).sum(axis=1))
        np.testing.assert_array_equal(total2, rows[:, gene_kept].sum(axis=1))
        np.testing.assert_array_equal(mito2, rows[:, gene_kept & mito].sum(axis=1))


def test_merges_out_of_order_name_the_merge_and_both_ranges() -> None:
    counts, x, obs = _data(3)
    part = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, 2)
    part.start_at(4)
    part.add(4, counts[4:9], x[4:9])
    merged = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, 2)
    with pytest.raises(ValueError, match=_exactly("merge: the statistics of rows 4:9 do not follow rows 0:0")):
        merged.merge(part.state())
    with pytest.raises(ValueError, match=_exactly("expressed: missing from the statistics to merge")):
        merged.merge({k: v for k, v in part.state().items() if k != "expressed"} | {"rows": np.array([0, 5])})
    whole = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, 2)
    whole.add(0, counts, x)
    whole.start_clip_pass()
    merged.use_clip_values(whole.clip_values())
    late = {
        "clip_rows": np.array([3, 5]),
        "clipped_sums": np.zeros((1, N_GENES)),
        "clipped_squares": np.zeros((1, N_GENES)),
    }
    with pytest.raises(ValueError, match=_exactly("merge_clipped: the statistics of rows 3:5 do not follow rows 0:0")):
        merged.merge_clipped(late)


def test_unsupported_looks_at_the_layer_the_card_names(tmp_path: Path) -> None:
    """X stored CSC (not streamable) beside a CSR ``layers/counts``: the card's layer decides."""
    from genoprep.cards import load_card
    from genoprep.scrna import chain
    from tests.conftest import write_card

    matrix = sparse.csr_matrix(np.array([[1, 0, 2], [0, 3, 0]], dtype=np.float32))
    path = tmp_path / "layers.h5ad"
    ad.AnnData(X=matrix.tocsc(), layers={"counts": matrix}).write_h5ad(path)
    with h5py.File(path, "r") as handle:  # as anndata stores them
        assert handle["X"].attrs["encoding-type"] == "csc_matrix"
        assert handle["layers/counts"].attrs["encoding-type"] == "csr_matrix"
    for layer, reason in (("counts", None), (None, "X stored as csc_matrix (it reads CSR or dense rows)")):
        card = {"dataset_id": "d", "name": "t", "modality": "scrna", "input": {"path": str(path), "format": "h5ad"}}
        if layer is not None:
            card["input"]["layer"] = layer
        options = chain.ChainOptions.from_card(load_card(write_card(tmp_path / f"cards_{layer}", card)).data, None)
        assert ooc.unsupported(path, options.ingest, options.hvg) == reason


def test_batch_hvg_obs_gives_the_hvg_fit_rows_when_per_batch_statistics_are_needed(tmp_path: Path) -> None:
    from genoprep.cards import load_card
    from genoprep.scrna import chain
    from tests.conftest import write_card

    def options(params: dict) -> chain.ChainOptions:
        card = {"dataset_id": "d", "name": "t", "modality": "scrna", "input": {"path": "x.h5ad", "format": "h5ad"}}
        folder = tmp_path / f"cards{len(list(tmp_path.iterdir()))}"
        return chain.ChainOptions.from_card(load_card(write_card(folder, {**card, "params": params})).data, None)

    obs = pd.DataFrame({"batch": list("abbab")}, index=[f"c{i}" for i in range(5)])
    fit = np.array([True, False, True, True, False])
    batched = options({"hvg_flavor": "seurat", "hvg_batch_key": "batch"})
    assert list(ooc.batch_hvg_obs(obs, fit, batched).index) == ["c0", "c2", "c3"]
    assert list(ooc.batch_hvg_obs(obs, None, batched).index) == list(obs.index)
    assert ooc.batch_hvg_obs(obs, fit, options({"hvg_flavor": "seurat"})) is None  # plain moments
    v3 = options({"hvg_flavor": "seurat_v3"})
    assert list(ooc.batch_hvg_obs(obs, fit, v3).index) == ["c0", "c2", "c3"]
    statistics = ooc.batch_statistics(obs, fit, 4, batched)
    assert statistics is not None and statistics.labels == ["a", "b"] and statistics.batch.tolist() == [0, 1, 0]
    assert statistics.sums.shape[::2] == (2, 4)
