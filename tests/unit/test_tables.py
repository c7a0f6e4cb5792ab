"""Tables: id columns, R-style short headers, header-less tables, BOM/CRLF/gzip, joins, labels, Ensembl ids."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoprep.errors import InputError
from genoprep.tables import JoinReport, join_metadata, looks_like_ensembl, map_labels, read_metadata_table, read_table
from tests.conftest import shared_data


def test_named_id_column(tmp_path: Path) -> None:
    path = tmp_path / "m.tsv"
    path.write_text("x\tcell\tlabel\n1\tc1\tT\n2\tc2\tB\n")
    table = read_table(path, "tsv", id_column="cell")
    assert list(table.index) == ["c1", "c2"] and list(table["label"]) == ["T", "B"]
    assert table["x"].dtype.kind == "i"  # numeric columns become numbers


def test_read_metadata_table_is_read_table() -> None:
    assert read_metadata_table is read_table


def test_r_write_csv_header_one_field_short(tmp_path: Path) -> None:
    path = tmp_path / "m.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write('"a","label"\n"S1",1,"T"\n"S2",2,"B"\n')
    table = read_table(path)
    assert list(table.index) == ["S1", "S2"] and list(table.columns) == ["a", "label"]


def test_headerless_table_by_position(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("T,c1\nB,c2\n")
    table = read_table(path, "csv", header=False, id_column=1)
    assert list(table.index) == ["c1", "c2"] and list(table[0]) == ["T", "B"]


@pytest.mark.parametrize("name", ["m.csv", "m.csv.gz", "m.txt"])
def test_bom_and_crlf_give_clean_ids_and_names(tmp_path: Path, name: str) -> None:
    text = '\ufeff"id","cell type"\r\n"CELL_1","T cell"\r\n"CELL_2","B cell"\r\n'
    data = text.encode("utf-8")
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    table = read_table(path, "csv" if name == "m.txt" else None)
    assert list(table.index) == ["CELL_1", "CELL_2"]
    assert list(table.columns) == ["cell type"] and list(table["cell type"]) == ["T cell", "B cell"]


def test_gzip_found_by_magic_bytes_not_by_name(tmp_path: Path) -> None:
    path = tmp_path / "m.tsv"  # gzip content under a plain name
    path.write_bytes(gzip.compress(b"id\tlabel\nc1\tT\n"))
    assert list(read_table(path).index) == ["c1"]


def test_format_guessed_from_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "m.meta"
    path.write_text("id\tlabel,with comma\nc1\tT,x\n")
    assert list(read_table(path).columns) == ["label,with comma"]


def test_truncated_gzip_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.csv.gz"
    path.write_bytes(gzip.compress(b"id,label\n" + b"".join(b"c%d,T\n" % i for i in range(5000)))[:200])
    with pytest.raises(InputError, match=r"m\.csv\.gz: truncated gzip"):
        read_table(path)


def test_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes("id,label\nc1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"m\.csv: not UTF-8 text"):
        read_table(path)


def test_empty_table_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("")
    with pytest.raises(InputError, match=r"m\.csv: the csv table is empty"):
        read_table(path)


def test_empty_id_is_refused_with_its_row(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("id,label\nc1,T\n,B\n")
    with pytest.raises(InputError, match=r"m\.csv: data row 2 \(after the header\): the id field is empty"):
        read_table(path)


def test_duplicate_ids_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("id,label\nc1,T\nc1,B\n")
    with pytest.raises(InputError, match="1 ids occur more than once \\(e.g. c1\\)"):
        read_table(path)


def test_unknown_id_column(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("id,label\nc1,T\n")
    with pytest.raises(InputError, match="no column 'cell'"):
        read_table(path, id_column="cell")
    with pytest.raises(InputError, match="id_column 5 is out of range"):
        read_table(path, id_column=5)


def test_ids_are_strings_even_when_numeric(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("id,label\n007,T\n12,B\n")
    assert list(read_table(path).index) == ["007", "12"]  # not 7 and 12


# ---------------------------------------------------------------- join

TABLE = pd.DataFrame({"label": ["T", "B", "NK"], "age": [30, 40, 50]}, index=["c1", "c2", "c3"])


def test_join_orders_rows_by_the_data_ids_and_lists_unused_rows() -> None:
    rows, report = join_metadata(["c2", "c1"], TABLE, "m.csv")
    assert list(rows.index) == ["c2", "c1"] and list(rows["label"]) == ["B", "T"]
    assert report == JoinReport(unmatched_ids=(), unused_rows=("c3",))
    assert report.unused_metadata_rows == 1


def test_join_error_policy_is_the_default_and_names_the_ids() -> None:
    with pytest.raises(InputError, match=r"m.csv: no metadata row for 2 of 3 samples \(e.g. c9, c8\)"):
        join_metadata(["c1", "c9", "c8"], TABLE, "m.csv", what="samples")
    with pytest.raises(InputError, match="metadata.unmatched: na"):
        join_metadata(["c9"], TABLE, "m.csv", unmatched="error")


def test_join_na_policy_keeps_every_id_with_missing_values() -> None:
    rows, report = join_metadata(["c9", "c2"], TABLE, "m.csv", unmatched="na")
    assert list(rows.index) == ["c9", "c2"]
    assert rows["label"].isna().tolist() == [True, False] and rows.loc["c2", "age"] == 40
    assert report.unmatched_ids == ("c9",) and report.unused_rows == ("c1", "c3")
    labels = map_labels(rows, {"cell_type": "label"}, "card.yaml")
    assert labels["cell_type"].tolist() == ["NA", "B"]


def test_join_refuses_an_unknown_policy() -> None:
    with pytest.raises(ValueError, match="unmatched must be one of"):
        join_metadata(["c1"], TABLE, "m.csv", unmatched="drop")


# ---------------------------------------------------------------- labels


def test_map_labels_by_name_position_and_missing_values() -> None:
    frame = pd.DataFrame({0: ["T", None, "B"], "donor": [1, 2, None]}, index=["a", "b", "c"])
    labels = map_labels(
        frame, {"batch": "donor", "gene_ids": "x", "cell_type": 0}, "c.yaml", labels=("cell_type", "donor_id", "batch")
    )
    assert list(labels) == ["cell_type", "batch"]  # the modality's label order; gene_ids is not a label
    assert labels["cell_type"].tolist() == ["T", "NA", "B"]
    assert labels["batch"].tolist() == ["1", "2", "NA"]
    assert all(isinstance(v, np.ndarray) and v.dtype.kind == "U" for v in labels.values())


def test_map_labels_without_a_list_takes_every_entry_in_card_order() -> None:
    frame = pd.DataFrame({"b": ["x"], "a": ["y"]})
    assert list(map_labels(frame, {"second": "a", "first": "b"}, "c.yaml")) == ["second", "first"]


def test_map_labels_matches_a_position_given_as_text() -> None:
    frame = pd.DataFrame({"3": ["T"]})  # a header-less column whose name became text
    assert map_labels(frame, {"cell_type": 3}, "c.yaml")["cell_type"].tolist() == ["T"]


def test_map_labels_unknown_column_names_the_card_field() -> None:
    frame = pd.DataFrame({"label": ["T"]})
    with pytest.raises(
        InputError,
        match=r"^c\.yaml: columns: columns\.cell_type names column 'celltype', "
        r"which is not there \(available: label\)$",
    ):
        map_labels(frame, {"cell_type": "celltype"}, "c.yaml")


# ---------------------------------------------------------------- Ensembl ids


@pytest.mark.parametrize(
    "ids, expected",
    [
        (["ENSG00000198888", "ENSMUSG00000064341.1"], True),
        (["ENST00000456328.2", "ENSMUST00000193812"], True),  # transcripts are Ensembl ids too
        (["MT-ND1", "CD3E"], False),
        (["ENSA", "ENSAP1", "ENSG0001"], False),  # symbols and too-short ids
        (["ENSG00000198888"] * 9 + ["ERCC-00002"], True),  # 90 %: a spike-in among Ensembl ids
        (["ENSG00000198888"] * 8 + ["ERCC-00002", "__no_feature"], False),  # 80 %
        (["ENSG00000198888", "", ""], True),  # empty ids are not counted
        ([], False),
        (["", ""], False),
    ],
)
def test_looks_like_ensembl(ids: list[str], expected: bool) -> None:
    assert looks_like_ensembl(ids) is expected
    assert looks_like_ensembl(pd.Index(ids, dtype=object)) is expected


def _first_column(path: Path, sep: str = ",") -> list[str]:
    return pd.read_csv(path, sep=sep, usecols=[0], header=None, skiprows=1, dtype=str).iloc[:, 0].tolist()


@pytest.mark.parametrize(
    "parts, sep, expected",
    [
        (("bulk", "mouse_12samples_rpkm_genes_x_samples.csv"), ",", True),  # ENSMUSG ids
        (("bulk", "gse96870_mouse_cerebellum_counts_genes_x_22samples.csv"), ",", False),  # mouse symbols
        (("bulk", "mov10_human_hek293_counts_genes_x_8samples.tsv"), "\t", False),  # human symbols
        (("scrna", "cellbench_dropseq_3celllines_counts_genes_x_cells.csv.gz"), ",", True),  # ENSG ids
    ],
)
def test_real_gene_id_lists_classify_as_before(parts: tuple[str, ...], sep: str, expected: bool) -> None:
    ids = _first_column(shared_data(*parts), sep)
    assert looks_like_ensembl(ids) is expected
    # the two former detectors (scRNA: 11 digits, > 90 %; bulk: 6+ digits, >= 50 %) agreed on these files
    scrna_rule = np.mean([bool(re.match(r"^ENS[A-Z]*G\d{11}(\.\d+)?$", i)) for i in ids]) > 0.9
    bulk_rule = np.mean([bool(re.match(r"^ENS[A-Z]*G\d{6,}(\.\d+)?$", i)) for i in ids]) >= 0.5
    assert bool(scrna_rule) == bool(bulk_rule) == expected


def test_real_10x_features_ids_and_symbols() -> None:
    features = pd.read_csv(
        shared_data("scrna", "pbmc_10x_v3_chr21_filtered_feature_bc_matrix", "features.tsv.gz"),
        sep="\t",
        header=None,
        dtype=str,
    )
    assert looks_like_ensembl(features[0]) and not looks_like_ensembl(features[1])
