"""Killers for the mutants of genoprep/scrna/splitting.py: the split statistics, HVGs fitted on the train cells
(issue 16; docs/testing.md).

The `scrna_splitting` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is
hand-computed or re-implemented here in plain numpy (never genoprep's own output).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna.options import HvgOptions
from genoprep.scrna.preprocess import select_hvg
from tests.unit.test_killers_scrna_preprocess import _hvg_counts


def _split_options(**changes):  # type: ignore[no-untyped-def]
    from genoprep.splits import SplitOptions

    base = {
        "enabled": True,
        "fractions": (0.5, 0.25, 0.25),
        "seed": 3,
        "stratify_by": None,
        "group_by": None,
        "predefined": None,
    }
    return SplitOptions(**{**base, **changes})


def test_train_only_options_from_card() -> None:
    from genoprep.scrna.splitting import TrainOnlyOptions

    for value in (True, False):
        assert TrainOnlyOptions.from_card({"params": {"split": {"hvg_on_train": value}}}).hvg_on_train is value


def test_cell_splits_train_mask_and_categories() -> None:
    from genoprep.scrna.splitting import CellSplits

    split = CellSplits(splits=np.array(["test", "train", "val", "train"], dtype=object), qc={}, drop_from_eval=None)
    np.testing.assert_array_equal(split.train, [False, True, False, True])
    assert split.train.dtype == bool
    column = split.categorical()
    assert list(column.categories) == ["train", "val", "test"]
    assert list(column) == ["test", "train", "val", "train"]


def test_assign_cells_counts_in_blocks_equal_the_whole_matrix() -> None:
    from genoprep.scrna.splitting import assign_cells

    obs = pd.DataFrame(index=[f"c{i}" for i in range(20)])
    rows = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
    whole = assign_cells(obs, _split_options(), "report", "x.h5ad", counts=sparse.csr_matrix(rows))
    first_train = int(np.flatnonzero(whole.splits == "train")[0])
    first_test = int(np.flatnonzero(whole.splits == "test")[0])
    rows[first_test] = rows[first_train]  # a test cell repeats a train cell
    split_rows = [sparse.csr_matrix(rows[:7]), sparse.csr_matrix(rows[7:])]
    blocks = assign_cells(obs, _split_options(), "report", "x.h5ad", counts=split_rows)
    np.testing.assert_array_equal(blocks.splits, whole.splits)
    check = blocks.qc["leakage"]["checks"][0]
    assert check["what"] == "identical cells"
    assert (check["val_in_train"], check["test_in_train"]) == (0, 1)
    assert blocks.splits.dtype == object and blocks.drop_from_eval is None
    # digests computed before (by the shard jobs) count the same repeated cell; they win over counts
    from genoprep.leakage import cell_keys

    keyed = assign_cells(
        obs, _split_options(), "report", "x.h5ad", counts=sparse.csr_matrix((20, 3)), cell_keys=cell_keys(rows)
    )
    assert keyed.qc["leakage"]["checks"][0] == check
    # drop_from_eval: the repeated test cell is the row to drop; error: one line naming the file
    dropped = assign_cells(obs, _split_options(), "drop_from_eval", "x.h5ad", counts=sparse.csr_matrix(rows))
    assert dropped.drop_from_eval is not None
    assert np.flatnonzero(dropped.drop_from_eval).tolist() == [first_test]
    with pytest.raises(InputError) as caught:
        assign_cells(obs, _split_options(), "error", "data/x.h5ad", counts=sparse.csr_matrix(rows))
    assert str(caught.value).startswith("data/x.h5ad: ") and "\n" not in str(caught.value)
    without = assign_cells(obs, _split_options(), "report", "x.h5ad")
    assert [c["what"] for c in without.qc["leakage"]["checks"]] == []


def test_record_split_sets_obs_uns_and_says_the_line(capsys) -> None:  # type: ignore[no-untyped-def]
    from genoprep.scrna.splitting import CellSplits, record_split

    adata = ad.AnnData(X=np.zeros((4, 1), dtype=np.float32))
    adata.uns["genoprep"] = {"n_hvg": 1}
    qc = {"splits": {"n": {"train": 2, "val": 1, "test": 1}}, "leakage": {"policy": "x"}, "leakage_line": "no leaks"}
    split = CellSplits(splits=np.array(["train", "val", "train", "test"], dtype=object), qc=qc, drop_from_eval=None)
    options = _split_options()
    report = record_split(adata, split, options, "pbmc", {"before": 1})
    assert report == {"before": 1, "splits": {"n": {"train": 2, "val": 1, "test": 1}}, "leakage": {"policy": "x"}}
    assert list(adata.obs["split"]) == ["train", "val", "train", "test"]
    assert list(adata.obs["split"].cat.categories) == ["train", "val", "test"]
    assert adata.uns["genoprep"] == {"n_hvg": 1, "split": "train/val/test 0.5/0.25/0.25, seed 3"}
    said = capsys.readouterr().err
    assert "genoprep: pbmc: split 2/1/1 cells (train/val/test 0.5/0.25/0.25, seed 3); no leaks\n" in said


@pytest.mark.parametrize("flavor", ["seurat", "seurat_v3"])
def test_select_hvg_on_train_is_select_hvg_of_the_train_cells(flavor: str) -> None:
    from genoprep.scrna.splitting import select_hvg_on_train

    adata = _hvg_counts(False)
    adata.uns["genoprep"] = {"dataset": "d"}
    train = np.arange(adata.n_obs) % 3 != 0
    reference = ad.AnnData(X=adata.X[train].copy(), var=pd.DataFrame(index=adata.var_names.copy()))
    reference.layers["counts"] = adata.layers["counts"][train].copy()
    options = HvgOptions(hvg_flavor=flavor, n_top_genes=15, hvg_batch_key=None)
    expected = select_hvg(reference, options)
    n = select_hvg_on_train(adata, options, train)
    assert n == expected
    for column in reference.var.columns:
        np.testing.assert_array_equal(adata.var[column].to_numpy(), reference.var[column].to_numpy(), column)
    assert adata.uns["hvg"] == reference.uns["hvg"]
    assert adata.uns["genoprep"] == {"dataset": "d", "n_hvg": expected, "hvg_fitted_on": "train cells"}


def test_select_hvg_on_train_keeps_the_batch_column() -> None:
    import scanpy as sc

    from genoprep.scrna.splitting import select_hvg_on_train

    adata = _hvg_counts(False)
    adata.uns["genoprep"] = {}
    train = np.arange(adata.n_obs) < 200
    reference = adata[train].copy()
    sc.pp.highly_variable_genes(reference, flavor="seurat", n_top_genes=12, batch_key="batch")
    select_hvg_on_train(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=12, hvg_batch_key="batch"), train)
    np.testing.assert_array_equal(adata.var["highly_variable"], reference.var["highly_variable"])
    np.testing.assert_array_equal(adata.var["highly_variable_nbatches"], reference.var["highly_variable_nbatches"])


def test_select_hvg_on_train_needs_two_train_cells() -> None:
    from genoprep.scrna.splitting import select_hvg_on_train

    adata = _hvg_counts(False)
    adata.uns["genoprep"] = {}
    train = np.zeros(adata.n_obs, dtype=bool)
    train[4] = True
    with pytest.raises(ValueError) as caught:
        select_hvg_on_train(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=5, hvg_batch_key=None), train)
    assert str(caught.value) == "1 train cell(s): too few to select highly variable genes"
    train[5] = True  # two train cells are enough
    select_hvg_on_train(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=5, hvg_batch_key=None), train)


def test_scale_on_train_by_hand_with_negative_clip() -> None:
    from genoprep.scrna.splitting import scale_on_train

    # train rows 0, 2 (values 1 and 3: mean 2, std sqrt 2 with ddof 1); the test row 9 -> 7/sqrt 2 = 4.95 -> 3;
    # the val row -5 -> -7/sqrt 2 -> -3
    block = sparse.csr_matrix(np.array([[1], [9], [3], [-5]], dtype=np.float32))
    train = np.array([True, False, True, False])
    matrix, scaler = scale_on_train(block, 3.0, train)
    np.testing.assert_allclose(matrix.ravel(), [-1 / np.sqrt(2), 3, 1 / np.sqrt(2), -3], rtol=1e-6)
    np.testing.assert_allclose(scaler.std, [np.sqrt(2)])
    unclipped, _ = scale_on_train(block, None, train)
    np.testing.assert_allclose(unclipped.ravel(), np.array([-1, 7, 1, -7]) / np.sqrt(2), rtol=1e-6)


def test_split_facts_by_hand() -> None:
    from genoprep.scrna.splitting import CellSplits, TrainOnlyOptions, split_facts

    facts = {"cells": 4, "preprocessing": {"feature_selection": "hvg", "scaling": "z-score"}}
    split = CellSplits(
        np.array(["train"] * 4, dtype=object), {"splits": {"n": {"train": 4, "val": 0, "test": 0}}}, None
    )
    options = _split_options(group_by="donor")
    on = split_facts(facts, split, options, TrainOnlyOptions(hvg_on_train=True))
    assert on == {
        "cells": 4,
        "preprocessing": {
            "feature_selection": "hvg (fitted on the train cells only)",
            "scaling": "z-score (mean and std fitted on the train cells only)",
            "split": "train/val/test 0.5/0.25/0.25, seed 3, grouped by 'donor'",
        },
        "splits": {"train": 4, "val": 0, "test": 0},
    }
    off = split_facts(facts, split, options, TrainOnlyOptions(hvg_on_train=False))
    assert off["preprocessing"]["feature_selection"] == "hvg"
    assert facts["preprocessing"] == {"feature_selection": "hvg", "scaling": "z-score"}  # not changed


def test_select_hvg_on_train_breaks_a_tie_by_gene_name_as_scanpy_does() -> None:
    """scanpy's batch-aware seurat selection sorts the genes by name (a groupby) before its stable
    sort on (batches, normalized dispersion): two genes tied at the cut-off go by name, so the train
    subset must carry the real gene names. Here "z1" (column 2) and "a2" (column 3) tie; scanpy on
    the train cells alone, with the real names, keeps "a2". Four test cells (not used) follow."""
    import warnings

    import scanpy as sc

    from genoprep.scrna.splitting import select_hvg_on_train

    rng = np.random.default_rng(0)
    tied = np.log1p(np.array([0, 40, 0, 30, 1, 0, 50, 0, 0, 35, 0, 45], dtype=np.float64))
    train_x = np.column_stack([tied, tied, np.log1p(rng.poisson(6, size=(12, 6)))]).astype(np.float32)
    test_x = np.log1p(rng.poisson(20, size=(4, 8))).astype(np.float32)
    names = ["g_z", "g_a", "z1", "a2", "o3", "o4", "o5", "o6"]
    obs = pd.DataFrame({"batch": pd.Categorical(["a", "b"] * 8)}, index=[f"c{i}" for i in range(16)])
    adata = ad.AnnData(X=np.vstack([train_x, test_x]), obs=obs, var=pd.DataFrame(index=names))
    adata.uns["genoprep"] = {}
    train = np.arange(16) < 12
    reference = ad.AnnData(X=train_x.copy(), obs=obs.iloc[:12].copy(), var=pd.DataFrame(index=names))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.pp.highly_variable_genes(reference, flavor="seurat", n_top_genes=1, batch_key="batch")
        select_hvg_on_train(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=1, hvg_batch_key="batch"), train)
    tie = reference.var.loc[["z1", "a2"]]
    assert tie["highly_variable_nbatches"].tolist() == [2, 2]
    assert tie["dispersions_norm"].iloc[0] == tie["dispersions_norm"].iloc[1]
    assert reference.var_names[reference.var["highly_variable"].to_numpy()].tolist() == ["a2"]
    np.testing.assert_array_equal(adata.var["highly_variable"], reference.var["highly_variable"])


def test_select_hvg_on_train_copies_the_counts_only_for_the_count_flavors(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The docstring's memory promise: the train cells' ``counts`` layer is copied only for a flavor
    that reads it (seurat_v3); for seurat (which reads X) the subset holds X alone."""
    from genoprep.scrna import preprocess
    from genoprep.scrna.splitting import select_hvg_on_train

    seen: list[list[str]] = []
    real = preprocess.select_hvg

    def spy(subset: ad.AnnData, options: HvgOptions) -> int:
        seen.append(sorted(subset.layers.keys()))
        return real(subset, options)

    monkeypatch.setattr(preprocess, "select_hvg", spy)
    train = np.arange(60) % 4 != 0
    for flavor in ("seurat", "seurat_v3"):
        adata = _hvg_counts(False)[:60].copy()
        adata.uns["genoprep"] = {}
        select_hvg_on_train(adata, HvgOptions(hvg_flavor=flavor, n_top_genes=5, hvg_batch_key=None), train)
    assert seen == [[], ["counts"]]


def test_assign_cells_takes_a_sparse_array_as_one_matrix() -> None:
    """scipy's ``csr_array`` is sparse too: it is one matrix (one digest per row), not an iterable of
    blocks (iterating a 2-D csr_array gives 1-D rows, which are no count matrix). A test cell that
    repeats a train cell is counted, as with a ``csr_matrix``."""
    from genoprep.scrna.splitting import assign_cells

    obs = pd.DataFrame(index=[f"c{i}" for i in range(20)])
    rows = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
    first = assign_cells(obs, _split_options(), "report", "x.h5ad", counts=sparse.csr_matrix(rows))
    train, test = (int(np.flatnonzero(first.splits == name)[0]) for name in ("train", "test"))
    rows[test] = rows[train]
    as_array = assign_cells(obs, _split_options(), "report", "x.h5ad", counts=sparse.csr_array(rows))
    np.testing.assert_array_equal(as_array.splits, first.splits)
    check = as_array.qc["leakage"]["checks"][0]
    assert (check["what"], check["val_in_train"], check["test_in_train"]) == ("identical cells", 0, 1)
