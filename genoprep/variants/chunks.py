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

A chunk result is saved as an uncompressed ``.npz`` (arrays only, no pickle).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np

from genoprep.errors import InputError
from genoprep.variants import textgt
from genoprep.variants.ingest import ChunkResult, ChunkSpec
from genoprep.variants.records import MAX_POSITION, Region


def index_path(path: str | Path) -> Path | None:
    """The ``.tbi``/``.csi`` index of ``path`` if one exists."""
    for suffix in (".tbi", ".csi"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            return candidate
    return None


_BGZF_MAGIC = b"\x1f\x8b\x08\x04"


def bgzf_blocks(path: str | Path, read_size: int = 4 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Compressed start and text start of every BGZF block, from the block headers and
    ISIZE footers (nothing is inflated). Returns two int64 arrays."""
    source = str(path)
    coffsets: list[int] = []
    ustarts: list[int] = []
    text_at = 0
    with open(path, "rb") as f:
        pending, base = b"", 0  # base: file offset of pending[0]
        while True:
            data = f.read(read_size)
            buf = pending + data if pending else data
            at = 0
            while at + 18 <= len(buf):
                if buf[at : at + 4] != _BGZF_MAGIC or buf[at + 12 : at + 14] != b"BC":
                    raise InputError(source, f"not a BGZF block at compressed byte offset {base + at}")
                size = int.from_bytes(buf[at + 16 : at + 18], "little") + 1
                if at + size > len(buf):
                    break
                coffsets.append(base + at)
                ustarts.append(text_at)
                text_at += int.from_bytes(buf[at + size - 4 : at + size], "little")
                at += size
            pending, base = buf[at:], base + at
            if not data:
                if pending:
                    raise InputError(source, "truncated BGZF file (the last block is incomplete)")
                break
    return np.asarray(coffsets, dtype=np.int64), np.asarray(ustarts, dtype=np.int64)


def virtual_offsets(path: str | Path, text_offsets: list[int]) -> list[int]:
    """BGZF virtual offsets (``block_start << 16 | offset_in_block``) of text offsets."""
    if not text_offsets:
        return []
    coffsets, ustarts = bgzf_blocks(path)
    at = np.asarray(text_offsets, dtype=np.int64)
    block = np.searchsorted(ustarts, at, side="right") - 1  # the last block starting at or before
    within = at - ustarts[block]
    if (block < 0).any() or (within >= 1 << 16).any():
        raise InputError(str(path), "BGZF block table does not cover the text (corrupt ISIZE?)")
    return [int(c) << 16 | int(w) for c, w in zip(coffsets[block], within, strict=True)]


def _record_text_offsets(path: str | Path, every: int) -> tuple[int, list[int]]:
    """Number of data records of a VCF text and the text offsets (in the decompressed
    text) where records ``0, every, 2*every, ...`` begin (``every`` 0: none)."""
    from genoprep.variants import fastgt

    n = 0
    offsets: list[int] = []
    want = 0 if every else None
    if fastgt.available():
        return _record_text_offsets_raw(path, every)
    vcf = textgt.TextVcf(path)
    at = vcf.data_start
    for block in vcf.data_blocks():
        _, starts, ends = textgt.split_lines(block)
        starts = starts[ends > starts]
        while want is not None and want < n + len(starts):
            offsets.append(at + int(starts[want - n]))
            want += every
        n += len(starts)
        at += len(block)
    return n, offsets


def _record_text_offsets_raw(path: str | Path, every: int) -> tuple[int, list[int]]:
    """:func:`_record_text_offsets` on the raw inflated pieces (no line blocks): inflation
    in a background thread, newlines counted with numpy; a line is a record when it holds
    at least one byte (as :func:`fastgt.skip_lines` counts)."""
    from genoprep.variants import fastgt

    pieces = fastgt.prefetched(fastgt.text_pieces(path))
    header = b""
    first = None
    for piece in pieces:
        header += piece.tobytes()
        idx = header.find(b"#CHROM")
        while idx > 0 and header[idx - 1] != 10:
            idx = header.find(b"#CHROM", idx + 1)
        if idx >= 0 and (end := header.find(b"\n", idx)) >= 0:
            data_start = end + 1
            first = piece[data_start - (len(header) - len(piece)) :]
            break
    if first is None:
        raise InputError(str(path), "no #CHROM header line: not a VCF")
    del header
    n, at = 0, data_start
    offsets = [data_start] if every else []
    want = every if every else None  # the next record whose start is wanted (>= 1)
    prev_newline = True

    def segments():
        yield first
        yield from pieces

    for arr in segments():
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
    if not prev_newline:
        n += 1  # a last line without a newline
    return n, offsets


def count_records(path: str | Path) -> int:
    """Number of data records (non-blank, non-header lines; BCF via cyvcf2)."""
    if textgt.is_bcf(path):
        import cyvcf2

        vcf = cyvcf2.VCF(str(path), lazy=True)
        try:
            return sum(1 for _ in vcf)
        finally:
            vcf.close()
    return _record_text_offsets(path, 0)[0]


def record_chunk_offsets(path: str | Path, records_per_chunk: int) -> tuple[int, list[int] | None]:
    """One pass: the number of data records and the seek position of the first record of
    every chunk of ``records_per_chunk`` records — BGZF virtual offsets for BGZF, byte
    offsets for uncompressed VCF; ``None`` for plain gzip and BCF (no seek)."""
    if records_per_chunk < 1:
        raise ValueError("records_per_chunk must be >= 1")
    if textgt.is_bcf(path):
        return count_records(path), None
    if textgt.is_gzip(path) and not textgt.is_bgzf_file(path):
        return _record_text_offsets(path, 0)[0], None
    n, text_offsets = _record_text_offsets(path, records_per_chunk)
    text_offsets = text_offsets[: math.ceil(n / records_per_chunk)]  # chunks that hold records
    if textgt.is_gzip(path):
        return n, virtual_offsets(path, text_offsets)
    return n, text_offsets


def plan_record_chunks(n_records: int, records_per_chunk: int,
                       offsets: list[int] | None = None) -> list[ChunkSpec]:
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
        ChunkSpec(i, first_record=i * records_per_chunk,
                  n_records=min(records_per_chunk, max(n_records - i * records_per_chunk, 0)),
                  offset=offsets[i] if i < len(offsets) else None,
                  end_offset=offsets[i + 1] if i + 1 < len(offsets) else None)
        for i in range(n_chunks)
    ]


def _has_record(vcf, region: Region) -> bool:
    """Whether some record of an indexed file starts (POS) inside ``region``."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="no intervals found")
            for variant in vcf(region_query(region)):
                if region.contains(variant.CHROM, variant.POS):
                    return True
    except Exception:  # the contig is not in the index
        return False
    return False


def region_query(region: Region) -> str:
    """The htslib region string (``{chrom}:start-end`` when the name holds a ``:``)."""
    chrom = f"{{{region.chrom}}}" if ":" in region.chrom else region.chrom
    return f"{chrom}:{region.start}-{min(region.end, 2**31 - 2)}"


def plan_region_chunks(path: str | Path, region_bp: int) -> list[ChunkSpec]:
    """Windows of ``region_bp`` bases over the contigs of an indexed file.

    Windows where no record starts are left out (index look-ups, cheap), so a header
    listing thousands of contigs or long empty stretches gives no empty jobs.
    """
    import cyvcf2

    if region_bp < 1:
        raise ValueError("region_bp must be >= 1")
    if index_path(path) is None:
        raise InputError(str(path), "region chunks need a .tbi or .csi index")
    vcf = cyvcf2.VCF(str(path), lazy=True)
    try:
        contigs = list(vcf.seqnames)
        try:
            lengths = dict(zip(vcf.seqnames, vcf.seqlens, strict=False))
        except Exception:  # no ##contig lengths
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
    if region_bp is not None and index_path(path) is not None:
        return plan_region_chunks(path, region_bp)
    n, offsets = record_chunk_offsets(path, records_per_chunk)
    return plan_record_chunks(n, records_per_chunk, offsets)


def spec_to_dict(spec: ChunkSpec) -> dict:
    """JSON-able form of a chunk spec (for a workflow's chunk list)."""
    if spec.region is not None:
        r = spec.region
        return {"index": spec.index, "chrom": r.chrom, "start": r.start, "end": r.end}
    d = {"index": spec.index, "first_record": spec.first_record, "n_records": spec.n_records}
    if spec.offset is not None:
        d["offset"] = spec.offset
    if spec.end_offset is not None:
        d["end_offset"] = spec.end_offset
    return d


def spec_from_dict(d: dict) -> ChunkSpec:
    """Inverse of :func:`spec_to_dict`."""
    if "chrom" in d:
        return ChunkSpec(int(d["index"]), region=Region(d["chrom"], int(d["start"]), int(d["end"])))
    offset, end = d.get("offset"), d.get("end_offset")
    return ChunkSpec(int(d["index"]), first_record=int(d["first_record"]), n_records=int(d["n_records"]),
                     offset=None if offset is None else int(offset), end_offset=None if end is None else int(end))


def save_chunk(result: ChunkResult, path: str | Path) -> None:
    """Write a chunk result as an uncompressed ``.npz`` (no pickled objects)."""
    header = {
        "source": result.source,
        "spec": spec_to_dict(result.spec),
        "load_counts": result.load_counts,
    }
    arrays = {
        "header": np.array(json.dumps(header, sort_keys=True)),
        "samples": np.array(result.samples, dtype=str),
        "chrom": np.array(result.chrom, dtype=str),
        "pos": result.pos,
        "variant_id": np.array(result.variant_id, dtype=str),
        "ref": np.array(result.ref, dtype=str),
        "alt": np.array(result.alt, dtype=str),
        "filter": np.array(result.filter, dtype=str),
        "split_multiallelic": result.split_multiallelic,
        "dosage_by_variant": result.dosage_by_variant,
        "sample_n_missing": result.sample_n_missing,
        "variant_n_missing": result.variant_n_missing,
    }
    if result.haploid is not None:
        arrays["haploid"] = result.haploid
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_chunk(path: str | Path) -> ChunkResult:
    """Read a chunk result written by :func:`save_chunk`."""
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(str(z["header"]))
        n_samples = len(z["samples"])
        dosage = z["dosage_by_variant"]
        return ChunkResult(
            source=header["source"],
            spec=spec_from_dict(header["spec"]),
            samples=[str(s) for s in z["samples"]],
            chrom=[str(s) for s in z["chrom"]],
            pos=z["pos"],
            variant_id=[str(s) for s in z["variant_id"]],
            ref=[str(s) for s in z["ref"]],
            alt=[str(s) for s in z["alt"]],
            filter=[str(s) for s in z["filter"]],
            split_multiallelic=z["split_multiallelic"],
            dosage_by_variant=dosage.reshape(-1, n_samples),
            haploid=z["haploid"].reshape(-1, n_samples) if "haploid" in z.files else None,
            load_counts={k: int(v) for k, v in header["load_counts"].items()},
            sample_n_missing=z["sample_n_missing"],
            variant_n_missing=z["variant_n_missing"],
        )
