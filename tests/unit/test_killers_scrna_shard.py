"""Killers for the mutants of genoprep/scrna/shard.py that survived the module tests (issue 16; docs/testing.md).

The `scrna_shard` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is hand-computed,
re-implemented here in plain numpy/pandas/h5py, or read with an independent library (scanpy, anndata, h5py),
never taken from genoprep's own output. Inputs are tiny and written in the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna import shard


def _tiny_h5ad(path: Path) -> np.ndarray:
    """12 cells x 6 genes of small counts (some zeros), cell c9 holding -1 at gene g2."""
    dense = (np.arange(1, 73, dtype=np.float32).reshape(12, 6) % 5).astype(np.float32)
    dense[9, 2] = -1
    adata = ad.AnnData(
        X=sparse.csr_matrix(dense),
        obs=pd.DataFrame(index=[f"c{i}" for i in range(12)]),
        var=pd.DataFrame(index=[f"g{j}" for j in range(6)]),
    )
    adata.write_h5ad(path)
    return dense


def test_shard_metrics_record_the_value_error_of_the_shard_holding_it(tmp_path: Path) -> None:
    """Pass 1 per shard: per-cell metrics against numpy, and the negative value of cell c9 (shard 1 of 2) stored as
    (rank, file, problem, record) so that raise_value_error names the file, the cell and the gene."""
    from tests.unit.test_scrna_ooc import MITO, _options

    path = tmp_path / "x.h5ad"
    dense = _tiny_h5ad(path)
    options = _options(tmp_path, path, {"min_genes": 1}, None)
    shard_options = shard.ShardOptions(shards=2, memory_budget_mb=None, chunk_cells=None)
    the_plan = shard.plan(path, options, shard_options, tmp_path / "plan.json")
    assert [(s.start, s.stop) for s in the_plan.shards] == [(0, 6), (6, 12)]
    source = shard.Source(path, None, MITO, "d", options)
    metrics = []
    for index in (0, 1):
        shard.shard_metrics(source, shard_options, tmp_path / "plan.json", index, tmp_path / f"m{index}.npz")
        with np.load(tmp_path / f"m{index}.npz") as arrays:
            metrics.append({key: arrays[key] for key in arrays.files})
    rows = dense[:6], dense[6:]
    for part, block in zip(metrics, rows, strict=True):
        np.testing.assert_array_equal(part["genes"], (block != 0).sum(axis=1))
        np.testing.assert_allclose(part["total"], block.sum(axis=1))
    assert str(metrics[0]["value_error"]) == ""
    rank, file, problem, record = json.loads(str(metrics[1]["value_error"]))
    assert isinstance(rank, int) and file == str(path) and record == "cell c9, gene g2"
    assert problem.startswith("value -1 is negative")
    with pytest.raises(InputError) as raised:
        shard.raise_value_error(metrics)
    assert str(raised.value) == f"{path}: cell c9, gene g2: {problem}"


def _three_shard_plan(path: Path) -> None:
    # 100,000 cells x 5,000 genes; the largest shard (by stored values) in the middle
    shards = (shard.Shard(0, 30_000, 20_000_000), shard.Shard(30_000, 70_000, 50_000_000))
    shard.Plan(100_000, 5_000, 2, (*shards, shard.Shard(70_000, 100_000, 10_000_000))).write(path)


def test_shard_job_resources_from_the_plan_hand_computed(tmp_path: Path) -> None:
    """Each figure from the docstrings' formulas by hand, e.g. the gather job's outputs at n_hvg 300, attempt 2:
    16 * 8e7 + 12 * 1e5 * 300 + 424 * 1e5 + 128 * 105,000 bytes = 1617.3 MiB, + 32 MiB, x 2 = 3298.6 -> 3298 + 1;
    a shard's memory: 1024 + 1e5 * 400 / 2**20 + nnz * 48 / 2**20 + 2 * cells * 2000 * 4 / 2**20 MiB."""
    path = tmp_path / "plan.json"
    _three_shard_plan(path)
    assert shard.shard_disk_mb(path, "outputs", None, 2, 300) == 3299
    assert shard.shard_disk_mb(path, "outputs", None, 1, 2000) == 3595
    assert [shard.shard_disk_mb(path, "rows", i, 2, 300) for i in range(3)] == [614, 1530, 309]
    assert [shard.shard_disk_mb(path, "block", i, 2, 300) for i in range(3)] == [71, 94, 71]
    assert [shard.shard_disk_mb(path, "block", i, 1, 2000) for i in range(3)] == [230, 307, 230]
    assert [shard.shard_mem_mb(path, i, 1) for i in range(3)] == [2435, 3961, 1977]
    assert [shard.shard_mem_mb(path, i, 2) for i in range(3)] == [4870, 7922, 3955]
    assert shard.shard_mem_mb(path, None, 2) == 7922  # a reduce job holds the largest shard (the middle one)
    assert [shard.shard_runtime(path, i, 3) for i in range(3)] == [60, 105, 45]  # (10 + nnz / 2e6) * 3
    assert shard.shard_runtime(path, None, 3) == 150  # the whole input: 8e7 values


def test_chunk_cells_inside_a_shard_job_follow_the_cards_budget(tmp_path: Path) -> None:
    """Cells per chunk of shard i: the card's chunk_cells, else an eighth of params.memory_budget_mb over
    40 * nnz / cells + 8 * min(2000, genes) + 64 bytes per cell, e.g. shard 1 at 64 MiB: 2**23 / 66,064 = 126.98."""
    path = tmp_path / "plan.json"
    _three_shard_plan(path)
    the_plan = shard.Plan.read(path)

    def chunk(index: int, budget: int | None, cells: int | None) -> int:
        return shard.chunk_of(the_plan, index, shard.ShardOptions(shards=3, memory_budget_mb=budget, chunk_cells=cells))

    assert [chunk(i, 64, None) for i in range(3)] == [196, 126, 285]
    assert chunk(1, 4096, None) == 8126 and chunk(2, 512, None) == 2282
    assert chunk(1, 64, 33) == 33


def test_the_plan_of_a_dense_matrix_counts_every_value_of_each_shard(tmp_path: Path) -> None:
    from tests.unit.test_scrna_ooc import _options

    path = tmp_path / "dense.h5ad"
    ad.AnnData(X=np.ones((12, 6), dtype=np.float32)).write_h5ad(path)
    options = _options(tmp_path, path, {}, None)
    shard_options = shard.ShardOptions(shards=3, memory_budget_mb=None, chunk_cells=None)
    the_plan = shard.plan(path, options, shard_options, tmp_path / "plan.json")
    assert (the_plan.n_cells, the_plan.n_genes) == (12, 6)
    assert [(s.start, s.stop, s.nnz) for s in the_plan.shards] == [(0, 4, 24), (4, 8, 24), (8, 12, 24)]
    assert shard.Plan.read(tmp_path / "plan.json") == the_plan


def test_rule_params_round_trip_and_rule_inputs(tmp_path: Path) -> None:
    """The shard rules' params (chain_params, plain dicts per step) read back as the one-job chain's options
    and the card's shard options; the rules' inputs read as a Source and ShardFiles, optional ones absent."""
    from types import SimpleNamespace

    from genoprep.cards import load_card
    from genoprep.scrna import chain
    from tests.conftest import write_card

    card = {
        "dataset_id": "d",
        "name": "shard params",
        "modality": "scrna",
        "input": {"path": str(tmp_path / "in.h5ad"), "format": "h5ad"},
        "params": {
            "shards": 3,
            "chunk_cells": 50,
            "memory_budget_mb": 2048,
            "min_genes": 7,
            "n_top_genes": 123,
            "split": {"enabled": True, "seed": 11},
        },
    }
    data = load_card(write_card(tmp_path / "cards", card)).data
    params = shard.chain_params(data)
    assert list(params) == [
        "ingest",
        "qc",
        "normalize",
        "hvg",
        "scale",
        "embed",
        "split",
        "leakage",
        "train_only",
        "shard",
    ]
    assert all(type(value) is dict for value in params.values())
    assert params["shard"] == {"shards": 3, "memory_budget_mb": 2048, "chunk_cells": 50}
    options, shard_options = shard.options_from(params)
    assert shard_options == shard.ShardOptions(shards=3, memory_budget_mb=2048, chunk_cells=50)
    assert options == chain.ChainOptions.from_card(data, None)
    assert (options.qc.min_genes, options.hvg.n_top_genes, options.split.seed) == (7, 123, 11)

    full = SimpleNamespace(
        data=["in.h5ad"], metadata=["meta.tsv"], mito_genes=["a.tsv", "b.tsv"], converted=["work/input.h5ad"]
    )
    assert shard.job_source(full, "d", options) == shard.Source(
        "in.h5ad", "meta.tsv", ("a.tsv", "b.tsv"), "d", options, "work/input.h5ad"
    )
    bare = SimpleNamespace(data=["in.h5ad"], metadata=[], converted=[])
    assert shard.job_source(bare, "e", options) == shard.Source("in.h5ad", None, (), "e", options, None)
    assert shard.job_stream(full) == "work/input.h5ad" and shard.job_stream(bare) is None

    reduce_inputs = SimpleNamespace(
        plan="plan.json",
        metrics=("m0", "m1"),
        kept=("k0", "k1"),
        sums=("s0", "s1"),
        decision="decision.npz",
        clip=["clip.npz"],
        clipped=("c0", "c1"),
    )
    assert shard.shard_files(reduce_inputs) == shard.ShardFiles(
        "plan.json", ["m0", "m1"], ["k0", "k1"], ["s0", "s1"], "decision.npz", "clip.npz", ["c0", "c1"]
    )
    plain = SimpleNamespace(plan="plan.json", metrics=["m0"], kept=["k0"], sums=["s0"], clip=[])
    assert shard.shard_files(plain) == shard.ShardFiles("plan.json", ["m0"], ["k0"], ["s0"], None, None, [])


def test_merged_batch_hvg_uses_the_plans_slots_not_this_jobs_threads(tmp_path: Path) -> None:
    """The reduce job merges the shards' per-batch states with the plan's slot count (3 here, the numba threads
    of the plan job), whatever its own thread count: the same state as the ranges merged by hand with 3 slots."""
    import numba

    from tests.unit.test_scrna_ooc import _options
    from tests.unit.test_scrna_shard_hvg import N_GENES, SLOTS, merged_from_ranges, random_data

    counts, x, obs = random_data(4)
    expected = merged_from_ranges("seurat", "batch", counts, x, obs, 4, tmp_path)
    files = shard.ShardFiles(tmp_path / "plan.json", [], [], [tmp_path / f"sums_4_{i}.npz" for i in range(4)])
    options = _options(tmp_path, tmp_path / "in.h5ad", {"hvg_flavor": "seurat", "hvg_batch_key": "batch"}, None)
    threads = numba.get_num_threads()
    numba.set_num_threads(1 if threads == SLOTS else threads)  # this job's threads differ from the plan's slots
    try:
        merged = shard.merged_batch_hvg(obs, None, options, N_GENES, SLOTS, files)
    finally:
        numba.set_num_threads(threads)
    assert merged is not None
    state, reference = merged.state(), expected.state()
    assert sorted(state) == sorted(reference)
    for key, value in reference.items():
        np.testing.assert_array_equal(state[key], value, err_msg=key)


def test_gather_names_a_block_of_the_wrong_width(tmp_path: Path) -> None:
    """The shard jobs in order on 80 synthetic cells (2 shards, 10 HVGs), then one scaled block cut to 9 columns:
    the gather job stops naming that file and both widths."""
    from tests.unit.test_scrna_ooc import MITO, _options, _outputs

    rng = np.random.default_rng(0)
    dense = rng.poisson(rng.gamma(0.8, 2.0, size=(80, 50))).astype(np.float32)
    path = tmp_path / "x.h5ad"
    ad.AnnData(
        X=sparse.csr_matrix(dense),
        obs=pd.DataFrame(index=[f"c{i}" for i in range(80)]),
        var=pd.DataFrame(index=[f"g{j}" for j in range(50)]),
    ).write_h5ad(path)
    options = _options(tmp_path, path, {"min_genes": 1, "n_top_genes": 10}, None)
    shard_options = shard.ShardOptions(shards=2, memory_budget_mb=None, chunk_cells=None)
    work = tmp_path / "work"
    work.mkdir()

    def at(name: str) -> str:
        return str(work / name)

    source = shard.Source(path, None, MITO, "d", options)
    shard.plan(path, options, shard_options, at("plan.json"))
    files = shard.ShardFiles(
        at("plan.json"),
        [at(f"metrics_{i}.npz") for i in (0, 1)],
        [at(f"kept_{i}.npz") for i in (0, 1)],
        [at(f"sums_{i}.npz") for i in (0, 1)],
        at("decision.npz"),
    )
    outputs = _outputs(tmp_path / "out")
    rows, blocks = [at(f"rows_{i}.npz") for i in (0, 1)], [at(f"block_{i}.npy") for i in (0, 1)]
    for i in (0, 1):
        shard.shard_metrics(source, shard_options, files.plan, i, files.metrics[i])
    for i in (0, 1):
        shard.shard_kept(source, shard_options, files.plan, i, files.metrics, files.kept[i])
    shard.decide(source, files.metrics, files.kept, outputs.qc, outputs.cells, outputs.logs, at("decision.npz"))
    for i in (0, 1):
        shard.shard_sums(path, options, shard_options, files.plan, i, at("decision.npz"), files.sums[i], rows[i])
    shard.hvg(source, files, at("hvg.npz"))
    for i in (0, 1):
        shard.shard_scale(options, rows[i], at("hvg.npz"), blocks[i])
    block = np.load(blocks[1])
    assert block.shape == (40, 10)
    np.save(blocks[1], block[:, :9])
    with pytest.raises(AssertionError) as raised:
        shard.gather(source, files, rows, blocks, at("hvg.npz"), outputs)
    assert str(raised.value) == f"{blocks[1]}: 9 columns, not 10"
