"""QC: mitochondrial genes, filter order and thresholds, hand-computed on a tiny matrix."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna.qc import filter_cells_and_genes, flag_mito

PARAMS = {"min_genes": 2, "min_cells": 2, "max_genes": 3, "max_pct_mito": 30.0}


def tiny() -> ad.AnnData:
    # genes: MT-A (mito), G1, G2, G3, G4
    counts = np.array([
        [1, 2, 2, 0, 0],  # c1: 3 genes, 1/5 = 20% mito -> kept
        [0, 5, 0, 0, 0],  # c2: 1 gene -> removed by min_genes=2
        [6, 1, 1, 0, 0],  # c3: 3 genes, 6/8 = 75% mito -> removed by max_pct_mito=30
        [1, 1, 1, 1, 0],  # c4: 4 genes -> removed by max_genes=3
        [0, 3, 1, 0, 0],  # c5: 2 genes, 0% mito -> kept
        [0, 2, 2, 1, 0],  # c6: 3 genes, 0% mito -> kept
    ], dtype=np.float32)
    adata = ad.AnnData(X=sparse.csr_matrix(counts))
    adata.obs_names = [f"c{i}" for i in range(1, 7)]
    adata.var_names = ["MT-A", "G1", "G2", "G3", "G4"]
    adata.var["mt"] = [True, False, False, False, False]
    return adata


def test_filters_in_order_with_counts() -> None:
    filtered, report, cells = filter_cells_and_genes(tiny(), PARAMS, "tiny")
    assert list(filtered.obs_names) == ["c1", "c5", "c6"]
    # min_cells=2 counts the 5 cells left after min_genes: G4 is in none of them -> removed
    assert list(filtered.var_names) == ["MT-A", "G1", "G2", "G3"]
    steps = [(s["filter"], s["cells_before"], s["cells_after"], s["genes_before"], s["genes_after"])
             for s in report["filters"]]
    assert steps == [("min_genes", 6, 5, 5, 5), ("min_cells", 5, 5, 5, 4),
                     ("max_genes", 5, 4, 4, 4), ("max_pct_mito", 4, 3, 4, 4)]
    assert report["before"]["cells"] == 6 and report["after"]["cells"] == 3
    assert report["after"]["mean_pct_mito"] == pytest.approx(20.0 / 3)
    np.testing.assert_allclose(filtered.obs["percent_mito"], [20.0, 0.0, 0.0])
    np.testing.assert_array_equal(filtered.obs["n_genes"], [3, 2, 3])
    np.testing.assert_array_equal(filtered.obs["n_counts"], [5, 4, 5])
    assert list(cells["cell_id"]) == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert list(cells["removed_by"]) == ["", "min_genes", "max_pct_mito", "max_genes", "", ""]
    np.testing.assert_allclose(cells["pct_counts_mt"], [20.0, 0.0, 75.0, 25.0, 0.0, 0.0])


def test_null_thresholds_disable_max_filters() -> None:
    filtered, report, _ = filter_cells_and_genes(tiny(), {**PARAMS, "max_genes": None, "max_pct_mito": None}, "tiny")
    assert list(filtered.obs_names) == ["c1", "c3", "c4", "c5", "c6"]
    assert report["filters"][2]["threshold"] is None


def test_filter_that_removes_everything_names_the_parameter() -> None:
    with pytest.raises(InputError, match=r"tiny: params: no cells left after the min_genes filter \(min_genes=99\)"):
        filter_cells_and_genes(tiny(), {**PARAMS, "min_genes": 99}, "tiny")


def test_flag_mito_by_prefix_and_by_id() -> None:
    var = pd.DataFrame({"gene_ids": ["ENSG00000198888", "ENSG1", "", ""],
                        "gene_symbols": ["", "CD3E", "mt-Co1", "MTOR"]},
                       index=["ENSG00000198888", "ENSG1", "mt-Co1", "MTOR"])
    mask = flag_mito(var, var.index, ["MT-", "mt-"], {"ENSG00000198888"})
    assert list(mask) == [True, False, True, False]  # MTOR is not mitochondrial
    assert list(flag_mito(var, var.index, [], set())) == [False] * 4
