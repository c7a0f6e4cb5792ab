"""Numba kernels for VCF text: the single-pass GT decoder and the dosage-block helpers.

Kernels only (the file I/O is :mod:`genoprep.variants.vcfio`, the reader that drives them
:mod:`genoprep.variants.ingest`):

- :func:`scan` decodes a block of data lines in one pass: it finds the columns of each
  line, counts the ALT alleles and decodes every sample's GT (``a``, ``a/b``, ``a|b``,
  multi-digit alleles, ``.``; FORMAT must start with ``GT``) straight into the dosage
  rows, one row per ALT (the ``bcftools norm -m-`` split). Any line it cannot vouch for
  (wrong column count, ploidy > 2, GT not first, a bad value) is marked
  :data:`STATUS_SLOW` and decoded by :func:`genoprep.variants.records.decode_line`,
  which raises the one-line input error where the line is bad.
- :func:`scan` with ``field="DS"`` decodes the ``DS`` entries (imputed dosages, ``dosage_field: DS``) in
  the same way into float32 rows; lines it cannot vouch for are decoded by
  :func:`genoprep.variants.records.decode_line_ds`.
- :func:`skip_lines`, :func:`haploid_mask`, :func:`row_counts`, :func:`missing_counts`,
  :func:`dose_counts` (sums and plink2 hardcall classes of float dosages),
  :func:`transpose_into`.

The semantics are those of :func:`genoprep.variants.records.dosage_rows`; the tests
compare this path with the cyvcf2 (htslib) path on real and generated files.
"""

from __future__ import annotations

import sys
import types

import numba
import numpy as np

from genoprep.variants.records import DOSAGE_UNITS, HARDCALL_HALF_WIDTH


def _load_numba_array_support() -> None:
    """Import ``numba.np.arraymath`` (numba loads it when its CPU target starts, at the first
    kernel call) without the ~0.25 CPU-second import of ``scipy.linalg`` it makes only to set
    its ``_HAVE_BLAS`` flag (``import scipy.linalg.cython_blas`` in ``numba.np.linalg.ensure_blas``).

    None of these kernels calls BLAS. While the module is imported, a placeholder stands in for
    ``scipy.linalg.cython_blas``; it is removed right after, so numba's BLAS functions (``np.dot``
    in a kernel) still import the real module when they are compiled (``ensure_blas`` runs
    again then). Nothing changes when scipy.linalg is already loaded or numba's target has
    started."""
    if "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    name = "scipy.linalg.cython_blas"
    placeholder = types.ModuleType(name)
    sys.modules[name] = placeholder
    try:
        import numba.np.arraymath  # noqa: F401 - imported for its side effect, with the placeholder
    finally:
        if sys.modules.get(name) is placeholder:
            del sys.modules[name]


_load_numba_array_support()


def _compiled(function):
    """``numba.njit(cache=True, nogil=True)``; without a writable cache folder (numba
    raises at decoration time) the kernel is compiled per process instead."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # pragma: no cover - read-only install without NUMBA_CACHE_DIR
        return numba.njit(nogil=True)(function)


#: ``line_info`` status of a decoded line: some called genotype is haploid
STATUS_HAPLOID = 1
#: ``line_info`` status of a line the scan does not decode (the per-line decoder does)
STATUS_SLOW = 2

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


#: what :func:`_allele` returns when the text at ``p`` is neither a number nor ``.``
NOT_AN_ALLELE = -2


def _inlined(function):
    """A helper the kernels call, inlined into them by numba (``inline="always"``)."""
    try:
        return numba.njit(cache=True, nogil=True, inline="always")(function)
    except RuntimeError:  # pragma: no cover - read-only install without NUMBA_CACHE_DIR
        return numba.njit(nogil=True, inline="always")(function)


def _allele_py(buf, p):  # pragma: no cover - compiled below
    """One allele of a GT at ``p``: (number, or −1 for ``.``, or NOT_AN_ALLELE; position after it)."""
    c = buf[p]
    if c == 46:
        return -1, p + 1
    if c < 48 or c > 57:
        return NOT_AN_ALLELE, p
    a = 0
    while 48 <= buf[p] <= 57 and a < 100000:
        a = a * 10 + (buf[p] - 48)
        p += 1
    return a, p


def _fixed_columns_py(buf, pos):  # pragma: no cover - compiled below
    """Walk CHROM..FORMAT of the line at ``pos``: (tabs seen (9 when complete), ALT count
    (0 for ALT ``.``), ALT is ``.``, position of the tab ending INFO, first sample position)."""
    tabs = 0
    n_alt = 1
    alt_start = -1
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
    alt_dot = alt_start >= 0 and buf[alt_start] == 46 and buf[alt_start + 1] == 9
    if alt_dot:
        n_alt = 0
    return tabs, n_alt, alt_dot, info_end, p


#: exact powers of ten in float64 (10**22 is the largest one)
_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)


def _dose_py(buf, p):  # pragma: no cover - compiled below
    """One decimal dosage at ``p`` (``0``, ``0.25``, ``1e-3``): (value, position after it);
    value −1.0 when the text is not a plain number in [0, 2] the kernel can round exactly
    as Python's ``float`` does (at most 15 digits, |exponent| ≤ 22; ``.`` is −1.0 too)."""
    m = 0
    digits = 0
    frac = 0
    while 48 <= buf[p] <= 57:
        m = m * 10 + (buf[p] - 48)
        digits += 1
        p += 1
    if buf[p] == 46:
        p += 1
        while 48 <= buf[p] <= 57:
            m = m * 10 + (buf[p] - 48)
            digits += 1
            frac += 1
            p += 1
    if digits == 0 or digits > 15:
        return -1.0, p
    e = 0
    if buf[p] == 101 or buf[p] == 69:
        p += 1
        sign = 1
        if buf[p] == 45 or buf[p] == 43:
            sign = -1 if buf[p] == 45 else 1
            p += 1
        if not 48 <= buf[p] <= 57:
            return -1.0, p
        while 48 <= buf[p] <= 57 and e < 1000:
            e = e * 10 + (buf[p] - 48)
            p += 1
        e *= sign
    e10 = e - frac
    if e10 > 22 or e10 < -22:
        return -1.0, p
    # one correctly rounded operation on exact operands: the same double as float(text)
    value = m * _POW10[e10] if e10 >= 0 else m / _POW10[-e10]
    if value > 2.0:
        return -1.0, p
    return value, p


def _format_key_py(buf, fmt_start, key_1, key_2):  # pragma: no cover - compiled below
    """0-based index of the two-letter key in the FORMAT column at ``fmt_start``, −1 if absent."""
    k = 0
    key_start = fmt_start
    q = fmt_start
    while True:
        c = buf[q]
        if c == 58 or c == 9 or c == 10:
            if q - key_start == 2 and buf[key_start] == key_1 and buf[key_start + 1] == key_2:
                return k
            if c != 58:
                return -1
            k += 1
            key_start = q + 1
        q += 1


def _field_end_py(buf, p):  # pragma: no cover - compiled below
    """Past the rest of a sample field when ``buf[p]`` is ``:``; returns (the byte that ends
    the field, a tab or newline unless the line is malformed, and its position)."""
    c = buf[p]
    if c == 58:
        while buf[p] != 9 and buf[p] != 10:
            p += 1
        c = buf[p]
    return c, p


def _close_line_py(buf, p, info, start, info_end, n_alt, status, first_row):  # pragma: no cover
    """Record a scanned line in its ``line_info`` row (see :func:`_scan_lines_py`); returns the
    position after the line's newline."""
    while buf[p] != 10:
        p += 1
    info[0] = start
    info[1] = info_end
    info[2] = p
    info[3] = n_alt
    info[4] = status
    info[5] = first_row
    return p + 1


def _dense_line_py(buf, p, n_alt, fmt_start, row, n_file_samples, dosage):  # pragma: no cover
    """The common layout in one branch-free pass: FORMAT ``GT`` alone, one ALT, every sample
    kept, every call ``a/b`` or ``a|b`` with a, b in {0, 1}, so sample ``i`` is the 4 bytes at
    ``p + 4i`` (the last one ending in the newline). Writes the row and returns True; returns
    False (the row is then written again by the general loop) when any of it does not hold."""
    n = n_file_samples
    if n_alt != 1 or buf[fmt_start + 2] != 9 or dosage.shape[1] != n or p + 4 * n > len(buf):
        return False
    if buf[p + 4 * n - 1] != 10:
        return False
    bad = 0
    for i in range(n):
        q = p + 4 * i
        a = np.int32(buf[q]) - 48
        b = np.int32(buf[q + 2]) - 48
        s = np.int32(buf[q + 1])
        t = np.int32(buf[q + 3])
        bad |= (a | b) & -2  # an allele other than 0 or 1
        bad |= np.int32(s != 47) & np.int32(s != 124)  # not '/' or '|'
        bad |= np.int32(t != 9) & np.int32(i != n - 1)  # not a tab between samples
        dosage[row, i] = a + b
    return bad == 0


_allele = _inlined(_allele_py)
_dense_line = _inlined(_dense_line_py)
_fixed_columns = _inlined(_fixed_columns_py)
_dose = _inlined(_dose_py)
_format_key = _inlined(_format_key_py)
_field_end = _inlined(_field_end_py)
_close_line = _inlined(_close_line_py)


def _gt_samples_py(
    buf, p, tabs, n_alt, alt_dot, info_end, n_cols, first_row, n_file_samples, column_of, dosage
):  # pragma: no cover
    """The GT of every sample of one line into ``dosage`` rows ``first_row`` .. ``first_row + n_cols - 1``;
    returns (status, position). Called by :func:`_scan_lines_py` for ``dosage_field: GT``."""
    n_rows = first_row
    fmt_start = info_end + 1  # FORMAT; p is now the first sample field when tabs == 9
    status = 0
    if tabs < 9 or not (
        buf[fmt_start] == 71 and buf[fmt_start + 1] == 84 and (buf[fmt_start + 2] == 9 or buf[fmt_start + 2] == 58)
    ):
        status = 2
    elif _dense_line(buf, p, n_alt, fmt_start, n_rows, n_file_samples, dosage):
        p += 4 * n_file_samples - 1  # at the newline, as the loop below leaves it
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
                    if c != (10 if i == n_file_samples - 1 else 9):
                        status = 2  # more or fewer columns than samples
                        break
                    p += 1 if c == 9 else 0
                    continue
                a1 = buf[p - 3] - 48 if a1 == 0 else -1
                a2 = buf[p - 1] - 48 if a2 == 0 else -1
            else:
                a1, p = _allele(buf, p)
                if a1 == NOT_AN_ALLELE:
                    status = 2
                    break
                c = buf[p]
                haploid = True
                a2 = 0
                if c == 47 or c == 124:
                    haploid = False
                    a2, p = _allele(buf, p + 1)
                    if a2 == NOT_AN_ALLELE:
                        status = 2
                        break
                    c = buf[p]
            c, p = _field_end(buf, p)
            if c == 13 and buf[p + 1] == 10 and i == n_file_samples - 1:
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
            if c != (10 if i == n_file_samples - 1 else 9):
                status = 2  # more or fewer columns than samples
                break
            p += 1 if c == 9 else 0
    return status, p


def _ds_samples_py(
    buf, p, tabs, n_alt, alt_dot, info_end, n_cols, first_row, n_file_samples, column_of, dosage
):  # pragma: no cover
    """The DS entry (one value per ALT) of every sample of one line into float32 ``dosage`` rows;
    returns (status, position). A line is :data:`STATUS_SLOW` (decoded by
    :func:`genoprep.variants.records.decode_line_ds`, which also applies the GP and GT
    fallbacks) when FORMAT has no DS, a DS entry is ``.``, absent, out of [0, 2] or not a
    plain number, ALT is ``.``, or the column count is wrong."""
    n_rows = first_row
    status = 0
    ds_index = -1 if tabs < 9 else _format_key(buf, info_end + 1, 68, 83)  # "DS"
    if ds_index < 0 or alt_dot:
        status = 2
    else:
        for i in range(n_file_samples):
            k = 0
            while k < ds_index:
                c = buf[p]
                if c == 58:
                    k += 1
                elif c == 9 or c == 10:
                    break
                p += 1
            if k < ds_index:
                status = 2  # the sample's field ends before its DS entry
                break
            col = column_of[i]
            for j in range(n_cols):
                value, p = _dose(buf, p)
                if value < 0.0:
                    status = 2
                    break
                if col >= 0:
                    dosage[n_rows + j, col] = value
                if j < n_cols - 1:
                    if buf[p] != 44:
                        status = 2
                        break
                    p += 1
            if status == 2:
                break
            c, p = _field_end(buf, p)
            if c != (10 if i == n_file_samples - 1 else 9):
                status = 2  # more or fewer columns than samples, CRLF (the slow path strips it) or junk
                break
            p += 1 if c == 9 else 0
    return status, p


#: the sample decoder :func:`_scan_lines_py` calls: each compiled copy binds its own (:func:`_with_decoder`)
_decode_samples = None


def _scan_lines_py(buf, pos, max_lines, n_file_samples, column_of, dosage, line_info):  # pragma: no cover
    """Decode up to ``max_lines`` non-blank lines from ``pos`` into ``dosage`` rows, each line's
    samples by ``_decode_samples`` (:func:`_gt_samples_py` or :func:`_ds_samples_py`, bound by
    :func:`_with_decoder`).

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
        tabs, n_alt, alt_dot, info_end, p = _fixed_columns(buf, pos)
        n_cols = n_alt if n_alt > 1 else 1
        if n_rows + n_cols > row_cap:
            break
        status, p = _decode_samples(
            buf, p, tabs, n_alt, alt_dot, info_end, n_cols, n_rows, n_file_samples, column_of, dosage
        )
        pos = _close_line(buf, p, line_info[n_lines], start, info_end, n_alt, status, n_rows)
        n_rows += n_cols
        n_lines += 1
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


def _fixed_fields_py(buf, info, tabs, pos_out):  # pragma: no cover - compiled below
    """The fixed columns of lines the scan decoded (``info`` rows of :func:`scan`, every line
    with its nine tabs): ``tabs[k, f]`` = position of the tab that ends column ``f`` (CHROM 0
    .. FILTER 6), ``tabs[k, 7]`` = the line start − 1 (the start of CHROM − 1), and
    ``pos_out[k]`` = POS when it is 1 to 18 ASCII digits, else −1 (then Python's ``int``
    decides, with the one-line error)."""
    for k in range(info.shape[0]):
        p = info[k, 0]
        tabs[k, 7] = p - 1
        for f in range(7):
            while buf[p] != 9:
                p += 1
            tabs[k, f] = p
            p += 1
        lo = tabs[k, 0] + 1
        hi = tabs[k, 1]
        value = 0
        if hi - lo < 1 or hi - lo > 18:
            value = -1
        else:
            for q in range(lo, hi):
                c = buf[q]
                if c < 48 or c > 57:
                    value = -1
                    break
                value = value * 10 + (c - 48)
        pos_out[k] = value


def _join_column_py(buf, lo, hi, out):  # pragma: no cover - compiled below
    """``buf[lo[k]:hi[k]]`` of every line ``k``, each followed by a newline, into ``out``;
    returns the number of bytes written."""
    n = 0
    for k in range(lo.shape[0]):
        for q in range(lo[k], hi[k]):
            out[n] = buf[q]
            n += 1
        out[n] = 10
        n += 1
    return n


_fixed_fields = _compiled(_fixed_fields_py)
_join_column = _compiled(_join_column_py)
_skip_lines = _compiled(_skip_lines_py)
_gt_samples = _compiled(_gt_samples_py)
_ds_samples = _compiled(_ds_samples_py)


def _with_decoder(function, name: str, decoder):
    """A copy of ``function`` named ``name`` whose global ``_decode_samples`` is ``decoder``.

    One compiled driver per decoder, called directly: numba caches it under its own name and
    a plain array signature. (A decoder passed as an argument makes the signature hold a
    dispatcher type, which numba's cache cannot match in a new process: the driver was
    compiled again in every job, ~1 CPU-second per chunk job.)"""
    bound = types.FunctionType(function.__code__, {**function.__globals__, "_decode_samples": decoder}, name)
    bound.__qualname__ = name
    bound.__doc__ = function.__doc__
    return bound


_scan_gt = _compiled(_with_decoder(_scan_lines_py, "_scan_gt", _gt_samples))
_scan_ds = _compiled(_with_decoder(_scan_lines_py, "_scan_ds", _ds_samples))
_haploid_mask = _compiled(_haploid_mask_py)


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
    """Per column: number of missing calls, −1 in an int8 block (int32 accumulators, vectorised)
    or NaN in a float block (``v != v`` is always false for integers)."""
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            v = d[i, j]
            out[j] += (v != v) | (v < 0)


def _dose_counts_py(d, n_missing, dose_sum, n_hom_ref, n_het, n_hom_alt):  # pragma: no cover
    """Per row of a float dosage block: missing (NaN) count, dosage sum (float64, in order),
    and the plink2 hardcall classes (dosage quantised to 1/16384, within 0.1 of 0, 1, 2)."""
    for i in range(d.shape[0]):
        m = 0
        total = 0.0
        h0 = 0
        h1 = 0
        h2 = 0
        for j in range(d.shape[1]):
            v = d[i, j]
            if v != v:
                m += 1
                continue
            total += v
            q = np.int64(np.floor(np.float64(v) * DOSAGE_UNITS + 0.5))
            r = q % DOSAGE_UNITS
            if min(r, DOSAGE_UNITS - r) <= HARDCALL_HALF_WIDTH:
                call = (q + DOSAGE_UNITS // 2) // DOSAGE_UNITS
                h0 += call == 0
                h1 += call == 1
                h2 += call == 2
        n_missing[i] = m
        dose_sum[i] = total
        n_hom_ref[i] = h0
        n_het[i] = h1
        n_hom_alt[i] = h2


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


_row_counts = _compiled(_row_counts_py)
_column_missing = _compiled(_column_missing_py)
_transpose = _compiled(_transpose_py)
_dose_counts = _compiled(_dose_counts_py)


def is_float_dosage(d: np.ndarray) -> bool:
    """True for a ``dosage_field: DS`` block (float32, NaN missing), False for int8 GT dosages."""
    return d.dtype.kind == "f"


def missing_counts(d: np.ndarray, per_sample: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Missing calls per row and (when ``per_sample``) per column of a dosage block of either
    kind (int8 −1 or float NaN), as int64."""
    if not is_float_dosage(d):
        n_missing, _, _, sample_missing = row_counts(d, per_sample)
        return n_missing, sample_missing
    d = np.ascontiguousarray(d)
    n = d.shape[0]
    n_missing = np.empty(n, dtype=np.int64)
    _dose_counts(d, n_missing, np.empty(n), *(np.empty(n, dtype=np.int64) for _ in range(3)))
    sample_missing = None
    if per_sample:
        sample_missing = np.zeros(d.shape[1], dtype=np.int64)
        _column_missing(d, sample_missing)
    return n_missing, sample_missing


def sample_missing_counts(d: np.ndarray) -> np.ndarray:
    """Missing calls per column of a dosage block of either kind, as int64 (the column pass of
    :func:`missing_counts` without its per-row counts)."""
    d = np.ascontiguousarray(d)
    out = np.zeros(d.shape[1], dtype=np.int64)
    for i in range(0, d.shape[0], 1 << 20):  # int32 cannot overflow within 2^20 rows
        part = np.zeros(d.shape[1], dtype=np.int32 if not is_float_dosage(d) else np.int64)
        _column_missing(d[i : i + (1 << 20)], part)
        out += part
    return out


def dose_counts(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(missing, dosage sum, hardcall hom-ref, het, hom-alt) per row of a float dosage block."""
    d = np.ascontiguousarray(d)
    n = d.shape[0]
    out = (np.empty(n, dtype=np.int64), np.empty(n), *(np.empty(n, dtype=np.int64) for _ in range(3)))
    _dose_counts(d, *out)
    return out


def row_counts(d: np.ndarray, per_sample: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(missing, ones, twos) per row and (when ``per_sample``) missing per column of an
    int8 dosage block, as int64."""
    d = np.ascontiguousarray(d)
    n_missing = np.empty(d.shape[0], dtype=np.int64)
    n_one = np.empty(d.shape[0], dtype=np.int64)
    n_two = np.empty(d.shape[0], dtype=np.int64)
    _row_counts(d, n_missing, n_one, n_two)
    sample_missing = None
    if per_sample:
        sample_missing = np.zeros(d.shape[1], dtype=np.int64)
        for i in range(0, d.shape[0], 1 << 20):  # int32 cannot overflow within 2^20 rows
            part = np.zeros(d.shape[1], dtype=np.int32)
            _column_missing(d[i : i + (1 << 20)], part)
            sample_missing += part
    return n_missing, n_one, n_two, sample_missing


def transpose_into(out: np.ndarray, block: np.ndarray) -> None:
    """``out[:] = block.T`` with the compiled tiled copy (``out`` may be a column slice)."""
    _transpose(np.ascontiguousarray(block), out)


def skip_lines(buf: np.ndarray, pos: int, n: int) -> tuple[int, int]:
    """Skip ``n`` non-blank lines of ``buf`` from ``pos``; returns (lines skipped, new pos)."""
    return _skip_lines(buf, pos, n)


#: the line scanner of each ``dosage_field``
_SCANNERS = {"GT": _scan_gt, "DS": _scan_ds}


def scan(
    buf: np.ndarray,
    pos: int,
    max_lines: int,
    n_file_samples: int,
    column_of: np.ndarray,
    dosage: np.ndarray,
    line_info: np.ndarray,
    field: str = "GT",
) -> tuple[int, int, int]:
    """Decode lines of ``buf`` from ``pos`` into ``dosage`` rows (see ``_scan_lines_py``): the GT
    calls (int8 dosages), or with ``field="DS"`` the DS entries (float32, see ``_ds_samples_py``)."""
    return _SCANNERS[field](buf, pos, max_lines, n_file_samples, column_of, dosage, line_info)


def fixed_fields(buf: np.ndarray, info: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tab positions, POS or −1) of the lines of ``info`` (see ``_fixed_fields_py``)."""
    n = info.shape[0]
    tabs = np.empty((n, 8), dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    _fixed_fields(buf, np.ascontiguousarray(info), tabs, pos)
    return tabs, pos


def column_texts(buf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[str]:
    """``buf[lo[k]:hi[k]]`` of every line decoded as UTF-8 (``UnicodeDecodeError`` as ``bytes.decode``)."""
    if not len(lo):
        return []
    out = np.empty(int((hi - lo).sum()) + len(lo), dtype=np.uint8)
    n = _join_column(buf, np.ascontiguousarray(lo), np.ascontiguousarray(hi), out)
    return out[: n - 1].tobytes().decode().split("\n")


def haploid_mask(buf: np.ndarray, info_end: int, n_file_samples: int, column_of: np.ndarray, n_out: int) -> np.ndarray:
    """Called-haploid mask (output columns) of a line decoded by :func:`scan`."""
    p = info_end + 1
    while buf[p] != 9:
        p += 1
    out = np.zeros(n_out, dtype=bool)
    _haploid_mask(buf, p + 1, n_file_samples, column_of, out)
    return out


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel on a tiny input."""
    buf = np.frombuffer(b"1\t5\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t1\n", dtype=np.uint8).copy()
    column_of = np.arange(2, dtype=np.int64)
    dosage = np.empty((2, 2), dtype=np.int8)
    info = np.empty((2, 6), dtype=np.int64)
    skip_lines(buf, 0, 1)
    scan(buf, 0, 1, 2, column_of, dosage, info)
    haploid_mask(buf, int(info[0, 1]), 2, column_of, 2)
    tabs, _ = fixed_fields(buf, info[:1])
    column_texts(buf, tabs[:1, 7] + 1, tabs[:1, 0])
    row_counts(dosage)
    out = np.empty((2, 4), dtype=np.int8)
    transpose_into(out[:, :2], dosage)  # a column slice of the output, as gather writes it
    ds = np.frombuffer(b"1\t5\t.\tA\tC\t.\tPASS\t.\tGT:DS\t0/1:1\t1:0.5e0\n", dtype=np.uint8).copy()
    dose = np.empty((2, 2), dtype=np.float32)
    scan(ds, 0, 1, 2, column_of, dose, info, "DS")
    missing_counts(dose)
    dose_counts(dose)
    out_ds = np.empty((2, 4), dtype=np.float32)
    transpose_into(out_ds[:, :2], dose)
