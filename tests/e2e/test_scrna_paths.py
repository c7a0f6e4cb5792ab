"""The three paths of the scRNA-seq chain through the workflow, on the same real input in one
snakemake run: one job in memory (``scrna_process``), one job out of core (the input over
``params.memory_budget_mb``, streamed in ``params.chunk_cells`` chunks) and sharded across jobs
(``params.shards: 4``, rules/scrna_shard.smk); and a card with ``params.split`` in one job and
sharded (``params.shards: auto``: the shards planned from the memory budget). The streamed and
sharded runs must give the in-memory run's artifacts on the same card. A last pair, one job in memory
and 4 shards, takes a loom input (converted into an h5ad by one job before the shards) with
``seurat_v3`` HVGs per batch (``hvg_batch_key``: the per-batch statistics merged across shards, the
clip values and the per-shard clip jobs). Library-level comparisons on more real data (every format,
HVG flavour, batch key and split out of core; the merge functions, splits across shards and a rerun
with the same shard plan giving identical bytes) are in tests/unit/test_scrna_ooc*.py,
tests/unit/test_scrna_shard.py, tests/unit/test_scrna_shard_split.py and
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
SPLIT = {"split": {"enabled": True, "stratify_by": "bulk_labels", "seed": 3}}
DATASETS = {
    "onejob": {},
    "streamed": {"memory_budget_mb": 1, "chunk_cells": 50},
    "sharded": {"shards": 4, "chunk_cells": 60},
    # params.split across shards, the shards planned by size (the budget two shard jobs fit, see _budget_of)
    "onejob_split": SPLIT,
    "sharded_split": {**SPLIT, "shards": "auto", "memory_budget_mb": None, "chunk_cells": 60},
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
#: the sharded runs and the one-job run on the same card they are compared with
AGAINST = {"streamed": "onejob", "sharded": "onejob", "sharded_split": "onejob_split", "sharded_loom": "onejob_loom"}


def _budget_of(path: Path, n_shards: int) -> int:
    """The largest shard job's memory estimate with ``n_shards`` shards (one fewer must not fit it)."""
    import h5py

    from genoprep.scrna import resources, shard

    with h5py.File(path, "r") as handle:
        indptr, n_genes = handle["X/indptr"][...].astype(np.int64), int(handle["X"].attrs["shape"][1])
    n_cells = indptr.size - 1

    def worst(n: int) -> int:
        ranges = shard.boundaries(n_cells, n)
        sizes = [resources.InputSize(b - a, n_genes, int(indptr[b] - indptr[a])) for a, b in ranges]
        return max(resources.shard_mem_mb(size, n_cells, 1) for size in sizes)

    assert worst(n_shards - 1) > worst(n_shards)
    return worst(n_shards)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("paths")
    path = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    for dataset, extra in DATASETS.items():
        if "memory_budget_mb" in extra and extra["memory_budget_mb"] is None:
            extra = {**extra, "memory_budget_mb": _budget_of(path, 2)}
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


@pytest.mark.parametrize("path", sorted(AGAINST))
def test_the_path_gives_the_in_memory_results(out: Path, path: str) -> None:
    one, other = out / AGAINST[path], out / path
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
    assert [r.pop("dataset_id") for r in reports] == [AGAINST[path], path] and reports[0] == reports[1]
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
    # params.shards auto: the fewest shards whose jobs fit the card's memory budget
    plan = json.loads((out / ".work" / "sharded_split" / "shards" / "plan.json").read_text())
    assert [(s["start"], s["stop"]) for s in plan["shards"]] == [(0, 350), (350, 700)]
    assert "scrna_process.log" not in {p.name for p in (out / "sharded_split" / "logs").iterdir()}


def test_the_split_crossed_the_shards(out: Path) -> None:
    """The sharded split card's split column (equal to the one-job run's above) holds every split, its
    X.npy is scaled with the train rows' mean and std, and qc.json carries the split and leakage sections."""
    obs = pd.read_csv(out / "sharded_split" / "obs.tsv", sep="\t")
    assert set(obs["split"]) == {"train", "val", "test"}
    processed = ad.read_h5ad(out / "sharded_split" / "processed.h5ad")
    train = (obs["split"] == "train").to_numpy()
    block = processed.X[:, processed.var["highly_variable"].to_numpy()].toarray().astype(np.float64)
    std = block[train].std(axis=0, ddof=1)
    std[std == 0] = 1
    expected = np.clip((block - block[train].mean(axis=0)) / std, -10, 10)
    np.testing.assert_allclose(np.load(out / "sharded_split" / "X.npy"), expected, atol=1e-5, rtol=0)
    report = json.loads((out / "sharded_split" / "qc.json").read_text())
    assert report["splits"]["n"]["train"] == int(train.sum()) and report["leakage"]["checks"]
