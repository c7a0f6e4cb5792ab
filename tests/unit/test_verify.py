"""genoprep.verify on hand-made dataset folders (digests computed here with hashlib)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from genoprep.verify import main, read_sha256sum, verify_results


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_dataset(results: Path, dataset_id: str = "d1") -> Path:
    folder = results / dataset_id
    (folder / "logs").mkdir(parents=True)
    (folder / "benchmarks").mkdir()
    files = {"X.npy": b"\x93NUMPY matrix bytes", "obs.tsv": b"cell_id\tcell_type\nc1\tB\n", "sub/part.tsv": b"a\n"}
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    card = {
        "dataset_id": dataset_id,
        "computed": {"n_cells": 1, "artifacts_sha256": {n: sha(d) for n, d in files.items()}},
    }
    (folder / "card.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    (folder / "croissant.json").write_text("{}\n", encoding="utf-8")
    fair = {"card.yaml": sha((folder / "card.yaml").read_bytes()), "croissant.json": sha(b"{}\n")}
    (folder / "fair.sha256").write_text("".join(f"{d}  {n}\n" for n, d in fair.items()), encoding="utf-8")
    (folder / "logs" / "x.log").write_text("run at 12:00\n")
    (folder / "benchmarks" / "x.tsv").write_text("s\n1.0\n")
    return folder


def test_intact_folder_passes_and_counts_every_listed_file(tmp_path: Path) -> None:
    make_dataset(tmp_path, "d1")
    make_dataset(tmp_path, "d2")
    (tmp_path / ".work" / "d1").mkdir(parents=True)
    (tmp_path / ".work" / "d1" / "facts.json").write_text("{}")
    outcome = verify_results(tmp_path)
    assert outcome.problems == []
    assert (outcome.datasets, outcome.files) == (2, 2 * 5)
    assert outcome.ok


def test_tampered_deleted_and_extra_files_are_each_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = make_dataset(tmp_path)
    with open(folder / "X.npy", "ab") as handle:
        handle.write(b"\0")
    (folder / "sub" / "part.tsv").unlink()
    (folder / "extra.txt").write_text("not an artifact")
    (folder / "croissant.json").write_text('{"changed": 1}\n')
    lines = [str(p) for p in verify_results(tmp_path).problems]
    tampered, original = sha(b"\x93NUMPY matrix bytes\0"), sha(b"\x93NUMPY matrix bytes")
    changed, empty = sha(b'{"changed": 1}\n'), sha(b"{}\n")
    assert sorted(lines) == sorted(
        [
            (
                f"{folder / 'X.npy'}: differs: sha256 is {tampered}, card.yaml (computed.artifacts_sha256) lists "
                f"{original}"
            ),
            f"{folder / 'sub/part.tsv'}: missing: listed in card.yaml (computed.artifacts_sha256)",
            f"{folder / 'extra.txt'}: unlisted: in the folder but not in card.yaml or fair.sha256",
            f"{folder / 'croissant.json'}: differs: sha256 is {changed}, fair.sha256 lists {empty}",
        ]
    )
    assert main([str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all(line.startswith("genoprep: ") for line in err)


def test_edited_card_is_caught_through_fair_sha256(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    card = (folder / "card.yaml").read_text().replace("n_cells: 1", "n_cells: 2")
    (folder / "card.yaml").write_text(card)
    [problem] = verify_results(tmp_path).problems
    assert problem.path == folder / "card.yaml" and problem.problem.startswith("differs:")


def test_dataset_without_card_and_empty_results_are_problems(tmp_path: Path) -> None:
    assert [p.problem for p in verify_results(tmp_path / "nowhere").problems] == ["no such results folder"]
    tmp_path.joinpath("empty").mkdir()
    assert not verify_results(tmp_path / "empty").ok
    (tmp_path / "empty" / "half").mkdir()
    [problem] = verify_results(tmp_path / "empty").problems
    assert problem.path == tmp_path / "empty" / "half" / "card.yaml" and problem.problem.startswith("missing")


def test_a_listed_path_outside_the_folder_is_refused(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    (tmp_path / "secret").write_bytes(b"x")
    with open(folder / "fair.sha256", "a") as handle:
        handle.write(f"{sha(b'x')}  ../secret\n")
    problems = verify_results(folder).problems  # a dataset folder itself is accepted too
    assert [p.problem for p in problems] == ["listed in fair.sha256 with a path outside the dataset folder"]


def test_read_sha256sum_reads_what_sha256sum_writes(tmp_path: Path) -> None:
    (tmp_path / "f").write_text(f"{'a' * 64}  card.yaml\n{'B' * 64} *README.md\n")
    with pytest.raises(ValueError, match="line 2"):
        read_sha256sum(tmp_path / "f")
    (tmp_path / "f").write_text(f"{'a' * 64}  card.yaml\n{'B' * 64}  README.md\n")
    assert read_sha256sum(tmp_path / "f") == {"card.yaml": "a" * 64, "README.md": "b" * 64}
