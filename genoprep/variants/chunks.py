"""Scatter: plan the chunks of an input file; store and load chunk results.

- **By region** when the file has a tabix/CSI index (``.tbi``/``.csi`` next to it):
  windows of ``region_bp`` bases over every contig listed in the index (contig lengths
  from the ``##contig`` lines; a contig without a length is one window). A record
  belongs to the window holding its POS, so windows never share a record.
- **By record count** otherwise: chunk ``i`` of size ``k`` holds data records
  ``[i*k, (i+1)*k)`` in file order (counted from 0). The counting pass also notes where
  each chunk's first record starts, so that its job seeks there instead of re-reading
  the file up to it: a BGZF virtual offset (compressed block start ``<< 16`` | offset in
  the inflated block) for BGZF, the byte offset for uncompressed VCF. Plain gzip cannot
  seek and BCF goes through cyvcf2 (no seek by virtual offset): no offset, the job reads
  from the start and skips the records before its range.

The specs are :class:`genoprep.variants.records.ChunkSpec` (they serialise themselves).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from genoprep.errors import InputError
from genoprep.textio import is_gzip
from genoprep.variants import vcfio
from genoprep.variants.records import MAX_POSITION, ChunkSpec, Region


def count_records(path: str | Path) -> int:
    """Number of data records (non-blank, non-header lines; BCF via cyvcf2)."""
    if vcfio.is_bcf(path):
        import cyvcf2

        try:
            vcf = cyvcf2.VCF(str(path), lazy=True)
        except Exception as err:  # noqa: BLE001 -cyvcf2 raises plain Exception on bad headers
            raise InputError(str(path), f"cannot open as BCF: {err}") from None
        try:
            vcfio.check_sample_ids(str(path), list(vcf.samples))
            return sum(1 for _ in vcf)
        finally:
            vcf.close()
    return vcfio.record_offsets(path, 0)[0]


def record_chunk_offsets(path: str | Path, records_per_chunk: int) -> tuple[int, list[int] | None]:
    """One pass: the number of data records and the seek position of the first record of
    every chunk of ``records_per_chunk`` records — BGZF virtual offsets for BGZF, byte
    offsets for uncompressed VCF; ``None`` for plain gzip and BCF (no seek)."""
    if records_per_chunk < 1:
        raise ValueError("records_per_chunk must be >= 1")
    if vcfio.is_bcf(path):
        return count_records(path), None
    if is_gzip(path) and not vcfio.is_bgzf(path):
        return vcfio.record_offsets(path, 0)[0], None
    n, text_offsets = vcfio.record_offsets(path, records_per_chunk)
    text_offsets = text_offsets[: math.ceil(n / records_per_chunk)]  # chunks that hold records
    if is_gzip(path):
        return n, vcfio.virtual_offsets(path, text_offsets)
    return n, text_offsets


def plan_record_chunks(n_records: int, records_per_chunk: int, offsets: list[int] | None = None) -> list[ChunkSpec]:
    """Chunk ``i`` = records ``[i*size, (i+1)*size)``; at least one (possibly empty) chunk.

    ``offsets[i]``: the seek position of chunk ``i``'s first record (see
    :func:`record_chunk_offsets`); a chunk without one is read from the start. A chunk's
    ``end_offset`` is the next chunk's offset (its job stops reading there).
    """
    if records_per_chunk < 1:
        raise ValueError("records_per_chunk must be >= 1")
    n_chunks = max(1, math.ceil(n_records / records_per_chunk))
    offsets = offsets or []
    return [
        ChunkSpec(
            i,
            first_record=i * records_per_chunk,
            n_records=min(records_per_chunk, max(n_records - i * records_per_chunk, 0)),
            offset=offsets[i] if i < len(offsets) else None,
            end_offset=offsets[i + 1] if i + 1 < len(offsets) else None,
        )
        for i in range(n_chunks)
    ]


def _has_record(vcf, region: Region) -> bool:
    """Whether some record of an indexed file starts (POS) inside ``region``."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="no intervals found")
            for variant in vcf(vcfio.region_query(region.chrom, region.start, region.end)):
                if region.contains(variant.CHROM, variant.POS):
                    return True
    except Exception:  # noqa: BLE001 -the contig is not in the index
        return False
    return False


def plan_region_chunks(path: str | Path, region_bp: int) -> list[ChunkSpec]:
    """Windows of ``region_bp`` bases over the contigs of an indexed file.

    Windows where no record starts are left out (index look-ups, cheap), so a header
    listing thousands of contigs or long empty stretches gives no empty jobs.
    """
    import cyvcf2

    if region_bp < 1:
        raise ValueError("region_bp must be >= 1")
    if vcfio.index_path(path) is None:
        raise InputError(str(path), "region chunks need a .tbi or .csi index")
    vcf = cyvcf2.VCF(str(path), lazy=True)
    try:
        contigs = list(vcf.seqnames)
        try:
            lengths = dict(zip(vcf.seqnames, vcf.seqlens, strict=False))
        except Exception:  # noqa: BLE001 -no ##contig lengths
            lengths = {}
        windows: list[Region] = []
        for chrom in contigs:
            whole = Region(chrom, 1, MAX_POSITION)
            if not _has_record(vcf, whole):
                continue
            length = lengths.get(chrom)
            if not length or length <= 0:
                windows.append(whole)
                continue
            for start in range(1, length + 1, region_bp):
                end = min(start + region_bp - 1, length)
                if end == length:
                    end = MAX_POSITION  # records past the declared length stay in the last window
                window = Region(chrom, start, end)
                if _has_record(vcf, window):
                    windows.append(window)
    finally:
        vcf.close()
    if not windows:  # an empty file: one empty chunk keeps the gather step uniform
        return plan_record_chunks(0, 1)
    return [ChunkSpec(i, region=w) for i, w in enumerate(windows)]


def plan_chunks(
    path: str | Path,
    records_per_chunk: int = 50_000,
    region_bp: int | None = None,
) -> list[ChunkSpec]:
    """Region windows when ``region_bp`` is set and the file is indexed, else record ranges."""
    if region_bp is not None and vcfio.index_path(path) is not None:
        return plan_region_chunks(path, region_bp)
    n, offsets = record_chunk_offsets(path, records_per_chunk)
    return plan_record_chunks(n, records_per_chunk, offsets)
