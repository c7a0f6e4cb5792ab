"""FAIR metadata of real runs: verify (tampered, deleted, extra files), Croissant, the Hugging Face card.

One workflow run on two small real datasets (DNA: 94 orchid ITS sequences with char and
DNABERT tokens; variants: 100 records of the 1000 Genomes chr22 VCF) feeds every test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import REPO, run_workflow, shared_data, write_card

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")]

DATASETS = ("orchids", "kg22")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fair")
    write_card(
        base / "cards",
        {
            "dataset_id": "orchids",
            "name": "Lady slipper orchid ITS",
            "modality": "dna",
            "input": {"path": str(shared_data("dna", "lady_slipper_orchids_its_94seqs_genus_labels.fasta"))},
            "license": "CC-BY-4.0",
            "organism": "Cypripedioideae",
            "params": {"tokenizers": ["char", "dnabert"]},
        },
    )
    write_card(
        base / "cards",
        {
            "dataset_id": "kg22",
            "name": "1000 Genomes chr22 (100 records)",
            "modality": "variants",
            "input": {"path": str(shared_data("vcf", "1kg_nygc30x_grch38_chr22_100samples_100variants.vcf.gz"))},
            "license": "CC0-1.0",
            "citation": "1000 Genomes Project Consortium, Nature 2015",
            # 84 of its 100 samples miss more than 10 % of calls (a low-coverage region): lower the guard
            "params": {"min_fraction_kept": {"samples": 0.1}},
        },
    )
    run_workflow(base / "cards", base / "out")
    return base / "out"


def genoprep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genoprep.cli", *args], cwd=REPO, capture_output=True, text=True, check=False
    )


def test_fair_files_are_written_and_sha256sum_accepts_them(results: Path) -> None:
    for dataset in DATASETS:
        folder = results / dataset
        assert {"croissant.json", "README.md", "fair.sha256"} <= {p.name for p in folder.iterdir()}
        listed = [line.split("  ")[1] for line in (folder / "fair.sha256").read_text().splitlines()]
        assert listed == ["card.yaml", "croissant.json", "README.md"]
        check = subprocess.run(
            ["sha256sum", "-c", "fair.sha256"], cwd=folder, capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stdout + check.stderr
        for name in ("croissant.json", "README.md"):  # nothing depends on where the run wrote
            assert str(results) not in (folder / name).read_text()


def test_verify_passes_on_the_run_and_names_each_damaged_file(results: Path, tmp_path: Path) -> None:
    done = genoprep("verify", str(results))
    assert done.returncode == 0, done.stderr
    computed = [yaml.safe_load((results / d / "card.yaml").read_text())["computed"] for d in DATASETS]
    listed = ("artifacts_sha256", "figures_sha256", "other_files_sha256")
    # the artifacts and report figures card.yaml lists, and card.yaml, croissant.json, README.md
    n_files = sum(sum(len(c.get(key) or {}) for key in listed) + 3 for c in computed)
    assert all(c.get("figures_sha256") for c in computed)  # the DNA and variants report figures are listed
    assert done.stdout.strip().endswith(f"verify: 2 dataset(s), {n_files} file(s) checked: OK")

    copy = tmp_path / "copy"
    shutil.copytree(results, copy)
    with open(copy / "orchids" / "tokens_char.npy", "r+b") as handle:  # one token id changed in place
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 1]))
    (copy / "kg22" / "variants.parquet").unlink()
    (copy / "kg22" / "notes.txt").write_text("added by hand")
    (copy / "kg22" / "logs" / "extra.log").write_text("logs are not artifacts")
    done = genoprep("verify", str(copy))
    assert done.returncode == 1
    lines = sorted(done.stderr.splitlines())
    assert len(lines) == 3, done.stderr
    assert (
        lines[0] == f"genoprep: {copy / 'kg22' / 'notes.txt'}: unlisted: in the folder but not in card.yaml "
        "or fair.sha256"
    )
    assert (
        lines[1] == f"genoprep: {copy / 'kg22' / 'variants.parquet'}: missing: listed in card.yaml "
        "(computed.artifacts_sha256)"
    )
    assert lines[2].startswith(f"genoprep: {copy / 'orchids' / 'tokens_char.npy'}: differs: sha256 is ")


def test_croissant_loads_the_real_tables(results: Path) -> None:
    import mlcroissant as mlc

    for dataset in DATASETS:
        folder = results / dataset
        loaded = mlc.Dataset(jsonld=folder / "croissant.json")
        assert not loaded.metadata.ctx.issues.errors
        card = yaml.safe_load((folder / "card.yaml").read_text())
        files = {f.name: f for f in loaded.metadata.distribution}
        assert set(files) == set(card["computed"]["artifacts_sha256"]) | {"card.yaml"}
        assert all(files[n].sha256 == d for n, d in card["computed"]["artifacts_sha256"].items())

    dna = mlc.Dataset(jsonld=results / "orchids" / "croissant.json")
    ids = [list(r["tokens_dnabert/input_ids"]) for r in dna.records("tokens_dnabert")]
    assert ids == pq.read_table(results / "orchids" / "tokens_dnabert.parquet")["input_ids"].to_pylist()
    obs = pd.read_csv(results / "orchids" / "obs.tsv", sep="\t")
    assert [r["obs/length"] for r in dna.records("obs")] == obs["length"].tolist()

    variants = mlc.Dataset(jsonld=results / "kg22" / "croissant.json")
    samples = [r["samples/sample_id"].decode() for r in variants.records("samples")]
    assert samples == pd.read_csv(results / "kg22" / "samples.tsv", sep="\t")["sample_id"].tolist()
    dosage = next(f for f in variants.metadata.distribution if f.name == "dosage.npy")
    assert dosage.encoding_formats == ["application/x-npy"]
    raw = yaml.safe_load((results / "kg22" / "croissant.json").read_text())  # JSON is YAML
    node = next(n for n in raw["distribution"] if n["@id"] == "dosage.npy")
    assert node["genoprep:shape"] == list(np.load(results / "kg22" / "dosage.npy").shape)
    assert node["genoprep:rows"] == {"@id": "samples"} and node["genoprep:columns"] == {"@id": "variants"}
    assert raw["citeAs"] == "1000 Genomes Project Consortium, Nature 2015"


def test_hugging_face_card_loads_with_datasets(results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    loaded = datasets.load_dataset(str(results / "kg22"), cache_dir=str(tmp_path / "cache"))  # the default config
    expected = pd.read_parquet(results / "kg22" / "variants.parquet")
    assert loaded["train"].to_pandas().equals(expected)
    tokens = datasets.load_dataset(str(results / "orchids"), "tokens_dnabert", cache_dir=str(tmp_path / "cache"))
    assert (
        tokens["train"]["input_ids"]
        == pq.read_table(results / "orchids" / "tokens_dnabert.parquet")["input_ids"].to_pylist()
    )
