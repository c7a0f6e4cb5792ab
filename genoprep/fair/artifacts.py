"""What each file of a finished dataset folder is: format, columns and their types, array shapes.

One description per artifact, shared by the Croissant metadata and the Hugging Face card:

- tables (``.tsv`` with a header row, ``.parquet``): their columns with a Croissant data
  type each (from pandas' / Arrow's types of the whole file);
- ``features.tsv``: one feature id per line, no header;
- arrays (``.npy``, ``.npz`` as written by ``scipy.sparse.save_npz``, ``.h5ad``): shape and
  dtype, and which table names their rows and their columns (the sample table when its
  row count equals the first dimension; ``features.tsv``, ``variants.parquet`` or the
  same-named ``.tsv`` when its row count equals the second);
- anything else (``qc.json``, figures, ``card.yaml``): a file with its media type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

#: the table with one row per cell / sample / sequence, in the row order of the matrices
SAMPLE_TABLES = ("obs.tsv", "samples.tsv")
#: tables without a header row: one value per line
HEADERLESS_TABLES = {"features.tsv": "feature_id"}
#: tables that name the columns of a matrix (besides the matrix's same-named .tsv)
COLUMN_TABLES = ("features.tsv", "variants.parquet")

#: media type by file suffix (the Croissant encodingFormat)
MEDIA_TYPES = {
    ".tsv": "text/tab-separated-values",
    ".csv": "text/csv",
    ".parquet": "application/x-parquet",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".yaml": "application/yaml",
    ".md": "text/markdown",
    ".npy": "application/x-npy",
    ".npz": "application/x-npz",
    ".h5ad": "application/x-hdf5",
    ".txt": "text/plain",
}


@dataclass(frozen=True)
class Column:
    """A column of a table: its name, Croissant data type and whether it holds a list per row."""

    name: str
    data_type: str
    repeated: bool = False


@dataclass
class ArtifactInfo:
    """One file of a dataset folder."""

    name: str
    media_type: str
    kind: str  # "table" | "lines" | "array" | "file"
    columns: list[Column] = field(default_factory=list)
    n_rows: int | None = None
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    rows_table: str | None = None
    columns_table: str | None = None
    #: ``genoprep.*`` key-value metadata a Parquet file carries (e.g. a token table's scheme and
    #: parameters, dictionary hashes included), JSON values parsed
    provenance: dict[str, object] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem


def media_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return MEDIA_TYPES.get(suffix, "application/octet-stream")


def _pandas_type(dtype: object) -> str:
    kind = getattr(dtype, "kind", "O")
    return {"i": "sc:Integer", "u": "sc:Integer", "f": "sc:Float", "b": "sc:Boolean"}.get(kind, "sc:Text")


def _arrow_type(arrow_type: object) -> tuple[str, bool]:
    import pyarrow as pa

    repeated = pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)
    if repeated:
        arrow_type = arrow_type.value_type  # type: ignore[attr-defined]
    if pa.types.is_integer(arrow_type):
        return "sc:Integer", repeated
    if pa.types.is_floating(arrow_type):
        return "sc:Float", repeated
    if pa.types.is_boolean(arrow_type):
        return "sc:Boolean", repeated
    return "sc:Text", repeated


def _tsv_columns(path: Path) -> tuple[list[Column], int]:
    import pandas as pd

    frame = pd.read_csv(path, sep="\t", low_memory=False)
    return [Column(str(name), _pandas_type(frame[name].dtype)) for name in frame.columns], len(frame)


def _parquet_provenance(metadata: Mapping[bytes, bytes]) -> dict[str, object]:
    import json

    found: dict[str, object] = {}
    for key, value in metadata.items():
        name = key.decode("utf-8", "replace")
        if not name.startswith("genoprep."):
            continue
        text = value.decode("utf-8", "replace")
        try:
            found[name.removeprefix("genoprep.")] = json.loads(text)
        except ValueError:
            found[name.removeprefix("genoprep.")] = text
    return found


def _line_count(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def _array_shape(path: Path) -> tuple[tuple[int, ...] | None, str | None]:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = np.load(path, mmap_mode="r")
        return tuple(int(n) for n in array.shape), str(array.dtype)
    if suffix == ".npz":
        with np.load(path) as archive:
            if "shape" in archive.files and "data" in archive.files:  # scipy.sparse.save_npz
                return tuple(int(n) for n in archive["shape"]), str(archive["data"].dtype)
        return None, None
    if suffix == ".h5ad":
        import h5py

        with h5py.File(path, "r") as handle:
            matrix = handle.get("X")
            if matrix is None:
                return None, None
            if isinstance(matrix, h5py.Dataset):
                return tuple(int(n) for n in matrix.shape), str(matrix.dtype)
            shape = matrix.attrs.get("shape")
            data = matrix.get("data")
            return (
                tuple(int(n) for n in shape) if shape is not None else None,
                str(data.dtype) if isinstance(data, h5py.Dataset) else None,
            )
    return None, None


def describe_file(folder: Path, name: str) -> ArtifactInfo:
    """Describe one file of the dataset folder (``name`` relative to it, posix style)."""
    path = folder / name
    base = PurePosixPath(name).name
    suffix = PurePosixPath(name).suffix.lower()
    info = ArtifactInfo(name=name, media_type=media_type(name), kind="file")
    if base in HEADERLESS_TABLES:
        info.kind, info.media_type = "lines", "text/plain"
        info.columns = [Column(HEADERLESS_TABLES[base], "sc:Text")]
        info.n_rows = _line_count(path)
    elif suffix == ".tsv":
        info.kind = "table"
        info.columns, info.n_rows = _tsv_columns(path)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        info.kind = "table"
        parquet = pq.ParquetFile(path)
        info.columns = [Column(f.name, *_arrow_type(f.type)) for f in parquet.schema_arrow]
        info.n_rows = parquet.metadata.num_rows
        info.provenance = _parquet_provenance(parquet.schema_arrow.metadata or {})
    elif suffix in (".npy", ".npz", ".h5ad"):
        info.kind = "array"
        info.shape, info.dtype = _array_shape(path)
    return info


def _link_arrays(infos: Mapping[str, ArtifactInfo]) -> None:
    sample_table = next((infos[n] for n in SAMPLE_TABLES if n in infos), None)
    for info in infos.values():
        if info.kind != "array" or not info.shape or PurePosixPath(info.name).suffix == ".h5ad":
            continue
        if sample_table is not None and sample_table.n_rows == info.shape[0]:
            info.rows_table = sample_table.name
        if len(info.shape) < 2:
            continue
        for candidate in (f"{info.stem}.tsv", *COLUMN_TABLES):
            table = infos.get(candidate)
            if table is not None and table.n_rows == info.shape[1]:
                info.columns_table = candidate
                break


def describe_artifacts(folder: str | Path, names: Iterable[str]) -> dict[str, ArtifactInfo]:
    """Describe the named files of a dataset folder, in the given order, arrays linked to their tables."""
    folder = Path(folder)
    infos = {name: describe_file(folder, name) for name in names}
    _link_arrays(infos)
    return infos


def sample_table(infos: Mapping[str, ArtifactInfo]) -> ArtifactInfo | None:
    """The dataset's table of rows (cells, samples, sequences), if it has one."""
    return next((infos[n] for n in SAMPLE_TABLES if n in infos), None)
