"""Tables, metadata joins, label columns and gene-id types: one answer for every modality.

* :func:`read_table` reads a CSV/TSV (gzip or not, UTF-8 byte-order mark and CRLF line ends
  accepted) into a frame indexed by its id column as strings; duplicate ids are refused.
* :func:`join_metadata` puts a metadata table's rows in the order of the data's ids, with
  the card's policy for ids that have no row (``metadata.unmatched: error | na``).
* :func:`map_labels` turns the card's ``columns`` mapping into label arrays (``"NA"`` for
  a missing value).
* :func:`looks_like_ensembl` decides whether gene ids are Ensembl ids (one rule).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genoprep import textio
from genoprep.errors import InputError

log = logging.getLogger(__name__)

SEPARATORS = {"csv": ",", "tsv": "\t"}

#: how many ids an error message or a log line lists as examples
_EXAMPLES = 3


def read_table(
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    header: bool = True,
    id_column: str | int = 0,
) -> pd.DataFrame:
    """Read a CSV/TSV table indexed by its id column (as strings).

    ``fmt`` is ``csv`` or ``tsv`` (the card's word); without it the file name, then the
    first line decides (:func:`genoprep.textio.guess_table_format`). The file is opened
    through :func:`genoprep.textio.open_text`, so gzip/BGZF (by magic bytes), a UTF-8
    byte-order mark and CRLF line ends are handled, and compression damage or bytes that
    are not UTF-8 give one line.

    ``id_column`` is a column name, or a 0-based position in the file's columns. A header
    row that is one field short (R ``write.csv``/``write.table``) is read as having an
    unnamed id column first. Header-less tables get integer column names (their 0-based
    positions in the file). Duplicate ids are refused. Columns whose every value is a
    number become numeric; empty fields are missing values.
    """
    source = os.fspath(path)
    fmt = textio.guess_table_format(path, fmt)
    try:
        with textio.open_text(path) as handle:
            table = pd.read_csv(
                handle,
                sep=SEPARATORS[fmt],
                header=0 if header else None,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
            )
    except pd.errors.EmptyDataError:
        raise InputError(source, f"the {fmt} table is empty") from None
    except UnicodeDecodeError as err:
        raise InputError(source, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    except (OSError, pd.errors.ParserError) as err:
        raise InputError(source, f"cannot read the {fmt} table: {' '.join(str(err).split())}") from None
    if header and isinstance(table.index, pd.MultiIndex):
        raise InputError(source, "the header row is more than one field short of the data rows")
    if header and not isinstance(table.index, pd.RangeIndex):
        # header one field short: pandas already made the first column the index
        _refuse_empty_ids(table.index, source, header)
        table.index = pd.Index(table.index.astype(str), name=None)
        if id_column not in (0, None):
            raise InputError(
                source, "the header is one field short, so the ids are the first column; id_column must be 0"
            )
    else:
        if isinstance(id_column, int):
            if not 0 <= id_column < table.shape[1]:
                raise InputError(
                    source, f"id_column {id_column} is out of range (the table has {table.shape[1]} columns)"
                )
            name = table.columns[id_column]
        else:
            if id_column not in table.columns:
                raise InputError(
                    source, f"no column {id_column!r} (columns: {', '.join(map(str, table.columns[:12]))})"
                )
            name = id_column
        _refuse_empty_ids(pd.Index(table[name]), source, header)
        table = table.set_index(name)
        table.index = pd.Index(table.index.astype(str), name=None)
    duplicated = table.index[table.index.duplicated()].unique()
    if len(duplicated):
        raise InputError(
            source, f"{len(duplicated)} ids occur more than once (e.g. {', '.join(duplicated[:_EXAMPLES])})"
        )
    return table.apply(_numeric_if_possible)


def _refuse_empty_ids(ids: pd.Index, source: str, header: bool) -> None:
    empty = ids.isna()
    if empty.any():
        row = int(np.flatnonzero(empty)[0]) + 1
        where = f"data row {row} (after the header)" if header else f"row {row}"
        raise InputError(source, "the id field is empty", record=where)


#: the former name of :func:`read_table` (metadata tables are tables)
read_metadata_table = read_table


def _numeric_if_possible(column: pd.Series) -> pd.Series:
    converted = pd.to_numeric(column, errors="coerce")
    if converted.notna().sum() == column.notna().sum():
        return converted
    return column


@dataclass(frozen=True)
class JoinReport:
    """How a metadata table matched the data's ids.

    ``unmatched_ids``: data ids without a metadata row (in data order; empty unless the
    policy is ``na``). ``unused_rows``: ids of metadata rows that match no data id (in
    table order).
    """

    unmatched_ids: tuple[str, ...]
    unused_rows: tuple[str, ...]

    @property
    def unused_metadata_rows(self) -> int:
        """How many metadata rows match no data id (the former field; use ``len(unused_rows)``)."""
        return len(self.unused_rows)


UNMATCHED_POLICIES = ("error", "na")


def join_metadata(
    ids: Sequence[str] | pd.Index,
    table: pd.DataFrame,
    source: str,
    *,
    what: str = "cells",
    unmatched: str = "error",
) -> tuple[pd.DataFrame, JoinReport]:
    """Rows of ``table`` in the order of ``ids``, and what did not match.

    ``unmatched`` is the card's ``metadata.unmatched`` policy for data ids without a
    metadata row: ``error`` raises one :class:`InputError` line naming how many and which;
    ``na`` gives them an all-missing row (labels then read ``NA``) and logs a warning.
    Metadata rows for ids not in the data are never an error: they are logged and listed
    in the report. Nothing is dropped silently.
    """
    if unmatched not in UNMATCHED_POLICIES:
        raise ValueError(f"unmatched must be one of {UNMATCHED_POLICIES}, not {unmatched!r}")
    index = pd.Index([str(i) for i in ids])
    missing = index[~index.isin(table.index)]
    if len(missing) and unmatched == "error":
        raise InputError(
            source,
            f"no metadata row for {len(missing)} of {len(index)} {what} "
            f"(e.g. {', '.join(missing[:_EXAMPLES])}); the metadata ids must match the "
            f"data's ids, or set metadata.unmatched: na in the card",
        )
    if len(missing):
        log.warning(
            "%s: no metadata row for %d of %d %s (e.g. %s); their labels are NA",
            source,
            len(missing),
            len(index),
            what,
            ", ".join(missing[:_EXAMPLES]),
        )
    unused = table.index[~table.index.isin(index)]
    if len(unused):
        log.warning(
            "%s: %d metadata rows match no %s and are not used (e.g. %s)",
            source,
            len(unused),
            what,
            ", ".join(unused[:_EXAMPLES]),
        )
    rows = table.reindex(index) if len(missing) else table.loc[index]
    return rows, JoinReport(unmatched_ids=tuple(missing), unused_rows=tuple(str(i) for i in unused))


def _label_column(frame: pd.DataFrame, ref: str | int, label: str, source: str) -> pd.Series:
    if ref in frame.columns:  # a name, or a position of a header-less table
        return frame[ref]
    if str(ref) in frame.columns:
        return frame[str(ref)]
    available = ", ".join(map(str, frame.columns[:15])) or "none"
    raise InputError(
        source, f"columns.{label} names column {ref!r}, which is not there (available: {available})", record="columns"
    )


def as_labels(values: pd.Series | Sequence[object]) -> np.ndarray:
    """Values as label strings: ``"NA"`` for missing, numbers as pandas prints them.

    A numeric column whose values are all whole numbers gives ``"1"``, not ``"1.0"``, also
    when a missing value made pandas read it as floats.
    """
    series = pd.Series(values)
    if series.dtype.kind == "f":
        present = series.dropna()
        if len(present) and np.array_equal(present, np.round(present)) and np.isfinite(present).all():
            series = series.astype("Int64")
    return series.astype("string").fillna("NA").to_numpy(dtype=str)


def map_labels(
    frame: pd.DataFrame,
    columns: Mapping[str, str | int],
    source: str,
    labels: Iterable[str] | None = None,
) -> dict[str, np.ndarray]:
    """The card's label columns: ``{label: array of str}`` with ``"NA"`` for missing values.

    ``columns`` is the card's mapping from genoprep's label names to the frame's own
    columns (a name, or a position for a header-less table). ``labels`` lists the label
    names this modality knows, in output order; the mapping's other entries (e.g. gene
    columns) are not labels and are skipped. Without ``labels`` every entry of ``columns``
    is a label, in card order. A column that is not in ``frame`` raises one line naming
    the card field.
    """
    names = list(columns) if labels is None else [label for label in labels if label in columns]
    return {label: as_labels(_label_column(frame, columns[label], label, source)) for label in names}


#: an Ensembl stable id: ENS + species prefix + feature type (Gene, Transcript, Protein, Exon)
#: + 11 digits, with an optional version
ENSEMBL_ID = re.compile(r"^ENS[A-Z]*[GTPE]\d{11}(\.\d+)?$")

#: share of the non-empty ids that must be Ensembl ids
ENSEMBL_MIN_FRACTION = 0.9


def looks_like_ensembl(ids: Iterable[object]) -> bool:
    """Whether the gene ids are Ensembl ids (and so not symbols).

    One rule for every modality: at least 90 % of the non-empty ids match
    :data:`ENSEMBL_ID`. Ensembl stable ids always carry exactly 11 digits, so the
    pattern does not take symbols such as ``ENSA`` or ``ENSAP1`` for ids. 90 % (not a
    majority) because a table that mixes ids and symbols is not "Ensembl ids": treating it
    as symbols keeps the names as they are, while the other way would blank real symbols;
    the 10 % leaves room for spike-ins (``ERCC-…``), reporter genes and summary rows
    (``__no_feature``) that Ensembl-keyed count tables carry. On the real files in
    ``../shared/data`` every gene list is either 100 % or 0 % Ensembl ids.
    """
    names = [str(i) for i in ids if i is not None and str(i) != ""]
    if not names:
        return False
    matches = sum(1 for name in names if ENSEMBL_ID.match(name))
    return matches >= ENSEMBL_MIN_FRACTION * len(names)
