"""The task layer on the real files of ../shared/data (SOURCES.md): onek1k, pbmc68k, GUE, E. coli promoters."""

from __future__ import annotations

import csv
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
import scanpy as sc
from Bio import SeqIO

from genoprep.leakage import apply_policy, cross_split_duplicates, groups_crossing, sequence_keys
from genoprep.scrna.augment import SplitCells, binomial_thinning, make_doublets
from genoprep.scrna.options import HvgOptions
from genoprep.scrna.splitting import select_hvg_on_train
from genoprep.splits import assign_splits, predefined_splits, split_summary
from genoprep.tasks.baselines import classification_baseline
from genoprep.tasks.builders import cell_type_annotation
from genoprep.tasks.train_only import apply_scaler, fit_scaler
from tests.conftest import shared_data

FRACTIONS = (0.7, 0.15, 0.15)


@pytest.fixture(scope="module")
def onek1k() -> ad.AnnData:
    return ad.read_h5ad(shared_data("scrna", "onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad"))


def test_onek1k_donor_grouped_stratified_splits_scaling_and_annotation(onek1k: ad.AnnData, tmp_path: Path) -> None:
    adata = onek1k.copy()
    donors = adata.obs["indiv"].astype(str).to_numpy()
    labels = adata.obs["cell_type"].astype(str).to_numpy()
    splits = assign_splits(adata.obs_names, fractions=FRACTIONS, seed=0, strata=labels, groups=donors)
    # no donor in two splits, checked directly and by the leakage check
    assert all(len(set(splits[donors == d])) == 1 for d in np.unique(donors))
    crossing = groups_crossing(donors, list(adata.obs_names), splits, "donors")
    assert crossing.counts["groups_crossing"] == 0
    summary = split_summary(splits, labels, donors)
    assert sum(summary["n_groups"].values()) == 40 and min(summary["n_groups"].values()) >= 3
    for split, fraction in zip(("train", "val", "test"), FRACTIONS):
        assert abs(summary["n"][split] / adata.n_obs - fraction) < 0.05
        for label, per_split in summary["by_label"].items():  # every cell type in every split
            assert per_split[split] > 0, (label, split)
    assert (assign_splits(adata.obs_names, fractions=FRACTIONS, seed=0, strata=labels, groups=donors) == splits).all()

    # scaling fitted on train only (HVGs chosen on train cells too), checked against numpy on the train rows
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    train = splits == "train"
    adata.uns["genoprep"] = {}
    assert (
        select_hvg_on_train(adata, HvgOptions(hvg_flavor="seurat", n_top_genes=300, hvg_batch_key=None), train) == 300
    )
    var = adata.var
    train_only = adata[train].copy()
    sc.pp.highly_variable_genes(train_only, flavor="seurat", n_top_genes=300)
    assert var["highly_variable"].tolist() == train_only.var["highly_variable"].tolist()
    matrix = adata.X[:, var["highly_variable"].to_numpy()]
    scaler = fit_scaler(matrix, train, ddof=1)
    dense = matrix.toarray().astype(np.float64)
    mean = dense[train].mean(axis=0)
    std = dense[train].std(axis=0, ddof=1)
    std[std == 0] = 1
    np.testing.assert_allclose(scaler.mean, mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(scaler.std, std, rtol=1e-10)
    scaled = apply_scaler(matrix, scaler, max_value=10)
    np.testing.assert_allclose(scaled, np.clip((dense - mean) / std, -10, 10).astype(np.float32), rtol=1e-5, atol=1e-5)
    # the train rows equal scanpy's own scaling of the train rows alone; the statistics of all cells differ
    np.testing.assert_allclose(scaled[train], sc.pp.scale(dense[train], max_value=10, copy=True), atol=1e-4)
    all_cells = fit_scaler(matrix, np.ones(adata.n_obs, dtype=bool))
    assert np.abs(all_cells.mean - scaler.mean).max() > 1e-3

    # the annotation bundle and its baseline: far above the majority rate, shuffled near chance
    cell_type_annotation(
        scaled, list(adata.obs_names), labels, splits, tmp_path, dataset_id="onek1k", label_column="cell_type"
    )
    data = {name: np.load(tmp_path / f"{name}.npy") for name in ("X_train", "y_train", "X_test", "y_test")}
    result = classification_baseline(
        data["X_train"], data["y_train"], data["X_test"], data["y_test"], seed=0, margin=0.1, features="scaled HVGs"
    )
    assert result["real"]["accuracy"] > result["majority_class_rate"] + 0.3
    assert result["real"]["balanced_accuracy"] > 0.85
    assert abs(result["shuffled_labels"]["balanced_accuracy"] - result["chance_balanced_accuracy"]) < 0.1
    assert not result["leakage_alarm"]


@pytest.fixture(scope="module")
def pbmc68k() -> ad.AnnData:
    return ad.read_h5ad(shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad"))


def test_pbmc68k_stratified_splits_and_augmentation(pbmc68k: ad.AnnData) -> None:
    labels = pbmc68k.obs["bulk_labels"].astype(str).to_numpy()
    splits = assign_splits(pbmc68k.obs_names, fractions=(0.8, 0.1, 0.1), seed=1, strata=labels)
    by_label = split_summary(splits, labels)["by_label"]
    for label, counts in by_label.items():
        n = int((labels == label).sum())
        n_train = int(np.floor(0.8 * n + 0.5))
        assert counts == {
            "train": n_train,
            "val": int(np.floor(0.9 * n + 0.5)) - n_train,
            "test": n - int(np.floor(0.9 * n + 0.5)),
        }, label
    assert by_label["CD4+/CD45RA+/CD25- Naive T"] == {"train": 6, "val": 1, "test": 1}  # 8 cells

    counts = pbmc68k.X
    depth = np.asarray(counts.sum(axis=1)).ravel()
    thinned = binomial_thinning(counts, 0.4, seed=2)
    new_depth = np.asarray(thinned.sum(axis=1)).ravel()
    # expected depth 0.4 x depth: the total within 4 binomial standard deviations, each cell within 6
    assert abs(new_depth.sum() - 0.4 * depth.sum()) < 4 * np.sqrt(depth.sum() * 0.24)
    assert np.all(np.abs(new_depth - 0.4 * depth) < 6 * np.sqrt(depth * 0.24))
    assert (thinned - counts).max() <= 0

    cells = SplitCells.of(counts, list(pbmc68k.obs_names), splits, labels)
    doublets, obs = make_doublets(cells, per_split=25, combine="sum", seed=3)
    row_of = {c: i for i, c in enumerate(pbmc68k.obs_names)}
    split_of = dict(zip(pbmc68k.obs_names, splits))
    for i, rec in enumerate(obs.itertuples()):
        assert split_of[rec.parent_1] == split_of[rec.parent_2] == rec.split
        expected = counts[row_of[rec.parent_1]] + counts[row_of[rec.parent_2]]
        assert (doublets[i] != expected).nnz == 0


def gue_rows() -> dict[str, list[dict[str, str]]]:
    rows = {}
    for name in ("train", "dev", "test"):
        with open(shared_data("dna", f"gue_prom_core_tata_{name}.csv"), newline="") as handle:
            rows[name] = list(csv.DictReader(handle))
    return rows


def test_gue_predefined_split_and_exact_cross_split_duplicates() -> None:
    rows = gue_rows()
    ids = [f"{name}{i}" for name in rows for i in range(len(rows[name]))]
    given = [name for name in rows for _ in rows[name]]
    splits = predefined_splits(given, ids, "gue", "file")
    assert split_summary(splits)["n"] == {"train": 4904, "val": 613, "test": 613}
    sequences = [r["sequence"] for name in rows for r in rows[name]]
    check = cross_split_duplicates(sequence_keys(sequences), ids, splits, "identical sequences")
    assert check.counts["test_in_train"] == 16
    assert check.counts["val_in_train"] == 8
    assert check.counts["test_in_val"] == 2
    assert check.counts["repeats_within_train"] == 57
    dropped = apply_policy([check], "drop_from_eval", "gue").drop_from_eval()
    train_set = {r["sequence"] for r in rows["train"]}
    dev_set = {r["sequence"] for r in rows["dev"]}
    independent = sum(r["sequence"] in train_set for r in rows["dev"]) + sum(
        r["sequence"] in train_set or r["sequence"] in dev_set for r in rows["test"]
    )
    assert int(dropped.sum()) == independent


def test_ecoli_promoter_pair_as_a_generated_split() -> None:
    records = []
    for name, label in (
        ("ecoli_sigma_promoters_81bp_positive_2860.fasta", "promoter"),
        ("ecoli_nonpromoters_81bp_negative_2860.fasta", "non_promoter"),
    ):
        with open(shared_data("dna", name), encoding="utf-8") as handle:
            records += [(f"{label}:{i}", str(r.seq), label) for i, r in enumerate(SeqIO.parse(handle, "fasta"))]
    ids, sequences, labels = zip(*records)
    assert labels.count("promoter") == labels.count("non_promoter") == 2860
    splits = assign_splits(ids, fractions=(0.8, 0.1, 0.1), seed=0, strata=labels)
    assert split_summary(splits, labels)["by_label"]["promoter"] == {"train": 2288, "val": 286, "test": 286}
    check = cross_split_duplicates(sequence_keys(sequences), list(ids), splits, "identical sequences")
    seen: dict[str, set[str]] = {}
    for seq, split in zip(sequences, splits):
        seen.setdefault(seq.upper(), set()).add(split)
    test_seqs = [s.upper() for s, sp_ in zip(sequences, splits) if sp_ == "test"]
    assert check.counts["test_in_train"] == sum("train" in seen[s] for s in test_seqs)
