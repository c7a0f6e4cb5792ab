"""Variants modality: VCF / VCF.gz (plain gzip or BGZF) / BCF → genotype dosage artifacts.

Semantics (each one is checked by ``tests/unit/test_variants_*.py``):

- **Dosage** = number of ALT alleles in the call: 0, 1, 2 (haploid calls 0/1), −1 when
  missing; int8, samples × variants. Not plink2 ``--export A`` (counts REF by default)
  and not scikit-allel ``to_n_alt()`` (missing → 0 unless ``fill=-1``).
- **Missing** = any ``.`` in the call, including half-missing ``0/.`` and ``./1``.
- **Multi-allelic** records are split into one column per ALT exactly as
  ``bcftools norm -m-`` (then dosage) would: for ALT j the dosage counts allele j only,
  other ALT alleles count as REF (``1/2`` → ``1/0`` and ``0/1``); or dropped
  (``LoadOptions(multiallelic="drop")``).
- **AF** = AC/AN over called alleles (bcftools), **MAF** = min(AF, 1−AF); per-variant
  missing rate = plink2 ``--geno`` statistic, per-sample = ``--mind`` statistic.
- **Filters** and their order: see :mod:`genoprep.variants.gather` (load-time → mind →
  recompute over kept samples → geno → hwe → maf; MAF ≥ threshold inclusive as
  ``bcftools view -q 0.01:minor`` and plink2 ``--maf``).
- **FILTER**: ``pass_only`` keeps PASS and ``.`` (plink2 ``--var-filter``), or PASS only
  with ``missing_filter_passes=False`` (``bcftools view -f PASS``).

Workflow API: :func:`plan_chunks` → :func:`read_chunk` (per chunk,
:meth:`ChunkResult.save`) → :func:`gather` (:meth:`ChunkResult.load` implicit for paths)
→ :func:`write_artifacts`. Modules: ``records`` (semantics, chunk specs/results),
``vcfio`` (file, compression and index I/O), ``fastgt`` (numba kernels), ``ingest``
(chunk readers), ``chunks`` (planning), ``stats``, ``gather``, ``artifacts``, ``steps``.
"""

from genoprep.variants.artifacts import (
    write_artifacts,
    write_dosage_npy,
    write_qc_json,
    write_samples_tsv,
    write_variants_parquet,
)
from genoprep.variants.chunks import count_records, plan_chunks, plan_record_chunks, plan_region_chunks
from genoprep.variants.gather import FilterParams, GatheredResult, gather
from genoprep.variants.ingest import read_all, read_chunk
from genoprep.variants.records import ChunkResult, ChunkSpec, LoadOptions, Region, parse_region

__all__ = [
    "ChunkResult",
    "ChunkSpec",
    "FilterParams",
    "GatheredResult",
    "LoadOptions",
    "Region",
    "count_records",
    "gather",
    "parse_region",
    "plan_chunks",
    "plan_record_chunks",
    "plan_region_chunks",
    "read_all",
    "read_chunk",
    "write_artifacts",
    "write_dosage_npy",
    "write_qc_json",
    "write_samples_tsv",
    "write_variants_parquet",
]
