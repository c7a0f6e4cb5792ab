"""VCF file and index I/O: compression, BGZF blocks and seeking, the text header, line blocks.

Everything that touches the bytes of an input VCF lives here (bio2zarr's ``vcf_utils``
split); decoding lives in :mod:`genoprep.variants.fastgt` (kernels) and
:mod:`genoprep.variants.ingest` (the chunk readers).

- **Compression** by magic bytes: uncompressed text, plain gzip (one or more members,
  inflated with zlib), BGZF (a series of gzip members of at most 64 KiB, each inflated
  with the ``libdeflate`` shipped inside the cyvcf2 wheel, or zlib without it). A
  truncated or damaged stream is one :class:`~genoprep.errors.InputError` line
  (``truncated gzip: ...``), never a short read.
- **Seeking**: a BGZF *virtual offset* is ``block_start << 16 | offset_in_inflated_block``;
  :func:`bgzf_blocks` walks the block headers (the one walker), :func:`virtual_offsets`
  maps text offsets to virtual offsets. Uncompressed text seeks by byte offset; plain
  gzip cannot seek.
- **Text**: :class:`VcfText` reads the header (sample ids, checked) and yields blocks of
  whole data lines as uint8 arrays, from the first data line or a seek position.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from genoprep.errors import InputError
from genoprep.prefetch import prefetched
from genoprep.progress import Progress
from genoprep.textio import check_readable, is_gzip

StrPath = str | os.PathLike[str]

BGZF_MAGIC = b"\x1f\x8b\x08\x04"
BGZF_MAX_BLOCK = 1 << 16
UTF8_BOM = b"\xef\xbb\xbf"
#: line blocks the inflating thread may run ahead of the reader (:func:`~genoprep.prefetch.prefetched`)
PREFETCH_DEPTH = 2


# --- compression ----------------------------------------------------------------------


def is_bgzf(path: StrPath) -> bool:
    """True when the file starts with a BGZF block header (gzip + ``BC`` extra field)."""
    with open(path, "rb") as f:
        head = f.read(16)
    return len(head) == 16 and head[:4] == BGZF_MAGIC and head[12:14] == b"BC"


def is_bcf(path: StrPath) -> bool:
    """True when the (decompressed) file starts with the BCF magic ``BCF``."""
    for piece in text_pieces(path, read_size=1 << 12, piece_bytes=1):  # the first block only
        return piece[:3].tobytes() == b"BCF"
    return False


def _find_libdeflate() -> ctypes.CDLL | None:
    candidates = []
    spec = importlib.util.find_spec("cyvcf2")  # located, not imported (~0.2 CPU-second per job)
    if spec is not None and spec.origin:
        libs = Path(spec.origin).resolve().parent.parent / "cyvcf2.libs"
        candidates += sorted(glob.glob(str(libs / "libdeflate*.so*")))
    candidates += ["libdeflate.so.0", "libdeflate.so"]
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
            lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
            lib.libdeflate_gzip_decompress.restype = ctypes.c_int
            lib.libdeflate_gzip_decompress.argtypes = [
                ctypes.c_void_p,
                ctypes.c_void_p,
                ctypes.c_size_t,
                ctypes.c_void_p,
                ctypes.c_size_t,
                ctypes.POINTER(ctypes.c_size_t),
            ]
            return lib
        except (OSError, AttributeError):
            continue
    return None


#: libdeflate for BGZF blocks (None: zlib inflates them; tests switch it off to compare)
LIBDEFLATE = None if os.environ.get("GENOPREP_NO_LIBDEFLATE") else _find_libdeflate()


def bgzf_blocks(handle, source: str, read_size: int = 1 << 20) -> Iterator[tuple[int, memoryview]]:
    """``(compressed offset, block bytes)`` of each BGZF block from the handle's position.

    Only the block headers are parsed (nothing is inflated). A block that is not BGZF, or
    a file that ends inside a block, is one :class:`InputError` line naming the offset.
    """
    base = handle.tell()
    pending = b""
    while True:
        data = handle.read(read_size)
        buf = pending + data if pending else data
        view = memoryview(buf)
        at = 0
        while at + 18 <= len(buf):
            if buf[at : at + 4] != BGZF_MAGIC or buf[at + 12 : at + 14] != b"BC":
                raise InputError(
                    source,
                    f"not a BGZF block at compressed byte offset {base + at} "
                    "(damaged file, or gzip blocks of another kind appended)",
                )
            size = int.from_bytes(buf[at + 16 : at + 18], "little") + 1
            if at + size > len(buf):
                break
            yield base + at, view[at : at + size]
            at += size
        pending, base = buf[at:], base + at
        if not data:
            if pending:
                raise InputError(
                    source,
                    f"truncated gzip: the file ends inside the BGZF block at compressed "
                    f"byte offset {base} ({len(pending)} of its bytes present)",
                )
            return


def block_table(path: StrPath) -> tuple[np.ndarray, np.ndarray]:
    """Compressed start and text start of every BGZF block (from the ISIZE footers)."""
    coffsets: list[int] = []
    ustarts: list[int] = []
    text_at = 0
    with open(path, "rb") as f:
        for offset, block in bgzf_blocks(f, os.fspath(path), 4 << 20):
            coffsets.append(offset)
            ustarts.append(text_at)
            text_at += int.from_bytes(block[-4:], "little")
    return np.asarray(coffsets, dtype=np.int64), np.asarray(ustarts, dtype=np.int64)


def text_size(path: StrPath) -> int | None:
    """Size of the (decompressed) text: the file size of uncompressed text, the sum of the
    BGZF blocks' ISIZE footers, None for plain gzip (unknown before inflating it all)."""
    if not is_gzip(path):
        return os.path.getsize(path)
    if not is_bgzf(path):
        return None
    total = 0
    with open(path, "rb") as f:
        for _, block in bgzf_blocks(f, os.fspath(path), 4 << 20):
            total += int.from_bytes(block[-4:], "little")
    return total


def virtual_offsets(path: StrPath, text_offsets: list[int]) -> list[int]:
    """BGZF virtual offsets (``block_start << 16 | offset_in_block``) of text offsets."""
    if not text_offsets:
        return []
    coffsets, ustarts = block_table(path)
    at = np.asarray(text_offsets, dtype=np.int64)
    block = np.searchsorted(ustarts, at, side="right") - 1  # the last block starting at or before
    within = at - ustarts[block]
    if (block < 0).any() or (within >= 1 << 16).any():
        raise InputError(os.fspath(path), "BGZF block table does not cover the text (corrupt ISIZE?)")
    return [int(c) << 16 | int(w) for c, w in zip(coffsets[block], within, strict=True)]


class _BlockInflater:
    """Inflates one BGZF block into a buffer: libdeflate (CRC and size checked) or zlib."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lib = LIBDEFLATE
        self.state = self.lib.libdeflate_alloc_decompressor() if self.lib is not None else None
        self.actual = ctypes.c_size_t(0)

    def into(self, block: memoryview, offset: int, out: np.ndarray, fill: int) -> int:
        """Inflate ``block`` into ``out[fill:]``; returns the number of bytes written."""
        if self.lib is not None:
            src = np.frombuffer(block, dtype=np.uint8)
            rc = self.lib.libdeflate_gzip_decompress(
                self.state,
                src.ctypes.data,
                len(block),
                out.ctypes.data + fill,
                BGZF_MAX_BLOCK,
                ctypes.byref(self.actual),
            )
            if rc != 0:
                raise InputError(
                    self.source, f"corrupt BGZF block at compressed byte offset {offset} (libdeflate error {rc})"
                )
            return self.actual.value
        try:
            text = zlib.decompress(block, 31)
        except zlib.error as err:
            raise InputError(self.source, f"corrupt BGZF block at compressed byte offset {offset} ({err})") from None
        out[fill : fill + len(text)] = np.frombuffer(text, dtype=np.uint8)
        return len(text)

    def close(self) -> None:
        if self.state is not None:
            self.lib.libdeflate_free_decompressor(ctypes.c_void_p(self.state))
            self.state = None


def _bgzf_pieces(
    path: StrPath, start: int | None, stop: int | None, read_size: int, piece_bytes: int
) -> Iterator[np.ndarray]:
    """Inflate a BGZF file block by block into pieces of about ``piece_bytes``.

    ``start`` (a virtual offset) begins at that block and drops the text before the
    offset inside it, so no earlier block is read; ``stop`` (a virtual offset) ends the
    text there, so no later block is inflated.
    """
    source = os.fspath(path)
    inflater = _BlockInflater(source)
    try:
        with open(path, "rb") as f:
            out, fill = np.empty(piece_bytes + BGZF_MAX_BLOCK, dtype=np.uint8), 0
            for inflate in _ranged_blocks(f, source, inflater, start, stop, read_size):
                if fill + BGZF_MAX_BLOCK > len(out):
                    yield out[:fill]
                    out, fill = np.empty(piece_bytes + BGZF_MAX_BLOCK, dtype=np.uint8), 0
                fill = inflate(out, fill)
            if fill:
                yield out[:fill]
    finally:
        inflater.close()


def _ranged_blocks(
    f, source: str, inflater: _BlockInflater, start: int | None, stop: int | None, read_size: int
) -> Iterator[Callable[[np.ndarray, int], int]]:
    """The BGZF blocks of ``f`` from virtual offset ``start`` to ``stop`` (None: the file's start or end),
    each as a function ``inflate(buffer, fill) -> new fill`` that inflates the block into
    ``buffer[fill:]`` and keeps only the text inside the range: the first block of a seek drops the
    text before ``start`` (moving the rest to ``fill``), the block holding ``stop`` ends there.
    Shared by :func:`_bgzf_pieces` and :func:`_bgzf_line_blocks`, which differ only in their buffers."""
    drop = 0
    if start is not None:
        f.seek(start >> 16)
        drop = start & 0xFFFF
    for offset, block in bgzf_blocks(f, source, read_size):
        keep = None
        if stop is not None:
            if offset > stop >> 16 or (offset == stop >> 16 and not stop & 0xFFFF):
                return
            if offset == stop >> 16:
                keep = stop & 0xFFFF

        def inflate(buf: np.ndarray, fill: int, block=block, offset=offset, keep=keep, drop=drop) -> int:
            size = inflater.into(block, offset, buf, fill)
            fill += size if keep is None else keep
            if drop:
                if drop > fill:
                    raise InputError(source, f"virtual offset {start} lies past the end of its BGZF block")
                buf[: fill - drop] = buf[drop:fill]
                fill -= drop
            return fill

        yield inflate
        drop = 0
        if keep is not None:  # the block holding ``stop``: the text ends there
            return


def _ended(buf: np.ndarray, fill: int) -> np.ndarray:
    """The last line block, ``buf[:fill]``, ending with a newline (a file's last line may lack one)."""
    if buf[fill - 1] != 10:
        if fill == len(buf):
            buf = np.concatenate([buf, np.empty(1, dtype=np.uint8)])
        buf[fill] = 10
        fill += 1
    return buf[:fill]


def _bgzf_line_blocks(
    path: StrPath, block_bytes: int, start: int | None, stop: int | None, read_size: int, recycle: int
) -> Iterator[np.ndarray]:
    """:func:`line_blocks` of a BGZF file: each block is inflated straight into the buffer of
    the line block it belongs to (no piece buffers, no copy but the partial last line, which
    moves to the next buffer). ``start``/``stop`` as in :func:`_bgzf_pieces`; ``recycle`` as in
    :func:`line_blocks`."""
    source = os.fspath(path)
    inflater = _BlockInflater(source)
    ring: list[np.ndarray] = []
    turn = 0

    def fresh(size: int) -> np.ndarray:
        """The next buffer: a new one, or with ``recycle`` the ring's oldest when it is large enough."""
        nonlocal turn
        if not recycle:
            return np.empty(size, dtype=np.uint8)
        if len(ring) < recycle:
            ring.append(np.empty(size, dtype=np.uint8))
            turn = len(ring) - 1
            return ring[turn]
        turn = (turn + 1) % recycle
        if len(ring[turn]) < size:
            ring[turn] = np.empty(size, dtype=np.uint8)
        return ring[turn]

    try:
        with open(path, "rb") as f:
            buf, fill = fresh(block_bytes + BGZF_MAX_BLOCK), 0
            for inflate in _ranged_blocks(f, source, inflater, start, stop, read_size):
                if fill + BGZF_MAX_BLOCK > len(buf):  # a line longer than the block size so far
                    grown = np.empty(2 * len(buf), dtype=np.uint8)
                    grown[:fill] = buf[:fill]
                    buf = grown
                    if recycle:
                        ring[turn] = grown
                before = fill  # where this block's text starts (0 for a seek's first block, whose text moves there)
                fill = inflate(buf, fill)
                if fill >= block_bytes:
                    newlines = np.flatnonzero(buf[before:fill] == 10)
                    if len(newlines):  # cut after the last newline; the partial line starts the next block
                        cut = before + int(newlines[-1]) + 1
                        nxt = fresh(max(block_bytes, fill - cut) + BGZF_MAX_BLOCK)
                        nxt[: fill - cut] = buf[cut:fill]
                        yield buf[:cut]
                        buf, fill = nxt, fill - cut
            if fill:
                yield _ended(buf, fill)
    finally:
        inflater.close()


def _gzip_pieces(path: StrPath, read_size: int) -> Iterator[np.ndarray]:
    """Inflate a plain gzip file (one or more members) with zlib; damage is one line."""
    source = os.fspath(path)
    with open(path, "rb") as f:
        inflater = zlib.decompressobj(31)
        started = False
        while data := f.read(read_size):
            while data:
                try:
                    out = inflater.decompress(data)
                except zlib.error as err:
                    raise InputError(source, f"damaged gzip: {err}") from None
                started = True
                if out:
                    yield np.frombuffer(out, dtype=np.uint8)
                if inflater.eof:
                    data = inflater.unused_data
                    if data and data.strip(b"\x00") == b"":
                        data = b""  # zero padding after the last member (tape-style), ignored
                    if data:
                        inflater = zlib.decompressobj(31)
                        started = False
                else:
                    data = b""
        if started and not inflater.eof:
            raise InputError(source, "truncated gzip: the file ends before the compressed stream does")


def text_pieces(
    path: StrPath,
    start: int | None = None,
    stop: int | None = None,
    read_size: int = 1 << 20,
    piece_bytes: int = 4 << 20,
) -> Iterator[np.ndarray]:
    """The decompressed bytes of a VCF file (plain, gzip or BGZF) as uint8 arrays.

    ``start``/``stop`` bound the text: BGZF virtual offsets for BGZF, byte offsets for
    uncompressed files; plain gzip cannot seek (``ValueError``).
    """
    if is_gzip(path):
        if is_bgzf(path):
            yield from _bgzf_pieces(path, start, stop, read_size, piece_bytes)
            return
        if start is not None or stop is not None:
            raise ValueError(f"{os.fspath(path)}: plain gzip cannot seek (only BGZF)")
        yield from _gzip_pieces(path, read_size)
        return
    with open(path, "rb") as f:
        f.seek(0 if start is None else start)
        while piece := f.read(read_size if stop is None else min(read_size, stop - f.tell())):
            yield np.frombuffer(piece, dtype=np.uint8)


def line_blocks(
    path: StrPath,
    block_bytes: int = 8 << 20,
    start: int | None = None,
    stop: int | None = None,
    read_size: int = 1 << 20,
    recycle: int = 0,
) -> Iterator[np.ndarray]:
    """Blocks of whole lines (each ending with a newline) of about ``block_bytes``, from
    the beginning of the text or from the seek position ``start`` (a line start).

    ``recycle`` > 0 (BGZF): the blocks are views of a ring of that many buffers, reused in
    turn, so a block's bytes are overwritten ``recycle`` − 1 blocks later. That spares the
    kernel zeroing a fresh buffer for every block (~0.4 CPU-s of page faults per 200 MB of
    text); the caller must be done with a block by then: one block at a time through
    :func:`~genoprep.prefetch.prefetched` with queue depth ``d`` needs ``d + 3`` (the
    caller's block, ``d`` queued, one waiting to be queued, the one being filled)."""
    if is_gzip(path) and is_bgzf(path):
        yield from _bgzf_line_blocks(path, block_bytes, start, stop, read_size, recycle)
        return
    buf = np.empty(block_bytes + (1 << 20), dtype=np.uint8)
    fill = 0
    for piece in text_pieces(path, start, stop, read_size, min(block_bytes, 4 << 20)):
        n = len(piece)
        if fill + n > len(buf):
            grown = np.empty(max(2 * len(buf), fill + n), dtype=np.uint8)
            grown[:fill] = buf[:fill]
            buf = grown
        buf[fill : fill + n] = piece
        fill += n
        if fill >= block_bytes:
            newlines = np.flatnonzero(buf[max(fill - n, 0) : fill] == 10)
            if len(newlines):
                cut = max(fill - n, 0) + int(newlines[-1]) + 1
                tail = buf[cut:fill]
                nxt = np.empty(len(buf), dtype=np.uint8)
                nxt[: len(tail)] = tail
                yield buf[:cut]
                buf, fill = nxt, len(tail)
    if fill:
        yield _ended(buf, fill)


# --- the text header ------------------------------------------------------------------

#: what ends a header: a complete ``#CHROM`` line, or a line that does not start with ``#``
_HEADER_END = re.compile(rb"(?:^|\n)(?:#CHROM[^\n]*\n|[^#\r\n])")


class VcfHeader:
    """The header of a VCF text: sample ids (checked) and where the data lines begin.

    Refused with one line naming the file: an empty file, a first line that is neither
    a ``##`` meta line nor ``#CHROM`` (not a VCF), a data line or the end of the text
    before the ``#CHROM`` line (truncated header), no sample columns, a duplicate sample
    id, and a header that declares no GT FORMAT field while the first record has none.
    A UTF-8 byte-order mark and CRLF line ends are accepted.
    """

    def __init__(self, source: str, samples: list[str], data_start: int, declares_gt: bool) -> None:
        self.source = source
        self.samples = samples
        self.data_start = data_start  # offset of the first data line in the text
        self.declares_gt = declares_gt

    @classmethod
    def parse(cls, source: str, text: bytes, complete: bool) -> VcfHeader | None:
        """The header at the start of ``text``; None while it may continue (``complete`` False)."""
        if not text:
            if complete:
                raise InputError(source, "empty file: no VCF header")
            return None
        at = len(UTF8_BOM) if text.startswith(UTF8_BOM) else 0
        if not complete and not _HEADER_END.search(text, at):
            return None  # neither a complete #CHROM line nor a data line yet (cheap check, C speed)
        declares_gt = False
        number = 0
        while True:
            end = text.find(b"\n", at)
            if end < 0:
                if not complete:
                    return None
                if at >= len(text):
                    raise InputError(source, "the header ends without a #CHROM line (truncated header?)")
                end = len(text)
            number += 1
            line = text[at:end].rstrip(b"\r")
            if line.startswith(b"#CHROM"):
                return cls(source, _sample_ids(source, line), end + 1, declares_gt)
            if not line.startswith(b"##"):
                if number == 1:
                    raise InputError(
                        source,
                        "not a VCF: the first line is neither '##fileformat=VCF...' nor "
                        "'#CHROM...' (wrong file, or a compressed file with another name?)",
                    )
                raise InputError(source, "no #CHROM header line before the first data line", f"line {number}")
            declares_gt = declares_gt or line.startswith(b"##FORMAT=<ID=GT,")
            at = end + 1


def _sample_ids(source: str, line: bytes) -> list[str]:
    """The sample ids of the ``#CHROM`` line (decoded, unique)."""
    try:
        columns = line.decode("utf-8").split("\t")
    except UnicodeDecodeError as err:
        raise InputError(source, f"the #CHROM line is not UTF-8 text ({err.reason} at byte {err.start})") from None
    samples = columns[9:]
    if not samples:
        raise InputError(source, "the VCF has no sample columns (a sites-only VCF has no genotypes)", "#CHROM line")
    check_sample_ids(source, samples)
    return samples


def check_sample_ids(source: str, samples: list[str]) -> None:
    """Refuse a duplicate sample id in a VCF/BCF header (one line naming both columns)."""
    first: dict[str, int] = {}
    for column, sample in enumerate(samples, start=10):
        if sample in first:
            raise InputError(
                source, f"duplicate sample id {sample!r} (columns {first[sample]} and {column})", "#CHROM line"
            )
        first[sample] = column


def check_has_gt(header: VcfHeader, first_line: bytes | None, keys: tuple[bytes, ...] = (b"GT",)) -> None:
    """Refuse a VCF with no genotypes: no ``##FORMAT=<ID=GT`` and none of ``keys`` (GT; with
    ``dosage_field: DS`` also DS and GP) in the FORMAT of the first record."""
    if header.declares_gt:
        return
    if first_line is not None:
        fields = first_line.rstrip(b"\r\n").split(b"\t", 9)
        if len(fields) > 8 and any(key in fields[8].split(b":") for key in keys):
            return
    wanted = "/".join(key.decode() for key in keys)
    raise InputError(
        header.source,
        f"no {wanted} FORMAT field (the header declares none and the first record has none): "
        "there are no genotypes to read",
    )


def _first_line(text: np.ndarray, window: int = 1 << 20) -> bytes | None:
    """The first line of ``text`` (uint8) that is not blank, without its ``\\n``; None when every byte
    is a line end. Looked for a window at a time, so a long run of blank lines costs no copy of the text."""
    for at in range(0, len(text), window):
        piece = text[at : at + window]
        filled = np.flatnonzero((piece != 10) & (piece != 13))
        if filled.size:
            start = at + int(filled[0])
            for end in range(start, len(text), window):
                breaks = np.flatnonzero(text[end : end + window] == 10)
                if breaks.size:
                    return text[start : end + int(breaks[0])].tobytes()
            return text[start:].tobytes()
    return None


class VcfText:
    """A VCF read as text: the checked header, then blocks (uint8 arrays) of data lines.

    With ``start`` (the seek position of a data line, see :func:`record_offsets`) the
    header is read in small pieces from the beginning (no BGZF block between the header
    and ``start`` is inflated), then the data blocks begin at ``start``; ``stop`` ends
    them. ``recycle``: see :func:`line_blocks` (the caller's promise about how long it
    keeps a block).
    """

    def __init__(
        self,
        path: StrPath,
        block_bytes: int = 8 << 20,
        start: int | None = None,
        stop: int | None = None,
        recycle: int = 0,
    ) -> None:
        self.source = os.fspath(path)
        check_readable(path)
        blocks = line_blocks(path, block_bytes if start is None else 1, read_size=1 << 16, recycle=recycle)
        text = np.empty(0, dtype=np.uint8)
        header = None
        for block in blocks:
            text = np.concatenate([text, block]) if len(text) else block
            header = VcfHeader.parse(self.source, text.tobytes(), complete=False)
            if header is not None:
                break
        if header is None:
            header = VcfHeader.parse(self.source, text.tobytes(), complete=True)
        self.header = header
        self.samples = header.samples
        self.data_start = header.data_start
        self._first = text[header.data_start :]
        self._blocks = blocks
        if start is not None:
            blocks.close()
            self._first = None
            self._blocks = line_blocks(path, block_bytes, start=start, stop=stop, recycle=recycle)

    def first_record(self) -> bytes | None:
        """The first data line (None when there is none); only before a seek."""
        if self._first is None:
            return None
        line = _first_line(self._first)
        if line is None:
            for block in self._blocks:
                self._first = np.concatenate([self._first, block])
                line = _first_line(block)
                if line is not None:
                    break
        return line

    def data_blocks(self) -> Iterator[np.ndarray]:
        """Blocks of whole data lines (blank lines are skipped by the decoder); progress in the log."""
        progress = Progress(f"reading {os.path.basename(self.source)}", unit="bytes of VCF text")
        if self._first is not None and len(self._first):
            progress.update(len(self._first))
            yield self._first
        for block in self._blocks:
            progress.update(len(block))
            yield block
        progress.finish()


def record_offsets(path: StrPath, every: int) -> tuple[int, list[int]]:
    """Number of data records of a VCF text and the text offsets where records
    ``0, every, 2*every, ...`` begin (``every`` 0: none).

    One pass over the inflated text (inflation in a background thread), newlines counted
    with numpy; a line is a record when it holds at least one byte.
    """
    vcf = VcfText(path, recycle=PREFETCH_DEPTH + 3)  # one block at a time through prefetched
    n, at = 0, vcf.data_start
    offsets = [at] if every else []
    want = every if every else None  # the next record whose start is wanted (>= 1)
    prev_newline = True
    for arr in prefetched(vcf.data_blocks(), PREFETCH_DEPTH, "genoprep-inflate"):  # inflation overlaps counting
        if not len(arr):
            continue
        nl = arr == 10
        blank = np.count_nonzero(nl[1:] & nl[:-1]) + int(bool(nl[0]) and prev_newline)
        m = int(np.count_nonzero(nl)) - int(blank)
        if want is not None and want <= n + m:
            ends = np.flatnonzero(nl)
            before = np.empty(len(ends), dtype=bool)  # the byte before each newline is one
            before[ends > 0] = nl[ends[ends > 0] - 1]
            before[ends == 0] = prev_newline
            record_ends = ends[~before]
            while want <= n + m:
                offsets.append(at + int(record_ends[want - n - 1]) + 1)
                want += every
        n += m
        prev_newline = bool(nl[-1])
        at += len(arr)
    return n, offsets


# --- indexes (htslib) -----------------------------------------------------------------


def index_path(path: StrPath) -> Path | None:
    """The ``.tbi``/``.csi`` index of ``path`` if one exists."""
    for suffix in (".tbi", ".csi"):
        candidate = Path(os.fspath(path) + suffix)
        if candidate.exists():
            return candidate
    return None


def region_query(chrom: str, start: int, end: int) -> str:
    """The htslib region string (``{chrom}:start-end`` when the name holds a ``:``)."""
    name = f"{{{chrom}}}" if ":" in chrom else chrom
    return f"{name}:{start}-{min(end, 2**31 - 2)}"
