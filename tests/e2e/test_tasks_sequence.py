"""sequence_classification end to end: the E. coli promoter pair (one FASTA per label) with a generated,
label-stratified split (rule dna_splits), the bundle from the DNA artifacts and its baseline, compared with
an independent reading of the FASTA files (Biopython)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from Bio import SeqIO

from genoprep.tasks.bundle import load_arrays
from tests.conftest import run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

FILES = (
    ("ecoli_sigma_promoters_81bp_positive_2860.fasta", "promoter"),
    ("ecoli_nonpromoters_81bp_negative_2860.fasta", "non_promoter"),
)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, list[tuple[str, str]]]:
    paths = [(shared_data("dna", name), label) for name, label in FILES]
    records = []
    for path, label in paths:
        with open(path, encoding="utf-8") as handle:
            records += [(str(r.seq).upper(), label) for r in SeqIO.parse(handle, "fasta")]
    cards = tmp_path_factory.mktemp("cards")
    write_card(
        cards,
        {
            "dataset_id": "ecoli",
            "name": "E. coli sigma70 promoters vs non-promoters",
            "modality": "dna",
            "inputs": [{"path": str(p), "label": label} for p, label in paths],
            "params": {
                "tokenizers": ["char", "kmer_counts"],
                "char": {"max_len": 81},
                "split": {"enabled": True, "stratify_by": "label", "seed": 4},
                "tasks": {"names": ["sequence_classification"]},
            },
        },
    )
    out = tmp_path_factory.mktemp("out")
    targets = [str(out / "ecoli/card.yaml"), str(out / "ecoli/tasks/sequence_classification/baseline.json")]
    run_workflow(cards, out, "--", *targets)  # the bundle is not in ARTIFACTS["dna"] yet: ask for it
    return out / "ecoli", records


def test_split_and_leakage_match_an_independent_count(run) -> None:
    folder, records = run
    rows = [line.split("\t") for line in (folder / "splits.tsv").read_text().splitlines()[1:]]
    splits = [split for _, split in rows]
    assert len(rows) == len(records) == 5720
    for label in ("promoter", "non_promoter"):
        got = [s for s, (_, lab) in zip(splits, records) if lab == label]
        assert (got.count("train"), got.count("val"), got.count("test")) == (2288, 286, 286)
    train = {seq for seq, s in zip((r[0] for r in records), splits) if s == "train"}
    qc = json.loads((folder.parent / ".work/ecoli/splits_qc.json").read_text())["leakage"]["checks"][0]
    assert qc["val_in_train"] == sum(seq in train for (seq, _), s in zip(records, splits) if s == "val")
    assert qc["test_in_train"] == sum(seq in train for (seq, _), s in zip(records, splits) if s == "test")


def test_bundle_rows_tokens_and_kmers(run) -> None:
    folder, records = run
    ids = [line.split("\t")[0] for line in (folder / "splits.tsv").read_text().splitlines()[1:]]
    splits = [line.split("\t")[1] for line in (folder / "splits.tsv").read_text().splitlines()[1:]]
    bundle = folder / "tasks/sequence_classification"
    names = [line.split("\t")[1] for line in (bundle / "labels.tsv").read_text().splitlines()[1:]]
    kmers = sp.load_npz(folder / "kmers_k3.npz")
    row_of = {i: n for n, i in enumerate(ids)}
    for split in ("train", "val", "test"):
        arrays = load_arrays(bundle / f"{split}.npz")
        assert arrays["ids"].tolist() == [i for i, s in zip(ids, splits) if s == split]
        rows = [row_of[i] for i in arrays["ids"]]
        assert [names[c] for c in arrays["y"]] == [records[r][1] for r in rows]
        assert (arrays["kmers"] != kmers[rows]).nnz == 0
        decoded = ["".join("ACGTN"[c] for c in row if c < 5) for row in arrays["tokens_char"]]
        assert decoded == [records[r][0] for r in rows]
    baseline = json.loads((bundle / "baseline.json").read_text())
    assert baseline["real"]["balanced_accuracy"] > 0.7
    assert baseline["real"]["balanced_accuracy"] > baseline["shuffled_labels"]["balanced_accuracy"] + 0.15
    assert baseline["majority_class_rate"] == pytest.approx(0.5) and not baseline["leakage_alarm"]
    assert np.isclose(baseline["chance_balanced_accuracy"], 0.5)
