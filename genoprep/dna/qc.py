"""Quality control of DNA sequence sets: per-sequence composition and dataset hazards.

Conventions (decided here, used everywhere):

* ``gc_fraction`` = (G + C) / (A + C + G + T), over **unambiguous bases only** (case
  ignored), so runs of N do not dilute it; ``None`` when a sequence has no A/C/G/T.
* ``n_fraction`` = (letters that are not A/C/G/T, i.e. N and every IUPAC ambiguity code)
  / length.
* Duplicates are sequences identical after upper-casing (soft-masking does not change a
  sequence). They are found by a 128-bit BLAKE2 digest per sequence, so memory grows with
  the number of sequences, not their length.
* A *label conflict* is a duplicate group whose members carry different labels: the same
  input with two answers, and a train/test leakage hazard if the copies are split apart.

All results are plain ``dict``/``list``/``int``/``float``/``str``/``None`` (JSON-serialisable).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

from genoprep.dna.alphabet import GC_CLASS
from genoprep.dna.io import DnaRecord, Piece

DEFAULT_EXAMPLES = 5


_GC_CLASS_BYTES = GC_CLASS.tobytes()


def _composition(data: bytes) -> tuple[int, int]:
    """(A+T, G+C) letters of ASCII bases, either case."""
    classes = data.translate(_GC_CLASS_BYTES)  # one C pass; counting bytes is memchr-fast
    return classes.count(0), classes.count(1)


def sequence_stats(sequence: str | bytes) -> dict[str, Any]:
    """Return ``{"length", "gc_fraction", "n_fraction"}`` of one sequence (see module doc)."""
    data = sequence.encode("ascii") if isinstance(sequence, str) else sequence
    at, gc = _composition(data)
    return _stats(len(data), at, gc)


def _stats(length: int, at: int, gc: int) -> dict[str, Any]:
    other = length - at - gc
    unambiguous = int(at + gc)
    return {
        "length": length,
        "gc_fraction": float(gc) / unambiguous if unambiguous else None,
        "n_fraction": float(other) / length if length else 0.0,
    }


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"min": None, "mean": None, "median": None, "max": None}
    array = np.asarray(values, dtype=float)
    return {
        "min": float(array.min()),
        "mean": float(array.mean()),
        "median": float(np.median(array)),
        "max": float(array.max()),
    }


class Summary(NamedTuple):
    """One record as the QC sees it: the record (its bases may be left out), its stats and digest."""

    record: DnaRecord
    stats: dict[str, Any]
    """:func:`sequence_stats` of the record."""
    digest: bytes
    """128-bit BLAKE2 of the upper-cased sequence (duplicates)."""
    n_other: int
    """Letters that are not A/C/G/T (for the ``max_n_fraction`` filter)."""


def summarize(record: DnaRecord) -> Summary:
    """The :class:`Summary` of a record held whole."""
    data = record.sequence.encode("ascii") if isinstance(record.sequence, str) else record.sequence
    at, gc = _composition(data)
    return Summary(record, _stats(len(data), at, gc), _digest(data.upper()), len(data) - at - gc)


def _digest(upper: bytes) -> bytes:
    return hashlib.blake2b(upper, digest_size=16).digest()


def summarize_pieces(pieces: Iterable[Piece]) -> Iterator[Summary]:
    """:func:`summarize` of every record given in pieces (:func:`genoprep.dna.io.read_pieces`),
    holding one piece at a time: composition counts add up, the digest is updated piece by piece.
    The summaries' records hold no bases (``length`` is the record's length)."""
    at = gc = length = 0
    hasher = hashlib.blake2b(digest_size=16)
    for piece in pieces:
        if piece.start == 0:
            at = gc = length = 0
            hasher = hashlib.blake2b(digest_size=16)
        a, g = _composition(piece.sequence)
        at, gc, length = at + a, gc + g, length + len(piece.sequence)
        hasher.update(piece.sequence.upper())
        if piece.last:
            record = DnaRecord(piece.number, piece.id, b"", piece.label, length=length)
            yield Summary(record, _stats(length, at, gc), hasher.digest(), length - at - gc)


def dataset_qc(
    records: Iterable[DnaRecord],
    examples: int = DEFAULT_EXAMPLES,
    observe: Callable[[DnaRecord, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """:func:`summary_qc` of records held whole (see there)."""
    return summary_qc((summarize(record) for record in records), examples, observe)


def summary_qc(
    summaries: Iterable[Summary],
    examples: int = DEFAULT_EXAMPLES,
    observe: Callable[[DnaRecord, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Stream records once and report composition, duplicates, label conflicts and classes.

    Returns a JSON-serialisable dict::

        {"n_sequences", "n_bases",
         "length" / "gc_fraction" / "n_fraction": {"min", "mean", "median", "max"},
         "class_counts": {label: n}, "n_unlabelled",
         "duplicates": {"n_groups", "n_sequences_in_groups", "n_redundant", "examples": [[ids]]},
         "label_conflicts": {"n_groups", "n_sequences", "examples": [{"ids", "labels"}]},
         "duplicate_ids": {"n_ids", "examples": [id]}}

    ``n_redundant`` is how many sequences would go if each group kept one copy; ``examples``
    lists at most ``examples`` groups (first seen first), each with its ids in file order.
    ``observe(record, stats)``, when given, sees each record with its :func:`sequence_stats`
    (to write per-sequence tables in the same pass).
    """
    lengths: list[float] = []
    gc: list[float] = []
    n_fraction: list[float] = []
    groups: dict[bytes, list[tuple[str, str | None]]] = defaultdict(list)
    classes: Counter[str] = Counter()
    id_seen: Counter[str] = Counter()
    n_unlabelled = 0
    n_bases = 0
    for record, stats, digest, _ in summaries:
        if observe is not None:
            observe(record, stats)
        lengths.append(stats["length"])
        n_bases += stats["length"]
        if stats["gc_fraction"] is not None:
            gc.append(stats["gc_fraction"])
        n_fraction.append(stats["n_fraction"])
        groups[digest].append((record.id, record.label))
        id_seen[record.id] += 1
        if record.label is None:
            n_unlabelled += 1
        else:
            classes[record.label] += 1
    duplicate_groups = [members for members in groups.values() if len(members) > 1]
    conflicts = [m for m in duplicate_groups if len({label for _, label in m}) > 1]
    repeated_ids = [name for name, count in id_seen.items() if count > 1]
    return {
        "n_sequences": len(lengths),
        "n_bases": n_bases,
        "length": _summary(lengths),
        "gc_fraction": _summary(gc),
        "n_fraction": _summary(n_fraction),
        "class_counts": dict(sorted(classes.items())),
        "n_unlabelled": n_unlabelled,
        "duplicates": {
            "n_groups": len(duplicate_groups),
            "n_sequences_in_groups": sum(len(m) for m in duplicate_groups),
            "n_redundant": sum(len(m) - 1 for m in duplicate_groups),
            "examples": [[name for name, _ in m] for m in duplicate_groups[:examples]],
        },
        "label_conflicts": {
            "n_groups": len(conflicts),
            "n_sequences": sum(len(m) for m in conflicts),
            "examples": [
                {"ids": [name for name, _ in m], "labels": [label for _, label in m]} for m in conflicts[:examples]
            ],
        },
        "duplicate_ids": {"n_ids": len(repeated_ids), "examples": repeated_ids[:examples]},
    }
