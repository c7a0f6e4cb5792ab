"""A Parquet writer for the token files of the variable-length DNA schemes (``tokens_<scheme>.parquet``).

Why our own: the token files are one ``list<int32>`` id per base (``dnabert``) and pyarrow's
``ParquetWriter`` spends ~9 ns on each of them in its list-level bookkeeping (113 M ids per
CPU second, uncompressed PLAIN without statistics, bench/RESULTS.md), while the data is a
flat int32 array and its offsets. This writer writes the same logical table readers see
(:data:`genoprep.dna.artifacts.TOKENS_SCHEMA`, the schema metadata and pyarrow's
``ARROW:schema`` key, so pyarrow restores the exact Arrow types), one row group per batch:

* ``input_ids``: data pages v1 of at most :data:`PAGE_BYTES` of values (a page may start inside
  a list, which v1 allows and a 250 Mbp record without windows needs); the repetition and
  definition levels are RLE runs computed from the offsets by a compiled loop (a list of length
  L is one repetition level 0 then L - 1 ones, definition level 3; an empty list is one entry
  with definition level 1); the values are PLAIN int32 written straight from the flat id array
  (no copy), uncompressed, without statistics;
* ``id``, ``label``, ``length``: one PLAIN data page per row group, compressed with zstd
  (``pyarrow.Codec``), with statistics (null count, min, max).

The file metadata (``FileMetaData``, page headers) is Thrift's compact protocol, written by
:class:`_Struct` after the field numbers of parquet-format's ``parquet.thrift``. The file is
written under a temporary name beside the target and renamed when complete: an error leaves no
file. Same table -> same bytes.
"""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Sequence
from os import PathLike
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from genoprep import __version__
from genoprep.atomic import Partial

StrPath = str | PathLike[str]

#: Values per page of ``input_ids`` (4 bytes each): 1 MiB pages, as pyarrow.
PAGE_BYTES = 1 << 20
CREATED_BY = f"genoprep version {__version__} (genoprep.dna.parquet_writer)"
_MAGIC = b"PAR1"

# parquet.thrift enums
_INT32, _BYTE_ARRAY = 1, 6
_OPTIONAL, _REPEATED = 1, 2
_UTF8, _LIST = 0, 3
_PLAIN, _RLE = 0, 3
_UNCOMPRESSED, _ZSTD = 0, 6
_DATA_PAGE = 0

_BYTES = [bytes([i]) for i in range(256)]

# Thrift compact protocol type codes
_T_TRUE, _T_FALSE, _T_I16, _T_I32, _T_I64, _T_BINARY, _T_LIST, _T_STRUCT = 1, 2, 4, 5, 6, 8, 9, 12


# ----------------------------------------------------------------- Thrift compact protocol


def _uvarint(n: int) -> bytes:
    if n < 0x80:
        return _BYTES[n]
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zigzag(n: int) -> bytes:
    return _uvarint((n << 1) ^ (n >> 63))


def _list_header(size: int, element_type: int) -> bytes:
    return bytes([(size << 4) | element_type]) if size < 15 else bytes([0xF0 | element_type]) + _uvarint(size)


class _Struct:
    """One Thrift struct in the compact protocol; fields must be added in increasing id order."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._last = 0

    def _field(self, field_id: int, type_code: int) -> None:
        delta = field_id - self._last
        if not 0 < delta <= 15:  # pragma: no cover - every struct here has ids 1..15 in order
            raise ValueError(f"thrift field {field_id} after {self._last}")
        self._parts.append(bytes([(delta << 4) | type_code]))
        self._last = field_id

    def i16(self, field_id: int, value: int) -> _Struct:
        self._field(field_id, _T_I16)
        self._parts.append(_zigzag(value))
        return self

    def i32(self, field_id: int, value: int) -> _Struct:
        self._field(field_id, _T_I32)
        self._parts.append(_zigzag(value))
        return self

    def i64(self, field_id: int, value: int) -> _Struct:
        self._field(field_id, _T_I64)
        self._parts.append(_zigzag(value))
        return self

    def binary(self, field_id: int, value: bytes | str) -> _Struct:
        data = value.encode() if isinstance(value, str) else value
        self._field(field_id, _T_BINARY)
        self._parts += [_uvarint(len(data)), data]
        return self

    def bool(self, field_id: int, value: bool) -> _Struct:
        self._field(field_id, _T_TRUE if value else _T_FALSE)
        return self

    def struct(self, field_id: int, value: _Struct) -> _Struct:
        self._field(field_id, _T_STRUCT)
        self._parts.append(value.encode())
        return self

    def i32_list(self, field_id: int, values: Sequence[int]) -> _Struct:
        self._field(field_id, _T_LIST)
        self._parts += [_list_header(len(values), _T_I32), *(_zigzag(v) for v in values)]
        return self

    def binary_list(self, field_id: int, values: Sequence[str]) -> _Struct:
        self._field(field_id, _T_LIST)
        self._parts.append(_list_header(len(values), _T_BINARY))
        for value in values:
            data = value.encode()
            self._parts += [_uvarint(len(data)), data]
        return self

    def struct_list(self, field_id: int, values: Sequence[_Struct | bytes]) -> _Struct:
        self._field(field_id, _T_LIST)
        self._parts.append(_list_header(len(values), _T_STRUCT))
        self._parts += [v if isinstance(v, bytes) else v.encode() for v in values]
        return self

    def encode(self) -> bytes:
        return b"".join(self._parts) + b"\x00"


# ----------------------------------------------------------------- levels and values (compiled)


@njit(cache=True, nogil=True, inline="always")
def _put_run(out: np.ndarray, pos: int, value: int, count: int) -> int:
    """One RLE run of the RLE/bit-packed hybrid (header ``count << 1`` as a varint, the value in one byte)."""
    header = count << 1
    while header > 0x7F:
        out[pos] = (header & 0x7F) | 0x80
        header >>= 7
        pos += 1
    out[pos] = header
    out[pos + 1] = value
    return pos + 2


@njit(cache=True, nogil=True)
def list_page_levels(
    offsets: np.ndarray, row: int, inner: int, max_entries: int, rep_out: np.ndarray, def_out: np.ndarray
) -> tuple[int, int, int, int, int, int]:
    """Repetition and definition levels (RLE runs) of one page of a ``list<int32>`` column.

    The page starts at value ``inner`` of row ``row`` (rows ``offsets[i]:offsets[i + 1]``, lists
    never null, elements never null: definition level 3 for an element, 1 for an empty list) and
    holds at most ``max_entries`` level entries. Returns ``(row, inner)`` where the next page
    starts, the entries and values of this page, and the bytes written to ``rep_out``/``def_out``.
    """
    n_rows = offsets.size - 1
    entries = values = 0
    rep_pos = def_pos = 0
    rep_value = def_value = -1
    rep_count = def_count = 0
    while row < n_rows and entries < max_entries:
        length = offsets[row + 1] - offsets[row]
        if length == 0:  # one entry: repetition level 0, definition level 1
            take, definition = 1, 1
            first_rep, first_count, rest_count = 0, 1, 0
        else:
            take = min(length - inner, max_entries - entries)
            definition = 3
            if inner == 0:  # the list starts here: 0, then ones
                first_rep, first_count, rest_count = 0, 1, take - 1
            else:  # the rest of a list begun on an earlier page
                first_rep, first_count, rest_count = 1, take, 0
        # repetition levels: first_count of first_rep, then rest_count ones
        if first_rep == rep_value:
            rep_count += first_count
        else:
            if rep_count > 0:
                rep_pos = _put_run(rep_out, rep_pos, rep_value, rep_count)
            rep_value, rep_count = first_rep, first_count
        if rest_count > 0:
            if rep_value == 1:
                rep_count += rest_count
            else:
                rep_pos = _put_run(rep_out, rep_pos, rep_value, rep_count)
                rep_value, rep_count = 1, rest_count
        # definition levels: take entries of the same level
        if definition == def_value:
            def_count += take
        else:
            if def_count > 0:
                def_pos = _put_run(def_out, def_pos, def_value, def_count)
            def_value, def_count = definition, take
        entries += take
        if length == 0:
            row += 1
        else:
            values += take
            inner += take
            if inner == length:
                row += 1
                inner = 0
    if rep_count > 0:
        rep_pos = _put_run(rep_out, rep_pos, rep_value, rep_count)
    if def_count > 0:
        def_pos = _put_run(def_out, def_pos, def_value, def_count)
    return row, inner, entries, values, rep_pos, def_pos


@njit(cache=True, nogil=True)
def rle_levels(levels: np.ndarray, out: np.ndarray) -> int:
    """RLE runs of a level array (values < 256) into ``out``; returns the bytes written."""
    pos = 0
    i = 0
    n = levels.size
    while i < n:
        j = i + 1
        while j < n and levels[j] == levels[i]:
            j += 1
        pos = _put_run(out, pos, levels[i], j - i)
        i = j
    return pos


@njit(cache=True, nogil=True)
def plain_byte_array(offsets: np.ndarray, data: np.ndarray, valid: np.ndarray, out: np.ndarray) -> int:
    """PLAIN ``BYTE_ARRAY`` values (4-byte little-endian length, then the bytes) of the valid entries."""
    pos = 0
    for i in range(valid.size):
        if not valid[i]:
            continue
        start, end = offsets[i], offsets[i + 1]
        size = end - start
        out[pos] = size & 0xFF
        out[pos + 1] = (size >> 8) & 0xFF
        out[pos + 2] = (size >> 16) & 0xFF
        out[pos + 3] = (size >> 24) & 0xFF
        pos += 4
        out[pos : pos + size] = data[start:end]
        pos += size
    return pos


# ----------------------------------------------------------------- the writer


def _schema_elements() -> list[_Struct]:
    """The Parquet schema of :data:`~genoprep.dna.artifacts.TOKENS_SCHEMA` (as pyarrow writes it)."""
    string = _Struct().struct(1, _Struct())  # LogicalType.STRING
    list_type = _Struct().struct(3, _Struct())  # LogicalType.LIST
    return [
        _Struct().binary(4, "schema").i32(5, 4),
        _Struct().i32(1, _BYTE_ARRAY).i32(3, _OPTIONAL).binary(4, "id").i32(6, _UTF8).struct(10, string),
        _Struct().i32(1, _BYTE_ARRAY).i32(3, _OPTIONAL).binary(4, "label").i32(6, _UTF8).struct(10, string),
        _Struct().i32(1, _INT32).i32(3, _OPTIONAL).binary(4, "length"),
        _Struct().i32(3, _OPTIONAL).binary(4, "input_ids").i32(5, 1).i32(6, _LIST).struct(10, list_type),
        _Struct().i32(3, _REPEATED).binary(4, "list").i32(5, 1),
        _Struct().i32(1, _INT32).i32(3, _OPTIONAL).binary(4, "element"),
    ]


def _page_header(uncompressed: int, compressed: int, n_entries: int) -> bytes:
    """``PageHeader`` of a v1 data page: PLAIN values, RLE levels (:func:`_page_header_struct`, spelled out)."""
    return b"".join(
        (
            b"\x15\x00\x15",  # 1: type DATA_PAGE, 2: uncompressed_page_size
            _zigzag(uncompressed),
            b"\x15",  # 3: compressed_page_size
            _zigzag(compressed),
            b"\x2c\x15",  # 5: data_page_header { 1: num_values
            _zigzag(n_entries),
            b"\x15\x00\x15\x06\x15\x06\x00\x00",  # 2: PLAIN, 3: RLE, 4: RLE }, end of PageHeader
        )
    )


def _page_header_struct(uncompressed: int, compressed: int, n_entries: int) -> bytes:
    """:func:`_page_header` through :class:`_Struct` (the tests compare them)."""
    data_page = _Struct().i32(1, n_entries).i32(2, _PLAIN).i32(3, _RLE).i32(4, _RLE)
    return _Struct().i32(1, _DATA_PAGE).i32(2, uncompressed).i32(3, compressed).struct(5, data_page).encode()


def _statistics(null_count: int, low: bytes | None, high: bytes | None) -> _Struct:
    stats = _Struct().i64(3, null_count)
    if low is not None and high is not None:
        stats.binary(5, high).binary(6, low)  # max_value, min_value
    return stats


class _Chunk:
    """What the footer says about one column chunk."""

    def __init__(self, path: Sequence[str], physical_type: int, codec: int, start: int) -> None:
        self.path, self.physical_type, self.codec, self.start = list(path), physical_type, codec, start
        self.n_entries = self.uncompressed = self.compressed = 0
        self.statistics: _Struct | None = None

    def encode(self) -> _Struct:
        meta = (
            _Struct()
            .i32(1, self.physical_type)
            .i32_list(2, [_PLAIN, _RLE])
            .binary_list(3, self.path)
            .i32(4, self.codec)
            .i64(5, self.n_entries)
            .i64(6, self.uncompressed)
            .i64(7, self.compressed)
            .i64(9, self.start)
        )
        if self.statistics is not None:
            meta.struct(12, self.statistics)
        return _Struct().i64(2, 0).struct(3, meta)


class TokenParquetWriter:
    """Write token batches (id, label, length, input_ids) to ``path``, one row group per batch.

    ``arrow_schema``: :data:`~genoprep.dna.artifacts.TOKENS_SCHEMA` with its metadata
    (``genoprep.scheme``/``genoprep.params``), written as the file's key-value metadata and,
    serialized and base64-encoded, under ``ARROW:schema``. Use as a context manager: on leaving
    without an error the footer is written and the file renamed to ``path``; after an error the
    temporary file is removed. :meth:`write_batch` may run on another thread than the one that
    made the writer (one batch at a time).
    """

    def __init__(
        self,
        path: StrPath,
        arrow_schema: pa.Schema,
        *,
        page_bytes: int = PAGE_BYTES,
        compression: str = "zstd",
    ) -> None:
        from genoprep.dna.artifacts import TOKENS_SCHEMA

        if not arrow_schema.equals(TOKENS_SCHEMA):  # metadata aside: the Parquet schema written is fixed
            raise ValueError(f"TokenParquetWriter writes {TOKENS_SCHEMA}, not {arrow_schema}")
        self.path = os.fspath(path)
        self._partial = Partial(self.path)
        self._schema = arrow_schema
        self._max_entries = max(page_bytes // 4, 1)
        self._codec = pa.Codec(compression)
        self._row_groups: list[bytes] = []
        self._n_rows = 0
        self._rep = np.empty(16 * self._max_entries + 64, dtype=np.uint8)
        self._def = np.empty(16 * self._max_entries + 64, dtype=np.uint8)
        self._file = open(self._partial.path, "wb")  # noqa: SIM115 - closed by close()/abort()
        self._pos = 0
        self._write(_MAGIC)

    # -- file
    def _write(self, data: bytes | memoryview) -> None:
        self._file.write(data)
        self._pos += len(data) if isinstance(data, bytes) else data.nbytes

    # -- columns
    def _small_page(self, chunk: _Chunk, n_entries: int, levels: bytes, values: bytes | memoryview) -> None:
        body = b"".join((struct.pack("<I", len(levels)), levels, values))
        packed = self._codec.compress(body, asbytes=True)
        header = _page_header(len(body), len(packed), n_entries)
        self._write(header)
        self._write(packed)
        chunk.n_entries += n_entries
        chunk.uncompressed += len(header) + len(body)
        chunk.compressed += len(header) + len(packed)

    def _definition_levels(self, valid: np.ndarray) -> bytes:
        out = np.empty(7 * valid.size + 8, dtype=np.uint8)
        return out[: rle_levels(valid.view(np.uint8), out)].tobytes()

    def _string_chunk(self, name: str, values: pa.StringArray) -> _Chunk:
        chunk = _Chunk([name], _BYTE_ARRAY, _ZSTD, self._pos)
        n = len(values)
        if n == 0:
            return chunk
        valid = np.ones(n, dtype=np.bool_) if values.null_count == 0 else values.is_valid().to_numpy(False)
        buffers = values.buffers()
        offsets = np.frombuffer(buffers[1], dtype=np.int32)[values.offset : values.offset + n + 1]
        data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
        out = np.empty(4 * n + int(offsets[-1] - offsets[0]), dtype=np.uint8)
        size = plain_byte_array(offsets, data, valid, out)
        self._small_page(chunk, n, self._definition_levels(valid), memoryview(out[:size]))
        low_high = pc.min_max(values)
        low, high = low_high["min"].as_py(), low_high["max"].as_py()
        chunk.statistics = _statistics(
            values.null_count, None if low is None else low.encode(), None if high is None else high.encode()
        )
        return chunk

    def _int32_chunk(self, name: str, values: np.ndarray) -> _Chunk:
        chunk = _Chunk([name], _INT32, _ZSTD, self._pos)
        if values.size == 0:
            return chunk
        values = np.ascontiguousarray(values, dtype="<i4")
        self._small_page(chunk, values.size, self._definition_levels(np.ones(values.size, np.bool_)), values.data)
        chunk.statistics = _statistics(0, struct.pack("<i", values.min()), struct.pack("<i", values.max()))
        return chunk

    def _list_chunk(self, values: np.ndarray, offsets: np.ndarray) -> _Chunk:
        chunk = _Chunk(["input_ids", "list", "element"], _INT32, _UNCOMPRESSED, self._pos)
        values = np.ascontiguousarray(values, dtype="<i4")
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        row = inner = 0
        first = 0  # first value of the next page
        while row < offsets.size - 1:
            row, inner, n_entries, n_values, rep_size, def_size = list_page_levels(
                offsets, row, inner, self._max_entries, self._rep, self._def
            )
            levels = b"".join(
                (
                    struct.pack("<I", rep_size),
                    self._rep[:rep_size].tobytes(),
                    struct.pack("<I", def_size),
                    self._def[:def_size].tobytes(),
                )
            )
            page = values[first : first + n_values]
            size = len(levels) + page.nbytes
            header = _page_header(size, size, n_entries)
            self._write(header)
            self._write(levels)
            self._write(memoryview(page).cast("B"))
            first += n_values
            chunk.n_entries += n_entries
            chunk.uncompressed += len(header) + size
            chunk.compressed += len(header) + size
        return chunk

    def write_batch(
        self, ids: pa.Array, labels: pa.Array, lengths: np.ndarray, values: np.ndarray, offsets: np.ndarray
    ) -> None:
        """Append one row group: ``ids``/``labels`` string arrays (labels may hold nulls), ``lengths``
        (int32), and the rows' token ids ``values[offsets[i]:offsets[i + 1]]`` (``offsets`` from 0)."""
        n = len(ids)
        if not (len(labels) == len(lengths) == len(offsets) - 1 == n) or int(offsets[0]) != 0:
            raise ValueError(f"token batch: {n} ids, {len(labels)} labels, {len(lengths)} lengths, offsets {offsets}")
        if int(offsets[-1]) != values.size:
            raise ValueError(f"token batch: offsets end at {int(offsets[-1])}, {values.size} values")
        if ids.null_count:
            raise ValueError("token batch: a null id")
        start = self._pos
        chunks = [
            self._string_chunk("id", ids),
            self._string_chunk("label", labels),
            self._int32_chunk("length", lengths),
            self._list_chunk(values, offsets),
        ]
        group = (
            _Struct()
            .struct_list(1, [c.encode() for c in chunks])
            .i64(2, sum(c.uncompressed for c in chunks))
            .i64(3, n)
            .i64(5, start)
            .i64(6, sum(c.compressed for c in chunks))
            .i16(7, len(self._row_groups))
        )
        self._row_groups.append(group.encode())
        self._n_rows += n

    def close(self) -> None:
        """Write the footer and rename the file to its final name."""
        arrow = base64.b64encode(self._schema.serialize().to_pybytes())
        key_values = [_Struct().binary(1, k).binary(2, v) for k, v in (self._schema.metadata or {}).items()]
        key_values.append(_Struct().binary(1, b"ARROW:schema").binary(2, arrow))
        type_order = _Struct().struct(1, _Struct())  # ColumnOrder.TYPE_ORDER
        footer = (
            _Struct()
            .i32(1, 2)
            .struct_list(2, _schema_elements())
            .i64(3, self._n_rows)
            .struct_list(4, self._row_groups)
            .struct_list(5, key_values)
            .binary(6, CREATED_BY)
            .struct_list(7, [type_order] * 4)
            .encode()
        )
        self._write(footer)
        self._write(struct.pack("<I", len(footer)) + _MAGIC)
        self._file.close()
        self._partial.commit()

    def abort(self) -> None:
        """Close and remove the unfinished file."""
        self._file.close()
        self._partial.discard()

    def __enter__(self) -> TokenParquetWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            try:
                self.close()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()


def write_token_table(table: pa.Table, path: StrPath, **options: Any) -> None:
    """Write an Arrow token table (``TOKENS_SCHEMA``, offsets from 0 per chunk) with :class:`TokenParquetWriter`,
    one row group per record batch of the table (the tests compare it with pyarrow's writer)."""
    with TokenParquetWriter(path, table.schema, **options) as writer:
        for batch in table.to_batches():
            lists = batch.column(3)
            offsets = np.asarray(lists.offsets, dtype=np.int64)
            values = np.asarray(lists.values)[offsets[0] : offsets[-1]]
            writer.write_batch(
                batch.column(0), batch.column(1), np.asarray(batch.column(2)), values, offsets - offsets[0]
            )
