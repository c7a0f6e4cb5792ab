"""HVG selection out of core (genoprep.scrna.ooc_hvg): ``seurat_v3`` and ``hvg_batch_key`` streamed in
50-cell chunks give the in-memory chain's results (which call scanpy) on the real data: the same HVG set,
ranks, per-batch counts and every other output."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from genoprep.scrna import ooc
from genoprep.scrna.options import MemoryOptions
from tests.conftest import shared_data
from tests.unit.test_scrna_ooc import _assert_same, _options, _run

PBMC68K = "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad"
ONEK1K = "onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad"  # dense X, 4 cell types
SMALL = {"min_genes": 200, "max_genes": 350, "n_top_genes": 300}
LARGE = {"min_genes": 50, "n_top_genes": 200}
CASES = {  # file, params, cells per chunk
    "seurat_v3": (PBMC68K, {**SMALL, "hvg_flavor": "seurat_v3"}, 50),
    "seurat-batch": (PBMC68K, {**SMALL, "hvg_flavor": "seurat", "hvg_batch_key": "phase"}, 50),
    "cell_ranger-batch": (PBMC68K, {**SMALL, "hvg_flavor": "cell_ranger", "hvg_batch_key": "bulk_labels"}, 50),
    # loess needs enough cells per batch (pbmc68k's 17 G2M cells make scanpy's fit singular)
    "seurat_v3-batch": (ONEK1K, {**LARGE, "hvg_flavor": "seurat_v3", "hvg_batch_key": "cell_type"}, 700),
    "seurat_v3_paper-batch": (ONEK1K, {**LARGE, "hvg_flavor": "seurat_v3_paper", "hvg_batch_key": "cell_type"}, 700),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_streamed_hvg_equals_in_memory(tmp_path: Path, case: str) -> None:
    name, params, chunk = CASES[case]
    path = shared_data("scrna", name)
    streaming = MemoryOptions(memory_budget_mb=1, chunk_cells=chunk)
    assert ooc.streaming_chunk(path, _options(tmp_path, path, params, streaming)) == chunk  # streamed
    memory = _run(tmp_path, path, params, None, "memory")
    streamed = _run(tmp_path, path, params, streaming, "streamed")
    _assert_same(memory, streamed)
    a, b = ad.read_h5ad(memory / "processed.h5ad"), ad.read_h5ad(streamed / "processed.h5ad")
    assert 0 < a.var["highly_variable"].sum() <= params["n_top_genes"]
    for column in ("highly_variable_rank", "highly_variable_nbatches", "variances_norm", "dispersions_norm"):
        if column in a.var:
            np.testing.assert_array_equal(a.var[column].to_numpy(), b.var[column].to_numpy(), err_msg=column)
    if "hvg_batch_key" in params:
        assert "highly_variable_nbatches" in b.var and b.var["highly_variable_nbatches"].max() > 1


SPLITS = {
    "seurat-hvg_on_train": (PBMC68K, {**SMALL, "split": {"enabled": True, "stratify_by": "bulk_labels", "seed": 3}}),
    "seurat_v3-batch-hvg_on_all": (
        ONEK1K,
        {
            **LARGE,
            "hvg_flavor": "seurat_v3",
            "hvg_batch_key": "cell_type",
            "split": {"enabled": True, "group_by": "indiv", "seed": 5, "hvg_on_train": False},
        },
    ),
}


@pytest.mark.parametrize("case", sorted(SPLITS))
def test_splits_stream_with_the_in_memory_assignment_and_train_only_fits(tmp_path: Path, case: str) -> None:
    name, params = SPLITS[case]
    path = shared_data("scrna", name)
    streaming = MemoryOptions(memory_budget_mb=1, chunk_cells=50 if name == PBMC68K else 700)
    assert ooc.streaming_chunk(path, _options(tmp_path, path, params, streaming)) is not None  # streamed
    memory = _run(tmp_path, path, params, None, "memory")
    streamed = _run(tmp_path, path, params, streaming, "streamed")
    # obs (with split), qc.json (with the split section), obs.tsv, facts.json; X.npy within 1e-5 (the train
    # variance is summed in one pass here, in two in memory)
    _assert_same(memory, streamed, scaled_atol=1e-5)
    obs = pd.read_csv(streamed / "obs.tsv", sep="\t")
    assert set(obs["split"]) == {"train", "val", "test"}
    a = ad.read_h5ad(memory / "processed.h5ad")
    info_memory, info_streamed = a.uns["genoprep"], ad.read_h5ad(streamed / "processed.h5ad").uns["genoprep"]
    assert list(info_memory) == list(info_streamed) and "split" in info_streamed
    for key in ("split", "hvg_fitted_on", "n_hvg"):
        assert info_memory.get(key) == info_streamed.get(key), key
    assert ("hvg_fitted_on" in info_streamed) == params["split"].get("hvg_on_train", True)
    train = (obs["split"] == "train").to_numpy()
    # X.npy scaled with the train rows' statistics: an independent re-computation from processed.X
    block = a.X[:, a.var["highly_variable"].to_numpy()].toarray().astype(np.float64)
    std = block[train].std(axis=0, ddof=1)
    std[std == 0] = 1
    expected = np.clip((block - block[train].mean(axis=0)) / std, -10, 10)
    np.testing.assert_allclose(np.load(streamed / "X.npy"), expected, atol=1e-5, rtol=0)
