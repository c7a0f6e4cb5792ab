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


def is_bgzf_file(path: str | Path) -> bool:
    """True when the file starts with a BGZF block header (gzip + ``BC`` extra field)."""
    with open(path, "rb") as f:
        head = f.read(16)
    return len(head) == 16 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def decompressed_pieces(path: str | Path, read_size: int = 1 << 18, start: int | None = None,
                        stop: int | None = None) -> Iterator[bytes]:
    """Yield the decompressed bytes of a plain, gzip or BGZF (multi-member gzip) file.

    ``start`` begins the text there instead of at its first byte: a byte offset for an
    uncompressed file, a BGZF virtual offset (``block_offset << 16 | offset_in_block``)
    for a BGZF file; plain gzip cannot seek (``ValueError``). ``stop`` (a byte offset,
    uncompressed files only; ignored otherwise) ends the text there.
    """
    with open(path, "rb") as f:
        if f.read(2) != b"\x1f\x8b":
            f.seek(0 if start is None else start)
            while piece := f.read(read_size if stop is None else min(read_size, stop - f.tell())):
                yield piece
            return
        drop = 0
        if start is None:
            f.seek(0)
        elif is_bgzf_file(path):
            f.seek(start >> 16)
            drop = start & 0xFFFF
        else:
            raise ValueError(f"{path}: plain gzip cannot seek (only BGZF)")
        inflater = zlib.decompressobj(31)
        while data := f.read(read_size):
            while data:
                out = inflater.decompress(data)
                if drop and out:
                    cut = min(drop, len(out))
                    out, drop = out[cut:], drop - cut
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


def line_blocks(path: str | Path, block_bytes: int, start: int | None = None,
                stop: int | None = None) -> Iterator[bytes]:
    """Yield blocks of whole lines (each ending with ``\\n``) of about ``block_bytes``,
    from the beginning of the text or from the seek position ``start`` (a line start)."""
    pieces: list[bytes] = []
    size = 0
    for piece in decompressed_pieces(path, read_size=min(block_bytes, 1 << 18), start=start, stop=stop):
        pieces.append(piece)
        size += len(piece)
        if size >= block_bytes:
            cut = piece.rfind(b"\n") + 1
            if cut:
                pieces[-1] = piece[:cut]
                yield b"".join(pieces)
                pieces = [piece[cut:]]
                size = len(pieces[0])
    tail = b"".join(pieces)
    if tail:
        yield tail if tail.endswith(b"\n") else tail + b"\n"


def chrom_header(text: bytes | bytearray) -> tuple[list[str], int] | None:
    """The sample ids of the ``#CHROM`` line at the start of a line in ``text``, and the offset
    just after that line (where the data lines begin); None while the line is not complete."""
    idx = text.find(b"#CHROM")
    while idx > 0 and text[idx - 1] != 10:
        idx = text.find(b"#CHROM", idx + 1)
    if idx < 0:
        return None
    end = text.find(b"\n", idx)
    if end < 0:
        return None
    columns = bytes(text[idx:end]).rstrip(b"\r").split(b"\t")
    return [c.decode() for c in columns[9:]], end + 1


class TextVcf:
    """A VCF read as text: header (sample ids) then blocks of data lines."""

    def __init__(self, path: str | Path, block_bytes: int = 4 << 20, start: int | None = None,
                 stop: int | None = None) -> None:
        self.path = Path(path)
        self.source = str(path)
        header_blocks = line_blocks(path, block_bytes if start is None else 1 << 14)
        self._blocks = header_blocks
        self.samples: list[str] = []
        self._first_data = b""
        self.data_start = 0  # offset of the first data line in the text
        header = bytearray()
        for block in self._blocks:
            header += block
            found = chrom_header(header)
            if found is not None:
                self.samples, self.data_start = found
                self._first_data = bytes(header[self.data_start :])
                break
        else:
            raise InputError(self.source, "no #CHROM header line: not a VCF")
        if not self.samples:
            raise InputError(self.source, "the VCF has no sample columns")
        if start is not None:  # header read; the data lines begin at the seek position
            header_blocks.close()
            self._first_data = b""
            self._blocks = line_blocks(path, block_bytes, start, stop)

    def data_blocks(self) -> Iterator[bytes]:
        """Blocks of whole data lines (blank lines removed later by the decoder)."""
        if self._first_data:
            yield self._first_data
        yield from self._blocks


# Lookup tables over little-endian uint16 pairs of a fixed-width ``a/b<TAB>`` field:
# first pair = allele byte + separator, second pair = allele byte + terminator.
ALLELE_INVALID_PAIR = 16
_FIRST_PAIR = np.full(1 << 16, ALLELE_INVALID_PAIR, dtype=np.uint8)
_SECOND_PAIR = np.full(1 << 16, ALLELE_INVALID_PAIR, dtype=np.uint8)
for _byte in list(range(ord("0"), ord("9") + 1)) + [ord(".")]:
    _code = ALLELE_MISSING if _byte == ord(".") else _byte - ord("0")
    for _sep in (ord("/"), ord("|")):
        _FIRST_PAIR[_byte | (_sep << 8)] = _code
    for _term in (ord("\t"), ord("\n")):
        _SECOND_PAIR[_byte | (_term << 8)] = _code
#: Biallelic dosage from ``17*code_1 + code_2``; −1 missing, −128 not a biallelic call.
DOSAGE_INVALID = -128
_BIALLELIC_DOSAGE = np.full(17 * 17, DOSAGE_INVALID, dtype=np.int8)
for _x in (0, 1, ALLELE_MISSING):
    for _y in (0, 1, ALLELE_MISSING):
        _BIALLELIC_DOSAGE[17 * _x + _y] = (
            -1 if ALLELE_MISSING in (_x, _y) else int(_x == 1) + int(_y == 1)
        )


class DecodedBlock:
    """Per-line results of :func:`decode_block` for one block of data lines.

    ``meta[i]`` is ``(chrom, pos, id, ref, alts, filter)`` for line ``i`` (``None`` when
    ``keep_line`` dropped it). Lines decoded in bulk are listed in ``bulk_lines``; row
    ``k`` of ``allele_1``/``allele_2`` (codes 0-9, 15 = ``.``) and ``haploid`` belongs to
    line ``bulk_lines[k]``, and ``biallelic_dosage[k]`` is its dosage when the line has at
    most one ALT. ``haploid`` is ``None`` when no bulk call is haploid. ``slow[i]`` holds
    the int16 alleles of every other kept line.
    """

    def __init__(self) -> None:
        self.meta: list[tuple | None] = []
        self.bulk_lines = np.zeros(0, dtype=np.int64)
        self.allele_1 = np.zeros((0, 0), dtype=np.uint8)
        self.allele_2 = np.zeros((0, 0), dtype=np.uint8)
        self.haploid: np.ndarray | None = None
        self.biallelic_dosage = np.zeros((0, 0), dtype=np.int8)
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


def _line_meta(buf: bytes, s: int, e: int, n_samples_file: int, record_number: int, source: str):
    """Split the 9 fixed columns of one line; returns (fields, sample_section_start)."""
    fields = buf[s:e].split(b"\t", 9)
    if len(fields) < 10:
        raise InputError(
            source,
            f"expected {9 + n_samples_file} tab-separated columns, found {len(fields)}",
            record_label(record_number, None, None),
        )
    return fields, e - len(fields[9])


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
    (for error messages). Three routes, by line layout:

    - *fixed*: FORMAT is ``GT`` and the sample section is exactly 4 bytes per sample —
      decoded through uint16 lookup tables over a (lines × samples × 2) view;
    - *variable*: FORMAT starts with ``GT`` and the column count is right — every tab of
      the block is located and the first bytes of each field decoded;
    - *slow*: anything else, or any field the bulk routes cannot vouch for.
    """
    out = DecodedBlock()
    n_lines = len(starts)
    n = n_samples_file
    fixed_width = 4 * n
    fixed: list[int] = []
    fixed_at: list[int] = []
    variable: list[int] = []
    slow_lines: list[int] = []
    n_alt_of = np.zeros(n_lines, dtype=np.int64)
    for i in range(n_lines):
        s, e = int(starts[i]), int(ends[i])
        fields, section = _line_meta(buf, s, e, n, first_record_number + i, source)
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
        n_alt_of[i] = n_alt
        fmt = fields[8]
        if n_alt > 9:
            slow_lines.append(i)
        elif fmt == b"GT" and e + 1 - section == fixed_width:
            fixed.append(i)
            fixed_at.append(section)
        elif fmt == b"GT" or fmt.startswith(b"GT:"):
            variable.append(i)
        else:
            slow_lines.append(i)

    arr = np.frombuffer(buf + _PAD if variable else buf, dtype=np.uint8)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]] = []
    if fixed:
        lines = np.asarray(fixed, dtype=np.int64)
        block = np.empty((len(fixed), fixed_width), dtype=np.uint8)
        for k, at in enumerate(fixed_at):
            block[k] = arr[at : at + fixed_width]
        pairs = block.view(np.uint16).reshape(len(fixed), n, 2)
        if keep_samples is not None:
            pairs = pairs[:, keep_samples, :]
        a1 = _FIRST_PAIR[pairs[:, :, 0]]
        a2 = _SECOND_PAIR[pairs[:, :, 1]]
        del block, pairs
        key = a1.astype(np.uint16) * 17
        key += a2
        dosage = _BIALLELIC_DOSAGE[key]
        del key
        n_alt = n_alt_of[lines]
        ok = np.ones(len(lines), dtype=bool)
        bi = n_alt <= 1
        ok[bi] = ~(dosage[bi] == DOSAGE_INVALID).any(axis=1)
        bi0 = n_alt == 0  # ALT '.': allele 1 is out of range
        if bi0.any():
            ok[bi0] &= ~((a1[bi0] == 1) | (a2[bi0] == 1)).any(axis=1)
        multi = ~bi
        if multi.any():
            top = n_alt[multi][:, None]
            m1, m2 = a1[multi], a2[multi]
            ok[multi] = (((m1 == ALLELE_MISSING) | (m1 <= top)) & ((m2 == ALLELE_MISSING) | (m2 <= top))).all(axis=1)
        parts.append((lines[ok], a1[ok], a2[ok], None, dosage[ok]))
        slow_lines.extend(int(x) for x in lines[~ok])

    if variable:
        lines = np.asarray(variable, dtype=np.int64)
        tabs = np.flatnonzero(arr[: len(buf)] == 9)
        tab_end = np.searchsorted(tabs, ends[lines])
        tab_first = np.searchsorted(tabs, starts[lines])
        good = (tab_end - tab_first) == 8 + n
        slow_lines.extend(int(x) for x in lines[~good])
        lines, tab_first = lines[good], tab_first[good]
        if len(lines):
            sample_cols = 8 + (np.arange(n) if keep_samples is None else keep_samples)
            field_start = tabs[tab_first[:, None] + sample_cols[None, :]] + 1
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
            top = n_alt_of[lines].astype(np.uint8)[:, None]
            ok = (a1 != ALLELE_INVALID) & (haploid | diploid_ok)
            ok &= (a1 == ALLELE_MISSING) | (a1 <= top)
            ok &= haploid | (a2 == ALLELE_MISSING) | (a2 <= top)
            line_ok = ok.all(axis=1)
            slow_lines.extend(int(x) for x in lines[~line_ok])
            lines, a1, a2, haploid = lines[line_ok], a1[line_ok], a2[line_ok], haploid[line_ok]
            a2 = np.where(haploid, np.uint8(0), a2)
            missing = (a1 == ALLELE_MISSING) | (a2 == ALLELE_MISSING)
            dosage = (a1 == 1).astype(np.int8)
            dosage += a2 == 1
            dosage[missing] = -1
            parts.append((lines, a1, a2, haploid & ~missing, dosage))

    if len(parts) == 1:
        out.bulk_lines, out.allele_1, out.allele_2, out.haploid, out.biallelic_dosage = parts[0]
    elif len(parts) == 2:
        lines = np.concatenate([p[0] for p in parts])
        order = np.argsort(lines, kind="stable")
        out.bulk_lines = lines[order]
        out.allele_1 = np.concatenate([p[1] for p in parts])[order]
        out.allele_2 = np.concatenate([p[2] for p in parts])[order]
        haps = [p[3] if p[3] is not None else np.zeros(p[1].shape, dtype=bool) for p in parts]
        out.haploid = np.concatenate(haps)[order]
        out.biallelic_dosage = np.concatenate([p[4] for p in parts])[order]
    if out.haploid is not None and not out.haploid.any():
        out.haploid = None

    for i in sorted(slow_lines):
        out.slow[i] = _decode_line_slowly(
            buf[int(starts[i]) : int(ends[i])], out.meta[i], n, keep_samples,
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
