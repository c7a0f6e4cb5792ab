"""Writers (Parquet / .npy / .npz, deterministic, streamed) and QC conventions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from genoprep.dna.artifacts import (
    TOKENS_SCHEMA,
    tokens_table,
    write_fixed_tokens,
    write_kmer_counts,
    write_parquet,
    write_variable_tokens,
)
from genoprep.dna.io import DnaRecord
from genoprep.dna.qc import dataset_qc, sequence_stats
from genoprep.dna.tokenize import char_encode, dnabert_encode, kmer_counts, nucleotide_transformer_encode

RECORDS = [
    DnaRecord(1, "a", "ACGTACGT", "pos"),
    DnaRecord(2, "b", "acgtNN", None),
    DnaRecord(3, "c", "GGGCCCAAATTT", "neg"),
    DnaRecord(4, "d", "TT", "neg"),
]


def test_tokens_table_columns_and_types() -> None:
    table = tokens_table(RECORDS, dnabert_encode([r.sequence for r in RECORDS], k=3), "dnabert", {"k": 3})
    assert table.schema.equals(TOKENS_SCHEMA)
    assert table.column("id").to_pylist() == ["a", "b", "c", "d"]
    assert table.column("label").to_pylist() == ["pos", None, "neg", "neg"]
    assert table.column("length").to_pylist() == [8, 6, 12, 2]
    # ACGTACGT with k=3 has 6 k-mers + [CLS] + [SEP]; TT has none.
    assert [len(x) for x in table.column("input_ids").to_pylist()] == [8, 6, 12, 2]
    assert table.column("input_ids").to_pylist()[3] == [2, 3]
    assert table.schema.metadata[b"genoprep.scheme"] == b"dnabert"


def test_parquet_bytes_are_deterministic(tmp_path: Path) -> None:
    table = tokens_table(RECORDS, char_encode([r.sequence for r in RECORDS], max_len=5), "char")
    write_parquet(table, tmp_path / "one.parquet")
    write_parquet(table, tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()


@pytest.mark.parametrize("scheme", ["dnabert", "nucleotide_transformer"])
def test_variable_writer_streams_batches(tmp_path: Path, scheme: str) -> None:
    k6 = {"k": 6}
    one = write_variable_tokens(RECORDS, tmp_path / "one.parquet", scheme, k6, batch_records=100)
    write_variable_tokens(RECORDS, tmp_path / "again.parquet", scheme, k6, batch_records=100)
    many = write_variable_tokens(iter(RECORDS), tmp_path / "many.parquet", scheme, k6, batch_records=1)
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "again.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "many.parquet").num_row_groups == 4
    a, b = pq.read_table(tmp_path / "one.parquet"), pq.read_table(tmp_path / "many.parquet")
    assert a.to_pylist() == b.to_pylist() and one["n_sequences"] == many["n_sequences"] == 4
    # Each row equals the scheme run on that record alone (no batch/row-group boundary effect).
    encode = dnabert_encode if scheme == "dnabert" else nucleotide_transformer_encode
    assert b.column("input_ids").to_pylist() == [encode([r.sequence], k=6)[0].tolist() for r in RECORDS]


def test_variable_writer_settings_in_file(tmp_path: Path) -> None:
    """The ids column is PLAIN and uncompressed, the small columns zstd; readable as lists."""
    write_variable_tokens(RECORDS, tmp_path / "t.parquet", "dnabert", {"k": 6}, batch_records=2)
    metadata = pq.ParquetFile(tmp_path / "t.parquet").metadata
    for group in range(metadata.num_row_groups):
        columns = {
            metadata.row_group(group).column(i).path_in_schema: metadata.row_group(group).column(i) for i in range(4)
        }
        ids = columns["input_ids.list.element"]
        assert ids.compression == "UNCOMPRESSED" and "RLE_DICTIONARY" not in ids.encodings and not ids.is_stats_set
        assert columns["id"].compression == "ZSTD"
    assert pq.read_schema(tmp_path / "t.parquet").field("input_ids").type == pa.list_(pa.int32())


def test_variable_writer_error_in_worker_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while a row group is written on the worker thread reaches the caller (no silent
    loss), and no file is left: neither the target nor the temporary one."""
    from genoprep.dna.parquet_writer import TokenParquetWriter

    calls = []

    def fail(self: TokenParquetWriter, *args: object) -> None:
        calls.append(args)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        original(self, *args)

    original = TokenParquetWriter.write_batch
    monkeypatch.setattr(TokenParquetWriter, "write_batch", fail)
    with pytest.raises(OSError, match="No space left"):
        write_variable_tokens(RECORDS, tmp_path / "t.parquet", "dnabert", {"k": 6}, batch_records=1)
    assert len(calls) == 2 and list(tmp_path.iterdir()) == []


CHAR10 = {"max_len": 10, "truncation": "right"}


def test_fixed_writer_npy_and_index(tmp_path: Path) -> None:
    summary = write_fixed_tokens(
        iter(RECORDS), tmp_path / "x.npy", "char", CHAR10, index_path=tmp_path / "x.parquet", batch_records=3
    )
    array = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert array.shape == (4, 10) and array.dtype == np.int32
    np.testing.assert_array_equal(array, char_encode([r.sequence for r in RECORDS], max_len=10))
    assert summary["n_truncated"] == 1  # only the 12-base record exceeds 10
    index = pq.read_table(tmp_path / "x.parquet")
    assert index.column("id").to_pylist() == ["a", "b", "c", "d"]
    write_fixed_tokens(iter(RECORDS), tmp_path / "y.npy", "char", CHAR10, batch_records=1)
    assert (tmp_path / "x.npy").read_bytes() == (tmp_path / "y.npy").read_bytes()
    # HyenaDNA keeps max_len - 1 bases: 8 > 7 and 12 > 7 are truncated.
    hyena8 = {"max_len": 8, "truncation": "right"}
    assert write_fixed_tokens(RECORDS, tmp_path / "h.npy", "hyenadna", hyena8)["n_truncated"] == 2
    assert np.load(tmp_path / "h.npy")[3].tolist() == [4, 4, 4, 4, 4, 10, 10, 1]


def test_fixed_writer_empty_input(tmp_path: Path) -> None:
    write_fixed_tokens([], tmp_path / "e.npy", "char", {"max_len": 4, "truncation": "right"})
    assert np.load(tmp_path / "e.npy").shape == (0, 4)


def test_kmer_counts_writer(tmp_path: Path) -> None:
    k6 = {"k": 6, "canonical": False}
    summary = write_kmer_counts(RECORDS, tmp_path / "c.npz", k6, index_path=tmp_path / "c.parquet", batch_records=2)
    matrix = sp.load_npz(tmp_path / "c.npz")
    expected = kmer_counts([r.sequence for r in RECORDS], k=6)
    assert matrix.shape == (4, 4096) and (matrix != expected).nnz == 0
    assert summary["nnz"] == expected.nnz
    write_kmer_counts(RECORDS, tmp_path / "d.npz", k6, batch_records=3)
    assert (tmp_path / "c.npz").read_bytes() == (tmp_path / "d.npz").read_bytes()
    assert pq.read_table(tmp_path / "c.parquet").num_rows == 4


def test_sequence_stats_conventions() -> None:
    # AACCGGNN: A+C+G+T = 6 unambiguous, G+C = 4 -> 4/6; N fraction 2/8.
    assert sequence_stats("AACCGGNN") == {"length": 8, "gc_fraction": pytest.approx(4 / 6), "n_fraction": 0.25}
    # lower case counts; R is ambiguous (not in GC denominator, counted as non-ACGT).
    assert sequence_stats("gcRa") == {"length": 4, "gc_fraction": pytest.approx(2 / 3), "n_fraction": 0.25}
    assert sequence_stats("NNN")["gc_fraction"] is None


def test_dataset_qc_duplicates_conflicts_classes() -> None:
    records = [
        DnaRecord(1, "r1", "ACGT", "pos"),
        DnaRecord(2, "r2", "acgt", "neg"),  # same sequence as r1 (case ignored), other label
        DnaRecord(3, "r3", "GGGG", "neg"),
        DnaRecord(4, "r4", "GGGG", "neg"),  # duplicate, same label: no conflict
        DnaRecord(5, "r5", "TTTT", None),
        DnaRecord(6, "r5", "CCCC", "pos"),  # repeated id
    ]
    report = dataset_qc(records)
    json.dumps(report)  # JSON-serialisable
    assert report["n_sequences"] == 6 and report["n_bases"] == 24
    assert report["class_counts"] == {"neg": 3, "pos": 2} and report["n_unlabelled"] == 1
    assert report["duplicates"]["n_groups"] == 2
    assert report["duplicates"]["n_redundant"] == 2
    assert report["duplicates"]["examples"] == [["r1", "r2"], ["r3", "r4"]]
    assert report["label_conflicts"] == {
        "n_groups": 1,
        "n_sequences": 2,
        "examples": [{"ids": ["r1", "r2"], "labels": ["pos", "neg"]}],
    }
    assert report["duplicate_ids"] == {"n_ids": 1, "examples": ["r5"]}
    assert report["gc_fraction"]["max"] == 1.0 and report["gc_fraction"]["min"] == 0.0


def test_list_array_roundtrip_type() -> None:
    ragged = dnabert_encode(["ACGT", "A"], k=3)
    array = ragged.to_arrow()
    assert array.type == pa.list_(pa.int32())
    assert array.to_pylist() == [x.tolist() for x in ragged.to_list()]
