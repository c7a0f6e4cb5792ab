"""Splits across shards (genoprep/scrna/shard.py): the decide job assigns the split once from the shards'
identical-cells keys, the sums and scale jobs fit on the train rows; the shard jobs' functions run in
order (no snakemake) on real data and give the one-job out-of-core path's artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep import leakage
from genoprep.scrna import chain, ooc, shard
from genoprep.scrna.options import MemoryOptions
from tests.conftest import shared_data
from tests.unit.test_scrna_ooc import FILES, MITO, _options, _outputs

PBMC68K = "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad"


def _with_twins(tmp: Path) -> tuple[Path, int]:
    """The real PBMC 68k file with 12 of its cells repeated at the end (``twin-`` names), two of them with
    one more count in a gene ``min_cells: 6`` removes: the twins are identical over the kept genes only.
    Returns the file and that gene's column."""
    adata = ad.read_h5ad(shared_data("scrna", PBMC68K))
    detected = np.asarray((adata.X > 0).sum(axis=0)).ravel()
    rare = int(np.flatnonzero(detected == 3)[0])  # 3 cells, 5 with the twins: removed by min_cells 6
    rows = np.arange(0, 700, 58)[:12]
    twins = adata[rows].copy()
    twins.obs_names = [f"twin-{name}" for name in twins.obs_names]
    matrix = twins.X.tolil()
    for row in range(2):
        matrix[row, rare] = matrix[row, rare] + 1
    twins.X = sparse.csr_matrix(matrix, dtype=adata.X.dtype)
    both = ad.concat([adata, twins])
    both.var = adata.var
    both.write_h5ad(tmp / "twins.h5ad")
    return tmp / "twins.h5ad", rare


CASES = {
    "stratified-hvg_on_train": {"split": {"enabled": True, "stratify_by": "bulk_labels", "seed": 3}},
    "grouped-cell_ranger-hvg_on_all": {
        "hvg_flavor": "cell_ranger",
        "split": {"enabled": True, "group_by": "louvain", "seed": 5, "hvg_on_train": False},
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_four_shards_give_the_one_job_split_and_train_only_fits(tmp_path: Path, case: str) -> None:
    path, rare = _with_twins(tmp_path)
    params = {"min_genes": 200, "min_cells": 6, "n_top_genes": 300, **CASES[case]}
    streamed_options = _options(tmp_path, path, params, MemoryOptions(memory_budget_mb=1, chunk_cells=50))
    assert ooc.streaming_chunk(path, streamed_options) == 50  # the one-job path out of core
    one = tmp_path / "one"
    chain.process(chain.Job(path, None, tuple(MITO), "d", _outputs(one)), streamed_options)
    options = _options(tmp_path, path, params, None)
    sharded = tmp_path / "sharded"
    plan = shard.run_in_process(
        shard.Source(path, None, MITO, "d", options),
        shard.ShardOptions(shards=4, memory_budget_mb=None, chunk_cells=37),
        tmp_path / "work",
        _outputs(sharded),
    )
    assert len(plan.shards) == 4

    # the split column, the split and leakage sections of qc.json and the facts: byte for byte
    for name in FILES[1:]:
        assert (one / name).read_bytes() == (sharded / name).read_bytes(), name
    obs = pd.read_csv(sharded / "obs.tsv", sep="\t", index_col=0)
    assert set(obs["split"]) == {"train", "val", "test"}
    # every kept twin (two identical to their original over the kept genes only) is a repeat the
    # identical-cells check counted: the shards' keys are over the kept genes, as the one-job path's
    kept_twins = [name for name in obs.index if name.startswith("twin-") and name[5:] in obs.index]
    assert plan.n_cells == 712 and len(kept_twins) >= 10
    checks = json.loads((sharded / "qc.json").read_text())["leakage"]["checks"]
    (check,) = [c for c in checks if c["what"] == "identical cells"]
    counts = [value for key, value in check.items() if key.startswith(("repeats_within", "val_in", "test_in"))]
    assert sum(counts) == len(kept_twins)

    a, b = ad.read_h5ad(one / "processed.h5ad"), ad.read_h5ad(sharded / "processed.h5ad")
    assert list(a.obs_names) == list(b.obs_names) and list(a.var_names) == list(b.var_names)
    assert ad.read_h5ad(path, backed="r").var_names[rare] not in set(b.var_names)  # the twins' extra gene
    assert a.var["highly_variable"].tolist() == b.var["highly_variable"].tolist()
    pd.testing.assert_frame_equal(a.obs, b.obs)  # with the split column
    pd.testing.assert_frame_equal(a.var, b.var, rtol=1e-6, atol=1e-6)
    for key in ("split", "hvg_fitted_on", "n_hvg"):
        assert a.uns["genoprep"].get(key) == b.uns["genoprep"].get(key), key
    assert ("hvg_fitted_on" in b.uns["genoprep"]) == CASES[case]["split"].get("hvg_on_train", True)
    assert abs(a.X - b.X).max() <= 1e-6
    x = np.load(sharded / "X.npy")
    np.testing.assert_allclose(x, np.load(one / "X.npy"), atol=1e-5, rtol=0)
    # X.npy scaled with the train rows' mean and std (ddof=1), recomputed here from processed.X
    train = (obs["split"] == "train").to_numpy()
    block = b.X[:, b.var["highly_variable"].to_numpy()].toarray().astype(np.float64)
    std = block[train].std(axis=0, ddof=1)
    std[std == 0] = 1
    np.testing.assert_allclose(x, np.clip((block - block[train].mean(axis=0)) / std, -10, 10), atol=1e-5, rtol=0)


def test_shard_cell_keys_are_the_kept_counts_keys_of_every_row(tmp_path: Path) -> None:
    """Per shard, one key per row over the kept genes: the kept rows' keys are leakage.cell_keys of the kept
    counts (what the one-job path digests), whatever the chunk; a twin differing only in a removed gene
    gets its original's key."""
    import h5py

    path, rare = _with_twins(tmp_path)
    adata = ad.read_h5ad(path)
    gene_kept = np.ones(adata.n_vars, dtype=bool)
    gene_kept[[rare, 5]] = False
    expected = leakage.cell_keys(adata.X[:, gene_kept].astype(np.float32))
    with h5py.File(path, "r") as handle:
        reader = ooc.RowReader(handle["X"], adata.n_vars)
        for start, stop, chunk in ((0, 712, 1000), (100, 712, 7), (690, 712, 3)):
            keys = shard.shard_cell_keys(reader, start, stop, chunk, gene_kept)
            assert keys.dtype == np.uint8 and keys.shape == (stop - start, 16)
            assert [row.tobytes() for row in keys] == expected[start:stop]
    twin = adata.obs_names.get_loc(f"twin-{adata.obs_names[0]}")
    assert expected[twin] == expected[0]  # one more count in the removed gene only
    assert leakage.cell_keys(adata.X[[0]])[0] != leakage.cell_keys(adata.X[[twin]])[0]
