"""scRNA-seq from an anndata Zarr store and a Cell Ranger HDF5 matrix, against the same data as h5ad / 10x folder.

A real h5ad is written as a Zarr store (``AnnData.write_zarr``) and the real 10x v3 folder as
a Cell Ranger v3 ``.h5`` (built here with h5py from the folder's three files, in Cell Ranger's
layout); the scRNA chain (``genoprep.scrna.chain.process``, what rule ``scrna_process`` runs)
processes each card, and the ML files of the new formats must equal, byte for byte, the ones
made from the original input; processed.h5ad the same matrices and tables (its ``uns`` names
the input file).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import io as scipy_io
from scipy import sparse

from genoprep.cards import load_card
from genoprep.scrna.chain import ChainOptions, Job, Outputs, process
from tests.conftest import REPO, shared_data, write_card

pytestmark = pytest.mark.e2e

H5AD = "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad"
TENX = "pbmc_10x_v3_chr21_filtered_feature_bc_matrix"
TENX_PARAMS = {"min_genes": 10, "max_genes": None, "max_pct_mito": None, "n_top_genes": 100}


def write_cellranger_h5(folder: Path, target: Path) -> Path:
    """A Cell Ranger v3 ``filtered_feature_bc_matrix.h5`` holding the matrix of a v3 10x folder.

    Layout (Cell Ranger's HDF5 feature-barcode matrix format): ``matrix/`` with ``data``,
    ``indices``, ``indptr`` (CSC, one column per barcode), ``shape`` (features, barcodes),
    ``barcodes`` and ``features/`` (``id``, ``name``, ``feature_type``, ``genome``,
    ``_all_tag_keys``), strings as fixed-width bytes.
    """
    with gzip.open(folder / "matrix.mtx.gz", "rb") as handle:
        genes_x_cells = sparse.csc_matrix(scipy_io.mmread(handle))
    features = pd.read_csv(folder / "features.tsv.gz", sep="\t", header=None, dtype=str)
    barcodes = pd.read_csv(folder / "barcodes.tsv.gz", sep="\t", header=None, dtype=str)[0]
    genes_x_cells.sort_indices()
    with h5py.File(target, "w") as h5:
        matrix = h5.create_group("matrix")
        matrix.create_dataset("data", data=genes_x_cells.data.astype(np.int32))
        matrix.create_dataset("indices", data=genes_x_cells.indices.astype(np.int64))
        matrix.create_dataset("indptr", data=genes_x_cells.indptr.astype(np.int64))
        matrix.create_dataset("shape", data=np.array(genes_x_cells.shape, dtype=np.int32))
        matrix.create_dataset("barcodes", data=barcodes.to_numpy().astype("S"))
        group = matrix.create_group("features")
        group.create_dataset("id", data=features[0].to_numpy().astype("S"))
        group.create_dataset("name", data=features[1].to_numpy().astype("S"))
        group.create_dataset("feature_type", data=features[2].to_numpy().astype("S"))
        group.create_dataset("genome", data=np.full(len(features), b"GRCh38"))
        group.create_dataset("_all_tag_keys", data=np.array([b"genome"]))
    return target


def _card(dataset_id: str, path: Path, fmt: str, params: dict | None = None) -> dict:
    card = {
        "dataset_id": dataset_id,
        "name": dataset_id,
        "modality": "scrna",
        "input": {"path": str(path), "format": fmt},
    }
    if params:
        card["params"] = params
    return card


def _run_chain(card_path: Path, out: Path) -> Path:
    card = load_card(card_path).data
    options = ChainOptions.from_card(card)
    folder = out / card["dataset_id"]
    (folder / "logs").mkdir(parents=True)
    names = ("processed.h5ad", "X.npy", "features.tsv", "obs.tsv", "qc.json", "qc_cells.tsv", "facts.json")
    paths = {name.split(".")[0]: folder / name for name in names}
    outputs = Outputs(
        processed=paths["processed"],
        x=paths["X"],
        features=paths["features"],
        obs=paths["obs"],
        qc=paths["qc"],
        cells=paths["qc_cells"],
        facts=paths["facts"],
        steps=folder / "logs" / "steps.tsv",
        logs=folder / "logs",
    )
    mito = sorted((REPO / "resources").glob("mito_genes_*.tsv"))
    process(Job(card["input"]["path"], None, tuple(mito), card["dataset_id"], outputs), options)
    return folder


@pytest.fixture(scope="module")
def formats_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    h5ad = shared_data("scrna", H5AD)
    tenx = shared_data("scrna", TENX)
    root = tmp_path_factory.mktemp("scrna_formats")
    ad.read_h5ad(h5ad).write_zarr(root / "pbmc5k.zarr")
    write_cellranger_h5(tenx, root / "filtered_feature_bc_matrix.h5")
    cards = [
        _card("pbmc5k_h5ad", h5ad, "h5ad", {"max_pct_mito": 10}),
        _card("pbmc5k_zarr", root / "pbmc5k.zarr", "zarr", {"max_pct_mito": 10}),
        _card("tenx_mtx", tenx, "10x_mtx", TENX_PARAMS),
        _card("tenx_h5", root / "filtered_feature_bc_matrix.h5", "10x_h5", TENX_PARAMS),
    ]
    for card in cards:
        _run_chain(write_card(root / "cards", card), root / "out")
    return root / "out"


def _same_artifacts(out: Path, original: str, new: str) -> None:
    for name in ("X.npy", "features.tsv", "obs.tsv", "qc_cells.tsv", "facts.json"):
        assert (out / new / name).read_bytes() == (out / original / name).read_bytes(), name
    qc_new, qc_original = (json.loads((out / d / "qc.json").read_text()) for d in (new, original))
    assert qc_new.pop("dataset_id") == new and qc_original.pop("dataset_id") == original
    assert qc_new == qc_original
    one, other = ad.read_h5ad(out / original / "processed.h5ad"), ad.read_h5ad(out / new / "processed.h5ad")
    assert (one.X != other.X).nnz == 0
    assert sorted(one.layers) == sorted(other.layers)
    for layer in one.layers:
        assert (one.layers[layer] != other.layers[layer]).nnz == 0
    pd.testing.assert_frame_equal(one.obs, other.obs)
    pd.testing.assert_index_equal(one.var_names, other.var_names)
    pd.testing.assert_series_equal(one.var["highly_variable"], other.var["highly_variable"])


def test_zarr_store_gives_the_h5ad_results(formats_run: Path) -> None:
    _same_artifacts(formats_run, "pbmc5k_h5ad", "pbmc5k_zarr")


def test_cellranger_h5_gives_the_10x_folder_results(formats_run: Path) -> None:
    _same_artifacts(formats_run, "tenx_mtx", "tenx_h5")
