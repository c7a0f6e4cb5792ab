"""Killers for the mutants of genoprep/scrna/preprocess.py: the card's target_sum, the HVG flavors, the max_value clip
(issue 16; docs/testing.md).

The `scrna_preprocess` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is
hand-computed or re-implemented here in plain numpy (never genoprep's own output).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.scrna.options import HvgOptions
from genoprep.scrna.preprocess import hvg_blocks, normalize_log1p, scale_block, scale_blocks, select_hvg


def _hvg_counts(extra: bool) -> ad.AnnData:
    """Negative-binomial counts (300 cells x 120 genes); with ``extra`` a constant gene and an all-zero gene."""
    rng = np.random.default_rng(17)
    means = np.geomspace(0.05, 20, 120)
    dispersion = rng.uniform(0.05, 3, 120)
    counts = rng.negative_binomial(1 / dispersion, 1 / (1 + means * dispersion), size=(300, 120)).astype(np.float32)
    if extra:
        counts[:, 5] = 0  # never detected: mean 0
        counts[:, 6] = 2  # the same count in every cell: dispersion 0 before the log
    adata = ad.AnnData(X=sparse.csr_matrix(counts))
    adata.var_names = [f"G{i}" for i in range(counts.shape[1])]
    adata.obs["batch"] = np.where(np.arange(300) % 2, "b1", "b2")
    adata.layers["counts"] = adata.X.copy()
    adata.X = normalize_log1p(adata.layers["counts"], 1e4)
    adata.uns["log1p"] = {"base": None}
    return adata


@pytest.mark.parametrize("flavor", ["seurat", "cell_ranger"])
@pytest.mark.parametrize("n_top", [15, 120])
def test_hvg_with_zero_and_constant_genes_is_scanpys(flavor: str, n_top: int) -> None:
    import scanpy as sc

    adata, reference = _hvg_counts(True), _hvg_counts(True)
    n = select_hvg(adata, HvgOptions(hvg_flavor=flavor, n_top_genes=n_top, hvg_batch_key=None))
    sc.pp.highly_variable_genes(reference, flavor=flavor, n_top_genes=n_top)
    for column in ("highly_variable", "means", "dispersions", "dispersions_norm"):
        np.testing.assert_array_equal(adata.var[column].to_numpy(), reference.var[column].to_numpy(), column)
    assert n == int(reference.var["highly_variable"].sum())
    assert adata.uns["hvg"] == {"flavor": flavor}


@pytest.mark.parametrize("flavor", ["seurat", "cell_ranger"])
def test_hvg_from_moments_is_scanpys(flavor: str) -> None:
    """The out-of-core path's HVG selection from per-gene moments (numpy's mean and unbiased variance of
    expm1(X) for seurat, of X for cell_ranger: scanpy's inputs) against scanpy on the same data (scanpy's
    moments are float32 sums: the values agree to 1e-5)."""
    import scanpy as sc

    from genoprep.scrna.preprocess import hvg_from_moments

    adata, reference = _hvg_counts(True), _hvg_counts(True)
    values = adata.X.toarray().astype(np.float64)
    values = np.expm1(values) if flavor == "seurat" else values
    hvg_from_moments(adata, values.mean(axis=0), values.var(axis=0, ddof=1), flavor, 15)
    sc.pp.highly_variable_genes(reference, flavor=flavor, n_top_genes=15)
    np.testing.assert_array_equal(adata.var["highly_variable"], reference.var["highly_variable"])
    for column in ("means", "dispersions", "dispersions_norm"):
        np.testing.assert_allclose(adata.var[column], reference.var[column], rtol=1e-5, atol=1e-5, err_msg=column)
    assert adata.var["dispersions_norm"].dtype == np.float32 and adata.uns["hvg"] == {"flavor": flavor}


def test_hvg_batch_key_is_passed_to_scanpy() -> None:
    import scanpy as sc

    adata, reference = _hvg_counts(False), _hvg_counts(False)
    select_hvg(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=20, hvg_batch_key="batch"))
    sc.pp.highly_variable_genes(reference, flavor="seurat", n_top_genes=20, batch_key="batch")
    assert "highly_variable_nbatches" in adata.var
    for column in reference.var.columns:
        np.testing.assert_array_equal(adata.var[column].to_numpy(), reference.var[column].to_numpy(), column)


def test_seurat_v3_dispersions_are_count_variance_over_mean() -> None:
    import warnings

    adata = _hvg_counts(True)
    with warnings.catch_warnings():
        # the 0/0 of a gene never detected is expected: no RuntimeWarning on the terminal
        warnings.simplefilter("error", RuntimeWarning)
        select_hvg(adata, HvgOptions(hvg_flavor="seurat_v3", n_top_genes=20, hvg_batch_key=None))
    counts = adata.layers["counts"].toarray().astype(np.float64)
    mean, variance = counts.mean(axis=0), counts.var(axis=0, ddof=1)
    expected = np.divide(variance, mean, out=np.zeros_like(mean), where=mean > 0)
    np.testing.assert_allclose(adata.var["dispersions"].to_numpy(), expected, rtol=1e-5)
    assert adata.var["dispersions"].iloc[5] == 0.0  # a gene never detected: 0, not NaN


def test_seurat_v3_without_counts_is_refused() -> None:
    adata = _hvg_counts(False)
    del adata.layers["counts"]
    with pytest.raises(ValueError) as caught:
        select_hvg(adata, HvgOptions(hvg_flavor="seurat_v3_paper", n_top_genes=20, hvg_batch_key=None))
    assert str(caught.value) == "hvg flavor seurat_v3_paper needs raw counts, and this dataset has none"


def test_seurat_hvg_on_a_dense_matrix_is_scanpys() -> None:
    import scanpy as sc

    adata, reference = _hvg_counts(False), _hvg_counts(False)
    adata.X = adata.X.toarray()
    reference.X = reference.X.toarray()
    select_hvg(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=20, hvg_batch_key=None))
    sc.pp.highly_variable_genes(reference, flavor="seurat", n_top_genes=20)
    np.testing.assert_array_equal(adata.var["highly_variable"], reference.var["highly_variable"])


def test_slot_moments_by_hand() -> None:
    from genoprep.scrna.preprocess import SlotMoments

    matrix = sparse.csr_matrix(np.array([[1, 2], [3, 0]], dtype=np.float64))
    moments = SlotMoments(2)
    moments.add(matrix, 0, matrix.data)
    mean, var = moments.mean_var(2)
    np.testing.assert_allclose(mean, [2, 1])
    np.testing.assert_allclose(var, [2, 2])  # var([1, 3], ddof=1) = 2; var([2, 0], ddof=1) = 2
    one = SlotMoments(2)
    row = sparse.csr_matrix(np.array([[1, 2]], dtype=np.float64))
    one.add(row, 0, row.data)
    mean, var = one.mean_var(1)
    np.testing.assert_array_equal(mean, [1, 2])
    np.testing.assert_array_equal(var, [0, 0])  # one row: no unbiased correction (no 0/0)


def test_normalize_log1p_float64_counts_in_place_makes_a_float32_copy() -> None:
    counts = sparse.csr_matrix(np.array([[1, 3], [0, 2]], dtype=np.float64))
    result = normalize_log1p(counts, 8.0, in_place=True)
    assert result is not counts and result.dtype == np.float32
    np.testing.assert_array_equal(counts.toarray(), [[1, 3], [0, 2]])
    # cell 1: total 4 -> factor 0.5 -> 2 and 6; cell 2: total 2 -> factor 0.25 -> 8
    np.testing.assert_allclose(result.toarray(), np.log1p([[2, 6], [0, 8]]), rtol=1e-6)


def test_normalize_log1p_base_e_and_an_empty_cell() -> None:
    counts = sparse.csr_matrix(np.array([[0, 0], [1, 1]], dtype=np.float32))
    result = normalize_log1p(counts, 2.0)
    assert result.toarray()[1, 0] == pytest.approx(np.log(2.0), rel=1e-6)  # log1p(1), natural log
    assert result.toarray()[0].tolist() == [0, 0] and result[0].nnz == 0


def test_normalize_log1p_stored_zeros_of_an_empty_cell_and_an_empty_last_gene() -> None:
    """A cell whose only stored values are explicit zeros (total 0) keeps them as 0, not 0/0 = NaN; the
    last gene, with no stored value, keeps its column (by hand, as scanpy's normalize_total + log1p)."""
    data = np.array([0.0, 0.0, 1.0, 3.0], dtype=np.float32)
    counts = sparse.csr_matrix((data, np.array([0, 1, 0, 1]), np.array([0, 2, 4, 4])), shape=(3, 3))
    result = normalize_log1p(counts, 8.0)
    assert result.shape == (3, 3) and result.nnz == 4
    # cell 2: total 4 -> factor 0.5 -> 2 and 6; cells 1 and 3 hold no counts
    np.testing.assert_allclose(result.toarray(), np.log1p([[0, 0, 0], [2, 6, 0], [0, 0, 0]]), rtol=1e-6)
    assert not np.isnan(result.data).any()


def test_scale_clips_negative_values_at_minus_max_value() -> None:
    # column 10, 10, 10, 0: mean 7.5, std 5 -> z = 0.5, 0.5, 0.5, -1.5; clipped at 1 -> -1
    block = sparse.csr_matrix(np.array([[10], [10], [10], [0]], dtype=np.float32))
    np.testing.assert_allclose(scale_block(block, 1.0).ravel(), [0.5, 0.5, 0.5, -1.0], rtol=1e-6)
    np.testing.assert_allclose(scale_block(block, 2.0).ravel(), [0.5, 0.5, 0.5, -1.5], rtol=1e-6)
    blocks = hvg_blocks(block, np.array([True]), 2)
    scaled = scale_blocks(blocks, 1.0)
    np.testing.assert_allclose(scaled.ravel(), [0.5, 0.5, 0.5, -1.0], rtol=1e-6)
    assert scaled.dtype == np.float32  # the ML matrix X.npy is float32, as sc.pp.scale gives


def test_scale_of_a_single_cell_is_zero() -> None:
    # one row: the variance is 0 (no unbiased correction), std 1, every value centred to 0
    block = sparse.csr_matrix(np.array([[3, 0, 1]], dtype=np.float32))
    np.testing.assert_array_equal(scale_block(block, None), [[0, 0, 0]])
    np.testing.assert_array_equal(scale_blocks([block], None), [[0, 0, 0]])


def test_scale_statistics_by_hand() -> None:
    from genoprep.scrna.preprocess import scale_statistics

    # rows 1, 3 and 2, 2: mean 2 and 2, mean square 5 and 4 -> variance (5-4)*2/1 = 2 and 0 -> std sqrt 2 and 1
    mean, std = scale_statistics(np.array([2.0, 2.0]), np.array([5.0, 4.0]), 2)
    np.testing.assert_allclose(std, [np.sqrt(2), 1])
    np.testing.assert_array_equal(mean, [2, 2])


def test_hvg_description_text() -> None:
    from genoprep.scrna.preprocess import hvg_description

    assert (
        hvg_description(HvgOptions(hvg_flavor="seurat_v3", n_top_genes=2000, hvg_batch_key=None), 1999)
        == "scanpy highly_variable_genes flavor=seurat_v3, n_top_genes=1999"
    )
    assert (
        hvg_description(HvgOptions(hvg_flavor="seurat", n_top_genes=10, hvg_batch_key="donor"), 10)
        == "scanpy highly_variable_genes flavor=seurat, n_top_genes=10, batch_key=donor"
    )


def test_row_view_shares_values() -> None:
    from genoprep.scrna.preprocess import row_view

    matrix = sparse.csr_matrix(np.array([[1, 0], [0, 2], [3, 4]], dtype=np.float32))
    view = row_view(matrix, 1, 3)
    np.testing.assert_array_equal(view.toarray(), [[0, 2], [3, 4]])
    assert view.shape == (2, 2) and np.shares_memory(view.data, matrix.data)
    # rows without a value in the last gene keep its column
    assert row_view(matrix, 0, 1).shape == (1, 2) and row_view(matrix, 1, 1).shape == (0, 2)


def test_seurat_disp_stats_by_hand_with_an_empty_bin_and_no_pandas_warning() -> None:
    """Per gene, its mean bin's mean and standard deviation (ddof=1) of the dispersions; a bin with one
    gene gets (avg 0, dev its dispersion); an empty bin in between is no row of anyone. Grouping by the
    categorical bin says ``observed=True``: pandas' default (False) warns (FutureWarning) in a user's log."""
    import warnings

    from genoprep.scrna.preprocess import _disp_stats

    bins = pd.cut([0.5, 0.6, 0.7, 2.5], bins=[0, 1, 2, 3])  # (1, 2] holds no gene
    frame = pd.DataFrame({"dispersions": [1.0, 2.0, 6.0, 4.0], "mean_bin": bins}, index=["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        stats = _disp_stats(frame, "seurat")
    assert stats.index.tolist() == ["a", "b", "c", "d"]
    # bin (0, 1]: mean 3, std sqrt(((1-3)^2 + (2-3)^2 + (6-3)^2) / 2) = sqrt(7); bin (2, 3]: one gene
    np.testing.assert_allclose(stats["avg"].to_numpy(), [3.0, 3.0, 3.0, 0.0])
    np.testing.assert_allclose(stats["dev"].to_numpy(), [np.sqrt(7.0)] * 3 + [4.0])
