"""QC: mitochondrial genes, filter order and thresholds, hand-computed on tiny matrices.

Every filter is tested with cells (or genes) exactly at its threshold: the card's
thresholds are inclusive (``>= min``, ``<= max``).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna.options import QcOptions
from genoprep.scrna.qc import (
    apply_filters,
    check_left,
    compute_qc_metrics,
    decide_filters,
    flag_mito,
    mito_within,
    read_gene_list,
)

OPTIONS = QcOptions(
    min_genes=2,
    min_cells=2,
    max_genes=3,
    max_pct_mito=30.0,
    mito_prefixes=("MT-",),
    mito_genes=(),
    min_fraction_kept=0.0,
)


def make(counts: np.ndarray, genes: list[str]) -> ad.AnnData:
    adata = ad.AnnData(X=sparse.csr_matrix(np.asarray(counts, dtype=np.float32)))
    adata.obs_names = [f"c{i}" for i in range(1, adata.n_obs + 1)]
    adata.var_names = genes
    adata.var["mt"] = [g.startswith("MT-") for g in genes]
    return adata


def tiny() -> ad.AnnData:
    # genes: MT-A (mito), G1, G2, G3, G4
    return make(
        [
            [1, 2, 2, 0, 0],  # c1: 3 genes, 1/5 = 20% mito -> kept
            [0, 5, 0, 0, 0],  # c2: 1 gene -> removed by min_genes=2
            [6, 1, 1, 0, 0],  # c3: 3 genes, 6/8 = 75% mito -> removed by max_pct_mito=30
            [1, 1, 1, 1, 0],  # c4: 4 genes -> removed by max_genes=3
            [0, 3, 1, 0, 0],  # c5: 2 genes, 0% mito -> kept
            [0, 2, 2, 1, 0],  # c6: 3 genes, 0% mito -> kept
        ],
        ["MT-A", "G1", "G2", "G3", "G4"],
    )


def run(adata: ad.AnnData, options: QcOptions = OPTIONS):  # type: ignore[no-untyped-def]
    decision = decide_filters(adata, options)
    check_left(decision, "tiny")
    filtered, report = apply_filters(adata, decision)
    return filtered, report, decision


def test_filters_in_order_with_counts() -> None:
    filtered, report, decision = run(tiny())
    cells = decision.cells
    assert list(filtered.obs_names) == ["c1", "c5", "c6"]
    # min_cells=2 counts the 5 cells left after min_genes: G4 is in none of them -> removed
    assert list(filtered.var_names) == ["MT-A", "G1", "G2", "G3"]
    steps = [
        (s["filter"], s["cells_before"], s["cells_after"], s["genes_before"], s["genes_after"])
        for s in report["filters"]
    ]
    assert steps == [
        ("min_genes", 6, 5, 5, 5),
        ("min_cells", 5, 5, 5, 4),
        ("max_genes", 5, 4, 4, 4),
        ("max_pct_mito", 4, 3, 4, 4),
    ]
    assert report["before"]["cells"] == 6 and report["after"]["cells"] == 3
    assert report["after"]["mean_pct_mito"] == pytest.approx(20.0 / 3)
    np.testing.assert_allclose(filtered.obs["percent_mito"], [20.0, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(filtered.obs["n_genes"], [3, 2, 3])
    np.testing.assert_array_equal(filtered.obs["n_counts"], [5, 4, 5])
    np.testing.assert_array_equal(filtered.X.toarray(), tiny().X.toarray()[[0, 4, 5]][:, :4])
    assert filtered.X.has_canonical_format and filtered.X.nnz == 3 + 2 + 3
    assert list(cells["cell_id"]) == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert list(cells["removed_by"]) == ["", "min_genes", "max_pct_mito", "max_genes", "", ""]
    np.testing.assert_allclose(cells["pct_counts_mt"], [20.0, 0.0, 75.0, 25.0, 0.0, 0.0], rtol=1e-6)
    assert [(s.name, s.unit, s.before, s.after) for s in decision.steps] == [
        ("min_genes", "cells", 6, 5),
        ("min_cells", "genes", 5, 4),
        ("max_genes", "cells", 5, 4),
        ("max_pct_mito", "cells", 4, 3),
    ]
    assert decision.steps[3].distribution.startswith("% mito per cell: median ")


def test_null_thresholds_disable_max_filters() -> None:
    filtered, report, _ = run(tiny(), QcOptions(**{**OPTIONS.as_params(), "max_genes": None, "max_pct_mito": None}))
    assert list(filtered.obs_names) == ["c1", "c3", "c4", "c5", "c6"]
    assert report["filters"][2]["threshold"] is None


def test_filter_that_removes_everything_names_the_parameter() -> None:
    decision = decide_filters(tiny(), QcOptions(**{**OPTIONS.as_params(), "min_genes": 99}))
    with pytest.raises(InputError, match=r"tiny: params: no cells left after the min_genes filter \(min_genes >= 99\)"):
        check_left(decision, "tiny")


def test_cells_and_genes_exactly_at_every_threshold_are_kept() -> None:
    # genes: MT-A, G1..G4. Thresholds: min_genes 2, min_cells 2, max_genes 3, max_pct_mito 30.
    adata = make(
        [
            [3, 4, 3, 0, 1],  # c1: 3 kept genes (= max_genes), 3 of their 10 counts mito (= 30 %): kept
            [4, 3, 3, 0, 0],  # c2: 4 of 10 = 40 % mito: removed by max_pct_mito
            [0, 1, 1, 0, 0],  # c3: 2 genes (= min_genes): kept
            [0, 1, 0, 0, 0],  # c4: 1 gene (= min_genes - 1): removed by min_genes
            [1, 1, 1, 1, 0],  # c5: 4 genes (= max_genes + 1): removed by max_genes
            [0, 2, 0, 1, 0],  # c6: 2 genes: kept; G3 is in c5 and c6 (= min_cells): kept
        ],
        ["MT-A", "G1", "G2", "G3", "G4"],
    )  # G4 is only in c1 (= min_cells - 1): removed
    reference = adata[:, :4].copy()  # the metrics the max filters see are on the genes min_cells kept
    filtered, _, decision = run(adata)
    assert list(filtered.obs_names) == ["c1", "c3", "c6"]
    assert list(filtered.var_names) == ["MT-A", "G1", "G2", "G3"]
    assert list(decision.cells["removed_by"]) == ["", "max_pct_mito", "", "min_genes", "max_genes", ""]
    # scanpy's float32 percentage puts c1 just above 30 (the bug this filter avoids) ...
    sc.pp.calculate_qc_metrics(reference, qc_vars=["mt"], percent_top=None, log1p=False, inplace=True)
    assert reference.obs["pct_counts_mt"].iloc[0] > 30.0
    # ... and the reported column of the kept cell is still scanpy's value, unchanged
    assert filtered.obs["pct_counts_mt"].iloc[0] == reference.obs["pct_counts_mt"].iloc[0]


def test_mito_threshold_is_exact_for_decimal_thresholds() -> None:
    mito = np.array([1, 1, 3, 7, 0, 1])
    total = np.array([8, 7, 10, 20, 0, 1000])
    # 12.5 % = 1/8 exactly; 1/7 = 14.3 %; 30 %; 35 %; an empty cell has no percentage; 0.1 % = 1/1000
    np.testing.assert_array_equal(mito_within(mito, total, 12.5), [True, False, False, False, False, True])
    np.testing.assert_array_equal(mito_within(mito, total, 30), [True, True, True, False, False, True])
    np.testing.assert_array_equal(mito_within(mito, total, 0.1), [False, False, False, False, False, True])
    np.testing.assert_array_equal(mito_within(mito, total, 35), [True, True, True, True, False, True])


def test_final_metrics_equal_scanpy() -> None:
    rng = np.random.default_rng(1)
    counts = rng.poisson(0.7, size=(40, 25)).astype(np.float32)
    adata = make(counts, [f"MT-{i}" for i in range(3)] + [f"G{i}" for i in range(22)])
    reference = adata.copy()
    sc.pp.calculate_qc_metrics(reference, qc_vars=["mt"], percent_top=None, log1p=False, inplace=True)
    compute_qc_metrics(adata)
    for column in ("n_genes_by_counts", "total_counts", "total_counts_mt", "pct_counts_mt"):
        assert adata.obs[column].dtype == reference.obs[column].dtype, column
        np.testing.assert_array_equal(adata.obs[column], reference.obs[column])
    for column in ("n_cells_by_counts", "mean_counts", "pct_dropout_by_counts", "total_counts"):
        assert adata.var[column].dtype == reference.var[column].dtype, column
        np.testing.assert_allclose(adata.var[column], reference.var[column], rtol=1e-12)


def test_flag_mito_by_prefix_and_by_id() -> None:
    var = pd.DataFrame(
        {"gene_ids": ["ENSG00000198888", "ENSG1", "", ""], "gene_symbols": ["", "CD3E", "mt-Co1", "MTOR"]},
        index=["ENSG00000198888", "ENSG1", "mt-Co1", "MTOR"],
    )
    mask = flag_mito(var, var.index, ["MT-", "mt-"], {"ENSG00000198888"})
    assert list(mask) == [True, False, True, False]  # MTOR is not mitochondrial
    assert list(flag_mito(var, var.index, [], set())) == [False] * 4


def test_gene_list_empty_fields_are_not_genes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A two-column list where some genes have no symbol: the empty fields must not become a
    # NaN "gene" that flags a gene literally named "nan"; blanks around a field are stripped;
    # the list may be gzip-compressed and start with a BOM, like every other text input.
    import gzip

    text = "\ufeff# mitochondrial genes\ngene_id\tsymbol\nENSG00000198888\t\nENSG00000198763\t MT-ND2 \n\t\n"
    path = tmp_path / "mito.tsv.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    genes = read_gene_list(path)
    assert genes == {"ENSG00000198888", "ENSG00000198763", "MT-ND2"}
    var = pd.DataFrame({"gene_symbols": ["nan", "MT-ND2", "CD3E"]}, index=["nan", "ENSG2", "ENSG3"])
    assert list(flag_mito(var, var.index, [], genes)) == [False, True, False]
