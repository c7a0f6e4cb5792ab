"""genoprep.bulk: the facts the mutation run (``make mutants MODULES=bulk``) found untested.

Hand-computed cases: the MAD outlier rules at their exact thresholds, ...
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from genoprep.bulk import io, qc, steps
from genoprep.bulk.options import ExportOptions, IngestOptions, NormalizeOptions
from genoprep.cards import load_card
from genoprep.errors import InputError
from genoprep.splits import SplitOptions


def test_outlier_rule_threshold_is_strict_and_one_sided_for_correlation() -> None:
    """median 0, |deviations| 0 0 1 1 1.4826 -> MAD = 1.4826 x 1; at 1 MAD the sample exactly
    1.4826 below is not flagged (strict >), one 1.5 below is; a sample as far above is never flagged."""
    at = qc.correlation_rule(np.array([0.0, 1.0, -1.0, -1.4826, 0.0]), 1.0)
    assert (at.median, at.mad) == (0.0, 1.4826)
    assert at.flagged.tolist() == [False] * 5
    assert at.applied and at.note == "flag when median - x > 1 x MAD"
    below = qc.correlation_rule(np.array([0.0, 1.0, -1.0, -1.5, 0.0]), 1.0)
    assert below.flagged.tolist() == [False, False, False, True, False]
    above = qc.correlation_rule(np.array([0.0, 1.0, -1.0, 1.5, 0.0]), 1.0)
    assert above.flagged.tolist() == [False] * 5


def test_library_size_rule_is_two_sided_on_log10_sizes() -> None:
    """log10 sizes 2 3 3.5 4 7: median 3.5, |dev| 1.5 .5 0 .5 3.5 -> MAD 1.4826 x 0.5 = 0.7413."""
    sizes = np.array([1e2, 1e3, 10**3.5, 1e4, 1e7])
    rule = qc.library_size_rule(sizes, 2.0, counts=True)
    assert rule.median == 3.5 and abs(rule.mad - 0.7413) < 1e-12
    assert rule.flagged.tolist() == [True, False, False, False, True]  # 1.5 > 1.4826, 3.5 > 1.4826
    assert rule.note == "flag when |x - median| > 2 x MAD"
    three = qc.library_size_rule(sizes, 3.0, counts=True)
    assert three.flagged.tolist() == [False, False, False, False, True]
    skipped = qc.library_size_rule(sizes, 2.0, counts=False)
    assert not skipped.applied and not skipped.flagged.any()
    assert skipped.note == "library sizes are only compared for counts tables"


# 5 samples x 5 genes (g5 never expressed: the filter drops it). s4 and s5 have 10x the library
# size of s1-s3; s5's expression pattern is the reverse of the others (its correlations are low).
QC_TABLE = (
    "gene_id,s1,s2,s3,s4,s5\n"
    "g1,100,110,90,1050,4000\n"
    "g2,200,190,210,1950,3000\n"
    "g3,300,310,290,3050,2000\n"
    "g4,400,390,410,3950,1000\n"
    "g5,0,0,0,0,0\n"
    "g6,1000,1100,900,10000,10000\n"
)


def _qc_card(tmp_path: Path, **params) -> dict:
    (tmp_path / "t.csv").write_text(QC_TABLE, encoding="utf-8")
    card = {
        "dataset_id": "qc5",
        "name": "qc5",
        "modality": "bulk",
        "input": {"path": "t.csv", "format": "csv"},
        "params": params,
    }
    path = tmp_path / "qc5.yaml"
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return load_card(path).data


def _export(tmp_path: Path, data: dict) -> steps.Export:
    adata = steps.ingest(IngestOptions.from_card(data), tmp_path / "t.csv")
    adata = steps.normalize(adata, NormalizeOptions.from_card(data))
    return steps.export(adata, ExportOptions.from_card(data), SplitOptions.from_card(data), "report")


def _mad_flags(values: np.ndarray, k: float, two_sided: bool) -> tuple[float, float, np.ndarray]:
    median = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - median)))
    deviation = np.abs(values - median) if two_sided else median - values
    return median, mad, (deviation > k * mad) & (mad > 0)


def test_qc_report_against_a_plain_reimplementation(tmp_path: Path) -> None:
    data = _qc_card(tmp_path)
    result = _export(tmp_path, data)
    report = result.qc
    raw = np.loadtxt(tmp_path / "t.csv", delimiter=",", skiprows=1, usecols=range(1, 6)).T  # samples x genes
    sizes = raw.sum(axis=1)
    log = np.log1p(raw / sizes[:, None] * 1e6)
    kept = log[:, log.mean(axis=0) > 1.0]
    assert kept.shape == (5, 5)  # g5 dropped
    corr = np.corrcoef(kept)
    medians = np.array([np.median(np.delete(corr[i], i)) for i in range(5)])
    lib_median, lib_mad, lib_flags = _mad_flags(np.log10(sizes), 3.0, two_sided=True)
    cor_median, cor_mad, cor_flags = _mad_flags(medians, 3.0, two_sided=False)
    assert lib_flags.tolist() == [False, False, False, True, True]  # the design of the table
    assert cor_flags.tolist() == [False, False, False, False, True]

    assert (report["dataset_id"], report["value_type"], report["samples"]) == ("qc5", "counts", 5)
    assert (report["genes_input"], report["genes_after_filters"]) == (6, 5)
    assert report["duplicate_genes"] == {"policy": "refuse", "ids": 0, "rows": 0}
    assert (report["metadata_rows_unmatched"], report["metadata_ids_unmatched"]) == (0, [])
    assert report["samples_without_metadata"] == []
    assert report["gene_filters"] == [
        {"filter": "min_mean_log", "threshold": 1.0, "genes_before": 6, "genes_after": 5},
        {
            "filter": "min_fraction_expressed",
            "threshold": 0,
            "expressed_threshold": 0,
            "genes_before": 5,
            "genes_after": 5,
        },
    ]
    rules = report["outlier_rules"]
    assert [(r["rule"], r["mads"], r["applied"], r["flagged"]) for r in rules] == [
        ("library_size", 3, True, 2),
        ("median_correlation", 3, True, 1),
    ]
    assert rules[0]["median"] == pytest.approx(lib_median, abs=1e-6) and rules[0]["mad"] == pytest.approx(
        lib_mad, abs=1e-6
    )
    assert rules[1]["median"] == pytest.approx(cor_median, abs=1e-6) and rules[1]["mad"] == pytest.approx(
        cor_mad, abs=1e-6
    )
    assert [r["note"] for r in rules] == ["flag when |x - median| > 3 x MAD", "flag when median - x > 3 x MAD"]
    assert report["outliers"] == ["s4", "s5"]
    reasons = [[], [], [], ["library_size"], ["library_size", "median_correlation"]]
    assert [p["sample_id"] for p in report["per_sample"]] == ["s1", "s2", "s3", "s4", "s5"]
    assert [p["outlier_reasons"] for p in report["per_sample"]] == reasons
    assert [p["outlier"] for p in report["per_sample"]] == [bool(r) for r in reasons]
    assert [p["library_size"] for p in report["per_sample"]] == sizes.tolist()
    assert [p["n_genes_detected"] for p in report["per_sample"]] == (log > 0).sum(axis=1).tolist()
    got_medians = [p["median_correlation"] for p in report["per_sample"]]
    np.testing.assert_allclose(got_medians, medians, atol=1e-6)
    assert report["correlation"]["samples"] == ["s1", "s2", "s3", "s4", "s5"]
    matrix = np.array(report["correlation"]["matrix"])
    np.testing.assert_allclose(matrix, corr, atol=1e-6)
    # rounded to 6 decimals (qc.json stays readable), not more, not fewer
    values = [*matrix.ravel().tolist(), *got_medians, rules[0]["median"], rules[0]["mad"]]
    assert all(round(v, 6) == v for v in values)
    assert any(round(v, 5) != v for v in values)
    assert report["correlation"]["method"] == "pearson, on the log expression of the genes kept by the filter"

    obs = result.adata.obs
    assert obs["qc_outlier"].tolist() == [False, False, False, True, True]
    assert obs["qc_outlier_reasons"].tolist() == ["", "", "", "library_size", "library_size;median_correlation"]
    assert result.facts["n_outliers_flagged"] == 2 and result.adata.uns["genoprep"]["outliers"] == 2
    # processed.h5ad names the software it was made with: genoprep, then the libraries the chain computes with
    from importlib.metadata import version

    import genoprep

    libraries = ("anndata", "numpy", "pandas", "h5py", "scikit-learn")
    assert result.adata.uns["genoprep"]["software"] == {
        "genoprep": genoprep.__version__,
        **{name: version(name) for name in libraries},
    }
    assert result.obs.columns.tolist() == ["sample_id", *steps.QC_OBS]
    assert result.obs["qc_outlier_reasons"].tolist() == obs["qc_outlier_reasons"].tolist()


def test_qc_rules_disabled_and_a_constant_sample(tmp_path: Path) -> None:
    """null disables a rule (not applied, nothing flagged); the facts say which thresholds were used."""
    data = _qc_card(tmp_path, library_size_mads=None, correlation_mads=None, zscore=False)
    result = _export(tmp_path, data)
    rules = result.qc["outlier_rules"]
    assert [(r["mads"], r["applied"], r["flagged"], r["note"]) for r in rules] == [
        (None, False, 0, "disabled (null in params)"),
        (None, False, 0, "disabled (null in params)"),
    ]
    assert result.qc["outliers"] == [] and result.facts["n_outliers_flagged"] == 0
    preprocessing = result.facts["preprocessing"]
    assert preprocessing["qc"] == "outliers flagged, not removed: library_size_mads=None, correlation_mads=None"
    assert preprocessing["scaling"] == "none (X is the log expression)"
    np.testing.assert_array_equal(result.matrix, result.adata.layers["log"].astype(np.float32))
    assert result.matrix.dtype == np.float32 and result.features == ["g1", "g2", "g3", "g4", "g6"]


def _refusal(call, *args, **kwargs) -> tuple[str, str | None, str]:
    with pytest.raises(InputError) as caught:
        call(*args, **kwargs)
    err = caught.value
    assert "\n" not in str(err)
    return err.source, err.record, err.problem


# (table text, read_expression_table keywords, record, problem): each refusal's whole line
TABLE_REFUSALS = [
    ("", {}, "line 1", "the file is empty (no header row)"),
    ("gene,s1\n", {}, None, "the table has a header but no data rows"),
    ("gene,s1,s2,s3\nA,1,2\n", {}, "line 1", "the header has 4 fields but the first data row has 3"),
    ("gene,s1\nA,1\n", {"id_column": 2}, "input", "input.gene_id_column 2 is out of range (the rows have 2 fields)"),
    ("gene,s1\nA,1\n", {"id_column": -1}, "input", "input.gene_id_column -1 is out of range (the rows have 2 fields)"),
    (
        "g,g,s1\nA,B,1\n",
        {"id_column": "g"},
        "input",
        "input.gene_id_column 'g' names 2 columns; give its 0-based position",
    ),
    (
        "gene,s1\nA,1\n",
        {"orientation": "samples_x_genes", "id_column": "id"},
        "input",
        "input.sample_id_column names column 'id', which is not there; columns: 'gene', 's1'",
    ),
    (
        "a,b,c,d,e,f,g,h,i\nA,1,1,1,1,1,1,1,1\n",
        {"id_column": "z"},
        "input",
        "input.gene_id_column names column 'z', which is not there; columns: "
        "'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', ...",
    ),
    (
        "a,b,c,d,e,f,g,h\nA,1,1,1,1,1,1,1\n",
        {"id_column": "z"},
        "input",
        "input.gene_id_column names column 'z', which is not there; columns: 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'",
    ),
    (
        "gene,sym,s1\nA,x,1\n",
        {"annotation_columns": ["gene"]},
        "input",
        "annotation column 'gene' is the id column",
    ),
    (
        "gene,sym\nA,x\n",
        {"annotation_columns": ["sym"]},
        None,
        "no value columns: every column is the id or an annotation column",
    ),
    ("gene,s1\nA,1\n,2\n", {}, "line 3", "empty gene id"),
    ("gene,s1,\nA,1,2\n", {}, "line 1", "empty sample id"),
    ("gene,s1,s2\nA,1,2\nB,3, \n", {}, "line 3, gene B, sample s2", "empty value"),
    (
        "sample,A,B\ns1,1,2\ns2,3,x\n",
        {"orientation": "samples_x_genes"},
        "line 3, sample s2, gene B",
        "value 'x' is not a number (if 'B' is an annotation column, list it in input.annotation_columns)",
    ),
    ("gene,s1,s1\nA,1,2\n", {}, None, "1 sample ids occur more than once (e.g. s1)"),
    (
        "gene,s1\nA,1\nB,2\nA,3\nC,1\nC,1\nD,1\nD,1\nE,0\nE,0\n",
        {},
        None,
        "4 gene ids occur more than once (A (2x), C (2x), D (2x), ...); set input.duplicate_genes: sum "
        "in the card to add their values up",
    ),
    (
        "gene,s1\nA,1\n",
        {"orientation": "rows"},
        "input.orientation",
        "unknown orientation 'rows' (known: genes_x_samples, samples_x_genes)",
    ),
    (
        "gene,s1\nA,1\n",
        {"value_type": "cpm"},
        "input.value_type",
        "unknown value_type 'cpm' (known: counts, tpm, fpkm, rpkm, log)",
    ),
    (
        "gene,s1\nA,1\n",
        {"duplicate_genes": "mean"},
        "input.duplicate_genes",
        "unknown duplicate_genes 'mean' (known: refuse, sum)",
    ),
    (
        "gene,s1\nA,1\n",
        {"value_type": "log", "duplicate_genes": "sum"},
        "input.duplicate_genes",
        "duplicate_genes: sum is not defined for log values (sum before taking logs, or refuse)",
    ),
]


@pytest.mark.parametrize(("text", "keywords", "record", "problem"), TABLE_REFUSALS)
def test_table_refusal_is_the_whole_line(tmp_path: Path, text: str, keywords: dict, record, problem: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    assert _refusal(io.read_expression_table, path, "csv", **keywords) == (str(path), record, problem)


def test_unknown_format_and_a_missing_file_are_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("gene,s1\nA,1\n", encoding="utf-8")
    assert _refusal(io.read_expression_table, path, "xlsx") == (
        str(path),
        "input.format",
        "unknown bulk table format 'xlsx' (known: csv, tsv)",
    )
    assert _refusal(io.read_expression_array, path, "csv") == (
        str(path),
        "input.format",
        "unknown bulk array format 'csv' (known: npy, npz)",
    )
    missing = tmp_path / "missing.csv"
    source, _, problem = _refusal(io.read_expression_table, missing, "csv")
    assert source == str(missing) and "no such file" in problem


def test_duplicate_genes_summed_report_ids_and_rows(tmp_path: Path) -> None:
    """Gene A three times and B twice: 2 ids, 5 rows; summed in first-occurrence order with the
    annotation of each id's first row; ingest counts every input row as a gene of the input."""
    text = "gene,len,s1,s2\nA,10,1,2\nB,20,3,4\nA,11,5,6\nC,30,7,8\nB,21,9,10\nA,12,11,12\n"
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    table = io.read_expression_table(path, "csv", annotation_columns=["len"], duplicate_genes="sum")
    assert table.genes == ["A", "B", "C"] and table.duplicate_genes == {"A": 3, "B": 2}
    np.testing.assert_array_equal(table.values, [[17, 12, 7], [20, 14, 8]])
    assert table.gene_annotation["len"].tolist() == [10, 20, 30]
    card = {
        "dataset_id": "dup",
        "name": "dup",
        "modality": "bulk",
        "input": {"path": "t.csv", "format": "csv", "duplicate_genes": "sum", "annotation_columns": ["len"]},
    }
    (tmp_path / "dup.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    adata = steps.ingest(IngestOptions.from_card(load_card(tmp_path / "dup.yaml").data), path)
    info = adata.uns["genoprep"]
    assert info["n_genes_input"] == 6
    assert info["duplicate_genes"] == {"policy": "sum", "ids": 2, "rows": 5}
    # ids that do not look like Ensembl ids are their own symbols
    assert adata.var["gene_symbols"].tolist() == ["A", "B", "C"] and adata.var["gene_ids"].tolist() == ["A", "B", "C"]


def test_npz_refusals_are_whole_lines(tmp_path: Path) -> None:
    values = np.arange(6, dtype=np.int64).reshape(3, 2)  # 3 genes x 2 samples
    genes, samples = np.array(["A", "B", "C"]), np.array(["s1", "s2"])
    path = tmp_path / "m.npz"

    def refusal(**arrays) -> tuple[str | None, str]:
        np.savez(path, **arrays)
        source, record, problem = _refusal(io.read_expression_array, path, "npz")
        assert source == str(path)
        return record, problem

    assert refusal(values=values, sample_ids=samples) == (
        "input.arrays.gene_ids",
        "no array 'gene_ids' for the gene_ids (arrays: values, sample_ids); name it in input.arrays.gene_ids "
        "or give input.gene_ids_path (one id per line)",
    )
    assert refusal(gene_ids=genes, sample_ids=samples) == (
        "input.arrays.values",
        "no array 'values' for the values (arrays: gene_ids, sample_ids); name it in input.arrays.values",
    )
    assert refusal(values=values, gene_ids=genes.reshape(3, 1), sample_ids=samples) == (
        None,
        "the gene_ids array is 2-D (shape (3, 1)); ids are a 1-D array",
    )
    assert refusal(values=values, gene_ids=np.array([1.5, 2, 3]), sample_ids=samples) == (
        None,
        "the gene_ids array holds float64 values; ids are strings or integers",
    )
    assert refusal(values=values, gene_ids=genes, sample_ids=np.array(["s1", " "])) == (
        "sample_ids[1]",
        "empty sample id",
    )
    assert refusal(values=values.astype(str), gene_ids=genes, sample_ids=samples) == (
        None,
        "the values are <U21, not numbers (integers or floats)",
    )
    np.savez(path, values=values, gene_ids=np.array([b"A", b"B", b"C"]), sample_ids=np.array([7, 8]))
    table = io.read_expression_array(path, "npz")  # bytes ids are decoded, integer ids are text
    assert table.genes == ["A", "B", "C"] and table.samples == ["7", "8"]
    np.save(tmp_path / "plain.npy", values)
    npy_as_npz = tmp_path / "plain.npy"
    assert _refusal(io.read_expression_array, npy_as_npz, "npz") == (
        str(npy_as_npz),
        None,
        "a .npy array, not an .npz archive: say input.format: npy",
    )


def test_id_files_blank_lines_and_empty_ids(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(" A \nB\n\n\n", encoding="utf-8")
    assert io.read_id_file(ids, "gene") == ["A", "B"]  # trailing blank lines dropped, ids stripped
    ids.write_text("\n\n", encoding="utf-8")
    assert _refusal(io.read_id_file, ids, "sample") == (str(ids), None, "the sample id file holds no ids")
    ids.write_text("A\n \nC\n", encoding="utf-8")
    assert _refusal(io.read_id_file, ids, "gene") == (str(ids), "line 2", "empty gene id")


def test_gene_symbols_from_the_card_or_blank_for_ensembl_ids(tmp_path: Path) -> None:
    """Ensembl ids without a symbol column get blank symbols; a symbol column that is not an
    annotation column is one line naming the table."""
    path = tmp_path / "t.csv"
    path.write_text("gene,sym,s1\nENSG00000000003,TSPAN6,1\nENSG00000000005,TNMD,2\n", encoding="utf-8")

    def options(**spec) -> IngestOptions:
        card = {"dataset_id": "e", "name": "e", "modality": "bulk", "input": {"path": "t.csv", "format": "csv", **spec}}
        (tmp_path / "e.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
        return IngestOptions.from_card(load_card(tmp_path / "e.yaml").data)

    blank = steps.ingest(options(annotation_columns=["sym"]), path)
    assert blank.var["gene_symbols"].tolist() == ["", ""]
    assert blank.var["gene_ids"].tolist() == ["ENSG00000000003", "ENSG00000000005"]
    named = steps.ingest(options(annotation_columns=["sym"], gene_symbol_column="sym"), path)
    assert named.var["gene_symbols"].tolist() == ["TSPAN6", "TNMD"]
    assert _refusal(steps.ingest, options(annotation_columns=["sym"], gene_symbol_column="s1"), path) == (
        str(path),
        "input",
        "input.gene_symbol_column 's1' must be one of input.annotation_columns",
    )


def test_normalization_and_filter_descriptions_name_each_case() -> None:
    """The completed card's preprocessing.normalization and .filter, for each value type and filter setting."""
    from genoprep.bulk import preprocess

    assert preprocess.normalization_description("log", True) == (
        "none (input.value_type is log: values used as given, no second log)"
    )
    assert preprocess.normalization_description("counts", True) == (
        "counts to CPM (count / library size x 1e6, library size over all genes), then natural log1p"
    )
    assert preprocess.normalization_description("counts", False) == (
        "natural log1p of the raw counts (params.cpm is false: no library-size normalisation)"
    )
    assert preprocess.normalization_description("tpm", True) == (
        "natural log1p of the TPM values (already normalised: no CPM)"
    )
    assert preprocess.filter_description(None, 0, 0) == "none (every gene kept)"
    assert preprocess.filter_description(1.5, 0, 0) == "keep genes with mean log expression over samples > 1.5"
    assert preprocess.filter_description(None, 0.25, 0.5) == (
        "keep genes with log expression > 0.5 in at least 0.25 of samples"
    )
    assert preprocess.filter_description(2, 0.5, 1) == (
        "keep genes with mean log expression over samples > 2 and log expression > 1 in at least 0.5 of samples"
    )


def test_log_values_and_cpm_by_hand() -> None:
    from genoprep.bulk import preprocess

    raw = np.array([[1.0, 3.0], [0.0, 4.0]])
    np.testing.assert_array_equal(preprocess.library_sizes(raw), [4.0, 4.0])
    assert preprocess.library_sizes(np.array([[1, 2]], dtype=np.uint8)).dtype == np.float64
    np.testing.assert_allclose(preprocess.cpm(raw, np.array([4.0, 4.0])), [[250000.0, 750000.0], [0.0, 1e6]])
    np.testing.assert_allclose(preprocess.log_values(raw, "counts", True), np.log1p([[250000, 750000], [0, 1e6]]))
    np.testing.assert_allclose(preprocess.log_values(raw, "counts", False), np.log1p(raw))
    np.testing.assert_allclose(preprocess.log_values(raw, "fpkm", True), np.log1p(raw))
    given = preprocess.log_values(raw, "log", True)
    np.testing.assert_array_equal(given, raw)
    given[0, 0] = 9.0  # a copy: the caller's table is untouched
    assert raw[0, 0] == 1.0


def test_gene_filter_steps_count_each_filter_in_order(tmp_path: Path) -> None:
    from genoprep.bulk import preprocess

    # 4 genes: mean log 0.5, 2, 3, 4; expressed (> 1) in 0, 1/2, 1/2, 1 of the 2 samples
    log = np.array([[0.0, 1.0, 5.0, 3.0], [1.0, 3.0, 1.0, 5.0]])
    result = preprocess.expression_filter(log, 1.0, 0.6, 1.0)
    assert result.passes_mean.tolist() == [False, True, True, True]
    assert result.passes_fraction.tolist() == [False, False, False, True]
    options = NormalizeOptions(
        cpm=True, min_mean_log=1.0, min_fraction_expressed=0.6, expressed_threshold=1.0, min_fraction_kept=0.0
    )
    first, second = steps.gene_filter_steps(result, options)
    assert (first.name, first.unit, first.before, first.after) == ("min_mean_log", "genes", 4, 3)
    assert first.threshold == "mean log expression over samples > 1"
    assert (second.name, second.unit, second.before, second.after) == ("min_fraction_expressed", "genes", 3, 1)
    assert second.threshold == "fraction of samples with log expression > 1 >= 0.6"
    # the spread each line shows, by hand (numpy's linear percentiles of 0.5, 2, 3, 4 and of 0, 0.5, 0.5, 1)
    assert first.distribution == (
        "mean log expression per gene: median 2.5, 10th percentile 0.95, 90th percentile 3.7 (n=4)"
    )
    assert second.distribution == (
        "fraction of samples expressing a gene: median 0.5, 10th percentile 0.15, 90th percentile 0.85 (n=4)"
    )
    disabled = NormalizeOptions(
        cpm=True, min_mean_log=None, min_fraction_expressed=0.6, expressed_threshold=1.0, min_fraction_kept=0.0
    )
    assert steps.gene_filter_steps(result, disabled)[0].threshold == "disabled"


def test_correlation_edge_cases_by_hand() -> None:
    # fewer than 2 samples or 2 genes: all NaN, of the samples' shape
    assert np.isnan(qc.correlation_matrix(np.ones((1, 5)))).all() and qc.correlation_matrix(np.ones((1, 5))).shape == (
        1,
        1,
    )
    one_gene = qc.correlation_matrix(np.array([[1.0], [2.0], [3.0]]))
    assert one_gene.shape == (3, 3) and np.isnan(one_gene).all()
    # 2 genes: any two non-constant samples correlate +-1 exactly (clipped, even after rounding)
    corr = qc.correlation_matrix(np.array([[1.0, 3.0], [0.1, 0.7], [5.0, 2.0], [4.0, 4.0]]))
    np.testing.assert_allclose(corr[:3, :3], [[1, 1, -1], [1, 1, -1], [-1, -1, 1]], atol=1e-12)
    assert np.nanmax(corr) <= 1.0 and np.nanmin(corr) >= -1.0
    assert np.isnan(corr[3]).all() and np.isnan(corr[:, 3]).all()  # the constant sample
    np.testing.assert_allclose(qc.median_correlations(corr)[:3], [0.0, 0.0, -1.0], atol=1e-12)  # NaN left out
    assert np.isnan(qc.median_correlations(corr)[3])


def test_median_correlation_excludes_only_the_sample_itself() -> None:
    corr = np.array([[1.0, 0.2, 0.4, 0.9], [0.2, 1.0, 0.5, 0.3], [0.4, 0.5, 1.0, 0.1], [0.9, 0.3, 0.1, 1.0]])
    assert qc.median_correlations(corr).tolist() == [0.4, 0.3, 0.4, 0.3]


def test_scaled_mad_ignores_non_finite_and_rules_need_three_samples() -> None:
    median, mad = qc.scaled_mad(np.array([1.0, np.nan, 2.0, np.inf, 4.0]))
    assert median == 2.0 and mad == 1.4826
    empty = qc.scaled_mad(np.array([np.nan]))
    assert np.isnan(empty[0]) and np.isnan(empty[1])
    two = qc.correlation_rule(np.array([0.9, 0.1]), 1.0)
    assert (two.applied, two.note, two.flagged.tolist()) == (False, "needs at least 3 samples", [False, False])
    assert (two.median, two.mad) == (0.5, pytest.approx(1.4826 * 0.4))
    flat = qc.correlation_rule(np.array([0.9, 0.9, 0.9, 0.2]), 1.0)
    assert (flat.applied, flat.note) == (True, "MAD is 0: no sample differs, none flagged")
    assert not flat.flagged.any()
    # a NaN statistic (a constant sample) is never flagged
    nan = qc.correlation_rule(np.array([0.9, 0.8, 0.7, np.nan, 0.1]), 1.0)
    assert nan.flagged.tolist() == [False, False, False, False, True]
    # three samples are enough
    three = qc.library_size_rule(np.array([10.0, 100.0, 1e6]), 1.0, counts=True)
    assert three.applied and three.flagged.tolist() == [False, False, True]


def test_zscore_constant_test_scales_with_the_mean() -> None:
    """A gene at 1e8 with a spread of 1e-8 is constant for StandardScaler (its variance is below
    (n x mean x eps)^2); the same spread around 1 is not."""
    from genoprep.bulk import preprocess

    log = np.array([[1e8, 1.0], [1e8 + 1.5e-8, 1.0 + 1e-8], [1e8, 1.0]])
    z, mean, scale = preprocess.zscore(log)
    assert z[:, 0].tolist() == [0.0, 0.0, 0.0] and scale[0] == 1.0
    assert scale[1] != 1.0 and np.abs(z[:, 1]).max() > 1
    np.testing.assert_allclose(mean, log.mean(axis=0))


@pytest.mark.parametrize(
    ("value_type", "values", "record", "problem"),
    [
        (
            "counts",
            [[1, 2], [3, -1]],
            "gene B, sample s2",
            "value -1 is negative: counts are non-negative integers (a log-transformed table needs "
            "input.value_type: log)",
        ),
        (
            "tpm",
            [[1, -0.5], [3, 1]],
            "gene B, sample s1",
            "value -0.5 is negative: TPM values are non-negative (a log-transformed table needs input.value_type: log)",
        ),
        (
            "rpkm",
            [[1, 0], [-2, 1]],
            "gene A, sample s2",
            "value -2 is negative: RPKM values are non-negative (a log-transformed table needs input.value_type: log)",
        ),
        (
            "counts",
            [[1, 0], [2.5, 1]],
            "gene A, sample s2",
            "value 2.5 is not an integer: counts must be non-negative integers; a normalised table needs "
            "input.value_type tpm, fpkm, rpkm or log",
        ),
        ("log", [[1, -3], [np.inf, 1]], "gene A, sample s2", "value inf is not a finite number"),
    ],
)
def test_value_refusals_name_gene_sample_and_hint(value_type: str, values: list, record: str, problem: str) -> None:
    """``values`` is samples (s1, s2) x genes (A, B): the record names the gene of the column."""
    array = np.array(values, dtype=np.float64)
    assert _refusal(io.check_values, array, ["s1", "s2"], ["A", "B"], value_type, "m.csv") == ("m.csv", record, problem)


def test_negative_log_values_pass() -> None:
    io.check_values(np.array([[-3.0, 60.0]]), ["s1"], ["A", "B"], "log", "m.csv")


def test_annotation_columns_numeric_when_every_value_is_a_number(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("gene\tlen\tsym\tmixed\ts1\nA\t 10 \tx\t1\t5\nB\t2.5\ty\tz\t6\n", encoding="utf-8")
    table = io.read_expression_table(path, "tsv", annotation_columns=["len", "sym", "mixed", "len"])
    annotation = table.gene_annotation
    assert annotation.columns.tolist() == ["len", "sym", "mixed"]  # a repeated name is kept once
    assert annotation["len"].tolist() == [10.0, 2.5] and annotation["len"].dtype == np.float64
    assert annotation["sym"].tolist() == ["x", "y"] and annotation["mixed"].tolist() == ["1", "z"]
    assert annotation.index.tolist() == ["A", "B"]
    assert table.sample_annotation.index.tolist() == ["s1"] and table.sample_annotation.columns.tolist() == []


def test_ids_and_header_names_are_stripped_and_short_header_reads(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(" s1 , s2\n A ,1,2\nB,3,4\n", encoding="utf-8")
    table = io.read_expression_table(path, "csv")
    assert table.samples == ["s1", "s2"] and table.genes == ["A", "B"]
    np.testing.assert_array_equal(table.values, [[1, 3], [2, 4]])
    same = io.read_expression_table(path, "csv", id_column=0)
    assert same.genes == ["A", "B"]


def test_a_table_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"gene,s\xe9\nA,1\n")
    source, record, problem = _refusal(io.read_expression_table, path, "csv")
    assert (source, record) == (str(path), None) and problem.startswith("not UTF-8 text (")
    body = tmp_path / "b.csv"
    body.write_bytes(b"gene,s1\nA\xe9,1\n")
    source, record, problem = _refusal(io.read_expression_table, body, "csv")
    assert (source, record) == (str(body), None) and problem.startswith("not UTF-8 text (")


def test_export_with_splits_records_them_in_the_facts_and_obs(tmp_path: Path) -> None:
    """Splits on: the facts count the splits and say the scaling was fitted on train only; the
    split column is categorical train/val/test; the z-scores use the train samples' mean and std."""
    fractions = {"train": 0.6, "val": 0, "test": 0.4}
    data = _qc_card(tmp_path, split={"enabled": True, "fractions": fractions, "seed": 3})
    result = _export(tmp_path, data)
    splits = result.obs["split"].tolist()
    assert sorted(set(splits)) <= ["test", "train"] and splits == result.adata.obs["split"].astype(str).tolist()
    assert result.adata.obs["split"].cat.categories.tolist() == ["train", "val", "test"]
    counts = {name: splits.count(name) for name in ("train", "val", "test")}
    assert result.facts["splits"] == counts == result.qc["splits"]["n"]
    preprocessing = result.facts["preprocessing"]
    assert preprocessing["scaling"] == (
        "z-score per gene (ddof=0, as scikit-learn StandardScaler; constant genes become 0); "
        "mean and std fitted on the train samples only"
    )
    assert preprocessing["split"] == SplitOptions.from_card(data).describe()
    assert preprocessing["value_type"] == "counts" and preprocessing["software"] == steps.software_versions()
    log = result.adata.layers["log"]
    train = np.array(splits) == "train"
    std = log[train].std(axis=0)
    std[std == 0] = 1.0
    np.testing.assert_allclose(result.matrix, (log - log[train].mean(axis=0)) / std, rtol=1e-5, atol=1e-6)
    assert result.adata.uns["genoprep"]["params"]["zscore"] is True
    assert result.adata.obsm["X_pca"].shape[0] == 5


def test_export_without_splits_z_scores_over_all_samples(tmp_path: Path) -> None:
    result = _export(tmp_path, _qc_card(tmp_path))
    log = result.adata.layers["log"]
    std = log.std(axis=0)
    np.testing.assert_allclose(result.matrix, (log - log.mean(axis=0)) / std, rtol=1e-5, atol=1e-6)
    assert "split" not in result.obs.columns and "splits" not in result.facts
    facts = result.facts
    assert (facts["n_samples"], facts["n_genes"], facts["n_genes_input"], facts["n_features"]) == (5, 5, 6, 5)
    assert facts["labels"] == [] and facts["preprocessing"]["filter"] == (
        "keep genes with mean log expression over samples > 1"
    )
    assert facts["preprocessing"]["normalization"] == (
        "counts to CPM (count / library size x 1e6, library size over all genes), then natural log1p"
    )
    assert facts["preprocessing"]["qc"] == ("outliers flagged, not removed: library_size_mads=3, correlation_mads=3")
    assert steps.software_versions()["numpy"] == np.__version__


def test_normalize_records_filters_params_and_layers(tmp_path: Path) -> None:
    data = _qc_card(tmp_path, min_mean_log=None, min_fraction_expressed=0.5, expressed_threshold=6.5)
    adata = steps.ingest(IngestOptions.from_card(data), tmp_path / "t.csv")
    out = steps.normalize(adata, NormalizeOptions.from_card(data))
    raw = np.loadtxt(tmp_path / "t.csv", delimiter=",", skiprows=1, usecols=range(1, 6)).T
    log = np.log1p(raw / raw.sum(axis=1, keepdims=True) * 1e6)
    keep = (log > 6.5).mean(axis=0) >= 0.5
    assert out.var_names.tolist() == [g for g, k in zip(["g1", "g2", "g3", "g4", "g5", "g6"], keep) if k]
    np.testing.assert_allclose(out.layers["log"], log[:, keep])
    np.testing.assert_array_equal(out.layers["raw"], raw[:, keep])
    np.testing.assert_allclose(out.X, log[:, keep])
    np.testing.assert_allclose(out.var["fraction_expressed"], (log > 6.5).mean(axis=0)[keep])
    np.testing.assert_allclose(out.var["mean_log"], log.mean(axis=0)[keep])
    assert out.obs["n_genes_detected"].tolist() == (log > 6.5).sum(axis=1).tolist()
    info = out.uns["genoprep"]
    assert info["gene_filters"] == {
        "min_mean_log": {"threshold": None, "genes_before": 6, "genes_after": 6},
        "min_fraction_expressed": {
            "threshold": 0.5,
            "expressed_threshold": 6.5,
            "genes_before": 6,
            "genes_after": int(keep.sum()),
        },
    }
    assert info["params"] == NormalizeOptions.from_card(data).as_params()
    assert info["filter"] == "keep genes with log expression > 6.5 in at least 0.5 of samples"


def test_zero_library_size_needs_cpm_off(tmp_path: Path) -> None:
    text = "gene,s1,s2,s3\ng1,5,0,3\ng2,7,0,1\n"
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    card = {"dataset_id": "z", "name": "z", "modality": "bulk", "input": {"path": "t.csv", "format": "csv"}}
    (tmp_path / "z.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    data = load_card(tmp_path / "z.yaml").data
    adata = steps.ingest(IngestOptions.from_card(data), tmp_path / "t.csv")
    assert _refusal(steps.normalize, adata, NormalizeOptions.from_card(data)) == (
        str(tmp_path / "t.csv"),
        "sample s2",
        "library size is 0: CPM is undefined (remove the sample, or set params.cpm: false)",
    )
    data["params"].update(cpm=False, min_mean_log=None)
    out = steps.normalize(adata, NormalizeOptions.from_card(data))
    np.testing.assert_allclose(out.layers["log"], np.log1p([[5, 7], [0, 0], [3, 1]]))
    assert out.obs["library_size"].tolist() == [12.0, 0.0, 4.0]


def test_split_problems_name_the_input_table_and_qc_has_no_terminal_line(tmp_path: Path) -> None:
    data = _qc_card(tmp_path, split={"enabled": True, "stratify_by": "condition"})
    adata = steps.normalize(
        steps.ingest(IngestOptions.from_card(data), tmp_path / "t.csv"), NormalizeOptions.from_card(data)
    )
    adata, _ = steps.sample_qc(adata, ExportOptions.from_card(data))
    source, record, problem = _refusal(steps.assign_splits, adata, SplitOptions.from_card(data), "report")
    assert (source, record) == (str(tmp_path / "t.csv"), "params.split")
    assert problem.startswith("column 'condition' named by params.split is not one of [")
    data = _qc_card(tmp_path, split={"enabled": True})
    splits, report = steps.assign_splits(adata, SplitOptions.from_card(data), "report")
    assert splits.dtype == object and len(splits) == 5
    assert "leakage_line" not in report and {"splits", "leakage"} <= set(report)
    result = _export(tmp_path, data)
    assert "leakage_line" not in result.qc


def test_zscore_matches_standard_scaler_on_near_constant_genes() -> None:
    """Genes: all 0 (variance exactly at the bound 0: constant, not 0/0), a spread of 1e-10 around 0
    (not constant), 1e8 with a spread of 1.5e-8 (constant) and of 1e-5 (not), an ordinary gene, and
    1e8 with a spread of 2.5e-7 (variance ~1.4e-14, just above the bound (3 x 1e8 x eps)^2 of 3 samples).
    StandardScaler is the reference; its constant genes give x - mean (~1e-8), genoprep exactly 0."""
    from sklearn.preprocessing import StandardScaler

    from genoprep.bulk import preprocess

    log = np.array(
        [
            [0.0, 0.0, 1e8, 1e8, 1.0, 1e8],
            [0.0, 1e-10, 1e8 + 1.5e-8, 1e8 + 1e-5, 2.0, 1e8 + 2.5e-7],
            [0.0, 0.0, 1e8, 1e8, 4.0, 1e8],
        ]
    )
    reference = StandardScaler().fit(log)
    z, mean, scale = preprocess.zscore(log)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z[:, :5], reference.transform(log)[:, :5], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(scale[:5], reference.scale_[:5], rtol=1e-5)
    # the last gene's z-scores are rounding-dominated at 1e8 (both differ from -0.71, 1.41, -0.71 by
    # ~10 %), but neither calls it constant
    assert reference.scale_[5] != 1.0 and scale[5] != 1.0
    np.testing.assert_array_equal(np.sign(z[:, 5]), np.sign(reference.transform(log)[:, 5]))
    assert scale[0] == scale[2] == 1.0 and z[:, [0, 2]].tolist() == [[0.0, 0.0]] * 3
    # a wide table (more genes than samples) does not change which genes are constant
    wide = np.hstack([log, np.ones((3, 4))])
    np.testing.assert_array_equal(preprocess.zscore(wide)[0][:, :6], z)


def test_duplicate_description_lists_three_then_dots(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("gene,s1\nA,1\nA,1\nB,1\nB,1\nC,1\nC,1\n", encoding="utf-8")
    problem = _refusal(io.read_expression_table, path, "csv")[2]
    assert problem.startswith("3 gene ids occur more than once (A (2x), B (2x), C (2x)); set")


def test_a_constant_sample_has_no_correlations_in_qc_json(tmp_path: Path) -> None:
    """s3 has the same count for both genes: its log values are constant, so its correlations are
    undefined: null in qc.json (JSON has no NaN), and it is never flagged. (Two genes: the mean of
    two equal values is exact. With three, the rounded mean leaves a ~1e-15 residue and the
    sample's correlations come out 0, not undefined: told to the lead.)"""
    text = "gene,s1,s2,s3,s4\ng1,10,20,50,15\ng2,30,10,50,30\n"
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    card = {"dataset_id": "c", "name": "c", "modality": "bulk", "input": {"path": "t.csv", "format": "csv"}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    data = load_card(tmp_path / "c.yaml").data
    data["params"]["min_mean_log"] = None
    result = _export(tmp_path, data)
    matrix = result.qc["correlation"]["matrix"]
    assert matrix[2] == [None] * 4 and [row[2] for row in matrix] == [None] * 4
    assert all(isinstance(v, float) for i, row in enumerate(matrix) for j, v in enumerate(row) if 2 not in (i, j))
    per_sample = result.qc["per_sample"]
    assert per_sample[2]["median_correlation"] is None and per_sample[2]["outlier"] is False
    assert all(isinstance(p["median_correlation"], float) for i, p in enumerate(per_sample) if i != 2)
    json.dumps(result.qc, allow_nan=False)


def test_header_and_late_body_read_errors_are_whole_lines(tmp_path: Path) -> None:
    """A header field past csv's field limit, and a non-UTF-8 byte far into the body (past the
    first block the header's reader decodes, so the body's own reader meets it)."""
    header = tmp_path / "h.csv"
    header.write_text("gene," + "x" * 200_000 + "\nA,1\n", encoding="utf-8")
    # csv's field limit is one per process: the DNA table reader raises it for long sequences, so a test
    # run after the DNA tests would read this header whole; csv's default is what a bulk job runs with
    previous = csv.field_size_limit(131072)
    try:
        refused = _refusal(io.read_expression_table, header, "csv")
    finally:
        csv.field_size_limit(previous)
    assert refused == (str(header), None, "cannot read the header row: field larger than field limit (131072)")
    body = tmp_path / "b.csv"
    body.write_bytes(b"gene,s1\n" + b"".join(b"G%d,1\n" % i for i in range(20_000)) + b"A\xe9,1\n")
    assert _refusal(io.read_expression_table, body, "csv") == (
        str(body),
        None,
        "not UTF-8 text (invalid continuation byte)",
    )


def test_unreadable_arrays_name_the_file_and_the_field(tmp_path: Path) -> None:
    """An .npz member holding pickled objects names input.arrays.<role>; a file given as .npy
    that holds pickled objects names the file."""
    npz = tmp_path / "o.npz"
    np.savez(npz, values=np.array([[1, None]], dtype=object), gene_ids=np.array(["A", "B"]), sample_ids=["s"])
    assert _refusal(io.read_expression_array, npz, "npz", orientation="samples_x_genes") == (
        str(npz),
        "input.arrays.values",
        "array 'values' cannot be read: it holds Python objects (pickled), not numbers or fixed-width strings",
    )
    (tmp_path / "g.txt").write_text("A\nB\n", encoding="utf-8")
    (tmp_path / "s.txt").write_text("s\n", encoding="utf-8")
    npy = tmp_path / "o.npy"
    np.save(npy, np.array([[1, None]], dtype=object), allow_pickle=True)
    ids = {"gene_ids_path": tmp_path / "g.txt", "sample_ids_path": tmp_path / "s.txt"}
    source, _, problem = _refusal(io.read_expression_array, npy, "npy", **ids)
    assert source == str(npy) and "pickled" in problem


def test_samples_x_genes_table_gives_gene_annotation_rows_for_every_gene(tmp_path: Path) -> None:
    path = tmp_path / "sg.csv"
    path.write_text("sample,A,B,C\ns1,1,2,3\ns2,3,4,5\n", encoding="utf-8")
    table = io.read_expression_table(path, "csv", orientation="samples_x_genes")
    assert list(table.gene_annotation.index) == ["A", "B", "C"] and table.gene_annotation.shape == (3, 0)
    assert list(table.sample_annotation.index) == ["s1", "s2"]
    np.testing.assert_array_equal(table.values, [[1, 2, 3], [3, 4, 5]])


def test_log_values_check_of_an_array_without_genes_passes(caplog) -> None:
    """No value at all: nothing above the log ceiling (and no numpy error on an empty maximum);
    a value above 50 only warns."""
    io.check_values(np.zeros((2, 0)), ["a", "b"], [], "log", "t.csv")
    assert "really log-transformed" not in caplog.text
    io.check_values(np.array([[51.0]]), ["a"], ["g"], "log", "t.csv")
    assert "largest value is 51: is the table really log-transformed?" in caplog.text


def test_one_varying_sample_has_no_correlation() -> None:
    """One sample (even one whose genes differ) has no other sample to correlate with: NaN."""
    corr = qc.correlation_matrix(np.array([[1.0, 2.0, 4.0]]))
    assert corr.shape == (1, 1) and np.isnan(corr).all()


def test_rules_with_a_mad_of_zero_keep_their_names() -> None:
    """Three samples of the same library size (and the same median correlation): MAD 0, no flags,
    each rule still named (the name is what qc.json and the outlier reasons show)."""
    size = qc.library_size_rule(np.array([100.0, 100.0, 100.0]), 3.0, counts=True)
    corr = qc.correlation_rule(np.array([0.9, 0.9, 0.9]), 3.0)
    for rule, name in ((size, "library_size"), (corr, "median_correlation")):
        assert (rule.name, rule.applied, rule.note) == (name, True, "MAD is 0: no sample differs, none flagged")
        assert rule.flagged.tolist() == [False, False, False]


def test_an_npz_that_is_not_an_archive_and_1d_values_are_whole_lines(tmp_path: Path) -> None:
    garbage = tmp_path / "g.npz"
    garbage.write_bytes(b"these bytes are no zip archive\n")
    source, record, problem = _refusal(io.read_expression_array, garbage, "npz")
    assert (source, record) == (str(garbage), None) and problem.startswith("not a readable .npz archive: ")
    flat = tmp_path / "f.npz"
    np.savez(flat, values=np.arange(3.0), gene_ids=np.array(["A", "B", "C"]), sample_ids=np.array(["s"]))
    assert _refusal(io.read_expression_array, flat, "npz") == (
        str(flat),
        None,
        "the values are a 1-D array (shape (3,)); a matrix is 2-D",
    )


def test_ingest_of_an_npz_reads_it_as_the_card_says(tmp_path: Path) -> None:
    """An .npz whose arrays have other names (input.arrays), one row per sample
    (samples_x_genes), TPM values (not integers) and a gene id twice (duplicate_genes: sum):
    ingest passes each of these to the reader; the expected matrix is summed by hand."""
    values = np.array([[1.5, 0.0, 2.0, 0.25], [3.0, 4.25, 0.0, 1.0]])  # samples x genes A, B, C, A
    np.savez(tmp_path / "m.npz", m=values, g=np.array(["A", "B", "C", "A"]), s=np.array(["s1", "s2"]))
    card = {
        "dataset_id": "npz2",
        "name": "npz2",
        "modality": "bulk",
        "input": {
            "path": "m.npz",
            "format": "npz",
            "arrays": {"values": "m", "gene_ids": "g", "sample_ids": "s"},
            "orientation": "samples_x_genes",
            "value_type": "tpm",
            "duplicate_genes": "sum",
        },
    }
    path = tmp_path / "npz2.yaml"
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    adata = steps.ingest(IngestOptions.from_card(load_card(path).data), tmp_path / "m.npz")
    assert adata.obs_names.tolist() == ["s1", "s2"] and adata.var_names.tolist() == ["A", "B", "C"]
    np.testing.assert_array_equal(np.asarray(adata.X), [[1.75, 0.0, 2.0], [4.0, 4.25, 0.0]])
    assert adata.uns["genoprep"]["value_type"] == "tpm"


def test_a_header_only_table_and_an_annotation_column_past_a_short_header(tmp_path: Path) -> None:
    """Whole lines: a table without data rows; an annotation column that is not there names the
    file and hints that a header one field short leaves the ids in the unnamed column 0."""
    empty = tmp_path / "e.csv"
    empty.write_text("gene,s1,s2\n", encoding="utf-8")
    assert _refusal(io.read_expression_table, empty, "csv") == (
        str(empty),
        None,
        "the table has a header but no data rows",
    )
    short = tmp_path / "s.csv"
    short.write_text("s1,s2\nA,1,2\nB,3,4\n", encoding="utf-8")
    assert _refusal(io.read_expression_table, short, "csv", annotation_columns=["sym"]) == (
        str(short),
        "input",
        "input.annotation_columns names column 'sym', which is not there (the header is one field short, "
        "so the ids are the unnamed column 0); columns: '', 's1', 's2'",
    )


def test_an_npz_names_its_samples_and_a_metadata_checksum_is_checked(tmp_path: Path) -> None:
    """The reader's sample annotation is indexed by the sample ids; the card's metadata.sha256 is
    compared with hashlib's digest of the file (a wrong one is refused, naming the file)."""
    import hashlib

    np.savez(tmp_path / "m.npz", values=np.array([[1, 2], [3, 4]]), gene_ids=["A", "B"], sample_ids=["s1", "s2"])
    table = io.read_expression_array(tmp_path / "m.npz", "npz")
    assert table.sample_annotation.index.tolist() == ["s1", "s2"]
    (tmp_path / "t.csv").write_text(QC_TABLE, encoding="utf-8")
    meta = tmp_path / "meta.csv"
    meta.write_text("sample,group\ns1,a\ns2,a\ns3,b\ns4,b\ns5,b\n", encoding="utf-8")
    digest = hashlib.sha256(meta.read_bytes()).hexdigest()
    card = {
        "dataset_id": "qc5",
        "name": "qc5",
        "modality": "bulk",
        "input": {"path": "t.csv", "format": "csv"},
        "metadata": {"path": "meta.csv", "sha256": "0" * 64},
    }
    (tmp_path / "qc5.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    options = IngestOptions.from_card(load_card(tmp_path / "qc5.yaml").data)
    assert _refusal(steps.ingest, options, tmp_path / "t.csv", meta) == (
        str(meta),
        None,
        f"sha256 is {digest}, but the card says {'0' * 64}",
    )
