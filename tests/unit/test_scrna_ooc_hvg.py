"""HVG selection out of core (genoprep.scrna.ooc_hvg): ``seurat_v3`` and ``hvg_batch_key`` streamed in
50-cell chunks give the in-memory chain's results (which call scanpy) on the real data: the same HVG set,
ranks, per-batch counts and every other output."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
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
