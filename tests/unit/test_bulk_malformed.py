"""A catalogue of malformed bulk expression tables and metadata: each is refused by bulk_ingest
with one line naming the file (and record) and the problem; awkward but good tables (BOM,
CRLF, gzip) read with clean ids. The workflow-level outcome (exit status, one ``genoprep:``
line, nothing left in the results folder) is in tests/e2e/test_bulk_real.py."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from genoprep.bulk.options import IngestOptions
from genoprep.bulk.steps import ingest
from genoprep.errors import InputError
from tests.malformed import BOM, assert_one_line_error, dangling_symlink, directory, truncated_gzip, write_file


def _options(fmt: str = "csv", value_type: str = "counts", metadata: dict | None = None) -> IngestOptions:
    return IngestOptions(
        dataset_id="b",
        format=fmt,
        orientation="genes_x_samples",
        id_column=0,
        annotation_columns=(),
        gene_symbol_column=None,
        value_type=value_type,
        duplicate_genes="refuse",
        arrays={"values": "values", "gene_ids": "gene_ids", "sample_ids": "sample_ids"},
        sha256=None,
        columns={},
        metadata=metadata,
    )


#: a table long enough that half of its gzip stops inside the rows
LONG_TABLE = b"gene,s1,s2\n" + b"".join(b"G%d,%d,%d\n" % (i, i, i + 1) for i in range(20000))

# (case id, file maker, format, value_type, expected record prefix or None, expected problem)
CATALOGUE = [
    ("empty-file", write_file("e.csv", b""), "csv", "counts", "line 1", "the file is empty"),
    ("header-only", write_file("h.csv", b"gene,s1,s2\n"), "csv", "counts", None, "header but no data rows"),
    (
        "truncated-gzip",
        truncated_gzip("t.csv.gz", LONG_TABLE),
        "csv",
        "counts",
        None,
        "truncated gzip",
    ),
    ("fasta-named-csv", write_file("x.csv", b">seq1\nACGT\n"), "csv", "counts", None, "no value columns"),
    (
        "extra-field",
        write_file("r.csv", b"gene,s1,s2\nA,1,2\nB,1,2,3\n"),
        "csv",
        "counts",
        None,
        "Expected 3 fields in line 3, saw 4",
    ),
    (
        "header-two-short",
        write_file("s.csv", b"s1\nA,1,2\n"),
        "csv",
        "counts",
        "line 1",
        "the header has 1 fields but the first data row has 3",
    ),
    ("tsv-declared-csv", write_file("t.tsv", b"gene\ts1\ts2\nA\t1\t2\n"), "csv", "counts", None, "no value columns"),
    (
        "duplicate-samples",
        write_file("d.csv", b"gene,s1,s1\nA,1,2\n"),
        "csv",
        "counts",
        None,
        "sample ids occur more than once",
    ),
    (
        "duplicate-genes",
        write_file("g.csv", b"gene,s1\nA,1\nA,2\n"),
        "csv",
        "counts",
        None,
        "1 gene ids occur more than once",
    ),
    ("empty-gene-id", write_file("i.csv", b"gene,s1\nA,1\n,2\n"), "csv", "counts", "line 3", "empty gene id"),
    (
        "text-value",
        write_file("v.csv", b"gene,s1\nA,one\n"),
        "csv",
        "counts",
        "line 2, gene A, sample s1",
        "value 'one' is not a number",
    ),
    (
        "empty-value",
        write_file("n.csv", b"gene,s1,s2\nA,1,\n"),
        "csv",
        "counts",
        "line 2, gene A, sample s2",
        "empty value",
    ),
    (
        "negative-count",
        write_file("m.csv", b"gene,s1\nA,-1\n"),
        "csv",
        "counts",
        "gene A, sample s1",
        "value -1 is negative: counts are non-negative integers",
    ),
    (
        "fractional-count",
        write_file("f.csv", b"gene,s1\nA,1.5\n"),
        "csv",
        "counts",
        "gene A, sample s1",
        "value 1.5 is not an integer",
    ),
    (
        "negative-tpm",
        write_file("p.csv", b"gene,s1\nA,-0.1\n"),
        "csv",
        "tpm",
        "gene A, sample s1",
        "TPM values are non-negative",
    ),
    (
        "infinite",
        write_file("inf.csv", b"gene,s1\nA,inf\n"),
        "csv",
        "log",
        "gene A, sample s1",
        "value inf is not a finite number",
    ),
    ("latin1", write_file("l.csv", b"gene,s1\ncaf\xe9,1\n"), "csv", "counts", None, "not UTF-8"),
    ("missing-file", lambda f: f / "absent.csv", "csv", "counts", None, "no such file"),
    ("folder", directory("folder.csv"), "csv", "counts", None, "a folder, but a file is expected"),
    ("dangling-symlink", dangling_symlink("gone.csv"), "csv", "counts", None, "a symbolic link to"),
]


@pytest.mark.parametrize(
    ("make", "fmt", "value_type", "record", "problem"), [c[1:] for c in CATALOGUE], ids=[c[0] for c in CATALOGUE]
)
def test_malformed_table_is_one_line_naming_file_record_and_problem(
    tmp_path: Path, make: Callable[[Path], Path], fmt: str, value_type: str, record: str | None, problem: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError) as caught:
        ingest(_options(fmt, value_type), path)
    assert_one_line_error(caught.value, path, record, problem)


def test_metadata_without_a_row_for_a_sample_names_the_metadata_file(tmp_path: Path) -> None:
    table = write_file("t.csv", b"gene,s1,s2\nA,1,2\n")(tmp_path)
    meta = write_file("m.csv", b"sample,condition\ns1,a\n")(tmp_path)
    metadata = {"format": "csv", "header": True, "id_column": 0, "unmatched": "error", "sha256": None}
    with pytest.raises(InputError) as caught:
        ingest(_options(metadata=metadata), table, meta)
    assert caught.value.source == str(meta) and "no metadata row for 1 of 2 samples (e.g. s2)" in str(caught.value)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_spreadsheet_export_with_bom_and_crlf_reads_with_clean_ids(
    tmp_path: Path, newline: bytes, packed: bool
) -> None:
    text = BOM + b'"gene","s1","s2"\n"A",1,2\n"B",3,0\n'.replace(b"\n", newline)
    path = write_file("t.csv", gzip.compress(text, mtime=0) if packed else text)(tmp_path)
    adata = ingest(_options(), path)
    assert list(adata.obs_names) == ["s1", "s2"] and list(adata.var_names) == ["A", "B"]
    np.testing.assert_array_equal(adata.X, [[1, 3], [2, 0]])
