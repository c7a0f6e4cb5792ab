"""Fast path: decode GT straight from VCF text with numpy.

The text of a VCF (plain, gzip or BGZF) is decompressed in large pieces and cut into
blocks of whole lines. In each block every tab and newline is located at once
(``np.flatnonzero``); for lines with the expected number of columns the start of every
sample field is known, and the first four bytes of each field are decoded with lookup
tables. A field is *simple* when its GT is ``a/b``/``a|b`` or ``a`` with single-character
alleles (``0``-``9`` or ``.``) followed by ``:``, tab or newline, and FORMAT starts with
``GT``. Lines where every selected field is simple are decoded in bulk; any other line
(multi-digit alleles, ploidy > 2, GT not first, wrong column count, bad values) goes
through :func:`genoprep.variants.records.parse_gt_text`, which decodes it or raises the
one-line :class:`~genoprep.errors.InputError`. Both routes produce allele arrays that
are turned into dosages by the same rules as the cyvcf2 path, so the results are
identical (tests compare them on real and generated files).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from genoprep.errors import InputError
from genoprep.variants.records import parse_gt_text, record_label

#: Code for ``.`` in the allele lookup table; 255 marks a byte that is not an allele.
ALLELE_MISSING = 15
ALLELE_INVALID = 255

_ALLELE_LUT = np.full(256, ALLELE_INVALID, dtype=np.uint8)
_ALLELE_LUT[ord("0") : ord("9") + 1] = np.arange(10, dtype=np.uint8)
_ALLELE_LUT[ord(".")] = ALLELE_MISSING
_TERMINATOR = np.zeros(256, dtype=bool)
_TERMINATOR[[ord(":"), ord("\t"), ord("\n")]] = True
_PAD = b"\n\n\n\n"


def is_gzip(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes (plain gzip or BGZF)."""
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def decompressed_pieces(path: str | Path, read_size: int = 1 << 18) -> Iterator[bytes]:
    """Yield the decompressed bytes of a plain, gzip or BGZF (multi-member gzip) file."""
    with open(path, "rb") as f:
        if f.read(2) != b"\x1f\x8b":
            f.seek(0)
            while piece := f.read(read_size):
                yield piece
            return
        f.seek(0)
        inflater = zlib.decompressobj(31)
        while data := f.read(read_size):
            while data:
                out = inflater.decompress(data)
                if out:
                    yield out
                if inflater.eof:
                    data = inflater.unused_data
                    inflater = zlib.decompressobj(31)
                else:
                    data = b""
        tail = inflater.flush()
        if tail:
            yield tail


def is_bcf(path: str | Path) -> bool:
    """True when the (decompressed) file starts with the BCF magic ``BCF``."""
    for piece in decompressed_pieces(path, read_size=1 << 12):
        return piece[:3] == b"BCF"
    return False


def line_blocks(path: str | Path, block_bytes: int) -> Iterator[bytes]:
    """Yield blocks of whole lines (each ending with ``\\n``) of about ``block_bytes``."""
    pending = bytearray()
    for piece in decompressed_pieces(path):
        pending += piece
        if len(pending) >= block_bytes:
            cut = pending.rfind(b"\n") + 1
            if cut:
                yield bytes(pending[:cut])
                del pending[:cut]
    if pending:
        if not pending.endswith(b"\n"):
            pending += b"\n"
        yield bytes(pending)


class TextVcf:
    """A VCF read as text: header (sample ids) then blocks of data lines."""

    def __init__(self, path: str | Path, block_bytes: int = 4 << 20) -> None:
        self.path = Path(path)
        self.source = str(path)
        self._blocks = line_blocks(path, block_bytes)
        self.samples: list[str] = []
        self._first_data = b""
        header = bytearray()
        for block in self._blocks:
            header += block
            idx = header.find(b"#CHROM")
            while idx > 0 and header[idx - 1] != 10:
                idx = header.find(b"#CHROM", idx + 1)
            if idx >= 0:
                end = header.find(b"\n", idx)
                if end < 0:
                    continue
                columns = bytes(header[idx:end]).rstrip(b"\r").split(b"\t")
                self.samples = [c.decode() for c in columns[9:]]
                self._first_data = bytes(header[end + 1 :])
                break
        else:
            raise InputError(self.source, "no #CHROM header line: not a VCF")
        if not self.samples:
            raise InputError(self.source, "the VCF has no sample columns")

    def data_blocks(self) -> Iterator[bytes]:
        """Blocks of whole data lines (blank lines removed later by the decoder)."""
        if self._first_data:
            yield self._first_data
        yield from self._blocks


class DecodedBlock:
    """Per-line results of :func:`decode_block` for one block of data lines.

    ``meta[i]`` is ``(chrom, pos, id, ref, alts, filter)`` for line ``i``;
    ``bulk_lines`` indexes the lines decoded in bulk, whose alleles are rows of
    ``allele_1``/``allele_2``/``haploid``; ``slow[i]`` holds the alleles of the other
    lines. Lines skipped by ``keep_line`` have ``meta[i] = None``.
    """

    def __init__(self) -> None:
        self.meta: list[tuple | None] = []
        self.bulk_lines = np.zeros(0, dtype=np.int64)
        self.allele_1 = np.zeros((0, 0), dtype=np.uint8)
        self.allele_2 = np.zeros((0, 0), dtype=np.uint8)
        self.haploid = np.zeros((0, 0), dtype=bool)
        self.slow: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def split_lines(buf: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte array, line starts and line ends (positions of ``\\n``) of a block."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return arr, starts, ends


def decode_block(
    buf: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    n_samples_file: int,
    keep_samples: np.ndarray | None,
    keep_line,
    first_record_number: int,
    source: str,
) -> DecodedBlock:
    """Decode the data lines ``buf[starts[i]:ends[i]]`` (blank lines must be removed).

    ``keep_line(chrom, pos, n_alt, filter) -> bool`` drops lines before their genotypes
    are decoded. ``first_record_number`` is the 1-based record number of the first line
    (for error messages).
    """
    out = DecodedBlock()
    n_lines = len(starts)
    arr = np.frombuffer(buf + _PAD, dtype=np.uint8)
    tabs = np.flatnonzero(arr[: len(buf)] == 9)
    tab_end = np.searchsorted(tabs, ends)
    tab_first = np.empty_like(tab_end)
    if n_lines:
        tab_first[0] = np.searchsorted(tabs, starts[0])
        tab_first[1:] = tab_end[:-1]
    n_tabs = tab_end - tab_first
    expected_tabs = 8 + n_samples_file
    bulk: list[int] = []
    bulk_n_alt: list[int] = []
    slow_lines: list[int] = []
    for i in range(n_lines):
        s = int(starts[i])
        good_columns = n_tabs[i] == expected_tabs
        if good_columns:
            meta_end = int(tabs[tab_first[i] + 8])
            fields = buf[s:meta_end].split(b"\t")
        else:
            fields = buf[s : int(ends[i])].split(b"\t", 9)
        if len(fields) < 9:
            raise InputError(
                source,
                f"expected {9 + n_samples_file} tab-separated columns, found {len(fields)}",
                record_label(first_record_number + i, None, None),
            )
        chrom = fields[0].decode()
        try:
            pos = int(fields[1])
        except ValueError:
            raise InputError(
                source, f"POS {fields[1].decode(errors='replace')!r} is not an integer",
                record_label(first_record_number + i, chrom, fields[1].decode(errors="replace")),
            ) from None
        alt_field = fields[4]
        alts = [] if alt_field == b"." else alt_field.decode().split(",")
        n_alt = len(alts)
        filt = fields[6].decode()
        if not keep_line(chrom, pos, n_alt, filt):
            out.meta.append(None)
            continue
        out.meta.append((chrom, pos, fields[2].decode(), fields[3].decode(), alts, filt))
        fmt = fields[8]
        if good_columns and n_alt <= 9 and (fmt == b"GT" or fmt.startswith(b"GT:")):
            bulk.append(i)
            bulk_n_alt.append(n_alt)
        else:
            slow_lines.append(i)

    if bulk:
        lines = np.asarray(bulk, dtype=np.int64)
        sample_cols = 8 + (np.arange(n_samples_file) if keep_samples is None else keep_samples)
        field_start = tabs[tab_first[lines][:, None] + sample_cols[None, :]] + 1
        c0 = arr[field_start]
        c1 = arr[field_start + 1]
        c2 = arr[field_start + 2]
        c3 = arr[field_start + 3]
        del field_start
        a1 = _ALLELE_LUT[c0]
        a2 = _ALLELE_LUT[c2]
        haploid = _TERMINATOR[c1]
        diploid_ok = ((c1 == 47) | (c1 == 124)) & _TERMINATOR[c3] & (a2 != ALLELE_INVALID)
        del c0, c1, c2, c3
        max_allele = np.asarray(bulk_n_alt, dtype=np.uint8)[:, None]
        ok = (a1 != ALLELE_INVALID) & (haploid | diploid_ok)
        ok &= (a1 == ALLELE_MISSING) | (a1 <= max_allele)
        ok &= haploid | (a2 == ALLELE_MISSING) | (a2 <= max_allele)
        line_ok = ok.all(axis=1)
        if not line_ok.all():
            slow_lines.extend(int(x) for x in lines[~line_ok])
            slow_lines.sort()
            lines = lines[line_ok]
            a1, a2, haploid = a1[line_ok], a2[line_ok], haploid[line_ok]
        out.bulk_lines = lines
        out.allele_1, out.allele_2, out.haploid = a1, a2, haploid

    for i in slow_lines:
        out.slow[i] = _decode_line_slowly(
            buf[int(starts[i]) : int(ends[i])], out.meta[i], n_samples_file, keep_samples,
            first_record_number + i, source,
        )
    return out


def _decode_line_slowly(
    line: bytes,
    meta: tuple,
    n_samples_file: int,
    keep_samples: np.ndarray | None,
    record_number: int,
    source: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode one line field by field (the general text route); int16 alleles, −1 = '.'."""
    chrom, pos, _id, _ref, alts, _filt = meta
    label = record_label(record_number, chrom, pos)
    fields = line.rstrip(b"\r").split(b"\t")
    if len(fields) != 9 + n_samples_file:
        raise InputError(
            source, f"expected {9 + n_samples_file} tab-separated columns, found {len(fields)}", label
        )
    fmt = fields[8].split(b":")
    idx = np.arange(n_samples_file) if keep_samples is None else keep_samples
    n = len(idx)
    a1 = np.full(n, -1, dtype=np.int16)
    a2 = np.full(n, -1, dtype=np.int16)
    hap = np.zeros(n, dtype=bool)
    if b"GT" not in fmt:
        return a1, a2, hap
    gt_index = fmt.index(b"GT")
    n_alt = len(alts)
    for k, s in enumerate(idx):
        parts = fields[9 + int(s)].split(b":")
        gt = parts[gt_index] if gt_index < len(parts) else b"."
        x, y, h = parse_gt_text(gt, n_alt, source, label)
        a1[k], a2[k], hap[k] = x, y, h
    return a1, a2, hap


def bulk_alleles_as_int16(a: np.ndarray) -> np.ndarray:
    """Convert lookup-table allele codes to int16 alleles with −1 for ``.``."""
    out = a.astype(np.int16)
    out[a == ALLELE_MISSING] = -1
    return out
