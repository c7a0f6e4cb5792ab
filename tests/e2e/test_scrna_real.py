"""scRNA-seq end to end on the real files in ../shared/data/scrna, against plain scanpy.

The workflow runs once (through the invocation contract) on cards for six real datasets;
each is then recomputed here with plain scanpy calls on the same file and parameters:
same cells, same genes, same HVG set, same values within float tolerance.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import yaml
from scipy import sparse

from tests.conftest import REPO, SHARED_DATA, run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

MITO_IDS = set(pd.read_csv(REPO / "resources" / "mito_genes_human.tsv", sep="\t", comment="#")["gene_id"])


def _cards() -> dict[str, dict]:
    d = SHARED_DATA / "scrna"
    return {
        "pbmc68k": {
            "dataset_id": "pbmc68k",
            "name": "PBMC 68k reduced, raw counts",
            "modality": "scrna",
            "input": {"path": str(d / "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad"), "format": "h5ad"},
            "columns": {"cell_type": "bulk_labels"},
            "organism": "Homo sapiens",
            "params": {"min_genes": 200, "max_genes": 350, "n_top_genes": 300},
        },
        "pbmc5k": {
            "dataset_id": "pbmc5k",
            "name": "PBMC 5k CITE-seq subset",
            "modality": "scrna",
            "input": {"path": str(d / "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad"), "format": "h5ad"},
            "params": {"max_pct_mito": 10},
        },
        "starmap": {
            "dataset_id": "starmap",
            "name": "STARmap mouse mPFC",
            "modality": "scrna",
            "input": {"path": str(d / "starmap_mouse_mpfc_3704cells_celltypes.loom"), "format": "loom"},
            "columns": {"cell_type": "Clusters", "batch": "BatchID"},
            "organism": "Mus musculus",
            "params": {"min_genes": 10, "max_genes": None, "n_top_genes": 50, "hvg_batch_key": "batch"},
        },
        "tenx_v3": {
            "dataset_id": "tenx_v3",
            "name": "10x v3 PBMC chr21",
            "modality": "scrna",
            "input": {"path": str(d / "pbmc_10x_v3_chr21_filtered_feature_bc_matrix"), "format": "10x_mtx"},
            "params": {
                "min_genes": 10,
                "max_genes": None,
                "max_pct_mito": None,
                "n_top_genes": 100,
                "hvg_flavor": "seurat_v3",
            },
        },
        "tenx_v2": {
            "dataset_id": "tenx_v2",
            "name": "10x v2 PBMC 4k toy",
            "modality": "scrna",
            "input": {"path": str(d / "pbmc4k_10x_v2_soupx_toy_filtered"), "format": "10x_mtx"},
            "metadata": {"path": str(d / "pbmc4k_10x_v2_soupx_toy_filtered" / "metaData.tsv"), "format": "tsv"},
            "columns": {"cell_type": "res.1"},
            "params": {"min_genes": 30, "n_top_genes": 50, "hvg_flavor": "cell_ranger"},
        },
        "cellbench": {
            "dataset_id": "cellbench",
            "name": "CellBench Drop-seq 3 cell lines",
            "modality": "scrna",
            "input": {
                "path": str(d / "cellbench_dropseq_3celllines_counts_genes_x_cells.csv.gz"),
                "format": "csv",
                "orientation": "genes_x_cells",
            },
            "metadata": {"path": str(d / "cellbench_dropseq_3celllines_metadata.csv.gz"), "format": "csv"},
            "columns": {"cell_type": "cell_line"},
            "params": {"max_genes": None, "max_pct_mito": 10, "n_top_genes": 1000},
        },
    }


def _defaults(params: dict) -> dict:
    merged = {
        "min_genes": 200,
        "min_cells": 3,
        "max_genes": 2500,
        "max_pct_mito": 5,
        "target_sum": 1e4,
        "hvg_flavor": "seurat",
        "n_top_genes": 2000,
        "hvg_batch_key": None,
        "scale_max_value": 10,
    }
    merged.update(params)
    return merged


@pytest.fixture(scope="session")
def scrna_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared_data("scrna")
    root = tmp_path_factory.mktemp("scrna_real")
    for card in _cards().values():
        write_card(root / "cards", card)
    run_workflow(root / "cards", root / "out")
    return root / "out"


# ---- independent reference: the same data read and processed with plain scanpy calls ----


def _reference_input(name: str) -> ad.AnnData:
    d = SHARED_DATA / "scrna"
    if name == "pbmc68k":
        adata = ad.read_h5ad(d / "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
        adata.obs["label"] = adata.obs["bulk_labels"].astype(str)
    elif name == "pbmc5k":
        adata = ad.read_h5ad(d / "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad")
    elif name == "starmap":
        import loompy

        with loompy.connect(str(d / "starmap_mouse_mpfc_3704cells_celltypes.loom"), mode="r", validate=False) as ds:
            adata = ad.AnnData(
                X=sparse.csr_matrix(ds[:, :].T),
                obs=pd.DataFrame({"label": ds.ca["Clusters"].astype(str), "batch": ds.ca["BatchID"][:, 0].astype(str)}),
                var=pd.DataFrame(index=ds.ra["Gene"].astype(str)),
            )
        adata.obs_names = [f"cell_{i}" for i in range(adata.n_obs)]
        adata.obs["batch"] = adata.obs["batch"].str.replace(r"\.0$", "", regex=True)
    elif name == "tenx_v3":
        adata = sc.read_10x_mtx(d / "pbmc_10x_v3_chr21_filtered_feature_bc_matrix")
    elif name == "tenx_v2":
        adata = sc.read_10x_mtx(d / "pbmc4k_10x_v2_soupx_toy_filtered")
        meta = pd.read_csv(d / "pbmc4k_10x_v2_soupx_toy_filtered" / "metaData.tsv", sep="\t")
        adata.obs["label"] = meta.loc[adata.obs_names, "res.1"].astype(str).to_numpy()
    elif name == "cellbench":
        counts = pd.read_csv(d / "cellbench_dropseq_3celllines_counts_genes_x_cells.csv.gz", index_col=0)
        adata = ad.AnnData(
            X=sparse.csr_matrix(counts.T.to_numpy(dtype=np.float32)),
            obs=pd.DataFrame(index=counts.columns),
            var=pd.DataFrame(index=counts.index),
        )
        meta = pd.read_csv(d / "cellbench_dropseq_3celllines_metadata.csv.gz", index_col=0)
        adata.obs["label"] = meta.loc[adata.obs_names, "cell_line"].astype(str).to_numpy()
    else:
        raise KeyError(name)
    adata.var_names_make_unique()
    return adata


def _reference(name: str) -> tuple[ad.AnnData, ad.AnnData]:
    p = _defaults(_cards()[name].get("params", {}))
    adata = _reference_input(name)
    names = adata.var_names.to_series()
    adata.var["mt"] = (names.str.startswith(("MT-", "mt-")) | names.isin(MITO_IDS)).to_numpy()
    sc.pp.filter_cells(adata, min_genes=p["min_genes"])
    sc.pp.filter_genes(adata, min_cells=p["min_cells"])
    sc.pp.calculate_qc_metrics(adata, qc_vars=["mt"], percent_top=None, log1p=False, inplace=True)
    if p["max_genes"] is not None:
        adata = adata[adata.obs["n_genes_by_counts"] <= p["max_genes"]]
    if p["max_pct_mito"] is not None:
        adata = adata[adata.obs["pct_counts_mt"] <= p["max_pct_mito"]]
    adata = adata.copy()
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=p["target_sum"])
    sc.pp.log1p(adata)
    v3 = p["hvg_flavor"].startswith("seurat_v3")
    sc.pp.highly_variable_genes(
        adata,
        flavor=p["hvg_flavor"],
        n_top_genes=min(p["n_top_genes"], adata.n_vars),
        batch_key=p["hvg_batch_key"],
        layer="counts" if v3 else None,
    )
    hvg = adata[:, adata.var["highly_variable"]].copy()
    sc.pp.scale(hvg, max_value=p["scale_max_value"])
    return adata, hvg


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if sparse.issparse(matrix) else np.asarray(matrix)


@pytest.mark.parametrize("name", list(_cards()))
def test_matches_plain_scanpy(scrna_run: Path, name: str) -> None:
    out = scrna_run / name
    processed = ad.read_h5ad(out / "processed.h5ad")
    reference, reference_hvg = _reference(name)

    if name != "starmap":  # the loom has no cell ids; genoprep names them cell_<i> like the reference
        assert list(processed.obs_names) == list(reference.obs_names)
    assert processed.n_obs == reference.n_obs and processed.n_obs > 0
    assert list(processed.var_names) == list(reference.var_names)
    assert set(processed.var_names[processed.var["highly_variable"]]) == set(reference_hvg.var_names)
    np.testing.assert_array_equal(_dense(processed.layers["counts"]), _dense(reference.layers["counts"]))
    np.testing.assert_allclose(_dense(processed.X), _dense(reference.X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(processed.obs["pct_counts_mt"], reference.obs["pct_counts_mt"], rtol=1e-5, atol=1e-6)

    matrix = np.load(out / "X.npy")
    features = (out / "features.tsv").read_text().splitlines()
    assert matrix.dtype == np.float32
    assert features == list(reference_hvg.var_names)
    np.testing.assert_allclose(matrix, _dense(reference_hvg.X), rtol=1e-4, atol=1e-4)

    obs = pd.read_csv(
        out / "obs.tsv", sep="\t", dtype={"cell_id": str, "cell_type": str, "batch": str}, keep_default_na=False
    )
    assert list(obs.columns[:1]) == ["cell_id"] and len(obs) == matrix.shape[0]
    assert list(obs["cell_id"]) == list(processed.obs_names)
    if "label" in reference.obs:
        assert list(obs["cell_type"]) == list(reference.obs["label"])
    np.testing.assert_array_equal(obs["n_genes"], reference.obs["n_genes_by_counts"])

    cells = pd.read_csv(out / "qc_cells.tsv", sep="\t", keep_default_na=False, dtype={"cell_id": str})
    assert list(cells.loc[cells["removed_by"] == "", "cell_id"]) == list(processed.obs_names)


def test_qc_report_counts_each_filter(scrna_run: Path) -> None:
    qc = json.loads((scrna_run / "pbmc68k" / "qc.json").read_text())
    raw = ad.read_h5ad(SHARED_DATA / "scrna" / "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    genes_per_cell = (raw.X > 0).sum(axis=1).A1
    assert qc["before"]["cells"] == 700 and qc["before"]["genes"] == 765
    steps = {step["filter"]: step for step in qc["filters"]}
    assert steps["min_genes"]["cells_after"] == int((genes_per_cell >= 200).sum())
    assert [s["filter"] for s in qc["filters"]] == ["min_genes", "min_cells", "max_genes", "max_pct_mito"]
    for before, after in zip(qc["filters"], qc["filters"][1:]):
        assert after["cells_before"] == before["cells_after"] and after["genes_before"] == before["genes_after"]
    assert qc["after"]["cells"] == qc["filters"][-1]["cells_after"]
    assert qc["mito_genes"] == 1  # MT-ND3 is the only MT- gene in this subset


def test_mito_genes_found_by_symbol_and_by_ensembl_id(scrna_run: Path) -> None:
    assert json.loads((scrna_run / "pbmc5k" / "qc.json").read_text())["mito_genes"] == 13
    # CellBench has Ensembl ids only: the MT genes come from resources/mito_genes_human.tsv
    cellbench = json.loads((scrna_run / "cellbench" / "qc.json").read_text())
    genes = pd.read_csv(
        SHARED_DATA / "scrna" / "cellbench_dropseq_3celllines_counts_genes_x_cells.csv.gz", index_col=0
    ).index.to_series()
    protein_coding = {
        "ENSG00000198888",
        "ENSG00000198763",
        "ENSG00000198804",
        "ENSG00000198712",
        "ENSG00000228253",
        "ENSG00000198899",
        "ENSG00000198938",
        "ENSG00000198840",
        "ENSG00000212907",
        "ENSG00000198886",
        "ENSG00000198786",
        "ENSG00000198695",
        "ENSG00000198727",
    }  # MT-ND1 ... MT-CYB
    assert protein_coding <= set(genes)
    assert cellbench["mito_genes"] == int(genes.isin(MITO_IDS).sum()) >= 13
    assert cellbench["before"]["mean_pct_mito"] > 1.0


def test_completed_card_records_facts_and_checksums(scrna_run: Path) -> None:
    card = yaml.safe_load((scrna_run / "tenx_v2" / "card.yaml").read_text())
    computed = card["computed"]
    assert computed["n_cells"] == ad.read_h5ad(scrna_run / "tenx_v2" / "processed.h5ad").n_obs
    assert computed["preprocessing"]["software"]["scanpy"] == importlib.metadata.version("scanpy")
    assert "cell_ranger" in computed["preprocessing"]["feature_selection"]
    for name, digest in computed["artifacts_sha256"].items():
        assert hashlib.sha256((scrna_run / "tenx_v2" / name).read_bytes()).hexdigest() == digest
    assert set(computed["artifacts_sha256"]) == {
        "processed.h5ad",
        "X.npy",
        "features.tsv",
        "obs.tsv",
        "qc.json",
        "qc_cells.tsv",
    }
    assert len(card["input"]["sha256"]) == 64 and len(card["metadata"]["sha256"]) == 64
    assert card["params"]["min_cells"] == 3  # defaults are written out


def test_processed_h5ad_layout(scrna_run: Path) -> None:
    processed = ad.read_h5ad(scrna_run / "tenx_v3" / "processed.h5ad")
    for column in ("n_genes", "n_counts", "percent_mito", "n_genes_by_counts", "total_counts", "pct_counts_mt"):
        assert column in processed.obs
    for column in ("gene_ids", "gene_symbols", "highly_variable", "mean_counts", "dispersions"):
        assert column in processed.var
    assert processed.var["gene_ids"].str.startswith("ENSG").all()
    assert processed.uns["genoprep"]["params"]["hvg_flavor"] == "seurat_v3"
    assert "scanpy" in processed.uns["genoprep"]["software"]
    with h5py.File(scrna_run / "tenx_v3" / "processed.h5ad") as handle:
        assert "counts" in handle["layers"]
