"""Indexed access to a reference FASTA: a small reader of the samtools ``.fai`` layout.

Each contig is described as samtools ``faidx`` does (name, length, byte offset of its first
base, bases per line, bytes per line); a slice is then read with one ``seek`` + ``read``
and the line ends removed, without loading the genome. The index is read from
``<fasta>.fai`` when that file exists beside the FASTA, and otherwise built by one scan of
the file, kept in memory (nothing is written beside the input). Every line of a contig but
its last must have the same length (as samtools requires); otherwise the scan refuses the
file with one line naming the contig. gzip/BGZF references are read whole into memory
(no random access into compressed bytes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Self

from genoprep.errors import InputError
from genoprep.textio import check_readable, is_gzip, open_text


@dataclass(frozen=True)
class FaiEntry:
    """One contig of a ``.fai`` index."""

    name: str
    length: int
    offset: int
    line_bases: int
    line_bytes: int


def build_index(path: str | os.PathLike[str]) -> dict[str, FaiEntry]:
    """Scan a plain FASTA and describe each contig as ``samtools faidx`` would."""
    source = os.fspath(path)
    entries: dict[str, FaiEntry] = {}
    name: str | None = None
    offset = length = line_bases = line_bytes = 0
    short_line_seen = False
    position = 0

    def close() -> None:
        if name is not None:
            if name in entries:
                raise InputError(source, "contig name occurs twice", record=f"contig {name}")
            entries[name] = FaiEntry(name, length, offset, line_bases, line_bytes)

    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.startswith(b">"):
                close()
                name = raw[1:].split()[0].decode("utf-8") if raw[1:].split() else ""
                if not name:
                    raise InputError(source, "a header without a contig name", record=f"line {number}")
                offset, length, line_bases, line_bytes, short_line_seen = position + len(raw), 0, 0, 0, False
            elif name is None:
                if raw.strip():
                    raise InputError(source, "sequence before the first '>' header", record=f"line {number}")
            else:
                bases = len(raw.rstrip(b"\r\n"))
                if short_line_seen and bases:
                    raise InputError(
                        source,
                        "lines of different lengths inside a contig: no indexed access "
                        "(rewrap it, e.g. samtools faidx)",
                        record=f"contig {name}, line {number}",
                    )
                if line_bases == 0:
                    line_bases, line_bytes = bases, len(raw)
                elif bases != line_bases:
                    short_line_seen = True
                length += bases
            position += len(raw)
    close()
    if not entries:
        raise InputError(source, "no FASTA record (no '>' header)")
    return entries


def read_fai(path: str | os.PathLike[str]) -> dict[str, FaiEntry]:
    """Read a samtools ``.fai`` file (five tab-separated columns per contig)."""
    entries: dict[str, FaiEntry] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5:
                raise InputError(os.fspath(path), f"{len(fields)} columns, a .fai line has 5", record=f"line {number}")
            entries[fields[0]] = FaiEntry(fields[0], *(int(f) for f in fields[1:5]))
    return entries


class Reference:
    """A reference genome with slices by contig and 0-based half-open coordinates."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        check_readable(path)
        self.path = Path(path)
        self._whole: dict[str, str] | None = None
        self._handle: BinaryIO | None = None
        if is_gzip(path):
            self._whole = _read_whole(path)
            self.lengths = {name: len(seq) for name, seq in self._whole.items()}
            self._index: dict[str, FaiEntry] = {}
        else:
            fai = Path(os.fspath(path) + ".fai")
            self._index = read_fai(fai) if fai.exists() else build_index(path)
            self.lengths = {name: entry.length for name, entry in self._index.items()}

    def close(self) -> None:
        """Close the file handle kept open between fetches."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def contigs(self) -> list[str]:
        return list(self.lengths)

    def fetch(self, contig: str, start: int, end: int) -> str:
        """Bases ``[start, end)`` of ``contig`` (0-based), upper-cased; the range must lie inside it."""
        length = self.lengths[contig]
        if not 0 <= start <= end <= length:
            raise ValueError(f"{contig}:{start}-{end} is outside the contig (length {length})")
        if self._whole is not None:
            return self._whole[contig][start:end]
        entry = self._index[contig]
        if start == end:
            return ""
        first = entry.offset + (start // entry.line_bases) * entry.line_bytes + start % entry.line_bases
        last = entry.offset + ((end - 1) // entry.line_bases) * entry.line_bytes + (end - 1) % entry.line_bases
        if self._handle is None:
            self._handle = open(self.path, "rb")  # noqa: SIM115 - kept open across fetches, closed by close()
        self._handle.seek(first)
        raw = self._handle.read(last - first + 1)
        bases = raw.replace(b"\r", b"").replace(b"\n", b"").decode("ascii").upper()
        if len(bases) != end - start:
            raise InputError(
                str(self.path), "the index does not match the file (stale .fai?)", record=f"{contig}:{start + 1}-{end}"
            )
        return bases


def _read_whole(path: str | os.PathLike[str]) -> dict[str, str]:
    records: dict[str, list[str]] = {}
    current: list[str] | None = None
    with open_text(path) as handle:
        for line in handle:
            if line.startswith(">"):
                name = line[1:].split()[0]
                current = records.setdefault(name, [])
            elif current is not None:
                current.append(line.strip())
    return {name: "".join(parts).upper() for name, parts in records.items()}
