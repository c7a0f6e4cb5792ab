"""Killers for the mutants of genoprep/scrna/augment.py: downsampling and doublets by hand
(issue 16; docs/testing.md).

The `scrna_augment` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is
hand-computed or re-implemented here in plain numpy (never genoprep's own output).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.errors import InputError


def _small_counts() -> sparse.csr_matrix:
    # cell 2 is empty (no draw may be spent on it); integer counts stored as float32
    return sparse.csr_matrix(
        np.array([[5, 0, 3, 1], [0, 0, 0, 0], [2, 7, 0, 0], [0, 1, 1, 9], [4, 4, 0, 2]], dtype=np.float32)
    )


def _cells(labels: bool = True):  # type: ignore[no-untyped-def]
    from genoprep.scrna.augment import SplitCells

    counts = _small_counts()
    splits = ["train", "val", "train", "train", "test"]  # val and test have one cell each: no doublets there
    return SplitCells.of(counts, [f"c{i}" for i in range(5)], splits, [f"t{i}" for i in range(5)] if labels else None)


def _processed(path, *, counts: bool = True, split: bool = True, label: bool = True):  # type: ignore[no-untyped-def]
    matrix = _small_counts()
    adata = ad.AnnData(X=matrix.copy())
    adata.obs_names = [f"c{i}" for i in range(5)]
    adata.var_names = ["g0", "g1", "g2", "g3"]
    if counts:
        adata.layers["counts"] = matrix.copy()
    if split:
        adata.obs["split"] = pd.Categorical(["train", "val", "train", "train", "test"])
    if label:
        adata.obs["cell_type"] = [f"t{i}" for i in range(5)]
    adata.write_h5ad(path)
    return path


def test_binomial_thinning_is_numpys_binomial_of_each_stored_count() -> None:
    from genoprep.scrna.augment import binomial_thinning

    counts = _small_counts()
    expected = np.random.default_rng(11).binomial(counts.data.astype(np.int64), 0.4)
    dense = np.zeros(counts.shape)
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    dense[rows, counts.indices] = expected
    result = binomial_thinning(counts, 0.4, seed=11)
    np.testing.assert_array_equal(result.toarray(), dense)
    assert result.dtype == np.float32 and (result.data != 0).all()
    assert result.indices is not counts.indices  # the input keeps its own structure
    np.testing.assert_array_equal(counts.toarray(), _small_counts().toarray())


@pytest.mark.parametrize("factor", [0.0, -0.5, 1.0001])
def test_downsampling_factor_outside_0_1_is_refused(factor: float) -> None:
    from genoprep.scrna.augment import binomial_thinning, fixed_depth

    for function in (binomial_thinning, fixed_depth):
        with pytest.raises(ValueError) as caught:
            function(_small_counts(), factor, seed=0)
        assert str(caught.value) == f"downsampling factor must be in (0, 1], not {factor}"


def test_thinning_refuses_negative_counts_and_dense_input_whole_message() -> None:
    from genoprep.scrna.augment import binomial_thinning, fixed_depth

    with pytest.raises(ValueError) as caught:
        binomial_thinning(sparse.csr_matrix(np.array([[-1.0, 2.0]])), 0.5, seed=0)
    assert str(caught.value) == "binomial thinning needs non-negative integer counts"
    for function in (binomial_thinning, fixed_depth):
        with pytest.raises(TypeError) as dense:
            function(np.ones((2, 2)), 0.5, seed=0)
        assert str(dense.value) == "augmentation works on sparse (CSR) counts; got a dense matrix"
    empty = binomial_thinning(sparse.csr_matrix((3, 2), dtype=np.float32), 0.5, seed=0)  # no stored values: fine
    assert empty.shape == (3, 2) and empty.nnz == 0
    # 0 counts are integers: accepted (a stored zero stays absent)
    zero = binomial_thinning(sparse.csr_matrix((np.array([0.0, 2.0]), np.array([0, 1]), np.array([0, 2]))), 1.0, 0)
    np.testing.assert_array_equal(zero.toarray(), [[0, 2]])
    assert zero.nnz == 1


def test_fixed_depth_is_a_multinomial_per_non_empty_cell_in_order() -> None:
    from genoprep.scrna.augment import fixed_depth

    counts = _small_counts()
    dense = counts.toarray().astype(np.float64)
    rng = np.random.default_rng(4)
    expected = np.zeros_like(dense)
    for i, row in enumerate(dense):
        depth = row.sum()
        if depth == 0:
            continue  # an empty cell takes no draw
        genes = np.flatnonzero(row)
        n = int(np.floor(0.5 * depth + 0.5))  # depths 9, 9, 11, 10 -> 5 (4.5 rounds up), 5, 6, 5
        expected[i, genes] = rng.multinomial(n, row[genes] / depth)
    result = fixed_depth(counts, 0.5, seed=4)
    np.testing.assert_array_equal(result.toarray(), expected)
    assert result.dtype == np.float32 and (result.data != 0).all()
    np.testing.assert_array_equal(np.asarray(result.sum(axis=1)).ravel(), [5, 0, 5, 6, 5])


def test_make_doublets_by_reimplementation() -> None:
    from genoprep.scrna.augment import make_doublets

    cells = _cells()
    rng = np.random.default_rng(8)
    members = np.array([0, 2, 3])
    pairs = [tuple(rng.choice(members, size=2, replace=False)) for _ in range(4)]
    dense = _small_counts().toarray()
    matrix, obs = make_doublets(cells, per_split=4, combine="sum", seed=8)
    np.testing.assert_array_equal(matrix.toarray(), [dense[a] + dense[b] for a, b in pairs])
    assert matrix.has_sorted_indices
    assert list(obs.columns) == ["split", "parent_1", "parent_2", "label_1", "label_2", "is_doublet"]
    assert list(obs.index) == ["doublet_0", "doublet_1", "doublet_2", "doublet_3"] and obs.index.name == "cell_id"
    assert list(obs["parent_1"]) == [f"c{a}" for a, _ in pairs] and list(obs["parent_2"]) == [f"c{b}" for _, b in pairs]
    assert list(obs["label_1"]) == [f"t{a}" for a, _ in pairs] and list(obs["label_2"]) == [f"t{b}" for _, b in pairs]
    assert list(obs["split"]) == ["train"] * 4 and obs["is_doublet"].tolist() == [True] * 4
    mean, _ = make_doublets(cells, per_split=4, combine="mean", seed=8)
    np.testing.assert_array_equal(mean.toarray(), np.array([dense[a] + dense[b] for a, b in pairs]) / 2)
    assert mean.dtype == np.float32  # halves of counts are exact in float32; scipy's "/ 2" gave float64
    unlabelled, plain = make_doublets(_cells(False), per_split=1, combine="sum", seed=8)
    assert list(plain.columns) == ["split", "parent_1", "parent_2", "is_doublet"]
    none, no_obs = make_doublets(cells, per_split=0, combine="sum", seed=8)
    assert none.shape == (0, 4) and len(no_obs) == 0


def test_make_doublets_two_cells_are_enough_and_combine_is_checked() -> None:
    from genoprep.scrna.augment import SplitCells, make_doublets

    cells = SplitCells.of(_small_counts(), list("abcde"), ["val", "val", "test", "x", "x"])
    matrix, obs = make_doublets(cells, per_split=2, combine="sum", seed=1)
    assert list(obs["split"]) == ["val", "val"]  # the split named x is none of train/val/test
    assert {frozenset(p) for p in zip(obs["parent_1"], obs["parent_2"])} == {frozenset("ab")}
    with pytest.raises(ValueError) as caught:
        make_doublets(cells, per_split=2, combine="max", seed=1)
    assert str(caught.value) == "combine must be sum or mean, not 'max'"


def test_with_singlets_table_by_hand() -> None:
    from genoprep.scrna.augment import make_doublets, with_singlets

    cells = _cells()
    doublets, obs = make_doublets(cells, per_split=1, combine="sum", seed=2)
    matrix, table = with_singlets(cells, doublets, obs)
    assert list(table.columns) == ["split", "parent_1", "parent_2", "label_1", "label_2", "is_doublet"]
    assert list(table.index) == ["c0", "c1", "c2", "c3", "c4", "doublet_0"] and table.index.name == "cell_id"
    assert list(table["parent_1"][:5]) == ["c0", "c1", "c2", "c3", "c4"]
    assert list(table["parent_2"][:5]) == [""] * 5 and list(table["label_2"][:5]) == [""] * 5
    assert list(table["label_1"][:5]) == ["t0", "t1", "t2", "t3", "t4"]
    assert list(table["is_doublet"]) == [False] * 5 + [True]
    assert list(table["split"][:5]) == ["train", "val", "train", "train", "test"]
    np.testing.assert_array_equal(matrix.toarray(), np.vstack([_small_counts().toarray(), doublets.toarray()]))
    assert matrix.dtype == np.float32  # sums of float32 counts stay float32 (no float64 copy of the cells)
    _, plain = with_singlets(_cells(False), *make_doublets(_cells(False), per_split=1, combine="sum", seed=2))
    assert list(plain.columns) == ["split", "parent_1", "parent_2", "is_doublet"]


def test_descriptions_by_hand() -> None:
    from genoprep.scrna.augment import doublets_description, downsample_description

    assert (
        downsample_description({"mode": "fixed", "factor": 0.25, "seed": 7})
        == "fixed downsampling, factor 0.25, seed 7"
    )
    assert (
        doublets_description({"per_split": 3, "combine": "mean", "seed": 9})
        == "3 doublets per split (mean of two cells of one split), seed 9"
    )


def test_write_augmented_fixed_mode_labels_and_facts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from genoprep.scrna.augment import fixed_depth, write_augmented

    cells = _cells()
    var = pd.DataFrame(index=["g0", "g1", "g2", "g3"])
    down = {"enabled": True, "mode": "fixed", "factor": 0.5, "seed": 4}
    doub = {"enabled": True, "per_split": 2, "combine": "mean", "seed": 3}
    facts = write_augmented(
        cells, var, down, doub, downsampled_path=tmp_path / "d.h5ad", doublets_path=tmp_path / "b.h5ad"
    )
    assert facts == {
        "downsampled": {
            "description": "fixed downsampling, factor 0.5, seed 4",
            "n_counts_before": 39,
            "n_counts_after": 21,
        },
        "doublets": {"description": "2 doublets per split (mean of two cells of one split), seed 3", "n_doublets": 2},
    }
    written = ad.read_h5ad(tmp_path / "d.h5ad")
    np.testing.assert_array_equal(written.X.toarray(), fixed_depth(_small_counts(), 0.5, 4).toarray())
    assert list(written.obs["label"]) == ["t0", "t1", "t2", "t3", "t4"]
    assert list(written.obs.columns) == ["split", "label"]
    assert written.uns["genoprep_augmentation"] == "fixed downsampling, factor 0.5, seed 4"
    assert list(written.var_names) == ["g0", "g1", "g2", "g3"]
    doublets = ad.read_h5ad(tmp_path / "b.h5ad")
    assert doublets.n_obs == 7
    dense = doublets.X.toarray()  # the original cells, then 2 train doublets: the mean of two train cells each
    np.testing.assert_array_equal(dense[:5], _small_counts().toarray())
    parents = [(int(a[1:]), int(b[1:])) for a, b in zip(doublets.obs["parent_1"][5:], doublets.obs["parent_2"][5:])]
    np.testing.assert_array_equal(dense[5:], [(dense[a] + dense[b]) / 2 for a, b in parents])
    assert doublets.uns["genoprep_augmentation"] == "2 doublets per split (mean of two cells of one split), seed 3"
    off = write_augmented(
        cells,
        var,
        {**down, "enabled": False},
        {**doub, "enabled": False},
        downsampled_path=tmp_path / "x.h5ad",
        doublets_path=tmp_path / "y.h5ad",
    )
    assert off == {} and not (tmp_path / "x.h5ad").exists() and not (tmp_path / "y.h5ad").exists()
    only_paths = write_augmented(cells, var, down, doub, downsampled_path=None, doublets_path=None)
    assert only_paths == {}


def test_augment_processed_kinds_and_refusals(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from genoprep.scrna.augment import augment_processed, binomial_thinning

    down = {"enabled": True, "mode": "binomial", "factor": 0.5, "seed": 1}
    doub = {"enabled": True, "per_split": 1, "combine": "sum", "seed": 2}
    path = _processed(tmp_path / "processed.h5ad")
    out = tmp_path / "augmented_downsampled.h5ad"
    facts = augment_processed(path, "downsampled", down, doub, "cell_type", out)
    assert list(facts) == ["downsampled"]
    written = ad.read_h5ad(out)
    np.testing.assert_array_equal(written.X.toarray(), binomial_thinning(_small_counts(), 0.5, 1).toarray())
    assert list(written.obs["label"]) == ["t0", "t1", "t2", "t3", "t4"]
    assert list(written.obs["split"]) == ["train", "val", "train", "train", "test"]
    assert not (tmp_path / "augmented_doublets.h5ad").exists()
    facts = augment_processed(path, "doublets", down, doub, "donor", tmp_path / "augmented_doublets.h5ad")
    assert list(facts) == ["doublets"] and facts["doublets"]["n_doublets"] == 1
    assert "label_1" not in ad.read_h5ad(tmp_path / "augmented_doublets.h5ad").obs  # no such label column
    with pytest.raises(InputError) as caught:
        augment_processed(path, "doublets", down, {**doub, "enabled": False}, "cell_type", tmp_path / "o.h5ad")
    assert str(caught.value) == f"{path}: params.augment.doublets: params.augment.doublets.enabled is false"
    with pytest.raises(InputError) as caught:
        augment_processed(path, "downsampled", {**down, "enabled": False}, doub, "cell_type", tmp_path / "o.h5ad")
    assert str(caught.value) == f"{path}: params.augment.downsample: params.augment.downsample.enabled is false"
    no_counts = _processed(tmp_path / "no_counts.h5ad", counts=False)
    with pytest.raises(InputError) as caught:
        augment_processed(no_counts, "downsampled", down, doub, "cell_type", tmp_path / "o.h5ad")
    assert str(caught.value) == f"{no_counts}: layers: augmentation needs raw counts (input value_type: counts)"
    no_split = _processed(tmp_path / "no_split.h5ad", split=False)
    with pytest.raises(InputError) as caught:
        augment_processed(no_split, "doublets", down, doub, "cell_type", tmp_path / "o.h5ad")
    assert str(caught.value) == f"{no_split}: obs: augmentation runs inside splits: set params.split.enabled: true"
    assert not (tmp_path / "o.h5ad").exists()


def test_fixed_depth_edges_factor_one_a_single_count_and_an_empty_last_gene() -> None:
    from genoprep.scrna.augment import binomial_thinning, fixed_depth

    # a cell with one count keeps it at factor 0.5 (round(0.5) = 1, half up); the last gene is in no cell
    counts = sparse.csr_matrix(np.array([[0, 1, 0], [2, 2, 0], [0, 0, 0]], dtype=np.float32))
    half = fixed_depth(counts, 0.5, seed=0)
    assert half.shape == (3, 3)
    np.testing.assert_array_equal(half.toarray()[0], [0, 1, 0])
    assert np.asarray(half.sum(axis=1)).ravel().tolist() == [1, 2, 0]
    whole = fixed_depth(counts, 1.0, seed=0)  # factor 1 is allowed: every cell keeps its depth
    assert np.asarray(whole.sum(axis=1)).ravel().tolist() == [1, 4, 0]
    assert binomial_thinning(counts, 1.0, seed=0).shape == (3, 3)
