"""The scRNA-seq split step: cells assigned from obs, identical cells found, scaling fitted on train rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna.splitting import assign_cells, scale_on_train
from genoprep.splits import SplitOptions


def options(**changes) -> SplitOptions:
    base = {
        "enabled": True,
        "fractions": (0.5, 0.25, 0.25),
        "seed": 3,
        "stratify_by": None,
        "group_by": "donor_id",
        "predefined": None,
    }
    return SplitOptions(**{**base, **changes})


def test_donors_stay_together_and_identical_cells_are_counted() -> None:
    donors = [f"d{i // 3}" for i in range(24)]  # 8 donors of 3 cells
    obs = pd.DataFrame({"donor_id": donors}, index=[f"c{i}" for i in range(24)])
    rows = np.arange(24 * 5, dtype=np.float32).reshape(24, 5)
    counts = sparse.csr_matrix(rows)
    result = assign_cells(obs, options(), "report", "x.h5ad", counts=counts)
    for donor in set(donors):
        assert len({s for s, d in zip(result.splits, donors) if d == donor}) == 1
    assert result.train.sum() == (result.splits == "train").sum() > 0
    identical = result.qc["leakage"]["checks"][0]
    assert identical["what"] == "identical cells" and identical["val_in_train"] == identical["test_in_train"] == 0
    # a test cell that repeats a train cell's counts is found, and the error policy stops with one line
    train_row = int(np.flatnonzero(result.train)[0])
    test_row = int(np.flatnonzero(result.splits == "test")[0])
    rows[test_row] = rows[train_row]
    again = assign_cells(obs, options(), "report", "x.h5ad", counts=sparse.csr_matrix(rows))
    assert again.qc["leakage"]["checks"][0]["test_in_train"] == 1
    with pytest.raises(InputError, match="leakage across splits"):
        assign_cells(obs, options(), "error", "x.h5ad", counts=sparse.csr_matrix(rows))
    with pytest.raises(InputError, match="'donor'"):
        assign_cells(obs, options(group_by="donor"), "report", "x.h5ad")


def test_scaling_uses_the_train_rows_only() -> None:
    rng = np.random.default_rng(0)
    dense = rng.poisson(1.5, size=(40, 6)).astype(np.float32)
    dense[:, 5] = 0  # a column without spread gets std 1
    train = np.zeros(40, dtype=bool)
    train[:25] = True
    matrix, scaler = scale_on_train(sparse.csr_matrix(dense), 2.0, train)
    mean = dense[train].astype(np.float64).mean(axis=0)
    std = dense[train].astype(np.float64).std(axis=0, ddof=1)
    std[std == 0] = 1
    np.testing.assert_allclose(scaler.mean, mean)
    np.testing.assert_allclose(matrix, np.clip((dense - mean) / std, -2, 2), rtol=1e-6, atol=1e-6)
    assert matrix.dtype == np.float32 and scaler.n_fitted == 25
