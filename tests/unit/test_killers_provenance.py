"""genoprep.provenance against independent references: hashlib over whole files, a folder digest
re-implemented here from its documented ``sha256sum``-style definition, and completed cards and
dataset-folder listings written by hand (``make mutants MODULES=provenance``)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml

import genoprep
from genoprep.errors import InputError
from genoprep.provenance import (
    completed_card,
    dataset_files,
    file_sha256,
    package_versions,
    path_sha256,
    software_versions,
    verify_sha256,
)


def test_file_sha256_equals_hashlib_for_empty_and_multi_block_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_sha256(empty) == hashlib.sha256(b"").hexdigest()
    data = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB + 1792 bytes: several read blocks
    big = tmp_path / "big"
    big.write_bytes(data)
    assert file_sha256(str(big)) == hashlib.sha256(data).hexdigest()


def test_folder_digest_is_sha256sum_lines_of_its_files_in_sorted_order(tmp_path: Path) -> None:
    folder = tmp_path / "mtx"
    (folder / "sub").mkdir(parents=True)
    files = {"b.tsv": b"b\n", "a.mtx": b"%%MatrixMarket\n", "sub/z.txt": b"z"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    lines = "".join(f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n" for name in sorted(files))
    assert path_sha256(folder) == hashlib.sha256(lines.encode()).hexdigest()
    assert path_sha256(folder / "b.tsv") == hashlib.sha256(b"b\n").hexdigest()


def test_verify_sha256_accepts_upper_case_and_names_the_file_when_it_differs(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"id,v\n")
    digest = hashlib.sha256(b"id,v\n").hexdigest()
    assert verify_sha256(path, None) == digest
    assert verify_sha256(path, digest.upper()) == digest
    wrong = "0" * 64
    with pytest.raises(InputError) as caught:
        verify_sha256(path, wrong)
    assert caught.value.source == str(path)
    assert caught.value.problem == f"sha256 is {digest}, but the card says {wrong}"


def test_versions_name_genoprep_first_then_each_distribution() -> None:
    versions = software_versions(["PyYAML", "no-such-distribution-genoprep"])
    assert list(versions) == ["genoprep", "PyYAML", "no-such-distribution-genoprep"]
    assert versions["genoprep"] == genoprep.__version__
    assert versions["PyYAML"] == yaml.__version__
    assert versions["no-such-distribution-genoprep"] == "not installed"
    assert package_versions([]) == {}


def test_completed_card_with_one_input_by_hand() -> None:
    # a stale "computed" first in the card: the new one replaces it, last (card.yaml is written in key order)
    card = {
        "computed": {"stale": 1},
        "dataset_id": "d",
        "input": {"path": "x.csv"},
        "metadata": {"path": "m.tsv"},
    }
    done = completed_card(card, {"n": 2}, ["aa"], "mm", {"z.npy": "z1", "a.npy": "a1"})
    assert done == {
        "dataset_id": "d",
        "input": {"path": "x.csv", "sha256": "aa"},
        "metadata": {"path": "m.tsv", "sha256": "mm"},
        "computed": {"n": 2, "artifacts_sha256": {"a.npy": "a1", "z.npy": "z1"}},
    }
    assert list(done) == ["dataset_id", "input", "metadata", "computed"]
    assert list(done["computed"]["artifacts_sha256"]) == ["a.npy", "z.npy"]
    assert card["input"] == {"path": "x.csv"}  # the card read is not changed


def test_completed_card_with_several_inputs_figures_and_other_files_by_hand() -> None:
    card = {"dataset_id": "d", "inputs": [{"path": "a.fa"}, {"path": "b.fa"}]}
    done = completed_card(card, {}, ["s1", "s2"], None, {"t": "1"}, {"f/b.png": "2", "f/a.png": "3"}, {"o": "4"})
    assert done == {
        "dataset_id": "d",
        "inputs": [{"path": "a.fa", "sha256": "s1"}, {"path": "b.fa", "sha256": "s2"}],
        "computed": {
            "artifacts_sha256": {"t": "1"},
            "figures_sha256": {"f/a.png": "3", "f/b.png": "2"},
            "other_files_sha256": {"o": "4"},
        },
    }
    assert list(done["computed"]["figures_sha256"]) == ["f/a.png", "f/b.png"]
    # a metadata digest without a metadata table in the card adds nothing; empty extras add no key
    assert "metadata" not in completed_card(card, {}, ["s1", "s2"], "mm", {}, {}, {})
    assert list(completed_card(card, {}, ["s1", "s2"], None, {}, {}, {})["computed"]) == ["artifacts_sha256"]


def test_dataset_files_by_hand(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    for name in [
        "card.yaml",
        "logs/step.log",
        "benchmarks/step.tsv",
        "qc.json",
        "sub/card.yaml",
        "logs.txt",
        "tokens.zarr/0/0",
        "tokens.zarr/.zattrs",
        "tokens.zarr2/x",
        "figures/a.png",
    ]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    (root / "empty_folder").mkdir()
    os.symlink(root / "missing", root / "dangling")
    assert dataset_files(root, ["tokens.zarr"]) == [
        "dangling",
        "figures/a.png",
        "logs.txt",
        "qc.json",
        "sub/card.yaml",
        "tokens.zarr",
        "tokens.zarr2/x",
    ]
    assert "tokens.zarr/0/0" in dataset_files(str(root))
