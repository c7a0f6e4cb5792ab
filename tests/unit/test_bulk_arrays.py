"""Bulk expression from NumPy arrays (.npy + id files, .npz with named arrays).

Hand-made arrays for the checks (shape against ids, missing arrays, value types), and the
real MOV10 and GSE96870 tables converted to .npy/.npz here: the checked matrix, ids and the
ingested AnnData must equal those read from the table itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoprep.bulk.io import read_expression_array, read_expression_table
from genoprep.bulk.options import IngestOptions
from genoprep.bulk.steps import ingest
from genoprep.errors import InputError
from tests.conftest import shared_data

GENES = ["A", "B", "C"]
SAMPLES = ["s1", "s2"]
VALUES = np.array([[1, 2], [3, 4], [0, 7]])  # genes x samples


def _ids(path: Path, ids: list[str]) -> Path:
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return path


def test_npy_with_id_files_both_orientations(tmp_path: Path) -> None:
    np.save(tmp_path / "gxs.npy", VALUES)
    np.save(tmp_path / "sxg.npy", VALUES.T.astype(np.float32))
    genes, samples = _ids(tmp_path / "genes.txt", GENES), _ids(tmp_path / "samples.txt", SAMPLES)
    one = read_expression_array(tmp_path / "gxs.npy", "npy", gene_ids_path=genes, sample_ids_path=samples)
    other = read_expression_array(
        tmp_path / "sxg.npy", "npy", orientation="samples_x_genes", gene_ids_path=genes, sample_ids_path=samples
    )
    for table in (one, other):
        assert table.genes == GENES and table.samples == SAMPLES
        np.testing.assert_array_equal(table.values, VALUES.T.astype(np.float64))


def test_npz_named_arrays_and_sidecar_precedence(tmp_path: Path) -> None:
    np.savez(tmp_path / "m.npz", counts=VALUES, genes=np.array(GENES), cells=np.array(SAMPLES, dtype="S"))
    arrays = {"values": "counts", "gene_ids": "genes", "sample_ids": "cells"}
    table = read_expression_array(tmp_path / "m.npz", "npz", arrays=arrays)
    assert table.genes == GENES and table.samples == SAMPLES  # bytes ids decoded
    renamed = _ids(tmp_path / "g.txt", ["X", "Y", "Z"])
    assert read_expression_array(tmp_path / "m.npz", "npz", arrays=arrays, gene_ids_path=renamed).genes == [
        "X",
        "Y",
        "Z",
    ]
    with pytest.raises(InputError, match=r"no array 'values' for the values \(arrays: counts, genes, cells\)"):
        read_expression_array(tmp_path / "m.npz", "npz")


def test_shape_that_does_not_fit_the_ids_is_one_line(tmp_path: Path) -> None:
    np.save(tmp_path / "m.npy", VALUES)
    genes, samples = _ids(tmp_path / "genes.txt", GENES), _ids(tmp_path / "samples.txt", SAMPLES)
    with pytest.raises(InputError) as info:
        read_expression_array(
            tmp_path / "m.npy", "npy", orientation="samples_x_genes", gene_ids_path=genes, sample_ids_path=samples
        )
    message = str(info.value)
    assert message == (
        f"{tmp_path / 'm.npy'}: the values are 3 x 2 (samples_x_genes), so 3 sample ids are needed for the rows, "
        "but the sample_ids have 2 (is input.orientation right?)"
    )
    short = _ids(tmp_path / "short.txt", GENES[:2])
    with pytest.raises(InputError, match=r"so 3 gene ids are needed for the rows, but the gene_ids have 2"):
        read_expression_array(tmp_path / "m.npy", "npy", gene_ids_path=short, sample_ids_path=samples)
    with pytest.raises(InputError, match=r"a .npy holds no ids: give input.gene_ids_path"):
        read_expression_array(tmp_path / "m.npy", "npy", sample_ids_path=samples)


def test_bad_arrays_and_id_files_are_one_line(tmp_path: Path) -> None:
    genes, samples = _ids(tmp_path / "genes.txt", GENES), _ids(tmp_path / "samples.txt", SAMPLES)
    np.save(tmp_path / "cube.npy", np.zeros((3, 2, 1)))
    np.save(tmp_path / "text.npy", np.array([["1", "2"]] * 3))
    np.save(tmp_path / "objects.npy", np.array([[1, None]] * 3, dtype=object), allow_pickle=True)
    (tmp_path / "not.npy").write_text("gene,s1\n", encoding="utf-8")
    cases = {
        "cube.npy": "the values are a 3-D array (shape (3, 2, 1)); a matrix is 2-D",
        "text.npy": "the values are <U1, not numbers",
        "objects.npy": "not a readable .npy array: it holds Python objects",
        "not.npy": "not a readable .npy array",
    }
    for name, expected in cases.items():
        with pytest.raises(InputError) as info:
            read_expression_array(tmp_path / name, "npy", gene_ids_path=genes, sample_ids_path=samples)
        assert expected in str(info.value) and "\n" not in str(info.value), name
    np.save(tmp_path / "m.npy", VALUES)
    (tmp_path / "gap.txt").write_text("A\n\nC\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"gap.txt: line 2: empty gene id"):
        read_expression_array(tmp_path / "m.npy", "npy", gene_ids_path=tmp_path / "gap.txt", sample_ids_path=samples)


def test_value_checks_are_the_tables_checks(tmp_path: Path) -> None:
    genes, samples = _ids(tmp_path / "genes.txt", GENES), _ids(tmp_path / "samples.txt", SAMPLES)
    np.save(tmp_path / "m.npy", np.array([[1, 2], [3, 4.5], [0, 7]]))
    with pytest.raises(InputError) as info:
        read_expression_array(tmp_path / "m.npy", "npy", gene_ids_path=genes, sample_ids_path=samples)
    assert str(info.value).startswith(f"{tmp_path / 'm.npy'}: gene B, sample s2: value 4.5 is not an integer")
    table = read_expression_array(
        tmp_path / "m.npy", "npy", value_type="tpm", gene_ids_path=genes, sample_ids_path=samples
    )
    assert table.values[1, 1] == 4.5
    dup = _ids(tmp_path / "dup.txt", ["A", "B", "A"])
    np.save(tmp_path / "c.npy", VALUES)
    with pytest.raises(InputError, match=r"1 gene ids occur more than once \(A \(2x\)\)"):
        read_expression_array(tmp_path / "c.npy", "npy", gene_ids_path=dup, sample_ids_path=samples)
    summed = read_expression_array(
        tmp_path / "c.npy", "npy", duplicate_genes="sum", gene_ids_path=dup, sample_ids_path=samples
    )
    assert summed.genes == ["A", "B"]
    np.testing.assert_array_equal(summed.values, [[1, 3], [9, 4]])


def _options(fmt: str, path: Path, **input_) -> IngestOptions:
    from genoprep.cards import load_card
    from tests.conftest import write_card

    card = {"dataset_id": "mov10", "name": "mov10", "modality": "bulk", "input": {"path": str(path), "format": fmt}}
    card["input"].update(input_)
    return IngestOptions.from_card(load_card(write_card(path.parent / f"cards_{fmt}", card)).data)


@pytest.mark.parametrize(
    ("name", "fmt", "sep"),
    [
        ("mov10_human_hek293_counts_genes_x_8samples.tsv", "tsv", "\t"),
        ("mouse_12samples_rpkm_genes_x_samples.csv", "csv", ","),
    ],
)
def test_real_table_as_npy_and_npz_reads_the_same(tmp_path: Path, name: str, fmt: str, sep: str) -> None:
    path = shared_data("bulk", name)
    value_type = "counts" if fmt == "tsv" else "rpkm"
    reference = read_expression_table(path, fmt, value_type=value_type)
    frame = pd.read_csv(path, sep=sep, index_col=0)  # an independent reading of the same file
    np.save(tmp_path / "m.npy", frame.to_numpy())
    np.savez_compressed(
        tmp_path / "m.npz",
        values=frame.to_numpy().T,
        gene_ids=frame.index.to_numpy(dtype=str),
        sample_ids=frame.columns.to_numpy(dtype=str),
    )
    genes = _ids(tmp_path / "genes.txt", [str(g) for g in frame.index])
    samples = _ids(tmp_path / "samples.txt", list(frame.columns))
    from_npy = read_expression_array(
        tmp_path / "m.npy", "npy", value_type=value_type, gene_ids_path=genes, sample_ids_path=samples
    )
    from_npz = read_expression_array(tmp_path / "m.npz", "npz", orientation="samples_x_genes", value_type=value_type)
    for table in (from_npy, from_npz):
        assert table.genes == reference.genes and table.samples == reference.samples
        np.testing.assert_array_equal(table.values, reference.values)
        assert table.values.dtype == reference.values.dtype


def test_ingest_of_npy_equals_ingest_of_the_table(tmp_path: Path) -> None:
    path = shared_data("bulk", "mov10_human_hek293_counts_genes_x_8samples.tsv")
    frame = pd.read_csv(path, sep="\t", index_col=0)
    np.save(tmp_path / "m.npy", frame.to_numpy())
    genes = _ids(tmp_path / "genes.txt", list(frame.index))
    samples = _ids(tmp_path / "samples.txt", list(frame.columns))
    table_options = _options("tsv", path)
    array_options = _options("npy", tmp_path / "m.npy", gene_ids_path=str(genes), sample_ids_path=str(samples))
    reference = ingest(table_options, path, None)
    adata = ingest(array_options, tmp_path / "m.npy", None, gene_ids_path=genes, sample_ids_path=samples)
    np.testing.assert_array_equal(adata.X, reference.X)
    pd.testing.assert_frame_equal(adata.obs, reference.obs)
    pd.testing.assert_frame_equal(adata.var, reference.var)
