"""Per-cell / per-sample metadata tables (CSV/TSV, gzip or not) and joining them on ids."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from genoprep.errors import InputError

log = logging.getLogger(__name__)

SEPARATORS = {"csv": ",", "tsv": "\t"}


def infer_table_format(path: str | os.PathLike[str]) -> str:
    """``csv`` or ``tsv`` from a file name (``.csv``, ``.tsv``, ``.txt`` → tsv; ``.gz`` ignored)."""
    name = os.fspath(path).lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".tsv", ".txt", ".tab")):
        return "tsv"
    raise InputError(str(path), "cannot tell csv from tsv by the file name; give metadata.format in the card")


def read_metadata_table(
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    header: bool = True,
    id_column: str | int = 0,
) -> pd.DataFrame:
    """Read a metadata table indexed by its id column (as strings).

    ``id_column`` is a column name, or a 0-based position in the file's columns. A header
    row that is one field short (R ``write.csv``/``write.table``) is read as having an
    unnamed id column first. Header-less tables get integer column names (their 0-based
    positions in the file). Duplicate ids are refused.
    """
    fmt = fmt or infer_table_format(path)
    try:
        table = pd.read_csv(path, sep=SEPARATORS[fmt], header=0 if header else None, dtype=str, keep_default_na=False,
                            na_values=[""])
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(str(path), f"cannot read the {fmt} table: {' '.join(str(err).split())}") from None
    if header and isinstance(table.index, pd.MultiIndex):
        raise InputError(str(path), "the header row is more than one field short of the data rows")
    if header and not isinstance(table.index, pd.RangeIndex):
        # header one field short: pandas already made the first column the index
        ids = table.index.astype(str)
        table.index = pd.Index(ids, name=None)
        if id_column not in (0, None):
            raise InputError(str(path), "the header is one field short, so the ids are the first column; "
                                        "id_column must be 0")
    else:
        if isinstance(id_column, int):
            if not 0 <= id_column < table.shape[1]:
                raise InputError(str(path), f"id_column {id_column} is out of range (the table has {table.shape[1]} columns)")
            name = table.columns[id_column]
        else:
            if id_column not in table.columns:
                raise InputError(str(path), f"no column {id_column!r} (columns: {', '.join(map(str, table.columns[:12]))})")
            name = id_column
        table = table.set_index(name)
        table.index = pd.Index(table.index.astype(str), name=None)
    duplicated = table.index[table.index.duplicated()].unique()
    if len(duplicated):
        raise InputError(str(path), f"{len(duplicated)} ids occur more than once (e.g. {', '.join(duplicated[:3])})")
    return table.apply(_numeric_if_possible)


def _numeric_if_possible(column: pd.Series) -> pd.Series:
    converted = pd.to_numeric(column, errors="coerce")
    if converted.notna().sum() == column.notna().sum():
        return converted
    return column


@dataclass(frozen=True)
class JoinReport:
    """How a metadata table matched the data's ids."""

    matched: int
    unused_metadata_rows: int


def join_metadata(ids: Sequence[str], table: pd.DataFrame, source: str, what: str = "cells") -> tuple[pd.DataFrame, JoinReport]:
    """Rows of ``table`` in the order of ``ids``.

    Every id must have a row (mismatches are reported, never silently dropped): a missing
    id raises :class:`InputError` naming how many and which. Rows for ids not in the data
    are counted in the report.
    """
    index = pd.Index([str(i) for i in ids])
    missing = index.difference(table.index, sort=False)
    if len(missing):
        examples = ", ".join(missing[:3])
        raise InputError(source, f"no metadata row for {len(missing)} of {len(index)} {what} (e.g. {examples}); "
                                 f"the metadata ids must match the data's ids")
    unused = len(table.index.difference(index))
    if unused:
        log.warning("%s: %d metadata rows match no %s and are ignored", source, unused, what)
    return table.loc[index], JoinReport(matched=len(index), unused_metadata_rows=unused)
