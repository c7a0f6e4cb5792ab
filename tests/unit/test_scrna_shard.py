"""The merge functions of the sharded scRNA-seq chain (genoprep/scrna/shard.py) against plain numpy on
random matrices; the real-data comparison with the one-job run is tests/e2e/test_scrna_shard.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna import ooc, preprocess, resources, shard
from genoprep.scrna.options import QcOptions


def random_counts(seed: int, n_cells: int = 90, n_genes: int = 40) -> sparse.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.poisson(rng.gamma(0.3, 2.0, size=(n_cells, n_genes))).astype(np.float32)
    dense[rng.random(n_cells) < 0.1] = 0  # a few empty cells
    return sparse.csr_matrix(dense)


def test_boundaries_cover_every_row_once_in_near_equal_shards() -> None:
    assert shard.boundaries(700, 4) == [(0, 175), (175, 350), (350, 525), (525, 700)]
    assert shard.boundaries(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert shard.boundaries(2, 5) == [(0, 1), (1, 2)]  # never an empty shard
    for n_cells, n_shards in ((1, 1), (97, 7), (1000, 13)):
        ranges = shard.boundaries(n_cells, n_shards)
        rows = np.concatenate([np.arange(a, b) for a, b in ranges])
        assert np.array_equal(rows, np.arange(n_cells))
        sizes = [b - a for a, b in ranges]
        assert max(sizes) - min(sizes) <= 1


def test_merge_counts_sums_integers_exactly_and_refuses_floats() -> None:
    rng = np.random.default_rng(3)
    parts = [rng.integers(0, 2**40, size=50, dtype=np.int64) for _ in range(4)]
    merged = shard.merge_counts(parts)
    assert merged.dtype == np.int64 and np.array_equal(merged, np.sum(parts, axis=0))
    with pytest.raises(TypeError):
        shard.merge_counts([np.ones(3, dtype=np.float64)])


@pytest.mark.parametrize("flavor", ["seurat", "cell_ranger"])
def test_shard_sums_merged_equal_plain_numpy_over_all_rows(flavor: str) -> None:
    counts = random_counts(7)
    x = preprocess.normalize_log1p(counts.copy(), 1e4)
    n_cells, n_genes = counts.shape
    fit = np.random.default_rng(1).random(n_cells) < 0.7
    slots = 3
    parts = []
    for start, stop in shard.boundaries(n_cells, 4):
        sums = ooc.GeneSums(n_genes, slots)
        for first in range(start, stop, 10):  # chunks of 10 rows inside the shard
            last = min(first + 10, stop)
            sums.add(first, counts[first:last], x[first:last], fit[first:last], flavor)
        parts.append(sums.arrays())
    merged = shard.merge_sums(n_genes, slots, parts)

    dense_counts, dense_x = counts.toarray().astype(np.float64), x.toarray().astype(np.float64)
    assert merged.cells_with.dtype == np.int64
    assert np.array_equal(merged.cells_with, (dense_counts > 0).sum(axis=0))
    np.testing.assert_allclose(merged.gene_total, dense_counts.sum(axis=0), rtol=1e-12)
    values = np.expm1(dense_x) if flavor == "seurat" else dense_x
    for slot in range(slots):
        rows = np.arange(n_cells) % slots == slot
        np.testing.assert_allclose(merged.moments.sums[slot], values[rows].sum(axis=0), rtol=1e-5)
    mean, var = merged.moments.mean_var(n_cells)
    np.testing.assert_allclose(mean, values.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(var, values.var(axis=0, ddof=1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(merged.scale_total, dense_x[fit].sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(merged.scale_squares, (dense_x[fit] ** 2).sum(axis=0), rtol=1e-6)


def test_merging_sums_of_another_shape_or_type_is_refused() -> None:
    sums = ooc.GeneSums(5, 2)
    other = ooc.GeneSums(5, 3).arrays()
    with pytest.raises(ValueError, match="hvg_sums"):
        sums.merge(other)
    wrong = {**ooc.GeneSums(5, 2).arrays(), "cells_with": np.zeros(5, dtype=np.float64)}
    with pytest.raises(ValueError, match="cells_with"):
        sums.merge(wrong)


def _metrics(counts: sparse.csr_matrix, min_genes: int) -> list[dict[str, np.ndarray]]:
    """Each shard's pass-1 arrays computed the plain way (no kernels)."""
    dense = counts.toarray()
    parts = []
    for start, stop in shard.boundaries(counts.shape[0], 4):
        block = dense[start:stop]
        genes = (block > 0).sum(axis=1).astype(np.int64)
        passed = genes >= min_genes
        parts.append(
            {
                "genes": genes,
                "total": block.sum(axis=1).astype(np.float64),
                "mito": np.zeros(stop - start),
                "cells_per_gene": (block[passed] > 0).sum(axis=0).astype(np.int64),
                "value_error": np.array(""),
            }
        )
    return parts


def test_decide_genes_keeps_the_genes_enough_passing_cells_detect() -> None:
    counts = random_counts(11, n_cells=120, n_genes=60)
    options = QcOptions(
        min_genes=15,
        min_cells=20,
        max_genes=None,
        max_pct_mito=None,
        mito_prefixes=("MT-",),
        mito_genes=(),
        min_fraction_kept=0.0,
    )
    dense = counts.toarray()
    passed = (dense > 0).sum(axis=1) >= 15
    expected = (dense[passed] > 0).sum(axis=0) >= 20
    assert 0 < expected.sum() < 60  # the filter does something here
    kept = shard.decide_genes(60, np.zeros(60, dtype=bool), options, _metrics(counts, 15))
    assert np.array_equal(kept, expected)


def test_the_lowest_ranked_value_problem_of_the_first_shard_is_raised() -> None:
    parts = _metrics(random_counts(2), 1)
    assert shard.raise_value_error(parts) is None
    parts[1]["value_error"] = np.array(json.dumps([2, "in.h5ad", "a fraction 0.5 in a count matrix", "cell 9"]))
    parts[2]["value_error"] = np.array(json.dumps([1, "in.h5ad", "a negative value -1", "cell 50"]))
    parts[3]["value_error"] = np.array(json.dumps([1, "in.h5ad", "a negative value -3", "cell 80"]))
    with pytest.raises(InputError) as caught:
        shard.raise_value_error(parts)
    assert str(caught.value) == str(InputError("in.h5ad", "a negative value -1", record="cell 50"))


def test_plan_round_trips_and_sizes_shard_jobs_from_their_stored_values(tmp_path) -> None:
    plan = shard.Plan(100, 50, 2, (shard.Shard(0, 50, 1_000_000), shard.Shard(50, 100, 9_000_000)))
    path = tmp_path / "plan.json"
    plan.write(path)
    assert shard.Plan.read(path) == plan
    small, big = shard.shard_mem_mb(path, 0, 1), shard.shard_mem_mb(path, 1, 1)
    assert big - small == int(8_000_000 * 48 / 2**20) or big - small == int(8_000_000 * 48 / 2**20) + 1
    assert shard.shard_mem_mb(path, None, 1) == big  # a reduce job holds its largest shard
    assert shard.shard_mem_mb(path, 1, 2) >= 2 * big - 1
    assert resources.shard_runtime(plan.size(1), 1) == 10 + 4


REAL = {
    "onek1k-seurat": (
        "onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad",
        {"min_genes": 50, "n_top_genes": 1000},
    ),
    "pbmc5k-cell_ranger": (
        "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad",
        {"max_pct_mito": 10, "hvg_flavor": "cell_ranger", "n_top_genes": 500},
    ),
}


@pytest.mark.parametrize("case", sorted(REAL))
def test_four_shards_in_process_equal_the_one_job_chain_and_rerun_to_the_same_bytes(tmp_path, case: str) -> None:
    """The shard jobs' functions in order (no snakemake) on real data, against chain.process in memory."""
    import anndata as ad
    import pandas as pd

    from genoprep.scrna import chain
    from tests.conftest import shared_data
    from tests.unit.test_scrna_ooc import FILES, MITO, _options, _outputs

    name, params = REAL[case]
    path = shared_data("scrna", name)
    options = _options(tmp_path, path, params, None)
    one = tmp_path / "one"
    chain.process(chain.Job(path, None, tuple(MITO), "d", _outputs(one)), options)
    shard_options = shard.ShardOptions(shards=4, memory_budget_mb=None, chunk_cells=97)
    runs = []
    for run in ("first", "second"):
        outputs = _outputs(tmp_path / run)
        plan = shard.run_in_process(
            shard.Source(path, None, MITO, "d", options), shard_options, tmp_path / f"work_{run}", outputs
        )
        runs.append(tmp_path / run)
    assert len(plan.shards) == 4 and plan.shards[-1].stop == plan.n_cells
    first, second = runs

    a, b = ad.read_h5ad(one / "processed.h5ad"), ad.read_h5ad(first / "processed.h5ad")
    assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
    assert a.var["highly_variable"].tolist() == b.var["highly_variable"].tolist()
    pd.testing.assert_frame_equal(a.obs, b.obs)
    assert a.var["n_cells_by_counts"].tolist() == b.var["n_cells_by_counts"].tolist()
    pd.testing.assert_frame_equal(a.var, b.var, rtol=1e-6, atol=1e-6)
    assert (a.layers["counts"] != b.layers["counts"]).nnz == 0
    assert abs(a.X - b.X).max() <= 1e-6
    np.testing.assert_allclose(np.load(first / "X.npy"), np.load(one / "X.npy"), atol=1e-5, rtol=0)
    for file in FILES[1:]:
        assert (one / file).read_bytes() == (first / file).read_bytes(), file
    for file in (*FILES, "processed.h5ad"):
        assert (first / file).read_bytes() == (second / file).read_bytes(), file


def test_the_plan_refuses_only_what_the_one_job_out_of_core_path_cannot_stream(tmp_path) -> None:
    """Every HVG flavor, batch key and split the one-job out-of-core path streams is sharded too (no
    refusal); a matrix stored by columns is not streamed: the plan job stops with one line naming it."""
    import anndata as ad

    from tests.conftest import shared_data
    from tests.unit.test_scrna_ooc import _options

    path = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    split = {"enabled": True, "stratify_by": "bulk_labels", "seed": 3}
    for params in ({"hvg_flavor": "seurat_v3"}, {"hvg_batch_key": "bulk_labels"}, {"split": split}):
        assert shard.unsupported(path, _options(tmp_path, path, params, None)) is None
    by_columns = ad.read_h5ad(path)
    by_columns.X = sparse.csc_matrix(by_columns.X)
    csc = tmp_path / "csc.h5ad"
    by_columns.write_h5ad(csc)
    options = _options(tmp_path, csc, {}, None)
    reason = shard.unsupported(csc, options)
    assert reason is not None and reason == ooc.unsupported(csc, options.ingest, options.hvg) and "csc" in reason
    out = tmp_path / "plan.json"
    with pytest.raises(InputError) as refused:
        shard.plan(csc, options, shard.ShardOptions(shards=2, memory_budget_mb=None, chunk_cells=None), out)
    assert str(refused.value) == f"{csc}: params.shards 2 cannot take {reason}; set params.shards: 1"
    assert not out.exists()
