"""Reading bulk expression tables: CSV/TSV, gzip or not, either orientation.

A table is one header row and one row per gene (``genes_x_samples``, the usual layout) or
per sample (``samples_x_genes``). One column holds the row ids (``id_column``: a name or
a 0-based position in the data rows); columns the card lists in ``annotation_columns``
(gene symbol, length, ... — or per-sample columns in ``samples_x_genes`` tables) are kept
as annotation; every other column holds values. A header one field shorter than the data
rows (R ``write.csv``/``write.table``: the row-name column has no name) is read as an
unnamed id column first.

Checks, each refused with a one-line :class:`~genoprep.errors.InputError` naming the file,
the record and the problem: values that are not numbers; ``counts`` that are not
non-negative integers; negative TPM/FPKM/RPKM; duplicate sample ids; empty ids; duplicate
gene ids unless the card says ``duplicate_genes: sum``.

NumPy input (:func:`read_expression_array`): a 2-D numeric ``.npy`` (genes x samples or
samples x genes, as ``orientation`` says) with the gene and sample ids in sidecar files
(one id per line), or an ``.npz`` holding the values and, unless sidecars are given, the
ids as named 1-D arrays. The same checks apply; a wrong shape, a missing array or an id
file of the wrong length is one line.
"""

from __future__ import annotations

import csv
import logging
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genoprep.errors import InputError
from genoprep.textio import check_readable, iter_lines, open_text
from genoprep.values import check_values as check_value_kinds
from genoprep.values import load_npy

log = logging.getLogger(__name__)

SEPARATORS = {"csv": ",", "tsv": "\t"}
ARRAY_FORMATS = ("npy", "npz")
#: the ``input.arrays`` of an ``.npz``: what each role's array is called (the schema's default)
ARRAY_ROLES = ("values", "gene_ids", "sample_ids")
ORIENTATIONS = ("genes_x_samples", "samples_x_genes")
VALUE_TYPES = ("counts", "tpm", "fpkm", "rpkm", "log")
DUPLICATE_POLICIES = ("refuse", "sum")
_EXAMPLES = 3
_HEADER_LINE = 1


@dataclass
class ExpressionTable:
    """A checked expression table, samples x genes (whatever the file's orientation)."""

    values: np.ndarray  #: float64, samples x genes
    samples: list[str]
    genes: list[str]
    gene_annotation: pd.DataFrame  #: annotation columns, indexed by gene (may have no columns)
    sample_annotation: pd.DataFrame  #: annotation columns, indexed by sample (may have no columns)
    duplicate_genes: dict[str, int] = field(default_factory=dict)  #: ids and rows merged by ``sum``


def _read_header(path: Path, sep: str) -> list[str]:
    try:
        with open_text(path) as handle:
            row = next(csv.reader(handle, delimiter=sep), None)
    except UnicodeDecodeError as err:
        raise InputError(str(path), f"not UTF-8 text ({err.reason})") from None
    except (OSError, csv.Error) as err:
        raise InputError(str(path), f"cannot read the header row: {' '.join(str(err).split())}") from None
    if not row:
        raise InputError(str(path), "the file is empty (no header row)", record="line 1")
    return [name.strip() for name in row]


def _read_body(path: Path, sep: str, fmt: str) -> pd.DataFrame:
    try:
        with open_text(path) as handle:
            body = pd.read_csv(
                handle, sep=sep, header=None, skiprows=_HEADER_LINE, dtype=str, na_filter=False, keep_default_na=False
            )
    except pd.errors.EmptyDataError:
        raise InputError(str(path), "the table has a header but no data rows") from None
    except UnicodeDecodeError as err:
        raise InputError(str(path), f"not UTF-8 text ({err.reason})") from None
    except (OSError, pd.errors.ParserError) as err:
        raise InputError(str(path), f"cannot read the {fmt} table: {' '.join(str(err).split())}") from None
    if body.empty:
        raise InputError(str(path), "the table has a header but no data rows")
    return body


def _column_names(header: list[str], n_fields: int, source: str) -> tuple[list[str], bool]:
    """The names of the data rows' fields, and whether the header was one field short."""
    if len(header) == n_fields:
        return header, False
    if len(header) == n_fields - 1:
        log.info("%s: the header is one field short; the first column is the (unnamed) id column", source)
        return ["", *header], True
    raise InputError(
        source, f"the header has {len(header)} fields but the first data row has {n_fields}", record="line 1"
    )


def _resolve_column(ref: str | int, names: list[str], short_header: bool, what: str, source: str) -> int:
    if isinstance(ref, int):
        if not 0 <= ref < len(names):
            raise InputError(
                source, f"input.{what} {ref} is out of range (the rows have {len(names)} fields)", record="input"
            )
        return ref
    matches = [i for i, name in enumerate(names) if name == ref]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InputError(
            source, f"input.{what} {ref!r} names {len(matches)} columns; give its 0-based position", record="input"
        )
    hint = " (the header is one field short, so the ids are the unnamed column 0)" if short_header else ""
    available = ", ".join(repr(n) for n in names[:8]) + (", ..." if len(names) > 8 else "")
    raise InputError(
        source, f"input.{what} names column {ref!r}, which is not there{hint}; columns: {available}", record="input"
    )


def _duplicates(ids: Sequence[str]) -> dict[str, int]:
    """Ids occurring more than once, in order of first occurrence, with their counts."""
    counts = pd.Series(ids).value_counts(sort=False)
    repeated = counts[counts > 1]
    order = pd.Index(ids).drop_duplicates()
    return {str(i): int(repeated[i]) for i in order if i in repeated.index}


def _describe_duplicates(duplicated: dict[str, int]) -> str:
    shown = ", ".join(f"{name} ({n}x)" for name, n in list(duplicated.items())[:_EXAMPLES])
    more = ", ..." if len(duplicated) > _EXAMPLES else ""
    return f"{len(duplicated)} gene ids occur more than once ({shown}{more})"


def _check_ids(ids: Sequence[str], what: str, source: str, lines: Sequence[str] | None) -> None:
    for position, name in enumerate(ids):
        if name == "":
            where = lines[position] if lines is not None else "line 1"
            raise InputError(source, f"empty {what} id", record=where)


def _to_numbers(
    block: pd.DataFrame, row_ids: Sequence[str], row_what: str, col_ids: Sequence[str], col_what: str, source: str
) -> np.ndarray:
    """The value fields as float64 (rows x columns as in the file), or the first bad field named."""
    values = np.empty(block.shape, dtype=np.float64)
    for j, column in enumerate(block.columns):
        text = block[column]
        numbers = pd.to_numeric(text.str.strip(), errors="coerce")
        bad = numbers.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = text.iloc[i]
            if value.strip() == "":
                problem = "empty value"
            else:
                problem = (
                    f"value {value!r} is not a number (if {col_ids[j]!r} is an annotation column, "
                    f"list it in input.annotation_columns)"
                )
            raise InputError(
                source, problem, record=f"line {i + _HEADER_LINE + 1}, {row_what} {row_ids[i]}, {col_what} {col_ids[j]}"
            )
        values[:, j] = numbers.to_numpy(dtype=np.float64)
    return values


#: what genoprep.values checks for each value_type of a bulk table
VALUE_KINDS = {
    "counts": "counts",
    "tpm": "non_negative",
    "fpkm": "non_negative",
    "rpkm": "non_negative",
    "log": "finite",
}


def check_values(
    values: np.ndarray, samples: Sequence[str], genes: Sequence[str], value_type: str, source: str
) -> None:
    """Refuse values that do not fit the card's ``value_type`` (``values`` is samples x genes).

    All values must be finite; ``counts`` must be non-negative integers; ``tpm``, ``fpkm``
    and ``rpkm`` must be non-negative; ``log`` values may be negative (e.g. log-CPM). The
    rules are :func:`genoprep.values.check_values`; the message names the gene and sample.
    """

    def locate(position: int) -> str:
        i, j = divmod(position, values.shape[1])
        return f"gene {genes[j]}, sample {samples[i]}"

    negative_hint = (
        "counts are non-negative integers"
        if value_type == "counts"
        else f"{value_type.upper()} values are non-negative"
    )
    hints = {
        "negative": f"{negative_hint} (a log-transformed table needs input.value_type: log)",
        "not_integer": "counts must be non-negative integers; a normalised table needs input.value_type tpm, "
        "fpkm, rpkm or log",
    }
    check_value_kinds(values, VALUE_KINDS[value_type], source, locate, hints)  # type: ignore[arg-type]
    if value_type == "log" and values.max(initial=0.0) > 50:
        log.warning(
            "%s: value_type is log but the largest value is %g: is the table really log-transformed?",
            source,
            values.max(),
        )


def _sum_duplicates(
    values: np.ndarray, genes: list[str], annotation: pd.DataFrame
) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """Add up the columns (genes) of equal id, in order of first occurrence; annotation of the first."""
    codes, uniques = pd.factorize(pd.Index(genes))
    summed = np.zeros((values.shape[0], len(uniques)), dtype=np.float64)
    np.add.at(summed.T, codes, values.T)
    first = pd.Index(genes).duplicated(keep="first")
    kept_annotation = annotation.iloc[~first]
    return summed, [str(u) for u in uniques], kept_annotation


def _annotation_frame(block: pd.DataFrame, names: list[str], index: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {name: block[column].to_numpy() for name, column in zip(names, block.columns)}, index=pd.Index(index)
    )
    return frame.apply(_numeric_if_possible) if len(frame.columns) else frame


def _numeric_if_possible(column: pd.Series) -> pd.Series:
    converted = pd.to_numeric(column.str.strip(), errors="coerce")
    if converted.notna().all():
        return converted
    return column.astype(str)


def read_expression_table(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    orientation: str = "genes_x_samples",
    id_column: str | int = 0,
    annotation_columns: Sequence[str] = (),
    value_type: str = "counts",
    duplicate_genes: str = "refuse",
) -> ExpressionTable:
    """Read and check an expression table; see the module docstring for the rules."""
    path = Path(path)
    source = _check_request(path, fmt, ("table", tuple(SEPARATORS)), orientation, value_type, duplicate_genes)
    sep = SEPARATORS[fmt]
    header = _read_header(path, sep)
    body = _read_body(path, sep, fmt)
    names, short_header = _column_names(header, body.shape[1], source)

    id_what = "gene_id_column" if orientation == "genes_x_samples" else "sample_id_column"
    id_index = _resolve_column(id_column, names, short_header, id_what, source)
    annotation_index: list[int] = []
    for name in annotation_columns:
        index = _resolve_column(name, names, short_header, "annotation_columns", source)
        if index == id_index:
            raise InputError(source, f"annotation column {name!r} is the id column", record="input")
        if index not in annotation_index:
            annotation_index.append(index)
    value_index = [i for i in range(len(names)) if i != id_index and i not in annotation_index]
    if not value_index:
        raise InputError(source, "no value columns: every column is the id or an annotation column")

    row_ids = [s.strip() for s in body[id_index].tolist()]
    col_ids = [names[i] for i in value_index]
    lines = [f"line {i + _HEADER_LINE + 1}" for i in range(len(row_ids))]
    row_what, col_what = ("gene", "sample") if orientation == "genes_x_samples" else ("sample", "gene")
    _check_ids(row_ids, row_what, source, lines)
    _check_ids(col_ids, col_what, source, None)
    numbers = _to_numbers(body[value_index], row_ids, row_what, col_ids, col_what, source)
    annotation = _annotation_frame(body[annotation_index], [names[i] for i in annotation_index], row_ids)

    if orientation == "genes_x_samples":
        values, genes, samples = numbers.T, row_ids, col_ids
        gene_annotation, sample_annotation = annotation, pd.DataFrame(index=pd.Index(samples))
    else:
        values, genes, samples = numbers, col_ids, row_ids
        gene_annotation, sample_annotation = pd.DataFrame(index=pd.Index(genes)), annotation
    return _checked(values, samples, genes, gene_annotation, sample_annotation, value_type, duplicate_genes, source)


def _checked(
    values: np.ndarray,
    samples: list[str],
    genes: list[str],
    gene_annotation: pd.DataFrame,
    sample_annotation: pd.DataFrame,
    value_type: str,
    duplicate_genes: str,
    source: str,
) -> ExpressionTable:
    """The checks every input format shares (``values`` samples x genes): unique samples, values, duplicate genes."""
    repeated_samples = _duplicates(samples)
    if repeated_samples:
        shown = ", ".join(list(repeated_samples)[:_EXAMPLES])
        raise InputError(source, f"{len(repeated_samples)} sample ids occur more than once (e.g. {shown})")
    values = np.ascontiguousarray(values, dtype=np.float64)
    check_values(values, samples, genes, value_type, source)

    repeated_genes = _duplicates(genes)
    if repeated_genes:
        if duplicate_genes == "refuse":
            raise InputError(
                source,
                f"{_describe_duplicates(repeated_genes)}; set input.duplicate_genes: sum "
                f"in the card to add their values up",
            )
        log.warning("%s: %s; their values are summed", source, _describe_duplicates(repeated_genes))
        values, genes, gene_annotation = _sum_duplicates(values, genes, gene_annotation)
    log.info("read %s: %d samples x %d genes (%s)", source, len(samples), len(genes), value_type)
    return ExpressionTable(
        values=values,
        samples=samples,
        genes=genes,
        gene_annotation=gene_annotation,
        sample_annotation=sample_annotation,
        duplicate_genes=repeated_genes,
    )


def _check_request(
    path: Path, fmt: str, kind: tuple[str, Sequence[str]], orientation: str, value_type: str, duplicate_genes: str
) -> str:
    """The file is readable and the card's reading settings are known (``kind``: the input kind
    and its formats); returns the file's name for error lines."""
    source = str(path)
    check_readable(path)
    name, formats = kind
    if fmt not in formats:
        raise InputError(
            source, f"unknown bulk {name} format {fmt!r} (known: {', '.join(formats)})", record="input.format"
        )
    _check_spec(source, orientation, value_type, duplicate_genes)
    return source


def _check_spec(source: str, orientation: str, value_type: str, duplicate_genes: str) -> None:
    if orientation not in ORIENTATIONS:
        raise InputError(
            source,
            f"unknown orientation {orientation!r} (known: {', '.join(ORIENTATIONS)})",
            record="input.orientation",
        )
    if value_type not in VALUE_TYPES:
        raise InputError(
            source, f"unknown value_type {value_type!r} (known: {', '.join(VALUE_TYPES)})", record="input.value_type"
        )
    if duplicate_genes not in DUPLICATE_POLICIES:
        raise InputError(
            source, f"unknown duplicate_genes {duplicate_genes!r} (known: refuse, sum)", record="input.duplicate_genes"
        )
    if duplicate_genes == "sum" and value_type == "log":
        raise InputError(
            source,
            "duplicate_genes: sum is not defined for log values (sum before taking logs, or refuse)",
            record="input.duplicate_genes",
        )


def read_id_file(path: str | os.PathLike[str], what: str) -> list[str]:
    """A sidecar id file: one id per line (gzip or not), no header; an empty id names its line."""
    source = os.fspath(path)
    check_readable(path)
    ids = [line.strip() for _, line in iter_lines(path)]
    while ids and ids[-1] == "":
        ids.pop()  # blank lines at the end of the file
    if not ids:
        raise InputError(source, f"the {what} id file holds no ids")
    for number, name in enumerate(ids, start=1):
        if name == "":
            raise InputError(source, f"empty {what} id", record=f"line {number}")
    return ids


def _npz_array(archive: Any, name: str, role: str, source: str) -> np.ndarray:
    if name not in archive.files:
        raise InputError(
            source,
            f"no array {name!r} for the {role} (arrays: {', '.join(archive.files) or 'none'}); "
            f"name it in input.arrays.{role}"
            + ("" if role == "values" else f" or give input.{role}_path (one id per line)"),
            record=f"input.arrays.{role}",
        )
    try:
        return archive[name]
    except ValueError as err:
        detail = " ".join(str(err).split())
        if "allow_pickle" in detail:
            detail = "it holds Python objects (pickled), not numbers or fixed-width strings"
        raise InputError(
            source, f"array {name!r} cannot be read: {detail[:200]}", record=f"input.arrays.{role}"
        ) from None
    except (OSError, EOFError, zlib.error) as err:
        raise InputError(source, f"array {name!r} cannot be read: {' '.join(str(err).split())[:200]}") from None


def _ids_from_array(ids: np.ndarray, role: str, source: str) -> list[str]:
    if ids.ndim != 1:
        raise InputError(source, f"the {role} array is {ids.ndim}-D (shape {ids.shape}); ids are a 1-D array")
    if ids.dtype.kind == "S":
        ids = np.char.decode(ids, "utf-8")
    if ids.dtype.kind not in "Uiu":
        raise InputError(source, f"the {role} array holds {ids.dtype} values; ids are strings or integers")
    names = [str(v).strip() for v in ids.tolist()]
    for position, name in enumerate(names):
        if name == "":
            raise InputError(source, f"empty {role[:-4]} id", record=f"{role}[{position}]")
    return names


def read_expression_array(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    orientation: str = "genes_x_samples",
    value_type: str = "counts",
    duplicate_genes: str = "refuse",
    gene_ids_path: str | os.PathLike[str] | None = None,
    sample_ids_path: str | os.PathLike[str] | None = None,
    arrays: Mapping[str, str] | None = None,
) -> ExpressionTable:
    """Read and check a NumPy expression matrix (see the module docstring).

    ``arrays`` maps the roles ``values``, ``gene_ids`` and ``sample_ids`` to array names
    in an ``.npz``; a sidecar path (``gene_ids_path``, ``sample_ids_path``) takes
    precedence over the ``.npz``'s id array. A ``.npy`` needs both sidecars.
    """
    path = Path(path)
    source = _check_request(path, fmt, ("array", ARRAY_FORMATS), orientation, value_type, duplicate_genes)
    names = {role: role for role in ARRAY_ROLES} | dict(arrays or {})
    sidecars = {"gene_ids": gene_ids_path, "sample_ids": sample_ids_path}
    ids: dict[str, list[str]] = {}
    for role, sidecar in sidecars.items():
        if sidecar is not None:
            ids[role] = read_id_file(sidecar, role[:-4])
        elif fmt == "npy":
            raise InputError(source, f"a .npy holds no ids: give input.{role}_path (one id per line)", record="input")
    if fmt == "npy":
        values = load_npy(path, str(path))
    else:
        try:
            archive = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise InputError(source, f"not a readable .npz archive: {' '.join(str(err).split())[:200]}") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise InputError(source, "a .npy array, not an .npz archive: say input.format: npy")
        with archive:
            values = _npz_array(archive, names["values"], "values", source)
            for role in ARRAY_ROLES[1:]:
                if role not in ids:
                    ids[role] = _ids_from_array(_npz_array(archive, names[role], role, source), role, source)
    if values.ndim != 2:
        raise InputError(source, f"the values are a {values.ndim}-D array (shape {values.shape}); a matrix is 2-D")
    if values.dtype.kind not in "iuf":
        raise InputError(source, f"the values are {values.dtype}, not numbers (integers or floats)")
    row_role, col_role = ("gene_ids", "sample_ids") if orientation == "genes_x_samples" else ("sample_ids", "gene_ids")
    for axis, role in ((0, row_role), (1, col_role)):
        if values.shape[axis] != len(ids[role]):
            where = "rows" if axis == 0 else "columns"
            raise InputError(
                source,
                f"the values are {values.shape[0]} x {values.shape[1]} ({orientation}), so {values.shape[axis]} "
                f"{role[:-4]} ids are needed for the {where}, but the {role} have {len(ids[role])}"
                + (" (is input.orientation right?)" if values.shape[1 - axis] == len(ids[role]) else ""),
            )
    genes, samples = ids["gene_ids"], ids["sample_ids"]
    values = values.T if orientation == "genes_x_samples" else values
    return _checked(
        values,
        samples,
        genes,
        pd.DataFrame(index=pd.Index(genes)),
        pd.DataFrame(index=pd.Index(samples)),
        value_type,
        duplicate_genes,
        source,
    )
