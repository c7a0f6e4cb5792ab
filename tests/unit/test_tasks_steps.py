"""The bundle steps that read finished artifacts (X.npy/obs.tsv, processed.h5ad, DNA token files), on real data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
import yaml

from genoprep.dna.tokenize import char_encode, kmer_counts
from genoprep.errors import InputError
from genoprep.leakage import cell_keys
from genoprep.provenance import file_sha256
from genoprep.splits import SplitOptions, write_splits
from genoprep.tasks.bundle import load_arrays
from genoprep.tasks.params import TaskOptions
from genoprep.tasks.steps import (
    annotation_baseline,
    annotation_bundle,
    expression_baseline,
    expression_bundle,
    sequence_baseline,
    sequence_bundle,
    split_rows,
)
from tests.conftest import shared_data

TASKS = TaskOptions(
    names=(), label="cell_type", mask_fraction=0.15, heldout_genes=0, seed=0, baseline=True, leakage_margin=0.1
)


def split_options(**changes) -> SplitOptions:
    settings = {
        "enabled": True,
        "fractions": (0.7, 0.15, 0.15),
        "seed": 0,
        "stratify_by": None,
        "group_by": None,
        "predefined": None,
    }
    settings.update(changes)
    return SplitOptions(**settings)


@pytest.fixture(scope="module")
def pbmc() -> ad.AnnData:
    adata = ad.read_h5ad(shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad"))
    adata.obs["cell_type"] = adata.obs["bulk_labels"].astype(str)
    return adata


def test_annotation_from_finished_artifacts(pbmc: ad.AnnData, tmp_path: Path) -> None:
    adata = pbmc.copy()
    counts = adata.X.copy()
    ids = list(adata.obs_names)
    splits, qc, drop = split_rows(
        ids,
        {"cell_type": adata.obs["cell_type"]},
        split_options(stratify_by="cell_type"),
        "report",
        "pbmc",
        keys=[("identical cells", cell_keys(counts))],
    )
    assert drop is None and qc["leakage"]["checks"][0]["test_in_train"] == 0
    assert qc["splits"]["n"]["train"] + qc["splits"]["n"]["val"] + qc["splits"]["n"]["test"] == 700
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    x = sc.pp.scale(adata.X.toarray(), max_value=10).astype(np.float32)
    x[5] = x[0]  # one repeated row: reported, and left out of eval under drop_from_eval if it is not in train
    np.save(tmp_path / "X.npy", x)
    obs = pd.DataFrame({"cell_id": ids, "cell_type": adata.obs["cell_type"].to_numpy()})
    obs.loc[3, "cell_type"] = "NA"
    obs.to_csv(tmp_path / "obs.tsv", sep="\t", index=False)
    write_splits(tmp_path / "splits.tsv", ids, splits)
    folder = tmp_path / "tasks/cell_type_annotation"
    task = annotation_bundle(
        "pbmc", TASKS, "drop_from_eval", tmp_path / "X.npy", tmp_path / "obs.tsv", tmp_path / "splits.tsv", folder
    )
    assert task["excluded_missing_label"] == 1
    # rows 0 and 5 are equal: the later of the two splits loses its copy when they differ
    assert task["excluded_by_leakage_policy"] == int(splits[0] != splits[5])
    on_disk = yaml.safe_load((folder / "task.yaml").read_text())
    for name, digest in on_disk["artifacts_sha256"].items():
        assert file_sha256(folder / name) == digest
    n_train = int(((splits == "train") & (obs["cell_type"] != "NA").to_numpy()).sum())
    assert np.load(folder / "X_train.npy").shape == (n_train, x.shape[1])
    result = annotation_baseline("pbmc", TASKS, folder, folder / "baseline.json")
    assert json.loads((folder / "baseline.json").read_text())["real"] == result["real"]
    assert result["real"]["accuracy"] > result["majority_class_rate"] + 0.2 and not result["leakage_alarm"]


def test_split_rows_refuses_an_unknown_column_and_errors_on_leaks() -> None:
    with pytest.raises(InputError, match="column 'donor' named by params.split is not one of"):
        split_rows(["a", "b"], {"cell_type": ["x", "y"]}, split_options(group_by="donor"), "report", "obs.tsv")
    ids = [f"c{i}" for i in range(200)]
    keys = ["same"] * 200
    with pytest.raises(InputError, match="leakage across splits"):
        split_rows(ids, {}, split_options(), "error", "obs.tsv", keys=[("identical cells", keys)])


def test_expression_from_processed_h5ad(pbmc: ad.AnnData, tmp_path: Path) -> None:
    adata = pbmc.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    ids = list(adata.obs_names)
    splits, _, _ = split_rows(ids, {}, split_options(seed=2), "report", "pbmc")
    # one test cell repeats a train cell's profile: drop_from_eval leaves it out of the test rows
    matrix = sp.csr_matrix(adata.X).tolil()
    repeated = int(np.flatnonzero(splits == "test")[0])
    matrix[repeated] = matrix[int(np.flatnonzero(splits == "train")[0])]
    adata.X = matrix.tocsr()
    adata.write_h5ad(tmp_path / "processed.h5ad")
    write_splits(tmp_path / "splits.tsv", ids, splits)
    folder = tmp_path / "tasks/gene_expression_prediction"
    options = TaskOptions(**{**TASKS.as_params(), "heldout_genes": 20})
    processed, splits_tsv = tmp_path / "processed.h5ad", tmp_path / "splits.tsv"
    task = expression_bundle("pbmc", options, "report", processed, splits_tsv, folder)
    assert task["heldout_genes"] == 20
    test = load_arrays(folder / "test.npz")
    truth = sp.csr_matrix(adata.X)[np.flatnonzero(splits == "test")]
    np.testing.assert_allclose(test["target"].toarray(), truth.toarray(), rtol=1e-6)
    dropped = tmp_path / "dropped"
    expression_bundle("pbmc", options, "drop_from_eval", processed, splits_tsv, dropped)
    kept = [i for i, s in zip(ids, splits) if s == "test" and i != ids[repeated]]
    assert load_arrays(dropped / "test.npz")["ids"].tolist() == kept
    with pytest.raises(InputError, match="identical expression profiles"):
        expression_bundle("pbmc", options, "error", processed, splits_tsv, tmp_path / "error")
    result = expression_baseline("pbmc", options, folder, folder / "baseline.json")
    assert result["learnable"] and not result["leakage_alarm"]
    assert result["real"]["pearson_r"] > result["mean_profile"]["pearson_r"]


def test_sequence_classification_on_gue(tmp_path: Path) -> None:
    rows = []
    for name in ("train", "dev", "test"):
        with open(shared_data("dna", f"gue_prom_core_tata_{name}.csv"), newline="") as handle:
            rows += [(f"{name}{i}", r["sequence"], r["label"], name) for i, r in enumerate(csv.DictReader(handle))]
    ids, sequences, labels, given = (list(c) for c in zip(*rows))
    splits, qc, drop = split_rows(
        ids,
        {"split": given},
        split_options(predefined="split"),
        "drop_from_eval",
        "gue",
        keys=[("identical sequences", sequences)],
    )
    check = qc["leakage"]["checks"][0]
    assert (check["val_in_train"], check["test_in_train"], check["test_in_val"]) == (8, 16, 2)
    pd.DataFrame({"id": ids, "label": labels}).to_csv(tmp_path / "obs.tsv", sep="\t", index=False)
    sp.save_npz(tmp_path / "kmers_k3.npz", sp.csr_matrix(kmer_counts(sequences, k=3)))
    np.save(tmp_path / "tokens_char.npy", char_encode(sequences, max_len=70))
    write_splits(tmp_path / "splits.tsv", ids, splits)
    folder = tmp_path / "tasks/sequence_classification"
    task = sequence_bundle(
        "gue",
        TASKS,
        "drop_from_eval",
        tmp_path / "obs.tsv",
        tmp_path / "kmers_k3.npz",
        {"char": tmp_path / "tokens_char.npy"},
        tmp_path / "splits.tsv",
        folder,
    )
    # the rows dropped from eval are exactly the val/test rows repeating an earlier split
    assert task["excluded_by_leakage_policy"] == int(drop.sum())
    assert task["counts"] == {"train": 4904, "val": 613 - 8, "test": 613 - int(drop[splits == "test"].sum())}
    result = sequence_baseline("gue", TASKS, folder, folder / "baseline.json")
    assert result["real"]["balanced_accuracy"] > 0.7 and not result["leakage_alarm"]


def test_task_artifacts_follow_the_card(tmp_path: Path) -> None:
    from genoprep.cards import load_card
    from genoprep.tasks.steps import sequence_task_inputs, task_artifacts

    fasta = shared_data("dna", "ecoli_sigma_promoters_81bp_positive_2860.fasta")
    card = {
        "dataset_id": "e",
        "name": "e",
        "modality": "dna",
        "input": {"path": str(fasta), "label": "p"},
        "params": {"tokenizers": ["char", "kmer_counts"]},
    }
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(card))
    assert task_artifacts(load_card(path)) == []  # splits are off by default: nothing changes
    card["params"].update(split={"enabled": True}, tasks={"names": ["sequence_classification"]})
    path.write_text(yaml.safe_dump(card))
    loaded = load_card(path)
    names = task_artifacts(loaded)
    assert names[0] == "splits.tsv" and "tasks/sequence_classification/baseline.json" in names
    assert {"tasks/sequence_classification/train.npz", "tasks/sequence_classification/task.yaml"} <= set(names)
    assert sequence_task_inputs(loaded) == {
        "kmers": "kmers_k3.npz",
        "tokens": {"char": "tokens_char.npy"},
        "leakage_keys": "tokens_char.npy",
    }


def test_scrna_artifacts_gain_splits_bundles_and_augmented_files(tmp_path: Path) -> None:
    from genoprep.cards import load_card
    from genoprep.tasks.steps import with_task_artifacts

    card = {
        "dataset_id": "s",
        "name": "s",
        "modality": "scrna",
        "input": {
            "path": str(shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")),
            "format": "h5ad",
        },
        "params": {
            "split": {"enabled": True},
            "tasks": {"names": ["cell_type_annotation"], "baseline": False},
            "augment": {"doublets": {"enabled": True}},
        },
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(card))
    names = with_task_artifacts(["X.npy"])(load_card(path))
    assert names[:2] == ["X.npy", "splits.tsv"] and names[-1] == "augmented_doublets.h5ad"
    assert "augmented_downsampled.h5ad" not in names and not any(n.endswith("baseline.json") for n in names)
    assert "tasks/cell_type_annotation/X_test.npy" in names


def test_splits_tsv_is_cut_from_the_split_column_of_obs(tmp_path: Path) -> None:
    from genoprep.splits import read_splits
    from genoprep.tasks.steps import splits_from_obs

    obs = tmp_path / "obs.tsv"
    obs.write_text("cell_id\tcell_type\tsplit\nc1\tT\ttrain\nc2\tB\ttest\nc3\tT\tval\n")
    splits_from_obs(obs, tmp_path / "splits.tsv")
    assert read_splits(tmp_path / "splits.tsv") == {"c1": "train", "c2": "test", "c3": "val"}
    obs.write_text("cell_id\tcell_type\nc1\tT\n")
    with pytest.raises(InputError, match="no split column"):
        splits_from_obs(obs, tmp_path / "splits.tsv")


def test_one_input_file_per_split_gives_each_record_its_file_split(tmp_path: Path) -> None:
    from genoprep.cards import CardError, load_card
    from genoprep.dna.options import ReadOptions
    from genoprep.tasks.steps import input_file_splits

    for name, rows in (("a.csv", 3), ("b.csv", 2)):
        (tmp_path / name).write_text("sequence,label\n" + "ACGT,1\n" * rows)
    card = {
        "dataset_id": "d",
        "name": "d",
        "modality": "dna",
        "inputs": [{"path": "a.csv", "split": "training"}, {"path": "b.csv", "split": "dev"}],
        "columns": {"label": "label"},
        "params": {"split": {"enabled": True}},
    }
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(card))
    reading = ReadOptions.from_card(load_card(path).data)
    got = input_file_splits(reading.inputs, reading.columns, [tmp_path / "a.csv", tmp_path / "b.csv"])
    assert got == {"training:row1": "train", "training:row2": "train", "training:row3": "train"} | {
        "dev:row1": "val",
        "dev:row2": "val",
    }
    for inputs, message in (
        ([{"path": "a.csv", "split": "train"}, {"path": "b.csv"}], "every input names its split or none"),
        ([{"path": "a.csv", "split": "holdout"}, {"path": "b.csv", "split": "test"}], "'holdout' is not a split"),
    ):
        path.write_text(yaml.safe_dump({**card, "inputs": inputs}))
        with pytest.raises((CardError, InputError), match=message):
            load_card(path)
