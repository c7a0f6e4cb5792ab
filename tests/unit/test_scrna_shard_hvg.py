"""Per-batch HVG statistics across shards (genoprep.scrna.ooc_hvg.BatchHvg's states, merged by
genoprep.scrna.shard): random counts cut into 1, 2 and 4 row ranges, each range's state written to an
``.npz`` and read back, merged in order, must select what one BatchHvg fed every row selects (integer
statistics exactly, floats within 1e-9); and the sharded chain in one process on real converted inputs
against the one-job chain in memory (which calls scanpy), rerun to the same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.scrna import ooc_hvg, preprocess, shard

N_CELLS, N_GENES, SLOTS, CHUNK = 360, 150, 3, 37


def random_data(seed: int) -> tuple[sparse.csr_matrix, sparse.csr_matrix, pd.DataFrame]:
    """Counts (gamma-Poisson, genes of very different means), their log-normalised values, and ``obs`` with
    three batches of different sizes in shuffled order."""
    rng = np.random.default_rng(seed)
    means = rng.gamma(0.6, 3.0, size=N_GENES)
    dense = rng.poisson(rng.gamma(2.0, means / 2.0, size=(N_CELLS, N_GENES))).astype(np.float32)
    counts = sparse.csr_matrix(dense)
    x = preprocess.normalize_log1p(counts.copy(), 1e4)
    batch = rng.permutation(np.repeat(["b", "a", "c"], [150, 120, 90]))
    return counts, x, pd.DataFrame({"batch": batch}, index=[f"cell{i}" for i in range(N_CELLS)])


def one_object(flavor: str, key: str | None, counts, x, obs: pd.DataFrame) -> ooc_hvg.BatchHvg:
    """Every row into one BatchHvg, chunk by chunk, as the one-job out-of-core path feeds it."""
    hvg = ooc_hvg.BatchHvg(flavor, key, obs, N_GENES, SLOTS)
    for row in range(0, N_CELLS, CHUNK):
        hvg.add(row, counts[row : row + CHUNK], x[row : row + CHUNK])
    if hvg.needs_clip_pass:
        hvg.start_clip_pass()
        for row in range(0, N_CELLS, CHUNK):
            hvg.add_clipped(row, counts[row : row + CHUNK])
    return hvg


def through_npz(arrays: dict[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    shard._save(path, arrays)
    return shard._npz(path)


def merged_from_ranges(
    flavor: str, key: str | None, counts, x, obs: pd.DataFrame, n_ranges: int, tmp: Path
) -> ooc_hvg.BatchHvg:
    """Each row range in its own BatchHvg (from the batch codes, as a shard job builds it), its state
    through an .npz; the states merged in order; for seurat_v3 the clip values from the merged sums and
    each range's clipped sums, merged the same way."""
    _, codes = ooc_hvg.batch_codes(flavor, key, obs)
    n_batches = int(codes.max()) + 1

    def range_object(start: int) -> ooc_hvg.BatchHvg:
        hvg = ooc_hvg.BatchHvg.from_codes(flavor, key, codes, n_batches, N_GENES, SLOTS)
        hvg.start_at(start)
        return hvg

    ranges = shard.boundaries(N_CELLS, n_ranges)
    states = []
    for i, (start, stop) in enumerate(ranges):
        hvg = range_object(start)
        for row in range(start, stop, CHUNK):
            last = min(row + CHUNK, stop)
            hvg.add(row, counts[row:last], x[row:last])
        # as the sums job writes it: beside GeneSums' own arrays, whose names must not collide
        sums = {"hvg_sums": np.zeros(3), **shard._prefixed(hvg.state())}
        states.append(through_npz(sums, tmp / f"sums_{n_ranges}_{i}.npz"))

    merged = ooc_hvg.BatchHvg(flavor, key, obs, N_GENES, SLOTS)
    shard.merge_hvg_states(merged, states)
    if merged.needs_clip_pass:
        fitted = ooc_hvg.BatchHvg(flavor, key, obs, N_GENES, SLOTS)  # the clip_values job
        shard.merge_hvg_states(fitted, states)
        fitted.start_clip_pass()
        clip = through_npz(fitted.clip_values(), tmp / f"clip_{n_ranges}.npz")
        merged.use_clip_values(clip)
        for i, (start, stop) in enumerate(ranges):  # the clip jobs
            hvg = range_object(start)
            hvg.use_clip_values(clip)
            hvg.add_clipped(start, counts[start:stop])
            merged.merge_clipped(through_npz(hvg.clipped_state(), tmp / f"clipped_{n_ranges}_{i}.npz"))
        assert not merged.needs_clip_pass
    return merged


CASES = {
    "seurat_v3": ("seurat_v3", None),
    "seurat_v3-batch": ("seurat_v3", "batch"),
    "seurat_v3_paper-batch": ("seurat_v3_paper", "batch"),
    "seurat-batch": ("seurat", "batch"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_merged_range_states_select_what_one_object_over_all_rows_selects(tmp_path: Path, case: str) -> None:
    flavor, key = CASES[case]
    counts, x, obs = random_data(11)
    one = one_object(flavor, key, counts, x, obs)
    expected = pd.DataFrame(index=[f"g{i}" for i in range(N_GENES)])
    one.select(expected, 40)
    assert expected["highly_variable"].sum() == 40
    for n_ranges in (1, 2, 4):
        merged = merged_from_ranges(flavor, key, counts, x, obs, n_ranges, tmp_path)
        # integer statistics exactly, float sums within 1e-9
        np.testing.assert_array_equal(merged.expressed, one.expressed)
        np.testing.assert_allclose(merged.sums, one.sums, rtol=1e-9, atol=0)
        np.testing.assert_allclose(merged.squares, one.squares, rtol=1e-9, atol=0)
        if n_ranges == 1:  # nothing to add up in another order: the same bits
            np.testing.assert_array_equal(merged.sums, one.sums)
        if one.counts_flavor:
            np.testing.assert_allclose(merged.clip, one.clip, rtol=1e-9)
            np.testing.assert_allclose(merged.clipped_sums, one.clipped_sums, rtol=1e-9)
            np.testing.assert_allclose(merged.clipped_squares, one.clipped_squares, rtol=1e-9)
        got = pd.DataFrame(index=expected.index)
        merged.select(got, 40)
        assert list(got.columns) == list(expected.columns)
        for column in got.columns:
            a, b = expected[column].to_numpy(), got[column].to_numpy()
            if a.dtype.kind in "biu":
                np.testing.assert_array_equal(b, a, err_msg=f"{n_ranges} ranges: {column}")
            else:
                np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12, err_msg=f"{n_ranges} ranges: {column}")
    if key is not None:
        assert expected["highly_variable_nbatches"].max() > 1 and expected["highly_variable_nbatches"].min() == 0


def test_the_ranges_are_plain_npz_arrays_and_the_counts_stay_integers(tmp_path: Path) -> None:
    counts, x, obs = random_data(3)
    hvg = ooc_hvg.BatchHvg("seurat", "batch", obs, N_GENES, SLOTS)
    hvg.start_at(100)
    hvg.add(100, counts[100:200], x[100:200])
    state = through_npz(shard._prefixed(hvg.state()), tmp_path / "s.npz")
    assert {k: v.dtype.kind for k, v in state.items()} == {
        "batch_hvg_rows": "i",
        "batch_hvg_sums": "f",
        "batch_hvg_squares": "f",
        "batch_hvg_expressed": "i",
    }
    np.testing.assert_array_equal(state["batch_hvg_rows"], [100, 200])
    dense = counts[100:200].toarray()
    codes = ooc_hvg.batch_codes("seurat", "batch", obs)[1][100:200]
    for b in range(3):  # cells of batch b with a value, per gene: a plain count
        np.testing.assert_array_equal(state["batch_hvg_expressed"][b], (dense[codes == b] > 0).sum(axis=0))


def test_ranges_that_are_missing_repeated_or_out_of_order_are_refused() -> None:
    counts, x, obs = random_data(5)
    states = []
    for start, stop in shard.boundaries(N_CELLS, 3):
        hvg = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, SLOTS)
        hvg.start_at(start)
        hvg.add(start, counts[start:stop], x[start:stop])
        states.append(shard._prefixed(hvg.state()))
    with pytest.raises(ValueError, match="do not follow"):
        shard.merge_hvg_states(ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, SLOTS), [states[1]])
    with pytest.raises(ValueError, match="do not follow"):
        shard.merge_hvg_states(ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, SLOTS), [states[0], states[0]])
    incomplete = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, SLOTS)
    shard.merge_hvg_states(incomplete, states[:2])
    with pytest.raises(ValueError, match=f"not of all {N_CELLS} rows"):
        incomplete.start_clip_pass()
    other_slots = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, SLOTS + 1)
    with pytest.raises(ValueError, match="sums"):
        shard.merge_hvg_states(other_slots, states[:1])
    skipping = ooc_hvg.BatchHvg("seurat_v3", None, obs, N_GENES, SLOTS)
    skipping.add(0, counts[:10], x[:10])
    with pytest.raises(ValueError, match="rows from 20"):
        skipping.add(20, counts[20:30], x[20:30])


REAL = {  # file, format, columns, params: converted inputs, per-batch and clipped HVG statistics, a split
    "10x-seurat_v3": (
        "pbmc_10x_v3_chr21_filtered_feature_bc_matrix",
        "10x_mtx",
        {},
        {"min_genes": 5, "n_top_genes": 100, "hvg_flavor": "seurat_v3"},
    ),
    "loom-cell_ranger-batch": (
        "starmap_mouse_mpfc_3704cells_celltypes.loom",
        "loom",
        {"cell_type": "Clusters", "batch": "BatchID"},
        {"min_genes": 10, "max_genes": None, "n_top_genes": 50, "hvg_flavor": "cell_ranger", "hvg_batch_key": "batch"},
    ),
    # the HVG statistics of the train rows only (hvg_on_train), per batch, with the clip pass
    "h5ad-seurat_v3-batch-split": (
        "onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad",
        "h5ad",
        {},
        {
            "min_genes": 50,
            "n_top_genes": 200,
            "hvg_flavor": "seurat_v3",
            "hvg_batch_key": "cell_type",
            "split": {"enabled": True, "group_by": "indiv", "seed": 5},
        },
    ),
}


@pytest.mark.parametrize("case", sorted(REAL))
def test_four_shards_in_process_equal_the_one_job_chain(tmp_path: Path, case: str) -> None:
    """The shard jobs' functions in order (conversion, clip jobs, split) against chain.process in memory; a
    rerun gives the same bytes."""
    import anndata as ad

    from genoprep.cards import load_card
    from genoprep.scrna import chain
    from tests.conftest import shared_data, write_card
    from tests.unit.test_scrna_ooc import FILES, MITO, _outputs

    name, fmt, columns, params = REAL[case]
    path = shared_data("scrna", name)
    card = {"dataset_id": "d", "name": "t", "modality": "scrna", "input": {"path": str(path), "format": fmt}}
    card |= {"columns": columns, "params": params}
    options = chain.ChainOptions.from_card(load_card(write_card(tmp_path / "cards", card)).data, None)
    one = tmp_path / "one"
    chain.process(chain.Job(path, None, tuple(MITO), "d", _outputs(one)), options)
    for run in ("sharded", "rerun"):
        shard.run_in_process(
            shard.Source(path, None, MITO, "d", options),
            shard.ShardOptions(shards=4, memory_budget_mb=None, chunk_cells=97),
            tmp_path / f"work_{run}",
            _outputs(tmp_path / run),
        )
    work = tmp_path / "work_sharded"
    assert (work / "input.h5ad").exists() == (fmt != "h5ad")
    assert (work / "clipped_3.npz").exists() == (params["hvg_flavor"] == "seurat_v3")
    a, b = ad.read_h5ad(one / "processed.h5ad"), ad.read_h5ad(tmp_path / "sharded" / "processed.h5ad")
    assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
    assert a.var["highly_variable"].tolist() == b.var["highly_variable"].tolist()
    assert a.var["highly_variable"].sum() == params["n_top_genes"]
    pd.testing.assert_frame_equal(a.obs, b.obs)
    pd.testing.assert_frame_equal(a.var, b.var, rtol=1e-9, atol=1e-12)
    assert (a.layers["counts"] != b.layers["counts"]).nnz == 0
    assert abs(a.X - b.X).max() <= 1e-6
    np.testing.assert_allclose(np.load(tmp_path / "sharded" / "X.npy"), np.load(one / "X.npy"), atol=1e-5, rtol=0)
    for file in FILES[1:]:
        assert (one / file).read_bytes() == (tmp_path / "sharded" / file).read_bytes(), file
    for file in (*FILES, "processed.h5ad"):  # a rerun with the same plan: the same bytes
        assert (tmp_path / "sharded" / file).read_bytes() == (tmp_path / "rerun" / file).read_bytes(), file
