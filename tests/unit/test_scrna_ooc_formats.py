"""The out-of-core scRNA-seq path on every input format (genoprep.scrna.convert), on the real data.

The streaming conversion (10x folders, CSV/TSV in both orientations, loom) is compared with the
in-memory readers with tiny blocks, so that every file is spilled, counted and scattered in many
pieces; then the whole chain, streamed in 50-cell chunks, against the in-memory chain.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest

from genoprep.cards import load_card
from genoprep.errors import InputError
from genoprep.scrna import chain, convert, io, ooc
from genoprep.scrna.options import MemoryOptions
from tests.conftest import shared_data, write_card
from tests.unit.test_scrna_ooc import MITO, _assert_same, _outputs, _steps

INPUTS = {
    "10x-v2": ("pbmc4k_10x_v2_soupx_toy_filtered", "10x_mtx", None),
    "10x-v3": ("pbmc_10x_v3_chr21_filtered_feature_bc_matrix", "10x_mtx", None),
    "csv-genes_x_cells": ("cellbench_dropseq_3celllines_counts_genes_x_cells.csv.gz", "csv", "genes_x_cells"),
    "loom": ("starmap_mouse_mpfc_3704cells_celltypes.loom", "loom", None),
    "loom-attributes": ("linnarsson_mouse_drg_20x20_example.loom", "loom", None),
}


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "_BLOCK", 97)
    monkeypatch.setattr(convert, "_MTX_LINES", 101)
    monkeypatch.setattr(io, "_CSV_CHUNK_ROWS", 37)
    monkeypatch.setattr(io, "_LOOM_BLOCK_VALUES", 5000)


def _converted(path: Path, fmt: str, orientation: str | None, target: Path) -> ad.AnnData:
    """The converted file, read row by row as the out-of-core path reads it."""
    convert.to_h5ad(path, fmt, target, orientation=orientation)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # spill files are gone
    with h5py.File(target) as handle:
        header, reader = ooc.read_header(handle, target, None)
        header.X = reader.rows(0, reader.n_cells)
    return header


def _assert_same_matrix(expected: ad.AnnData, got: ad.AnnData) -> None:
    pd.testing.assert_frame_equal(expected.obs, got.obs)
    pd.testing.assert_frame_equal(expected.var, got.var)
    assert expected.X.dtype == got.X.dtype == np.float32
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(expected.X, name), getattr(got.X, name), err_msg=name)


@pytest.mark.parametrize("case", sorted(INPUTS))
def test_the_streaming_conversion_equals_the_in_memory_reader(tmp_path: Path, tiny_blocks: None, case: str) -> None:
    name, fmt, orientation = INPUTS[case]
    path = shared_data("scrna", name)
    expected = io.read_matrix(path, fmt, orientation=orientation)
    _assert_same_matrix(expected, _converted(path, fmt, orientation, tmp_path / "work" / "input.h5ad"))


def _cells_x_genes(tmp_path: Path) -> Path:
    """The real genes x cells table written transposed (cells as rows), as a plain TSV."""
    table = pd.read_csv(shared_data("scrna", INPUTS["csv-genes_x_cells"][0]), index_col=0)
    path = tmp_path / "cells_x_genes.tsv"
    table.T.to_csv(path, sep="\t")
    return path


def test_a_cells_x_genes_table_converts_in_order_and_equals_its_transpose(tmp_path: Path, tiny_blocks: None) -> None:
    path = _cells_x_genes(tmp_path)
    expected = io.read_matrix(path, "tsv", orientation="cells_x_genes")
    got = _converted(path, "tsv", "cells_x_genes", tmp_path / "work" / "input.h5ad")
    _assert_same_matrix(expected, got)
    # the same values as the genes x cells original (an independent orientation)
    original = io.read_matrix(shared_data("scrna", INPUTS["csv-genes_x_cells"][0]), "csv", orientation="genes_x_cells")
    assert list(original.obs_names) == list(got.obs_names) and (original.X != got.X).nnz == 0


def test_a_shuffled_mtx_with_duplicates_is_scattered_by_cell(tmp_path: Path, tiny_blocks: None) -> None:
    """Entries in random order (not Cell Ranger's cell order), one split in two: the scatter path."""
    source = shared_data("scrna", INPUTS["10x-v3"][0])
    folder = tmp_path / "shuffled"
    folder.mkdir()
    for name in ("features.tsv.gz", "barcodes.tsv.gz"):
        (folder / name).write_bytes((source / name).read_bytes())
    with gzip.open(source / "matrix.mtx.gz", "rt") as handle:
        lines = handle.read().splitlines()
    header = [line for line in lines if line.startswith("%")]
    size, entries = lines[len(header)], lines[len(header) + 1 :]
    entries = [entries[i] for i in np.random.default_rng(7).permutation(len(entries))]
    gene, cell, value = entries[0].split()
    entries[:1] = [f"{gene} {cell} 1", f"{gene} {cell} {int(value) - 1}"] if int(value) > 1 else entries[:1]
    n_genes, n_cells, nnz = size.split()
    size = f"{n_genes} {n_cells} {len(entries)}"
    with gzip.open(folder / "matrix.mtx.gz", "wt") as handle:
        handle.write("\n".join([*header, size, *entries]) + "\n")
    expected = io.read_matrix(source, "10x_mtx")
    _assert_same_matrix(expected, _converted(folder, "10x_mtx", None, tmp_path / "work" / "input.h5ad"))


def test_an_entry_outside_the_matrix_is_one_line_naming_it(tmp_path: Path) -> None:
    source = shared_data("scrna", INPUTS["10x-v2"][0])
    folder = tmp_path / "bad"
    folder.mkdir()
    for name in ("genes.tsv", "barcodes.tsv"):
        (folder / name).write_bytes((source / name).read_bytes())
    lines = (source / "matrix.mtx").read_text().splitlines()
    lines[5] = "227 1 4"  # 226 genes
    (folder / "matrix.mtx").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        convert.to_h5ad(folder, "10x_mtx", tmp_path / "work" / "input.h5ad")
    assert "line 6" in str(caught.value) and "227 1 4" in str(caught.value)
    assert not (tmp_path / "work" / "input.h5ad").exists()
    assert list((tmp_path / "work").iterdir()) == []


CHAIN = {
    "10x-v3": {"min_genes": 5, "min_cells": 3, "n_top_genes": 100},
    "csv-genes_x_cells": {"min_genes": 200, "max_genes": 10000, "n_top_genes": 500},
    "loom": {"min_genes": 10, "min_cells": 3, "n_top_genes": 50},
}


def _run(tmp: Path, case: str, memory: MemoryOptions | None, out: str) -> Path:
    name, fmt, orientation = INPUTS[case]
    path = shared_data("scrna", name)
    card = {
        "dataset_id": "d",
        "name": "ooc formats",
        "modality": "scrna",
        "input": {"path": str(path), "format": fmt, **({"orientation": orientation} if orientation else {})},
        "params": CHAIN[case],
    }
    options = chain.ChainOptions.from_card(load_card(write_card(tmp / "cards", card)).data, memory)
    chain.process(chain.Job(path, None, tuple(MITO), "d", _outputs(tmp / out)), options)
    return tmp / out


@pytest.mark.parametrize("case", sorted(CHAIN))
def test_every_format_streams_with_the_in_memory_results(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    memory = _run(tmp_path, case, None, "memory")
    assert "out of core" not in caplog.text
    with caplog.at_level(logging.INFO, logger="genoprep.scrna.ooc"):
        streamed = _run(tmp_path, case, MemoryOptions(memory_budget_mb=1, chunk_cells=50), "streamed")
    assert "out of core" in caplog.text  # a 10x folder, CSV or loom: converted first, then streamed
    assert _steps(memory) == _steps(streamed)
    assert not (streamed / "input.h5ad").exists()  # the converted input does not outlive the run
    _assert_same(memory, streamed)
