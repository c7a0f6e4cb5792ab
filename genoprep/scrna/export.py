"""The ML-facing files: ``X.npy``, ``features.tsv``, ``obs.tsv``."""

from __future__ import annotations

import os

import anndata as ad
import numpy as np
import pandas as pd

from genoprep.scrna.annotate import LABELS
from genoprep.scrna.qc import QC_OBS


def obs_table(adata: ad.AnnData) -> pd.DataFrame:
    """Cell id first, then the label columns present, then the QC columns, in row order."""
    columns = [c for c in LABELS if c in adata.obs] + [c for c in QC_OBS if c in adata.obs]
    table = adata.obs[columns].copy()
    table.insert(0, "cell_id", adata.obs_names.astype(str))
    return table


def write_ml_files(matrix: np.ndarray, features: list[str], obs: pd.DataFrame, x_path: str | os.PathLike[str],
                   features_path: str | os.PathLike[str], obs_path: str | os.PathLike[str]) -> None:
    """``X.npy`` (float32), ``features.tsv`` (one name per line, no header), ``obs.tsv``."""
    if matrix.shape != (len(obs), len(features)):
        raise ValueError(f"X is {matrix.shape}, but there are {len(obs)} cells and {len(features)} features")
    np.save(x_path, np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
    with open(features_path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(f"{name}\n" for name in features)
    obs.to_csv(obs_path, sep="\t", index=False, lineterminator="\n")
