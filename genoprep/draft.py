"""``genoprep init PATH``: look at an input and draft a dataset card, saying what each choice was based on.

The draft is YAML with a comment above each field giving the evidence (file suffix, the
ids seen, the data's own distributions). Fields that need a human (which metadata column
is the cell type, the license) are comments starting with ``CHECK``. For scRNA-seq the QC
thresholds come from the data: ``min_genes`` at most 200 and at most the 5th percentile of
genes per cell, no ``max_genes`` cap, ``max_pct_mito`` at least 5 and at least the 95th
percentile of % mito, ``n_top_genes`` at most half the genes seen in 3 cells or more; so a targeted panel gets
thresholds that fit it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from genoprep.errors import InputError

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".ffn")
VCF_SUFFIXES = (".vcf", ".bcf")
DNA_LETTERS = re.compile(r"^[ACGTUNRYSWKMBDHV]+$", re.IGNORECASE)
KMER_ROW = re.compile(r"^[ACGTN]+( [ACGTN]+)+$", re.IGNORECASE)
#: files at the top of an anndata Zarr store (zarr v2 / v3)
ZARR_MARKERS = frozenset({".zgroup", ".zattrs", "zarr.json"})
#: words in a .npy's name that say which DNA token scheme made it
TOKEN_NAME_PATTERNS = {
    "dnabert": re.compile(r"dnabert", re.IGNORECASE),
    "nucleotide_transformer": re.compile(r"nucleotide.?transformer|(^|[^a-z])nt([^a-z]|$)", re.IGNORECASE),
    "hyenadna": re.compile(r"hyena", re.IGNORECASE),
    "char": re.compile(r"(^|[^a-z])char([^a-z]|$)", re.IGNORECASE),
}
ROLE_PATTERNS = {
    "cell_type": re.compile(r"cell.?type|celltype|cell_ontology|cell.?line|annotation|cluster|label", re.IGNORECASE),
    "donor_id": re.compile(r"donor|individual|patient|subject", re.IGNORECASE),
    "batch": re.compile(r"batch|library|run|lane", re.IGNORECASE),
}


@dataclass
class Draft:
    """A card being drafted: fields in order, with the comment lines above each."""

    fields: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)

    def set(self, key: str, value: Any, *why: str) -> None:
        self.fields[key] = value
        self.notes.setdefault(key, []).extend(why)

    def text(self) -> str:
        lines = [
            "# Draft dataset card written by `genoprep init`: review it, then run it.",
            "# Each comment says what a choice was based on; CHECK marks what needs a human.",
        ]
        lines += [f"# CHECK: {check}" for check in self.checks]
        for key, value in self.fields.items():
            lines += [f"# {note}" for note in self.notes.get(key, [])]
            lines.append(
                yaml.safe_dump(
                    {key: value}, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
                ).rstrip("\n")
            )
        lines += [
            "# CHECK: license (an SPDX id such as CC-BY-4.0), reference and citation of the data",
            "# license: ",
            "# reference: ",
        ]
        return "\n".join(lines) + "\n"


def _suffixes(path: Path) -> list[str]:
    return [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bgz")]


def guess_modality(path: Path) -> tuple[str, str]:
    """(modality, why) from the file's kind; tables are looked into."""
    suffixes = _suffixes(path)
    last = suffixes[-1] if suffixes else ""
    if path.is_dir():
        names = {p.name for p in path.iterdir()}
        if any(n.startswith("matrix.mtx") for n in names):
            return "scrna", "a folder with matrix.mtx: a 10x Cell Ranger matrix"
        if names & ZARR_MARKERS:
            return "scrna", "a Zarr store (anndata's .zarr folder)"
        raise InputError(
            str(path), "a folder, but not a 10x matrix folder (no matrix.mtx) nor a Zarr store: name a file"
        )
    if last in (".h5ad", ".loom", ".h5"):
        return "scrna", f"the suffix {last}" + (" (Cell Ranger's HDF5 matrix)" if last == ".h5" else "")
    if last == ".npz":
        return "bulk", "the suffix .npz (a NumPy archive of a matrix and its ids)"
    if last == ".npy":
        scheme = _token_scheme_in_name(path)
        if scheme is not None:
            return "dna", f"a .npy named like {scheme} token ids"
        return "bulk", "the suffix .npy (a NumPy matrix; CHECK: token ids of DNA need --modality dna)"
    if last in VCF_SUFFIXES:
        return "variants", f"the suffix {last}"
    if last in FASTA_SUFFIXES:
        return "dna", f"the suffix {last}"
    if last in (".csv", ".tsv", ".txt", ".tab", ".seq", ""):
        header, first = _first_rows(path)
        if len(header) == 1 and _is_sequence(header[0]):
            return "dna", "plain text: the first line is a DNA sequence"
        if any(_is_sequence(v) for v in first[:8]) or "sequence" in [h.lower() for h in header]:
            return "dna", "a table with a column of DNA sequences"
        n_columns = len(header)
        return (
            ("bulk", f"a table with {n_columns} columns (few: samples)")
            if n_columns <= 200
            else ("scrna", f"a table with {n_columns} columns (many: cells)")
        )
    raise InputError(str(path), f"cannot tell the modality from the suffix {last!r}: pass --modality")


def _token_scheme_in_name(path: Path) -> str | None:
    return next((scheme for scheme, pattern in TOKEN_NAME_PATTERNS.items() if pattern.search(path.name)), None)


def _is_sequence(value: str) -> bool:
    value = value.strip()
    return len(value) >= 20 and (bool(DNA_LETTERS.match(value)) or bool(KMER_ROW.match(value)))


def _separator(path: Path) -> str:
    from genoprep.textio import guess_table_format

    return "\t" if guess_table_format(path) == "tsv" else ","


def _rows(path: Path, n: int) -> list[list[str]]:
    """The first ``n`` rows of a CSV/TSV table (quotes handled), header included."""
    import csv

    from genoprep.textio import open_text

    rows = []
    with open_text(path) as handle:
        for row in csv.reader(handle, delimiter=_separator(path)):
            rows.append(row)
            if len(rows) == n:
                break
    return rows


def _first_rows(path: Path) -> tuple[list[str], list[str]]:
    """The header fields and the fields of the first data row."""
    rows = _rows(path, 2)
    return (rows[0] if rows else [], rows[1] if len(rows) > 1 else [])


def _table_format(path: Path) -> str:
    return "tsv" if _separator(path) == "\t" else "csv"


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


def _distribution(values: np.ndarray, what: str) -> str:
    return (
        f"{what}: 5th percentile {_pct(values, 5):.4g}, median {_pct(values, 50):.4g}, "
        f"95th percentile {_pct(values, 95):.4g}, max {float(values.max()) if len(values) else 0:.4g}"
    )


def _ensembl_or_symbols(ids: list[str]) -> tuple[str, str | None]:
    """('Ensembl ids' | 'symbols', organism guess)."""
    from genoprep.tables import looks_like_ensembl

    if looks_like_ensembl(ids):
        mouse = sum(i.startswith("ENSMUSG") for i in ids)
        human = sum(i.startswith("ENSG") for i in ids)
        organism = "Mus musculus" if mouse > human else "Homo sapiens" if human else None
        return "Ensembl ids", organism
    upper = sum(i.startswith("MT-") for i in ids)
    lower = sum(i.startswith("mt-") for i in ids)
    organism = "Homo sapiens" if upper > lower else "Mus musculus" if lower else None
    if organism is None and ids:  # mouse symbols are capitalised (Actb), human ones upper case (ACTB)
        capitalised = sum(bool(re.match(r"^[A-Z][a-z0-9]+$", i)) for i in ids[:2000])
        organism = "Mus musculus" if capitalised > 0.5 * min(len(ids), 2000) else None
    return "symbols", organism


def _label_columns(frame: Any, n_rows: int) -> dict[str, str]:
    """genoprep label -> column, by name, among columns with 2..n_rows/2 distinct values."""
    found: dict[str, str] = {}
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind in "fiu" and values.nunique() > 50:
            continue
        distinct = values.nunique()
        if not 2 <= distinct <= max(2, n_rows // 2):
            continue
        for role, pattern in ROLE_PATTERNS.items():
            if role not in found and pattern.search(str(column)):
                found[role] = str(column)
                break
    return found


def _dataset_id(path: Path) -> str:
    stem = path.name
    for suffix in reversed(path.suffixes):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("_")[:60] or "dataset"


# ---------------------------------------------------------------------------- modalities


def _mito_gene_ids() -> set[str]:
    """Ensembl ids of mitochondrial genes from the shipped lists (resources/mito_genes_*.tsv)."""
    import glob

    resources = Path(__file__).resolve().parent.parent / "resources"
    ids: set[str] = set()
    for path in glob.glob(os.fspath(resources / "mito_genes_*.tsv")):
        with open(path, encoding="utf-8") as handle:
            ids |= {line.split("\t")[0] for line in handle if line.startswith("ENS")}
    return ids


def _orientation(path: Path) -> tuple[str, str]:
    """genes_x_cells or cells_x_genes of an expression table, and the evidence."""
    from genoprep.tables import looks_like_ensembl

    rows = _rows(path, 201)
    header, row_ids = rows[0][1:], [r[0] for r in rows[1:] if r]
    barcode = re.compile(r"^[ACGT]{8,}")
    if looks_like_ensembl(row_ids):
        return "genes_x_cells", "the first column holds Ensembl gene ids"
    if looks_like_ensembl(header):
        return "cells_x_genes", "the header holds Ensembl gene ids"
    if sum(bool(barcode.match(h)) for h in header[:200]) > len(header[:200]) // 2:
        return "genes_x_cells", "the header holds cell barcodes"
    if sum(bool(barcode.match(i)) for i in row_ids) > len(row_ids) // 2:
        return "cells_x_genes", "the first column holds cell barcodes"
    return "genes_x_cells", "CHECK: neither axis looks like genes or barcodes; genes x cells is the usual layout"


def _draft_scrna(path: Path, draft: Draft) -> None:
    from genoprep.scrna.io import read_matrix

    if path.is_dir():
        is_zarr = bool({p.name for p in path.iterdir()} & ZARR_MARKERS)
        fmt, why = ("zarr", "a Zarr store folder") if is_zarr else ("10x_mtx", "a folder with matrix.mtx")
    else:
        last = _suffixes(path)[-1]
        known = {".h5ad": "h5ad", ".loom": "loom", ".h5": "10x_h5"}
        fmt = known.get(last) or _table_format(path)
        why = f"the suffix {last}" if last in known else "the table's separator"
    entry: dict[str, Any] = {"path": os.fspath(path), "format": fmt}
    notes = [f"format: {why}"]
    orientation = None
    if fmt in ("csv", "tsv"):
        orientation, evidence = _orientation(path)
        entry["orientation"] = orientation
        notes.append(f"orientation: {orientation}: {evidence}")
    adata = read_matrix(path, fmt, orientation=orientation)
    matrix = adata.X
    values = matrix.data if hasattr(matrix, "data") else np.asarray(matrix).ravel()
    sample = values[:1_000_000]
    if len(sample) and (sample.min() < 0 or not np.all(np.equal(np.mod(sample, 1), 0))):
        draft.checks.append(
            "the values are not raw counts (negative or not whole numbers): give a file with "
            "counts (or an h5ad layer / .raw holding them, input.layer), or input.value_type: "
            "log_normalized if they are normalize_total + log1p values"
        )
        notes.append("CHECK: values are not whole non-negative numbers")
    draft.set("input", entry, *notes)
    genes_per_cell = np.asarray((matrix > 0).sum(axis=1)).ravel()
    counts = np.asarray(matrix.sum(axis=1)).ravel()
    symbols = [str(s) for s in adata.var_names]
    for column in ("gene_symbols", "gene_symbol", "Gene", "gene_name", "feature_name"):
        if column in adata.var.columns:
            symbols = [str(s) for s in adata.var[column]]
            break
    kind, organism = _ensembl_or_symbols(symbols)
    mito_ids = _mito_gene_ids()
    ids = [str(s) for s in adata.var_names]
    mito = np.array([s.upper().startswith("MT-") or i.split(".")[0] in mito_ids for s, i in zip(symbols, ids)])
    pct_mito = (
        np.asarray(matrix[:, mito].sum(axis=1)).ravel() / np.maximum(counts, 1) * 100
        if mito.any()
        else np.zeros(adata.n_obs)
    )
    n_genes = adata.n_vars
    min_genes = int(min(200, max(1, np.floor(_pct(genes_per_cell, 5)))))
    max_pct_mito = float(min(100.0, max(5.0, np.ceil(_pct(pct_mito, 95)))))
    min_cells = 3  # the schema's default
    n_kept_genes = int((np.asarray((matrix > 0).sum(axis=0)).ravel() >= min_cells).sum())
    n_top = int(min(2000, max(10, n_kept_genes // 2)))
    params = {"min_genes": min_genes, "max_genes": None, "max_pct_mito": max_pct_mito, "n_top_genes": n_top}
    obs = adata.obs
    meta = _sibling_metadata(path) if not path.is_dir() else None
    if meta is not None:
        import pandas as pd

        obs = pd.read_csv(meta, sep=_separator(meta), index_col=0)
        matched = len(set(map(str, obs.index)) & set(map(str, adata.obs_names)))
        draft.set(
            "metadata",
            {"path": os.fspath(meta), "format": _table_format(meta)},
            f"metadata: the table beside the data; {matched} of {adata.n_obs} cell ids found in its first column",
        )
        if matched < adata.n_obs:
            draft.checks.append(
                f"{adata.n_obs - matched} cells have no metadata row: set metadata.unmatched: na "
                "to keep them, or give the right table"
            )
    labels = _label_columns(obs, adata.n_obs)
    if labels:
        draft.set("columns", labels, "columns: metadata columns named like the label (CHECK they are the right ones)")
    else:
        draft.checks.append(
            "no column looks like a cell type, donor or batch: map them under columns: "
            "(e.g. cell_type: <column>) if the data has them"
            + (f"; columns seen: {', '.join(map(str, adata.obs.columns[:12]))}" if len(adata.obs.columns) else "")
        )
    if organism:
        draft.set("organism", organism, f"organism: from the gene {kind} (mitochondrial prefix / Ensembl prefix)")
    draft.set(
        "params",
        params,
        f"{adata.n_obs} cells x {n_genes} genes (gene {kind}); {int(mito.sum())} mitochondrial genes",
        _distribution(genes_per_cell, "genes per cell"),
        _distribution(pct_mito, "% mito per cell"),
        f"min_genes {min_genes}: min(200, 5th percentile); max_genes: no cap; "
        f"max_pct_mito {max_pct_mito:g}: max(5, 95th percentile)",
        f"n_top_genes {n_top}: min(2000, half the {n_kept_genes} genes seen in >= {min_cells} cells)",
    )


def _sibling_metadata(path: Path) -> Path | None:
    """A file beside ``path`` with 'metadata' in its name, sharing the longest name prefix."""
    candidates = [p for p in path.parent.iterdir() if p != path and p.is_file() and "metadata" in p.name.lower()]
    if not candidates:
        return None
    best = max(candidates, key=lambda p: len(os.path.commonprefix([p.name, path.name])))
    return best if len(os.path.commonprefix([best.name, path.name])) >= 4 else None


def _value_type(values: np.ndarray, name: str) -> tuple[str, str]:
    """The bulk value_type the values look like, and why."""
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() < 0:
        return "log", "negative values: already log-transformed"
    if np.all(np.mod(finite, 1) == 0):
        return "counts", "whole non-negative numbers"
    value_type = next((t for t in ("tpm", "fpkm", "rpkm") if t in name), "tpm")
    if value_type in name:
        return value_type, f"non-integer values; {value_type} from the file name"
    return value_type, "non-integer values (CHECK: tpm, fpkm, rpkm or log)"


def _id_file(path: Path, word: str) -> Path | None:
    """A text file beside ``path`` with ``word`` (gene / sample) in its name: an id sidecar."""
    candidates = [
        p
        for p in path.parent.iterdir()
        if p.is_file() and p != path and word in p.name.lower() and _suffixes(p)[-1:] in ([".txt"], [".tsv"], [])
    ]
    return min(candidates, key=lambda p: len(p.name)) if candidates else None


def _read_bulk_array(
    path: Path, fmt: str, entry: dict[str, Any], notes: list[str], ids: dict[str, list[str]], draft: Draft
) -> np.ndarray:
    """The matrix of a bulk .npy/.npz; the ids found (named arrays or sidecar files) go into ``ids``."""
    from genoprep.bulk.io import read_id_file

    if fmt == "npz":
        with np.load(path, allow_pickle=False) as archive:
            shapes = {name: archive[name].shape for name in archive.files}
            matrices = [n for n, shape in shapes.items() if len(shape) == 2]
            if len(matrices) != 1:
                raise InputError(str(path), f"expected one 2-D array in the archive, found {len(matrices)}: {shapes}")
            values = archive[matrices[0]]
            vectors = {n: [str(v) for v in archive[n].tolist()] for n, shape in shapes.items() if len(shape) == 1}
        arrays = {"values": matrices[0]}
        for role, word in (("gene_ids", "gene"), ("sample_ids", "sample")):
            name = next((n for n in vectors if word in n.lower()), None)
            if name is not None:
                arrays[role] = name
                ids[role] = vectors[name]
        entry["arrays"] = arrays
        notes.append(f"arrays: the one 2-D array and the 1-D arrays named like gene / sample ({', '.join(shapes)})")
    else:
        values = np.load(path, mmap_mode="r", allow_pickle=False)
        for role, word in (("gene_ids", "gene"), ("sample_ids", "sample")):
            sidecar = _id_file(path, word)
            if sidecar is None:
                draft.checks.append(f"no {word} id file beside the .npy: set input.{role}_path (one id per line)")
                continue
            entry[f"{role}_path"] = os.fspath(sidecar)
            ids[role] = read_id_file(sidecar, word)
            notes.append(f"{role}_path: the file beside the array with '{word}' in its name ({len(ids[role])} ids)")
    return values


def _draft_bulk_array(path: Path, draft: Draft) -> None:
    """A .npy (ids from sidecar files found beside it) or .npz (values and ids as named arrays)."""

    fmt = "npz" if _suffixes(path)[-1] == ".npz" else "npy"
    entry: dict[str, Any] = {"path": os.fspath(path), "format": fmt}
    notes = [f"format: the suffix .{fmt}"]
    ids: dict[str, list[str]] = {}
    try:
        values = _read_bulk_array(path, fmt, entry, notes, ids, draft)
    except InputError:
        raise
    except (ValueError, OSError, EOFError) as err:
        raise InputError(str(path), f"cannot read the NumPy {fmt}: {' '.join(str(err).split())[:200]}") from None
    if values.ndim != 2:
        raise InputError(str(path), f"a bulk matrix is 2-D, not {values.ndim}-D {values.shape}")
    n_rows, n_columns = values.shape
    genes = ids.get("gene_ids")
    if genes is not None and len(genes) == n_columns != n_rows:
        orientation, why = "samples_x_genes", f"{len(genes)} gene ids = the {n_columns} columns"
    elif genes is not None and len(genes) == n_rows:
        orientation, why = "genes_x_samples", f"{len(genes)} gene ids = the {n_rows} rows"
    else:
        orientation = "genes_x_samples" if n_rows >= n_columns else "samples_x_genes"
        why = f"{n_rows} x {n_columns}: the longer axis taken as genes (CHECK)"
    entry["orientation"] = orientation
    sample = np.asarray(values[:5000] if orientation == "genes_x_samples" else values[:, :5000], dtype=float)
    value_type, value_why = _value_type(sample, path.name.lower())
    entry["value_type"] = value_type
    draft.set("input", entry, *notes, f"orientation: {why}", f"value_type: {value_why}")
    if genes is not None:
        kind, organism = _ensembl_or_symbols(genes)
        if organism:
            draft.set("organism", organism, f"organism: from the gene {kind}")


def _draft_bulk(path: Path, draft: Draft) -> None:
    import pandas as pd

    if _suffixes(path)[-1:] in ([".npy"], [".npz"]):
        _draft_bulk_array(path, draft)
        return
    sep = _separator(path)
    frame = pd.read_csv(path, sep=sep, index_col=0, nrows=5000)
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "fiu"]
    annotation = [str(c) for c in frame.columns if c not in numeric]
    ids = [str(i) for i in frame.index]
    kind, organism = _ensembl_or_symbols(ids)
    orientation = "genes_x_samples" if len(frame) >= len(numeric) else "samples_x_genes"
    values = frame[numeric].to_numpy(dtype=float)
    value_type, why = _value_type(values, path.name.lower())
    entry: dict[str, Any] = {
        "path": os.fspath(path),
        "format": _table_format(path),
        "orientation": orientation,
        "value_type": value_type,
    }
    if annotation:
        entry["annotation_columns"] = annotation
    draft.set(
        "input",
        entry,
        f"format: the separator; orientation: {len(frame)}+ rows (gene {kind}) x {len(numeric)} numeric columns",
        f"value_type: {why}",
    )
    meta = _sibling_metadata(path)
    if meta is not None:
        table = pd.read_csv(meta, sep=_separator(meta), index_col=0)
        matched = len(set(map(str, table.index)) & set(map(str, numeric)))
        draft.set(
            "metadata",
            {"path": os.fspath(meta), "format": _table_format(meta)},
            f"metadata: the table beside the data; {matched} of {len(numeric)} sample ids found in its first "
            "column (every metadata column becomes a label unless columns: maps some)",
        )
    if organism:
        draft.set("organism", organism, f"organism: from the gene {kind}")


def _draft_dna(path: Path, draft: Draft) -> None:
    suffixes = _suffixes(path)
    if suffixes and suffixes[-1] in FASTA_SUFFIXES:
        draft.set("input", {"path": os.fspath(path), "format": "fasta"}, "format: the suffix")
        draft.checks.append(
            "labels: a FASTA file has none by itself; give input.label (one class per file, or "
            "inputs: with one label each) or input.label_regex over the header lines"
        )
        return
    if suffixes and suffixes[-1] == ".npy":
        scheme = _token_scheme_in_name(path)
        ids = np.load(path, mmap_mode="r", allow_pickle=False)
        tokens = {"scheme": scheme or "dnabert", "k": 6}
        draft.set(
            "input",
            {"path": os.fspath(path), "format": "tokens", "tokens": tokens},
            f"format tokens: a .npy of {ids.shape[0]} rows x {ids.shape[1]} token ids (largest id {int(ids.max())})",
            f"tokens.scheme: {'from the file name' if scheme else 'CHECK: the scheme that made the ids'}; "
            "tokens.k: CHECK for dnabert (3-6) and nucleotide_transformer",
        )
        draft.checks.append("labels: a token array has none: give input.label (one class per file, or inputs:)")
        return
    header, first = _first_rows(path)
    if len(header) == 1 and _is_sequence(header[0]):
        draft.set("input", {"path": os.fspath(path), "format": "text"}, "format text: one sequence per line, no header")
        draft.checks.append("labels: plain text has none: give input.label (one class per file, or inputs:)")
        return
    lowered = [h.lower() for h in header]
    sequence = next((h for h, v in zip(header, first) if _is_sequence(v)), None)
    label = next((h for h in header if h.lower() in ("label", "labels", "class", "target", "y")), None)
    draft.set("input", {"path": os.fspath(path), "format": "table"}, f"a table; header: {', '.join(header[:8])}")
    columns: dict[str, str] = {}
    if sequence and sequence != "sequence":
        columns["sequence"] = sequence
    if label:
        columns["label"] = label
    if "id" in lowered:
        columns["id"] = header[lowered.index("id")]
    if columns:
        draft.set("columns", columns, "columns: the column of DNA letters, and the column named like a label")
    if not label:
        draft.checks.append(f"no label column found among {', '.join(header[:8])}: set columns.label if there is one")


def _draft_variants(path: Path, draft: Draft) -> None:
    from genoprep.textio import iter_lines

    n_samples, build = 0, None
    for _, line in iter_lines(path):
        if line.startswith("##") and build is None:
            match = re.search(r"(GRCh3[78]|hg19|hg38|GRCm3[89]|mm10|mm39)", line)
            build = match.group(1) if match else None
        elif line.startswith("#CHROM"):
            n_samples = max(0, len(line.split("\t")) - 9)
            break
    draft.set(
        "input",
        {"path": os.fspath(path)},
        f"a VCF with {n_samples} samples" + (f"; header mentions {build}" if build else ""),
    )
    if build in ("GRCh37", "GRCh38", "hg19", "hg38"):
        draft.set("organism", "Homo sapiens", f"organism: the header names {build}")
    if n_samples == 0:
        draft.checks.append("the VCF has no sample columns: genoprep needs genotypes")


DRAFTERS = {"scrna": _draft_scrna, "bulk": _draft_bulk, "dna": _draft_dna, "variants": _draft_variants}


def draft_card(path: str | os.PathLike[str], modality: str | None = None, dataset_id: str | None = None) -> str:
    """The text of a draft card for the input at ``path`` (absolute path in the card)."""
    path = Path(os.path.abspath(path))
    from genoprep.textio import check_readable

    check_readable(path, folder=path.is_dir())
    draft = Draft()
    if modality is None:
        modality, why = guess_modality(path)
    else:
        why = "--modality"
    dataset_id = dataset_id or _dataset_id(path)
    draft.set("dataset_id", dataset_id, "dataset_id: from the file name (names OUT/<dataset_id>/)")
    draft.set("name", dataset_id.replace("_", " "), "name: CHECK, a human-readable title")
    draft.set("modality", modality, f"modality: {why}")
    DRAFTERS[modality](path, draft)
    return draft.text()
