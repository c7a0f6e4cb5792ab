"""What every task bundle shares: its folder layout, deterministic array files and ``task.yaml``.

A bundle is the folder ``OUT/<dataset_id>/tasks/<task>/``. Arrays per split are either
``.npy`` files (``X_<split>.npy``, ``y_<split>.npy``) or one ``<split>.npz`` holding several
named arrays (a sparse matrix ``M`` is stored as ``M.data``, ``M.indices``, ``M.indptr``,
``M.shape``; a ragged token array ``T`` as ``T.values`` and ``T.offsets``). The ``.npz``
zip entries carry a fixed timestamp, so two runs give identical bytes. ``task.yaml`` is
written last: the task, its inputs, target, metric, split file, label map, counts and
the SHA-256 of every file of the bundle.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genoprep.cards import write_yaml
from genoprep.provenance import file_sha256
from genoprep.splits import SPLITS

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_arrays(path: str | os.PathLike[str], arrays: Mapping[str, Any]) -> None:
    """A ``.npz`` with fixed zip timestamps; CSR matrices and ragged (values, offsets) pairs expanded."""
    import scipy.sparse as sp  # lazy: parsing the workflow imports this module

    flat: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if sp.issparse(value):
            csr = sp.csr_matrix(value)
            flat.update(
                {
                    f"{name}.data": csr.data,
                    f"{name}.indices": csr.indices,
                    f"{name}.indptr": csr.indptr,
                    f"{name}.shape": np.asarray(csr.shape, dtype=np.int64),
                }
            )
        elif isinstance(value, tuple) and len(value) == 2:  # ragged tokens: (values, offsets)
            flat.update({f"{name}.values": np.asarray(value[0]), f"{name}.offsets": np.asarray(value[1])})
        else:
            flat[name] = np.asarray(value)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in flat.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.ascontiguousarray(array), allow_pickle=False)


def load_arrays(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a bundle ``.npz`` back: CSR matrices and (values, offsets) pairs reassembled."""
    import scipy.sparse as sp  # lazy: parsing the workflow imports this module

    out: dict[str, Any] = {}
    with np.load(path, allow_pickle=False) as npz:
        names = list(npz.files)
        for name in names:
            base, _, part = name.rpartition(".")
            if part == "data" and f"{base}.indptr" in names:
                out[base] = sp.csr_matrix(
                    (npz[name], npz[f"{base}.indices"], npz[f"{base}.indptr"]), shape=tuple(npz[f"{base}.shape"])
                )
            elif part == "values" and f"{base}.offsets" in names:
                out[base] = (npz[name], npz[f"{base}.offsets"])
            elif part not in ("indices", "indptr", "shape", "offsets") or not base:
                out[name] = npz[name]
    return out


def write_task_yaml(
    folder: str | os.PathLike[str],
    task: str,
    *,
    dataset_id: str,
    inputs: Sequence[str],
    target: str,
    metric: str,
    split_file: str,
    files: Sequence[str | os.PathLike[str]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``task.yaml`` describing the bundle; ``files`` are the bundle's files (checksummed)."""
    folder = Path(folder)
    record: dict[str, Any] = {
        "task": task,
        "dataset_id": dataset_id,
        "inputs": list(inputs),
        "target": target,
        "metric": metric,
        "split_file": split_file,
        "splits": list(SPLITS),
    }
    record.update(extra or {})
    record["artifacts_sha256"] = {Path(f).name: file_sha256(f) for f in sorted(files, key=lambda p: Path(p).name)}
    write_yaml(record, folder / "task.yaml")
    return record


def label_codes(labels: Sequence[str], na: str = "NA") -> tuple[np.ndarray, list[str], np.ndarray]:
    """Integer codes of labels in sorted label order; ``NA``/empty labels get -1 and are reported.

    Returns ``(codes, label_names, is_missing)``.
    """
    values = np.asarray([str(v) for v in labels], dtype=object)
    missing = np.isin(values, [na, "", "nan", "None"])
    names = sorted(set(values[~missing].tolist()))
    index = {name: i for i, name in enumerate(names)}
    codes = np.array([index.get(v, -1) if not m else -1 for v, m in zip(values, missing)], dtype=np.int64)
    return codes, names, missing
