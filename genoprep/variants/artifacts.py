"""Writers for the variant artifacts and the optional sample metadata join.

- ``dosage.npy`` — int8, kept samples × kept variants, −1 missing (``np.save``).
- ``variants.parquet`` — one row per dosage column: chrom, pos, id, ref, alt,
  counted_allele (= alt: the allele the dosage counts), AC, AN, AF, MAF, missing_rate,
  filter, split_multiallelic (+ hwe_p when the HWE filter ran); statistics over the kept
  samples. Written with pyarrow without a pandas index; bytes are deterministic.
- ``samples.tsv`` — sample_id, missing_rate (in the final matrix), missing_rate_loaded
  (the ``--mind`` statistic), then any metadata columns (population, labels, …).
- ``qc.json`` — the qc dict of :func:`genoprep.variants.gather.gather` (insertion order).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from genoprep.errors import InputError
from genoprep.jsonio import write_json


def write_dosage_npy(path: str | Path, dosage: np.ndarray) -> None:
    """Save the dosage matrix as int8 ``.npy``."""
    np.save(path, np.ascontiguousarray(dosage, dtype=np.int8), allow_pickle=False)


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


def read_sample_metadata(
    path: str | Path,
    id_column: str | int = "sample_id",
    sep: str | None = None,
    header: bool = True,
    columns: dict[str, str | int] | None = None,
) -> pd.DataFrame:
    """Read a TSV/CSV (may be gzipped) of per-sample metadata keyed by ``id_column``.

    ``id_column`` is a column name, or a 0-based index (required for header-less tables,
    whose columns are then named by their index). ``sep`` defaults to ``,`` for ``.csv``
    (``.csv.gz``) and tab otherwise. ``columns`` maps label names to the table's columns
    (name or index); only those are kept, renamed. Everything is read as text.
    The id column becomes ``sample_id``.
    """
    if sep is None:
        sep = "," if str(path).removesuffix(".gz").endswith(".csv") else "\t"
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                            header=0 if header else None)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise InputError(str(path), f"cannot read the sample table: {e}") from None
    table.columns = [str(c) for c in table.columns]

    def column(ref: str | int, what: str) -> str:
        if isinstance(ref, int) and not (header and str(ref) in table.columns):
            if not 0 <= ref < table.shape[1]:
                raise InputError(str(path), f"{what}: column index {ref} out of range ({table.shape[1]} columns)")
            return table.columns[ref]
        if str(ref) not in table.columns:
            raise InputError(str(path), f"{what}: no column {ref!r} (columns: {', '.join(table.columns)})")
        return str(ref)

    id_name = column(id_column, "id_column")
    ids = table[id_name]
    if ids.isna().any():
        raise InputError(str(path), f"row {int(ids.isna().to_numpy().argmax()) + 1}: empty sample id")
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        raise InputError(str(path), f"duplicate sample ids: {', '.join(map(str, dup[:5]))}")
    if columns:
        picked = {label: column(ref, f"columns.{label}") for label, ref in columns.items()}
        if "sample_id" in picked:
            raise InputError(str(path), "columns: 'sample_id' is the id column, not a label")
        out = pd.DataFrame({"sample_id": ids})
        for label, name in picked.items():
            out[label] = table[name]
        return out
    return pd.concat([ids.rename("sample_id"), table.drop(columns=[id_name])], axis=1)


def join_sample_metadata(samples: pd.DataFrame, metadata: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Left-join metadata onto the sample table (order kept); report the mismatches.

    Returns the joined table and ``{"samples_without_metadata": [...],
    "metadata_without_sample": [...]}`` for the qc dict.
    """
    ours = set(samples["sample_id"])
    theirs = set(metadata["sample_id"])
    report = {
        "samples_without_metadata": [s for s in samples["sample_id"] if s not in theirs],
        "metadata_without_sample": [s for s in metadata["sample_id"] if s not in ours],
    }
    extra = metadata.drop(columns=[c for c in metadata.columns if c in samples.columns and c != "sample_id"])
    joined = samples.merge(extra, on="sample_id", how="left", sort=False, validate="one_to_one")
    return joined, report


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
