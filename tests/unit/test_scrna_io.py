"""Reading scRNA-seq matrices and refusing values that are not what the card says."""

from __future__ import annotations

import gzip
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna.io import check_values, obs_columns, read_matrix

COUNTS = np.array([[0, 3, 1], [2, 0, 0]], dtype=np.int64)  # 2 cells x 3 genes


def test_csv_both_orientations_and_gzip(tmp_path: Path) -> None:
    genes_x_cells = pd.DataFrame(COUNTS.T, index=["G1", "G2", "G3"], columns=["c1", "c2"])
    plain = tmp_path / "gxc.csv"
    genes_x_cells.to_csv(plain)
    zipped = tmp_path / "cxg.tsv.gz"
    with gzip.open(zipped, "wt") as handle:
        genes_x_cells.T.to_csv(handle, sep="\t")
    a = read_matrix(plain, "csv", orientation="genes_x_cells")
    b = read_matrix(zipped, "tsv", orientation="cells_x_genes")
    for adata in (a, b):
        assert list(adata.obs_names) == ["c1", "c2"] and list(adata.var_names) == ["G1", "G2", "G3"]
        assert sparse.isspmatrix_csr(adata.X)
        np.testing.assert_array_equal(adata.X.toarray(), COUNTS)


def test_csv_needs_orientation_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(",c1,c2\nG1,1,2\nG2,3,oops\n")
    with pytest.raises(InputError, match="orientation"):
        read_matrix(path, "csv")
    with pytest.raises(InputError, match=r"x.csv: line 3, row G2, column c2: value 'oops' is not a number"):
        read_matrix(path, "csv", orientation="genes_x_cells")


def test_duplicate_cells_refused_duplicate_genes_made_unique(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(",c1,c1\nG1,1,2\nG1,3,4\n")
    with pytest.raises(InputError, match="1 cell ids occur more than once"):
        read_matrix(path, "csv", orientation="genes_x_cells")
    path.write_text(",c1,c2\nG1,1,2\nG1,3,4\n")
    assert list(read_matrix(path, "csv", orientation="genes_x_cells").var_names) == ["G1", "G1-1"]


def test_loom_with_2d_attributes(tmp_path: Path) -> None:
    path = tmp_path / "x.loom"
    with h5py.File(path, "w") as handle:
        handle["matrix"] = COUNTS.T.astype(np.float64)  # loom is genes x cells
        handle["row_attrs/Gene"] = np.array([b"g1", b"g2", b"g3"])
        handle["row_attrs/Accession"] = np.array([b"ENSMUSG1", b"ENSMUSG2", b"ENSMUSG3"])
        handle["col_attrs/CellID"] = np.array([b"a", b"b"])
        handle["col_attrs/Batch"] = np.array([[0.0], [1.0]])  # 2-D (n, 1): a column
        handle["col_attrs/Spatial"] = np.array([[1.0, 2.0], [3.0, 4.0]])  # 2-D (n, 2): obsm
    adata = read_matrix(path, "loom")
    assert list(adata.obs_names) == ["a", "b"] and list(adata.var_names) == ["g1", "g2", "g3"]
    np.testing.assert_array_equal(adata.X.toarray(), COUNTS)
    assert list(adata.obs["Batch"]) == [0.0, 1.0]
    np.testing.assert_array_equal(adata.obsm["Spatial"], [[1.0, 2.0], [3.0, 4.0]])
    assert list(adata.var["gene_ids"]) == ["ENSMUSG1", "ENSMUSG2", "ENSMUSG3"]


def test_h5ad_layer_and_raw(tmp_path: Path) -> None:
    adata = ad.AnnData(X=np.log1p(COUNTS.astype(np.float32)))
    adata.layers["counts"] = COUNTS.astype(np.float32)
    adata.raw = adata.copy()
    path = tmp_path / "x.h5ad"
    adata.write_h5ad(path)
    np.testing.assert_array_equal(read_matrix(path, "h5ad", layer="counts").X.toarray(), COUNTS)
    with pytest.raises(InputError, match="no layer 'spliced'"):
        read_matrix(path, "h5ad", layer="spliced")


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_matrix(tmp_path / "nope.h5ad", "h5ad")


def _adata(values: np.ndarray) -> ad.AnnData:
    adata = ad.AnnData(X=sparse.csr_matrix(values.astype(np.float32)))
    adata.obs_names = ["c1", "c2"]
    adata.var_names = ["G1", "G2", "G3"]
    return adata


def test_counts_stored_as_float_are_accepted() -> None:
    check_values(_adata(COUNTS.astype(float)), "x.h5ad")


def test_scaled_matrix_refused_naming_cell_and_gene() -> None:
    values = np.array([[0.5, -1.25, 0], [1, 0, 2]])
    with pytest.raises(InputError) as info:
        check_values(_adata(values), "x.h5ad")
    message = str(info.value)
    assert message.startswith("x.h5ad: cell c1, gene G2: value -1.25 is negative")
    assert "scaled" in message and "\n" not in message


def test_log_normalised_matrix_refused_unless_card_says_so() -> None:
    values = np.log1p(COUNTS.astype(float))
    with pytest.raises(InputError, match="is not an integer.*log_normalized"):
        check_values(_adata(values), "x.h5ad")
    check_values(_adata(values), "x.h5ad", value_type="log_normalized")
    with pytest.raises(InputError, match="negative"):
        check_values(_adata(-values), "x.h5ad", value_type="log_normalized")


def test_csv_with_bom_and_crlf_reads_clean_ids(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b'\xef\xbb\xbf"","c1","c2"\r\n"G1",0,2\r\n"G2",3,0\r\n"G3",1,0\r\n')
    adata = read_matrix(path, "csv", orientation="genes_x_cells")
    assert list(adata.obs_names) == ["c1", "c2"] and list(adata.var_names) == ["G1", "G2", "G3"]
    np.testing.assert_array_equal(adata.X.toarray(), COUNTS)
    path.write_bytes(b'\xef\xbb\xbf"c1",0,3,1\r\n"c2",2,0,0\r\n'.replace(b'"c1"', b'cell,G1,G2,G3\r\n"c1"'))
    adata = read_matrix(path, "csv", orientation="cells_x_genes")
    assert list(adata.obs_names) == ["c1", "c2"] and list(adata.var_names) == ["G1", "G2", "G3"]
    np.testing.assert_array_equal(adata.X.toarray(), COUNTS)


def test_header_one_field_short_and_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("c1,c2\nG1,0,2\nG2,3,0\nG3,1,0\n")  # R write.csv without row names header
    assert list(read_matrix(path, "csv", orientation="genes_x_cells").obs_names) == ["c1", "c2"]
    path.write_text(",c1,c2\n")
    with pytest.raises(InputError, match="the table has no data rows"):
        read_matrix(path, "csv", orientation="genes_x_cells")
    path.write_text("")
    with pytest.raises(InputError, match="the table has no data rows"):
        read_matrix(path, "csv", orientation="genes_x_cells")


def test_loom_column_attribute_of_the_wrong_length_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.loom"
    with h5py.File(path, "w") as handle:
        handle["matrix"] = COUNTS.T.astype(np.float64)
        handle["row_attrs/Gene"] = np.array([b"g1", b"g2", b"g3"])
        handle["col_attrs/CellID"] = np.array([b"a"])  # one id for two cells
    with pytest.raises(InputError) as info:
        read_matrix(path, "loom")
    assert str(info.value) == (
        f"{path}: /col_attrs/CellID: 1 values, but the matrix has 2 cells (a loom attribute holds one value per cell)"
    )


def test_h5ad_reads_only_the_chosen_matrix(tmp_path: Path) -> None:
    adata = ad.AnnData(X=sparse.csr_matrix(COUNTS.astype(np.int32)))
    adata.layers["big"] = sparse.csr_matrix(COUNTS * 100)
    path = tmp_path / "x.h5ad"
    adata.write_h5ad(path)
    read = read_matrix(path, "h5ad")
    assert read.X.dtype == np.float32 and not read.layers
    np.testing.assert_array_equal(read.X.toarray(), COUNTS)


def test_zarr_store_read_like_h5ad_with_layer(tmp_path: Path) -> None:
    adata = ad.AnnData(X=sparse.csr_matrix(COUNTS.astype(np.float32)))
    adata.obs_names, adata.var_names = ["c1", "c2"], ["G1", "G2", "G3"]
    adata.obs["donor"] = ["d1", "d2"]
    adata.layers["counts"] = sparse.csr_matrix(2 * COUNTS.astype(np.float32))
    adata.write_zarr(tmp_path / "m.zarr")
    read = read_matrix(tmp_path / "m.zarr", "zarr")
    np.testing.assert_array_equal(read.X.toarray(), COUNTS)
    assert list(read.obs["donor"]) == ["d1", "d2"] and list(read.var_names) == ["G1", "G2", "G3"]
    np.testing.assert_array_equal(read_matrix(tmp_path / "m.zarr", "zarr", layer="counts").X.toarray(), 2 * COUNTS)
    assert obs_columns(tmp_path / "m.zarr", "zarr") == ["donor"]
    with pytest.raises(InputError, match=r"no layer 'spliced' \(layers: counts\)"):
        read_matrix(tmp_path / "m.zarr", "zarr", layer="spliced")


def test_folder_that_is_no_zarr_store_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(InputError, match=r"empty.zarr: not a readable anndata Zarr store") as info:
        read_matrix(tmp_path / "empty.zarr", "zarr")
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="a file, but a folder is expected"):
        read_matrix(write(tmp_path / "x.zarr", "a"), "zarr")


def test_10x_h5_with_missing_datasets_or_not_hdf5_is_one_line(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "m.h5", "w") as handle:
        handle.create_group("matrix").create_dataset("data", data=np.array([1, 2]))
    with pytest.raises(InputError, match=r"m.h5: not a complete 10x HDF5 matrix: matrix/indices, matrix/indptr"):
        read_matrix(tmp_path / "m.h5", "10x_h5")
    with pytest.raises(InputError, match=r"t.h5: not a readable 10x HDF5 \(HDF5\) file") as info:
        read_matrix(write(tmp_path / "t.h5", "barcode,gene\n"), "10x_h5")
    assert "\n" not in str(info.value)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
