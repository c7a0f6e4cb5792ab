"""Killers for the mutants of genoprep/scrna/qc.py: cells at every QC threshold, the qc.json report, the filter steps
(issue 16; docs/testing.md).

The `scrna_qc` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is
hand-computed or re-implemented here in plain numpy (never genoprep's own output).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
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
    pct_mito,
    read_gene_list,
)
from tests.unit.test_scrna_qc import OPTIONS as QC_OPTIONS

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
