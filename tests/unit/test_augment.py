"""Augmentation on hand-made counts: thinning, fixed depth, doublets (exact parents, same split)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from genoprep.scrna.augment import (
    SplitCells,
    binomial_thinning,
    fixed_depth,
    make_doublets,
    with_singlets,
    write_augmented,
)


def counts(seed: int = 0, n_cells: int = 300, n_genes: int = 50) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.poisson(rng.gamma(0.5, 4, size=n_genes), size=(n_cells, n_genes)).astype(np.int32)
    return sp.csr_matrix(dense)


def test_thinning_never_adds_and_keeps_the_expected_depth() -> None:
    matrix = counts()
    thinned = binomial_thinning(matrix, 0.3, seed=1)
    assert sp.issparse(thinned) and thinned.dtype == matrix.dtype
    assert (thinned - matrix).max() <= 0
    assert thinned.min() >= 0
    assert 0 not in thinned.data  # zeros removed from storage
    total, kept = matrix.sum(), thinned.sum()
    assert abs(kept - 0.3 * total) < 5 * np.sqrt(total * 0.3 * 0.7)
    assert (binomial_thinning(matrix, 0.3, seed=1) != thinned).nnz == 0
    assert (binomial_thinning(matrix, 0.3, seed=2) != thinned).nnz > 0
    assert (binomial_thinning(matrix, 1.0, seed=5) != matrix).nnz == 0


def test_thinning_refuses_non_counts_and_dense_input() -> None:
    with pytest.raises(ValueError, match="integer"):
        binomial_thinning(sp.csr_matrix(np.array([[0.5, 1.0]])), 0.5, seed=0)
    with pytest.raises(TypeError, match="sparse"):
        binomial_thinning(np.ones((2, 2)), 0.5, seed=0)


def test_fixed_depth_hits_the_target_depth_on_the_cell_s_own_genes() -> None:
    matrix = counts(1)
    out = fixed_depth(matrix, 0.25, seed=3)
    depth = np.asarray(matrix.sum(axis=1)).ravel()
    new_depth = np.asarray(out.sum(axis=1)).ravel()
    assert new_depth.tolist() == [int(np.floor(0.25 * d + 0.5)) for d in depth]
    # only genes the cell expressed can be drawn
    assert ((out > 0).astype(int) - (matrix > 0).astype(int)).max() <= 0


def test_doublets_are_exactly_their_parents_from_one_split() -> None:
    matrix = counts(2, n_cells=40)
    ids = [f"c{i}" for i in range(40)]
    splits = ["train"] * 20 + ["val"] * 10 + ["test"] * 10
    labels = [f"t{i % 3}" for i in range(40)]
    cells = SplitCells.of(matrix, ids, splits, labels)
    doublets, obs = make_doublets(cells, per_split=7, combine="sum", seed=0)
    assert doublets.shape == (21, matrix.shape[1]) and obs["is_doublet"].all()
    index = {c: i for i, c in enumerate(ids)}
    split_of = dict(zip(ids, splits))
    dense = matrix.toarray()
    for row, (_, rec) in enumerate(obs.iterrows()):
        a, b = index[rec.parent_1], index[rec.parent_2]
        assert a != b
        assert split_of[rec.parent_1] == split_of[rec.parent_2] == rec.split
        assert rec.label_1 == labels[a] and rec.label_2 == labels[b]
        np.testing.assert_array_equal(doublets[row].toarray().ravel(), dense[a] + dense[b])
    assert obs["split"].value_counts().to_dict() == {"train": 7, "val": 7, "test": 7}
    mean, _ = make_doublets(cells, per_split=7, combine="mean", seed=0)
    np.testing.assert_allclose(mean.toarray(), doublets.toarray() / 2)
    full, full_obs = with_singlets(cells, doublets, obs)
    assert full.shape[0] == 61 and int(full_obs["is_doublet"].sum()) == 21
    np.testing.assert_array_equal(full[:40].toarray(), dense)


def test_augmented_files_are_separate_and_reproducible(tmp_path) -> None:
    import anndata as ad
    import pandas as pd

    matrix = counts(3, n_cells=30)
    ids = [f"c{i}" for i in range(30)]
    splits = ["train"] * 20 + ["test"] * 10
    var = pd.DataFrame(index=[f"g{i}" for i in range(matrix.shape[1])])
    settings = (
        {"enabled": True, "mode": "binomial", "factor": 0.5, "seed": 1},
        {"enabled": True, "per_split": 4, "combine": "sum", "seed": 2},
    )
    paths = {}
    for run in ("a", "b"):
        paths[run] = (tmp_path / f"{run}_down.h5ad", tmp_path / f"{run}_doub.h5ad")
        write_augmented(
            SplitCells.of(matrix, ids, splits),
            var,
            *settings,
            downsampled_path=paths[run][0],
            doublets_path=paths[run][1],
        )
    down = ad.read_h5ad(paths["a"][0])
    assert down.obs_names.tolist() == ids and down.obs["split"].tolist() == splits
    np.testing.assert_array_equal(down.X.toarray(), binomial_thinning(matrix, 0.5, seed=1).toarray())
    doub = ad.read_h5ad(paths["a"][1])
    assert doub.n_obs == 38 and int(doub.obs["is_doublet"].sum()) == 8
    assert paths["a"][0].read_bytes() == paths["b"][0].read_bytes()
    assert paths["a"][1].read_bytes() == paths["b"][1].read_bytes()
