"""Killers for the scRNA mutants that survived the module tests (issue 16; docs/testing.md).

Every expected value is hand-computed or re-implemented here in plain numpy (never genoprep's own
output): cells exactly at every QC threshold, the whole qc.json report and filter steps, the
card's target_sum, the HVG flavors, the max_value clip, the split statistics and the token order.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna.options import HvgOptions, QcOptions
from genoprep.scrna.preprocess import hvg_blocks, normalize_log1p, scale_block, scale_blocks, select_hvg
from genoprep.scrna.qc import (
    apply_filters,
    check_left,
    compute_qc_metrics,
    decide_filters,
    flag_mito,
    mito_within,
    pct_mito,
    read_gene_list,
)
from tests.unit.test_scrna_qc import OPTIONS as QC_OPTIONS

# ---------------------------------------------------------------------------------------------------------------- qc

QC = QC_OPTIONS  # min_genes 2, min_cells 2, max_genes 3, max_pct_mito 30, MT- prefix (test_scrna_qc.py)


def _spread(values: list[float], label: str) -> str:
    """filters.describe re-written: median, 10th and 90th percentile (numpy's linear rule), n."""
    array = np.sort(np.asarray(values, dtype=np.float64))

    def percentile(q: float) -> float:
        position = (array.size - 1) * q / 100
        low = int(np.floor(position))
        high = min(low + 1, array.size - 1)
        return float(array[low] + (array[high] - array[low]) * (position - low))

    return (
        f"{label}: median {percentile(50):.4g}, 10th percentile {percentile(10):.4g}, "
        f"90th percentile {percentile(90):.4g} (n={array.size})"
    )


def _qc_data() -> ad.AnnData:
    # genes: MT-A (mito), G1, G2, G3, G4; thresholds: min_genes 2, min_cells 2, max_genes 3, max_pct_mito 30
    counts = np.array(
        [
            [3, 4, 3, 0, 1],  # c1: 4 genes over all, 3 kept genes (= max_genes), 3/10 mito (= 30 %): kept
            [4, 3, 3, 0, 0],  # c2: 40 % mito: removed by max_pct_mito
            [0, 1, 1, 0, 0],  # c3: 2 genes (= min_genes): kept
            [0, 1, 0, 0, 0],  # c4: 1 gene: removed by min_genes
            [1, 1, 1, 1, 0],  # c5: 4 genes (= max_genes + 1): removed by max_genes
            [0, 2, 0, 1, 0],  # c6: 2 genes: kept
        ],
        dtype=np.float32,
    )
    adata = ad.AnnData(X=sparse.csr_matrix(counts))
    adata.obs_names = [f"c{i}" for i in range(1, 7)]
    adata.var_names = ["MT-A", "G1", "G2", "G3", "G4"]
    adata.var["mt"] = [True, False, False, False, False]
    return adata


def test_qc_report_and_steps_by_hand() -> None:
    adata = _qc_data()
    decision = decide_filters(adata, QC)
    # before: genes per cell 4,3,2,1,4,2 (mean 16/6); counts 11,10,2,1,4,3 (31/6); % mito 3/11, 40, 0, 0, 25, 0
    before = decision.report["before"]
    assert before["cells"] == 6 and before["genes"] == 5
    assert before["mean_genes_per_cell"] == pytest.approx(16 / 6)
    assert before["mean_counts_per_cell"] == pytest.approx(31 / 6)
    assert before["mean_pct_mito"] == pytest.approx((300 / 11 + 40 + 25) / 6, rel=1e-6)
    assert decision.report["mito_genes"] == 1
    assert decision.report["filters"] == [
        {
            "filter": "min_genes",
            "threshold": 2,
            "cells_before": 6,
            "cells_after": 5,
            "genes_before": 5,
            "genes_after": 5,
        },
        {
            "filter": "min_cells",
            "threshold": 2,
            "cells_before": 5,
            "cells_after": 5,
            "genes_before": 5,
            "genes_after": 4,
        },
        {
            "filter": "max_genes",
            "threshold": 3,
            "cells_before": 5,
            "cells_after": 4,
            "genes_before": 4,
            "genes_after": 4,
        },
        {
            "filter": "max_pct_mito",
            "threshold": 30.0,
            "cells_before": 4,
            "cells_after": 3,
            "genes_before": 4,
            "genes_after": 4,
        },
    ]
    assert list(decision.report) == ["before", "filters", "mito_genes"]
    # genes per cell before: 4 3 2 1 4 2; cells per gene over the 5 cells min_genes kept: 3 5 4 2 1
    # genes per cell on the 4 kept genes, min_genes' survivors c1 c2 c3 c5 c6: 3 3 2 4 2
    # % mito of max_genes' survivors c1 c2 c3 c6: 30 40 0 0
    steps = [(s.name, s.unit, s.before, s.after, s.threshold, s.distribution) for s in decision.steps]
    assert steps == [
        ("min_genes", "cells", 6, 5, "min_genes >= 2", _spread([4, 3, 2, 1, 4, 2], "genes detected per cell")),
        ("min_cells", "genes", 5, 4, "min_cells >= 2", _spread([3, 5, 4, 2, 1], "cells per gene")),
        ("max_genes", "cells", 5, 4, "max_genes <= 3", _spread([3, 3, 2, 4, 2], "genes detected per cell")),
        ("max_pct_mito", "cells", 4, 3, "max_pct_mito <= 30", _spread([30, 40, 0, 0], "% mito per cell")),
    ]
    np.testing.assert_array_equal(decision.cell_kept, [True, False, True, False, False, True])
    np.testing.assert_array_equal(decision.gene_kept, [True, True, True, True, False])
    np.testing.assert_array_equal(decision.cells_per_gene, [3, 5, 4, 2, 1])
    cells = decision.cells
    assert list(cells.columns) == ["cell_id", "n_genes_by_counts", "total_counts", "pct_counts_mt", "removed_by"]
    assert list(cells["removed_by"]) == ["", "max_pct_mito", "", "min_genes", "max_genes", ""]
    np.testing.assert_array_equal(cells["n_genes_by_counts"], [4, 3, 2, 1, 4, 2])
    np.testing.assert_array_equal(cells["total_counts"], [11, 10, 2, 1, 4, 3])
    assert cells["n_genes_by_counts"].dtype == np.int32 and cells["total_counts"].dtype == np.float32


def test_qc_without_max_thresholds_has_empty_rules() -> None:
    options = QcOptions(**{**QC.as_params(), "max_genes": None, "max_pct_mito": None})
    decision = decide_filters(_qc_data(), options)
    assert [s.threshold for s in decision.steps] == ["min_genes >= 2", "min_cells >= 2", "", ""]
    assert [(s.before, s.after) for s in decision.steps[2:]] == [(5, 5), (5, 5)]
    assert [f["threshold"] for f in decision.report["filters"]] == [2, 2, None, None]
    np.testing.assert_array_equal(decision.cell_kept, [True, True, True, False, True, True])


def test_qc_decimal_mito_threshold_and_rule_text() -> None:
    # c1 has 3 of 10 kept counts in mito: 30 %; at 29.5 it goes, at 30.5 c2 (40 %) still goes
    low = decide_filters(_qc_data(), QcOptions(**{**QC.as_params(), "max_pct_mito": 29.5}))
    np.testing.assert_array_equal(low.cell_kept, [False, False, True, False, False, True])
    assert low.steps[3].threshold == "max_pct_mito <= 29.5"
    high = decide_filters(_qc_data(), QcOptions(**{**QC.as_params(), "max_pct_mito": 40.0}))
    np.testing.assert_array_equal(high.cell_kept, [True, True, True, False, False, True])


@pytest.mark.parametrize(
    ("changes", "unit", "name", "rule"),
    [
        ({"min_genes": 5}, "cells", "min_genes", "min_genes >= 5"),
        ({"min_cells": 6}, "genes", "min_cells", "min_cells >= 6"),
        ({"max_genes": 1}, "cells", "max_genes", "max_genes <= 1"),
        ({"max_pct_mito": 0.0, "min_genes": 4}, "cells", "max_pct_mito", "max_pct_mito <= 0"),
    ],
)
def test_check_left_names_each_filter_whole_line(changes: dict, unit: str, name: str, rule: str) -> None:
    decision = decide_filters(_qc_data(), QcOptions(**{**QC.as_params(), **changes}))
    with pytest.raises(InputError) as caught:
        check_left(decision, "data/x.h5ad")
    assert str(caught.value) == (
        f"data/x.h5ad: params: no {unit} left after the {name} filter ({rule}); relax params.{name} in the card"
    )


def test_check_left_passes_when_something_is_left() -> None:
    check_left(decide_filters(_qc_data(), QC), "x")  # no error: 3 cells and 4 genes left


def test_apply_filters_report_after_and_consumes_the_matrix() -> None:
    adata = _qc_data()
    adata.obs["label"] = list("abcdef")
    adata.var["symbol"] = ["m", "a", "b", "c", "d"]
    decision = decide_filters(adata, QC)
    filtered, report = apply_filters(adata, decision)
    assert list(report) == ["before", "filters", "mito_genes", "after"]
    # kept c1 c3 c6 on MT-A G1 G2 G3: genes 3 2 2, counts 10 2 3, % mito 30 0 0
    assert report["after"] == {
        "cells": 3,
        "genes": 4,
        "mean_genes_per_cell": pytest.approx(7 / 3),
        "mean_counts_per_cell": pytest.approx(15 / 3),
        "mean_pct_mito": pytest.approx(10.0, rel=1e-6),
    }
    np.testing.assert_array_equal(filtered.X.toarray(), [[3, 4, 3, 0], [0, 1, 1, 0], [0, 2, 0, 1]])
    assert list(filtered.obs["label"]) == ["a", "c", "f"] and list(filtered.var["symbol"]) == ["m", "a", "b", "c"]
    assert filtered.X.dtype == np.float32
    # the input's matrix is consumed: an empty matrix of its shape is left in its place
    assert adata.X.shape == (6, 5) and adata.X.nnz == 0


def test_compute_qc_metrics_by_hand() -> None:
    counts = np.array([[1, 0, 3], [0, 0, 0], [2, 2, 0], [0, 5, 1]], dtype=np.float32)
    adata = ad.AnnData(X=sparse.csr_matrix(counts))
    adata.var["mt"] = [True, False, False]
    compute_qc_metrics(adata)
    obs, var = adata.obs, adata.var
    np.testing.assert_array_equal(obs["n_genes"], [2, 0, 2, 2])
    np.testing.assert_array_equal(obs["n_counts"], [4, 0, 4, 6])
    np.testing.assert_array_equal(obs["total_counts_mt"], [1, 0, 2, 0])
    np.testing.assert_allclose(obs["percent_mito"], [25, np.nan, 50, 0])
    np.testing.assert_array_equal(obs["n_genes"], obs["n_genes_by_counts"])
    np.testing.assert_array_equal(obs["percent_mito"], obs["pct_counts_mt"])
    np.testing.assert_array_equal(obs["n_counts"], obs["total_counts"])
    assert obs["total_counts_mt"].dtype == np.float32
    np.testing.assert_array_equal(var["n_cells"], [2, 2, 2])
    np.testing.assert_array_equal(var["n_cells_by_counts"], [2, 2, 2])
    np.testing.assert_allclose(var["mean_counts"], [3 / 4, 7 / 4, 4 / 4])
    np.testing.assert_allclose(var["pct_dropout_by_counts"], [50, 50, 50])
    np.testing.assert_array_equal(var["total_counts"], [3, 7, 4])


def test_pct_mito_is_float32_and_nan_for_empty_cells() -> None:
    result = pct_mito(np.array([1, 0, 3]), np.array([4, 0, 10]))
    assert result.dtype == np.float32
    assert result[0] == np.float32(25) and np.isnan(result[1])
    assert result[2] == np.float32(3) / np.float32(10) * np.float32(100)


def test_mito_within_thresholds_with_many_decimals() -> None:
    # 1/3 of the counts: 33.3333... %; a threshold written with six decimals just below or above it
    mito, total = np.array([1, 1, 0]), np.array([3, 3, 0])
    np.testing.assert_array_equal(mito_within(mito, total, 33.333333), [False, False, False])
    np.testing.assert_array_equal(mito_within(mito, total, 33.333334), [True, True, False])
    np.testing.assert_array_equal(mito_within(np.array([0]), np.array([5]), 0), [True])


def test_read_gene_list_ids_and_symbols(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mito.tsv"
    path.write_text("# mitochondrial genes\ngene_id\tsymbol\nENSG1\tMT-ND1\nENSG2\tMT-CO1\n", encoding="utf-8")
    assert read_gene_list(path) == {"ENSG1", "MT-ND1", "ENSG2", "MT-CO1"}
    # one column (no tab to find: a delimiter sniffer would cut the ids at a letter); numeric ids stay text
    single = tmp_path / "ids.tsv"
    single.write_text("gene_id\nENSG00000198888\nENSG00000198763\n", encoding="utf-8")
    assert read_gene_list(single) == {"ENSG00000198888", "ENSG00000198763"}
    entrez = tmp_path / "entrez.tsv"
    entrez.write_text("entrez\tsymbol\n4508\tMT-ATP6\n", encoding="utf-8")
    assert read_gene_list(entrez) == {"4508", "MT-ATP6"}


def test_flag_mito_fallbacks() -> None:
    # no gene_symbols column: the names are matched by prefix
    plain = pd.DataFrame(index=["MT-CO1", "ACTB", "mt-nd1"])
    assert list(flag_mito(plain, plain.index, ["MT-"], set())) == [True, False, False]
    assert list(flag_mito(plain, plain.index, ["MT-", "mt-"], set())) == [True, False, True]
    assert list(flag_mito(plain, plain.index, [], {"ACTB"})) == [False, True, False]
    # an empty symbol falls back to the name; a gene list matches ids and symbols too
    var = pd.DataFrame(
        {"gene_ids": ["E1", "E2", "E3", "E4"], "gene_symbols": ["", "ND5", "CD4", "X"]},
        index=["MT-X", "n2", "n3", "n4"],
    )
    assert list(flag_mito(var, var.index, ["MT-"], set())) == [True, False, False, False]
    assert list(flag_mito(var, var.index, [], {"ND5"})) == [False, True, False, False]
    assert list(flag_mito(var, var.index, [], {"E3"})) == [False, False, True, False]
    assert list(flag_mito(var, var.index, [], {"n4"})) == [False, False, False, True]
    # a symbol that is not an empty string is not replaced by the name
    assert list(flag_mito(var, var.index, ["n"], set())) == [False, False, False, False]


# -------------------------------------------------------------------------------------------------------- preprocess


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


# --------------------------------------------------------------------------------------------------------- splitting


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


# ----------------------------------------------------------------------------------------------------------- augment


def _small_counts() -> sparse.csr_matrix:
    # cell 2 is empty (no draw may be spent on it); integer counts stored as float32
    return sparse.csr_matrix(
        np.array([[5, 0, 3, 1], [0, 0, 0, 0], [2, 7, 0, 0], [0, 1, 1, 9], [4, 4, 0, 2]], dtype=np.float32)
    )


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


def _cells(labels: bool = True):  # type: ignore[no-untyped-def]
    from genoprep.scrna.augment import SplitCells

    counts = _small_counts()
    splits = ["train", "val", "train", "train", "test"]  # val and test have one cell each: no doublets there
    return SplitCells.of(counts, [f"c{i}" for i in range(5)], splits, [f"t{i}" for i in range(5)] if labels else None)


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


def test_augment_processed_kinds_and_refusals(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from genoprep.errors import InputError
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


def test_pct_mito_of_an_empty_cell_is_nan_without_a_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0/0 of an empty cell: NaN, no RuntimeWarning in the step's log
        result = pct_mito(np.array([0, 2]), np.array([0, 4]))
    assert np.isnan(result[0]) and result[1] == np.float32(50)


def test_mito_within_a_cell_with_one_count() -> None:
    # one count in total: 0 % or 100 % mito; at 30 the first is kept, at 100 both
    np.testing.assert_array_equal(mito_within(np.array([0, 1]), np.array([1, 1]), 30), [True, False])
    np.testing.assert_array_equal(mito_within(np.array([0, 1]), np.array([1, 1]), 100), [True, True])


def test_mito_threshold_denominator_is_bounded_at_a_million() -> None:
    # 33.3333333 (seven decimals) is taken as the nearest fraction with a denominator <= 10**6: 100/3, so a cell
    # with 1 of 3 counts in mito is kept (the bound keeps mito * 100 * q exact in float64 for counts < 2**24)
    np.testing.assert_array_equal(mito_within(np.array([1, 2]), np.array([3, 5]), 33.3333333), [True, False])


def test_max_filters_after_every_cell_is_gone_have_no_distribution() -> None:
    decision = decide_filters(_qc_data(), QcOptions(**{**QC.as_params(), "min_genes": 99}))
    assert [(s.before, s.after) for s in decision.steps] == [(6, 0), (5, 0), (0, 0), (0, 0)]
    assert decision.steps[0].distribution == _spread([4, 3, 2, 1, 4, 2], "genes detected per cell")
    assert decision.steps[2].distribution == "" and decision.steps[3].distribution == ""
    # min_cells over no cells: every gene is in 0 cells
    assert decision.steps[1].distribution == _spread([0, 0, 0, 0, 0], "cells per gene")


def test_apply_filters_moves_values_in_place_and_keeps_an_empty_kept_gene() -> None:
    # G3 is in c2 and c5 (min_cells 2: kept), both removed later: the kept gene has no value in the kept cells
    counts = np.array(
        [
            [3, 4, 3, 0, 1],  # c1: kept
            [4, 3, 3, 2, 0],  # c2: 40 % mito: removed
            [0, 1, 1, 0, 0],  # c3: kept
            [0, 1, 0, 0, 0],  # c4: min_genes
            [1, 1, 1, 1, 0],  # c5: max_genes
            [0, 2, 1, 0, 0],  # c6: kept
        ],
        dtype=np.float32,
    )
    adata = ad.AnnData(X=sparse.csr_matrix(counts))
    adata.obs_names = [f"c{i}" for i in range(1, 7)]
    adata.var_names = ["MT-A", "G1", "G2", "G3", "G4"]
    adata.var["mt"] = [True, False, False, False, False]
    values = adata.X.data
    decision = decide_filters(adata, QC)
    np.testing.assert_array_equal(decision.cell_kept, [True, False, True, False, False, True])
    filtered, _ = apply_filters(adata, decision)
    assert filtered.shape == (3, 4) and filtered.X.shape == (3, 4)
    np.testing.assert_array_equal(filtered.X.toarray(), [[3, 4, 3, 0], [0, 1, 1, 0], [0, 2, 1, 0]])
    assert filtered.var["n_cells"].tolist() == [1, 3, 3, 0]
    assert filtered.X.data.size == filtered.X.indices.size == filtered.X.nnz == 7
    del values


def test_apply_filters_keeps_the_values_in_the_input_array() -> None:
    # everything kept: the filtered matrix's values are the input's own array (scipy copies a view only
    # when it is less than half of its array), not a second copy of the matrix
    adata = _qc_data()
    values = adata.X.data
    options = QcOptions(**{**QC.as_params(), "min_genes": 1, "min_cells": 1, "max_genes": None, "max_pct_mito": None})
    filtered, _ = apply_filters(adata, decide_filters(adata, options))
    assert filtered.shape == (6, 5) and np.shares_memory(filtered.X.data, values)
    np.testing.assert_array_equal(filtered.X.toarray(), _qc_data().X.toarray())


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


# ------------------------------------------------------------------------------------------------------------ tokens


def test_rank_tokens_summary_and_parameters_by_hand() -> None:
    from genoprep.scrna.tokens import RankOptions, RankTokenizer

    # cell 0: counts 3 (gene 1), 3 (gene 3), 1 (gene 2) -> 1, 3, 2 (tie by index); cell 1 empty: dropped;
    # cell 2: 5 (0), 4 (4), 2 (2), 1 (1) -> 0, 4, 2, truncated at 3 genes without a tie at the boundary
    counts = sparse.csr_matrix(np.array([[0, 3, 1, 3, 0], [0, 0, 0, 0, 0], [5, 1, 2, 0, 4]], dtype=np.float32))
    tokenizer = RankTokenizer(5, RankOptions(n_genes=3))
    chunk = tokenizer.tokenize_chunk(counts)
    assert chunk.kept.tolist() == [True, False, True] and chunk.offsets.tolist() == [0, 3, 6]
    assert chunk.input_ids.tolist() == [1, 3, 2, 0, 4, 2]
    assert tokenizer.summary() == {
        "n_genes": 3,
        "cells_tokenised": 2,
        "cells_dropped_empty": 1,
        "cells_truncated": 1,
        "ties_at_truncation": 0,
        "tokens": 6,
        "mean_spearman_vs_geneformer": None,
        "spearman_cells": 0,
    }
    assert tokenizer.parameters() == {
        "scheme": "rank",
        "n_genes": 3,
        "ids": "indices into features",
        "order": "raw count descending, ties by gene index ascending",
    }
    with pytest.raises(InputError) as caught:
        tokenizer.tokenize_chunk(sparse.csr_matrix((1, 4), dtype=np.float32))
    assert str(caught.value) == "counts: chunk has 4 genes, the dataset 5"


def test_normalise_ensembl_id_and_spec_text() -> None:
    from genoprep.scrna.tokens.geneformer import VERSIONS, _spec_text, normalise_ensembl_id

    assert normalise_ensembl_id(" ensg00000141510.16 ") == "ENSG00000141510"
    assert normalise_ensembl_id("ENSG1.2.3") == "ENSG1"
    assert _spec_text(VERSIONS["v2"]) == "<pad>=0, <mask>=1, <cls>=2, <eos>=3"
    assert _spec_text(VERSIONS["v1"]) == "<pad>=0, <mask>=1"


def _scgpt_tokenizer(select: str = "highest"):  # type: ignore[no-untyped-def]
    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer, ScgptVocabulary

    vocabulary = ScgptVocabulary.from_mapping({s: i for i, s in enumerate("ABCDE")}, "vocab.json")
    options = ScgptOptions(vocab="vocab.json", n_bins=5, max_len=10, genes="hvg", select=select, seed=4)
    return ScgptTokenizer(vocabulary, ["A", "Z", "C", "D"], options, np.array([True, True, False, True]))


def test_scgpt_summary_and_parameters_by_hand() -> None:
    tokenizer = _scgpt_tokenizer()
    # A and D are in the HVG set and the vocabulary (Z is not in the vocabulary, C not an HVG): <cls>, A, D
    chunk = tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[1.0, 9.0, 9.0, 3.0], [0, 0, 0, 0]])))
    assert chunk.input_ids.tolist() == [6, 0, 3]
    share = (np.expm1(1.0) + np.expm1(3.0)) / (np.expm1(1.0) + 2 * np.expm1(9.0) + np.expm1(3.0))
    summary = tokenizer.summary()
    assert summary.pop("share_of_counts_in_vocabulary") == pytest.approx(share, rel=1e-12)
    assert summary == {
        "n_bins": 5,
        "max_len": 10,
        "genes": "hvg",
        "select": "highest",
        "genes_in_input": 4,
        "genes_in_set": 3,
        "genes_in_vocabulary": 2,
        "cells_tokenised": 1,
        "cells_dropped_empty": 1,
        "cells_truncated": 0,
        "ties_at_truncation": 0,
        "tokens": 3,
        "vocabulary": {"special_tokens_appended": ["<pad>", "<cls>", "<eoc>"]},
    }
    assert tokenizer.parameters() == {
        "scheme": "scgpt",
        "n_bins": 5,
        "max_len": 10,
        "genes": "hvg",
        "select": "highest",
        "seed": 4,
        "cls_id": 6,
        "pad_id": 5,
        "values": "normalize_total + log1p, float64",
        "binning": "np.digitize(value, np.quantile(nonzero, np.linspace(0, 1, n_bins - 1))), left side",
        "order": "<cls> then genes in column order",
        "vocab_sha256": None,
    }
    sampled = _scgpt_tokenizer("sample")
    assert sampled.summary()["ties_at_truncation"] is None  # a sample has no truncation boundary
    assert "ties_at_truncation" in tokenizer.summary()


def test_scgpt_vocabulary_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    import json

    from genoprep.scrna.tokens import ScgptVocabulary

    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"A": 0, "B": 1, "<pad>": 2}), encoding="utf-8")
    vocabulary = ScgptVocabulary.load(str(path))
    assert vocabulary.ids == {"A": 0, "B": 1, "<pad>": 2, "<cls>": 3, "<eoc>": 4}
    assert vocabulary.appended == ["<cls>", "<eoc>"]
    assert vocabulary.facts["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert vocabulary.facts["special_tokens_appended"] == ["<cls>", "<eoc>"]
    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer

    options = ScgptOptions(vocab=str(path), n_bins=3, max_len=2, genes="all", select="highest", seed=0)
    parameters = ScgptTokenizer(vocabulary, ["A", "B"], options).parameters()
    assert parameters["vocab_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(InputError) as caught:
        ScgptVocabulary.load(None)
    assert str(caught.value) == ("card: params.scgpt.vocab is not set: the scgpt tokens need scGPT's vocabulary JSON")


def test_rank_summary_with_geneformer_spearman() -> None:
    from genoprep.scrna.tokens import RankOptions, RankTokenizer
    from genoprep.scrna.tokens.chunks import TokenStats

    stats = TokenStats()
    stats.add_spearman(np.array([0.5, np.nan, 1.0]))  # a cell without a defined correlation is left out
    summary = RankTokenizer(3, RankOptions(n_genes=2)).summary(stats)
    assert summary["mean_spearman_vs_geneformer"] == pytest.approx(0.75) and summary["spearman_cells"] == 2
    assert list(summary)[-2:] == ["mean_spearman_vs_geneformer", "spearman_cells"]
    empty = RankTokenizer(3, RankOptions(n_genes=2)).summary(TokenStats())
    assert empty["mean_spearman_vs_geneformer"] is None and empty["spearman_cells"] == 0


def test_scgpt_refusals_name_their_source_and_duplicates_are_summed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from genoprep.scrna.tokens import ScgptVocabulary

    missing = tmp_path / "none.json"
    with pytest.raises(InputError) as caught:
        ScgptVocabulary.load(str(missing))
    assert str(caught.value) == (
        f"{missing}: scGPT vocabulary not found (dictionaries are read from the paths in the card, never downloaded)"
    )
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        ScgptVocabulary.load(str(listed))
    assert str(caught.value) == f"{listed}: scGPT vocabulary holds a list, not a dictionary"
    twice = tmp_path / "twice.json"
    twice.write_text('{"A": 0, "B": 0}', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        ScgptVocabulary.load(str(twice))
    assert str(caught.value) == f"{twice}: scGPT vocabulary gives the same id to two genes"
    tokenizer = _scgpt_tokenizer()
    with pytest.raises(InputError) as caught:
        tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[-1.0, 0, 0, 1.0]])))
    assert str(caught.value) == (
        "normalised values: the matrix holds negative values; tokens need counts or normalised values >= 0"
    )
    with pytest.raises(InputError) as caught:
        tokenizer.tokenize_chunk(sparse.csr_matrix((1, 3)))
    assert str(caught.value) == "values: chunk has 3 genes, the dataset 4"
    # gene A stored twice (0.5 + 0.5) and out of column order: the same tokens and bins as one value 1.0
    duplicated = sparse.csr_matrix((np.array([3.0, 0.5, 0.5]), np.array([3, 0, 0]), np.array([0, 3])), shape=(1, 4))
    plain = _scgpt_tokenizer().tokenize_chunk(sparse.csr_matrix(np.array([[1.0, 0, 0, 3.0]])))
    summed = _scgpt_tokenizer().tokenize_chunk(duplicated)
    assert summed.input_ids.tolist() == plain.input_ids.tolist() == [6, 0, 3]
    assert summed.values.tolist() == plain.values.tolist()
    assert duplicated.data.tolist() == [3.0, 0.5, 0.5]  # the input is not changed


GENEFORMER_GENES = ["ENSG00000000003", "ENSG00000000005"]


def _geneformer_v2(size: int):
    """Card options (v2, special tokens, the given model_input_size) and a two-gene vocabulary (medians 1.5, 2)."""
    from genoprep.scrna.tokens import GeneformerOptions, GeneformerVocabulary

    options = GeneformerOptions(
        version="v2",
        model_input_size=size,
        special_tokens=None,
        token_dictionary=None,
        gene_median_dictionary=None,
        gene_name_id_dictionary=None,
    )
    genes = GENEFORMER_GENES
    tokens = {"<pad>": 0, "<mask>": 1, "<cls>": 2, "<eos>": 3, genes[0]: 4, genes[1]: 5}
    return options, GeneformerVocabulary.load(options, tokens=tokens, medians={genes[0]: 1.5, genes[1]: 2.0})


def test_geneformer_parameters_by_hand() -> None:
    from genoprep.scrna.tokens import GeneformerTokenizer

    genes = GENEFORMER_GENES
    options, vocabulary = _geneformer_v2(6)
    assert GeneformerTokenizer(vocabulary, genes, options).parameters() == {
        "scheme": "geneformer",
        "version": "v2",
        "model_input_size": 6,
        "special_tokens": True,
        "genes_per_cell": 4,  # 6 minus <cls> and <eos>
        "target_sum": 10_000,
        "tie_break": "token id ascending",
        "n_counts": "total over all genes of the input matrix",
        "dictionaries": {
            "token_dictionary": "derived from the dataset",
            "gene_median_dictionary": "derived from the dataset",
        },
    }


def test_geneformer_parameters_name_dictionary_files_by_their_sha256(tmp_path) -> None:
    """Dictionaries read from files are named by the sha256 of their bytes (hashlib over the file)."""
    import hashlib
    import json

    from genoprep.scrna.tokens import GeneformerOptions, GeneformerTokenizer, GeneformerVocabulary

    genes = ["ENSG00000000003", "ENSG00000000005"]
    files = {
        "token_dictionary": {"<pad>": 0, "<mask>": 1, genes[0]: 2, genes[1]: 3},
        "gene_median_dictionary": {genes[0]: 1.5, genes[1]: 2.0},
        "gene_name_id_dictionary": {"TSPAN6": genes[0]},
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(content), encoding="utf-8")
    options = GeneformerOptions(
        version="v1", model_input_size=4, special_tokens=None, **{k: str(v) for k, v in paths.items()}
    )
    vocabulary = GeneformerVocabulary.load(options)
    dictionaries = GeneformerTokenizer(vocabulary, genes, options).parameters()["dictionaries"]
    assert dictionaries == {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in paths.items()}


def test_gene_median_accumulator_by_hand() -> None:
    """Non-zero medians of count / cell total * 10,000 over two chunks, by hand: symbols mapped through
    gene_name_id (a versioned lower-case id, two symbols of one id summed), a gene never detected (left
    out), a last column without an id (still counted in the cell's total)."""
    from genoprep.scrna.tokens.geneformer import GeneMedianAccumulator

    names = ["TSPAN6", "TNMD", "SPIKE1", "TSPAN6B", "DPM1", "SCYL3", "TAIL"]
    ids = ["ensg00000000003.4", "ENSG00000000005", "ENSG00000000007", "ENSG00000000003", "ENSG00000000010"]
    accumulator = GeneMedianAccumulator(names, dict(zip(names, [*ids, "ENSG00000000020"])))
    genes = ["ENSG00000000003", "ENSG00000000005", "ENSG00000000007", "ENSG00000000010", "ENSG00000000020"]
    assert accumulator.genes == genes
    accumulator.add(sparse.csr_matrix(np.array([[1, 2, 0, 1, 0, 0, 4], [0, 0, 3, 0, 1, 0, 1]], dtype=np.float32)))
    accumulator.add(np.array([[3, 1, 1, 0, 0, 0, 5], [0, 0, 0, 0, 0, 0, 2]], dtype=np.int32))
    # cell totals 8, 5, 10, 2. ENSG3: 2/8, 3/10 -> 2500, 3000; ENSG5: 2/8, 1/10 -> 2500, 1000;
    # ENSG7 (SPIKE1): 3/5, 1/10 -> 6000, 1000; ENSG10: 1/5 -> 2000; ENSG20: never detected
    medians = accumulator.medians()
    assert list(medians) == ["ENSG00000000003", "ENSG00000000005", "ENSG00000000007", "ENSG00000000010"]
    assert medians == pytest.approx(
        {"ENSG00000000003": 2750.0, "ENSG00000000005": 1750.0, "ENSG00000000007": 3500.0, "ENSG00000000010": 2000.0},
        rel=1e-12,
    )


@pytest.mark.parametrize(
    ("changes", "hvg", "line"),
    [
        ({"n_bins": 2}, [True] * 4, "card: params.scgpt.n_bins is 2; at least 3 are needed"),
        ({"max_len": 1}, [True] * 4, "card: params.scgpt.max_len is 1; <cls> and one gene need 2"),
        ({}, None, "card: params.scgpt.genes is hvg but no highly-variable genes were given"),
        ({}, [True] * 3, "card: 3 HVG flags for 4 genes"),
        (
            {},
            [False, True, True, False],
            "genes: none of the 2 genes of the set is in the scGPT vocabulary (matched by symbol), e.g. A, Z, C",
        ),
    ],
)
def test_scgpt_tokenizer_refusals_whole_line(changes: dict, hvg: list | None, line: str) -> None:
    import dataclasses

    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer, ScgptVocabulary

    vocabulary = ScgptVocabulary.from_mapping({s: i for i, s in enumerate("ABDE")}, "vocab.json")
    options = ScgptOptions(vocab="vocab.json", n_bins=5, max_len=10, genes="hvg", select="highest", seed=4)
    flags = None if hvg is None else np.array(hvg)
    with pytest.raises(InputError) as caught:
        ScgptTokenizer(vocabulary, ["A", "Z", "C", "D"], dataclasses.replace(options, **changes), flags)
    assert str(caught.value) == line


def test_scgpt_tokenizer_two_symbols_of_one_id_are_refused() -> None:
    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer, ScgptVocabulary

    vocabulary = ScgptVocabulary.from_mapping({"A": 0, "C": 1}, "vocab.json")
    options = ScgptOptions(vocab="vocab.json", n_bins=5, max_len=10, genes="all", select="highest", seed=4)
    with pytest.raises(InputError) as caught:
        ScgptTokenizer(vocabulary, ["A", "C", "A"], options)  # one symbol in two columns
    assert str(caught.value) == "genes: two genes of the dataset map to the same scGPT vocabulary id"


def test_scgpt_counts_share_over_two_float32_chunks() -> None:
    """The share of counts in the vocabulary sums expm1 of the float32 values in float64 over every chunk."""
    tokenizer = _scgpt_tokenizer()
    tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[1, 9, 9, 3]], dtype=np.float32)))
    tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[2, 0, 5, 0]], dtype=np.float32)))
    # A (column 1) and D (column 4) are HVGs in the vocabulary; Z and C count only in the total
    in_vocabulary = np.expm1(1.0) + np.expm1(3.0) + np.expm1(2.0)
    total = in_vocabulary + 2 * np.expm1(9.0) + np.expm1(5.0)
    assert tokenizer.summary()["share_of_counts_in_vocabulary"] == pytest.approx(in_vocabulary / total, rel=1e-12)


def test_scgpt_dataset_gene_named_like_a_special_token_is_not_mapped() -> None:
    from genoprep.scrna.tokens import ScgptOptions, ScgptTokenizer, ScgptVocabulary

    vocabulary = ScgptVocabulary.from_mapping({"A": 0, "D": 1}, "vocab.json")  # <pad>, <cls>, <eoc> appended
    options = ScgptOptions(vocab="vocab.json", n_bins=5, max_len=10, genes="all", select="highest", seed=4)
    tokenizer = ScgptTokenizer(vocabulary, ["A", "<cls>", "D"], options)
    assert tokenizer.genes == {"genes_in_input": 3, "genes_in_set": 3, "genes_in_vocabulary": 2}


def test_scgpt_vocabulary_with_a_negative_id_whole_line() -> None:
    from genoprep.scrna.tokens import ScgptVocabulary

    with pytest.raises(InputError) as caught:
        ScgptVocabulary.from_mapping({"A": 0, "B": -1}, "vocab.json")
    assert (
        str(caught.value) == "vocab.json: scGPT vocabulary: the value of 'B' is -1, expected a non-negative integer id"
    )


def test_geneformer_summary_header_and_chunk_refusal() -> None:
    from genoprep.scrna.tokens import GeneformerTokenizer

    genes = GENEFORMER_GENES
    options, vocabulary = _geneformer_v2(6)
    tokenizer = GeneformerTokenizer(vocabulary, genes, options)
    summary = tokenizer.summary()
    assert (summary["version"], summary["model_input_size"], summary["special_tokens"]) == ("v2", 6, True)
    assert summary["dictionaries"] == {
        "token_dictionary": {"derived_from_dataset": True, "entries": 6, "fits_version": "v2"},
        "gene_median_dictionary": {"derived_from_dataset": True, "entries": 2},
    }
    with pytest.raises(InputError) as caught:
        tokenizer.tokenize_chunk(sparse.csr_matrix(np.ones((1, 3), dtype=np.float32)))
    assert str(caught.value) == "counts: chunk has 3 genes, the dataset 2"


def test_geneformer_share_over_two_chunks_and_the_input_size_refusal() -> None:
    from genoprep.scrna.tokens import GeneformerTokenizer

    genes = [*GENEFORMER_GENES, "ENSG00000000099"]  # the last one is in no dictionary
    options, vocabulary = _geneformer_v2(6)
    tokenizer = GeneformerTokenizer(vocabulary, genes, options)
    tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[1, 2, 3]], dtype=np.float32)))
    tokenizer.tokenize_chunk(sparse.csr_matrix(np.array([[4, 0, 5]], dtype=np.float32)))
    # raw counts of genes in the dictionaries over all counts, both chunks: (1 + 2 + 4) / (6 + 9)
    assert tokenizer.summary()["share_of_counts_in_vocabulary"] == pytest.approx(7 / 15, rel=1e-12)
    with pytest.raises(InputError) as caught:
        GeneformerTokenizer(vocabulary, genes, _geneformer_v2(2)[0])  # <cls> and <eos> take both places
    assert str(caught.value) == "card: params.geneformer.model_input_size 2 leaves no room for genes"


def test_geneformer_spearman_against_scipy_and_no_specials_by_hand() -> None:
    """with_spearman: the mean per-cell Spearman rho between a cell's raw counts and its Geneformer values over all
    its in-vocabulary genes (not only the kept ones), against scipy; cells with a constant side or no gene left out.
    v1 has no <cls>/<eos>: each cell's tokens are its top genes only. Without with_spearman nothing is scored."""
    from scipy import stats

    from genoprep.scrna.tokens import (
        GeneformerOptions,
        GeneformerTokenizer,
        GeneformerVocabulary,
        RankOptions,
        RankTokenizer,
    )

    options = GeneformerOptions(
        version="v1",
        model_input_size=3,
        special_tokens=None,
        token_dictionary=None,
        gene_median_dictionary=None,
        gene_name_id_dictionary=None,
    )
    genes = [f"ENSG0000000000{i}" for i in range(4)] + ["ENSG00000000099"]  # the last one in no dictionary
    medians = np.array([1.0, 4.0, 0.5, 2.0])
    tokens = {"<pad>": 0, "<mask>": 1, **{gene: 2 + i for i, gene in enumerate(genes[:4])}}
    vocabulary = GeneformerVocabulary.load(options, tokens=tokens, medians=dict(zip(genes[:4], medians, strict=True)))
    counts = np.array(
        [
            [1, 2, 3, 4, 7],  # values 1, 0.5, 6, 2 (x 10,000 / 17): rho 0.6 over 4 genes, 3 kept
            [2, 2, 0, 0, 1],  # constant counts: rho undefined
            [0, 0, 0, 0, 3],  # no gene in the vocabulary: dropped
            [0, 1, 0, 5, 0],  # values 0.25, 2.5: rho 1
        ],
        dtype=np.float32,
    )
    expected = []
    for row in counts:
        detected = row[:4] > 0
        if detected.sum() >= 2 and np.unique(row[:4][detected]).shape[0] > 1:
            values = row[:4][detected] / row.sum() * 10_000 / medians[detected]
            expected.append(stats.spearmanr(row[:4][detected], values).statistic)
    assert expected == pytest.approx([0.6, 1.0])
    scored = GeneformerTokenizer(vocabulary, genes, options, with_spearman=True)
    chunk = scored.tokenize_chunk(sparse.csr_matrix(counts))
    # by value descending, no <cls>/<eos>; the cell without a vocabulary gene dropped
    assert (chunk.input_ids.tolist(), chunk.offsets.tolist()) == ([4, 5, 2, 2, 3, 5, 3], [0, 3, 5, 7])
    assert chunk.kept.tolist() == [True, True, False, True]
    summary = RankTokenizer(5, RankOptions(n_genes=3)).summary(scored.stats)
    assert summary["mean_spearman_vs_geneformer"] == pytest.approx(np.mean(expected), rel=1e-12)
    assert summary["spearman_cells"] == 2
    plain = GeneformerTokenizer(vocabulary, genes, options)  # the default: no Spearman
    plain.tokenize_chunk(sparse.csr_matrix(counts))
    assert (plain.stats.spearman_cells, plain.stats.spearman_sum) == (0, 0.0)


def _geneformer_options(version: str = "v2", **fields) -> object:
    from genoprep.scrna.tokens import GeneformerOptions

    base = dict(model_input_size=None, special_tokens=None, token_dictionary=None, gene_median_dictionary=None)
    return GeneformerOptions(version=version, **{**base, "gene_name_id_dictionary": None, **fields})


def _refusal(call) -> str:
    with pytest.raises(InputError) as caught:
        call()
    return str(caught.value)


def test_geneformer_dictionary_refusals_whole_line(tmp_path) -> None:
    """Each Geneformer dictionary refusal as one whole line naming its file (or the derived dictionary)."""
    import json

    from genoprep.scrna.tokens import GeneformerVocabulary

    gene, other = "ENSG00000000003", "ENSG00000000005"
    medians = {gene: 1.5, other: 2.0}

    def json_file(name: str, content: object) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(content), encoding="utf-8")
        return str(path)

    def load_v1(tokens: object, version: str = "v1", **fields) -> str:
        path = json_file("tokens.json", tokens)
        options = _geneformer_options(version, token_dictionary=path, **fields)
        return _refusal(lambda: GeneformerVocabulary.load(options, medians=medians)).replace(path, "FILE")

    v1 = {"<pad>": 0, "<mask>": 1}
    assert load_v1({**v1, gene: -1}) == (
        "FILE: token dictionary: the value of 'ENSG00000000003' is -1, expected a non-negative integer token id"
    )
    assert load_v1({"<pad>": 0, gene: 2}) == (
        "FILE: token dictionary does not fit Geneformer v1: <mask> is absent, v1 needs <mask>=1 (<pad>=0, <mask>=1)"
    )
    assert load_v1({**v1, "<cls>": 2, "<eos>": 3, gene: 4}) == (
        "FILE: token dictionary does not fit Geneformer v1: it has <cls>/<eos> (a V2 dictionary); "
        "set geneformer.version: v2"
    )
    assert load_v1({**v1, gene: 2}, special_tokens=True) == (
        "FILE: token dictionary has no <cls>/<eos> but geneformer.special_tokens is true (a V1 dictionary)"
    )
    assert load_v1({**v1, gene: 1}) == "FILE: token dictionary gives gene ENSG00000000003 the id of a special token (1)"
    # only <...> names are special: a gene named with one bracket is a gene (and clashes with <mask>'s id)
    assert load_v1({**v1, "GENE>": 1}) == "FILE: token dictionary gives gene GENE> the id of a special token (1)"
    assert load_v1({**v1, gene: 2, other: 2}) == "FILE: token dictionary gives the same id to two genes"
    assert load_v1([1, 2]) == "FILE: token dictionary holds a list, not a dictionary"
    # derived dictionaries are named as such
    assert _refusal(
        lambda: GeneformerVocabulary.load(_geneformer_options("v1"), tokens={**v1, gene: 1}, medians=medians)
    ) == ("derived token dictionary: token dictionary gives gene ENSG00000000003 the id of a special token (1)")
    tokens = {**v1, gene: 2, other: 3}
    assert _refusal(lambda: GeneformerVocabulary.load(_geneformer_options("v1"), tokens=tokens, medians={gene: 0})) == (
        "derived gene median dictionary: gene median dictionary: the value of 'ENSG00000000003' is 0, "
        "expected a positive finite number"
    )
    medians_path = json_file("medians.json", {gene: -2.0})
    options = _geneformer_options("v1", gene_median_dictionary=medians_path)
    assert _refusal(lambda: GeneformerVocabulary.load(options, tokens=tokens)) == (
        f"{medians_path}: gene median dictionary: the value of 'ENSG00000000003' is -2.0, "
        "expected a positive finite number"
    )
    assert _refusal(lambda: GeneformerVocabulary.load(_geneformer_options("v1"), medians=medians)) == (
        "card: params.geneformer.token_dictionary is not set and no derived dictionary was given"
    )
    names_path = json_file("names.json", {"TSPAN6": 5})
    options = _geneformer_options("v1", gene_name_id_dictionary=names_path)
    assert _refusal(lambda: GeneformerVocabulary.load(options, tokens=tokens, medians=medians)) == (
        f"{names_path}: gene name id dictionary: the value of 'TSPAN6' is 5, expected an Ensembl gene id"
    )
    names_path = json_file("names_list.json", ["TSPAN6"])
    options = _geneformer_options("v1", gene_name_id_dictionary=names_path)
    assert _refusal(lambda: GeneformerVocabulary.load(options, tokens=tokens, medians=medians)) == (
        f"{names_path}: gene name id dictionary holds a list, not a dictionary"
    )
    # a file's gene ids are upper-cased (special tokens kept), the version recorded
    path = json_file("lower.json", {**v1, gene.lower(): 2})
    vocabulary = GeneformerVocabulary.load(_geneformer_options("v1", token_dictionary=path), medians=medians)
    assert (vocabulary.tokens, vocabulary.version) == ({**v1, gene: 2}, "v1")


def test_geneformer_gene_ids_summary_and_the_no_gene_refusal() -> None:
    """ensembl_ids_of on a list of Ensembl ids with a symbol and a spike-in (>= 90 % ids: the symbol goes through
    gene_name_id), the tokenizer's gene counts by hand, and the 'none of the genes' refusal with each hint."""
    from genoprep.scrna.tokens import GeneformerTokenizer, GeneformerVocabulary
    from genoprep.scrna.tokens.geneformer import ensembl_ids_of

    ids = [f"ENSG{i:011d}" for i in range(1, 20)]  # 19 ids + 2 others: 90.5 % ids
    names = [f"{ids[0].lower()}.7", *ids[1:], "TSPAN6", "ERCC-00002"]
    mapping = {"TSPAN6": "ensg00000000419.12"}
    assert ensembl_ids_of(names, mapping) == [*ids, "ENSG00000000419", None]
    assert ensembl_ids_of(["TSPAN6", "tspan6", "ACTB"], mapping) == ["ENSG00000000419", None, None]  # exact symbols

    tokens = {"<pad>": 0, "<mask>": 1, ids[0]: 2, ids[1]: 3, "ENSG00000000419": 4}
    medians = {ids[0]: 1.0, ids[1]: 2.0, ids[2]: 3.0, "ENSG00000000419": 4.0}  # ids[2] has no token
    vocabulary = GeneformerVocabulary.load(_geneformer_options("v1"), tokens=tokens, medians=medians)
    vocabulary.gene_name_id = mapping
    tokenizer = GeneformerTokenizer(vocabulary, names, _geneformer_options("v1"))
    summary = tokenizer.summary()
    assert {key: summary[key] for key in ("genes_in_input", "genes_with_ensembl_id")} == {
        "genes_in_input": 21,
        "genes_with_ensembl_id": 20,  # every name but the spike-in
    }
    assert (summary["genes_in_vocabulary"], summary["distinct_tokens"]) == (3, 3)  # ids 0, 1 and TSPAN6's
    # two symbols of one id share a token: 2 genes in the vocabulary, 1 distinct token
    twice = GeneformerTokenizer(vocabulary, ["TSPAN6", "TSPAN6"], _geneformer_options("v1")).summary()
    assert (twice["genes_in_input"], twice["genes_in_vocabulary"], twice["distinct_tokens"]) == (2, 2, 1)

    vocabulary.gene_name_id = None
    symbols = ["A1", "B2", "C3", "D4"]
    assert _refusal(lambda: GeneformerTokenizer(vocabulary, symbols, _geneformer_options("v1"))) == (
        "genes: none of the 4 genes is in both Geneformer dictionaries (the names are not Ensembl ids and no "
        "gene_name_id_dictionary is set), e.g. A1, B2, C3"
    )
    unknown = [f"ENSG{i:011d}" for i in range(50, 54)]
    assert _refusal(lambda: GeneformerTokenizer(vocabulary, unknown, _geneformer_options("v1"))) == (
        "genes: none of the 4 genes is in both Geneformer dictionaries (wrong dictionaries or species?), "
        "e.g. ENSG00000000050, ENSG00000000051, ENSG00000000052"
    )
    vocabulary.gene_name_id = mapping  # symbols that are not in it: not the "no gene_name_id" hint
    assert _refusal(lambda: GeneformerTokenizer(vocabulary, symbols, _geneformer_options("v1"))) == (
        "genes: none of the 4 genes is in both Geneformer dictionaries (wrong dictionaries or species?), "
        "e.g. A1, B2, C3"
    )


# --------------------------------------------------------------------------------------------------------- resources


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
