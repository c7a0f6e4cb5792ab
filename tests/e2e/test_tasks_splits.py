"""Splits, train-only statistics, augmentation and the task bundles through the workflow, on real data.

One run (four cards) serves every assertion: onek1k (40 donors; donor-grouped, cell-type
stratified splits; HVGs and scaling fitted on train, recomputed here with numpy/scanpy;
the annotation baseline), pbmc68k_reduced (stratified splits without groups; the augmented
files), the GUE promoter files (the split predefined by one file per split; the
cross-split duplicates counted here from the CSV files) and GSE96870 bulk RNA-seq (z-scores
fitted on train samples). A second, smaller run of the onek1k card alone checks that its
split and X.npy do not change with the run or with the other cards.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import yaml

from genoprep.tasks.bundle import load_arrays
from tests.conftest import run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

ONEK1K = ("scrna", "onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad")
PBMC68K = ("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
GUE = {split: ("dna", f"gue_prom_core_tata_{split}.csv") for split in ("train", "dev", "test")}
GSE = ("bulk", "gse96870_mouse_cerebellum_counts_genes_x_22samples.csv")
GSE_META = ("bulk", "gse96870_mouse_cerebellum_sample_metadata.csv")
FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def _card(dataset_id: str, modality: str, **fields: object) -> dict:
    return {"dataset_id": dataset_id, "name": dataset_id, "modality": modality, **fields}


def _cards() -> dict[str, dict]:
    onek1k_split = {
        "enabled": True,
        "group_by": "donor_id",
        "stratify_by": "cell_type",
        "fractions": FRACTIONS,
        "seed": 7,
    }
    augment = {
        "downsample": {"enabled": True, "factor": 0.4, "seed": 2},
        "doublets": {"enabled": True, "per_split": 12, "seed": 3},
    }
    gse_split = {"enabled": True, "stratify_by": "infection", "fractions": {"train": 0.6, "val": 0.2, "test": 0.2}}
    cards = [
        _card(
            "onek1k",
            "scrna",
            input={"path": str(shared_data(*ONEK1K)), "format": "h5ad"},
            columns={"cell_type": "cell_type", "donor_id": "indiv"},
            params={
                "min_genes": 10,
                "max_genes": None,
                "n_top_genes": 300,
                "split": onek1k_split,
                "tasks": {"names": ["cell_type_annotation"]},
            },
        ),
        _card(
            "pbmc68k",
            "scrna",
            input={"path": str(shared_data(*PBMC68K)), "format": "h5ad"},
            columns={"cell_type": "bulk_labels"},
            params={
                "min_genes": 200,
                "max_genes": 350,
                "n_top_genes": 300,
                "split": {"enabled": True, "stratify_by": "cell_type", "seed": 1},
                "augment": augment,
            },
        ),
        _card(
            "gue",
            "dna",
            inputs=[{"path": str(shared_data(*GUE[s])), "split": s} for s in GUE],
            columns={"label": "label"},
            params={
                "tokenizers": ["char", "kmer_counts"],
                "char": {"max_len": 70},
                "split": {"enabled": True},
                "leakage": {"policy": "drop_from_eval"},
                "tasks": {"names": ["sequence_classification"], "baseline": False},
            },
        ),
        _card(
            "gse",
            "bulk",
            input={"path": str(shared_data(*GSE)), "format": "csv"},
            metadata={"path": str(shared_data(*GSE_META)), "format": "csv"},
            columns={"infection": "infection", "time": "time"},
            params={"split": gse_split, "tasks": {"names": ["gene_expression_prediction"], "baseline": False}},
        ),
    ]
    return {card["dataset_id"]: card for card in cards}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    cards = tmp_path_factory.mktemp("cards")
    for card in _cards().values():
        write_card(cards, card)
    out = tmp_path_factory.mktemp("out")
    done = run_workflow(cards, out)
    (out / "terminal.txt").write_text(done.stderr)
    return out


def _obs(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "obs.tsv", sep="\t", dtype=str, keep_default_na=False)


def _splits(folder: Path) -> pd.Series:
    table = pd.read_csv(folder / "splits.tsv", sep="\t", dtype=str, keep_default_na=False)
    return table.set_index("id")["split"]


def _completed_card(folder: Path) -> dict:
    return yaml.safe_load((folder / "card.yaml").read_text())


def test_onek1k_donors_never_cross_and_every_cell_type_is_in_every_split(run: Path) -> None:
    folder = run / "onek1k"
    obs = _obs(folder)
    assert _splits(folder).tolist() == obs["split"].tolist()
    assert _splits(folder).index.tolist() == obs["cell_id"].tolist()
    donors_per_split = obs.groupby("donor_id")["split"].nunique()
    assert len(donors_per_split) == 40 and (donors_per_split == 1).all()
    for split, fraction in FRACTIONS.items():
        rows = obs[obs["split"] == split]
        assert rows["donor_id"].nunique() >= 3
        assert abs(len(rows) / len(obs) - fraction) < 0.05, split
        assert set(rows["cell_type"]) == set(obs["cell_type"]), split
    qc = json.loads((folder / "qc.json").read_text())
    checks = {c["what"]: c for c in qc["leakage"]["checks"]}
    assert checks["donor_id groups"]["groups_crossing"] == 0
    # identical cells: the same count vector in two splits, counted here from the input file
    raw = ad.read_h5ad(shared_data(*ONEK1K))
    kept = raw[obs["cell_id"].to_numpy()]
    keys = [row.tobytes() for row in kept.X.toarray()]
    train_keys = {k for k, s in zip(keys, obs["split"]) if s == "train"}
    expected = {
        f"{s}_in_train": sum(k in train_keys for k, t in zip(keys, obs["split"]) if t == s) for s in ("val", "test")
    }
    assert {k: checks["identical cells"][k] for k in expected} == expected
    card = _completed_card(folder)
    assert card["computed"]["splits"] == {s: int((obs["split"] == s).sum()) for s in FRACTIONS}


def test_onek1k_hvgs_and_scaling_are_fitted_on_train_cells_only(run: Path) -> None:
    folder = run / "onek1k"
    obs = _obs(folder)
    processed = ad.read_h5ad(folder / "processed.h5ad")
    assert processed.obs["split"].astype(str).tolist() == obs["split"].tolist()
    raw = ad.read_h5ad(shared_data(*ONEK1K))[obs["cell_id"].to_numpy(), processed.var_names].copy()
    counts = raw.X.toarray().astype(np.float64)
    train = (obs["split"] == "train").to_numpy()
    # normalize_total(1e4) + log1p by hand (the totals are over the genes kept by QC)
    lognorm = np.log1p(counts / counts.sum(axis=1, keepdims=True) * 1e4)
    train_cells = ad.AnnData(lognorm[train].astype(np.float32), var=pd.DataFrame(index=processed.var_names))
    sc.pp.highly_variable_genes(train_cells, flavor="seurat", n_top_genes=300)
    features = (folder / "features.tsv").read_text().splitlines()
    assert features == train_cells.var_names[train_cells.var["highly_variable"]].tolist()
    block = lognorm[:, processed.var_names.get_indexer(features)]
    mean = block[train].mean(axis=0)
    std = block[train].std(axis=0, ddof=1)
    std[std == 0] = 1
    expected = np.clip((block - mean) / std, -10, 10)
    matrix = np.load(folder / "X.npy")
    np.testing.assert_allclose(matrix, expected, atol=2e-4)
    # test rows were transformed with the train statistics, not fitted: their columns are not standardised
    test_rows = matrix[(obs["split"] == "test").to_numpy()]
    assert np.abs(test_rows.mean(axis=0)).max() > 0.05
    np.testing.assert_allclose(matrix[train].mean(axis=0), 0, atol=0.05)


def test_onek1k_annotation_baseline_is_far_above_majority_and_shuffled_near_chance(run: Path) -> None:
    baseline = json.loads((run / "onek1k/tasks/cell_type_annotation/baseline.json").read_text())
    assert baseline["real"]["accuracy"] > baseline["majority_class_rate"] + 0.3
    assert baseline["real"]["balanced_accuracy"] > 0.85
    assert abs(baseline["shuffled_labels"]["balanced_accuracy"] - baseline["chance_balanced_accuracy"]) < 0.1
    assert not baseline["leakage_alarm"]


def test_pbmc68k_stratified_split_holds_the_rounded_fractions_per_label(run: Path) -> None:
    obs = _obs(run / "pbmc68k")
    for _, rows in obs.groupby("cell_type"):
        n = len(rows)
        n_train, n_train_val = int(np.floor(0.8 * n + 0.5)), int(np.floor(0.9 * n + 0.5))
        got = rows["split"].value_counts().to_dict()
        assert [got.get(s, 0) for s in ("train", "val", "test")] == [n_train, n_train_val - n_train, n - n_train_val]


def test_pbmc68k_augmented_files_stay_inside_splits(run: Path) -> None:
    folder = run / "pbmc68k"
    processed = ad.read_h5ad(folder / "processed.h5ad")
    counts = processed.layers["counts"]
    split_of = dict(zip(processed.obs_names, processed.obs["split"].astype(str)))
    down = ad.read_h5ad(folder / "augmented_downsampled.h5ad")
    assert down.obs_names.tolist() == processed.obs_names.tolist()
    assert down.obs["split"].tolist() == [split_of[c] for c in down.obs_names]
    depth = np.asarray(counts.sum(axis=1)).ravel()
    new_depth = np.asarray(down.X.sum(axis=1)).ravel()
    # binomial thinning with p = 0.4: the total within 4 standard deviations, no count grows
    assert abs(new_depth.sum() - 0.4 * depth.sum()) < 4 * np.sqrt(depth.sum() * 0.4 * 0.6)
    assert (down.X - counts).max() <= 0
    doublets = ad.read_h5ad(folder / "augmented_doublets.h5ad")
    made = doublets[doublets.obs["is_doublet"].astype(bool).to_numpy()]
    assert made.obs["split"].value_counts().to_dict() == {"train": 12, "val": 12, "test": 12}
    row = {c: i for i, c in enumerate(processed.obs_names)}
    for i, rec in enumerate(made.obs.itertuples()):
        assert split_of[rec.parent_1] == split_of[rec.parent_2] == rec.split
        assert rec.parent_1 != rec.parent_2
        assert (made.X[i] != counts[row[rec.parent_1]] + counts[row[rec.parent_2]]).nnz == 0
    card = _completed_card(folder)
    assert {"augmented_downsampled.h5ad", "augmented_doublets.h5ad"} <= set(card["computed"]["artifacts_sha256"])
    assert card["computed"]["augmented_doublets"]["n_doublets"] == 36
    assert card["computed"]["augmented_downsampled"]["n_counts_after"] == int(new_depth.sum())


def test_gue_split_is_the_input_file_and_cross_split_duplicates_are_exact(run: Path) -> None:
    rows = {}
    for split, parts in GUE.items():
        with open(shared_data(*parts), newline="") as handle:
            rows[split] = [r["sequence"].upper() for r in csv.DictReader(handle)]
    splits = _splits(run / "gue")
    names = {"train": "train", "dev": "val", "test": "test"}
    expected_ids = [f"{split}:row{i + 1}" for split in GUE for i in range(len(rows[split]))]
    assert splits.index.tolist() == expected_ids
    assert splits.tolist() == [names[i.split(":")[0]] for i in expected_ids]
    train = set(rows["train"])
    in_train = {split: sum(seq in train for seq in rows[split]) for split in ("dev", "test")}
    assert in_train == {"dev": 8, "test": 16}  # the figures the issue gives for these files
    qc = json.loads((run / ".work/gue/splits_qc.json").read_text())["leakage"]
    check = qc["checks"][0]
    assert (check["val_in_train"], check["test_in_train"]) == (8, 16)
    dev = set(rows["dev"])
    test_repeats = sum(seq in train or seq in dev for seq in rows["test"])
    # drop_from_eval: the repeated val/test rows are left out of the bundle, train keeps all
    bundle = run / "gue/tasks/sequence_classification"
    sizes = {s: len(load_arrays(bundle / f"{s}.npz")["y"]) for s in ("train", "val", "test")}
    assert sizes == {"train": len(rows["train"]), "val": len(rows["dev"]) - 8, "test": len(rows["test"]) - test_repeats}
    # the report's task figure carries the same checks, and the completed card lists it
    card = yaml.safe_load((run / "gue/card.yaml").read_text())
    assert "report_tasks.png" in card["computed"]["figures_sha256"]


def test_bulk_zscores_are_fitted_on_train_samples_only(run: Path) -> None:
    folder = run / "gse"
    obs = _obs(folder)
    table = pd.read_csv(shared_data(*GSE), index_col=0)
    raw = table[obs["sample_id"]].to_numpy(dtype=np.float64).T  # samples x genes
    log = np.log1p(raw / raw.sum(axis=1, keepdims=True) * 1e6)
    features = (folder / "features.tsv").read_text().splitlines()
    log = log[:, table.index.get_indexer(features)]
    train = (obs["split"] == "train").to_numpy()
    mean, std = log[train].mean(axis=0), log[train].std(axis=0)
    std[std == 0] = 1
    np.testing.assert_allclose(np.load(folder / "X.npy"), (log - mean) / std, rtol=1e-4, atol=1e-4)
    for label, rows in obs.groupby("infection"):  # stratified: every infection status in train and test
        assert {"train", "test"} <= set(rows["split"]), label
    target = load_arrays(folder / "tasks/gene_expression_prediction/test.npz")["target"]
    np.testing.assert_allclose(target.toarray(), log[(obs["split"] == "test").to_numpy()], rtol=1e-5, atol=1e-5)


def test_onek1k_split_is_the_same_in_another_run_without_the_other_cards(run: Path, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    write_card(cards, _cards()["onek1k"])
    out = tmp_path / "out"
    run_workflow(cards, out, "--", str(out / "onek1k/splits.tsv"), str(out / "onek1k/X.npy"))
    for name in ("splits.tsv", "X.npy", "obs.tsv", "qc.json"):
        assert (out / "onek1k" / name).read_bytes() == (run / "onek1k" / name).read_bytes(), name
