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

import importlib
import sys
import types

#: public name -> the module that defines it. Imported on first use (PEP 562), so that a
#: workflow job loads only what its step needs: the plan job neither numba nor pandas, the
#: chunk job not pandas or pyarrow (each is ~0.5 CPU-second of start-up per job).
_WHERE = {
    "write_artifacts": "artifacts",
    "write_dosage_npy": "artifacts",
    "write_qc_json": "artifacts",
    "write_samples_tsv": "artifacts",
    "write_variants_parquet": "artifacts",
    "count_records": "chunks",
    "plan_chunks": "chunks",
    "plan_record_chunks": "chunks",
    "plan_region_chunks": "chunks",
    "FilterParams": "gather",
    "GatheredResult": "gather",
    "gather": "gather",
    "read_all": "ingest",
    "read_chunk": "ingest",
    "ChunkResult": "records",
    "ChunkSpec": "records",
    "LoadOptions": "records",
    "Region": "records",
    "parse_region": "records",
}


class _Package(types.ModuleType):
    """Keeps ``genoprep.variants.gather`` the function: importing the submodule of the same
    name binds the module on the package (as the eager imports once overwrote it again)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "gather" and isinstance(value, types.ModuleType):
            value = value.gather
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


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
