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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genoprep.errors import InputError
from genoprep.variants import fastgt, stats
from genoprep.variants.chunks import load_chunk
from genoprep.variants.ingest import ChunkResult


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
    """The final arrays and tables (kept samples × kept variants) and the qc summary."""

    dosage: np.ndarray
    samples: pd.DataFrame
    variants: pd.DataFrame
    qc: dict = field(default_factory=dict)


def _as_chunk(item: ChunkResult | str | Path) -> ChunkResult:
    return item if isinstance(item, ChunkResult) else load_chunk(item)


def _transpose_into(out: np.ndarray, block: np.ndarray, step: int = 256) -> None:
    """``out[:] = block.T`` (compiled tiles, else row blocks: faster than one strided copy)."""
    if fastgt.transpose_into(out, block):
        return
    for i in range(0, block.shape[0], step):
        out[:, i : i + step] = block[i : i + step].T


def gather(
    chunks: Sequence[ChunkResult | str | Path],
    params: FilterParams = FilterParams(),
) -> GatheredResult:
    """Combine chunk results (in file order) into the final filtered result.

    Chunks given as paths are loaded one at a time (twice: once for the sample
    statistics, once for the variants), so memory is one chunk plus the output.
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
    for item in chunks:
        c = _as_chunk(item)
        if samples is None:
            samples = list(c.samples)
            sample_n_missing = np.zeros(len(samples), dtype=np.int64)
        elif list(c.samples) != samples:
            raise InputError(c.source, f"chunk {c.spec.describe()} has different samples from the first chunk")
        sample_n_missing += c.sample_n_missing
        n_loaded += c.n_variants
        n_loaded_missing += int(c.variant_n_missing.sum())
        for k, v in c.load_counts.items():
            load_counts[k] = load_counts.get(k, 0) + int(v)
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
            fail = ~(miss <= params.max_variant_missing)
            removed["geno"] += int((keep & fail).sum())
            keep &= ~fail
        hwe = None
        if params.hwe_p is not None:
            hwe = stats.hwe_p_values(counts.n_hom_ref, counts.n_het, counts.n_hom_alt, params.hwe_midp)
            fail = hwe < params.hwe_p
            removed["hwe"] += int((keep & fail).sum())
            keep &= ~fail
        if params.min_maf is not None:
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
    # Pass 3: fill the output matrix (samples × variants).
    dosage = np.empty((len(kept_idx), n_kept_variants), dtype=np.int8)
    col = 0
    for item, keep in zip(chunks, masks, strict=True):
        c = _as_chunk(item)
        k = int(keep.sum())
        if k:
            block = c.dosage_by_variant if keep.all() else c.dosage_by_variant[keep]
            if not all_kept:
                block = block[:, kept_idx]
            _transpose_into(dosage[:, col : col + k], block)
        col += k

    variants = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    final_missing = (dosage < 0).view(np.uint8).sum(axis=1, dtype=np.int64)
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
        "filters": asdict(params),
        "filter_order": ["load (regions, samples, FILTER, multiallelic)", "mind", "geno", "hwe", "maf"],
        "records_read": load_counts.get("records_read", 0),
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
        "missing_genotype_rate_after": (
            float(final_missing.sum()) / dosage.size if dosage.size else None
        ),
    }
    return GatheredResult(dosage=dosage, samples=sample_table, variants=variants, qc=qc)
