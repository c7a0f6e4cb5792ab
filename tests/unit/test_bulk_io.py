"""Reading bulk expression tables: layouts, short headers, annotation columns, refusals."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from genoprep.bulk.io import check_values, read_expression_table
from genoprep.errors import InputError


def write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


GENES_X_SAMPLES = "gene,s1,s2,s3\nA,1,0,5\nB,2,3,4\n"


def test_genes_x_samples_is_returned_samples_x_genes(tmp_path: Path) -> None:
    table = read_expression_table(write(tmp_path / "t.csv", GENES_X_SAMPLES), "csv")
    assert table.samples == ["s1", "s2", "s3"] and table.genes == ["A", "B"]
    np.testing.assert_array_equal(table.values, [[1, 2], [0, 3], [5, 4]])
    assert table.values.dtype == np.float64 and table.duplicate_genes == {}


def test_samples_x_genes_gzipped_tsv_with_sample_annotation(tmp_path: Path) -> None:
    text = "sample\tgroup\tA\tB\ns1\tx\t1\t2\ns2\ty\t0\t3\n"
    table = read_expression_table(
        write(tmp_path / "t.tsv.gz", text), "tsv", orientation="samples_x_genes", annotation_columns=["group"]
    )
    assert table.samples == ["s1", "s2"] and table.genes == ["A", "B"]
    np.testing.assert_array_equal(table.values, [[1, 2], [0, 3]])
    assert list(table.sample_annotation["group"]) == ["x", "y"]


def test_short_header_r_write_csv(tmp_path: Path) -> None:
    text = '"s1","s2"\n"ENSMUSG00000000001",1.5,2.25\n"ENSMUSG00000000003",0,0\n'
    table = read_expression_table(write(tmp_path / "t.csv", text), "csv", value_type="rpkm")
    assert table.samples == ["s1", "s2"] and table.genes == ["ENSMUSG00000000001", "ENSMUSG00000000003"]
    np.testing.assert_array_equal(table.values, [[1.5, 0], [2.25, 0]])


def test_short_header_names_the_unnamed_id_column(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "s1,s2\nA,1,2\n")
    with pytest.raises(InputError, match="the header is one field short, so the ids are the unnamed column 0"):
        read_expression_table(path, "csv", id_column="gene")


def test_id_column_by_name_and_annotation_columns_kept(tmp_path: Path) -> None:
    text = "length\tGeneSymbol\ts1\ts2\n1000\tA\t1\t2\n2500\tB\t3\t4\n"
    table = read_expression_table(
        write(tmp_path / "t.tsv", text), "tsv", id_column="GeneSymbol", annotation_columns=["length"]
    )
    assert table.genes == ["A", "B"] and table.samples == ["s1", "s2"]
    assert list(table.gene_annotation["length"]) == [1000, 2500]
    same = read_expression_table(tmp_path / "t.tsv", "tsv", id_column=1, annotation_columns=["length"])
    np.testing.assert_array_equal(same.values, table.values)


def test_an_unlisted_text_column_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "t.tsv", "gene\tsymbol\ts1\nENSG00000000003\tTSPAN6\t1\n")
    with pytest.raises(InputError) as err:
        read_expression_table(path, "tsv")
    assert str(err.value) == (
        f"{path}: line 2, gene ENSG00000000003, sample symbol: value 'TSPAN6' is not a number "
        "(if 'symbol' is an annotation column, list it in input.annotation_columns)"
    )


def test_fractional_counts_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "gene,s1,s2\nA,1,2.5\n")
    with pytest.raises(InputError) as err:
        read_expression_table(path, "csv")
    assert str(err.value).startswith(
        f"{path}: gene A, sample s2: value 2.5 is not an integer: counts must be non-negative integers"
    )
    assert read_expression_table(path, "csv", value_type="tpm").values[1, 0] == 2.5


def test_negative_values_refused_unless_log(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "gene,s1,s2\nA,1,-0.5\n")
    with pytest.raises(InputError, match=r"gene A, sample s2: value -0.5 is negative: counts are non-negative"):
        read_expression_table(path, "csv")
    with pytest.raises(InputError, match=r"value -0.5 is negative: TPM values are non-negative"):
        read_expression_table(path, "csv", value_type="tpm")
    assert read_expression_table(path, "csv", value_type="log").values[1, 0] == -0.5


def test_missing_and_non_finite_values_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"line 3, gene B, sample s1: empty value"):
        read_expression_table(write(tmp_path / "a.csv", "gene,s1\nA,1\nB,\n"), "csv")
    with pytest.raises(InputError, match=r"gene A, sample s1: value inf is not a finite number"):
        read_expression_table(write(tmp_path / "b.csv", "gene,s1\nA,inf\n"), "csv", value_type="log")


def test_duplicate_genes_refused_by_default_naming_them(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "gene,s1,s2\nA,1,2\nB,1,1\nA,3,4\nC,0,0\nB,1,1\nA,0,1\n")
    with pytest.raises(InputError) as err:
        read_expression_table(path, "csv")
    assert str(err.value) == (
        f"{path}: 2 gene ids occur more than once (A (3x), B (2x)); set "
        "input.duplicate_genes: sum in the card to add their values up"
    )


def test_duplicate_genes_summed_in_first_occurrence_order(tmp_path: Path) -> None:
    text = "gene,len,s1,s2\nA,10,1,2\nB,20,1,1\nA,11,3,4\nC,30,0,0\nB,21,1,1\nA,12,0,1\n"
    table = read_expression_table(
        write(tmp_path / "t.csv", text), "csv", annotation_columns=["len"], duplicate_genes="sum"
    )
    assert table.genes == ["A", "B", "C"]
    np.testing.assert_array_equal(table.values, [[4, 2, 0], [7, 2, 0]])
    assert list(table.gene_annotation["len"]) == [10, 20, 30]  # the first occurrence's annotation
    assert table.duplicate_genes == {"A": 3, "B": 2}


def test_summing_log_values_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", GENES_X_SAMPLES)
    with pytest.raises(InputError, match="duplicate_genes: sum is not defined for log values"):
        read_expression_table(path, "csv", value_type="log", duplicate_genes="sum")


def test_duplicate_samples_and_empty_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"1 sample ids occur more than once \(e.g. s1\)"):
        read_expression_table(write(tmp_path / "a.csv", "gene,s1,s1\nA,1,2\n"), "csv")
    with pytest.raises(InputError, match=r"line 3: empty gene id"):
        read_expression_table(write(tmp_path / "b.csv", "gene,s1\nA,1\n,2\n"), "csv")


def test_ragged_rows_and_bad_header_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"Expected 3 fields in line 3, saw 4"):
        read_expression_table(write(tmp_path / "a.csv", "gene,s1,s2\nA,1,2\nB,1,2,3\n"), "csv")
    with pytest.raises(InputError, match=r"line 1: the header has 5 fields but the first data row has 3"):
        read_expression_table(write(tmp_path / "b.csv", "gene,s1,s2,s3,s4\nA,1,2\n"), "csv")
    with pytest.raises(InputError, match="no data rows"):
        read_expression_table(write(tmp_path / "c.csv", "gene,s1\n"), "csv")


def test_unknown_columns_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", GENES_X_SAMPLES)
    with pytest.raises(InputError, match=r"input.annotation_columns names column 'symbol', which is not there"):
        read_expression_table(path, "csv", annotation_columns=["symbol"])
    with pytest.raises(InputError, match=r"input.gene_id_column 9 is out of range"):
        read_expression_table(path, "csv", id_column=9)


def test_check_values_names_the_first_offending_value() -> None:
    values = np.array([[1.0, 2.0], [3.0, 0.25]])
    with pytest.raises(InputError) as err:
        check_values(values, ["s1", "s2"], ["A", "B"], "counts", "f.csv")
    assert str(err.value).startswith("f.csv: gene B, sample s2: value 0.25 is not an integer")
    check_values(values, ["s1", "s2"], ["A", "B"], "fpkm", "f.csv")
