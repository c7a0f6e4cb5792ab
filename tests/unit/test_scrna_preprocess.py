"""genoprep.scrna.preprocess on hand-computed cases: the card's target_sum, HVG flavor and max_value clip."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
import scanpy as sc
from scipy import sparse

from genoprep.scrna.options import HvgOptions
from genoprep.scrna.preprocess import (
    hvg_block,
    hvg_blocks,
    normalize_log1p,
    scale_block,
    scale_blocks,
    select_hvg,
)

COUNTS = sparse.csr_matrix(np.array([[1, 3, 0], [0, 2, 2], [0, 0, 0]], dtype=np.float32))


@pytest.mark.parametrize("target_sum", [100.0, 1e4])
def test_normalize_log1p_uses_the_target_sum(target_sum: float) -> None:
    result = normalize_log1p(COUNTS, target_sum)
    # cell 1: total 4 -> 1 and 3 become target_sum/4 and 3*target_sum/4; cell 2: total 4 -> 2/4 and 2/4
    expected = np.log1p(
        np.array([[target_sum / 4, 3 * target_sum / 4, 0], [0, target_sum / 2, target_sum / 2], [0, 0, 0]])
    )
    np.testing.assert_allclose(result.toarray(), expected, rtol=1e-6)
    assert result.dtype == np.float32


def test_normalize_log1p_keeps_the_counts_and_shares_their_structure() -> None:
    counts = COUNTS.copy()
    result = normalize_log1p(counts, 10.0)
    np.testing.assert_array_equal(counts.toarray(), COUNTS.toarray())  # the counts are untouched
    assert np.shares_memory(result.indices, counts.indices) and np.shares_memory(result.indptr, counts.indptr)
    assert not np.shares_memory(result.data, counts.data)


def test_normalize_log1p_equals_scanpy_bytes() -> None:
    rng = np.random.default_rng(3)
    counts = sparse.random(60, 40, density=0.3, format="csr", random_state=3, dtype=np.float32)
    counts.data = rng.integers(1, 50, size=counts.nnz).astype(np.float32)
    reference = ad.AnnData(X=counts.copy())
    sc.pp.normalize_total(reference, target_sum=1234.0)
    sc.pp.log1p(reference)
    np.testing.assert_array_equal(normalize_log1p(counts, 1234.0).toarray(), reference.X.toarray())


def _hvg_data() -> ad.AnnData:
    rng = np.random.default_rng(7)
    n_cells, n_genes = 300, 200
    means = np.geomspace(0.05, 20, n_genes)
    dispersion = rng.uniform(0.05, 3, n_genes)  # negative binomial: variance = mean + mean^2 * dispersion
    p = 1 / (1 + means * dispersion)
    counts = rng.negative_binomial(1 / dispersion, p, size=(n_cells, n_genes)).astype(np.float32)
    adata = ad.AnnData(X=sparse.csr_matrix(counts))
    adata.var_names = [f"G{i}" for i in range(n_genes)]
    adata.layers["counts"] = adata.X.copy()
    adata.X = normalize_log1p(adata.layers["counts"], 1e4)
    adata.uns["log1p"] = {"base": None}
    return adata


def test_select_hvg_uses_the_card_flavor_and_n_top_genes() -> None:
    chosen = {}
    for flavor in ("seurat", "cell_ranger", "seurat_v3"):
        adata = _hvg_data()
        n = select_hvg(adata, HvgOptions(hvg_flavor=flavor, n_top_genes=20, hvg_batch_key=None))
        reference = _hvg_data()
        sc.pp.highly_variable_genes(
            reference, flavor=flavor, n_top_genes=20, layer="counts" if flavor == "seurat_v3" else None
        )
        assert n == int(reference.var["highly_variable"].sum()) >= 20
        for column in reference.var.columns:  # the same values as scanpy's own call
            np.testing.assert_array_equal(adata.var[column].to_numpy(), reference.var[column].to_numpy(), column)
        assert adata.uns["hvg"] == reference.uns["hvg"]
        chosen[flavor] = set(adata.var_names[adata.var["highly_variable"]])
        assert chosen[flavor] == set(reference.var_names[reference.var["highly_variable"]])
    # the flavors disagree on this data, so a hard-coded flavor cannot pass the loop above
    assert len({frozenset(genes) for genes in chosen.values()}) == 3


def test_n_top_genes_is_capped_at_the_genes_left() -> None:
    adata = _hvg_data()
    assert select_hvg(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=500, hvg_batch_key=None)) == 200


def test_scale_block_hand_computed_with_and_without_clip() -> None:
    # one column 0, 0, 0, 10: mean 2.5, sample variance (3 * 6.25 + 56.25) / 3 = 25, std 5
    # -> z = -0.5, -0.5, -0.5, 1.5; a second column 1, 1, 3, 3: mean 2, std sqrt(4/3)
    values = np.array([[0, 1], [0, 1], [0, 3], [10, 3]], dtype=np.float32)
    block = sparse.csr_matrix(values)
    z2 = 1 / np.sqrt(4 / 3)
    unclipped = scale_block(block, None)
    np.testing.assert_allclose(unclipped, [[-0.5, -z2], [-0.5, -z2], [-0.5, z2], [1.5, z2]], rtol=1e-6)
    clipped = scale_block(block, 1.0)
    np.testing.assert_allclose(clipped, [[-0.5, -z2], [-0.5, -z2], [-0.5, z2], [1.0, z2]], rtol=1e-6)
    assert clipped.dtype == np.float32 and clipped.flags.c_contiguous


@pytest.mark.parametrize("max_value", [None, 1.5])
def test_scale_block_equals_scanpy_bytes(max_value: float | None) -> None:
    rng = np.random.default_rng(5)
    values = rng.gamma(0.5, 2.0, size=(400, 25)).astype(np.float32)
    values[rng.random(values.shape) < 0.6] = 0
    values[:, 3] = 0  # a constant column: std 0 -> 1
    reference = sc.pp.scale(values.copy(), max_value=max_value, copy=False)
    np.testing.assert_array_equal(scale_block(sparse.csr_matrix(values), max_value), reference)


def test_hvg_block_takes_only_the_flagged_columns() -> None:
    matrix = sparse.csr_matrix(np.array([[1, 2, 3, 4], [5, 0, 7, 0]], dtype=np.float32))
    block = hvg_block(matrix, np.array([False, True, False, True]))
    np.testing.assert_array_equal(block.toarray(), [[2, 4], [0, 0]])


@pytest.mark.parametrize("block_values", [1, 997, 1 << 22])
def test_seurat_statistics_in_blocks_of_rows_are_scanpys(monkeypatch: pytest.MonkeyPatch, block_values: int) -> None:
    import genoprep.scrna.preprocess as preprocess

    monkeypatch.setattr(preprocess, "_EXPM1_BLOCK", block_values)  # expm1 taken over 1 row, a few rows, all rows
    adata = _hvg_data()
    select_hvg(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=30, hvg_batch_key=None))
    reference = _hvg_data()
    sc.pp.highly_variable_genes(reference, flavor="seurat", n_top_genes=30)
    for column in ("highly_variable", "means", "dispersions", "dispersions_norm"):
        np.testing.assert_array_equal(adata.var[column].to_numpy(), reference.var[column].to_numpy(), column)


def test_normalize_log1p_in_place_gives_the_same_bytes_in_the_counts_own_array() -> None:
    rng = np.random.default_rng(11)
    counts = sparse.random(50, 30, density=0.3, format="csr", random_state=11, dtype=np.float32)
    counts.data = rng.integers(1, 40, size=counts.nnz).astype(np.float32)
    counts.data[:5] = 0  # stored zeros stay zeros
    copied = normalize_log1p(counts, 1e4)
    values = counts.data
    result = normalize_log1p(counts, 1e4, in_place=True)
    assert result is counts and result.data is values  # no second values array
    np.testing.assert_array_equal(result.toarray(), copied.toarray())


def test_seurat_hvg_with_a_gene_alone_in_its_mean_bin_is_scanpys() -> None:
    # one gene far above the others in mean: its bin holds only it (std NaN), which scanpy's
    # _postprocess_dispersions_seurat sets to avg 0, dev = its dispersion
    def data() -> ad.AnnData:
        adata = _hvg_data()
        counts = adata.layers["counts"].toarray()
        counts[:, 0] = np.random.default_rng(2).poisson(5000, size=counts.shape[0])
        adata.layers["counts"] = sparse.csr_matrix(counts)
        adata.X = normalize_log1p(adata.layers["counts"], 1e4)
        return adata

    adata, reference = data(), data()
    select_hvg(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=25, hvg_batch_key=None))
    sc.pp.highly_variable_genes(reference, flavor="seurat", n_top_genes=25)
    for column in ("highly_variable", "means", "dispersions", "dispersions_norm"):
        np.testing.assert_array_equal(adata.var[column].to_numpy(), reference.var[column].to_numpy(), column)
    assert adata.var["dispersions_norm"].iloc[0] == np.float32(1.0)  # alone in its bin: normalised to 1


@pytest.mark.parametrize(("n_blocks", "expected"), [(1, 1), (3, 3), (16, 13), (100, 37)])  # 37 rows: ceil(37/n) each
def test_scale_blocks_of_rows_equal_the_whole_block_and_are_released(n_blocks: int, expected: int) -> None:
    rng = np.random.default_rng(9)
    values = rng.gamma(0.5, 2.0, size=(37, 12)).astype(np.float32)
    values[rng.random(values.shape) < 0.5] = 0
    matrix = sparse.csr_matrix(values)
    hvg = rng.random(12) < 0.5
    whole = scale_block(hvg_block(matrix, hvg), 1.5)
    blocks = hvg_blocks(matrix, hvg, n_blocks)
    assert len(blocks) == expected
    np.testing.assert_array_equal(scale_blocks(blocks, 1.5), whole)
    assert blocks == []  # consumed: each block is dropped once densified
