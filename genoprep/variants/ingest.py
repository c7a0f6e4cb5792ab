"""Read one chunk of a VCF/VCF.gz/BCF into a dosage block with its statistics.

A chunk is either a record range (chunk ``i`` of size ``k`` = data records
``[i*k, (i+1)*k)``, counted from 0 in file order) or a region ``chrom:start-end`` of an
indexed file (records whose POS lies in the region, so neighbouring regions never share
a record). Reading is streaming with bounded memory: the dosage rows go into a
preallocated block that grows geometrically, and nothing else is kept per record.

Two readers give identical results (see :mod:`genoprep.variants.records` for the
semantics they share):

- ``engine="cyvcf2"`` — the general path: htslib via cyvcf2 with ``strict_gt=True``;
  each record's ``genotype.array()`` is copied before the next record is read (cyvcf2
  reuses the buffer). Handles BCF, region queries and every layout htslib reads.
- ``engine="text"`` — the fast path for VCF text (plain, gzip, BGZF) read by record
  range: :mod:`genoprep.variants.vcfio` inflates the text, the numba kernel
  :func:`genoprep.variants.fastgt.scan` decodes GT, and
  :func:`genoprep.variants.records.decode_line` decodes the lines it flags.
- ``engine="auto"`` (default) picks ``text`` for text VCFs read by record range and
  ``cyvcf2`` otherwise.

Caveat: htslib/cyvcf2 0.35 crash (segfault) on some malformed GT values such as
``0/A``; the text path validates every GT itself and raises an :class:`InputError`, so
``auto`` is the safe choice for text input.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Literal

import numpy as np

from genoprep.errors import InputError
from genoprep.prefetch import prefetched
from genoprep.textio import check_readable
from genoprep.variants import fastgt, vcfio
from genoprep.variants.records import (
    LOAD_COUNTS,
    ChunkResult,
    ChunkSpec,
    LoadOptions,
    decode_line,
    decode_line_ds,
    dosage_rows,
    ds_rows,
    record_label,
)

Engine = Literal["auto", "cyvcf2", "text"]


class _Rows:
    """Growable preallocated dosage rows plus per-row metadata."""

    def __init__(self, n_samples: int, capacity: int, dtype: type = np.int8) -> None:
        self.n_samples = n_samples
        self.dtype = dtype
        self.dosage = np.empty((max(capacity, 16), n_samples), dtype=dtype)
        self.haploid: np.ndarray | None = None
        self.n = 0
        self.chrom: list[str] = []
        self.pos: list[int] = []
        self.variant_id: list[str] = []
        self.ref: list[str] = []
        self.alt: list[str] = []
        self.filter: list[str] = []
        self.split: list[bool] = []

    def _reserve(self, k: int) -> None:
        need = self.n + k
        if need > self.dosage.shape[0]:
            cap = max(need, 2 * self.dosage.shape[0])
            grown = np.empty((cap, self.n_samples), dtype=self.dtype)
            grown[: self.n] = self.dosage[: self.n]
            self.dosage = grown
            if self.haploid is not None:
                h = np.zeros((cap, self.n_samples), dtype=bool)
                h[: self.n] = self.haploid[: self.n]
                self.haploid = h

    def add(self, meta: tuple, rows: np.ndarray, hap: np.ndarray | None) -> None:
        """Append the rows of one record, one per ALT (``hap``: called-haploid mask or None)."""
        self.add_rows([(meta, j) for j in range(rows.shape[0])], rows, hap)

    def _append_meta(self, row_meta: list[tuple[tuple, int]]) -> None:
        """Append the per-variant fields of rows given as (record meta, ALT index)."""
        for (chrom, pos, vid, ref, alts, filt), j in row_meta:
            self.chrom.append(chrom)
            self.pos.append(pos)
            self.variant_id.append(vid)
            self.ref.append(ref)
            self.alt.append(alts[j] if alts else ".")
            self.filter.append(filt)
            self.split.append(len(alts) > 1)

    def _set_haploid(self, k: int, hap: np.ndarray | None) -> None:
        """The called-haploid mask of the ``k`` rows about to be added (kept only once a row has one)."""
        if hap is not None and hap.any():
            if self.haploid is None:
                self.haploid = np.zeros((self.dosage.shape[0], self.n_samples), dtype=bool)
            self.haploid[self.n : self.n + k] = hap
        elif self.haploid is not None:
            self.haploid[self.n : self.n + k] = False

    def add_rows(self, row_meta: list[tuple[tuple, int]], block: np.ndarray, hap: np.ndarray | None) -> None:
        """Append dosage rows with their (record meta, ALT index) and called-haploid mask."""
        k = block.shape[0]
        self._reserve(k)
        self.dosage[self.n : self.n + k] = block
        self._set_haploid(k, hap)
        self.n += k
        self._append_meta(row_meta)

    def result(self, source: str, spec: ChunkSpec, samples: list[str], counts: dict) -> ChunkResult:
        dosage = self.dosage[: self.n]
        if self.n < 0.75 * self.dosage.shape[0]:
            dosage = dosage.copy()  # give back the unused capacity
        haploid = None
        if self.haploid is not None:
            haploid = self.haploid[: self.n].copy()
            if not haploid.any():
                haploid = None
        variant_n_missing, sample_n_missing = fastgt.missing_counts(dosage)
        return ChunkResult(
            source=source,
            spec=spec,
            samples=list(samples),
            chrom=self.chrom,
            pos=np.asarray(self.pos, dtype=np.int64),
            variant_id=self.variant_id,
            ref=self.ref,
            alt=self.alt,
            filter=self.filter,
            split_multiallelic=np.asarray(self.split, dtype=bool),
            dosage_by_variant=dosage,
            haploid=haploid,
            load_counts=counts,
            sample_n_missing=sample_n_missing,
            variant_n_missing=variant_n_missing,
        )


#: load everything (no regions, samples or FILTER restriction)
_DEFAULT_LOAD = LoadOptions()


def _new_counts() -> dict[str, int]:
    return dict.fromkeys(LOAD_COUNTS, 0)


def _sample_selection(source: str, file_samples: list[str], options: LoadOptions) -> np.ndarray | None:
    """Indices (file order) of the selected samples, or None for all."""
    if options.samples is None:
        return None
    index = {s: i for i, s in enumerate(file_samples)}
    unknown = [s for s in options.samples if s not in index]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise InputError(source, f"{len(unknown)} requested sample(s) not in the file: {shown}")
    return np.asarray(sorted({index[s] for s in options.samples}), dtype=np.int64)


class _Keeper:
    """Applies the load-time record filters and counts what they remove."""

    def __init__(self, options: LoadOptions, counts: dict[str, int]) -> None:
        self.options = options
        self.counts = counts

    def __call__(self, chrom: str, pos: int, n_alt: int, filt: str) -> bool:
        c = self.counts
        c["records_read"] += 1
        if not self.options.keeps_position(chrom, pos):
            c["records_removed_region"] += 1
            return False
        if not self.options.keeps_filter(filt):
            c["records_removed_filter"] += 1
            return False
        if n_alt > 1:
            if self.options.multiallelic == "drop":
                c["records_removed_multiallelic"] += 1
                return False
            c["records_split_multiallelic"] += 1
        return True


def choose_engine(path: str | Path, spec: ChunkSpec, engine: Engine) -> Literal["cyvcf2", "text"]:
    """Resolve ``auto``: text for VCF text read by record range, cyvcf2 otherwise."""
    if engine != "auto":
        if engine == "text" and (spec.region is not None or vcfio.is_bcf(path)):
            raise ValueError("the text engine reads VCF text by record range only")
        return engine
    if spec.region is not None or vcfio.is_bcf(path):
        return "cyvcf2"
    return "text"


def read_chunk(
    path: str | Path,
    spec: ChunkSpec,
    options: LoadOptions = _DEFAULT_LOAD,
    engine: Engine = "auto",
) -> ChunkResult:
    """Read the records of ``spec`` from ``path`` into a :class:`ChunkResult`."""
    check_readable(path)
    if choose_engine(path, spec, engine) == "text":
        return _read_text(path, spec, options)
    return _read_cyvcf2(path, spec, options)


def read_all(path: str | Path, options: LoadOptions = _DEFAULT_LOAD, engine: Engine = "auto") -> ChunkResult:
    """The whole file as one chunk (records ``[0, ∞)``)."""
    return read_chunk(path, ChunkSpec(0, first_record=0, n_records=2**62), options, engine)


def _initial_capacity(spec: ChunkSpec) -> int:
    if spec.n_records is not None:
        return min(spec.n_records, 4096)
    return 4096


class _ScanRows(_Rows):
    """Dosage rows the numba scan writes in place: one preallocated block (``capacity`` rows;
    untouched pages cost no memory) that doubles only when the records hold more rows (ALT
    alleles) than it has room for. Per-row metadata is appended in bulk."""

    def __init__(self, n_samples: int, capacity: int, dtype: type = np.int8) -> None:
        super().__init__(n_samples, 0, dtype)
        self.dosage = np.empty((max(capacity, 1), n_samples), dtype=dtype)

    def free(self) -> np.ndarray:
        """The rows not used yet (a C-contiguous view the scan writes into)."""
        return self.dosage[self.n :]

    def grow(self) -> None:
        """Double the block (the next record has more rows than :meth:`free` holds)."""
        self._reserve(self.dosage.shape[0] - self.n + 1)

    def commit(
        self, block: np.ndarray, keep_row: np.ndarray | None, hap: np.ndarray | None, columns: tuple[list, ...]
    ) -> None:
        """Keep the scanned rows ``block`` (the head of :meth:`free`) where ``keep_row``, with their
        called-haploid mask and the per-row ``(chrom, pos, id, ref, alt, filter, split)`` lists."""
        if keep_row is not None:
            block = block[keep_row]  # a copy: the kept rows move to the front of the free rows
            hap = None if hap is None else hap[keep_row]
            self.dosage[self.n : self.n + block.shape[0]] = block
        k = block.shape[0]
        self._set_haploid(k, hap)
        self.n += k
        targets = (self.chrom, self.pos, self.variant_id, self.ref, self.alt, self.filter, self.split)
        for target, values in zip(targets, columns, strict=True):
            target.extend(values)

    def result(self, source: str, spec: ChunkSpec, samples: list[str], counts: dict) -> ChunkResult:
        n = self.n
        dosage = self.dosage[:n]  # a view: the capacity beyond it was never touched
        self.dosage = dosage
        if self.haploid is not None:
            self.haploid = self.haploid[:n]
        self.n = n
        return super().result(source, spec, samples, counts)


#: rows reserved up front when neither the chunk's record count nor the text size is known
_UNKNOWN_CAPACITY = 4096
#: at most this many bytes of dosage rows are reserved up front (more rows double the block)
_MAX_RESERVE = 1 << 30


def _capacity(path: str | Path, spec: ChunkSpec, n_file: int, n_out: int, itemsize: int) -> int:
    """Rows to reserve: the chunk's record count, or for a whole file a bound from the text
    size (a record holds at least two bytes per sample), at most :data:`_MAX_RESERVE` bytes."""
    if spec.n_records is not None and spec.n_records < 2**40:
        rows = spec.n_records
    else:
        size = vcfio.text_size(path)
        rows = _UNKNOWN_CAPACITY if size is None else size // (2 * max(n_file, 1)) + 1
    return max(1, min(rows, _MAX_RESERVE // max(n_out * itemsize, 1)))


def _read_text(path: str | Path, spec: ChunkSpec, options: LoadOptions) -> ChunkResult:
    """The text route: vcfio line blocks, the numba scan writing the dosage rows in place, the
    fixed columns of fully decoded lines in one vectorised pass (:func:`_emit_plain`), the
    per-line decoder for flagged lines (:func:`_emit_scanned`)."""
    source = str(path)
    # one block at a time through prefetched (nothing kept from a block): buffers recycled
    depth = vcfio.PREFETCH_DEPTH
    vcf = vcfio.VcfText(path, start=spec.offset, stop=spec.end_offset, recycle=depth + 3)
    n_file = len(vcf.samples)
    keep_samples = _sample_selection(source, vcf.samples, options)
    samples = vcf.samples if keep_samples is None else [vcf.samples[i] for i in keep_samples]
    n_out = len(samples)
    column_of = np.arange(n_file, dtype=np.int64)
    if keep_samples is not None:
        column_of[:] = -1
        column_of[keep_samples] = np.arange(len(keep_samples))
    counts = _new_counts()
    keeper = _Keeper(options, counts)
    by_ds = options.dosage_field == "DS"
    dtype = np.float32 if by_ds else np.int8
    rows = _ScanRows(n_out, _capacity(path, spec, n_file, n_out, np.dtype(dtype).itemsize), dtype)
    scan = _Scan(rows, keeper, n_file, keep_samples, column_of, source)
    to_skip, to_read = spec.first_record, spec.n_records
    record = 0  # data records seen so far (0-based number of the next one)
    if spec.offset is not None:  # the reader starts at the chunk's first record
        to_skip, record = 0, spec.first_record
    batch_lines = max(64, (8 << 20) // max(n_out, 1))
    if spec.n_records is not None:
        batch_lines = max(1, min(batch_lines, spec.n_records))
    line_info = np.empty((batch_lines, 6), dtype=np.int64)
    field = options.dosage_field
    for buf in prefetched(vcf.data_blocks(), depth, "genoprep-inflate"):  # inflation overlaps the scan
        pos = 0
        if to_skip:
            skipped, pos = fastgt.skip_lines(buf, 0, to_skip)
            to_skip -= skipped
            record += skipped
            if to_skip:
                continue
        while to_read > 0 and pos < len(buf):
            free = rows.free()
            n_lines, pos, n_rows = fastgt.scan(buf, pos, to_read, n_file, column_of, free, line_info, field)
            if n_lines == 0:
                if pos < len(buf):
                    rows.grow()  # the next record has more ALT columns than there are free rows
                continue
            info = line_info[:n_lines]
            emit = _emit_plain if not (info[:, 4] == fastgt.STATUS_SLOW).any() else _emit_scanned
            emit(scan, buf, free, info, n_rows, record + 1)
            record += n_lines
            to_read -= n_lines
        if to_read <= 0:
            break
    return rows.result(source, spec, samples, counts)


@dataclasses.dataclass(frozen=True)
class _Scan:
    """What the emitters need of one chunk's text read, the same for every block: where the rows go,
    the load-time filters, and how the file's sample columns map to the kept samples."""

    rows: _ScanRows
    keeper: _Keeper
    n_file: int
    keep_samples: np.ndarray | None
    column_of: np.ndarray
    source: str


def _emit_plain(
    scan: _Scan, buf: np.ndarray, dosage: np.ndarray, info: np.ndarray, n_rows: int, first_record_number: int
) -> None:
    """:func:`_emit_scanned` for lines the scan decoded in full (no :data:`~fastgt.STATUS_SLOW`
    line): the fixed columns in one vectorised pass over the block, the load-time filters as
    array operations; the same rows, metadata, counts and errors. Lines it cannot vouch for
    (a POS that is not plain digits, columns that are not UTF-8) go to :func:`_emit_scanned`."""
    rows, keeper = scan.rows, scan.keeper
    tabs, pos = fastgt.fixed_fields(buf, info)
    try:
        # CHROM, ID, REF, ALT, FILTER: column f runs from the tab ending column f-1 (tabs[:, 7] for CHROM)
        chrom, vid, ref, alt, filt = (
            fastgt.column_texts(buf, tabs[:, before] + 1, tabs[:, f])
            for before, f in ((7, 0), (1, 2), (2, 3), (3, 4), (5, 6))
        )
    except UnicodeDecodeError:
        chrom = None
    if chrom is None or (pos < 0).any():
        _emit_scanned(scan, buf, dosage, info, n_rows, first_record_number)
        return
    n_lines = len(info)
    n_alt = info[:, 3]
    options, counts = keeper.options, keeper.counts
    counts["records_read"] += n_lines
    keep = np.ones(n_lines, dtype=bool)
    if options.regions is not None:  # the order of _Keeper: region, FILTER, multi-allelic
        keep = np.fromiter(map(options.keeps_position, chrom, pos.tolist()), dtype=bool, count=n_lines)
        counts["records_removed_region"] += n_lines - int(keep.sum())
    if options.pass_only:
        passes = np.fromiter(map(options.keeps_filter, filt), dtype=bool, count=n_lines)
        counts["records_removed_filter"] += int((keep & ~passes).sum())
        keep &= passes
    multi = n_alt > 1
    if options.multiallelic == "drop":
        counts["records_removed_multiallelic"] += int((keep & multi).sum())
        keep &= ~multi
    else:
        counts["records_split_multiallelic"] += int((keep & multi).sum())
    n_cols = np.maximum(n_alt, 1)
    hap = None
    haploid_lines = np.flatnonzero(keep & (info[:, 4] == fastgt.STATUS_HAPLOID))
    if len(haploid_lines):
        hap = np.zeros((n_rows, rows.n_samples), dtype=bool)
        for k in haploid_lines.tolist():
            row0 = int(info[k, 5])
            hap[row0 : row0 + int(n_cols[k])] = fastgt.haploid_mask(
                buf, int(info[k, 1]), scan.n_file, scan.column_of, rows.n_samples
            )
    all_kept = bool(keep.all())
    positions = pos.tolist()
    if not multi.any():
        if all_kept:
            columns = (chrom, positions, vid, ref, alt, filt, [False] * n_lines)
        else:
            kept = np.flatnonzero(keep).tolist()
            columns = tuple([values[k] for k in kept] for values in (chrom, positions, vid, ref, alt, filt))
            columns = (*columns, [False] * len(kept))
        rows.commit(dosage[:n_rows], None if all_kept else keep, hap, columns)
        return
    columns = ([], [], [], [], [], [], [])  # one row per ALT (the split of a multi-allelic record)
    for k in np.flatnonzero(keep).tolist():
        m = int(n_cols[k])
        for target, value in zip(columns, (chrom[k], positions[k], vid[k], ref[k], None, filt[k], m > 1), strict=True):
            target.extend([value] * m)
        columns[4][-m:] = alt[k].split(",") if m > 1 else [alt[k]]
    rows.commit(dosage[:n_rows], None if all_kept else np.repeat(keep, n_cols), hap, columns)


def _emit_scanned(
    scan: _Scan, buf: np.ndarray, dosage: np.ndarray, info: np.ndarray, n_rows: int, first_record_number: int
) -> None:
    """Append the lines decoded by :func:`fastgt.scan` (GT or DS) that pass
    the load-time filters, line by line (flagged lines by the per-line decoder)."""
    rows, keeper, n_file, keep_samples, source = scan.rows, scan.keeper, scan.n_file, scan.keep_samples, scan.source
    keep_row = None
    row_meta: list[tuple[tuple, int]] = []  # (record meta, ALT index) per kept row
    special: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # first row -> (rows, called haploid)
    slow, haploid = fastgt.STATUS_SLOW, fastgt.STATUS_HAPLOID
    by_ds = fastgt.is_float_dosage(dosage)
    for k, (start, info_end, end, _n_alt, status, row0) in enumerate(info.tolist()):
        number = first_record_number + k
        decoded = None  # (dosage rows, called-haploid mask or None, has a genotype field)
        if status == slow:
            line = buf[start:end].tobytes()
            if by_ds:
                meta, r, has_field = decode_line_ds(line, n_file, keep_samples, number, source)
                decoded = (r, None, has_field)
            else:
                meta, x, y, h, has_field = decode_line(line, n_file, keep_samples, number, source)
                decoded = (*dosage_rows(x, y, h, len(meta[4])), has_field)
        else:
            meta = _fixed_columns(buf[start:info_end].tobytes(), number, source)
        chrom, pos, _, _, alts, filt = meta
        n_cols = max(len(alts), 1)
        if not keeper(chrom, pos, len(alts), filt):
            if keep_row is None:
                keep_row = np.ones(n_rows, dtype=bool)
            keep_row[row0 : row0 + n_cols] = False
            continue
        if decoded is not None:
            r, hc, has_field = decoded
            keeper.counts["records_without_gt"] += not has_field
            dosage[row0 : row0 + n_cols] = r
            if hc is not None:
                special[row0] = (r, hc)
        elif status == haploid:
            special[row0] = (
                dosage[row0 : row0 + n_cols],
                fastgt.haploid_mask(buf, info_end, n_file, scan.column_of, rows.n_samples),
            )
        if n_cols == 1:
            row_meta.append((meta, 0))
        else:
            row_meta.extend((meta, j) for j in range(n_cols))
    hap = None
    if special:
        hap = np.zeros((n_rows, rows.n_samples), dtype=bool)
        for row0, (r, hc) in special.items():
            hap[row0 : row0 + r.shape[0]] = hc
    columns = ([], [], [], [], [], [], [])
    for (chrom, pos, vid, ref, alts, filt), j in row_meta:
        for target, value in zip(
            columns, (chrom, pos, vid, ref, alts[j] if alts else ".", filt, len(alts) > 1), strict=True
        ):
            target.append(value)
    rows.commit(dosage[:n_rows], keep_row, hap, columns)


def _fixed_columns(text: bytes, number: int, source: str) -> tuple:
    """``(chrom, pos, id, ref, alts, filter)`` of a line the scan decoded (CHROM..INFO)."""
    fields = text.split(b"\t", 7)
    chrom = fields[0].decode()
    try:
        pos = int(fields[1])
    except ValueError:
        raise InputError(
            source,
            f"POS {fields[1].decode(errors='replace')!r} is not an integer",
            record_label(number, chrom, fields[1].decode(errors="replace")),
        ) from None
    alts = [] if fields[4] == b"." else fields[4].decode().split(",")
    return chrom, pos, fields[2].decode(), fields[3].decode(), alts, fields[6].decode()


def _read_cyvcf2(path: str | Path, spec: ChunkSpec, options: LoadOptions) -> ChunkResult:
    import cyvcf2

    source = str(path)
    try:
        vcf = cyvcf2.VCF(str(path), strict_gt=True, lazy=True)
    except (OSError, Exception) as e:  # noqa: BLE001 -cyvcf2 raises plain Exception on bad headers
        raise InputError(source, f"cannot open as VCF/BCF: {e}") from None
    try:
        file_samples = list(vcf.samples)
        vcfio.check_sample_ids(source, file_samples)
        keep_samples = _sample_selection(source, file_samples, options)
        samples = file_samples if keep_samples is None else [file_samples[i] for i in keep_samples]
        counts = _new_counts()
        keeper = _Keeper(options, counts)
        by_ds = options.dosage_field == "DS"
        rows = _Rows(len(samples), _initial_capacity(spec), np.float32 if by_ds else np.int8)
        if spec.region is not None:
            reg = spec.region
            try:
                iterator = vcf(vcfio.region_query(reg.chrom, reg.start, reg.end))
            except Exception as e:  # noqa: BLE001 - cyvcf2/htslib raise plain Exception
                raise InputError(source, f"cannot query region {reg}: {e}") from None
            first, stop = 0, 2**62
        else:
            iterator = iter(vcf)
            first, stop = spec.first_record, spec.first_record + spec.n_records
        number = 0
        while True:
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="no intervals found")
                    variant = next(iterator)
            except StopIteration:
                break
            except Exception as e:  # noqa: BLE001 - cyvcf2/htslib raise plain Exception
                raise InputError(
                    source, f"htslib cannot parse the record: {e}", record_label(number + 1, None, None)
                ) from None
            number += 1
            if spec.region is not None and not spec.region.contains(variant.CHROM, variant.POS):
                continue  # overlaps the region but starts outside it
            if number <= first:
                continue
            if number > stop:
                break
            chrom, pos = variant.CHROM, variant.POS
            alts = list(variant.ALT)
            filters = variant.FILTERS
            filt = ";".join(filters) if filters else "."
            if not keeper(chrom, pos, len(alts), filt):
                continue
            meta = (chrom, pos, variant.ID or ".", variant.REF, alts, filt)
            try:
                gt = variant.genotype
            except Exception:  # noqa: BLE001 - cyvcf2 raises a plain Exception when FORMAT has no GT
                gt = None
            n = len(file_samples)
            if gt is None:
                counts["records_without_gt"] += not by_ds
                x = np.full(n, -1, np.int16)
                y = np.full(n, -1, np.int16)
            else:
                arr = gt.array().copy()  # cyvcf2 reuses the buffer: copy first
                if arr.shape[1] - 1 > 2:
                    label = record_label(number if spec.region is None else None, chrom, pos)
                    raise InputError(
                        source, f"ploidy {arr.shape[1] - 1}; only haploid and diploid calls are supported", label
                    )
                x = arr[:, 0].astype(np.int16)
                y = arr[:, 1].astype(np.int16) if arr.shape[1] >= 3 else np.full(n, -2, np.int16)
            if keep_samples is not None:
                x, y = x[keep_samples], y[keep_samples]
            h = y == -2
            top = max(len(alts), 0)
            if (x > top).any() or ((y > top) & ~h).any():
                label = record_label(number if spec.region is None else None, chrom, pos)
                bad = int(max(x.max(), y.max()))
                raise InputError(
                    source, f"GT refers to allele {bad} but the record has {len(alts)} ALT allele(s)", label
                )
            r, hc = dosage_rows(x, y, h, len(alts))
            if by_ds:
                label = record_label(number if spec.region is None else None, chrom, pos)
                ds = _format_texts(variant, "DS", keep_samples, len(r[0]))
                gp = _format_texts(variant, "GP", keep_samples, len(r[0]))
                counts["records_without_gt"] += gt is None and ds[0] is None and gp[0] is None
                rows.add(meta, ds_rows(r, ds, gp, len(alts), source, label), None)
                continue
            rows.add(meta, r, np.broadcast_to(hc, r.shape))
        return rows.result(source, spec, samples, counts)
    finally:
        vcf.close()


def _format_texts(variant, key: str, keep_samples: np.ndarray | None, n: int) -> list[bytes | None]:
    """Each selected sample's ``key`` entry as VCF text (``None`` when the record has no such
    FORMAT key), so that both readers apply :func:`genoprep.variants.records.ds_rows` to the
    same text. htslib's missing values (NaN) and vector ends become ``.``."""
    try:
        values = variant.format(key)
    except KeyError:
        values = None
    if values is None:
        return [None] * n
    if keep_samples is not None:
        values = values[keep_samples]
    texts = []
    for row in np.asarray(values, dtype=np.float64).reshape(n, -1):
        kept = [v for v in row if not np.isnan(v)]
        texts.append(b",".join(repr(float(v)).encode() for v in kept) if kept else b".")
    return texts
