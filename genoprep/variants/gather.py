"""Gather: combine chunk results, apply sample and variant filters, build the artifacts.

Order of filters (as plink2 2.00a3.5 does it; checked with a 4-sample VCF where the
order changes the outcome):

1. *Load time* (in :func:`genoprep.variants.ingest.read_chunk`): regions, sample subset,
   PASS-only, multi-allelic split/drop.
2. **Sample missingness** (``--mind``): a sample is removed when its missing rate over
   all loaded variant columns is **>** ``max_sample_missing``. This needs every chunk,
   which is why each chunk keeps its full dosage block and per-sample missing counts.
3. Variant statistics are **recomputed over the kept samples** (AC, AN, AF, MAF,
   missing rate, HWE) — plink2 also computes ``--geno``/``--maf``/``--hwe`` after
   ``--mind``.
4. **Variant missingness** (``--geno``): remove when missing rate **>**
   ``max_variant_missing``.
5. **HWE** (``--hwe``, optional): remove when the exact-test p-value is **<** ``hwe_p``
   (diploid calls only; ``hwe_midp`` for the mid-p variant).
6. **MAF** (``bcftools view -q MIN:minor`` = plink2 ``--maf MIN``): keep when
   MAF **≥** ``min_maf`` (inclusive; minor AC ≥ MIN·AN), and AN > 0.

Steps 4-6 are independent tests on the same statistics, so the kept set is their
intersection; the qc counts attribute a variant to the first filter it fails in this
order (plink2's reporting order). Everything is recomputed from the dosage blocks, so
the result does not depend on how the file was chunked (bytes identical to one chunk).

Memory: chunks given as paths are loaded one at a time, and with ``dosage_path`` the
samples × variants matrix is written block by block through a memory map whose pages
are written back and released after each chunk, so that no step holds the whole
matrix, let alone a transposed copy.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genoprep.errors import InputError
from genoprep.filters import FilterStep, describe
from genoprep.variants import fastgt, stats
from genoprep.variants.records import ChunkResult


@dataclass(frozen=True)
class FilterParams:
    """Sample and variant filter thresholds (``None`` switches a filter off)."""

    min_maf: float | None = 0.01
    max_variant_missing: float | None = 0.1
    max_sample_missing: float | None = 0.1
    hwe_p: float | None = None
    hwe_midp: bool = False


@dataclass
class GatheredResult:
    """The final arrays and tables (kept samples × kept variants), the qc summary and the
    filter steps as they ran (for the terminal line and the guard of :mod:`genoprep.filters`).

    ``dosage`` is a read-only memory map of the written ``.npy`` when gather wrote it.
    """

    dosage: np.ndarray
    samples: pd.DataFrame
    variants: pd.DataFrame
    qc: dict = field(default_factory=dict)
    filter_steps: list[FilterStep] = field(default_factory=list)
    source: str = ""  # the input file (error messages only: artifacts name the file, not its path)


def _as_chunk(item: ChunkResult | str | Path) -> ChunkResult:
    return item if isinstance(item, ChunkResult) else ChunkResult.load(item)


def _release(matrix: np.memmap) -> None:
    """Write the dirty pages of a memory-mapped matrix back and drop them from this process."""
    matrix.flush()
    handle = matrix.base  # the mmap.mmap the memmap views (public, unlike np.memmap._mmap)
    if isinstance(handle, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        handle.madvise(mmap.MADV_DONTNEED)


def _threshold(name: str, value: float, rule: str) -> str:
    return f"{name} {value:g}: {rule}"


def gather(
    chunks: Sequence[ChunkResult | str | Path],
    params: FilterParams = FilterParams(),
    dosage_path: str | os.PathLike[str] | None = None,
) -> GatheredResult:
    """Combine chunk results (in file order) into the final filtered result.

    Chunks given as paths are loaded one at a time (three passes: sample statistics,
    variant statistics, the matrix), so memory is one chunk plus the tables. With
    ``dosage_path`` the matrix is written there as ``.npy`` (the bytes of ``np.save``)
    through a memory map, block by block; otherwise it is returned in memory.
    """
    if not chunks:
        raise ValueError("gather needs at least one chunk")
    # Pass 1: samples, per-sample missing counts, load counts.
    samples: list[str] | None = None
    sample_n_missing: np.ndarray | None = None
    n_loaded = 0
    n_loaded_missing = 0
    load_counts: dict[str, int] = {}
    sources: list[str] = []
    first_source = ""
    for item in chunks:
        c = _as_chunk(item)
        if samples is None:
            samples = list(c.samples)
            sample_n_missing = np.zeros(len(samples), dtype=np.int64)
            dtype = c.dosage_by_variant.dtype
        elif list(c.samples) != samples:
            raise InputError(c.source, f"chunk {c.spec.describe()} has different samples from the first chunk")
        elif c.dosage_by_variant.dtype != dtype:
            raise ValueError(f"chunk {c.spec.describe()} holds {c.dosage_by_variant.dtype} dosages, not {dtype}")
        sample_n_missing += c.sample_n_missing
        n_loaded += c.n_variants
        n_loaded_missing += int(c.variant_n_missing.sum())
        for k, v in c.load_counts.items():
            load_counts[k] = load_counts.get(k, 0) + int(v)
        first_source = first_source or c.source
        name = Path(c.source).name  # the file name only: artifacts must not depend on the host
        if name not in sources:
            sources.append(name)
    assert samples is not None and sample_n_missing is not None

    sample_missing_loaded = stats.missing_rate(sample_n_missing, n_loaded)
    keep_sample = np.ones(len(samples), dtype=bool)
    if params.max_sample_missing is not None and n_loaded > 0:
        keep_sample = ~(sample_missing_loaded > params.max_sample_missing)
    kept_idx = np.flatnonzero(keep_sample)
    all_kept = len(kept_idx) == len(samples)

    # Pass 2: variant statistics over kept samples, masks.
    tables: list[pd.DataFrame] = []
    masks: list[np.ndarray] = []
    geno_values: list[np.ndarray] = []  # each filter's statistic over the variants it saw
    hwe_values: list[np.ndarray] = []
    maf_values: list[np.ndarray] = []
    removed = {"geno": 0, "hwe": 0, "maf": 0}
    for item in chunks:
        c = _as_chunk(item)
        block = c.dosage_by_variant if all_kept else c.dosage_by_variant[:, kept_idx]
        hap = None if c.haploid is None else (c.haploid if all_kept else c.haploid[:, kept_idx])
        counts = stats.variant_counts(block, hap)
        af = stats.allele_frequency(counts.ac, counts.an)
        miss = stats.missing_rate(counts.n_missing, len(kept_idx))
        keep = np.ones(c.n_variants, dtype=bool)
        if params.max_variant_missing is not None:
            geno_values.append(miss[keep])
            fail = ~(miss <= params.max_variant_missing)
            removed["geno"] += int((keep & fail).sum())
            keep &= ~fail
        hwe = None
        if params.hwe_p is not None:
            hwe = stats.hwe_p_values(counts.n_hom_ref, counts.n_het, counts.n_hom_alt, params.hwe_midp)
            hwe_values.append(hwe[keep])
            fail = hwe < params.hwe_p
            removed["hwe"] += int((keep & fail).sum())
            keep &= ~fail
        if params.min_maf is not None:
            maf_values.append(stats.minor_allele_frequency(af)[keep])
            fail = ~stats.passes_min_maf(counts.ac, counts.an, params.min_maf)
            removed["maf"] += int((keep & fail).sum())
            keep &= ~fail
        table = pd.DataFrame(
            {
                "chrom": pd.Series(c.chrom, dtype=object),
                "pos": c.pos.astype(np.int64),
                "id": pd.Series(c.variant_id, dtype=object),
                "ref": pd.Series(c.ref, dtype=object),
                "alt": pd.Series(c.alt, dtype=object),
                "counted_allele": pd.Series(c.alt, dtype=object),
                "AC": counts.ac,
                "AN": counts.an,
                "AF": af,
                "MAF": stats.minor_allele_frequency(af),
                "missing_rate": miss,
                "filter": pd.Series(c.filter, dtype=object),
                "split_multiallelic": c.split_multiallelic.astype(bool),
            }
        )
        if hwe is not None:
            table["hwe_p"] = hwe
        tables.append(table.loc[keep])
        masks.append(keep)

    n_kept_variants = int(sum(int(m.sum()) for m in masks))
    # Pass 3: fill the output matrix (samples × variants), chunk by chunk.
    shape = (len(kept_idx), n_kept_variants)
    if dosage_path is None:
        dosage = np.empty(shape, dtype=dtype)
    else:
        dosage = np.lib.format.open_memmap(dosage_path, mode="w+", dtype=dtype, shape=shape)
    final_missing = np.zeros(len(kept_idx), dtype=np.int64)
    col = 0
    for item, keep in zip(chunks, masks, strict=True):
        c = _as_chunk(item)
        k = int(keep.sum())
        if k:
            block = c.dosage_by_variant if keep.all() else c.dosage_by_variant[keep]
            if not all_kept:
                block = block[:, kept_idx]
            fastgt.transpose_into(dosage[:, col : col + k], block)
            if all_kept and k == c.n_variants:  # the chunk as read: its per-sample counts hold
                final_missing += c.sample_n_missing
            else:
                final_missing += fastgt.sample_missing_counts(block)
            if isinstance(dosage, np.memmap):
                _release(dosage)
        col += k
    if isinstance(dosage, np.memmap):
        del dosage
        dosage = np.load(dosage_path, mmap_mode="r")

    variants = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    sample_table = pd.DataFrame(
        {
            "sample_id": pd.Series([samples[i] for i in kept_idx], dtype=object),
            "missing_rate": stats.missing_rate(final_missing, n_kept_variants),
            "missing_rate_loaded": sample_missing_loaded[kept_idx],
        }
    )
    n_genotypes = n_loaded * len(samples)
    qc = {
        "sources": sources,
        "dosage": "DS (float32, NaN missing)" if fastgt.is_float_dosage(dosage) else "GT (int8, -1 missing)",
        "filters": asdict(params),
        "filter_order": ["load (regions, samples, FILTER, multiallelic)", "mind", "geno", "hwe", "maf"],
        "records_read": load_counts.get("records_read", 0),
        "records_without_gt": load_counts.get("records_without_gt", 0),
        "records_removed": {
            "region": load_counts.get("records_removed_region", 0),
            "filter": load_counts.get("records_removed_filter", 0),
            "multiallelic": load_counts.get("records_removed_multiallelic", 0),
        },
        "records_split_multiallelic": load_counts.get("records_split_multiallelic", 0),
        "samples_before": len(samples),
        "samples_removed": {"mind": int((~keep_sample).sum())},
        "samples_removed_ids": {"mind": [samples[i] for i in np.flatnonzero(~keep_sample)]},
        "samples_after": len(kept_idx),
        "variants_before": n_loaded,
        "variants_removed": removed,
        "variants_after": n_kept_variants,
        "missing_genotype_rate_before": (n_loaded_missing / n_genotypes) if n_genotypes else None,
        "missing_genotype_rate_after": (float(final_missing.sum()) / dosage.size if dosage.size else None),
    }
    n_samples = len(samples)
    steps = []
    if params.max_sample_missing is not None:
        steps.append(
            FilterStep(
                "mind",
                "samples",
                n_samples,
                len(kept_idx),
                _threshold("max_sample_missing", params.max_sample_missing, "missing rate > threshold removed"),
                describe(sample_missing_loaded, "missing rate per sample"),
            )
        )
    after = n_loaded
    for name, card_field, rule, values in (
        ("geno", "max_variant_missing", "missing rate > threshold removed", np.concatenate(geno_values or [[]])),
        ("hwe", "hwe_p", "exact-test p < threshold removed", np.concatenate(hwe_values or [[]])),
        ("maf", "min_maf", "MAF >= threshold kept", np.concatenate(maf_values or [[]])),
    ):
        threshold = getattr(params, card_field)
        if threshold is None:
            continue
        before, after = after, after - removed[name]
        label = {"geno": "missing rate per variant", "hwe": "HWE exact-test p per variant", "maf": "MAF per variant"}[
            name
        ]
        steps.append(
            FilterStep(
                name, "variants", before, after, _threshold(card_field, threshold, rule), describe(values, label)
            )
        )
    return GatheredResult(
        dosage=dosage, samples=sample_table, variants=variants, qc=qc, filter_steps=steps, source=first_source
    )
