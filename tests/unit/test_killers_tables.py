"""genoprep.tables: the facts the mutation run (``make mutants MODULES=tables``) found untested.

Each error is checked whole: the file it names (``source``), the record, and the exact problem
(written by hand here, or, for pandas' own parser message, re-derived from pandas on the same
bytes). Values that pandas would take for missing by default ("NA", "null", "n/a", "None") stay
text: only an empty field is missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoprep.errors import InputError
from genoprep.tables import as_labels, join_metadata, map_labels, read_table


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        read_table(path, **kwargs)
    assert caught.value.source == str(path), str(caught.value)
    assert "\n" not in str(caught.value)
    return caught.value


def test_words_pandas_reads_as_missing_stay_text(tmp_path: Path) -> None:
    """Only an empty field is missing: an id "NA" (the sample called NA) and labels "null",
    "n/a", "None", "nan" are kept as written."""
    path = _write(tmp_path, "t.csv", "id,label\nNA,null\nnull,n/a\nx,None\ny,nan\nz,\n")
    table = read_table(path)
    assert table.index.tolist() == ["NA", "null", "x", "y", "z"]
    assert table["label"].iloc[:4].tolist() == ["null", "n/a", "None", "nan"]
    assert pd.isna(table["label"].iloc[4])


def test_parser_error_is_pandas_message_on_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "r.csv", "id,a\nx,1\ny,2,3\n")
    with pytest.raises(pd.errors.ParserError) as pandas_error:
        pd.read_csv(path, dtype=str)
    error = _refused(path, fmt="csv")
    assert error.problem == "cannot read the csv table: " + " ".join(str(pandas_error.value).split())
    assert "Expected 2 fields in line 3, saw 3" in error.problem


def test_header_two_fields_short_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.csv", "a\nx,1,2\ny,3,4\n")
    error = _refused(path)
    assert error.problem == "the header row is more than one field short of the data rows"
    assert error.record is None


def test_header_one_field_short_with_another_id_column_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.csv", "a,b\nx,1,2\n")
    error = _refused(path, id_column="a")
    assert error.problem == "the header is one field short, so the ids are the first column; id_column must be 0"


def test_header_one_field_short_names_the_empty_id_row(tmp_path: Path) -> None:
    """R's write.csv layout with an empty id on the second data row."""
    path = _write(tmp_path, "e.csv", "a,b\nx,1,2\n,3,4\n")
    error = _refused(path)
    assert (error.record, error.problem) == ("data row 2 (after the header)", "the id field is empty")


def test_headerless_empty_id_names_the_row_without_a_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "h.tsv", "x\t1\n\t2\n")
    error = _refused(path, header=False)
    assert (error.record, error.problem) == ("row 2", "the id field is empty")


def test_id_column_equal_to_the_number_of_columns_is_out_of_range(tmp_path: Path) -> None:
    path = _write(tmp_path, "o.csv", "a,b\nx,1\n")
    error = _refused(path, id_column=2)
    assert error.problem == "id_column 2 is out of range (the table has 2 columns)"
    assert read_table(path, id_column=1).index.tolist() == ["1"]  # the last column is in range


def test_unknown_named_id_column_lists_the_first_twelve_columns(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(14)]
    path = _write(tmp_path, "n.csv", ",".join(names) + "\n" + ",".join(map(str, range(14))) + "\n")
    error = _refused(path, id_column="id")
    assert error.problem == "no column 'id' (columns: " + ", ".join(names[:12]) + ")"


def test_duplicate_ids_are_counted_and_listed(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", "id,v\na,1\nb,2\na,3\nb,4\nc,5\n")
    error = _refused(path)
    assert error.problem == "2 ids occur more than once (e.g. a, b)"


def test_join_error_says_cells_by_default() -> None:
    table = pd.DataFrame({"v": [1]}, index=["a"])
    with pytest.raises(InputError) as caught:
        join_metadata(["a", "b"], table, "meta.tsv")
    assert caught.value.source == "meta.tsv"
    assert caught.value.problem.startswith("no metadata row for 1 of 2 cells (e.g. b); ")


def test_unknown_label_column_lists_fifteen_columns_or_none() -> None:
    wide = pd.DataFrame([range(16)], columns=[f"c{i}" for i in range(16)])
    with pytest.raises(InputError) as caught:
        map_labels(wide, {"cell_type": "ct"}, "meta.tsv")
    listed = ", ".join(f"c{i}" for i in range(15))
    assert caught.value.problem == f"columns.cell_type names column 'ct', which is not there (available: {listed})"
    empty = pd.DataFrame(index=["a"])
    with pytest.raises(InputError) as caught:
        map_labels(empty, {"cell_type": "ct"}, "meta.tsv")
    assert caught.value.problem.endswith("(available: none)")


def test_float_labels_that_are_not_whole_stay_decimals() -> None:
    """Only whole numbers lose their ".0"; 1.5 stays 1.5 (and a missing value is NA)."""
    assert as_labels(pd.Series([1.5, np.nan, 2.0])).tolist() == ["1.5", "NA", "2.0"]
    assert as_labels(pd.Series([1.0, np.nan, 2.0])).tolist() == ["1", "NA", "2"]
    assert as_labels(pd.Series([np.inf, 1.0])).tolist() == ["inf", "1.0"]
