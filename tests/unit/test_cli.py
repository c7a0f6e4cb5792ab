"""The genoprep command: validate (the workflow's card messages) and verify (dispatch)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from genoprep.cli import main
from tests.conftest import REPO, shared_data, write_card


def test_validate_accepts_the_demo_cards(capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", str(REPO / "config" / "demo")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"genoprep: {REPO / 'config' / 'demo' / 'pbmc_demo.yaml'}: valid (scrna, dataset_id pbmc_demo)"]


def test_validate_prints_the_workflow_line_and_exits_2(tmp_path: Path) -> None:
    card = write_card(
        tmp_path,
        {"dataset_id": "bad", "name": "bad", "modality": "scrna", "input": {"path": "x.xlsx", "format": "xlsx"}},
    )
    done = subprocess.run(
        [sys.executable, "-m", "genoprep.cli", "validate", str(card)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"genoprep: invalid dataset card: {card}: input.format: 'xlsx' is not one of")
    assert len(done.stderr.splitlines()) == 1


def test_validate_refuses_a_duplicate_id_across_cards(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = shared_data("dna", "lady_slipper_orchids_its_94seqs_genus_labels.fasta")
    for folder in ("a", "b"):
        write_card(
            tmp_path / folder, {"dataset_id": "same", "name": "x", "modality": "dna", "input": {"path": str(source)}}
        )
    assert main(["validate", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "dataset_id 'same' is already used by" in capsys.readouterr().err


def test_check_inputs_names_a_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    card = write_card(
        tmp_path, {"dataset_id": "gone", "name": "x", "modality": "dna", "input": {"path": "missing.fasta"}}
    )
    assert main(["validate", str(card)]) == 0  # the schema alone is satisfied
    assert main(["validate", "--check-inputs", str(card)]) == 2
    assert capsys.readouterr().err == (
        f"genoprep: invalid dataset card: {card}: input.path: "
        f"{tmp_path / 'missing.fasta'}: no such file (the path 'missing.fasta' is "
        f"relative to the card's folder {tmp_path})\n"
    )


def test_verify_dispatches_and_fails_on_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["verify", str(tmp_path)]) == 1
    assert "no dataset folders" in capsys.readouterr().err


def test_a_url_needs_its_sha256(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    card = write_card(
        tmp_path,
        {
            "dataset_id": "remote",
            "name": "x",
            "modality": "dna",
            "input": {"path": "x.fasta", "url": "https://example.org/x.fasta"},
        },
    )
    assert main(["validate", "--check-inputs", str(card)]) == 2
    assert capsys.readouterr().err == (
        f"genoprep: invalid dataset card: {card}: input: 'sha256' is a dependency of 'url'\n"
    )
    card = write_card(
        tmp_path,
        {
            "dataset_id": "remote",
            "name": "x",
            "modality": "dna",
            "input": {"path": "x.fasta", "url": "https://example.org/x.fasta", "sha256": "a" * 64},
        },
    )
    assert main(["validate", "--check-inputs", str(card)]) == 0  # a url input is not looked for on disk
