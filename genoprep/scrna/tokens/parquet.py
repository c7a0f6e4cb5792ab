"""One Parquet table per scheme, appended chunk by chunk (bounded memory, no half-written file).

Columns: ``cell_id``, the token list (``input_ids``; scGPT: ``genes`` and ``values``, all
list<int32>), ``length`` (int32) and the cell's labels (``cell_type``, ``donor_id``,
``batch``: those given), the shape Geneformer's fine-tuning code reads and
``datasets.load_dataset("parquet", ...)`` loads. The scheme and its parameters are in the
schema metadata (``genoprep.scheme``, ``genoprep.parameters`` as JSON). The file is written
under a temporary name beside the target and renamed when :meth:`TokenWriter.close`
succeeds; on an error it is removed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from genoprep.atomic import Partial
from genoprep.progress import Progress
from genoprep.scrna.tokens.chunks import TokenChunk

LABELS = ("cell_type", "donor_id", "batch")
COMPRESSION = "zstd"


def token_schema(ids_column: str, with_values: bool, labels: Sequence[str], parameters: Mapping[str, Any]) -> pa.Schema:
    fields = [pa.field("cell_id", pa.string()), pa.field(ids_column, pa.list_(pa.int32()))]
    if with_values:
        fields.append(pa.field("values", pa.list_(pa.int32())))
    fields.append(pa.field("length", pa.int32()))
    fields += [pa.field(name, pa.string()) for name in labels]
    metadata = {
        "genoprep.scheme": str(parameters["scheme"]),
        "genoprep.parameters": json.dumps(dict(parameters), ensure_ascii=False),
    }
    return pa.schema(fields, metadata=metadata)


def _list_array(offsets: np.ndarray, flat: np.ndarray) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(flat.astype(np.int32, copy=False)))


class TokenWriter:
    """Append :class:`TokenChunk` s of one scheme to one Parquet file (one row group per chunk)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        ids_column: str,
        parameters: Mapping[str, Any],
        *,
        with_values: bool = False,
        labels: Sequence[str] = (),
    ) -> None:
        unknown = [name for name in labels if name not in LABELS]
        if unknown:
            raise ValueError(f"unknown label columns {unknown} (known: {', '.join(LABELS)})")
        self.path = Path(path)
        self.partial = Partial(self.path)
        self.ids_column = ids_column
        self.with_values = with_values
        self.labels = [name for name in LABELS if name in labels]
        self.schema = token_schema(ids_column, with_values, self.labels, parameters)
        self.rows = 0
        self._writer = pq.ParquetWriter(self.partial.path, self.schema, compression=COMPRESSION)

    def write(
        self,
        cell_ids: Sequence[str] | np.ndarray,
        chunk: TokenChunk,
        labels: Mapping[str, Sequence[str] | np.ndarray] | None = None,
    ) -> None:
        """Write the kept cells of ``chunk``; ``cell_ids`` and ``labels`` are per row of the chunk."""
        kept = chunk.kept
        cell_ids = np.asarray(cell_ids, dtype=object)
        if cell_ids.shape[0] != kept.shape[0]:
            raise ValueError(f"{cell_ids.shape[0]} cell ids for a chunk of {kept.shape[0]} cells")
        columns = [pa.array(cell_ids[kept].astype(str), type=pa.string()), _list_array(chunk.offsets, chunk.input_ids)]
        if self.with_values:
            if chunk.values is None:
                raise ValueError("this scheme writes values but the chunk has none")
            columns.append(_list_array(chunk.offsets, chunk.values))
        columns.append(pa.array(chunk.lengths, type=pa.int32()))
        labels = labels or {}
        for name in self.labels:
            values = np.asarray(labels[name], dtype=object)
            columns.append(pa.array(values[kept].astype(str), type=pa.string()))
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
        self.rows += int(kept.sum())

    def close(self) -> None:
        """Finish the file and move it to its final name."""
        self._writer.close()
        self.partial.commit()

    def abort(self) -> None:
        """Drop the partial file (after an error)."""
        self._writer.close()
        self.partial.discard()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def write_tokens(
    tokenizer: Any,
    chunks: Iterable[tuple[int, Any]],
    path: str | os.PathLike[str],
    cell_ids: Sequence[str] | np.ndarray,
    labels: Mapping[str, Sequence[str] | np.ndarray] | None = None,
) -> int:
    """Tokenise ``chunks`` (``(first_cell, matrix)`` pairs in cell order, covering the dataset) with
    ``tokenizer`` and write its Parquet table to ``path``; returns the number of cells written.

    ``cell_ids`` and each ``labels`` column are per cell of the whole dataset. The tokenizer's
    ``summary()`` afterwards is the scheme's qc.json section.
    """
    labels = labels or {}
    cell_ids = np.asarray(cell_ids, dtype=object)
    columns = {name: np.asarray(values, dtype=object) for name, values in labels.items()}
    with TokenWriter(
        path,
        tokenizer.ids_column,
        tokenizer.parameters(),
        with_values=tokenizer.scheme == "scgpt",
        labels=list(columns),
    ) as writer:
        expected = 0
        progress = Progress(f"{tokenizer.scheme} tokens", int(cell_ids.shape[0]), unit="cells")
        for first, matrix in chunks:
            if first != expected:
                raise ValueError(f"chunks must cover the cells in order: expected row {expected}, got {first}")
            chunk = tokenizer.tokenize_chunk(matrix, first_cell=first)
            stop = first + chunk.kept.shape[0]
            writer.write(cell_ids[first:stop], chunk, {name: values[first:stop] for name, values in columns.items()})
            progress.update(stop - expected)
            expected = stop
        if expected != cell_ids.shape[0]:
            raise ValueError(f"chunks covered {expected} of {cell_ids.shape[0]} cells")
        progress.finish()
    return writer.rows
