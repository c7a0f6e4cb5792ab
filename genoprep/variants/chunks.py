"""Scatter: plan the chunks of an input file; store and load chunk results.

- **By region** when the file has a tabix/CSI index (``.tbi``/``.csi`` next to it):
  windows of ``region_bp`` bases over every contig listed in the index (contig lengths
  from the ``##contig`` lines; a contig without a length is one window). A record
  belongs to the window holding its POS, so windows never share a record.
- **By record count** otherwise: chunk ``i`` of size ``k`` holds data records
  ``[i*k, (i+1)*k)`` in file order (counted from 0).

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


def count_records(path: str | Path) -> int:
    """Number of data records (non-blank, non-header lines; BCF via cyvcf2)."""
    if textgt.is_bcf(path):
        import cyvcf2

        vcf = cyvcf2.VCF(str(path), lazy=True)
        try:
            return sum(1 for _ in vcf)
        finally:
            vcf.close()
    from genoprep.variants import fastgt

    if fastgt.available():
        n = 0
        for block in fastgt.FastTextVcf(path).data_blocks():
            n += fastgt.skip_lines(block, 0, 2**62)[0]
        return n
    n = 0
    vcf = textgt.TextVcf(path)
    for block in vcf.data_blocks():
        arr = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10)
        starts = np.concatenate(([0], ends[:-1] + 1))
        n += int(np.count_nonzero(ends > starts))
    return n


def plan_record_chunks(n_records: int, records_per_chunk: int) -> list[ChunkSpec]:
    """Chunk ``i`` = records ``[i*size, (i+1)*size)``; at least one (possibly empty) chunk."""
    if records_per_chunk < 1:
        raise ValueError("records_per_chunk must be >= 1")
    n_chunks = max(1, math.ceil(n_records / records_per_chunk))
    return [
        ChunkSpec(i, first_record=i * records_per_chunk,
                  n_records=min(records_per_chunk, max(n_records - i * records_per_chunk, 0)))
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
    return plan_record_chunks(count_records(path), records_per_chunk)


def spec_to_dict(spec: ChunkSpec) -> dict:
    """JSON-able form of a chunk spec (for a workflow's chunk list)."""
    if spec.region is not None:
        r = spec.region
        return {"index": spec.index, "chrom": r.chrom, "start": r.start, "end": r.end}
    return {"index": spec.index, "first_record": spec.first_record, "n_records": spec.n_records}


def spec_from_dict(d: dict) -> ChunkSpec:
    """Inverse of :func:`spec_to_dict`."""
    if "chrom" in d:
        return ChunkSpec(int(d["index"]), region=Region(d["chrom"], int(d["start"]), int(d["end"])))
    return ChunkSpec(int(d["index"]), first_record=int(d["first_record"]), n_records=int(d["n_records"]))


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
