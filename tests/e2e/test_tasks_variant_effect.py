"""variant_effect end to end: ClinVar MT SNVs + the rCRS through the workflow (the invocation contract).

Checks the bundle against an independent reading of the inputs (Biopython for the
reference, a plain parse of the VCF), the labels (255 pathogenic-side vs 1,430 benign-side),
the baseline, identical bytes across two runs, a split that does not move when a second
card is added, and a wrong REF refused with one line under ``ref_mismatch: error``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from Bio import SeqIO

from genoprep.tasks.bundle import load_arrays
from tests.conftest import artifact_bytes, run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e


def card(dataset_id: str, vcf: Path, fasta: Path, **params) -> dict:
    return {
        "dataset_id": dataset_id,
        "name": "ClinVar mitochondrial SNVs (2022-05-25) on the rCRS",
        "modality": "variant_effect",
        "inputs": [{"path": str(vcf), "role": "variants"}, {"path": str(fasta), "role": "reference"}],
        "license": "MIT (repository); ClinVar data are public",
        "params": {"split": {"enabled": True, "stratify_by": "label", "seed": 11}, **params},
    }


@pytest.fixture(scope="module")
def inputs() -> tuple[Path, Path]:
    return (
        shared_data("variant_effect", "clinvar_mt_snv_20220525_labels.vcf"),
        shared_data("variant_effect", "rcrs_mt_reference.fa"),
    )


@pytest.fixture(scope="module")
def first_run(inputs, tmp_path_factory) -> Path:
    cards = tmp_path_factory.mktemp("cards")
    write_card(cards, card("clinvar_mt", *inputs))
    out = tmp_path_factory.mktemp("out")
    run_workflow(cards, out)
    return out / "clinvar_mt"


def test_bundle_matches_an_independent_reading(inputs, first_run: Path) -> None:
    vcf, fasta = inputs
    rcrs = str(next(SeqIO.parse(fasta, "fasta")).seq).upper()
    pathogenic = {"Pathogenic", "Likely_pathogenic", "Pathogenic/Likely_pathogenic"}
    benign = {"Benign", "Likely_benign", "Benign/Likely_benign"}
    expected = {}
    for line in vcf.read_text().splitlines():
        if line.startswith("#"):
            continue
        _, pos, vid, ref, alt, _, _, info = line.split("\t")[:8]
        clnsig = dict(item.split("=", 1) for item in info.split(";"))["CLNSIG"]
        if clnsig in pathogenic | benign:
            expected[vid] = (int(pos), ref, alt, int(clnsig in pathogenic))
    assert sum(v[3] for v in expected.values()) == 255 and len(expected) == 255 + 1430

    task = yaml.safe_load((first_run / "tasks/variant_effect/task.yaml").read_text())
    splits = dict(line.split("\t") for line in (first_run / "splits.tsv").read_text().splitlines()[1:])
    assert set(splits) == set(expected)
    seen = set()
    for split in ("train", "val", "test"):
        arrays = load_arrays(first_run / f"tasks/variant_effect/{split}.npz")
        assert task["counts"][split]["n"] == len(arrays["ids"])
        for i, vid in enumerate(arrays["ids"]):
            pos, ref, alt, label = expected[vid]
            assert splits[vid] == split and arrays["y"][i] == label
            window = "".join("ACGTN"[c] for c in arrays["ref_char"][i])
            assert window == rcrs[pos - 1 - 50 : pos - 1 + 51]  # width 101: 50 bases before the variant
            alt_window = "".join("ACGTN"[c] for c in arrays["alt_char"][i])
            assert alt_window[:50] + alt_window[51:] == window[:50] + window[51:] and alt_window[50] == alt
            seen.add(vid)
    assert seen == set(expected)
    qc = json.loads((first_run / "qc.json").read_text())
    assert qc["variants"]["labels"] == {"0": 1430, "1": 255}
    assert qc["variants"]["dropped_label_values"]["Uncertain_significance"] == 1001
    assert qc["leakage"]["checks"][0]["test_in_train"] == 0
    baseline = json.loads((first_run / "tasks/variant_effect/baseline.json").read_text())
    assert baseline["majority_class_rate"] > 0.8 and not baseline["leakage_alarm"]
    assert baseline["real"]["balanced_accuracy"] > baseline["shuffled_labels"]["balanced_accuracy"]
    completed = yaml.safe_load((first_run / "card.yaml").read_text())
    assert completed["computed"]["n_variants"] == 1685
    assert set(completed["computed"]["artifacts_sha256"]) >= {
        "splits.tsv",
        "tasks/variant_effect/baseline.json",
        "tasks/variant_effect/task.yaml",
    }


def test_second_run_and_an_added_card_give_the_same_bytes(inputs, first_run: Path, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    write_card(cards, card("clinvar_mt", *inputs))
    write_card(
        cards,
        card(
            "clinvar_mt_regions",
            *inputs,
            width=51,
            tokenizers=["kmer_counts"],
            split={"enabled": True, "group_by": "region", "seed": 2},
        ),
    )
    out = tmp_path / "out"
    run_workflow(cards, out)
    assert artifact_bytes(out / "clinvar_mt") == artifact_bytes(first_run)
    regions = json.loads((out / "clinvar_mt_regions/qc.json").read_text())
    assert regions["leakage"]["checks"][1]["groups_crossing"] == 0


def test_wrong_ref_is_refused_with_one_line(inputs, tmp_path: Path) -> None:
    vcf, fasta = inputs
    lines = vcf.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[first].split("\t")
    fields[3] = {"A": "C", "C": "G", "G": "T", "T": "A"}[fields[3]]
    lines[first] = "\t".join(fields)
    broken = tmp_path / "broken.vcf"
    broken.write_text("\n".join(lines) + "\n")
    cards = tmp_path / "cards"
    write_card(cards, card("broken", broken, fasta, ref_mismatch="error"))
    done = run_workflow(cards, tmp_path / "out", check=False)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("genoprep: error:")]
    assert len(errors) == 1
    assert f"MT:{fields[1]} {fields[3]}>{fields[4]}): REF {fields[3]} differs from the reference" in errors[0]
    assert not (tmp_path / "out/broken/tasks/variant_effect/task.yaml").exists()
