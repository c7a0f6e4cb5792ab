"""The token files' own Parquet writer (genoprep.dna.parquet_writer) against pyarrow's writer and readers.

Every file written here is read back by pyarrow (tables, record batches, row groups, metadata,
statistics), by HF ``datasets`` and by DuckDB's own Parquet reader (not Arrow's), and compared
with the same table written by ``pyarrow.parquet``. Small ``page_bytes`` put page boundaries
inside lists, at list ends and before empty lists; the level runs are checked against bytes
computed by hand and against a plain re-implementation of the Dremel levels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from genoprep.dna.artifacts import TOKENS_SCHEMA, TOKENS_WRITER, _metadata, write_variable_tokens
from genoprep.dna.io import read_fasta
from genoprep.dna.parquet_writer import TokenParquetWriter, list_page_levels, write_token_table
from genoprep.errors import InputError

SCHEMA = TOKENS_SCHEMA.with_metadata(_metadata("dnabert", {"k": 6, "window": None}))


CASES = {
    "one row": [[("only", "x", [1, 2, 3])]],
    "empty lists": [[("a", None, []), ("b", "x", [7]), ("c", "y", []), ("d", None, [])]],
    "all empty": [[("a", "x", []), ("b", "x", [])]],
    "unlabelled": [[("a", None, [1, 2]), ("b", None, [])]],
    "inside a list": [[("a", "x", [1, 2, 3]), ("b", "x", [4, 5, 6, 7, 8])]],  # 4 per page: 3 + 1 | 4
    "at a list end": [[("a", "x", [1, 2, 3, 4]), ("b", "y", []), ("c", "y", [5, 6, 7, 8]), ("d", None, [9])]],
    "spanning pages": [[("long", "x", list(range(1, 31))), ("short", None, [2])]],
    "unicode ids": [[("chr1 ünïcødé ✓", "épi", [3, 3]), ("日本語", None, [4])]],
    "row groups": [
        [("a", "x", [1, 2]), ("b", None, [])],
        [],
        [("c", "y", list(range(9)))],
        [("d", "z", []), ("e", "z", [5])],
    ],
    "zero rows": [[]],
    "no batches": [],
}


def build(batches: list[list[tuple[str, str | None, list[int]]]]) -> pa.Table:
    """A token table whose record batches (written as row groups) hold the given rows (id, label, ids)."""
    rows = [
        [{"id": i, "label": label, "length": len(ids) + 5, "input_ids": ids} for i, label, ids in b] for b in batches
    ]
    return pa.Table.from_batches([pa.RecordBatch.from_pylist(b, schema=SCHEMA) for b in rows], schema=SCHEMA)


def write_both(table: pa.Table, folder: Path, page_bytes: int) -> tuple[Path, Path]:
    ours, reference = folder / "ours.parquet", folder / "pyarrow.parquet"
    write_token_table(table, ours, page_bytes=page_bytes)
    with pq.ParquetWriter(reference, SCHEMA, **TOKENS_WRITER) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    return ours, reference


@pytest.mark.parametrize("page_bytes", [16, 1 << 20], ids=["4 values a page", "1 MiB pages"])
@pytest.mark.parametrize("case", list(CASES))
def test_pyarrow_reads_what_pyarrow_wrote(tmp_path: Path, case: str, page_bytes: int) -> None:
    table = build(CASES[case])
    ours, reference = write_both(table, tmp_path, page_bytes)
    got, want = pq.read_table(ours), pq.read_table(reference)
    assert got.schema.equals(want.schema, check_metadata=True)
    assert got.equals(want) and got.to_pylist() == table.to_pylist()
    file, reference_file = pq.ParquetFile(ours), pq.ParquetFile(reference)
    meta, want_meta = file.metadata, reference_file.metadata
    assert file.schema.equals(reference_file.schema)
    assert (meta.num_rows, meta.num_row_groups) == (want_meta.num_rows, want_meta.num_row_groups)
    assert meta.metadata == want_meta.metadata  # genoprep.scheme, genoprep.params, ARROW:schema
    for i in range(meta.num_row_groups):
        assert meta.row_group(i).num_rows == want_meta.row_group(i).num_rows
        assert file.read_row_group(i).equals(reference_file.read_row_group(i))
        for c in range(4):
            column, want_column = meta.row_group(i).column(c), want_meta.row_group(i).column(c)
            assert (column.path_in_schema, column.num_values, column.compression) == (
                want_column.path_in_schema,
                want_column.num_values,
                want_column.compression,
            )
            stats, want_stats = column.statistics, want_column.statistics
            assert (stats is None) == (want_stats is None) or want_column.num_values == 0
            if stats is not None and want_stats is not None:
                assert stats.null_count == want_stats.null_count
                assert stats.has_min_max == want_stats.has_min_max
                if stats.has_min_max:
                    assert (stats.min, stats.max) == (want_stats.min, want_stats.max)
    for size in (1, 2, 3):
        batches = list(file.iter_batches(batch_size=size))
        assert pa.Table.from_batches(batches, schema=got.schema).equals(want)
        assert all(b.num_rows <= size for b in batches)


def test_statistics_of_the_small_columns(tmp_path: Path) -> None:
    """Hand-checked: min/max compare UTF-8 bytes (``é`` after ``z``), nulls counted, ids have none."""
    table = build([[("b", "z", [1]), ("a", None, []), ("é", "a", [2])]])
    ours, _ = write_both(table, tmp_path, 16)
    columns = pq.ParquetFile(ours).metadata.row_group(0)
    stats = {columns.column(c).path_in_schema: columns.column(c).statistics for c in range(4)}
    assert (stats["id"].min, stats["id"].max, stats["id"].null_count) == ("a", "é", 0)
    assert (stats["label"].min, stats["label"].max, stats["label"].null_count) == ("a", "z", 1)
    assert (stats["length"].min, stats["length"].max) == (5, 6)
    assert stats["input_ids.list.element"] is None


def dremel_levels(offsets: np.ndarray) -> tuple[list[int], list[int]]:
    """Repetition and definition levels of a list<int32> column (lists and elements never null), plainly."""
    rep, definition = [], []
    for length in np.diff(offsets):
        if length == 0:
            rep.append(0)
            definition.append(1)
        for j in range(length):
            rep.append(0 if j == 0 else 1)
            definition.append(3)
    return rep, definition


def decode_rle(data: bytes) -> list[int]:
    """Decode RLE runs of the hybrid encoding (varint header ``count << 1``, one value byte)."""
    values, pos = [], 0
    while pos < len(data):
        header = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            header |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        assert header & 1 == 0, "only RLE runs are written"
        values += [data[pos]] * (header >> 1)
        pos += 1
    return values


def test_levels_by_hand() -> None:
    """Rows of 3 and 5 values, 4 level entries a page: the page boundary falls inside the second list."""
    offsets = np.array([0, 3, 8], dtype=np.int64)
    rep, definition = np.zeros(64, np.uint8), np.zeros(64, np.uint8)
    row, inner, entries, values, rep_size, def_size = list_page_levels(offsets, 0, 0, 4, rep, definition)
    assert (row, inner, entries, values) == (1, 1, 4, 4)
    assert bytes(rep[:rep_size]) == bytes([2, 0, 4, 1, 2, 0])  # 0, 1 1, 0
    assert bytes(definition[:def_size]) == bytes([8, 3])  # 3 x4
    row, inner, entries, values, rep_size, def_size = list_page_levels(offsets, row, inner, 4, rep, definition)
    assert (row, inner, entries, values) == (2, 0, 4, 4)
    assert bytes(rep[:rep_size]) == bytes([8, 1])  # the rest of the list: 1 x4
    assert bytes(definition[:def_size]) == bytes([8, 3])


@pytest.mark.parametrize("seed", range(5))
def test_levels_equal_a_plain_reimplementation(seed: int) -> None:
    """Random list lengths (many empty), every page size from 1 to 9 entries and one of 100: the
    pages' decoded levels, concatenated, are the plain Dremel levels; values and entries add up."""
    rng = np.random.default_rng(seed)
    lengths = rng.choice([0, 0, 1, 2, 3, 7, 20, 200], size=40)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    want_rep, want_def = dremel_levels(offsets)
    for max_entries in [*range(1, 10), 100]:
        rep_out, def_out = np.zeros(16 * max_entries + 64, np.uint8), np.zeros(16 * max_entries + 64, np.uint8)
        row = inner = total_values = 0
        got_rep: list[int] = []
        got_def: list[int] = []
        while row < len(lengths):
            row, inner, entries, values, rep_size, def_size = list_page_levels(
                offsets, row, inner, max_entries, rep_out, def_out
            )
            page_rep, page_def = decode_rle(bytes(rep_out[:rep_size])), decode_rle(bytes(def_out[:def_size]))
            assert 0 < entries <= max_entries and len(page_rep) == len(page_def) == entries
            assert values == page_def.count(3)
            got_rep += page_rep
            got_def += page_def
            total_values += values
        assert (got_rep, got_def) == (want_rep, want_def)
        assert total_values == offsets[-1]


def test_long_list_with_default_pages(tmp_path: Path) -> None:
    """One row of 700,000 ids (three 1 MiB pages) and its neighbours read back whole."""
    ids = np.random.default_rng(3).integers(0, 4101, 700_000, dtype=np.int32)
    table = build([[("before", "x", [1]), ("chromosome", "x", ids.tolist()), ("after", None, [])]])
    ours, reference = write_both(table, tmp_path, 1 << 20)
    got = pq.read_table(ours)
    assert got.equals(pq.read_table(reference))
    assert np.array_equal(got.column("input_ids")[1].values.to_numpy(), ids)


def test_hf_datasets_reads_it(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    table = build(CASES["at a list end"] + CASES["empty lists"])
    ours, _ = write_both(table, tmp_path, 16)
    dataset = datasets.Dataset.from_parquet(str(ours), cache_dir=str(tmp_path / "hf_cache"))
    assert dataset.num_rows == table.num_rows
    assert dataset.to_dict() == table.to_pydict()
    assert dataset.features["input_ids"].feature.dtype == "int32"


def test_duckdb_reads_it(tmp_path: Path) -> None:
    """DuckDB's Parquet reader is its own (not Arrow's): rows, nulls and lists as written."""
    duckdb = pytest.importorskip("duckdb", reason="duckdb not installed (requirements.lock pins it)")
    table = build(CASES["row groups"] + CASES["spanning pages"] + CASES["unicode ids"])
    ours, _ = write_both(table, tmp_path, 16)
    with duckdb.connect() as connection:
        rows = connection.execute(f"SELECT id, label, length, input_ids FROM read_parquet('{ours}')").fetchall()
    assert [(i, label, n, list(ids)) for i, label, n, ids in rows] == [
        (r["id"], r["label"], r["length"], r["input_ids"]) for r in table.to_pylist()
    ]


def test_same_table_same_bytes(tmp_path: Path) -> None:
    table = build(CASES["row groups"])
    write_token_table(table, tmp_path / "a.parquet", page_bytes=16)
    write_token_table(table, tmp_path / "b.parquet", page_bytes=16)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_bad_input_leaves_no_file(tmp_path: Path) -> None:
    """A bad record after two written row groups: the error reaches the caller, no file is left
    (the target is written under a temporary name and renamed only when complete)."""
    fasta = tmp_path / "in.fa"
    fasta.write_text(">ok1\nACGTACGTAC\n>ok2\nACGTTT\n>bad\nACGXT\n")
    with pytest.raises(InputError, match="record 3"):
        write_variable_tokens(
            read_fasta(fasta, as_bytes=True), tmp_path / "t.parquet", "dnabert", {"k": 3}, batch_records=1
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa"]


def test_batch_checks(tmp_path: Path) -> None:
    """Offsets that do not match the values or the rows are refused, not written."""
    strings = pa.array(["a", "b"])
    with pytest.raises(ValueError, match="offsets end at 3"), TokenParquetWriter(tmp_path / "t.parquet", SCHEMA) as w:
        w.write_batch(strings, strings, np.array([1, 2], np.int32), np.arange(4, dtype=np.int32), np.array([0, 1, 3]))
    with pytest.raises(ValueError, match="2 ids"), TokenParquetWriter(tmp_path / "t.parquet", SCHEMA) as w:
        w.write_batch(strings, strings, np.array([1], np.int32), np.arange(3, dtype=np.int32), np.array([0, 1, 3]))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sizes", [(0, 0, 0), (1, 1, 1), (63, 64, 65), (1 << 20, 300, 1 << 18), (2**31 - 1, 7, 99)])
def test_page_header_spelled_out_equals_the_struct(sizes: tuple[int, int, int]) -> None:
    from genoprep.dna.parquet_writer import _page_header, _page_header_struct

    assert _page_header(*sizes) == _page_header_struct(*sizes)


def test_only_the_token_schema(tmp_path: Path) -> None:
    other = pa.schema(
        [("id", pa.string()), ("label", pa.string()), ("length", pa.int64()), ("input_ids", pa.list_(pa.int32()))]
    )
    with pytest.raises(ValueError, match="writes"):
        TokenParquetWriter(tmp_path / "t.parquet", other)
    assert list(tmp_path.iterdir()) == []
