"""The three paths of the scRNA-seq chain through the workflow, on the same real input in one
snakemake run: one job in memory (``scrna_process``), one job out of core (the input over
``params.memory_budget_mb``, streamed in ``params.chunk_cells`` chunks) and sharded across jobs
(``params.shards: 4``, rules/scrna_shard.smk). The streamed and sharded runs must give the
in-memory run's artifacts. A second pair, one job in memory and 4 shards, takes a loom input
(converted into an h5ad by one job before the shards) with ``seurat_v3`` HVGs per batch
(``hvg_batch_key``: the per-batch statistics merged across shards, the clip values and the per-shard
clip jobs). Library-level comparisons on more real data (every format, HVG flavour, batch key and
split out of core; the merge functions and a rerun with the same shard plan giving identical bytes)
are in tests/unit/test_scrna_ooc*.py, tests/unit/test_scrna_shard.py and
tests/unit/test_scrna_shard_hvg.py."""

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
DATASETS = {
    "onejob": {},
    "streamed": {"memory_budget_mb": 1, "chunk_cells": 50},
    "sharded": {"shards": 4, "chunk_cells": 60},
}
LOOM = {  # dataset -> params of the loom pair (3,704 cells x 158 genes, three batches)
    "onejob_loom": {},
    "sharded_loom": {"shards": 4, "chunk_cells": 300},
}
LOOM_PARAMS = {
    "min_genes": 10,
    "max_genes": None,
    "n_top_genes": 50,
    "hvg_flavor": "seurat_v3",
    "hvg_batch_key": "batch",
}
REFERENCE = {"streamed": "onejob", "sharded": "onejob", "sharded_loom": "onejob_loom"}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("paths")
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
        write_card(work / "cards", card)
    loom = shared_data("scrna", "starmap_mouse_mpfc_3704cells_celltypes.loom")
    for dataset, extra in LOOM.items():
        card = {
            "dataset_id": dataset,
            "name": "STARmap mouse mPFC",
            "modality": "scrna",
            "organism": "Mus musculus",
            "input": {"path": str(loom), "format": "loom"},
            "columns": {"cell_type": "Clusters", "batch": "BatchID"},
            "params": {**LOOM_PARAMS, **extra},
        }
        write_card(work / "cards", card)
    results = work / "out"
    # only the chain's jobs (the rest of the workflow reads their artifacts)
    names = ("X.npy", "processed.h5ad", "qc.json")
    targets = [str(results / d / name) for d in (*DATASETS, *LOOM) for name in names]
    run_workflow(work / "cards", results, "--", *targets)
    return results


@pytest.mark.parametrize("path", sorted(REFERENCE))
def test_the_path_gives_the_in_memory_results(out: Path, path: str) -> None:
    one, other = out / REFERENCE[path], out / path
    a, b = ad.read_h5ad(one / "processed.h5ad"), ad.read_h5ad(other / "processed.h5ad")
    assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
    assert a.var["highly_variable"].tolist() == b.var["highly_variable"].tolist()
    assert (a.layers["counts"] != b.layers["counts"]).nnz == 0
    assert abs(a.X - b.X).max() <= 1e-6
    pd.testing.assert_frame_equal(a.obs, b.obs)  # per-cell QC metrics over the kept genes
    assert a.var["n_cells_by_counts"].tolist() == b.var["n_cells_by_counts"].tolist()  # integer, exact
    # total_counts, means, dispersions(_norm) or variances(_norm) within 1e-6; integers (nbatches) exactly
    pd.testing.assert_frame_equal(a.var, b.var, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.load(other / "X.npy"), np.load(one / "X.npy"), atol=1e-5, rtol=0)
    for name in ("features.tsv", "obs.tsv", "qc_cells.tsv"):
        assert (one / name).read_bytes() == (other / name).read_bytes(), name
    reports = [json.loads((folder / "qc.json").read_text()) for folder in (one, other)]
    assert [r.pop("dataset_id") for r in reports] == [REFERENCE[path], path] and reports[0] == reports[1]
    n_top = 50 if path in LOOM else 300
    assert a.uns["genoprep"]["params"]["n_top_genes"] == b.uns["genoprep"]["params"]["n_top_genes"] == n_top
    assert a.var["highly_variable"].sum() == n_top


def test_each_card_took_its_path(out: Path) -> None:
    def log(dataset: str) -> str:
        return (out / dataset / "logs" / "scrna_process.log").read_text()

    assert "out of core" in log("streamed") and "out of core" not in log("onejob")
    logs = sorted(p.name for p in (out / "sharded" / "logs").iterdir())
    assert "scrna_process.log" not in logs  # the sharded card's outputs come from the shard rules only
    assert [f"scrna_shard_metrics_{i}.log" in logs for i in range(4)] == [True] * 4
    plan = json.loads((out / ".work" / "sharded" / "shards" / "plan.json").read_text())
    assert [(s["start"], s["stop"]) for s in plan["shards"]] == [(0, 175), (175, 350), (350, 525), (525, 700)]
    assert not list((out / ".work" / "sharded" / "shards").glob("*.np[yz]"))  # temporary shard files removed
    assert not [name for name in logs if "clip" in name or "convert" in name]  # seurat on an h5ad: neither

    loom_logs = sorted(p.name for p in (out / "sharded_loom" / "logs").iterdir())
    assert "scrna_process.log" not in loom_logs and "scrna_shard_convert.log" in loom_logs
    assert "scrna_shard_clip_values.log" in loom_logs
    assert [f"scrna_shard_clip_{i}.log" in loom_logs for i in range(4)] == [True] * 4
    assert "highly_variable_nbatches" in ad.read_h5ad(out / "sharded_loom" / "processed.h5ad").var
    work = out / ".work" / "sharded_loom"
    assert not (work / "input.h5ad").exists() and not list((work / "shards").glob("*.np[yz]"))
