"""The out-of-core scRNA-seq path through the workflow: a card whose input exceeds its
``params.memory_budget_mb`` is streamed in ``params.chunk_cells`` chunks and gives the in-memory
run's artifacts (the library-level comparisons are in tests/unit/test_scrna_ooc.py)."""

from __future__ import annotations

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

PARAMS = {"min_genes": 200, "max_genes": 350, "n_top_genes": 300}


def test_a_card_over_its_memory_budget_is_streamed_with_the_same_results(tmp_path: Path) -> None:
    path = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    for dataset, extra in (("inmem", {}), ("streamed", {"memory_budget_mb": 1, "chunk_cells": 50})):
        card = {
            "dataset_id": dataset,
            "name": "PBMC 68k reduced, raw counts",
            "modality": "scrna",
            "input": {"path": str(path), "format": "h5ad"},
            "columns": {"cell_type": "bulk_labels"},
            "params": {**PARAMS, **extra},
        }
        write_card(tmp_path / "cards", card)
    out = tmp_path / "out"
    # only the scrna_process jobs (the rest of the workflow reads their artifacts)
    targets = [str(out / d / name) for d in ("inmem", "streamed") for name in ("X.npy", "processed.h5ad")]
    run_workflow(tmp_path / "cards", out, "--", *targets)
    memory, streamed = out / "inmem", out / "streamed"
    assert "out of core" in (streamed / "logs" / "scrna_process.log").read_text()
    assert "out of core" not in (memory / "logs" / "scrna_process.log").read_text()
    a, b = ad.read_h5ad(memory / "processed.h5ad"), ad.read_h5ad(streamed / "processed.h5ad")
    assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
    assert a.var["highly_variable"].tolist() == b.var["highly_variable"].tolist()
    assert (a.layers["counts"] != b.layers["counts"]).nnz == 0
    assert abs(a.X - b.X).max() <= 1e-6
    pd.testing.assert_frame_equal(a.obs, b.obs)
    np.testing.assert_allclose(np.load(streamed / "X.npy"), np.load(memory / "X.npy"), atol=1e-5, rtol=0)
    for name in ("features.tsv", "obs.tsv", "qc_cells.tsv"):
        assert (memory / name).read_bytes() == (streamed / name).read_bytes(), name
    reports = [json.loads((folder / "qc.json").read_text()) for folder in (memory, streamed)]
    assert [r.pop("dataset_id") for r in reports] == ["inmem", "streamed"] and reports[0] == reports[1]
    assert a.uns["genoprep"]["params"]["n_top_genes"] == b.uns["genoprep"]["params"]["n_top_genes"] == 300
