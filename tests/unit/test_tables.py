"""Metadata tables: id columns, R-style short headers, header-less tables, joins."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from genoprep.errors import InputError
from genoprep.tables import join_metadata, read_metadata_table


def test_named_id_column(tmp_path: Path) -> None:
    path = tmp_path / "m.tsv"
    path.write_text("x\tcell\tlabel\n1\tc1\tT\n2\tc2\tB\n")
    table = read_metadata_table(path, "tsv", id_column="cell")
    assert list(table.index) == ["c1", "c2"] and list(table["label"]) == ["T", "B"]
    assert table["x"].dtype.kind == "i"  # numeric columns become numbers


def test_r_write_csv_header_one_field_short(tmp_path: Path) -> None:
    path = tmp_path / "m.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write('"a","label"\n"S1",1,"T"\n"S2",2,"B"\n')
    table = read_metadata_table(path)
    assert list(table.index) == ["S1", "S2"] and list(table.columns) == ["a", "label"]


def test_headerless_table_by_position(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("T,c1\nB,c2\n")
    table = read_metadata_table(path, "csv", header=False, id_column=1)
    assert list(table.index) == ["c1", "c2"] and list(table[0]) == ["T", "B"]


def test_duplicate_ids_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("id,label\nc1,T\nc1,B\n")
    with pytest.raises(InputError, match="1 ids occur more than once \\(e.g. c1\\)"):
        read_metadata_table(path)


def test_unknown_id_column(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("id,label\nc1,T\n")
    with pytest.raises(InputError, match="no column 'cell'"):
        read_metadata_table(path, id_column="cell")


def test_join_reports_missing_and_unused() -> None:
    table = pd.DataFrame({"label": ["T", "B", "NK"]}, index=["c1", "c2", "c3"])
    rows, report = join_metadata(["c2", "c1"], table, "m.csv")
    assert list(rows["label"]) == ["B", "T"] and report.unused_metadata_rows == 1
    with pytest.raises(InputError, match=r"m.csv: no metadata row for 1 of 2 cells \(e.g. c9\)"):
        join_metadata(["c1", "c9"], table, "m.csv")
