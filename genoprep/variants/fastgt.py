"""Fast path for VCF text: libdeflate BGZF inflation and a numba single-pass GT decoder.

Two independent speed-ups over :mod:`genoprep.variants.textgt`, same results:

- **Inflation**: BGZF files are a series of gzip members of at most 64 KiB; each is
  inflated (CRC and size checked) straight into a preallocated buffer with the
  ``libdeflate`` that ships inside the cyvcf2 wheel (``cyvcf2.libs``), or the system
  ``libdeflate.so.0``. Plain gzip (one member) and uncompressed files, or no
  libdeflate, go through :func:`textgt.decompressed_pieces` (zlib).
- **Decoding**: one numba-compiled pass per block of lines finds the columns of each
  line, counts the ALT alleles and decodes every sample's GT (``a``, ``a/b``, ``a|b``,
  multi-digit alleles, ``.``; FORMAT must start with ``GT``) straight into the dosage
  rows, one row per ALT (the ``bcftools norm -m-`` split). Any line it cannot vouch for
  (wrong column count, ploidy > 2, GT not first, a bad value) is marked and decoded by
  the general text route, which raises the one-line input error where the line is bad.

Both use :func:`genoprep.variants.records.dosage_rows` semantics; the tests compare this
path with the cyvcf2 path on real and generated files.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from genoprep.errors import InputError
from genoprep.variants import textgt

try:  # numba is optional: without it the numpy route of textgt is used
    import numba
except ImportError:  # pragma: no cover - numba ships with the environment
    numba = None


def _compiled(function):
    """``numba.njit(cache=True, nogil=True)``; without a writable cache folder (numba
    raises at decoration time) the kernel is compiled per process instead."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # pragma: no cover - read-only install without NUMBA_CACHE_DIR
        return numba.njit(nogil=True)(function)


njit = None if numba is None else _compiled

STATUS_OK = 0
STATUS_HAPLOID = 1  # decoded; some called genotype is haploid
STATUS_SLOW = 2  # not decoded: the general route decodes it (or raises)

BGZF_MAX_BLOCK = 1 << 16


# --- libdeflate ---------------------------------------------------------------------

def _find_libdeflate() -> ctypes.CDLL | None:
    candidates = []
    try:
        import cyvcf2

        libs = Path(cyvcf2.__file__).resolve().parent.parent / "cyvcf2.libs"
        candidates += sorted(glob.glob(str(libs / "libdeflate*.so*")))
    except ImportError:  # pragma: no cover
        pass
    candidates += ["libdeflate.so.0", "libdeflate.so"]
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
            lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
            lib.libdeflate_gzip_decompress.restype = ctypes.c_int
            lib.libdeflate_gzip_decompress.argtypes = [
                ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                ctypes.POINTER(ctypes.c_size_t)]
            return lib
        except (OSError, AttributeError):
            continue
    return None


_LIBDEFLATE = None if os.environ.get("GENOPREP_NO_LIBDEFLATE") else _find_libdeflate()


def is_bgzf(path: str | Path) -> bool:
    """True when the file starts with a BGZF block header (gzip + ``BC`` extra field)."""
    return textgt.is_bgzf_file(path)


def _bgzf_pieces(path: str | Path, source: str, read_size: int = 1 << 20,
                 piece_bytes: int = 4 << 20, start: int | None = None,
                 stop: int | None = None) -> Iterator[np.ndarray]:
    """Inflate a BGZF file block by block with libdeflate; yields uint8 arrays.

    ``start`` is a BGZF virtual offset (``block_offset << 16 | offset_in_block``): reading
    begins at that compressed block and drops the first bytes of its inflated text, so
    no block before it is read or inflated. ``stop`` (a virtual offset) ends the text
    there: no block after it is inflated.
    """
    lib = _LIBDEFLATE
    decompressor = lib.libdeflate_alloc_decompressor()
    actual = ctypes.c_size_t(0)
    drop = 0
    try:
        with open(path, "rb") as f:
            if start is not None:
                f.seek(start >> 16)
                drop = start & 0xFFFF
            pending = b""
            out, fill = np.empty(piece_bytes + BGZF_MAX_BLOCK, dtype=np.uint8), 0
            while True:
                data = f.read(read_size)
                comp = pending + data if pending else data
                if not comp:
                    if fill:
                        yield out[:fill]
                    return
                src = np.frombuffer(comp, dtype=np.uint8)
                at = 0
                while at + 18 <= len(comp):
                    if comp[at : at + 4] != b"\x1f\x8b\x08\x04" or comp[at + 12 : at + 14] != b"BC":
                        raise InputError(source, f"not a BGZF block at compressed byte offset {f.tell() - len(comp) + at}")
                    size = int.from_bytes(comp[at + 16 : at + 18], "little") + 1
                    if at + size > len(comp):
                        break
                    last = False
                    if stop is not None:
                        block_start = f.tell() - len(comp) + at
                        if block_start > stop >> 16 or (block_start == stop >> 16 and not stop & 0xFFFF):
                            if fill:
                                yield out[:fill]
                            return
                        last = block_start == stop >> 16
                    if fill + BGZF_MAX_BLOCK > len(out):
                        yield out[:fill]
                        out, fill = np.empty(piece_bytes + BGZF_MAX_BLOCK, dtype=np.uint8), 0
                    rc = lib.libdeflate_gzip_decompress(
                        decompressor, src.ctypes.data + at, size, out.ctypes.data + fill,
                        BGZF_MAX_BLOCK, ctypes.byref(actual))
                    if rc != 0:
                        raise InputError(source, f"corrupt BGZF block at compressed byte offset "
                                                 f"{f.tell() - len(comp) + at} (libdeflate error {rc})")
                    fill += actual.value
                    at += size
                    if last:  # the block holding ``stop``: the text ends there
                        fill -= actual.value - (stop & 0xFFFF)
                    if drop:  # the first block of a seek: text before the virtual offset
                        if drop > fill:
                            raise InputError(source, f"virtual offset {start} lies past the end of its BGZF block")
                        out[: fill - drop] = out[drop:fill]
                        fill -= drop
                        drop = 0
                    if last:
                        if fill:
                            yield out[:fill]
                        return
                pending = comp[at:]
                if not data:
                    if pending:
                        raise InputError(source, "truncated BGZF file (the last block is incomplete)")
                    if fill:
                        yield out[:fill]
                    return
    finally:
        lib.libdeflate_free_decompressor(ctypes.c_void_p(decompressor))


def text_pieces(path: str | Path, start: int | None = None, read_size: int = 1 << 20,
                piece_bytes: int = 4 << 20, stop: int | None = None) -> Iterator[np.ndarray]:
    """The decompressed bytes of a VCF text file (plain, gzip, BGZF) as uint8 arrays.

    ``start``: where to begin — a BGZF virtual offset for BGZF files, a byte offset for
    uncompressed files (plain gzip cannot seek: ``ValueError``); see
    :func:`textgt.decompressed_pieces`.
    """
    if _LIBDEFLATE is not None and is_bgzf(path):
        yield from _bgzf_pieces(path, str(path), read_size, piece_bytes, start, stop)
        return
    for piece in textgt.decompressed_pieces(path, read_size=read_size, start=start, stop=stop):
        yield np.frombuffer(piece, dtype=np.uint8)


def line_blocks(path: str | Path, block_bytes: int = 8 << 20, start: int | None = None,
                read_size: int = 1 << 20, stop: int | None = None) -> Iterator[np.ndarray]:
    """Blocks of whole lines (each ending with a newline) of about ``block_bytes``,
    from the beginning of the text or from the seek position ``start`` (a line start)."""
    buf = np.empty(block_bytes + (1 << 20), dtype=np.uint8)
    fill = 0
    for piece in text_pieces(path, start, read_size, min(block_bytes, 4 << 20), stop):
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
        if buf[fill - 1] != 10:
            if fill == len(buf):
                buf = np.concatenate([buf, np.empty(1, dtype=np.uint8)])
            buf[fill] = 10
            fill += 1
        yield buf[:fill]


class FastTextVcf:
    """A VCF read as text: the sample ids, then blocks (uint8 arrays) of data lines.

    ``data_start`` is the offset of the first data line in the text. With ``start`` (a
    seek position of a data line, see :mod:`genoprep.variants.seek`) the header is read
    in small pieces from the beginning, then the data blocks begin at ``start``.
    """

    def __init__(self, path: str | Path, block_bytes: int = 8 << 20, start: int | None = None,
                 stop: int | None = None) -> None:
        self.source = str(path)
        # with a seek position, the header is inflated one BGZF block at a time (lazily),
        # so that no block between the header and ``start`` is inflated
        header_blocks = line_blocks(path, block_bytes) if start is None else \
            line_blocks(path, 1, read_size=1 << 16)
        self._blocks = header_blocks
        self.samples: list[str] = []
        self._first: np.ndarray | None = None
        self.data_start = 0
        header = np.empty(0, dtype=np.uint8)
        for block in self._blocks:
            header = np.concatenate([header, block]) if len(header) else block
            found = textgt.chrom_header(header.tobytes())
            if found is not None:
                self.samples, self.data_start = found
                self._first = header[self.data_start :]
                break
        else:
            raise InputError(self.source, "no #CHROM header line: not a VCF")
        if not self.samples:
            raise InputError(self.source, "the VCF has no sample columns")
        if start is not None:
            header_blocks.close()
            self._first = None
            self._blocks = line_blocks(path, block_bytes, start=start, stop=stop)

    def data_blocks(self) -> Iterator[np.ndarray]:
        if self._first is not None and len(self._first):
            yield self._first
        yield from self._blocks


# --- the numba decoder -------------------------------------------------------------

#: one-digit allele codes for the common-case check: '0' 0, '1' 1, '.' -8, others -64
_FAST_ALLELE = np.full(256, -64, dtype=np.int64)
_FAST_ALLELE[ord("0")] = 0
_FAST_ALLELE[ord("1")] = 1
_FAST_ALLELE[ord(".")] = -8


def _skip_lines_py(buf, pos, n):  # pragma: no cover - compiled below
    """Skip ``n`` non-blank lines from ``pos``; returns (lines skipped, new pos)."""
    end = len(buf)
    skipped = 0
    while pos < end and skipped < n:
        if buf[pos] == 10:
            pos += 1
            continue
        while buf[pos] != 10:
            pos += 1
        pos += 1
        skipped += 1
    return skipped, pos


def _scan_py(buf, pos, max_lines, n_file_samples, column_of, dosage, line_info):  # pragma: no cover
    """Decode up to ``max_lines`` non-blank lines from ``pos`` into ``dosage`` rows.

    ``line_info[k]`` = (line start, end of INFO column, line end, n_alt, status, first
    row). Stops early when the rows of the next line would not fit in ``dosage`` or
    ``line_info`` is full. Returns (lines, new pos, rows used).
    """
    end = len(buf)
    row_cap = dosage.shape[0]
    n_lines = 0
    n_rows = 0
    while pos < end and n_lines < max_lines and n_lines < line_info.shape[0]:
        if buf[pos] == 10:
            pos += 1
            continue
        start = pos
        # the fixed columns: tab positions 0..8
        tabs = 0
        n_alt = 1
        alt_start = -1
        alt_dot = False
        info_end = -1
        p = pos
        while buf[p] != 10 and tabs < 9:
            c = buf[p]
            if c == 9:
                tabs += 1
                if tabs == 4:
                    alt_start = p + 1
                elif tabs == 8:
                    info_end = p
            elif tabs == 4 and c == 44:
                n_alt += 1
            p += 1
        fmt_start = info_end + 1  # FORMAT; p is now the first sample field when tabs == 9
        if alt_start >= 0 and buf[alt_start] == 46 and buf[alt_start + 1] == 9:
            alt_dot = True
            n_alt = 0
        n_cols = n_alt if n_alt > 1 else 1
        if n_rows + n_cols > row_cap:
            break
        status = 0
        if tabs < 9 or not (buf[fmt_start] == 71 and buf[fmt_start + 1] == 84
                            and (buf[fmt_start + 2] == 9 or buf[fmt_start + 2] == 58)):
            status = 2
        else:
            for i in range(n_file_samples):
                c = buf[p + 3]
                s1 = buf[p + 1]
                v = _FAST_ALLELE[buf[p]] + _FAST_ALLELE[buf[p + 2]]
                if v >= -16 and (s1 == 47 or s1 == 124) and (c == 9 or c == 10 or c == 58):
                    # the common case: one-digit alleles 0/1/. then ':' or tab or newline
                    p += 3
                    haploid = False
                    a1 = 0 if buf[p - 3] != 46 else -1
                    a2 = 0 if buf[p - 1] != 46 else -1
                    if n_alt == 1 and c != 58:
                        col = column_of[i]
                        if col >= 0:
                            dosage[n_rows, col] = v if v >= 0 else -1
                        if i == n_file_samples - 1:
                            if c != 10:
                                status = 2
                        else:
                            if c != 9:
                                status = 2
                                break
                            p += 1
                        continue
                    a1 = buf[p - 3] - 48 if a1 == 0 else -1
                    a2 = buf[p - 1] - 48 if a2 == 0 else -1
                elif True:
                    # allele 1
                    c = buf[p]
                    if c == 46:
                        a1 = -1
                        p += 1
                    elif 48 <= c <= 57:
                        a1 = 0
                        while 48 <= buf[p] <= 57 and a1 < 100000:
                            a1 = a1 * 10 + (buf[p] - 48)
                            p += 1
                    else:
                        status = 2
                        break
                    c = buf[p]
                    haploid = True
                    a2 = 0
                    if c == 47 or c == 124:
                        haploid = False
                        p += 1
                        c = buf[p]
                        if c == 46:
                            a2 = -1
                            p += 1
                        elif 48 <= c <= 57:
                            while 48 <= buf[p] <= 57 and a2 < 100000:
                                a2 = a2 * 10 + (buf[p] - 48)
                                p += 1
                        else:
                            status = 2
                            break
                        c = buf[p]
                if c == 58:
                    while buf[p] != 9 and buf[p] != 10:
                        p += 1
                    c = buf[p]
                elif c == 13 and buf[p + 1] == 10 and i == n_file_samples - 1:
                    p += 1
                    c = 10
                if c != 9 and c != 10:
                    status = 2  # a third allele, or junk after the GT
                    break
                if a1 > n_alt or a2 > n_alt:
                    status = 2
                    break
                missing = a1 < 0 or (not haploid and a2 < 0)
                col = column_of[i]
                if col >= 0:
                    if missing:
                        for j in range(n_cols):
                            dosage[n_rows + j, col] = -1
                    else:
                        if haploid:
                            status = 1 if status == 0 else status
                            for j in range(n_cols):
                                dosage[n_rows + j, col] = 1 if a1 == j + 1 else 0
                        else:
                            for j in range(n_cols):
                                dosage[n_rows + j, col] = (1 if a1 == j + 1 else 0) + (1 if a2 == j + 1 else 0)
                if i == n_file_samples - 1:
                    if c != 10:
                        status = 2  # more columns than samples
                else:
                    if c != 9:
                        status = 2  # fewer columns than samples
                        break
                    p += 1
        while buf[p] != 10:
            p += 1
        if alt_dot:
            n_alt = 0
        line_info[n_lines, 0] = start
        line_info[n_lines, 1] = info_end
        line_info[n_lines, 2] = p
        line_info[n_lines, 3] = n_alt
        line_info[n_lines, 4] = status
        line_info[n_lines, 5] = n_rows
        n_rows += n_cols
        n_lines += 1
        pos = p + 1
    return n_lines, pos, n_rows


def _haploid_mask_py(buf, start, n_file_samples, column_of, out):  # pragma: no cover
    """Mark called haploid genotypes of a decoded line (``start`` = first sample field)."""
    p = start
    for i in range(n_file_samples):
        haploid = True
        called = buf[p] != 46
        while buf[p] != 9 and buf[p] != 10 and buf[p] != 58:
            if buf[p] == 47 or buf[p] == 124:
                haploid = False
            p += 1
        while buf[p] != 9 and buf[p] != 10:
            p += 1
        col = column_of[i]
        if col >= 0:
            out[col] = haploid and called
        p += 1


if njit is not None:
    _skip_lines = njit(_skip_lines_py)
    _scan = njit(_scan_py)
    _haploid_mask = njit(_haploid_mask_py)


def _row_counts_py(d, n_missing, n_one, n_two):  # pragma: no cover - compiled below
    """Per row: number of calls < 0, == 1 and == 2 (branch-free, vectorised by LLVM)."""
    for i in range(d.shape[0]):
        m = 0
        o = 0
        t = 0
        for j in range(d.shape[1]):
            v = d[i, j]
            m += v < 0
            o += v == 1
            t += v == 2
        n_missing[i] = m
        n_one[i] = o
        n_two[i] = t


def _column_missing_py(d, out):  # pragma: no cover - compiled below
    """Per column: number of calls < 0 (int32 accumulators, vectorised)."""
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            out[j] += d[i, j] < 0


def _transpose_py(block, out):  # pragma: no cover - compiled below
    """``out[:] = block.T`` in cache-sized tiles."""
    n, m = block.shape
    for i0 in range(0, n, 64):
        i1 = min(i0 + 64, n)
        for j0 in range(0, m, 64):
            j1 = min(j0 + 64, m)
            for j in range(j0, j1):
                for i in range(i0, i1):
                    out[j, i] = block[i, j]


if njit is not None:
    _row_counts = njit(_row_counts_py)
    _column_missing = njit(_column_missing_py)
    _transpose = njit(_transpose_py)


def row_counts(d: np.ndarray, per_sample: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(missing, ones, twos) per row and (when ``per_sample``) missing per column of an
    int8 dosage block, as int64."""
    if available():
        d = np.ascontiguousarray(d)
        n_missing = np.empty(d.shape[0], dtype=np.int64)
        n_one = np.empty(d.shape[0], dtype=np.int64)
        n_two = np.empty(d.shape[0], dtype=np.int64)
        _row_counts(d, n_missing, n_one, n_two)
        sample_missing = None
        if per_sample:
            acc = np.zeros(d.shape[1], dtype=np.int32)
            for i in range(0, d.shape[0], 1 << 20):  # int32 cannot overflow within 2^20 rows
                part = np.zeros(d.shape[1], dtype=np.int32)
                _column_missing(d[i : i + (1 << 20)], part)
                acc = acc.astype(np.int64) + part
            sample_missing = np.asarray(acc, dtype=np.int64)
        return n_missing, n_one, n_two, sample_missing
    miss = d < 0
    return (miss.sum(axis=1, dtype=np.int64), (d == 1).sum(axis=1, dtype=np.int64),
            (d == 2).sum(axis=1, dtype=np.int64), miss.sum(axis=0, dtype=np.int64) if per_sample else None)


def transpose_into(out: np.ndarray, block: np.ndarray) -> bool:
    """``out[:] = block.T`` with the compiled tiled copy; False when numba is absent."""
    if not available() or not block.flags.c_contiguous:
        return False
    _transpose(block, out)
    return True


def prefetched(blocks: Iterator[np.ndarray], depth: int = 2) -> Iterator[np.ndarray]:
    """Produce ``blocks`` in a background thread (inflation releases the GIL), so that
    reading the next block overlaps with decoding this one; at most ``depth`` blocks wait."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for block in blocks:
                while not stop.is_set():
                    try:
                        q.put(block, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as err:  # noqa: BLE001 - re-raised in the consumer
            q.put(err)

    thread = threading.Thread(target=produce, name="genoprep-inflate", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel on a tiny input."""
    if not available():
        return
    buf = np.frombuffer(b"1\t5\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t1\n", dtype=np.uint8).copy()
    column_of = np.arange(2, dtype=np.int64)
    dosage = np.empty((2, 2), dtype=np.int8)
    info = np.empty((2, 6), dtype=np.int64)
    skip_lines(buf, 0, 1)
    scan(buf, 0, 1, 2, column_of, dosage, info)
    haploid_mask(buf, 0, int(info[0, 1]), 2, column_of, 2)
    row_counts(dosage)
    out = np.empty((2, 4), dtype=np.int8)
    transpose_into(out[:, :2], dosage)  # a column slice of the output, as gather writes it


def available() -> bool:
    """Whether the numba decoder can be used."""
    return njit is not None and not os.environ.get("GENOPREP_NO_NUMBA")


def skip_lines(buf: np.ndarray, pos: int, n: int) -> tuple[int, int]:
    return _skip_lines(buf, pos, n)


def scan(buf: np.ndarray, pos: int, max_lines: int, n_file_samples: int, column_of: np.ndarray,
         dosage: np.ndarray, line_info: np.ndarray) -> tuple[int, int, int]:
    return _scan(buf, pos, max_lines, n_file_samples, column_of, dosage, line_info)


def haploid_mask(buf: np.ndarray, line_start: int, info_end: int, n_file_samples: int,
                 column_of: np.ndarray, n_out: int) -> np.ndarray:
    """Called-haploid mask (output columns) of a line decoded by :func:`scan`."""
    p = info_end + 1
    while buf[p] != 9:
        p += 1
    out = np.zeros(n_out, dtype=bool)
    _haploid_mask(buf, p + 1, n_file_samples, column_of, out)
    return out
