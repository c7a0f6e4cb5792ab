"""The per-cell table written beside ``X.npy`` (see :mod:`genoprep.ml_files`)."""

from __future__ import annotations

import anndata as ad
import pandas as pd

from genoprep.scrna.annotate import LABELS
from genoprep.scrna.qc import QC_OBS


def obs_table(adata: ad.AnnData) -> pd.DataFrame:
    """Cell id first, then the label columns present, then the QC columns, in row order."""
    columns = [c for c in LABELS if c in adata.obs] + [c for c in QC_OBS if c in adata.obs]
    table = adata.obs[columns].copy()
    table.insert(0, "cell_id", adata.obs_names.astype(str))
    return table
