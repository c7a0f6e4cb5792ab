"""The ML-facing files every matrix modality writes: ``X.npy``, ``features.tsv``, ``obs.tsv``."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd


def write_ml_files(
    matrix: np.ndarray,
    features: list[str],
    obs: pd.DataFrame,
    x_path: str | os.PathLike[str],
    features_path: str | os.PathLike[str],
    obs_path: str | os.PathLike[str],
) -> None:
    """``X.npy`` (float32, rows x features), ``features.tsv`` (one name per line, no header)
    and ``obs.tsv`` (one row per matrix row, in the same order; id first)."""
    if matrix.shape != (len(obs), len(features)):
        raise ValueError(f"X is {matrix.shape}, but there are {len(obs)} rows and {len(features)} features")
    np.save(x_path, np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
    with open(features_path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(f"{name}\n" for name in features)
    obs.to_csv(obs_path, sep="\t", index=False, lineterminator="\n")
