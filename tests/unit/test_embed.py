"""PCA/UMAP of processed matrices and the embeddings appended to processed.h5ad.

References: PCA as a plain numpy SVD of the centred matrix (written here), the scaled layer
read back with anndata and compared with the matrix given.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep import embed
from genoprep.scrna import export
from genoprep.scrna.export import add_embeddings
from genoprep.scrna.options import EmbedOptions


def svd_pca(matrix: np.ndarray, k: int) -> np.ndarray:
    """Principal component scores by the textbook route: centre, SVD, U * S."""
    centred = matrix.astype(np.float64) - matrix.astype(np.float64).mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :k] * s[:k]


def same_up_to_sign(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    signs = np.sign((a * b).sum(axis=0))
    return np.allclose(a, b * signs, atol=atol)


@pytest.mark.parametrize("shape", [(40, 12), (5000, 30), (10, 400)])  # more rows, several blocks, fewer rows
def test_pca_matches_a_plain_svd(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    # a few strong directions plus noise: the leading components are well separated
    matrix = (rng.normal(size=(shape[0], 3)) * [9, 5, 3]) @ rng.normal(size=(3, shape[1])) + rng.normal(size=shape)
    matrix = matrix.astype(np.float32)
    coordinates, ratio = embed.pca(matrix, 5)
    assert coordinates.shape == (shape[0], 5) and coordinates.dtype == np.float32
    reference = svd_pca(matrix, 5)
    assert same_up_to_sign(coordinates[:, :3], reference[:, :3], atol=1e-3 * np.abs(reference).max())
    total = ((matrix - matrix.mean(axis=0)) ** 2).sum()
    assert np.allclose(ratio[:3], (reference[:, :3] ** 2).sum(axis=0) / total, rtol=1e-3)


def test_pca_components_are_capped_by_the_matrix() -> None:
    assert embed.n_components(50, (8, 300)) == 7
    assert embed.n_components(50, (300, 4)) == 3
    assert embed.n_components(2, (300, 400)) == 2
    coordinates, _ = embed.pca(np.arange(24, dtype=np.float32).reshape(6, 4) ** 1.5, 50)
    assert coordinates.shape == (6, 3)


def test_umap_needs_more_cells_than_neighbours() -> None:
    assert embed.umap(np.zeros((16, 3), dtype=np.float32), 15, 0) is None


def write_processed(path: Path, n_cells: int, genes: list[str]) -> None:
    counts = sparse.csr_matrix(np.arange(n_cells * len(genes), dtype=np.float32).reshape(n_cells, len(genes)) % 5)
    adata = ad.AnnData(
        X=counts.copy(),
        obs=pd.DataFrame(index=[f"c{i}" for i in range(n_cells)]),
        var=pd.DataFrame(index=genes),
        layers={"counts": counts},
    )
    adata.write_h5ad(path)


def test_add_embeddings_writes_pca_umap_and_the_scaled_layer(tmp_path: Path) -> None:
    genes = [f"g{i}" for i in range(9)]
    hvg = ["g7", "g1", "g4", "g8"]  # the ML matrix's column order, not the AnnData's
    rng = np.random.default_rng(3)
    scaled = np.vstack([rng.normal(loc, 1.0, size=(20, len(hvg))) for loc in (-4, 0, 4)]).astype(np.float32)
    options = EmbedOptions(n_pcs=50, umap=True, umap_n_neighbors=10, umap_max_cells=60, embedding_seed=7)
    paths = [tmp_path / "a.h5ad", tmp_path / "b.h5ad"]
    for path in paths:
        write_processed(path, scaled.shape[0], genes)
        add_embeddings(path, scaled, hvg, options)
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert len(digests) == 1  # seeded: two runs, the same bytes

    adata = ad.read_h5ad(paths[0])
    layer = adata.layers["scaled"]
    assert sparse.issparse(layer) and layer.shape == (60, 9)
    columns = [genes.index(g) for g in hvg]
    assert np.array_equal(layer[:, columns].toarray(), scaled)
    others = [i for i in range(9) if i not in columns]
    assert layer[:, others].nnz == 0  # genes that were not scaled hold no value
    assert np.array_equal(adata.layers["counts"].toarray(), adata.X.toarray())  # the rest is untouched
    assert adata.obsm["X_pca"].shape == (60, 3)  # capped at 4 HVG - 1
    assert same_up_to_sign(adata.obsm["X_pca"], svd_pca(scaled, 3), atol=1e-3)
    assert list(adata.uns["pca"]["variance_ratio"]) == pytest.approx(
        list((svd_pca(scaled, 3) ** 2).sum(axis=0) / ((scaled - scaled.mean(axis=0)) ** 2).sum()), rel=1e-3
    )
    umap = adata.obsm["X_umap"]
    assert umap.shape == (60, 2) and np.isfinite(umap).all()
    # three well separated groups stay apart: each cell's nearest UMAP neighbour is in its own group
    group = np.repeat([0, 1, 2], 20)
    distances = ((umap[:, None, :] - umap[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, np.inf)
    assert (group[distances.argmin(axis=1)] == group).all()
    assert adata.uns["umap"]["params"]["n_neighbors"] == 10


def test_add_embeddings_without_umap_and_refusing_a_foreign_matrix(tmp_path: Path) -> None:
    path = tmp_path / "p.h5ad"
    write_processed(path, 30, ["a", "b", "c"])
    add_embeddings(
        path,
        np.ones((30, 2), dtype=np.float32) * np.arange(30)[:, None],
        ["a", "c"],
        EmbedOptions(n_pcs=5, umap=False, umap_n_neighbors=15, umap_max_cells=None, embedding_seed=0),
    )
    adata = ad.read_h5ad(path)
    assert "X_umap" not in adata.obsm and adata.obsm["X_pca"].shape == (30, 1)
    other = tmp_path / "q.h5ad"
    write_processed(other, 30, ["a", "b", "c"])
    with pytest.raises(ValueError, match="does not match"):
        add_embeddings(
            other,
            np.ones((30, 2), dtype=np.float32),
            ["a", "zz"],
            EmbedOptions(n_pcs=5, umap=False, umap_n_neighbors=15, umap_max_cells=None, embedding_seed=0),
        )


@pytest.mark.parametrize("shape", [(60, 8), (6, 50)])
def test_pca_signs_are_fixed_by_the_data(shape: tuple[int, int]) -> None:
    """The largest loading of each component is positive, so negating the data negates the scores
    (an SVD is free to flip any component)."""
    matrix = np.random.default_rng(5).normal(size=shape).astype(np.float32)
    coordinates, _ = embed.pca(matrix, 3)
    flipped, _ = embed.pca(-matrix, 3)
    assert np.allclose(flipped, -coordinates, atol=1e-5)
    assert embed.pca(matrix, 3)[0].tobytes() == coordinates.tobytes()


def test_no_umap_above_umap_max_cells_and_the_terminal_says_so(tmp_path: Path, capsys) -> None:
    from genoprep.scrna.export import embeddings

    rng = np.random.default_rng(5)
    scaled = rng.normal(size=(40, 6)).astype(np.float32)
    capped = embeddings(
        scaled, EmbedOptions(n_pcs=3, umap=True, umap_n_neighbors=5, umap_max_cells=39, embedding_seed=0)
    )
    assert set(capped) == {"X_pca", "variance_ratio"}
    assert "UMAP skipped: 40 cells is over params.umap_max_cells (39)" in capsys.readouterr().err
    # the PCA does not depend on the cap; at the cap (inclusive) and without one the UMAP is made
    for cap in (40, None):
        found = embeddings(
            scaled, EmbedOptions(n_pcs=3, umap=True, umap_n_neighbors=5, umap_max_cells=cap, embedding_seed=0)
        )
        assert found["X_umap"].shape == (40, 2)
        assert np.array_equal(found["X_pca"], capped["X_pca"])


def test_processed_h5ad_started_with_the_counts_reads_back_as_write_h5ad_writes_it(tmp_path: Path) -> None:
    # the chain writes layers['counts'], normalises the counts in place, then adds the rest
    rng = np.random.default_rng(4)
    counts = sparse.random(20, 8, density=0.4, format="csr", random_state=4, dtype=np.float32)
    counts.data = rng.integers(1, 9, size=counts.nnz).astype(np.float32)
    obs = pd.DataFrame({"cell_type": list("ab" * 10), "n": np.arange(20)}, index=[f"c{i}" for i in range(20)])
    var = pd.DataFrame({"gene_ids": [f"E{i}" for i in range(8)]}, index=[f"g{i}" for i in range(8)])

    def normalised() -> ad.AnnData:
        adata = ad.AnnData(X=counts.copy(), obs=obs.copy(), var=var.copy())
        adata.X.data = np.log1p(adata.X.data)
        adata.obsm["X_pca"] = np.arange(40, dtype=np.float32).reshape(20, 2)
        adata.uns["genoprep"] = {"dataset_id": "d", "n_hvg": 3}
        return adata

    reference = normalised()
    reference.layers["counts"] = counts.copy()
    reference.write_h5ad(tmp_path / "reference.h5ad")
    export.write_counts(tmp_path / "chain.h5ad", counts)
    export.write_processed(tmp_path / "chain.h5ad", normalised(), counts_written=True)
    a, b = ad.read_h5ad(tmp_path / "chain.h5ad"), ad.read_h5ad(tmp_path / "reference.h5ad")
    pd.testing.assert_frame_equal(a.obs, b.obs)  # strings as categoricals, as write_h5ad stores them
    pd.testing.assert_frame_equal(a.var, b.var)
    assert a.obs["cell_type"].dtype == "category"
    assert (a.X != b.X).nnz == 0 and (a.layers["counts"] != b.layers["counts"]).nnz == 0
    assert (a.layers["counts"] != counts).nnz == 0 and a.X.dtype == np.float32
    np.testing.assert_array_equal(a.obsm["X_pca"], b.obsm["X_pca"])
    assert a.uns["genoprep"] == b.uns["genoprep"] and sorted(a.layers) == ["counts"]


def test_row_blocks_cover_every_row_once_as_copies(tmp_path: Path) -> None:
    from genoprep.embed import row_blocks

    matrix = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    np.save(tmp_path / "x.npy", matrix)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    for source in (matrix, mapped, mapped[2:]):
        blocks = list(row_blocks(source, np.float64, rows=3))
        assert [start for start, _ in blocks] == list(range(0, source.shape[0], 3))
        assert all(block.dtype == np.float64 and block.flags.owndata for _, block in blocks)
        assert np.array_equal(np.vstack([block for _, block in blocks]), np.asarray(source, dtype=np.float64))
