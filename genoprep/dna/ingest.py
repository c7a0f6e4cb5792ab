"""Read DNA sequences and their labels: FASTA files, sequence tables, label rules.

All readers are generators of :class:`DnaRecord` and hold one record at a time, so a
genome streams through in constant memory (beyond its largest record).

Decisions (documented here because callers and tests rely on them):

* **Record id** — the whole header line without ``>`` and trailing whitespace. The FASTA
  "first word" convention is not unique in real files: in the E. coli negative set every
  header starts ``Escherichia coli K-12 ...``. :attr:`DnaRecord.name` gives the first word.
* **Record numbers** are 1-based, counted per file (FASTA records, or table data rows
  excluding the header row). Errors say ``record 12 (header)`` / ``row 12``.
* **Validation** — a record with an empty sequence, or with a character that is not an
  IUPAC nucleotide code (see :mod:`genoprep.dna.alphabet`; gaps ``-`` are rejected),
  raises :class:`~genoprep.errors.InputError`. Whitespace and CR inside sequence lines are
  removed (Biopython's ``SimpleFastaParser``), so CRLF files read like LF files.
* **Compression** is detected from the gzip magic bytes, not the file name.
* **Header labels** — ``label_from_header`` takes the first capture group of a regular
  expression searched in the header. A header that does not match is an error by default;
  ``on_unmatched="unlabelled"`` gives it ``label=None`` instead.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import IO, Literal, NamedTuple

import numpy as np
from Bio.SeqIO.FastaIO import SimpleFastaParser

from genoprep.errors import InputError

from .alphabet import IUPAC_BYTES

GZIP_MAGIC = b"\x1f\x8b"
FASTA_SUFFIXES = (".fa", ".fasta", ".fna")
TABLE_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}

StrPath = str | PathLike[str]


class DnaRecord(NamedTuple):
    """One sequence: where it came from, its id, its letters and (optionally) its label."""

    number: int
    """1-based record (FASTA) or data-row (table) number within its file."""
    id: str
    """Full FASTA header without ``>`` (or the table's id column / ``row<N>``)."""
    sequence: str | bytes
    """The sequence as written (case kept), whitespace removed; ASCII bytes when read with
    ``as_bytes=True``."""
    label: str | None = None

    @property
    def name(self) -> str:
        """First whitespace-separated word of the id (Biopython's ``SeqRecord.id``)."""
        return self.id.split(None, 1)[0] if self.id.strip() else ""


def is_gzip(path: StrPath) -> bool:
    """Return True when the file starts with the gzip magic bytes."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_text(path: StrPath) -> IO[str]:
    """Open a plain or gzip-compressed file as UTF-8 text (compression from magic bytes)."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8", newline=None)
    return open(path, encoding="utf-8", newline=None)


def check_sequence(sequence: str, source: StrPath, record: str) -> None:
    """Raise InputError if ``sequence`` is empty or holds a non-IUPAC character.

    Runs at C speed (``bytes.translate``); the error names the first bad character
    and its 1-based position.
    """
    if not sequence:
        raise InputError(str(source), "empty sequence", record)
    if sequence.isascii():
        leftover = sequence.encode("ascii").translate(None, IUPAC_BYTES)
        if not leftover:
            return
        bad = chr(leftover[0])
    else:
        bad = next(c for c in sequence if c.encode("utf-8") not in IUPAC_BYTES)
    position = sequence.index(bad) + 1
    raise InputError(
        str(source),
        f"character {bad!r} at position {position} is not an IUPAC nucleotide code",
        record,
    )


def _record_label(number: int, header: str) -> str:
    """Name a FASTA record in an error message: ``record 3 (header)``."""
    return f"record {number} ({header})"


#: Bytes read from a FASTA file at a time by :func:`read_fasta`.
FASTA_BLOCK_BYTES = 8 << 20
#: What the fast path removes from a record's lines: line ends and spaces (as Biopython does).
_LINE_BYTES = b" \n"
_LF = ord("\n")


def _open_binary(path: StrPath) -> IO[bytes]:
    """Open a plain or gzip-compressed file for reading bytes (compression from magic bytes)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def _universal_newline_blocks(handle: IO[bytes], block_bytes: int) -> Iterator[bytes]:
    """Blocks of the file with CRLF and lone CR turned into LF (Python's universal newlines).

    A CR at the end of a block is held back until the next block shows whether an LF
    follows it; a block without CR is passed on untouched (no copy).
    """
    held = b""
    while True:
        block = handle.read(block_bytes)
        if not block:
            if held:
                yield b"\n"
            return
        if held:
            block = held + block
            held = b""
        if b"\r" in block:
            if block.endswith(b"\r"):
                block, held = block[:-1], b"\r"
            block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if block:
            yield block


def _next_header_lf(data: bytes, start: int) -> int:
    """Index of the LF that ends the line before the next header line, at or after ``start - 1``.

    Searches ``>`` (a one-byte ``memchr`` search, several times faster than searching the
    two bytes ``\\n>``) and keeps the first one that starts a line; -1 if there is none.
    """
    at = data.find(b">", max(start, 1))
    while at > 0 and data[at - 1] != _LF:
        at = data.find(b">", at + 1)
    return at - 1 if at > 0 else -1


def _raw_fasta_records(blocks: Iterator[bytes], source: str) -> Iterator[tuple[bytes, bytes]]:
    """Split LF-normalised FASTA blocks into (header line without '>', sequence lines) pairs.

    A record starts at every line that starts with ``>``; its sequence lines are the bytes up
    to the next such line (newlines included). Lines before the first header must be blank
    (whitespace only), otherwise the file is not FASTA. Holds one record at a time.
    """
    header: bytes | None = None
    parts: list[bytes] = []
    carry = b""
    started = False  # seen the first header
    for block in blocks:
        data = carry + block if carry else block
        carry = b""
        pos = 0
        size = len(data)
        while pos < size or (header is None and started):
            if not started:
                if data[pos : pos + 1] == b">":
                    started = True
                    continue
                eol = data.find(b"\n", pos)
                if eol < 0:
                    carry = data[pos:]
                    break
                if data[pos:eol].decode("utf-8", "replace").strip():
                    raise InputError(source, "first non-blank line does not start with '>' (not FASTA)")
                pos = eol + 1
                continue
            if header is None:  # at a header line: data[pos] == ">"
                eol = data.find(b"\n", pos)
                if eol < 0:
                    carry = data[pos:]
                    break
                header, parts, pos = data[pos + 1 : eol], [], eol + 1
            nxt = _next_header_lf(data, pos)
            if nxt < 0:
                end = size - 1 if data.endswith(b"\n") else size  # the LF may precede a '>' to come
                if end > pos:
                    parts.append(data[pos:end])
                carry = data[end:]
                break
            if nxt > pos:
                parts.append(data[pos:nxt])
            yield header, b"".join(parts)
            header, parts, pos = None, [], nxt + 1
    if not started:
        if carry.decode("utf-8", "replace").strip():
            raise InputError(source, "first non-blank line does not start with '>' (not FASTA)")
        return
    if header is None:  # the file ends inside a header line without LF
        header, parts, carry = carry[1:], [], b""
    if carry.strip(b"\n"):
        parts.append(carry)
    yield header, b"".join(parts)


def _remove_line_ends(lines: bytes) -> bytes:
    """A record's sequence lines with their LFs deleted (a candidate: validated by the caller).

    Files written with one line width (nearly all) take a numpy path at memory speed: when an
    LF sits every ``width + 1`` bytes, the lines are a 2-D view whose last column is dropped.
    Otherwise LFs and spaces go through ``bytes.translate``. Whatever is left that is not an
    IUPAC letter (a stray LF of a short line, a space, a tab) fails validation, and the caller
    then redoes the record exactly as Biopython does.
    """
    width = lines.find(b"\n")
    if width < 0:
        return lines
    n_lines = len(lines) // (width + 1)
    body = n_lines * (width + 1)
    view = np.frombuffer(lines, dtype=np.uint8, count=body).reshape(n_lines, width + 1)
    if not (view[:, width] == _LF).all():
        return lines.translate(None, _LINE_BYTES)
    return view[:, :width].tobytes() + lines[body:]


def _sequence_like_biopython(lines: bytes, source: str, record: str) -> str:
    """The sequence of a record's raw lines exactly as ``SimpleFastaParser`` gives it.

    Each line loses its trailing whitespace (``str.rstrip``), then spaces are removed. Only
    used when the fast path finds something other than IUPAC letters, spaces and LFs.
    """
    try:
        text = lines.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(source, f"not UTF-8 text ({error.reason})", record) from None
    return "".join(line.rstrip() for line in text.split("\n")).replace(" ", "")


def iter_fasta_bytes(
    path: StrPath, *, block_bytes: int = FASTA_BLOCK_BYTES
) -> Iterator[tuple[int, str, bytes]]:
    """Stream the records of a FASTA file as ``(number, header, sequence bytes)``, validated.

    The fast reader behind :func:`read_fasta`: large binary blocks, records split at
    ``\\n>``, line ends and spaces deleted with ``bytes.translate`` and the letters checked
    with one more ``bytes.translate``, so no Python code runs per line or per base. It gives
    the same records as Biopython's ``SimpleFastaParser`` on a file opened as UTF-8 text
    (universal newlines, headers ``rstrip``-ed, trailing whitespace of sequence lines and
    spaces removed); the tests check this on the real files. Sequences are ASCII bytes with
    their case kept.
    """
    source = str(path)
    try:
        with _open_binary(path) as handle:
            blocks = _universal_newline_blocks(handle, block_bytes)
            for number, (raw_header, lines) in enumerate(_raw_fasta_records(blocks, source), start=1):
                try:
                    header = raw_header.decode("utf-8").rstrip()
                except UnicodeDecodeError as error:
                    raise InputError(source, f"header is not UTF-8 text ({error.reason})", f"record {number}") from None
                sequence = _remove_line_ends(lines)
                if not sequence or sequence.translate(None, IUPAC_BYTES):
                    text = _sequence_like_biopython(lines, source, _record_label(number, header))
                    check_sequence(text, source, _record_label(number, header))
                    sequence = text.encode("ascii")
                yield number, header, sequence
    except (EOFError, gzip.BadGzipFile, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise InputError(source, "file not found") from None
        raise InputError(source, f"cannot read ({error})") from None


def read_fasta(path: StrPath, label: str | None = None, *, as_bytes: bool = False) -> Iterator[DnaRecord]:
    """Stream the records of a FASTA file (``.fa/.fasta/.fna``, gzip or not).

    Multi-line records, CRLF line ends, lower-case bases, IUPAC codes and non-ASCII
    headers are read as is. Each record is validated (:func:`check_sequence`); a file
    whose first non-blank line is not a header, or which is not UTF-8, raises InputError.
    Uses the fast bytes reader :func:`iter_fasta_bytes`; :func:`read_fasta_biopython` is the
    same on top of Biopython (the reference the tests compare with).

    Args:
        path: the FASTA file.
        label: label given to every record (one file per class), or None.
        as_bytes: give sequences as ASCII ``bytes`` (what the tokenizers work on; no decoding)
            instead of ``str``.

    Yields:
        DnaRecord(number, id=header, sequence, label) for records 1, 2, ...
    """
    for number, header, sequence in iter_fasta_bytes(path):
        yield DnaRecord(number, header, sequence if as_bytes else sequence.decode("ascii"), label)


def read_fasta_biopython(path: StrPath, label: str | None = None) -> Iterator[DnaRecord]:
    """:func:`read_fasta` with Biopython's ``SimpleFastaParser`` over a text handle (slower)."""
    source = str(path)
    try:
        with open_text(path) as handle:
            first = ""
            for first in handle:
                if first.strip():
                    break
            if not first.strip():
                return
            if not first.startswith(">"):
                raise InputError(source, "first non-blank line does not start with '>' (not FASTA)")
            lines = itertools.chain([first], handle)
            for number, (header, sequence) in enumerate(SimpleFastaParser(lines), start=1):
                check_sequence(sequence, source, _record_label(number, header))
                yield DnaRecord(number, header, sequence, label)
    except UnicodeDecodeError as error:
        raise InputError(source, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except (EOFError, gzip.BadGzipFile, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise InputError(source, "file not found") from None
        raise InputError(source, f"cannot read ({error})") from None


def read_labelled_fastas(files: Sequence[tuple[StrPath, str]]) -> Iterator[DnaRecord]:
    """Stream several FASTA files, one per class: ``[(path, label), ...]`` in order."""
    for path, label in files:
        yield from read_fasta(path, label=label)


def label_from_header(
    records: Iterable[DnaRecord],
    pattern: str | re.Pattern[str],
    *,
    source: StrPath,
    label_map: Mapping[str, str] | None = None,
    on_unmatched: Literal["error", "unlabelled"] = "error",
) -> Iterator[DnaRecord]:
    """Label records by a regular expression over their header.

    The label is the first capture group of ``re.search(pattern, header)`` (the whole
    match when the pattern has no group), optionally translated by ``label_map`` (e.g.
    ``{"C": "Cypripedium"}``; a group value missing from the map is an error).

    Args:
        records: records to label (their existing labels are replaced).
        pattern: regular expression searched in each header.
        source: file name used in error messages.
        label_map: optional translation of the captured text.
        on_unmatched: ``"error"`` (default) raises InputError on a header that does not
            match; ``"unlabelled"`` yields the record with ``label=None``.
    """
    regex = re.compile(pattern)
    for record in records:
        match = regex.search(record.id)
        if match is None:
            if on_unmatched == "error":
                raise InputError(
                    str(source),
                    f"header does not match label pattern {regex.pattern!r}",
                    _record_label(record.number, record.id),
                )
            yield record._replace(label=None)
            continue
        value = match.group(1) if regex.groups else match.group(0)
        if label_map is not None:
            if value not in label_map:
                raise InputError(
                    str(source),
                    f"label {value!r} from the header is not in the label map {sorted(label_map)}",
                    _record_label(record.number, record.id),
                )
            value = label_map[value]
        yield record._replace(label=value)


def kmers_to_sequence(kmers: Sequence[str], source: StrPath, record: str) -> str:
    """Reassemble a sequence from overlapping k-mers written with stride 1.

    ``["ACG", "CGT", "GTA"]`` -> ``"ACGTA"``. All k-mers must have the same length k and
    each must overlap the previous one by k-1 letters; otherwise InputError names the
    first k-mer (1-based) that breaks the rule.
    """
    if not kmers:
        raise InputError(str(source), "empty sequence", record)
    k = len(kmers[0])
    for i in range(1, len(kmers)):
        current, previous = kmers[i], kmers[i - 1]
        if len(current) != k:
            raise InputError(
                str(source), f"k-mer {i + 1} {current!r} has length {len(current)}, expected {k}", record
            )
        if current[:-1] != previous[1:]:
            raise InputError(
                str(source),
                f"k-mer {i + 1} {current!r} does not overlap k-mer {i} {previous!r} by {k - 1}",
                record,
            )
    return kmers[0] + "".join(kmer[-1] for kmer in kmers[1:])


def read_sequence_table(
    path: StrPath,
    *,
    sequence_column: str = "sequence",
    label_column: str | None = "label",
    id_column: str | None = None,
    delimiter: str | None = None,
) -> Iterator[DnaRecord]:
    """Stream rows of a CSV/TSV sequence table (gzip or not, LF or CRLF).

    A sequence cell holding whitespace is read as DNABERT-style space-separated
    overlapping k-mers and reassembled (:func:`kmers_to_sequence`); a cell without
    whitespace is the sequence itself. Every sequence is validated like FASTA.

    Args:
        path: the table; the delimiter comes from the suffix (``.csv`` -> comma,
            ``.tsv``/``.txt`` -> tab, after removing ``.gz``) unless given.
        sequence_column: header name of the sequence column.
        label_column: header name of the label column, or None for unlabelled data.
        id_column: header name of an id column; without one ids are ``row<N>``.
        delimiter: field delimiter, overriding the suffix.

    Yields:
        DnaRecord(number=row, id, sequence, label) for data rows 1, 2, ...
    """
    source = str(path)
    if delimiter is None:
        suffixes = [s for s in Path(path).suffixes if s != ".gz"]
        delimiter = TABLE_DELIMITERS.get(suffixes[-1].lower() if suffixes else "", None)
        if delimiter is None:
            raise InputError(source, "cannot tell the delimiter from the file name; pass delimiter")
    try:
        with open_text(path) as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            columns = reader.fieldnames or []
            wanted = [sequence_column, label_column, id_column]
            for column in (c for c in wanted if c is not None):
                if column not in columns:
                    raise InputError(source, f"no column {column!r} (columns: {', '.join(columns)})")
            for number, row in enumerate(reader, start=1):
                where = f"row {number}"
                cell = (row.get(sequence_column) or "").strip()
                parts = cell.split()
                sequence = kmers_to_sequence(parts, source, where) if len(parts) > 1 else cell
                check_sequence(sequence, source, where)
                label = row.get(label_column) if label_column is not None else None
                label = label.strip() if label is not None and label.strip() else None
                record_id = row[id_column].strip() if id_column is not None else f"row{number}"
                yield DnaRecord(number, record_id, sequence, label)
    except UnicodeDecodeError as error:
        raise InputError(source, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise InputError(source, f"malformed table ({error})") from None
    except FileNotFoundError:
        raise InputError(source, "file not found") from None


def read_sequences(path: StrPath, **options: object) -> Iterator[DnaRecord]:
    """Read a FASTA file or a sequence table, chosen by suffix (``.gz`` ignored)."""
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in FASTA_SUFFIXES:
        return read_fasta(path, **options)  # type: ignore[arg-type]
    if suffix in TABLE_DELIMITERS:
        return read_sequence_table(path, **options)  # type: ignore[arg-type]
    raise InputError(str(path), f"unknown sequence file type {suffix!r} (want {FASTA_SUFFIXES} or a table)")


def batched(
    records: Iterable[DnaRecord], max_records: int = 10_000, max_bases: int = 16 << 20
) -> Iterator[list[DnaRecord]]:
    """Group records into lists of at most ``max_records`` records and about ``max_bases``.

    A batch closes when adding the next record would pass ``max_bases`` (a record larger
    than that is a batch on its own), so working memory is bounded by the batch size.
    """
    batch: list[DnaRecord] = []
    bases = 0
    for record in records:
        if batch and (len(batch) >= max_records or bases + len(record.sequence) > max_bases):
            yield batch
            batch, bases = [], 0
        batch.append(record)
        bases += len(record.sequence)
    if batch:
        yield batch
