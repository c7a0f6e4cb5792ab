"""genoprep verify: every file of a dataset folder against its card.yaml (tampered, missing, unlisted)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from genoprep.cli import main
from genoprep.provenance import completed_card, dataset_files, verify_results


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_dataset(results: Path, name: str = "d") -> Path:
    folder = results / name
    (folder / "logs").mkdir(parents=True)
    (folder / "benchmarks").mkdir()
    (folder / "store").mkdir()
    files = {"X.npy": b"matrix", "qc.json": b"{}\n", "qc.png": b"\x89PNG figure", "store/a": b"1", "store/b": b"2"}
    for relative, data in files.items():
        (folder / relative).write_bytes(data)
    (folder / "logs" / "step.log").write_text("timings differ")
    (folder / "benchmarks" / "step.tsv").write_text("s\n1.0\n")
    store = sha(f"{sha(b'1')}  a\n{sha(b'2')}  b\n".encode())  # a folder artifact: sha256sum-style digest
    card = completed_card(
        {"dataset_id": name, "input": {"path": "x"}},
        {"n": 1},
        ["0" * 64],
        None,
        {"X.npy": sha(b"matrix"), "qc.json": sha(b"{}\n"), "store": store},
        figures={"qc.png": sha(b"\x89PNG figure")},
    )
    (folder / "card.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    return folder


def test_dataset_files_skip_the_card_logs_and_benchmarks(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    assert dataset_files(folder) == ["X.npy", "qc.json", "qc.png", "store/a", "store/b"]
    assert dataset_files(folder, ["store"]) == ["X.npy", "qc.json", "qc.png", "store"]


def test_an_intact_results_folder_verifies(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    make_dataset(tmp_path, "a")
    make_dataset(tmp_path, "b")
    (tmp_path / ".work" / "a").mkdir(parents=True)  # working files are not a dataset
    assert verify_results(tmp_path) == (2, 8, [])
    assert main(["verify", str(tmp_path)]) == 0
    assert (
        capsys.readouterr().out == "genoprep: verify: 2 datasets, 8 files: every checksum matches, nothing "
        "missing or unlisted\n"
    )


def test_tampered_missing_and_unlisted_files_are_each_named(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = make_dataset(tmp_path)
    (folder / "X.npy").write_bytes(b"matriX")  # tampered
    (folder / "qc.png").unlink()  # missing
    (folder / "extra.tsv").write_text("who made me?")  # unlisted
    (folder / "store" / "b").write_bytes(b"3")  # a file inside a folder artifact
    (folder / "logs" / "new.log").write_text("logs are not listed")  # fine
    datasets, files, problems = verify_results(tmp_path)
    assert (datasets, files) == (1, 4)
    store_before = sha(f"{sha(b'1')}  a\n{sha(b'2')}  b\n".encode())
    store_after = sha(f"{sha(b'1')}  a\n{sha(b'3')}  b\n".encode())
    assert sorted(problems) == sorted(
        [
            f"{folder / 'X.npy'}: differs (card.yaml says sha256 {sha(b'matrix')[:12]}..., the file has "
            f"{sha(b'matriX')[:12]}...)",
            f"{folder / 'store'}: differs (card.yaml says sha256 {store_before[:12]}..., the file has "
            f"{store_after[:12]}...)",
            f"{folder / 'qc.png'}: missing (card.yaml lists it)",
            f"{folder / 'extra.tsv'}: not listed in card.yaml",
        ]
    )
    assert main(["verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "genoprep: verify: 4 problems in 1 datasets (4 files listed)"
    assert all(line.startswith("genoprep: verify: ") for line in out)


def test_not_a_results_folder(tmp_path: Path) -> None:
    assert verify_results(tmp_path / "none") == (0, 0, [f"{tmp_path / 'none'}: no such results folder"])
    assert verify_results(tmp_path) == (0, 0, [f"{tmp_path}: no dataset folders with a card.yaml"])
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "card.yaml").write_text("dataset_id: d\n")
    assert verify_results(tmp_path) == (
        1,
        0,
        [f"{tmp_path / 'd' / 'card.yaml'}: lists no files (not a completed card)"],
    )
