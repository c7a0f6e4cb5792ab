"""Splits across shards (genoprep/scrna/shard.py): the decide job assigns the split once from the shards'
identical-cells keys, the sums and scale jobs fit on the train rows; the shard jobs' functions run in
order (no snakemake) on real data and give the one-job out-of-core path's artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep import leakage
from genoprep.errors import InputError
from genoprep.scrna import chain, ooc, shard
from genoprep.scrna.options import MemoryOptions
from tests.conftest import shared_data
from tests.unit.test_scrna_ooc import FILES, MITO, _options, _outputs

PBMC68K = "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad"


def _with_twins(tmp: Path) -> tuple[Path, int]:
    """The real PBMC 68k file with 12 of its cells repeated at the end (``twin-`` names), two of them with
    one more count in a gene ``min_cells: 6`` removes: the twins are identical over the kept genes only.
    Returns the file and that gene's column."""
    adata = ad.read_h5ad(shared_data("scrna", PBMC68K))
    detected = np.asarray((adata.X > 0).sum(axis=0)).ravel()
    rare = int(np.flatnonzero(detected == 3)[0])  # 3 cells, 5 with the twins: removed by min_cells 6
    rows = np.arange(0, 700, 58)[:12]
    twins = adata[rows].copy()
    twins.obs_names = [f"twin-{name}" for name in twins.obs_names]
    matrix = twins.X.tolil()
    for row in range(2):
        matrix[row, rare] = matrix[row, rare] + 1
    twins.X = sparse.csr_matrix(matrix, dtype=adata.X.dtype)
    both = ad.concat([adata, twins])
    both.var = adata.var
    both.write_h5ad(tmp / "twins.h5ad")
    return tmp / "twins.h5ad", rare


CASES = {
    "stratified-hvg_on_train": {"split": {"enabled": True, "stratify_by": "bulk_labels", "seed": 3}},
    "grouped-cell_ranger-hvg_on_all": {
        "hvg_flavor": "cell_ranger",
        "split": {"enabled": True, "group_by": "louvain", "seed": 5, "hvg_on_train": False},
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_four_shards_give_the_one_job_split_and_train_only_fits(tmp_path: Path, case: str) -> None:
    path, rare = _with_twins(tmp_path)
    params = {"min_genes": 200, "min_cells": 6, "n_top_genes": 300, **CASES[case]}
    streamed_options = _options(tmp_path, path, params, MemoryOptions(memory_budget_mb=1, chunk_cells=50))
    assert ooc.streaming_chunk(path, streamed_options) == 50  # the one-job path out of core
    one = tmp_path / "one"
    chain.process(chain.Job(path, None, tuple(MITO), "d", _outputs(one)), streamed_options)
    options = _options(tmp_path, path, params, None)
    sharded = tmp_path / "sharded"
    plan = shard.run_in_process(
        shard.Source(path, None, MITO, "d", options),
        shard.ShardOptions(shards=4, memory_budget_mb=None, chunk_cells=37),
        tmp_path / "work",
        _outputs(sharded),
    )
    assert len(plan.shards) == 4

    # the split column, the split and leakage sections of qc.json and the facts: byte for byte
    for name in FILES[1:]:
        assert (one / name).read_bytes() == (sharded / name).read_bytes(), name
    obs = pd.read_csv(sharded / "obs.tsv", sep="\t", index_col=0)
    assert set(obs["split"]) == {"train", "val", "test"}
    # every kept twin (two identical to their original over the kept genes only) is a repeat the
    # identical-cells check counted: the shards' keys are over the kept genes, as the one-job path's
    kept_twins = [name for name in obs.index if name.startswith("twin-") and name[5:] in obs.index]
    assert plan.n_cells == 712 and len(kept_twins) >= 10
    checks = json.loads((sharded / "qc.json").read_text())["leakage"]["checks"]
    (check,) = [c for c in checks if c["what"] == "identical cells"]
    counts = [value for key, value in check.items() if key.startswith(("repeats_within", "val_in", "test_in"))]
    assert sum(counts) == len(kept_twins)

    a, b = ad.read_h5ad(one / "processed.h5ad"), ad.read_h5ad(sharded / "processed.h5ad")
    assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
    assert ad.read_h5ad(path, backed="r").var_names[rare] not in set(b.var_names)  # the twins' extra gene
    assert a.var["highly_variable"].tolist() == b.var["highly_variable"].tolist()
    pd.testing.assert_frame_equal(a.obs, b.obs)  # with the split column
    pd.testing.assert_frame_equal(a.var, b.var, rtol=1e-6, atol=1e-6)
    for key in ("split", "hvg_fitted_on", "n_hvg"):
        assert a.uns["genoprep"].get(key) == b.uns["genoprep"].get(key), key
    assert ("hvg_fitted_on" in b.uns["genoprep"]) == CASES[case]["split"].get("hvg_on_train", True)
    assert abs(a.X - b.X).max() <= 1e-6
    x = np.load(sharded / "X.npy")
    np.testing.assert_allclose(x, np.load(one / "X.npy"), atol=1e-5, rtol=0)
    # X.npy scaled with the train rows' mean and std (ddof=1), recomputed here from processed.X
    train = (obs["split"] == "train").to_numpy()
    block = b.X[:, b.var["highly_variable"].to_numpy()].toarray().astype(np.float64)
    std = block[train].std(axis=0, ddof=1)
    std[std == 0] = 1
    np.testing.assert_allclose(x, np.clip((block - block[train].mean(axis=0)) / std, -10, 10), atol=1e-5, rtol=0)
    if case == "stratified-hvg_on_train":  # a rerun with the same plan: the same bytes
        again = tmp_path / "again"
        shard.run_in_process(
            shard.Source(path, None, MITO, "d", options),
            shard.ShardOptions(shards=4, memory_budget_mb=None, chunk_cells=37),
            tmp_path / "work_again",
            _outputs(again),
        )
        for name in (*FILES, "processed.h5ad"):
            assert (sharded / name).read_bytes() == (again / name).read_bytes(), name


def test_shard_cell_keys_are_the_kept_counts_keys_of_every_row(tmp_path: Path) -> None:
    """Per shard, one key per row over the kept genes: the kept rows' keys are leakage.cell_keys of the kept
    counts (what the one-job path digests), whatever the chunk; a twin differing only in a removed gene
    gets its original's key."""
    import h5py

    path, rare = _with_twins(tmp_path)
    adata = ad.read_h5ad(path)
    gene_kept = np.ones(adata.n_vars, dtype=bool)
    gene_kept[[rare, 5]] = False
    expected = leakage.cell_keys(adata.X[:, gene_kept].astype(np.float32))
    with h5py.File(path, "r") as handle:
        reader = ooc.RowReader(handle["X"], adata.n_vars)
        for start, stop, chunk in ((0, 712, 1000), (100, 712, 7), (690, 712, 3)):
            keys = shard.shard_cell_keys(reader, start, stop, chunk, gene_kept)
            assert keys.dtype == np.uint8 and keys.shape == (stop - start, 16)
            assert [row.tobytes() for row in keys] == expected[start:stop]
    twin = adata.obs_names.get_loc(f"twin-{adata.obs_names[0]}")
    assert expected[twin] == expected[0]  # one more count in the removed gene only
    assert leakage.cell_keys(adata.X[[0]])[0] != leakage.cell_keys(adata.X[[twin]])[0]


# ---- params.shards: auto (shards planned by size) ------------------------------------------------

#: 8 cells of 65,536 stored values each over 65,536 genes: a shard job's estimate is
#: int(1024 + 8 * 400 B + cells * 3 MiB + cells * 2 * 2000 * 4 B) MiB (resources.shard_mem_mb)
EVEN = np.arange(9, dtype=np.int64) * 65_536


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (1048, 1),  # 8 cells: 1024 + 24 + 0.12 -> 1048
        (1047, 2),  # 4 cells: 1024 + 12 + 0.06 -> 1036
        (1036, 2),
        (1035, 3),  # 3 of 8 cells in the largest shard: 1024 + 9 + 0.05 -> 1033
        (1033, 3),
        (1032, 4),  # 2 cells: 1030 (5, 6 and 7 shards still hold a shard of 2 cells)
        (1030, 4),
        (1029, 8),  # 1 cell: 1027
        (1027, 8),
    ],
)
def test_shards_by_size_are_the_fewest_that_fit_the_budget(budget: int, expected: int) -> None:
    assert shard.shards_by_size(EVEN, 65_536, budget) == expected


def test_shards_by_size_follow_the_largest_shard_and_refuse_a_budget_one_cell_exceeds() -> None:
    # one cell of 4 x 65,536 values first: 2 shards hold (4 cells, 7 x 65,536) and (4 cells, 4 x 65,536)
    heavy = np.concatenate([[0], np.cumsum([4 * 65_536] + [65_536] * 7)]).astype(np.int64)
    assert shard.shards_by_size(heavy, 65_536, 1045) == 2  # 1024 + 21 + 0.06 -> 1045
    assert shard.shards_by_size(heavy, 65_536, 1044) == 3  # (0, 2): 5 x 65,536 -> 1039
    # the heavy cell alone (1024 + 12 -> 1036): 5 shards are the fewest (boundaries (0, 1), (1, 3), ...)
    assert shard.shards_by_size(heavy, 65_536, 1036) == 5
    with pytest.raises(ValueError, match="1036 MiB even with one cell per shard"):
        shard.shards_by_size(heavy, 65_536, 1035)  # more shards than cells would not help
    assert shard.shards_by_size(EVEN[:2], 65_536, 1027) == 1  # a single cell
    with pytest.raises(ValueError, match="one cell per shard"):
        shard.shards_by_size(EVEN, 65_536, 1026)


def test_plan_auto_on_a_real_file_cuts_shards_whose_jobs_fit_the_budget(tmp_path: Path) -> None:
    """The plan job with ``params.shards: auto``: from the input's row pointers, the fewest shards whose
    every job's estimate (resources.shard_mem_mb) fits the budget; one shard fewer would not fit."""
    import h5py

    from genoprep.scrna import resources

    path = shared_data("scrna", PBMC68K)
    with h5py.File(path, "r") as handle:
        indptr = handle["X/indptr"][...].astype(np.int64)
    n_cells, n_genes = indptr.size - 1, 765

    def worst(n_shards: int) -> int:
        sizes = [
            resources.InputSize(b - a, n_genes, int(indptr[b] - indptr[a]))
            for a, b in shard.boundaries(n_cells, n_shards)
        ]
        return max(resources.shard_mem_mb(size, n_cells, 1) for size in sizes)

    budget = worst(3)
    assert worst(2) > budget  # the data need 3 shards at this budget
    options = _options(tmp_path, path, {"shards": "auto", "memory_budget_mb": budget}, None)
    plan = shard.plan(path, options, shard.ShardOptions("auto", budget, None), tmp_path / "plan.json")
    assert [(s.start, s.stop) for s in plan.shards] == shard.boundaries(n_cells, 3)
    assert sum(s.nnz for s in plan.shards) == indptr[-1]
    assert all(shard.shard_mem_mb(tmp_path / "plan.json", i, 1) <= budget for i in range(3))
    with pytest.raises(InputError, match="params.shards auto: params.memory_budget_mb 1000"):
        shard.plan(path, options, shard.ShardOptions("auto", 1000, None), tmp_path / "refused.json")
