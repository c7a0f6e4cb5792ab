"""Reading DNA inputs: FASTA files, sequence tables and label rules (the readers of the modality).

All readers are generators of :class:`DnaRecord` and hold one record at a time, so a
genome streams through in constant memory (beyond its largest record). The piece readers
(:func:`iter_fasta_pieces`, :func:`read_pieces`) give the same records as consecutive pieces of
about :data:`PIECE_BASES` bases, so not even one record is held whole (chromosomes); the
workflow's steps read through them. Files are opened
through :mod:`genoprep.textio` (gzip/BGZF by magic bytes, a UTF-8 byte-order mark removed,
CRLF read as LF, compression damage reported as one line).

Decisions (documented here because callers and tests rely on them):

* **Record id** — the whole header line without ``>`` and trailing whitespace. The FASTA
  "first word" convention is not unique in real files: in the E. coli negative set every
  header starts ``Escherichia coli K-12 ...``. :attr:`DnaRecord.name` gives the first word.
  Ids must be unique within a dataset (:func:`read_inputs`).
* **Record numbers** are 1-based, counted per file (FASTA records, or table data rows
  excluding the header row). Errors say ``record 12 (header)`` / ``row 12``.
* **Validation** — a record with an empty sequence, or with a character that is not an
  IUPAC nucleotide code (see :mod:`genoprep.dna.alphabet`; gaps ``-`` are rejected),
  raises :class:`~genoprep.errors.InputError`. Whitespace and CR inside sequence lines are
  removed (Biopython's ``SimpleFastaParser``), so CRLF files read like LF files. A file
  without any record is refused. A table row with more or fewer fields than the header is
  refused.
* **Header labels** — :func:`label_from_header` takes the first capture group of a regular
  expression searched in the header (with the ``regex`` module, each search bounded by
  :data:`LABEL_REGEX_TIMEOUT_S`, so a pattern with catastrophic backtracking fails with one
  line instead of hanging). A header that does not match is an error by default;
  ``on_unmatched="unlabelled"`` gives it ``label=None`` instead.
* **Plain text** (``format: text``) — one sequence per line, no header (or DNABERT-style
  space-separated k-mers, reassembled as in tables); ids are ``<file name>:line<N>``, so
  several files (one per class) never share an id. Blank lines at the end are ignored, a
  blank line between sequences is refused.
* **Token arrays** (``format: tokens``, :func:`read_token_array`) — a 2-D integer ``.npy``
  (one row per sequence, padded with the scheme's pad token) made by one of the schemes
  ``char``, ``hyenadna``, ``dnabert``, ``nucleotide_transformer`` (the entry's ``tokens``
  says which, and k). Rows are checked against the scheme's vocabulary and layout (an id out
  of vocabulary, a special token inside a sequence, a missing [CLS]/[SEP] is one line
  naming the row) and decoded back to sequences, which every output scheme then tokenizes
  again. What decoding cannot recover: lower case (every scheme upper-cases); IUPAC codes
  other than N (``char`` stored them as N, ``hyenadna`` as [UNK], decoded as N; a DNABERT
  [UNK] k-mer leaves only the bases no other k-mer covers unknown, decoded as N; a
  Nucleotide Transformer ``<unk>`` hides how many bases it stood for and is refused);
  bases cut by a fixed-length scheme's truncation (rows without padding are counted in the
  log); DNABERT sequences shorter than k (``[CLS] [SEP]``, refused). ids are
  ``<file name>:row<N>``.
* **Sequence filters** — :class:`SequenceFilter` (``params.min_length``,
  ``params.max_n_fraction``) is applied by :func:`read_inputs`, identically in every step,
  so every artifact has the rows of ``obs.tsv``.
"""

from __future__ import annotations

import csv
import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from os import PathLike
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import numpy as np
import regex

from genoprep.dna.alphabet import (
    DNABERT_KS,
    IUPAC_BYTES,
    MAX_K,
    char_vocab,
    dnabert_vocab,
    hyenadna_vocab,
    nucleotide_transformer_vocab,
)
from genoprep.errors import InputError
from genoprep.textio import guess_table_format, iter_lines, open_binary, open_text

FASTA_SUFFIXES = (".fa", ".fasta", ".fna")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
TOKEN_SUFFIXES = (".npy",)
TABLE_DELIMITERS = {"csv": ",", "tsv": "\t"}
#: Longest time one ``label_regex`` search may take on one header (seconds).
LABEL_REGEX_TIMEOUT_S = 1.0
_UTF8_BOM = b"\xef\xbb\xbf"
#: Largest table cell (a sequence) the csv module may read (its default is 128 KiB).
_MAX_FIELD = 1 << 30

log = logging.getLogger(__name__)

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
    length: int | None = None
    """Bases of the whole record when ``sequence`` holds only part of it (the start or end a
    fixed-length row keeps, see :mod:`genoprep.dna.windows`); None when ``sequence`` is the record."""

    @property
    def bases(self) -> int:
        """Length of the whole record."""
        return len(self.sequence) if self.length is None else self.length

    @property
    def name(self) -> str:
        """First whitespace-separated word of the id (Biopython's ``SeqRecord.id``)."""
        return self.id.split(None, 1)[0] if self.id.strip() else ""


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


def _universal_newline_blocks(handle: IO[bytes], block_bytes: int) -> Iterator[bytes]:
    """Blocks of the file with CRLF and lone CR turned into LF (Python's universal newlines).

    A CR at the end of a block is held back until the next block shows whether an LF
    follows it; a block without CR is passed on untouched (no copy).
    """
    held = b""
    first = True
    while True:
        block = handle.read(block_bytes)
        if first:
            block, first = block.removeprefix(_UTF8_BOM), False
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
    (whitespace only), otherwise the file is not FASTA. Holds one record at a time: the
    pieces of :func:`_raw_fasta_pieces`, joined.
    """
    parts: list[bytes] = []
    for header, lines, last in _raw_fasta_pieces(blocks, source, _RECORD_PIECE_BYTES):
        parts.append(lines)
        if last:
            yield header, b"".join(parts)
            parts = []


#: piece size of :func:`_raw_fasta_records` (its pieces are joined again: only a bound on copies)
_RECORD_PIECE_BYTES = 1 << 22


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


def iter_fasta_bytes(path: StrPath, *, block_bytes: int = FASTA_BLOCK_BYTES) -> Iterator[tuple[int, str, bytes]]:
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
        with open_binary(path) as handle:
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
    except OSError as error:
        raise InputError(source, f"cannot read ({error.strerror or error})") from None


def read_fasta(path: StrPath, label: str | None = None, *, as_bytes: bool = False) -> Iterator[DnaRecord]:
    """Stream the records of a FASTA file (``.fa/.fasta/.fna``, gzip or not).

    Multi-line records, CRLF line ends, lower-case bases, IUPAC codes and non-ASCII
    headers are read as is. Each record is validated (:func:`check_sequence`); a file
    whose first non-blank line is not a header, or which is not UTF-8, raises InputError.
    Uses the fast bytes reader :func:`iter_fasta_bytes`; :func:`read_fasta_biopython` is the
    same on top of Biopython (the reference the tests compare with). Yields
    ``DnaRecord(number, id=header, sequence, label)`` for records 1, 2, ...; ``label`` is
    given to every record (one file per class); with ``as_bytes`` sequences are ASCII
    ``bytes`` (what the tokenizers work on, no decoding) instead of ``str``.
    """
    for number, header, sequence in iter_fasta_bytes(path):
        yield DnaRecord(number, header, sequence if as_bytes else sequence.decode("ascii"), label)


def read_fasta_biopython(path: StrPath, label: str | None = None) -> Iterator[DnaRecord]:
    """:func:`read_fasta` with Biopython's ``SimpleFastaParser`` over a text handle (slower)."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser  # imported here: not paid by the workflow's parse

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
    except OSError as error:
        raise InputError(source, f"cannot read ({error.strerror or error})") from None


def compile_label_regex(pattern: str, source: str) -> regex.Pattern[str]:
    """The compiled ``label_regex``, or one line naming the card field and the problem.

    ``source`` names where the pattern comes from (the card, or the input file).
    """
    try:
        return regex.compile(pattern)
    except regex.error as error:
        raise InputError(
            source, f"label_regex {pattern!r} is not a valid regular expression ({error})", record="label_regex"
        ) from None


def label_from_header(
    records: Iterable[DnaRecord],
    pattern: str,
    *,
    source: StrPath,
    label_map: Mapping[str, str] | None = None,
    on_unmatched: Literal["error", "unlabelled"] = "error",
    timeout_s: float = LABEL_REGEX_TIMEOUT_S,
) -> Iterator[DnaRecord]:
    """Label records by a regular expression over their header (their existing labels are replaced).

    The label is the first capture group of ``regex.search(pattern, header)`` (the whole
    match when the pattern has no group), optionally translated by ``label_map`` (e.g.
    ``{"C": "Cypripedium"}``; a group value missing from the map is an error). A header that
    does not match is an error (``on_unmatched="error"``) or unlabelled (``"unlabelled"``).
    A search that takes longer than ``timeout_s`` (catastrophic backtracking, e.g.
    ``^(a|aa)+$``) raises :class:`InputError` naming the record.
    """
    compiled = compile_label_regex(pattern, str(source))
    for record in records:
        try:
            match = compiled.search(record.id, timeout=timeout_s)
        except TimeoutError:
            raise InputError(
                str(source),
                f"label_regex {pattern!r} took longer than {timeout_s:g} s on this header (catastrophic "
                "backtracking: avoid nested quantifiers such as (a+)+ or (a|aa)+)",
                _record_label(record.number, record.id),
            ) from None
        if match is None:
            if on_unmatched == "error":
                raise InputError(
                    str(source),
                    f"header does not match label pattern {pattern!r}",
                    _record_label(record.number, record.id),
                )
            yield record._replace(label=None)
            continue
        value = match.group(1) if compiled.groups else match.group(0)
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
            raise InputError(str(source), f"k-mer {i + 1} {current!r} has length {len(current)}, expected {k}", record)
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
    """Stream rows of a CSV/TSV sequence table (gzip or not, LF or CRLF, with or without a BOM).

    A sequence cell holding whitespace is read as DNABERT-style space-separated
    overlapping k-mers and reassembled (:func:`kmers_to_sequence`); a cell without
    whitespace is the sequence itself. Every sequence is validated like FASTA. The
    delimiter is ``delimiter`` if given, else from :func:`genoprep.textio.guess_table_format`
    (``.csv`` comma; ``.tsv``/``.txt``/``.tab`` tab; else the first line). Without
    ``id_column`` ids are ``row<N>``; a row whose field count differs from the header's is
    refused. Yields ``DnaRecord(number=row, id, sequence, label)`` for data rows 1, 2, ...
    """
    source = str(path)
    if delimiter is None:
        delimiter = TABLE_DELIMITERS[guess_table_format(path)]
    csv.field_size_limit(_MAX_FIELD)
    try:
        with open_text(path) as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise InputError(source, "empty file (no header row)")
            columns = [name.strip() for name in header]
            wanted = [sequence_column, label_column, id_column]
            for column in (c for c in wanted if c is not None):
                if column not in columns:
                    if len(columns) == 1 and _looks_like_sequence(columns[0]):
                        raise InputError(
                            source,
                            f"no column {column!r}: the first line is a sequence ({columns[0][:20]}...), not a "
                            "header; for one sequence per line without a header say format: text",
                            "header",
                        )
                    raise InputError(source, f"no column {column!r} (columns: {', '.join(columns)})", "header")
            at_sequence = columns.index(sequence_column)
            at_label = columns.index(label_column) if label_column is not None else None
            at_id = columns.index(id_column) if id_column is not None else None
            number = 0
            for number, row in enumerate(reader, start=1):
                where = f"row {number}"
                if len(row) != len(columns):
                    if not any(field.strip() for field in row):
                        raise InputError(source, "empty row (a table has no blank lines)", where)
                    raise InputError(source, f"{len(row)} fields, but the header has {len(columns)}", where)
                cell = row[at_sequence].strip()
                parts = cell.split()
                sequence = kmers_to_sequence(parts, source, where) if len(parts) > 1 else cell
                check_sequence(sequence, source, where)
                label = row[at_label].strip() if at_label is not None else ""
                record_id = row[at_id].strip() if at_id is not None else f"row{number}"
                if not record_id:
                    raise InputError(source, f"empty id in column {id_column!r}", where)
                yield DnaRecord(number, record_id, sequence, label or None)
            if number == 0:
                raise InputError(source, "the table has a header but no data rows")
    except UnicodeDecodeError as error:
        raise InputError(source, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise InputError(source, f"malformed table ({error})") from None


_SEQUENCE_LETTERS = frozenset(IUPAC_BYTES.decode("ascii"))


def _looks_like_sequence(text: str) -> bool:
    return len(text) >= 10 and set(text) <= _SEQUENCE_LETTERS


def read_text_sequences(path: StrPath) -> Iterator[DnaRecord]:
    """Plain text: one sequence (or space-separated overlapping k-mers) per line, no header.

    Yields ``DnaRecord(number=line, id="<file name>:line<N>", sequence, None)``; blank lines
    at the end of the file are ignored, one between sequences is refused naming its line.
    """
    source, name = str(path), Path(path).name
    blank_at: int | None = None
    for number, line in iter_lines(path):
        text = line.strip()
        if not text:
            blank_at = blank_at or number
            continue
        where = f"line {number}"
        if blank_at is not None:
            raise InputError(source, "blank line between sequences (one sequence per line)", f"line {blank_at}")
        parts = text.split()
        sequence = kmers_to_sequence(parts, source, where) if len(parts) > 1 else text
        check_sequence(sequence, source, where)
        yield DnaRecord(number, f"{name}:line{number}", sequence, None)


# --------------------------------------------------------------- token arrays


@dataclass(frozen=True)
class _TokenLayout:
    """How a scheme lays out one row: its vocabulary (index = id), pad side and wrapping tokens."""

    vocabulary: list[str]
    pad: str
    pad_left: bool
    head: str | None
    tail: str | None
    unknown: str  #: the token for what the vocabulary has no entry for

    def special(self) -> frozenset[str]:
        return frozenset(t for t in self.vocabulary if t.startswith(("[", "<")))


#: the schemes a token array may come from (the counts and text schemes are not token arrays)
TOKEN_ARRAY_SCHEMES = ("char", "hyenadna", "dnabert", "nucleotide_transformer")
#: the schemes that cut a sequence to a fixed number of tokens (a row without padding may be cut)
FIXED_LENGTH_SCHEMES = ("char", "hyenadna")


def _token_layout(scheme: str, k: int, source: str) -> _TokenLayout:
    if scheme == "char":
        return _TokenLayout(char_vocab(), "<PAD>", False, None, None, "N")
    if scheme == "hyenadna":
        return _TokenLayout(hyenadna_vocab(), "[PAD]", True, None, "[SEP]", "[UNK]")
    if scheme == "dnabert":
        if k not in DNABERT_KS:
            raise InputError(source, f"DNABERT k must be one of {DNABERT_KS}, not {k}", "input.tokens.k")
        return _TokenLayout(dnabert_vocab(k), "[PAD]", False, "[CLS]", "[SEP]", "[UNK]")
    if scheme == "nucleotide_transformer":
        if not 1 <= k <= MAX_K:
            raise InputError(source, f"Nucleotide Transformer k must be 1..{MAX_K}, not {k}", "input.tokens.k")
        return _TokenLayout(nucleotide_transformer_vocab(k), "<pad>", False, "<cls>", None, "<unk>")
    raise InputError(
        source, f"{scheme!r} makes no token array (known: {', '.join(TOKEN_ARRAY_SCHEMES)})", "input.tokens.scheme"
    )


def _load_token_array(path: StrPath, source: str) -> np.ndarray:
    from genoprep.values import load_npy  # numba: not at workflow parse time

    ids = load_npy(path, source, "token ids")
    if ids.ndim != 2:
        raise InputError(source, f"token ids are a 2-D array (sequences x positions), not {ids.ndim}-D {ids.shape}")
    if ids.dtype.kind not in "iu":
        raise InputError(source, f"token ids are integers, not {ids.dtype}")
    if ids.shape[0] == 0 or ids.shape[1] == 0:
        raise InputError(source, f"the token array is empty (shape {ids.shape})")
    return ids


def _decode_kmers(tokens: list[str], k: int, unknown: str, source: str, where: str) -> str:
    """Overlapping k-mers (stride 1) back to bases; a base only [UNK] k-mers cover is N."""
    if unknown not in tokens:
        return kmers_to_sequence(tokens, source, where)
    bases: list[str | None] = [None] * (len(tokens) + k - 1)
    for i, token in enumerate(tokens):
        if token == unknown:
            continue
        for j, base in enumerate(token):
            if bases[i + j] is not None and bases[i + j] != base:
                raise InputError(source, f"k-mer {i + 1} {token!r} does not overlap the k-mers before it", where)
            bases[i + j] = base
    return "".join(base or "N" for base in bases)


def _decode_row(
    row: np.ndarray, layout: _TokenLayout, scheme: str, k: int, source: str, where: str
) -> tuple[str, bool]:
    """One row's sequence, and whether the row has no padding (it may have been truncated)."""
    vocabulary = layout.vocabulary
    pad_id = vocabulary.index(layout.pad)
    is_pad = row == pad_id
    n_pad = int(np.argmin(is_pad)) if layout.pad_left else int(np.argmin(is_pad[::-1]))
    if is_pad.all():
        raise InputError(source, "the row is all padding: no sequence", where)
    body = row[n_pad:] if layout.pad_left else row[: row.size - n_pad]
    if (body == pad_id).any():
        position = int(np.flatnonzero(body == pad_id)[0]) + (n_pad if layout.pad_left else 0)
        side = "start" if layout.pad_left else "end"
        raise InputError(
            source,
            f"padding {layout.pad} at position {position + 1} inside the sequence ({scheme} pads at the {side})",
            where,
        )
    tokens = [vocabulary[i] for i in body.tolist()]
    for wrap, at in ((layout.head, 0), (layout.tail, -1)):
        if wrap is not None and tokens[at] != wrap:
            side = "start" if at == 0 else "end"
            raise InputError(
                source,
                f"the sequence's tokens {side} with {tokens[at]}, not {wrap} (a row cut after tokenizing "
                "cannot be decoded)",
                where,
            )
    tokens = tokens[1 if layout.head else 0 : len(tokens) - (1 if layout.tail else 0)]
    special = layout.special()
    for position, token in enumerate(tokens):
        if token in special and token != layout.unknown:
            raise InputError(source, f"special token {token} at sequence token {position + 1}", where)
    if not tokens:
        problem = "no tokens between the special tokens"
        if scheme == "dnabert":
            problem += f": the sequence was shorter than k={k}, its bases are not in the tokens"
        raise InputError(source, problem, where)
    if scheme == "dnabert":
        sequence = _decode_kmers(tokens, k, layout.unknown, source, where)
    else:
        if scheme == "nucleotide_transformer" and layout.unknown in tokens:
            position = tokens.index(layout.unknown) + 1
            raise InputError(
                source,
                f"token <unk> at sequence token {position}: the number of bases it stood for is unknown, "
                "so the sequence cannot be decoded",
                where,
            )
        sequence = "".join("N" if token == layout.unknown else token for token in tokens)
    return sequence, n_pad == 0


def read_token_array(path: StrPath, scheme: str, k: int) -> Iterator[DnaRecord]:
    """Token ids (a 2-D ``.npy``, one padded row per sequence) decoded back to sequences.

    See the module docstring for the layouts and what decoding cannot recover. Every id is
    checked against the scheme's vocabulary first (one line naming the first row and
    position out of it); rows are then decoded one at a time.
    """
    source, name = str(path), Path(path).name
    layout = _token_layout(scheme, k, source)
    ids = _load_token_array(path, source)
    outside = (ids < 0) | (ids >= len(layout.vocabulary))
    if outside.any():
        row, column = (int(v) for v in np.argwhere(outside)[0])
        raise InputError(
            source,
            f"token id {int(ids[row, column])} at position {column + 1} is not in the {scheme} vocabulary "
            f"(ids 0..{len(layout.vocabulary) - 1}{'' if scheme in FIXED_LENGTH_SCHEMES else f' for k={k}'})",
            f"row {row + 1}",
        )
    full_rows = 0
    for number, row in enumerate(ids, start=1):
        where = f"row {number}"
        sequence, full = _decode_row(row, layout, scheme, k, source, where)
        full_rows += full
        check_sequence(sequence, source, where)
        yield DnaRecord(number, f"{name}:row{number}", sequence, None)
    if full_rows and scheme in FIXED_LENGTH_SCHEMES:
        log.warning(
            "%s: %d of %d rows have no padding: their sequences may have been truncated to %d tokens when tokenized",
            source,
            full_rows,
            ids.shape[0],
            ids.shape[1],
        )


def input_format(entry: Mapping[str, Any], path: StrPath) -> str:
    """``fasta``, ``table``, ``text`` or ``tokens``: the entry's ``format``, else from the file
    suffix (``.gz``/``.bgz`` ignored; plain text is never guessed: ``.txt`` is a table)."""
    if entry.get("format") is not None:
        return str(entry["format"])
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() not in (".gz", ".bgz")]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in FASTA_SUFFIXES:
        return "fasta"
    if suffix in TABLE_SUFFIXES:
        return "table"
    if suffix in TOKEN_SUFFIXES:
        return "tokens"
    raise InputError(
        str(path), f"cannot tell the format from the suffix {suffix!r}; set input format: fasta|table|text|tokens"
    )


def read_entry(
    entry: Mapping[str, Any], path: StrPath, columns: Mapping[str, Any], *, as_bytes: bool = False
) -> Iterator[DnaRecord]:
    """The labelled, validated records of one input file of a card (``input`` or one of ``inputs``).

    Labels come from the entry's ``label`` (one file per class), a table's label column
    (``columns.label``), or the entry's ``label_regex`` over FASTA headers (first capture
    group, optionally renamed by ``label_map``). A file without any record is refused.
    """
    source = str(path)
    records: Iterator[DnaRecord]
    fmt = input_format(entry, path)
    if fmt == "fasta":
        records = read_fasta(path, label=entry.get("label"), as_bytes=as_bytes)
        if entry.get("label_regex") is not None:
            records = label_from_header(
                records,
                entry["label_regex"],
                source=source,
                label_map=entry.get("label_map"),
                on_unmatched=entry["unmatched_label"],
            )
    else:
        if fmt == "text":
            records = read_text_sequences(path)
        elif fmt == "tokens":
            if entry.get("tokens") is None:
                raise InputError(source, "a token array needs the scheme that made it: input.tokens.scheme", "input")
            records = read_token_array(path, entry["tokens"]["scheme"], entry["tokens"]["k"])
        else:
            records = read_sequence_table(
                path,
                sequence_column=columns["sequence"],
                label_column=columns.get("label"),
                id_column=columns.get("id"),
                delimiter=entry.get("delimiter"),
            )
        if as_bytes:
            records = (r._replace(sequence=r.sequence.encode("ascii")) for r in records)  # type: ignore[union-attr]
        if entry.get("label") is not None:
            records = (record._replace(label=entry["label"]) for record in records)
        if entry.get("split") is not None and columns.get("id") is None:
            # one file per split: row numbers repeat across the files, the split makes ids unique
            records = (record._replace(id=f"{entry['split']}:{record.id}") for record in records)
    empty = True
    for record in records:
        empty = False
        yield record
    if empty:
        raise InputError(source, "no sequences in the file (empty, or blank lines only)")


@dataclass(frozen=True)
class SequenceFilter:
    """Which records the workflow keeps: ``length >= min_length`` and ``n_fraction <= max_n_fraction``.

    ``n_fraction`` is the share of letters that are not A/C/G/T (N and every other IUPAC
    code, either case). Both comparisons are inclusive and exact: the fraction is compared
    as ``n_other * q <= p * length`` for ``max_n_fraction = p/q`` read as the decimal it is
    written as (0.1 is 1/10, not the nearest double), so a record exactly at a threshold is
    kept.
    """

    min_length: int = 1
    max_n_fraction: float = 1.0

    @property
    def active(self) -> bool:
        return self.min_length > 1 or self.max_n_fraction < 1

    def _fraction(self) -> Fraction:
        return Fraction(repr(float(self.max_n_fraction)))

    def passes_length(self, length: int) -> bool:
        return length >= self.min_length

    def passes_n(self, n_other: int, length: int) -> bool:
        fraction = self._fraction()
        return n_other * fraction.denominator <= fraction.numerator * length

    def keeps(self, sequence: str | bytes) -> bool:
        """Whether a record with this sequence passes both filters."""
        if not self.passes_length(len(sequence)):
            return False
        if self.max_n_fraction >= 1:
            return True
        data = sequence.encode("ascii") if isinstance(sequence, str) else sequence
        return self.passes_n(len(data.translate(None, b"ACGTacgt")), len(data))


def read_inputs(
    entries: Sequence[Mapping[str, Any]],
    paths: Sequence[StrPath],
    columns: Mapping[str, Any],
    keep: SequenceFilter | None = None,
    *,
    as_bytes: bool = False,
) -> Iterator[DnaRecord]:
    """Stream the labelled records of a card's inputs in card order, validated, filtered by ``keep``.

    ``entries`` are the card's ``input`` (or each of ``inputs``), ``paths`` their files as the
    workflow resolved them. Every step reads its inputs through here, so every artifact
    has the same rows, in the same order, as ``obs.tsv``.
    """
    for entry, path in zip(entries, paths, strict=True):
        records = read_entry(entry, path, columns, as_bytes=as_bytes)
        if keep is not None and keep.active:
            records = (record for record in records if keep.keeps(record.sequence))
        yield from records


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


# --------------------------------------------------------------- long records: pieces

#: Bases of a record read at a time by the piece readers (:func:`iter_fasta_pieces`): what bounds
#: the memory of a step on one long record (a chromosome), with the block size of the reader.
PIECE_BASES = 1 << 20
#: Whitespace Biopython strips from the end of a line (``str.rstrip``) besides LF: a piece cut
#: inside a line never ends with it, so the next piece decides whether it ends the line.
_TRAILING_SPACE = b" \t\r\x0b\x0c"


class Piece(NamedTuple):
    """Part of one record: ``sequence`` is the record's bases ``[start, start + len(sequence))``."""

    number: int
    id: str
    label: str | None
    start: int
    """0-based position of ``sequence[0]`` in the record."""
    sequence: bytes
    last: bool
    """The record ends with this piece (then ``start + len(sequence)`` is the record's length)."""


def _cut_lines(data: bytes, piece_bytes: int) -> Iterator[tuple[int, int]]:
    """(start, end) of consecutive slices of a record's sequence lines, each about ``piece_bytes``.

    A slice ends after a line end where there is one in reach, otherwise inside the line but
    never on trailing whitespace (so :func:`_sequence_like_biopython` strips the same bytes as
    on the whole record). The last slice (what is left, shorter than ``piece_bytes``) is not
    given: its start is the end of the last slice given.
    """
    pos, size = 0, len(data)
    while size - pos > piece_bytes:
        cut = data.rfind(b"\n", pos, pos + piece_bytes) + 1
        if cut <= pos:  # one line longer than a piece
            cut = pos + piece_bytes
            while cut > pos + 1 and data[cut - 1] in _TRAILING_SPACE:
                cut -= 1
        yield pos, cut
        pos = cut


def _raw_fasta_pieces(blocks: Iterator[bytes], source: str, piece_bytes: int) -> Iterator[tuple[bytes, bytes, bool]]:
    """FASTA records in pieces: (header line without '>', about ``piece_bytes`` of its sequence lines
    (newlines included), last piece of the record). Lines before the first header must be blank.

    Never holds a whole record: the lines of a record are passed on as soon as a piece's
    worth has arrived (one block of the reader at most is held).
    """
    header: bytes | None = None
    pending = b""
    started = False
    carry = b""
    for block in blocks:
        data = carry + block if carry else block
        carry = b""
        pos, size = 0, len(data)
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
            if header is None:
                eol = data.find(b"\n", pos)
                if eol < 0:
                    carry = data[pos:]
                    break
                header, pending, pos = data[pos + 1 : eol], b"", eol + 1
            nxt = _next_header_lf(data, pos)
            end = nxt if nxt >= 0 else (size - 1 if data.endswith(b"\n") else size)
            lines = pending + data[pos:end] if pending else data[pos:end]
            rest = 0
            for a, b in _cut_lines(lines, piece_bytes):
                yield header, lines[a:b], False
                rest = b
            if nxt < 0:
                pending, carry = lines[rest:], data[end:]
                break
            yield header, lines[rest:], True
            header, pending, pos = None, b"", nxt + 1
    if not started:
        if carry.decode("utf-8", "replace").strip():
            raise InputError(source, "first non-blank line does not start with '>' (not FASTA)")
        return
    if header is None:  # the file ends inside a header line without LF
        header, pending, carry = carry[1:], b"", b""
    lines = pending + carry if carry.strip(b"\n") else pending
    rest = 0
    for a, b in _cut_lines(lines, piece_bytes):
        yield header, lines[a:b], False
        rest = b
    yield header, lines[rest:], True


def _check_piece(sequence: bytes, lines: bytes, source: str, record: str, offset: int) -> bytes:
    """A piece's bases, validated as :func:`iter_fasta_bytes` validates a record (positions in the record)."""
    if not sequence.translate(None, IUPAC_BYTES):
        return sequence
    text = _sequence_like_biopython(lines, source, record)
    if not text.isascii() or text.encode("ascii").translate(None, IUPAC_BYTES):
        bad = next(c for c in text if c.encode("utf-8") not in IUPAC_BYTES)
        position = offset + text.index(bad) + 1
        raise InputError(source, f"character {bad!r} at position {position} is not an IUPAC nucleotide code", record)
    return text.encode("ascii")


def iter_fasta_pieces(
    path: StrPath, piece_bases: int = PIECE_BASES, *, block_bytes: int = FASTA_BLOCK_BYTES
) -> Iterator[tuple[int, str, int, bytes, bool]]:
    """Stream a FASTA file as ``(number, header, start, bases, last)`` pieces of its records, validated.

    :func:`iter_fasta_bytes` without ever holding a whole record: each record comes as
    consecutive, non-overlapping pieces of about ``piece_bases`` bases (cut at line ends where
    the lines are shorter; ``start`` is the 0-based position of the piece's first base in the
    record), the last one flagged ``last`` (it may be empty). The same bytes, the same
    validation and the same one-line errors (positions counted in the record) as the whole-record
    reader; an empty record is refused when its end is reached. Memory: one block of the
    reader plus one piece.
    """
    source = str(path)
    try:
        with open_binary(path) as handle:
            blocks = _universal_newline_blocks(handle, block_bytes)
            number, header, start = 0, "", 0
            new_record = True
            for raw_header, lines, last in _raw_fasta_pieces(blocks, source, piece_bases):
                if new_record:
                    number += 1
                    start = 0
                    try:
                        header = raw_header.decode("utf-8").rstrip()
                    except UnicodeDecodeError as error:
                        raise InputError(
                            source, f"header is not UTF-8 text ({error.reason})", f"record {number}"
                        ) from None
                record = _record_label(number, header)
                sequence = _check_piece(_remove_line_ends(lines), lines, source, record, start)
                if last and start + len(sequence) == 0:
                    raise InputError(source, "empty sequence", record)
                yield number, header, start, sequence, last
                start += len(sequence)
                new_record = last
    except OSError as error:
        raise InputError(source, f"cannot read ({error.strerror or error})") from None


def _split_record(record: DnaRecord, piece_bases: int) -> Iterator[Piece]:
    """A record already in memory (a table row, a decoded token row) as pieces."""
    data: bytes = record.sequence if isinstance(record.sequence, bytes) else record.sequence.encode("ascii")
    size = len(data)
    starts = range(0, size, piece_bases) if size else range(1)
    for start in starts:
        yield Piece(
            record.number,
            record.id,
            record.label,
            start,
            data[start : start + piece_bases],
            start + piece_bases >= size,
        )


def _fasta_pieces(
    entry: Mapping[str, Any], path: StrPath, piece_bases: int, keep: SequenceFilter | None
) -> Iterator[Piece]:
    """The labelled pieces of one FASTA input (label or label_regex), records the filters drop left out.

    With active filters a first pass over the file finds the records they keep (their length
    and letters other than A/C/G/T are only known at the end of a record).
    """
    source = str(path)
    kept: set[int] | None = None
    if keep is not None and keep.active:
        kept = set()
        length = other = 0
        for number, _, _, sequence, last in iter_fasta_pieces(path, piece_bases):
            length += len(sequence)
            other += len(sequence.translate(None, b"ACGTacgt"))
            if last:
                if keep.passes_length(length) and keep.passes_n(other, length):
                    kept.add(number)
                length = other = 0
    heads: Iterator[DnaRecord] | None = None
    queue: list[DnaRecord] = []
    if entry.get("label_regex") is not None:
        heads = label_from_header(
            _Feed(queue),
            entry["label_regex"],
            source=source,
            label_map=entry.get("label_map"),
            on_unmatched=entry["unmatched_label"],
        )
    label = entry.get("label")
    empty = True
    for number, header, start, sequence, last in iter_fasta_pieces(path, piece_bases):
        empty = False
        if start == 0 and heads is not None:
            queue.append(DnaRecord(number, header, b"", None))
            label = next(heads).label
        if kept is not None and number not in kept:
            continue
        yield Piece(number, header, label, start, sequence, last)
    if empty:
        raise InputError(source, "no sequences in the file (empty, or blank lines only)")


class _Feed:
    """An iterator over a list that the caller fills one item before each ``next``."""

    def __init__(self, items: list[DnaRecord]) -> None:
        self._items = items

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> DnaRecord:
        if not self._items:
            raise StopIteration
        return self._items.pop()


def read_pieces(
    entries: Sequence[Mapping[str, Any]],
    paths: Sequence[StrPath],
    columns: Mapping[str, Any],
    keep: SequenceFilter | None = None,
    piece_bases: int = PIECE_BASES,
) -> Iterator[Piece]:
    """:func:`read_inputs` in pieces: the same records, labels and filters, each record as pieces.

    FASTA inputs are read with :func:`iter_fasta_pieces` (a record is never held whole, so a
    chromosome streams in memory bounded by ``piece_bases``); the other formats hold one record
    (a table cell, a token row) anyway, and it is cut into pieces. Ids must be unique (checked
    by ``dna_ingest``), so a new record starts at every piece with ``start == 0``.
    """
    for entry, path in zip(entries, paths, strict=True):
        if input_format(entry, path) == "fasta":
            yield from _fasta_pieces(entry, path, piece_bases, keep)
        else:
            for record in read_inputs([entry], [path], columns, keep, as_bytes=True):
                yield from _split_record(record, piece_bases)
