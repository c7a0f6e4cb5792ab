"""genoprep validate: the workflow's card checks, the same one-line messages, every bad card named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from genoprep.cli import main
from tests.conftest import REPO


def card(folder: Path, name: str, **fields: object) -> Path:
    data = {"dataset_id": name, "name": name, "modality": "dna", "input": {"path": "seqs.fa"}, **fields}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_valid_cards(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "seqs.fa").write_text(">a\nACGT\n")
    card(tmp_path, "one")
    card(tmp_path, "two")
    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "genoprep: 2 cards valid (one, two)\n"


def test_every_bad_card_is_one_line_like_the_workflow(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "seqs.fa").write_text(">a\nACGT\n")
    good = card(tmp_path, "a_good")
    missing = card(tmp_path, "b_missing", input={"path": "gone.fa"})
    dotdot = card(tmp_path, "c_id", dataset_id="..")
    again = card(tmp_path, "d_again", dataset_id="a_good")
    assert main(["validate", str(good), str(missing), str(dotdot), str(again)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"genoprep: invalid dataset card: {missing}: input.path: {tmp_path / 'gone.fa'}: no such file "
        f"(the path 'gone.fa' is relative to the card's folder {tmp_path})",
        f"genoprep: invalid dataset card: {dotdot}: dataset_id: '..' is not a plain folder name: use letters, "
        f"digits, '.', '_' and '-', not starting with '.' (the id names the folder OUT/<dataset_id>/)",
        f"genoprep: invalid dataset card: {again}: dataset_id: dataset_id 'a_good' is already used by {good}",
        "genoprep: 3 of 4 cards are invalid",
    ]


def test_no_cards(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["validate", str(tmp_path / "none")]) == 1
    assert capsys.readouterr().out.startswith(f"genoprep: invalid dataset card: {tmp_path / 'none'}: datasets: ")


def test_console_entry_point_runs_as_a_module(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "genoprep.cli", "verify", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert (
        done.stdout == f"genoprep: verify: {tmp_path}: no dataset folders with a card.yaml\n"
        f"genoprep: verify: 1 problems in 0 datasets (0 files listed)\n"
    )
    assert '[project.scripts]\ngenoprep = "genoprep.cli:main"' in (REPO / "pyproject.toml").read_text()
