"""The sharded scRNA-seq chain through the workflow (params.shards: 4, rules/scrna_shard.smk) against the
one-job run (scrna_process) of the same input, in one snakemake run. The merge functions, the comparison in
one process on more real data and the rerun with the same plan (identical bytes) are in
tests/unit/test_scrna_shard.py."""

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
DATASETS = {"onejob": {}, "sharded": {"shards": 4, "chunk_cells": 60}}


def test_four_shards_give_the_one_job_results(tmp_path: Path) -> None:
    path = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    for dataset, extra in DATASETS.items():
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
    names = ("X.npy", "processed.h5ad", "qc.json")
    run_workflow(tmp_path / "cards", out, "--", *[str(out / d / name) for d in DATASETS for name in names])
    one, sharded = out / "onejob", out / "sharded"
    logs = sorted(p.name for p in (sharded / "logs").iterdir())
    assert "scrna_process.log" in {p.name for p in (one / "logs").iterdir()} and "scrna_process.log" not in logs
    assert [f"scrna_shard_metrics_{i}.log" in logs for i in range(4)] == [True] * 4
    plan = json.loads((out / ".work" / "sharded" / "shards" / "plan.json").read_text())
    assert [(s["start"], s["stop"]) for s in plan["shards"]] == [(0, 175), (175, 350), (350, 525), (525, 700)]
    assert not list((out / ".work" / "sharded" / "shards").glob("*.np[yz]"))  # temp files removed

    a, b = ad.read_h5ad(one / "processed.h5ad"), ad.read_h5ad(sharded / "processed.h5ad")
    assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
    assert a.var["highly_variable"].tolist() == b.var["highly_variable"].tolist()
    assert (a.layers["counts"] != b.layers["counts"]).nnz == 0
    assert abs(a.X - b.X).max() <= 1e-6
    pd.testing.assert_frame_equal(a.obs, b.obs)  # per-cell QC metrics over the kept genes
    assert a.var["n_cells_by_counts"].tolist() == b.var["n_cells_by_counts"].tolist()  # integer, exact
    for column in ("total_counts", "means", "dispersions", "dispersions_norm"):
        np.testing.assert_allclose(b.var[column], a.var[column], rtol=1e-6, atol=1e-6, err_msg=column)
    np.testing.assert_allclose(np.load(sharded / "X.npy"), np.load(one / "X.npy"), atol=1e-5, rtol=0)
    for name in ("features.tsv", "obs.tsv", "qc_cells.tsv"):
        assert (one / name).read_bytes() == (sharded / name).read_bytes(), name
    reports = [json.loads((folder / "qc.json").read_text()) for folder in (one, sharded)]
    assert [r.pop("dataset_id") for r in reports] == ["onejob", "sharded"] and reports[0] == reports[1]
