"""Bundle builders on hand-made inputs: files per split, NA exclusion, masks, task.yaml checksums."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import yaml

from genoprep.tasks.builders import (
    cell_type_annotation,
    expression_mask,
    gene_expression_prediction,
    heldout_panel,
    sequence_classification,
)
from genoprep.tasks.bundle import load_arrays, save_arrays


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_annotation_bundle(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float64).reshape(6, 2)
    labels = ["b", "a", "NA", "b", "a", "c"]
    splits = ["train", "train", "train", "val", "test", "test"]
    drop = np.array([False, False, False, False, False, True])  # c6 repeats a train cell
    task = cell_type_annotation(
        x,
        [f"c{i}" for i in range(1, 7)],
        labels,
        splits,
        tmp_path,
        dataset_id="d",
        label_column="cell_type",
        drop_from_eval=drop,
    )
    assert np.load(tmp_path / "X_train.npy").tolist() == [[0, 1], [2, 3]]
    assert np.load(tmp_path / "X_train.npy").dtype == np.float32
    assert np.load(tmp_path / "y_train.npy").tolist() == [1, 0]  # codes in sorted label order: a=0 b=1 c=2
    assert np.load(tmp_path / "y_val.npy").tolist() == [1]
    assert np.load(tmp_path / "y_test.npy").tolist() == [0]
    assert (tmp_path / "labels.tsv").read_text() == "code\tlabel\n0\ta\n1\tb\n2\tc\n"
    assert task["excluded_missing_label"] == 1 and task["excluded_by_leakage_policy"] == 1
    on_disk = yaml.safe_load((tmp_path / "task.yaml").read_text())
    assert on_disk["artifacts_sha256"]["X_val.npy"] == sha(tmp_path / "X_val.npy")
    assert set(on_disk["artifacts_sha256"]) == {p.name for p in tmp_path.iterdir() if p.name != "task.yaml"}


def test_expression_mask_hides_the_fraction_of_expressed_genes() -> None:
    rng = np.random.default_rng(0)
    dense = rng.poisson(1.0, size=(50, 30)).astype(float)
    ids = [f"c{i}" for i in range(50)]
    mask = expression_mask(sp.csr_matrix(dense), ids, mask_fraction=0.25, seed=3)
    for i in range(50):
        hidden = mask[i].indices
        expressed = np.flatnonzero(dense[i])
        assert set(hidden) <= set(expressed)
        assert hidden.size == max(1, int(np.floor(0.25 * expressed.size + 0.5)))
    # a row's mask depends on its id and the seed, not on the other rows
    alone = expression_mask(sp.csr_matrix(dense[7:8]), ids[7:8], mask_fraction=0.25, seed=3)
    assert alone[0].indices.tolist() == mask[7].indices.tolist()
    other = expression_mask(sp.csr_matrix(dense), ids, mask_fraction=0.25, seed=4)
    assert (other != mask).nnz > 0


def test_expression_bundle_with_a_heldout_panel(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    dense = np.log1p(rng.poisson(2.0, size=(20, 10))).astype(np.float32)
    genes = [f"g{i}" for i in range(10)]
    splits = ["train"] * 12 + ["val"] * 4 + ["test"] * 4
    gene_expression_prediction(
        dense,
        [f"c{i}" for i in range(20)],
        genes,
        splits,
        tmp_path,
        dataset_id="d",
        mask_fraction=0.2,
        heldout_genes=2,
        seed=0,
    )
    panel = heldout_panel(genes, 2, 0)
    assert panel.sum() == 2
    train = load_arrays(tmp_path / "train.npz")
    assert train["target"].shape == (12, 10)
    np.testing.assert_allclose(train["target"].toarray(), dense[:12])
    hidden = train["mask"].toarray().astype(bool)
    assert hidden[:, panel].all()
    np.testing.assert_array_equal(train["input"].toarray()[hidden], 0)
    np.testing.assert_allclose(train["input"].toarray()[~hidden], dense[:12][~hidden])
    assert (tmp_path / "genes.tsv").read_text().count("True") == 2


def test_sequence_bundle_and_npz_round_trip(tmp_path: Path) -> None:
    tokens = {"char": np.arange(12).reshape(4, 3)}
    kmers = sp.csr_matrix(np.eye(4, 5, dtype=np.int32))
    sequence_classification(
        ["a", "b", "c", "d"],
        ["0", "1", "1", "0"],
        ["train", "train", "val", "test"],
        tokens,
        kmers,
        tmp_path,
        dataset_id="d",
    )
    val = load_arrays(tmp_path / "val.npz")
    assert val["y"].tolist() == [1] and val["ids"].tolist() == ["c"]
    assert val["tokens_char"].tolist() == [[6, 7, 8]]
    assert val["kmers"].toarray().tolist() == [[0, 0, 1, 0, 0]]
    first = (tmp_path / "val.npz").read_bytes()
    save_arrays(
        tmp_path / "again.npz",
        {"y": val["y"], "ids": val["ids"], "kmers": val["kmers"], "tokens_char": val["tokens_char"]},
    )
    assert (tmp_path / "again.npz").read_bytes() == first  # fixed timestamps: same bytes
