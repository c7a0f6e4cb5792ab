"""The out-of-core scRNA-seq path (genoprep.scrna.ooc) against the in-memory chain, on the real data.

Both paths run through :func:`genoprep.scrna.chain.process` on the same card; the out-of-core
run is forced with a 1 MiB budget and 50-cell chunks, so every file is read in many chunks.
The in-memory chain itself is compared with plain scanpy in tests/e2e/test_scrna_real.py.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.cards import load_card
from genoprep.errors import InputError
from genoprep.scrna import chain, ooc, resources
from genoprep.scrna.options import (
    IngestOptions,
    MemoryOptions,
    NormalizeOptions,
)
from tests.conftest import REPO, shared_data, write_card

MITO = [REPO / "resources" / "mito_genes_human.tsv"]
FILES = ("X.npy", "features.tsv", "obs.tsv", "qc.json", "qc_cells.tsv", "facts.json")


def _options(tmp: Path, path: Path, params: dict, memory: MemoryOptions | None) -> chain.ChainOptions:
    card = {
        "dataset_id": "d",
        "name": "ooc test",
        "modality": "scrna",
        "input": {"path": str(path), "format": "h5ad"},
        "params": params,
    }
    data = load_card(write_card(tmp / "cards", card)).data
    return chain.ChainOptions.from_card(data, memory)


def _outputs(folder: Path) -> chain.Outputs:
    folder.mkdir(parents=True, exist_ok=True)
    names = ("processed.h5ad", *FILES[:-1], "facts.json", "steps.tsv")
    paths = dict(zip(("processed", "x", "features", "obs", "qc", "cells", "facts", "steps"), names, strict=True))
    return chain.Outputs(**{key: folder / name for key, name in paths.items()}, logs=folder / "logs")


def _run(tmp: Path, path: Path, params: dict, memory: MemoryOptions | None, name: str) -> Path:
    chain.process(chain.Job(path, None, tuple(MITO), "d", _outputs(tmp / name)), _options(tmp, path, params, memory))
    return tmp / name


def _steps(folder: Path) -> list[str]:
    return pd.read_csv(folder / "steps.tsv", sep="\t")["step"].tolist()


def _assert_same(memory: Path, streamed: Path, scaled_atol: float = 0) -> None:
    """``scaled_atol``: the scaled layer (a copy of ``X.npy``) within this, exactly equal by default."""
    a, b = ad.read_h5ad(memory / "processed.h5ad"), ad.read_h5ad(streamed / "processed.h5ad")
    assert list(a.obs_names) == list(b.obs_names)
    assert list(a.var_names) == list(b.var_names)
    assert a.var["highly_variable"].tolist() == b.var["highly_variable"].tolist()
    pd.testing.assert_frame_equal(a.obs, b.obs)
    pd.testing.assert_frame_equal(a.var, b.var, rtol=1e-12)
    assert sorted(a.layers) == sorted(b.layers)
    for key in a.layers:
        if key == "scaled" and scaled_atol:
            assert abs(b.layers[key] - a.layers[key]).max() <= scaled_atol
            continue
        assert (a.layers[key] != b.layers[key]).nnz == 0
    assert sorted(a.obsm) == sorted(b.obsm) and "X_pca" in a.obsm  # PCA (and UMAP) on both paths
    for key in a.obsm:
        np.testing.assert_allclose(a.obsm[key], b.obsm[key], rtol=0, atol=1e-5)
    assert abs(a.X - b.X).max() <= 1e-6
    assert a.uns["genoprep"]["n_hvg"] == b.uns["genoprep"]["n_hvg"]
    assert a.uns["hvg"] == b.uns["hvg"] and a.uns.get("log1p") == b.uns.get("log1p")
    x_memory, x_streamed = np.load(memory / "X.npy"), np.load(streamed / "X.npy")
    assert x_memory.shape == x_streamed.shape and x_memory.dtype == x_streamed.dtype == np.float32
    np.testing.assert_allclose(x_streamed, x_memory, atol=1e-5, rtol=0)
    for name in FILES[1:]:
        assert (memory / name).read_bytes() == (streamed / name).read_bytes(), name


CASES = {
    "pbmc68k-seurat": (
        "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad",
        {"min_genes": 200, "max_genes": 350, "n_top_genes": 300},
    ),
    "pbmc5k-cell_ranger": (
        "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad",
        {"max_pct_mito": 10, "hvg_flavor": "cell_ranger", "n_top_genes": 500},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_out_of_core_equals_in_memory_on_real_data(tmp_path: Path, case: str) -> None:
    name, params = CASES[case]
    path = shared_data("scrna", name)
    memory = _run(tmp_path, path, params, None, "memory")
    streamed = _run(tmp_path, path, params, MemoryOptions(memory_budget_mb=1, chunk_cells=50), "streamed")
    assert _steps(memory) == _steps(streamed) == ["ingest", "qc", "normalize", "hvg", "scale", "embed"]
    _assert_same(memory, streamed)


def _dense_copy(source: Path, target: Path, edit=None) -> Path:
    """The real file with its matrix stored dense (the other stored layout the streaming path reads)."""
    adata = ad.read_h5ad(source)
    adata.X = adata.X.toarray() if sparse.issparse(adata.X) else np.asarray(adata.X)
    if edit is not None:
        edit(adata.X)
    adata.write_h5ad(target)
    return target


def test_out_of_core_reads_a_dense_matrix_and_many_chunks(tmp_path: Path) -> None:
    source = shared_data("scrna", "onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad")
    path = _dense_copy(source, tmp_path / "dense.h5ad")
    with h5py.File(path) as handle:
        assert isinstance(handle["X"], h5py.Dataset)
    params = {"min_genes": 50, "n_top_genes": 200}
    memory = _run(tmp_path, path, params, None, "memory")
    streamed = _run(tmp_path, path, params, MemoryOptions(memory_budget_mb=1, chunk_cells=1000), "streamed")
    _assert_same(memory, streamed)


def test_a_value_that_is_not_finite_wins_over_an_earlier_negative_one(tmp_path: Path) -> None:
    source = shared_data("scrna", "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad")

    def damage(matrix: np.ndarray) -> None:
        matrix[3, 5] = -2  # chunk 1
        matrix[120, 7] = np.nan  # chunk 3: the in-memory check names this one

    path = _dense_copy(source, tmp_path / "bad.h5ad", damage)
    messages = []
    for memory in (None, MemoryOptions(memory_budget_mb=1, chunk_cells=50)):
        with pytest.raises(InputError) as caught:
            _run(tmp_path, path, {}, memory, f"run{len(messages)}")
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "not a finite number" in messages[1] and "gene" in messages[1]


def test_train_only_scaling_follows_the_fit_rows(tmp_path: Path) -> None:
    path = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    params = {"min_genes": 200, "max_genes": 350, "n_top_genes": 300}
    options = _options(tmp_path, path, params, MemoryOptions(memory_budget_mb=1, chunk_cells=50))
    outputs = _outputs(tmp_path / "fit")
    table = chain.StepTable()
    ooc.process(
        chain.Job(path, None, tuple(MITO), "d", outputs), options, table, 50, lambda obs: np.arange(len(obs)) % 3 == 0
    )
    processed = ad.read_h5ad(outputs.processed)
    # an independent re-computation: z-scores of the HVG columns with the mean and std of every third row
    block = processed.X[:, processed.var["highly_variable"].to_numpy()].toarray().astype(np.float64)
    fit = block[::3]
    std = fit.std(axis=0, ddof=1)
    std[std == 0] = 1
    expected = np.clip((block - fit.mean(axis=0)) / std, -10, 10)
    np.testing.assert_allclose(np.load(outputs.x), expected, atol=1e-5, rtol=0)
    assert json.loads(Path(outputs.facts).read_text())["n_cells"] == processed.n_obs


def test_the_plan_follows_the_budget_and_what_can_be_streamed(tmp_path: Path) -> None:
    path = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    size = resources.input_size(path, "h5ad")
    assert resources.plan(size, budget=10**6, streamable=True) == resources.IN_MEMORY
    assert resources.plan(size, budget=1, streamable=True) == resources.OUT_OF_CORE
    assert resources.plan(size, budget=1, streamable=False) == resources.IN_MEMORY
    small = _options(tmp_path, path, {}, MemoryOptions(memory_budget_mb=1, chunk_cells=None))
    chunk = ooc.streaming_chunk(path, small)
    assert chunk is not None and 1 <= chunk <= size.n_cells
    batched = _options(tmp_path, path, {"hvg_batch_key": "bulk_labels"}, MemoryOptions(1, 50))
    assert ooc.streaming_chunk(path, batched) == 50  # per-batch HVG statistics stream too
    assert ooc.unsupported(path, batched.ingest, batched.hvg) is None
    assert "input.format zarr" in resources.unsupported(path, "zarr", None, "seurat", None)  # in memory, warned
    assert ooc.streaming_chunk(path, _options(tmp_path, path, {}, None)) is None  # fits half the machine


def test_a_log_normalised_input_streams_without_a_counts_layer(tmp_path: Path) -> None:
    import scanpy as sc

    adata = ad.read_h5ad(shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad"))
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    path = tmp_path / "lognorm.h5ad"
    adata.write_h5ad(path)
    params = {"min_genes": 200, "max_genes": 350, "n_top_genes": 300}
    extra = {"value_type": "log_normalized"}

    def run(memory: MemoryOptions | None, name: str) -> Path:
        options = _options(tmp_path, path, params, memory)
        options = dataclasses.replace(
            options,
            ingest=IngestOptions(**{**options.ingest.as_params(), **extra}),
            normalize=NormalizeOptions(options.normalize.target_sum, "log_normalized"),
        )
        chain.process(chain.Job(path, None, tuple(MITO), "d", _outputs(tmp_path / name)), options)
        return tmp_path / name

    memory, streamed = run(None, "memory"), run(MemoryOptions(1, 50), "streamed")
    assert "counts" not in ad.read_h5ad(streamed / "processed.h5ad").layers
    _assert_same(memory, streamed)
