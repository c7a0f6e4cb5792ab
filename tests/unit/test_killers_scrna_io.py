"""Killers for the mutants of genoprep/scrna/io.py and genoprep/scrna/convert.py
that survived the module tests (issue 16; docs/testing.md).

The `scrna_io` mutation group runs this file (bench/mutants.py GROUPS). Every expected value is hand-computed,
re-implemented here in plain numpy/pandas/h5py, or read with an independent library (scanpy, anndata, h5py),
never taken from genoprep's own output. Inputs are tiny and written in the test.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
from anndata.io import write_elem
from scipy import sparse

from genoprep.errors import InputError
from genoprep.scrna import convert, io
from genoprep.scrna.io import read_matrix

COUNTS = np.array([[0, 3, 1], [2, 0, 0]], dtype=np.float32)  # 2 cells x 3 genes
CELLS, GENES = ["c1", "c2"], ["G1", "G2", "G3"]


def _message(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    return str(info.value)


def _v2_folder(folder: Path, mtx: str) -> Path:
    """A Cell Ranger v2 folder (plain text): genes.tsv (id, symbol), barcodes.tsv, matrix.mtx."""
    folder.mkdir()
    (folder / "genes.tsv").write_text("".join(f"ENSG{i}\t{g}\n" for i, g in enumerate(GENES)))
    (folder / "barcodes.tsv").write_text("".join(f"{c}\n" for c in CELLS))
    (folder / "matrix.mtx").write_text(mtx)
    return folder


def _read_h5ad_plain(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """The converted file read back by anndata itself (not by genoprep)."""
    adata = ad.read_h5ad(path)
    return list(adata.obs_names), list(adata.var_names), np.asarray(adata.X.toarray())


# --- io._h5_error: an OSError that does not say "file", "signature" or "truncated" is a read error --------------


def test_h5_error_words_the_os_error_by_what_it_says() -> None:
    unreadable = io._h5_error(Path("x.h5ad"), "h5ad", OSError("Unable to open file (file signature not found)"))
    assert str(unreadable) == (
        "x.h5ad: not a readable h5ad (HDF5) file: truncated, empty or another format "
        "(Unable to open file (file signature not found))"
    )
    other = io._h5_error(Path("x.h5ad"), "h5ad", OSError("Can't read data (wrong B-tree signature)"))
    assert str(other).startswith("x.h5ad: not a readable h5ad (HDF5) file")
    assert str(io._h5_error(Path("x.h5ad"), "h5ad", OSError("inflate() failed"))) == (
        "x.h5ad: cannot read h5ad: inflate() failed"
    )
    assert str(io._h5_error(Path("x.h5ad"), "h5ad", KeyError("file"))) == "x.h5ad: cannot read h5ad: 'file'"


# --- io._assemble: obsm of the h5ad is carried over -------------------------------------------------------------


def test_h5ad_obsm_is_carried_over(tmp_path: Path) -> None:
    adata = ad.AnnData(X=sparse.csr_matrix(COUNTS))
    adata.obs_names, adata.var_names = CELLS, GENES
    embedding = np.array([[0.5, -1.0], [2.0, 3.5]])
    adata.obsm["X_umap"] = embedding
    adata.write_h5ad(tmp_path / "x.h5ad")
    read = read_matrix(tmp_path / "x.h5ad", "h5ad")
    assert list(read.obsm.keys()) == ["X_umap"]
    np.testing.assert_array_equal(read.obsm["X_umap"], embedding)


# --- io._read_zarr: a store whose matrix and obs disagree is one line naming the store ----------------------------


def _zarr_store(path: Path, obs: object):  # type: ignore[no-untyped-def]
    """A Zarr store with COUNTS as a CSR X, the given obs element and GENES as var (written with anndata)."""
    import zarr

    store = zarr.open_group(path, mode="w")
    write_elem(store, "X", sparse.csr_matrix(COUNTS))
    write_elem(store, "obs", obs)
    write_elem(store, "var", pd.DataFrame(index=GENES))
    return store


def test_zarr_matrix_and_obs_of_different_lengths_is_one_line_naming_the_store(tmp_path: Path) -> None:
    _zarr_store(tmp_path / "m.zarr", pd.DataFrame(index=["only"]))
    assert _message(read_matrix, tmp_path / "m.zarr", "zarr") == (
        f"{tmp_path / 'm.zarr'}: the matrix is 2 x 3, but obs has 1 rows and var 3"
    )


# --- io._read_h5ad_legacy: anndata's old layout (obs/var as record arrays) --------------------------------------


def test_h5ad_in_the_old_record_array_layout_keeps_its_names(tmp_path: Path) -> None:
    path = tmp_path / "old.h5ad"
    with h5py.File(path, "w") as handle:
        handle["X"] = COUNTS
        handle["obs"] = np.array([(b"c1", 7), (b"c2", 8)], dtype=[("index", "S2"), ("donor", "<i8")])
        handle["var"] = np.array([(b"G1", 1), (b"G2", 2), (b"G3", 3)], dtype=[("index", "S2"), ("n", "<i8")])
    read = read_matrix(path, "h5ad")
    assert list(read.obs_names) == CELLS and list(read.var_names) == GENES
    assert list(read.obs["donor"]) == [7, 8] and list(read.var["n"]) == [1, 2, 3]
    np.testing.assert_array_equal(read.X.toarray(), COUNTS)


# --- io._check_10x_folder: the message names the folder's version -----------------------------------------------


def test_incomplete_10x_folder_names_its_version_and_files(tmp_path: Path) -> None:
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "matrix.mtx").write_text("")
    assert _message(read_matrix, v2, "10x_mtx") == (
        f"{v2}: not a complete 10x matrix folder: genes.tsv, barcodes.tsv missing "
        "(a v2 folder holds matrix.mtx, genes.tsv, barcodes.tsv)"
    )
    v3 = tmp_path / "v3"
    v3.mkdir()
    (v3 / "features.tsv.gz").write_bytes(b"")
    assert _message(read_matrix, v3, "10x_mtx") == (
        f"{v3}: not a complete 10x matrix folder: matrix.mtx.gz, barcodes.tsv.gz missing "
        "(a v3 folder holds matrix.mtx.gz, features.tsv.gz, barcodes.tsv.gz)"
    )


# --- convert: 10x folders ---------------------------------------------------------------------------------------


def test_a_pattern_mtx_converts_to_ones(tmp_path: Path) -> None:
    # genes x cells entries (1-based): G2 in c1, G3 in c1, G1 in c2
    mtx = "%%MatrixMarket matrix coordinate pattern general\n3 2 3\n2 1\n3 1\n1 2\n"
    folder = _v2_folder(tmp_path / "f", mtx)
    convert.to_h5ad(folder, "10x_mtx", tmp_path / "out" / "x.h5ad")
    cells, genes, matrix = _read_h5ad_plain(tmp_path / "out" / "x.h5ad")
    assert cells == CELLS and genes == GENES
    np.testing.assert_array_equal(matrix, [[0, 1, 1], [1, 0, 0]])


def test_a_bad_mtx_entry_in_a_later_block_names_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "_MTX_LINES", 2)
    # line 1 banner, 2 size, entries on lines 3-7; line 6 names gene 9 of 3
    mtx = "%%MatrixMarket matrix coordinate integer general\n3 2 5\n2 1 3\n3 1 1\n1 2 2\n9 2 1\n3 2 4\n"
    folder = _v2_folder(tmp_path / "f", mtx)
    assert _message(convert.to_h5ad, folder, "10x_mtx", tmp_path / "out" / "x.h5ad") == (
        f"{folder / 'matrix.mtx'}: line 6: entry 9 2 1 is outside the 3 x 2 matrix or not a number"
    )


def test_a_matrix_market_file_that_is_not_coordinate_is_one_line(tmp_path: Path) -> None:
    folder = _v2_folder(tmp_path / "f", "%%MatrixMarket matrix array real general\n3 2\n1\n2\n3\n4\n5\n6\n")
    assert _message(convert.to_h5ad, folder, "10x_mtx", tmp_path / "out" / "x.h5ad") == (
        f"{folder / 'matrix.mtx'}: line 1: not a Matrix Market coordinate file"
    )


# --- convert: a cells x genes table -----------------------------------------------------------------------------


def test_a_cells_x_genes_csv_converts_to_the_hand_matrix(tmp_path: Path) -> None:
    path = tmp_path / "cxg.csv"
    path.write_text("cell,G1,G2,G3\nc1,0,3,1\nc2,2,0,0\n")
    convert.to_h5ad(path, "csv", tmp_path / "out" / "x.h5ad", orientation="cells_x_genes")
    cells, genes, matrix = _read_h5ad_plain(tmp_path / "out" / "x.h5ad")
    assert cells == CELLS and genes == GENES
    np.testing.assert_array_equal(matrix, COUNTS)


# --- sample(100): messages a user reads, and the readers' less common paths -------------------------------------


def test_unknown_format_and_missing_orientation_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(",c1,c2\nG1,1,2\n")
    assert _message(read_matrix, path, "xlsx") == (
        f"{path}: unknown scRNA-seq format 'xlsx' (known: h5ad, zarr, loom, csv, tsv, 10x_mtx, 10x_h5)"
    )
    assert _message(convert.to_h5ad, path, "csv", tmp_path / "out" / "x.h5ad") == (
        f"{path}: csv/tsv input needs input.orientation: genes_x_cells or cells_x_genes"
    )


def test_a_header_that_does_not_fit_the_rows_names_line_1(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(",a,b,c,d\nG1,1,2\nG2,3,4\n")
    assert _message(read_matrix, path, "csv", orientation="genes_x_cells") == (
        f"{path}: line 1: the header has 5 fields, but the rows have 3"
    )


def test_a_missing_h5ad_layer_lists_the_layers_there_are(tmp_path: Path) -> None:
    adata = ad.AnnData(X=sparse.csr_matrix(COUNTS))
    adata.obs_names, adata.var_names = CELLS, GENES
    adata.write_h5ad(tmp_path / "none.h5ad")
    adata.layers["counts"] = sparse.csr_matrix(COUNTS)
    adata.layers["spliced"] = sparse.csr_matrix(COUNTS)
    adata.write_h5ad(tmp_path / "two.h5ad")
    assert _message(read_matrix, tmp_path / "none.h5ad", "h5ad", layer="x") == (
        f"{tmp_path / 'none.h5ad'}: no layer 'x' (layers: none)"
    )
    assert _message(read_matrix, tmp_path / "two.h5ad", "h5ad", layer="x") == (
        f"{tmp_path / 'two.h5ad'}: no layer 'x' (layers: counts, spliced)"
    )


def test_a_layer_of_an_h5ad_in_the_old_layout(tmp_path: Path) -> None:
    path = tmp_path / "old.h5ad"
    with h5py.File(path, "w") as handle:
        handle["X"] = np.log1p(COUNTS)
        handle["layers/counts"] = COUNTS
        handle["obs"] = np.array([(b"c1",), (b"c2",)], dtype=[("index", "S2")])
        handle["var"] = np.array([(b"G1",), (b"G2",), (b"G3",)], dtype=[("index", "S2")])
    read = read_matrix(path, "h5ad", layer="counts")
    assert list(read.obs_names) == CELLS and list(read.var_names) == GENES
    np.testing.assert_array_equal(read.X.toarray(), COUNTS)


def _loom(path: Path, *, row_attrs: bool = True, genes: int = 3) -> Path:
    with h5py.File(path, "w") as handle:
        handle["matrix"] = COUNTS.T  # genes x cells
        if row_attrs:
            handle["row_attrs/Gene"] = np.array([f"G{i + 1}".encode() for i in range(genes)])
        handle["col_attrs/CellID"] = np.array([b"c1", b"c2"])
    return path


def test_a_loom_without_row_attributes_gets_numbered_genes(tmp_path: Path) -> None:
    read = read_matrix(_loom(tmp_path / "x.loom", row_attrs=False), "loom")
    assert list(read.obs_names) == CELLS and list(read.var_names) == ["gene_0", "gene_1", "gene_2"]
    np.testing.assert_array_equal(read.X.toarray(), COUNTS)


def test_loom_messages_name_the_file_and_the_problem(tmp_path: Path) -> None:
    short = _loom(tmp_path / "short.loom", genes=2)
    assert _message(read_matrix, short, "loom") == (
        f"{short}: /row_attrs/Gene: 2 values, but the matrix has 3 genes (a loom attribute holds one value per gene)"
    )
    good = _loom(tmp_path / "x.loom")
    assert _message(read_matrix, good, "loom", layer="spliced") == f"{good}: no loom layer 'spliced'"
    with h5py.File(tmp_path / "nomatrix.loom", "w") as handle:
        handle["row_attrs/Gene"] = np.array([b"G1"])
    assert _message(read_matrix, tmp_path / "nomatrix.loom", "loom") == (
        f"{tmp_path / 'nomatrix.loom'}: not a loom file: no /matrix"
    )
    text = tmp_path / "text.loom"
    text.write_text("not hdf5\n")
    assert _message(convert.to_h5ad, text, "loom", tmp_path / "out" / "x.h5ad").startswith(
        f"{text}: not a readable loom (HDF5) file: truncated, empty or another format ("
    )


def test_a_non_numeric_mtx_value_is_named_in_the_message(tmp_path: Path) -> None:
    mtx = "%%MatrixMarket matrix coordinate real general\n3 2 2\n2 1 3\n3 1 x7\n"
    folder = _v2_folder(tmp_path / "f", mtx)
    assert _message(convert.to_h5ad, folder, "10x_mtx", tmp_path / "out" / "x.h5ad") == (
        f"{folder / 'matrix.mtx'}: cannot parse the matrix: could not convert string to float: 'x7'"
    )


def test_a_10x_h5_keeps_gene_expression_features(tmp_path: Path) -> None:
    """Cell Ranger v3 HDF5 written by hand: genes x cells CSC, three genes and one antibody feature."""
    genes_x_cells = np.array([[0, 2], [3, 0], [1, 0], [5, 7]], dtype=np.int32)
    csc = sparse.csc_matrix(genes_x_cells)
    with h5py.File(tmp_path / "m.h5", "w") as handle:
        matrix = handle.create_group("matrix")
        matrix["data"], matrix["indices"], matrix["indptr"] = csc.data, csc.indices, csc.indptr
        matrix["shape"] = np.array(genes_x_cells.shape, dtype=np.int32)
        matrix["barcodes"] = np.array([b"c1", b"c2"])
        matrix["features/id"] = np.array([b"E1", b"E2", b"E3", b"AB1"])
        matrix["features/name"] = np.array([b"G1", b"G2", b"G3", b"A1"])
        matrix["features/feature_type"] = np.array([b"Gene Expression"] * 3 + [b"Antibody Capture"])
        matrix["features/genome"] = np.array([b"GRCh38"] * 4)
    read = read_matrix(tmp_path / "m.h5", "10x_h5")
    assert list(read.obs_names) == CELLS and list(read.var_names) == GENES
    assert list(read.var["gene_ids"]) == ["E1", "E2", "E3"]
    np.testing.assert_array_equal(read.X.toarray(), COUNTS)


# --- sample(200) --------------------------------------------------------------------------------------------------


def test_more_one_line_messages_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(",c1,c1\nG1,1,2\n")
    assert _message(read_matrix, path, "csv") == (
        f"{path}: csv/tsv input needs input.orientation: genes_x_cells or cells_x_genes"
    )
    assert _message(read_matrix, path, "csv", orientation="genes_x_cells") == (
        f"{path}: 1 cell ids occur more than once (e.g. c1)"
    )
    complex_mtx = _v2_folder(tmp_path / "f", "%%MatrixMarket matrix coordinate complex general\n3 2 1\n1 1 1 0\n")
    assert _message(convert.to_h5ad, complex_mtx, "10x_mtx", tmp_path / "out" / "x.h5ad") == (
        f"{complex_mtx / 'matrix.mtx'}: Matrix Market complex general is not read (integer/real/pattern general)"
    )
    for name, fmt, what in (("t.h5ad", "h5ad", "h5ad"), ("t.loom", "loom", "loom")):
        (tmp_path / name).write_text("not hdf5\n")
        assert _message(read_matrix, tmp_path / name, fmt).startswith(
            f"{tmp_path / name}: not a readable {what} (HDF5) file: truncated, empty or another format ("
        )


def test_an_empty_matrix_is_refused_when_either_side_is_zero(tmp_path: Path) -> None:
    empty = ad.AnnData(X=np.zeros((0, 3), dtype=np.float32))
    empty.var_names = GENES
    empty.write_h5ad(tmp_path / "x.h5ad")
    assert _message(read_matrix, tmp_path / "x.h5ad", "h5ad") == (
        f"{tmp_path / 'x.h5ad'}: the matrix is empty (0 cells x 3 genes)"
    )


def test_na_words_and_empty_fields_of_a_table(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(",c1,c2\nG1,1,NA\n")
    assert _message(read_matrix, path, "csv", orientation="genes_x_cells") == (
        f"{path}: line 2, row G1, column c2: value 'NA' is not a number"
    )
    path.write_text(",c1,c2\nG1,1,\n")
    assert _message(read_matrix, path, "csv", orientation="genes_x_cells") == (
        f"{path}: line 2, row G1, column c2: is empty (a short row?)"
    )
    path.write_text(",c1,c2\nG1,1,2\nG2,1,2,3,4\n")
    assert _message(read_matrix, path, "csv", orientation="genes_x_cells").startswith(
        f"{path}: cannot parse the table: Error tokenizing data. C error: Expected 3 fields in line 2, saw 5"
    )


def test_a_zarr_store_whose_obs_is_no_data_frame(tmp_path: Path) -> None:
    _zarr_store(tmp_path / "m.zarr", np.arange(2))
    assert _message(read_matrix, tmp_path / "m.zarr", "zarr") == (
        f"{tmp_path / 'm.zarr'}: not an anndata Zarr store: obs/var are not data frames"
    )


def test_two_dimensional_variable_length_loom_strings_are_text(tmp_path: Path) -> None:
    """A (cells, 1) and a (cells, 2) variable-length string attribute: h5py reads them as object arrays of bytes;
    they arrive as str in obs (squeezed) and obsm, element for element (rows were kept as bytes before)."""
    path = tmp_path / "x.loom"
    with h5py.File(path, "w") as handle:
        handle["matrix"] = COUNTS.T
        handle.create_dataset("col_attrs/CellID", data=CELLS, dtype=h5py.string_dtype())
        handle.create_dataset("col_attrs/donor", data=[["d1"], ["d2"]], dtype=h5py.string_dtype())
        handle.create_dataset("col_attrs/tags", data=[["x", "y"], ["zé", "w"]], dtype=h5py.string_dtype())
        handle.create_dataset("row_attrs/Gene", data=GENES, dtype=h5py.string_dtype())
    read = read_matrix(path, "loom")
    assert list(read.obs["donor"]) == ["d1", "d2"]
    tags = np.asarray(read.obsm["tags"])
    assert tags.shape == (2, 2) and tags.tolist() == [["x", "y"], ["zé", "w"]]
    assert all(type(v) is str for v in [*read.obs["donor"], *tags.ravel()])


def test_obs_columns_of_loom_and_h5ad_and_variable_length_loom_strings(tmp_path: Path) -> None:
    path = tmp_path / "x.loom"
    with h5py.File(path, "w") as handle:
        handle["matrix"] = COUNTS.T
        handle.create_dataset("col_attrs/CellID", data=["c1", "c2"], dtype=h5py.string_dtype())
        handle.create_dataset("col_attrs/cluster", data=["a", "b"], dtype=h5py.string_dtype())
        handle.create_dataset("row_attrs/Gene", data=GENES, dtype=h5py.string_dtype())
    assert io.obs_columns(path, "loom") == ["CellID", "cluster"]
    read = read_matrix(path, "loom")
    assert list(read.obs_names) == CELLS and list(read.var_names) == GENES and list(read.obs["cluster"]) == ["a", "b"]
    adata = ad.AnnData(X=sparse.csr_matrix(COUNTS))
    adata.obs["donor"] = ["d1", "d2"]
    adata.obs["batch"] = [1, 2]
    adata.write_h5ad(tmp_path / "x.h5ad")
    assert io.obs_columns(tmp_path / "x.h5ad", "h5ad") == ["donor", "batch"]


def test_a_truncated_gzip_in_a_10x_folder_is_one_line_naming_the_folder(tmp_path: Path) -> None:
    import gzip

    folder = tmp_path / "v3"
    folder.mkdir()
    with gzip.open(folder / "features.tsv.gz", "wt") as handle:
        handle.write("".join(f"E{i}\t{g}\tGene Expression\n" for i, g in enumerate(GENES)))
    with gzip.open(folder / "barcodes.tsv.gz", "wt") as handle:
        handle.write("c1\nc2\n")
    body = "%%MatrixMarket matrix coordinate integer general\n3 2 400\n" + "1 1 1\n" * 400
    packed = gzip.compress(body.encode())
    (folder / "matrix.mtx.gz").write_bytes(packed[: len(packed) // 2])
    assert _message(read_matrix, folder, "10x_mtx") == (
        f"{folder}: truncated gzip: a file of the 10x folder ends before its compressed stream does"
    )


def test_the_conversion_makes_the_target_folders(tmp_path: Path) -> None:
    path = tmp_path / "cxg.csv"
    path.write_text("cell,G1,G2,G3\nc1,0,3,1\nc2,2,0,0\n")
    convert.to_h5ad(path, "csv", tmp_path / "a" / "b" / "x.h5ad", orientation="cells_x_genes")
    assert _read_h5ad_plain(tmp_path / "a" / "b" / "x.h5ad")[2].tolist() == COUNTS.tolist()


def test_an_element_of_an_unknown_encoding_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Found by mutant _read_zarr 37: anndata's IORegistryError escaped both readers as a traceback."""
    store = _zarr_store(tmp_path / "m.zarr", pd.DataFrame(index=CELLS))
    store["obs"].attrs["encoding-type"] = "no-such-encoding-of-a-data-frame"
    message = _message(read_matrix, tmp_path / "m.zarr", "zarr")
    prefix = f"{tmp_path / 'm.zarr'}: cannot read the Zarr store: No read method registered for IOSpec("
    assert message.startswith(prefix) and "\n" not in message
    assert len(message) == len(f"{tmp_path / 'm.zarr'}: cannot read the Zarr store: ") + 200  # the detail is cut at 200
    adata = ad.AnnData(X=sparse.csr_matrix(COUNTS))
    adata.write_h5ad(tmp_path / "x.h5ad")
    with h5py.File(tmp_path / "x.h5ad", "r+") as handle:
        handle["obs"].attrs["encoding-type"] = "no-such-encoding-of-a-data-frame"
    assert _message(read_matrix, tmp_path / "x.h5ad", "h5ad").startswith(
        f"{tmp_path / 'x.h5ad'}: cannot read h5ad: No read method registered for IOSpec("
    )
