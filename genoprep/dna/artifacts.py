"""Write DNA tokens to disk, streaming batches of records (constant memory in file size).

Artifacts (all byte-for-byte deterministic for the same input and parameters):

* variable-length schemes -> Parquet with columns ``id`` (string), ``label`` (string, null
  when unlabelled), ``length`` (int32, bases in the sequence) and ``input_ids``
  (list<int32>), one row group per batch (:func:`write_variable_tokens`);
* fixed-length schemes -> ``.npy`` of shape ``(n_sequences, max_len)`` plus an optional
  Parquet index (id, label, length) (:func:`write_fixed_tokens`). The ``.npy`` is written in
  one pass: a 128-byte header is reserved, rows are appended, and the header is rewritten
  with the final row count (no second parse of the input to count records);
* k-mer counts -> scipy ``.npz`` CSR matrix (readable by ``scipy.sparse.load_npz``) plus an
  optional Parquet index (:func:`write_kmer_counts`), and the column names
  (:func:`write_kmer_names`);
* k-mer text -> a TSV with columns sequence (space-joined k-mers), label, id
  (:func:`write_kmer_text`).

``settings`` are a scheme's settings from the card (``params.<scheme>``, every field filled
in by the schema); these writers supply no defaults.

The scheme name and its parameters are stored in the Parquet schema metadata
(``genoprep.scheme``, ``genoprep.params``).
"""

from __future__ import annotations

import csv
import json
import struct
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from os import PathLike
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from genoprep.dna.io import DnaRecord, Piece, batched
from genoprep.dna.tokenize import RaggedTokens, get_scheme, kmer_names
from genoprep.dna.windows import count_blocks, encode_settings, whole_records
from genoprep.prefetch import prefetched
from genoprep.progress import Progress

StrPath = str | PathLike[str]

TOKENS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("label", pa.string()),
        ("length", pa.int32()),
        ("input_ids", pa.list_(pa.int32())),
    ]
)
INDEX_SCHEMA = pa.schema([("id", pa.string()), ("label", pa.string()), ("length", pa.int32())])
PARQUET_COMPRESSION = "zstd"
#: Writer settings of pyarrow for a token table like the workflow's files (the tests' and the
#: bench's reference; the workflow writes them with :mod:`genoprep.dna.parquet_writer`):
#: ``input_ids`` PLAIN and uncompressed (4 bytes a token, as the fixed-length ``.npy``), without
#: statistics; the small columns zstd with statistics.
IDS_COLUMN = "input_ids.list.element"
TOKENS_WRITER: dict[str, Any] = {
    "compression": {
        "id": PARQUET_COMPRESSION,
        "label": PARQUET_COMPRESSION,
        "length": PARQUET_COMPRESSION,
        IDS_COLUMN: "none",
    },
    "use_dictionary": False,
    "write_statistics": ["id", "label", "length"],
}
DEFAULT_BATCH_RECORDS = 10_000
DEFAULT_BATCH_BASES = 16 << 20  # ~16 Mb of sequence per batch bounds working memory
#: Batches of the variable-length schemes: one int32 id per base, so a 16 Mb batch makes arrays
#: of 64 MB that the allocator maps fresh each time (page faults were a third of the CPU time);
#: 2 Mb batches reuse the same memory. Also the Parquet row group size (in bases).
VARIABLE_BATCH_BASES = 2 << 20

_NPY_MAGIC = b"\x93NUMPY\x01\x00"
_NPY_HEADER_BYTES = 128  # whole preamble: magic (8) + length (2) + padded dict + "\n"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _tracked(batches: Iterable[Sequence[DnaRecord]], what: str) -> Iterable[Sequence[DnaRecord]]:
    """The batches, with the sequences done, their rate and (at the end) the total in the log."""
    progress = Progress(what, unit="sequences")
    for batch in batches:
        yield batch
        progress.update(len(batch))
    progress.finish()


def _metadata(scheme: str, params: dict[str, Any]) -> dict[bytes, bytes]:
    return {
        b"genoprep.scheme": scheme.encode(),
        b"genoprep.params": json.dumps(params, sort_keys=True, default=str).encode(),
    }


def _index_columns(records: Sequence[DnaRecord]) -> list[pa.Array]:
    return [
        pa.array([r.id for r in records], type=pa.string()),
        pa.array([r.label for r in records], type=pa.string()),
        pa.array([r.bases for r in records], type=pa.int32()),
    ]


def _as_list_array(input_ids: RaggedTokens | np.ndarray) -> pa.ListArray:
    if isinstance(input_ids, RaggedTokens):
        return input_ids.to_arrow()
    rows, width = input_ids.shape
    offsets = np.arange(rows + 1, dtype=np.int32) * width
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(input_ids.astype(np.int32).ravel()))


def tokens_table(
    records: Sequence[DnaRecord],
    input_ids: RaggedTokens | np.ndarray,
    scheme: str = "",
    params: dict[str, Any] | None = None,
) -> pa.Table:
    """Build the token table (id, label, length, input_ids) of a batch of records."""
    if len(input_ids) != len(records):
        raise ValueError(f"{len(records)} records but {len(input_ids)} token rows")
    schema = TOKENS_SCHEMA.with_metadata(_metadata(scheme, params or {}))
    return pa.Table.from_arrays([*_index_columns(records), _as_list_array(input_ids)], schema=schema)


def write_parquet(table: pa.Table, path: StrPath) -> None:
    """Write a table to Parquet with fixed settings (same table -> same bytes)."""
    pq.write_table(table, path, compression=PARQUET_COMPRESSION)


class _BackgroundWriter:
    """Write row groups on one worker thread while the caller reads and tokenizes the next batch.

    :meth:`TokenParquetWriter.write_batch` releases the GIL in its compiled level loop, zstd and
    the file writes, so writing a batch overlaps the next batch's parsing and tokenizing. At most
    one batch waits (two in memory); row groups keep their order, so the file's bytes are the
    same as a plain loop's. An error in the worker is raised by the next :meth:`write` or on exit.
    """

    def __init__(self, write: Callable[..., None]) -> None:
        self._write = write
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-writer")
        self._pending: Future[None] | None = None

    def write(self, *args: Any) -> None:
        self._wait()
        self._pending = self._pool.submit(self._write, *args)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def __enter__(self) -> _BackgroundWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                self._wait()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def write_variable_tokens(
    records: Iterable[DnaRecord],
    out_path: StrPath,
    scheme: str,
    settings: Mapping[str, Any],
    *,
    batch_records: int = DEFAULT_BATCH_RECORDS,
    batch_bases: int = VARIABLE_BATCH_BASES,
) -> dict[str, Any]:
    """Tokenize records batch by batch and append each batch to a Parquet file (schema
    :data:`TOKENS_SCHEMA`, one row group per batch of :func:`genoprep.dna.io.batched`).

    The file is written by :class:`genoprep.dna.parquet_writer.TokenParquetWriter` straight from
    the tokenizer's flat id array and offsets (:class:`~genoprep.dna.tokenize.RaggedTokens`),
    under a temporary name renamed at the end (an error leaves no file). Returns
    ``{"scheme", "params", "n_sequences", "n_tokens", "n_bases"}``.
    """
    from genoprep.dna.parquet_writer import TokenParquetWriter  # numba: not when the workflow is parsed

    spec = get_scheme(scheme)
    if spec.kind != "variable":
        raise ValueError(f"scheme {scheme!r} is not variable-length")
    settings = dict(settings)
    encoding = encode_settings(settings)
    schema = TOKENS_SCHEMA.with_metadata(_metadata(scheme, settings))
    n_sequences = n_tokens = n_bases = 0
    with (
        TokenParquetWriter(out_path, schema) as writer,
        _BackgroundWriter(writer.write_batch) as background,
        # the reader thread reads and validates the next batch while the kernel and the writer run
        closing(prefetched(batched(records, batch_records, batch_bases), 1, "dna-reader")) as batches,
    ):
        for batch in _tracked(batches, f"{scheme} tokens"):
            ids = spec.encode([r.sequence for r in batch], **encoding)
            lengths = np.fromiter((r.bases for r in batch), dtype=np.int32, count=len(batch))
            background.write(
                pa.array([r.id for r in batch], type=pa.string()),
                pa.array([r.label for r in batch], type=pa.string()),
                lengths,
                ids.values,
                ids.offsets,
            )
            n_sequences += len(batch)
            n_tokens += int(ids.values.size)
            n_bases += int(lengths.sum(dtype=np.int64))
    return {"scheme": scheme, "params": settings, "n_sequences": n_sequences, "n_tokens": n_tokens, "n_bases": n_bases}


def _npy_preamble(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    """A version-1.0 ``.npy`` preamble padded to exactly :data:`_NPY_HEADER_BYTES` bytes."""
    header = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
    room = _NPY_HEADER_BYTES - len(_NPY_MAGIC) - 2
    if len(header) + 1 > room:  # pragma: no cover - shapes of 2 ints always fit
        raise ValueError(f"npy header too long: {header}")
    padded = header.ljust(room - 1) + "\n"
    return _NPY_MAGIC + struct.pack("<H", room) + padded.encode("latin1")


def write_fixed_tokens(
    records: Iterable[DnaRecord],
    out_path: StrPath,
    scheme: str,
    settings: Mapping[str, Any],
    *,
    index_path: StrPath | None = None,
    dtype: Any = np.int32,
    batch_records: int = DEFAULT_BATCH_RECORDS,
    batch_bases: int = DEFAULT_BATCH_BASES,
) -> dict[str, Any]:
    """Tokenize records with a fixed-length scheme into a ``.npy`` array ``(n_sequences, max_len)``, streaming.

    Rows are appended batch by batch after a reserved header, and the header is rewritten
    with the final shape at the end, so the input is read once and memory does not grow
    with the number of records. ``index_path``: an optional Parquet file with id, label,
    length of each row. Returns ``{"scheme", "params", "n_sequences", "max_len",
    "n_truncated", "n_bases"}``.
    """
    spec = get_scheme(scheme)
    if spec.kind != "fixed":
        raise ValueError(f"scheme {scheme!r} is not fixed-length")
    settings = dict(settings)
    max_len = int(settings["max_len"])
    capacity = spec.usable_length(settings)
    dtype = np.dtype(dtype)
    n_sequences = n_truncated = n_bases = 0
    index_writer = (
        pq.ParquetWriter(
            index_path, INDEX_SCHEMA.with_metadata(_metadata(scheme, settings)), compression=PARQUET_COMPRESSION
        )
        if index_path is not None
        else None
    )
    try:
        with open(out_path, "wb") as out:
            out.write(_npy_preamble((0, max_len), dtype))
            for batch in _tracked(batched(records, batch_records, batch_bases), f"{scheme} tokens"):
                ids = spec.encode([r.sequence for r in batch], dtype=dtype, **encode_settings(settings))
                out.write(memoryview(np.ascontiguousarray(ids)).cast("B"))  # no copy of the rows
                lengths = [r.bases for r in batch]
                n_sequences += len(batch)
                n_bases += sum(lengths)
                n_truncated += sum(length > capacity for length in lengths)
                if index_writer is not None:
                    index_writer.write_table(pa.Table.from_arrays(_index_columns(batch), schema=index_writer.schema))
            out.seek(0)
            out.write(_npy_preamble((n_sequences, max_len), dtype))
    finally:
        if index_writer is not None:
            index_writer.close()
    return {
        "scheme": scheme,
        "params": settings,
        "n_sequences": n_sequences,
        "max_len": max_len,
        "n_truncated": n_truncated,
        "n_bases": n_bases,
    }


def save_npz_deterministic(path: StrPath, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but with fixed zip timestamps, so bytes are reproducible.

    Each array is streamed into its zip entry (no in-memory copy of the array's bytes).
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info._compresslevel = 1  # type: ignore[attr-defined] - ZipFile.open(mode="w") reads it
            with archive.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(arrays[name]), allow_pickle=False)


def write_kmer_counts(
    records: Iterable[DnaRecord], out_path: StrPath, settings: Mapping[str, Any], **options: Any
) -> dict[str, Any]:
    """Count k-mers batch by batch and save one CSR matrix (``scipy.sparse.load_npz``).

    Memory grows with the number of non-zero counts, not with the bases read. Column names
    are ``kmer_names(k, canonical)`` (:func:`write_kmer_names`). ``options``: those of
    :func:`write_kmer_count_pieces` (``index_path``, ``batch_records``, ``batch_bases``).
    """
    return write_kmer_count_pieces(whole_records(records), out_path, settings, **options)


def write_kmer_count_pieces(
    pieces: Iterable[Piece],
    out_path: StrPath,
    settings: Mapping[str, Any],
    *,
    index_path: StrPath | None = None,
    batch_records: int = DEFAULT_BATCH_RECORDS,
    batch_bases: int = DEFAULT_BATCH_BASES,
) -> dict[str, Any]:
    """:func:`write_kmer_counts` of records given as pieces (:func:`genoprep.dna.io.read_pieces`).

    A record in several pieces is counted piece by piece with k-1 bases of overlap
    (:func:`genoprep.dna.windows.count_blocks`), so a chromosome is counted in memory bounded
    by the piece size and 4**k; the matrix is the same as for whole records.
    """
    k, canonical = int(settings["k"]), bool(settings["canonical"])
    spec = get_scheme("kmer_counts")
    data: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    row_sizes: list[np.ndarray] = []
    index_tables: list[pa.Table] = []
    n_bases = 0
    progress = Progress(f"{k}-mer counts", unit="sequences")
    for batch, block in count_blocks(pieces, k, canonical, batch_records, batch_bases):
        block.sort_indices()
        data.append(block.data.astype(np.int32, copy=False))
        indices.append(block.indices.astype(np.int32, copy=False))
        row_sizes.append(np.diff(block.indptr))
        if index_path is not None:
            index_tables.append(pa.Table.from_arrays(_index_columns(batch), schema=INDEX_SCHEMA))
        n_bases += sum(r.bases for r in batch)
        progress.update(len(batch))
    progress.finish()
    n_columns = len(spec.vocabulary(k=k, canonical=canonical))
    sizes = np.concatenate(row_sizes) if row_sizes else np.zeros(0, np.int64)
    indptr = np.zeros(sizes.size + 1, dtype=np.int32 if sizes.sum() < 2**31 else np.int64)
    np.cumsum(sizes, out=indptr[1:])
    nnz = int(indptr[-1])
    save_npz_deterministic(
        out_path,
        {
            "format": np.array(b"csr"),
            "shape": np.array((sizes.size, n_columns)),
            "data": np.concatenate(data) if data else np.zeros(0, np.int32),
            "indices": np.concatenate(indices) if indices else np.zeros(0, np.int32),
            "indptr": indptr,
        },
    )
    del data, indices
    if index_path is not None:
        settings = {"k": k, "canonical": canonical}
        table = (
            pa.concat_tables(index_tables) if index_tables else INDEX_SCHEMA.empty_table()
        ).replace_schema_metadata(_metadata("kmer_counts", settings))
        write_parquet(table, index_path)
    return {
        "scheme": "kmer_counts",
        "params": {"k": k, "canonical": canonical},
        "n_sequences": int(sizes.size),
        "n_columns": n_columns,
        "nnz": nnz,
        "n_bases": n_bases,
    }


def _tsv_writer(handle: Any) -> Any:
    return csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


def write_kmer_names(path: StrPath, settings: Mapping[str, Any]) -> None:
    """``kmers_k<k>.tsv``: the k-mer counts' columns (``column``, ``kmer``) in order."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = _tsv_writer(handle)
        writer.writerow(("column", "kmer"))
        writer.writerows(enumerate(kmer_names(int(settings["k"]), bool(settings["canonical"]))))


def write_kmer_text(records: Iterable[DnaRecord], out_path: StrPath, settings: Mapping[str, Any]) -> int:
    """``tokens_kmer_tokenize.tsv``: columns sequence (k-mer text), label, id; one row per record."""
    encode = get_scheme("kmer_tokenize").encode
    n = 0
    with open(out_path, "w", encoding="utf-8", newline="") as handle:
        writer = _tsv_writer(handle)
        writer.writerow(("sequence", "label", "id"))
        for batch in batched(records, DEFAULT_BATCH_RECORDS, DEFAULT_BATCH_BASES):
            texts = encode([r.sequence for r in batch], **settings)
            writer.writerows((text, "" if r.label is None else r.label, r.id) for text, r in zip(texts, batch))
            n += len(batch)
    return n
