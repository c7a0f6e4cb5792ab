"""Long records in bounded memory: windows, kept ends and chunked k-mer counts over record pieces.

The readers of :func:`genoprep.dna.io.read_pieces` give each record as consecutive pieces of
about :data:`genoprep.dna.io.PIECE_BASES` bases, never the whole record. What each scheme
makes of them holds at most one piece plus one window:

* **windows** (:func:`record_windows`, card ``stride`` of ``char``/``hyenadna``, ``window`` and
  ``stride`` of ``dnabert``/``nucleotide_transformer``): a record of length L becomes the rows
  ``sequence[s : s + window]`` for ``s = 0, stride, 2*stride, ...``, the last one being the first
  that reaches the end of the record (``s + window >= L``; it may be shorter than ``window``).
  ``stride <= window``, so every base is in some window. Window rows are named
  ``<record id>:<first>-<last>`` (1-based, inclusive) and carry the record's label;
  :func:`window_starts` is the rule written out.
* **kept ends** (:func:`record_ends`, fixed-length schemes without windows): a row keeps the
  first (``truncation: right``) or last ``width`` bases of the record, as before; only those
  are held, with the record's length for the truncation count.
* **k-mer counts** (:func:`count_blocks`): each piece is counted with the k-1 bases before it,
  so a k-mer across two pieces is counted once, by the piece it ends in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import scipy.sparse as sp

from genoprep.dna.io import DnaRecord, Piece
from genoprep.dna.tokenize import get_scheme

#: Scheme settings that cut records into windows (the tokenizers do not take them).
WINDOW_SETTINGS = ("window", "stride")


def encode_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A scheme's settings without the window settings: what its ``encode`` takes."""
    return {key: value for key, value in settings.items() if key not in WINDOW_SETTINGS}


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Starts of the windows of a record of ``length`` bases (the rule, written plainly)."""
    starts = [0]
    while starts[-1] + window < length:
        starts.append(starts[-1] + stride)
    return starts


def _window_row(piece: Piece, start: int, bases: bytes) -> DnaRecord:
    return DnaRecord(piece.number, f"{piece.id}:{start + 1}-{start + len(bases)}", bases, piece.label)


def record_windows(pieces: Iterable[Piece], window: int, stride: int) -> Iterator[DnaRecord]:
    """The windows of every record (see the module docstring), from its pieces, in order.

    Holds the bases from the next window's start to the end of the current piece: at most
    one piece plus one window.
    """
    if not 1 <= stride <= window:
        raise ValueError(f"windows need 1 <= stride <= window, not stride={stride}, window={window}")
    buffer = bytearray()
    buffer_start = start = 0
    for piece in pieces:
        if piece.start == 0:
            buffer, buffer_start, start = bytearray(), 0, 0
        buffer += piece.sequence
        end = buffer_start + len(buffer)
        # A window reaching the end of what has arrived may be the record's last: wait for `last`.
        while start + window < end:
            at = start - buffer_start
            yield _window_row(piece, start, bytes(buffer[at : at + window]))
            start += stride
        if piece.last:
            while True:
                at = start - buffer_start
                yield _window_row(piece, start, bytes(buffer[at : at + window]))
                if start + window >= end:
                    break
                start += stride
        else:
            drop = min(start - buffer_start, len(buffer))
            # a copy, not `del buffer[:drop]`: CPython deletes the front of a bytearray by moving
            # its start, and keeps the dead bytes allocated (memory would grow with the record)
            buffer = buffer[drop:]
            buffer_start += drop


def record_ends(pieces: Iterable[Piece], width: int, truncation: str) -> Iterator[DnaRecord]:
    """One row per record holding only its first (``right``) or last (``left``) ``width`` bases.

    ``DnaRecord.length`` is the record's whole length (for the count of truncated rows).
    """
    kept = b""
    for piece in pieces:
        if piece.start == 0:
            kept = b""
        if truncation == "right":
            if len(kept) < width:
                kept += piece.sequence[: width - len(kept)]
        else:
            kept = (kept + piece.sequence)[-width:]
        if piece.last:
            yield DnaRecord(piece.number, piece.id, kept, piece.label, length=piece.start + len(piece.sequence))


def whole_records(records: Iterable[DnaRecord]) -> Iterator[Piece]:
    """Records already in memory as one piece each (the writers' plain-record entry)."""
    for record in records:
        sequence = record.sequence if isinstance(record.sequence, bytes) else record.sequence.encode("ascii")
        yield Piece(record.number, record.id, record.label, 0, sequence, True)


def count_blocks(
    pieces: Iterable[Piece], k: int, canonical: bool, batch_records: int, batch_bases: int
) -> Iterator[tuple[list[DnaRecord], sp.csr_matrix]]:
    """k-mer counts (``kmer_counts`` scheme) of every record, as (rows, CSR block) in record order.

    Records that come whole (one piece) are counted in batches of ``batch_records`` records /
    ``batch_bases`` bases; a record in several pieces is counted piece by piece, each piece
    with the k-1 bases before it, and the counts added (its row's ``DnaRecord`` holds no bases,
    ``length`` is the record's length).
    """
    encode = get_scheme("kmer_counts").encode
    batch: list[DnaRecord] = []
    bases = 0
    total: sp.csr_matrix | None = None
    before = b""

    def counted(rows: list[DnaRecord]) -> tuple[list[DnaRecord], sp.csr_matrix]:
        return rows, sp.csr_matrix(encode([r.sequence for r in rows], k=k, canonical=canonical, sparse=True))

    for piece in pieces:
        if piece.start == 0 and piece.last:
            if batch and (len(batch) >= batch_records or bases + len(piece.sequence) > batch_bases):
                yield counted(batch)
                batch, bases = [], 0
            batch.append(DnaRecord(piece.number, piece.id, piece.sequence, piece.label))
            bases += len(piece.sequence)
            continue
        if piece.start == 0:
            if batch:
                yield counted(batch)
                batch, bases = [], 0
            total, before = None, b""
        chunk = before + piece.sequence
        counts = sp.csr_matrix(encode([chunk], k=k, canonical=canonical, sparse=True))
        total = counts if total is None else total + counts
        before = chunk[max(len(chunk) - (k - 1), 0) :] if k > 1 else b""
        if piece.last:
            assert total is not None
            row = DnaRecord(piece.number, piece.id, b"", piece.label, length=piece.start + len(piece.sequence))
            yield [row], total
            total = None
    if batch:
        yield counted(batch)
