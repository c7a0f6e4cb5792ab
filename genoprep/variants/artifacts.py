"""Writers for the variant artifacts.

- ``dosage.npy`` — kept samples × kept variants (``np.save``): int8 ALT counts with −1
  missing, or float32 imputed dosages with NaN missing (``dosage_field: DS``).
- ``variants.parquet`` — one row per dosage column: chrom, pos, id, ref, alt,
  counted_allele (= alt: the allele the dosage counts), AC, AN, AF, MAF, missing_rate,
  filter, split_multiallelic (+ hwe_p when the HWE filter ran); statistics over the kept
  samples. Written with pyarrow without a pandas index; bytes are deterministic.
- ``samples.tsv`` — sample_id, missing_rate (in the final matrix), missing_rate_loaded
  (the ``--mind`` statistic), then the metadata labels (population, phenotype, …; ``NA``
  where a sample has no value).
- ``qc.json`` — the qc dict of :func:`genoprep.variants.gather.gather` (insertion order).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from genoprep.jsonio import write_json


def write_dosage_npy(path: str | Path, dosage: np.ndarray) -> None:
    """Save the dosage matrix as ``.npy`` (int8, or float32 for imputed dosages)."""
    dtype = np.float32 if dosage.dtype.kind == "f" else np.int8
    np.save(path, np.ascontiguousarray(dosage, dtype=dtype), allow_pickle=False)


def write_variants_parquet(path: str | Path, variants: pd.DataFrame) -> None:
    """Write the variant table as parquet (zstd, no index, deterministic bytes)."""
    table = pa.Table.from_pandas(variants, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def write_samples_tsv(path: str | Path, samples: pd.DataFrame) -> None:
    """Write the sample table as TSV (``NA`` for missing labels)."""
    samples.to_csv(path, sep="\t", index=False, na_rep="NA", float_format="%.10g")


def write_qc_json(path: str | Path, qc: dict) -> None:
    """Write the qc dict as indented JSON in insertion order (the shared JSON writer)."""
    write_json(qc, path)


def write_artifacts(result, out_dir: str | Path) -> dict[str, Path]:
    """Write dosage.npy, variants.parquet, samples.tsv and qc.json into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "dosage": out / "dosage.npy",
        "variants": out / "variants.parquet",
        "samples": out / "samples.tsv",
        "qc": out / "qc.json",
    }
    write_dosage_npy(paths["dosage"], np.asarray(result.dosage))
    write_variants_parquet(paths["variants"], result.variants)
    write_samples_tsv(paths["samples"], result.samples)
    write_qc_json(paths["qc"], result.qc)
    return paths
