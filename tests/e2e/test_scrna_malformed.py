"""A catalogue of malformed scRNA-seq inputs, run through the workflow in one ``snakemake --keep-going``.

Each bad input must end its dataset with exactly one ``genoprep: error:`` line naming the
file and the problem, no artifact in its results folder (logs aside), and a non-zero exit
status. Good-but-awkward inputs (byte-order mark, CRLF line ends) succeed with clean ids.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from tests.conftest import leftovers, run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

GENES = [f"MT-{i}" for i in range(2)] + [f"GENE{i}" for i in range(28)]
CELLS = [f"CELL_{i:06d}" for i in range(1, 21)]
EASY = {"min_genes": 1, "min_cells": 1, "max_genes": None, "max_pct_mito": None, "n_top_genes": 10}


def counts() -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.poisson(2.0, size=(len(CELLS), len(GENES))).astype(np.int64) + np.eye(
        len(CELLS), len(GENES), dtype=np.int64
    )


def csv_text(values: np.ndarray, sep: str = ",", newline: str = "\n") -> str:
    """genes x cells, header with an empty first field."""
    lines = [sep.join(["", *CELLS])]
    lines += [sep.join([gene, *map(str, row)]) for gene, row in zip(GENES, values.T)]
    return newline.join(lines) + newline


def write_h5ad(path: Path, values: np.ndarray, obs: pd.DataFrame | None = None) -> None:
    adata = ad.AnnData(
        X=sparse.csr_matrix(values.astype(np.float32)),
        obs=obs if obs is not None else pd.DataFrame(index=CELLS),
        var=pd.DataFrame(index=GENES),
    )
    adata.write_h5ad(path)


def write_10x(folder: Path) -> None:
    folder.mkdir(parents=True)
    values = sparse.coo_matrix(counts().T)  # genes x cells
    lines = ["%%MatrixMarket matrix coordinate integer general", f"{values.shape[0]} {values.shape[1]} {values.nnz}"]
    lines += [f"{r + 1} {c + 1} {v}" for r, c, v in zip(values.row, values.col, values.data)]
    with gzip.open(folder / "matrix.mtx.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    with gzip.open(folder / "features.tsv.gz", "wt") as handle:
        handle.writelines(f"ENSG{i:011d}\t{g}\tGene Expression\n" for i, g in enumerate(GENES))
    with gzip.open(folder / "barcodes.tsv.gz", "wt") as handle:
        handle.writelines(f"{c}\n" for c in CELLS)


def write_loom(path: Path, cell_ids: list[str]) -> None:
    with h5py.File(path, "w") as handle:
        handle["matrix"] = counts().T.astype(np.float32)
        handle["row_attrs/Gene"] = np.array([g.encode() for g in GENES])
        handle["col_attrs/CellID"] = np.array([c.encode() for c in cell_ids])


def build(root: Path) -> tuple[dict[str, tuple[dict, str, str]], dict[str, dict]]:
    """Bad cases {id: (card, file named in the error, problem)} and good cards {id: card}."""
    d = root / "inputs"
    d.mkdir()
    good = counts()
    bad: dict[str, tuple[dict, str, str]] = {}

    def case(name: str, path: Path, fmt: str, problem: str, named: Path | None = None, **extra) -> None:
        card = {
            "dataset_id": name,
            "name": name,
            "modality": "scrna",
            "input": {"path": str(path), "format": fmt, **extra.pop("input", {})},
            "params": {**EASY, **extra.pop("params", {})},
            **extra,
        }
        if fmt in ("csv", "tsv"):
            card["input"].setdefault("orientation", "genes_x_cells")
        bad[name] = (card, str(named or path), problem)

    (d / "empty.h5ad").write_bytes(b"")
    case("empty_h5ad", d / "empty.h5ad", "h5ad", "not a readable h5ad (HDF5) file")
    write_h5ad(d / "full.h5ad", good)
    data = (d / "full.h5ad").read_bytes()
    (d / "truncated.h5ad").write_bytes(data[: len(data) // 2])
    case("truncated_h5ad", d / "truncated.h5ad", "h5ad", "not a readable h5ad (HDF5) file")
    (d / "text.h5ad").write_text(csv_text(good))
    case("csv_named_h5ad", d / "text.h5ad", "h5ad", "not a readable h5ad (HDF5) file")
    case("missing_layer", d / "full.h5ad", "h5ad", "no layer 'spliced'", input={"layer": "spliced"})
    with_nan = good.astype(np.float32)
    with_nan[3, 4] = np.nan
    write_h5ad(d / "nan.h5ad", with_nan)
    case("nan_h5ad", d / "nan.h5ad", "h5ad", "cell CELL_000004, gene GENE2: value nan is not a finite number")

    gz = gzip.compress(csv_text(good).encode())
    (d / "truncated.csv.gz").write_bytes(gz[: len(gz) // 2])
    case("truncated_gzip_csv", d / "truncated.csv.gz", "csv", "truncated gzip")
    lines = csv_text(good).splitlines()
    (d / "ragged.csv").write_text("\n".join([*lines[:3], lines[3] + ",7", *lines[4:]]) + "\n")
    case("ragged_csv", d / "ragged.csv", "csv", "cannot parse the table: Error tokenizing data")
    (d / "short.csv").write_text("\n".join([*lines[:3], lines[3].rsplit(",", 2)[0], *lines[4:]]) + "\n")
    case("short_row_csv", d / "short.csv", "csv", "line 4, row GENE0, column CELL_000019: is empty (a short row?)")
    (d / "dup.csv").write_text(csv_text(good).replace("CELL_000002", "CELL_000001", 1))
    case("duplicate_cells", d / "dup.csv", "csv", "1 cell ids occur more than once (e.g. CELL_000001)")
    negative = good.copy()
    negative[5, 7] = -3
    (d / "negative.csv").write_text(csv_text(negative))
    case("negative_counts", d / "negative.csv", "csv", "cell CELL_000006, gene GENE5: value -3 is negative")
    (d / "fraction.csv").write_text(csv_text(good).replace(f"GENE3,{good[0, 5]}", f"GENE3,{good[0, 5]}.25", 1))
    case("fractional_counts", d / "fraction.csv", "csv", f"gene GENE3: value {good[0, 5]}.25 is not an integer")
    (d / "word.csv").write_text(csv_text(good).replace(f"GENE4,{good[0, 6]}", "GENE4,many", 1))
    case("not_a_number", d / "word.csv", "csv", "row GENE4, column CELL_000001: value 'many' is not a number")
    (d / "header_only.csv").write_text(lines[0] + "\n")
    case("header_only_csv", d / "header_only.csv", "csv", "the table has no data rows")
    (d / "latin1.csv").write_bytes(csv_text(good).replace("GENE9", "GÈNE9").encode("latin-1"))
    case("latin1_csv", d / "latin1.csv", "csv", "cannot parse the table: 'utf-8' codec can't decode")

    write_loom(d / "short_cellid.loom", CELLS[:-2])
    case(
        "loom_short_cellid",
        d / "short_cellid.loom",
        "loom",
        "/col_attrs/CellID: 18 values, but the matrix has 20 cells",
    )
    (d / "text.loom").write_text("not HDF5\n")
    case("loom_wrong_content", d / "text.loom", "loom", "not a readable loom (HDF5) file")

    write_10x(d / "tenx_no_barcodes")
    (d / "tenx_no_barcodes" / "barcodes.tsv.gz").unlink()
    case("tenx_missing_file", d / "tenx_no_barcodes", "10x_mtx", "barcodes.tsv.gz missing")
    write_10x(d / "tenx_truncated")
    matrix = (d / "tenx_truncated" / "matrix.mtx.gz").read_bytes()
    (d / "tenx_truncated" / "matrix.mtx.gz").write_bytes(matrix[: len(matrix) // 2])
    case("tenx_truncated_gzip", d / "tenx_truncated", "10x_mtx", "truncated gzip")

    write_h5ad(d / "labels.h5ad", good, pd.DataFrame({"celltype": ["T"] * 20, "donor": ["a"] * 20}, index=CELLS))
    case(
        "label_column_typo",
        d / "labels.h5ad",
        "h5ad",
        "columns.cell_type names column 'cell_type_typo'",
        columns={"cell_type": "cell_type_typo"},
    )
    shutil.copy(d / "labels.h5ad", d / "labels_batch.h5ad")
    case(
        "batch_key_typo",
        d / "labels_batch.h5ad",
        "h5ad",
        "params.hvg_batch_key names column 'bacth'",
        params={"hvg_batch_key": "bacth"},
    )
    (d / "meta_short.tsv").write_text("cell\tcondition\n" + "".join(f"{c}\tx\n" for c in CELLS[:-1]))
    case(
        "metadata_missing_cell",
        d / "full.h5ad",
        "h5ad",
        "no metadata row for 1 of 20 cells (e.g. CELL_000020)",
        named=d / "meta_short.tsv",
        metadata={"path": str(d / "meta_short.tsv"), "format": "tsv"},
    )

    # good but awkward: a spreadsheet export (UTF-8 byte-order mark, CRLF, quoted ids), either orientation
    (d / "bom_crlf.csv").write_bytes(
        b"\xef\xbb\xbf" + csv_text(good, newline="\r\n").replace("CELL_000001", '"CELL_000001"').encode()
    )
    cells_x_genes = (
        "\r\n".join([",".join(["cell", *GENES])] + [",".join([c, *map(str, row)]) for c, row in zip(CELLS, good)])
        + "\r\n"
    )
    (d / "bom_crlf_cxg.csv").write_bytes(b"\xef\xbb\xbf" + cells_x_genes.encode())
    (d / "meta_bom.csv").write_bytes(
        b"\xef\xbb\xbf" + ("cell,kind\r\n" + "".join(f"{c},k{i % 2}\r\n" for i, c in enumerate(CELLS))).encode()
    )
    goods = {
        "bom_crlf": {
            "dataset_id": "bom_crlf",
            "name": "BOM",
            "modality": "scrna",
            "input": {"path": str(d / "bom_crlf.csv"), "format": "csv", "orientation": "genes_x_cells"},
            "metadata": {"path": str(d / "meta_bom.csv"), "format": "csv"},
            "columns": {"cell_type": "kind"},
            "params": EASY,
        },
        "bom_crlf_cxg": {
            "dataset_id": "bom_crlf_cxg",
            "name": "BOM",
            "modality": "scrna",
            "input": {"path": str(d / "bom_crlf_cxg.csv"), "format": "csv", "orientation": "cells_x_genes"},
            "params": EASY,
        },
    }
    return bad, goods


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("scrna_malformed")
    bad, good = build(root)
    for card, _, _ in bad.values():
        write_card(root / "cards", card)
    for card in good.values():
        write_card(root / "cards", card)
    done = run_workflow(root / "cards", root / "out", "--keep-going", check=False)
    return root, bad, good, done


def test_catalogue_is_large_enough(catalogue) -> None:  # type: ignore[no-untyped-def]
    _, bad, _, done = catalogue
    assert len(bad) >= 15
    assert done.returncode != 0


def test_each_bad_input_gives_one_line_naming_file_and_problem(catalogue) -> None:  # type: ignore[no-untyped-def]
    root, bad, _, done = catalogue
    errors = [line for line in done.stderr.splitlines() if line.startswith("genoprep: error:")]
    failures = []
    for name, (_, named, problem) in sorted(bad.items()):
        mine = [line for line in errors if line.startswith(f"genoprep: error: {named}:")]
        if len(mine) != 1 or problem not in mine[0]:
            failures.append(f"{name}: expected one line '{named}: ...{problem}...', got {mine}")
        left = leftovers(root / "out" / name)
        if left or (root / "out" / ".work" / name / "facts.json").exists():
            failures.append(f"{name}: left {left}")
        if (root / "out" / name / "card.yaml").exists():
            failures.append(f"{name}: has a card.yaml")
    assert not failures, "\n".join(failures) + "\n" + "\n".join(errors)
    assert len(errors) == len(bad)


def test_bom_and_crlf_inputs_succeed_with_clean_ids(catalogue) -> None:  # type: ignore[no-untyped-def]
    root, _, good, _ = catalogue
    for name in good:
        obs = pd.read_csv(root / "out" / name / "obs.tsv", sep="\t", dtype=str, keep_default_na=False)
        assert list(obs["cell_id"]) == CELLS, name
        features = (root / "out" / name / "features.tsv").read_text().splitlines()
        assert set(features) <= set(GENES) and features, name
        assert (root / "out" / name / "card.yaml").exists()
    obs = pd.read_csv(root / "out" / "bom_crlf" / "obs.tsv", sep="\t", dtype=str)
    assert list(obs["cell_type"]) == [f"k{i % 2}" for i in range(len(CELLS))]


def test_guard_stops_a_run_that_keeps_few_cells_and_keeps_the_qc_table(tmp_path: Path) -> None:
    source = shared_data("scrna", "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad")
    write_card(
        tmp_path / "cards",
        {
            "dataset_id": "pbmc5k",
            "name": "pbmc5k",
            "modality": "scrna",
            "input": {"path": str(source), "format": "h5ad"},
            "params": {"max_pct_mito": 5},
        },
    )
    done = run_workflow(tmp_path / "cards", tmp_path / "out", check=False)
    assert done.returncode != 0
    summary = [line for line in done.stderr.splitlines() if line.startswith("genoprep: pbmc5k: kept ")]
    errors = [line for line in done.stderr.splitlines() if line.startswith("genoprep: error:")]
    assert len(summary) == 1 and "max_pct_mito -" in summary[0], done.stderr[-3000:]
    assert len(errors) == 1, done.stderr[-3000:]
    line = errors[0]
    assert line.startswith(f"genoprep: error: {source}: filters: the filters kept ")
    assert "below params.min_fraction_kept 0.1" in line and "max_pct_mito (max_pct_mito <= 5) removed the most" in line
    assert "% mito per cell: median " in line
    logs = tmp_path / "out" / "pbmc5k" / "logs"
    assert f"{logs / 'qc_cells.tsv'}" in line and f"{logs / 'qc_metrics.png'}" in line
    cells = pd.read_csv(logs / "qc_cells.tsv", sep="\t", keep_default_na=False)
    assert len(cells) == 200 and (cells["removed_by"] == "max_pct_mito").sum() > 100
    assert (logs / "qc_metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert leftovers(tmp_path / "out" / "pbmc5k") == []


def test_unreadable_10x_folder_copy_is_independent(tmp_path: Path) -> None:
    """The 10x fixture itself is a valid folder (so the failures above come from the damage)."""
    write_10x(tmp_path / "tenx")
    from genoprep.scrna.io import read_matrix

    adata = read_matrix(tmp_path / "tenx", "10x_mtx")
    assert list(adata.obs_names) == CELLS and list(adata.var_names) == GENES
    np.testing.assert_array_equal(adata.X.toarray(), counts())
    shutil.rmtree(tmp_path / "tenx")
