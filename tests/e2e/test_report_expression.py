"""Report figures and processed.h5ad embeddings of the expression modalities, and reruns of
completed cards, on real data.

One run of two small real datasets: scRNA-seq (the 700-cell PBMC 68k subset, cell types from
``bulk_labels``; its card names the input by a path relative to the card's folder) and bulk
(GSE96870 mouse cerebellum, 22 samples, infection/sex/time/mouse labels). The PCA of
``processed.h5ad`` is compared with a numpy SVD of ``X.npy`` written here; the report archive
is opened and each figure and card table checked; the completed cards are run again from a
copy of the results folder and from another working directory, and give the same bytes.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import artifact_bytes, from_other_folder, run_workflow, shared_data, write_card
from tests.e2e.test_report_real import embedded

pytestmark = pytest.mark.e2e

FIGURES = {
    "pbmc68k": ("scRNA-seq", ["report_scrna_hvg.png", "report_scrna_embedding.png", "report_scrna_filters.png"]),
    "gse96870": ("Bulk RNA-seq", ["report_bulk_pca.png", "report_bulk_correlation.png"]),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("report_expression")
    cards = base / "cards"
    cards.mkdir()
    h5ad = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    write_card(
        cards,
        {
            "dataset_id": "pbmc68k",
            "name": "PBMC 68k reduced, raw counts",
            "modality": "scrna",
            "input": {"path": os.path.relpath(h5ad, cards), "format": "h5ad"},  # relative to the card
            "columns": {"cell_type": "bulk_labels"},
            "license": "CC-BY-4.0",
            "params": {"min_genes": 200, "max_genes": 350, "n_top_genes": 300, "umap": True},
        },
    )
    write_card(
        cards,
        {
            "dataset_id": "gse96870",
            "name": "GSE96870 mouse cerebellum",
            "modality": "bulk",
            "input": {
                "path": str(shared_data("bulk", "gse96870_mouse_cerebellum_counts_genes_x_22samples.csv")),
                "format": "csv",
            },
            "metadata": {
                "path": str(shared_data("bulk", "gse96870_mouse_cerebellum_sample_metadata.csv")),
                "format": "csv",
            },
            "columns": {"condition": "infection", "sex": "sex", "time": "time"},
            "license": "CC0-1.0",
        },
    )
    run_workflow(cards, base / "out")
    return cards, base / "out"


def svd_scores(matrix: np.ndarray, k: int) -> np.ndarray:
    centred = matrix.astype(np.float64) - matrix.astype(np.float64).mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :k] * s[:k]


def assert_same_up_to_sign(found: np.ndarray, reference: np.ndarray, rtol: float) -> None:
    signs = np.sign((found * reference).sum(axis=0))
    scale = np.abs(reference).max(axis=0)
    assert (np.abs(found - reference * signs) <= rtol * scale).all()


def test_scrna_processed_h5ad_holds_pca_umap_and_the_scaled_layer(run: tuple[Path, Path]) -> None:
    _, out = run
    folder = out / "pbmc68k"
    adata = ad.read_h5ad(folder / "processed.h5ad")
    x = np.load(folder / "X.npy")
    features = (folder / "features.tsv").read_text().splitlines()
    # the scaled layer holds X.npy in its genes' columns and nothing elsewhere
    columns = adata.var_names.get_indexer(features)
    assert (columns >= 0).all()
    assert np.array_equal(adata.layers["scaled"][:, columns].toarray(), x)
    assert adata.layers["scaled"].nnz == x.size
    assert adata.layers["counts"].shape == adata.shape
    # X_pca: 50 components of X.npy; the leading ten (well separated) against a plain SVD
    assert adata.obsm["X_pca"].shape == (x.shape[0], 50)
    assert_same_up_to_sign(adata.obsm["X_pca"][:, :10], svd_scores(x, 10), rtol=1e-3)
    assert adata.obsm["X_umap"].shape == (x.shape[0], 2) and np.isfinite(adata.obsm["X_umap"]).all()
    # UMAP keeps cell types together: most cells' nearest neighbour in the UMAP has their type
    umap = adata.obsm["X_umap"].astype(np.float64)
    distances = ((umap[:, None, :] - umap[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, np.inf)
    labels = adata.obs["cell_type"].astype(str).to_numpy()
    assert (labels[distances.argmin(axis=1)] == labels).mean() > 0.7


def test_bulk_processed_h5ad_holds_the_pca_of_the_ml_matrix(run: tuple[Path, Path]) -> None:
    _, out = run
    adata = ad.read_h5ad(out / "gse96870" / "processed.h5ad")
    x = np.load(out / "gse96870" / "X.npy")
    k = min(x.shape) - 1
    assert adata.obsm["X_pca"].shape == (x.shape[0], k)
    assert_same_up_to_sign(adata.obsm["X_pca"][:, :5], svd_scores(x, 5), rtol=1e-4)


def test_report_archive_holds_the_expression_figures_and_card_tables(run: tuple[Path, Path], tmp_path: Path) -> None:
    cards, out = run
    archive = tmp_path / "report.zip"
    run_workflow(cards, out, "--report", str(archive))
    import matplotlib.image

    with zipfile.ZipFile(archive) as zipped:
        html = zipped.read("report/report.html").decode("utf-8")
        results, categories = embedded(html, "results"), embedded(html, "categories")
        for dataset, (category, names) in FIGURES.items():
            listed = categories[category][dataset]
            assert set(listed) >= {str(out / dataset / name) for name in names}
            for name in names:
                path = out / dataset / name
                data = zipped.read("report/" + results[str(path)]["data_uri"])
                assert data == path.read_bytes()
                image = matplotlib.image.imread(path)
                assert image.shape[0] > 250 and image[..., :3].std() > 0.05
            table = out / ".work" / dataset / "report" / "card.html"
            assert categories["Completed cards"][dataset] == [str(table)]
            page = zipped.read("report/" + results[str(table)]["data_uri"]).decode("utf-8")
            card = yaml.safe_load((out / dataset / "card.yaml").read_text())
            assert f"<code>input.sha256</code></td><td>{card['input']['sha256']}<" in page
            for name in names:
                assert f"figures_sha256.{name}</code></td><td>{card['computed']['figures_sha256'][name]}<" in page
    # the figures draw the artifacts: the filter bars are qc.json's numbers
    from genoprep.report.embedding import cells_removed

    qc = yaml.safe_load((out / "pbmc68k" / "qc.json").read_text())
    cells_table = pd.read_csv(out / "pbmc68k" / "qc_cells.tsv", sep="\t", keep_default_na=False)
    removed = {name.split(" ")[0]: n for name, n, _ in cells_removed(qc)[0]}
    assert removed == {f: int((cells_table["removed_by"] == f).sum()) for f in removed}


def test_completed_cards_rerun_from_a_copy_and_another_folder_with_the_same_bytes(
    run: tuple[Path, Path], tmp_path: Path
) -> None:
    _, out = run
    card = yaml.safe_load((out / "pbmc68k" / "card.yaml").read_text())
    assert os.path.isabs(card["input"]["path"])  # the relative input path, recorded so that it is found again
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    datasets = f"[{copy / 'pbmc68k' / 'card.yaml'},{copy / 'gse96870' / 'card.yaml'}]"
    done = from_other_folder(elsewhere, datasets, tmp_path / "again", cores=2)
    assert done.returncode == 0, done.stderr[-4000:]
    for dataset in FIGURES:
        assert artifact_bytes(tmp_path / "again" / dataset) == artifact_bytes(out / dataset)
    assert {p.name for p in elsewhere.iterdir()} <= {".snakemake"}  # no output in the working directory
