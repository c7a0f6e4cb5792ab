"""Checksums, the completed card, the demo generator, one-line errors from a step."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

import genoprep
from genoprep.demo import simulate_pbmc, write_demo
from genoprep.errors import InputError
from genoprep.jsonio import write_json
from genoprep.provenance import completed_card, path_sha256, software_versions, verify_sha256


def test_file_and_folder_digests(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.txt").write_bytes(b"bee")
    (tmp_path / "d" / "a.txt").write_bytes(b"ay")
    assert path_sha256(tmp_path / "d" / "a.txt") == hashlib.sha256(b"ay").hexdigest()
    lines = "".join(f"{hashlib.sha256(c).hexdigest()}  {n}\n" for n, c in (("a.txt", b"ay"), ("b.txt", b"bee")))
    assert path_sha256(tmp_path / "d") == hashlib.sha256(lines.encode()).hexdigest()
    with pytest.raises(InputError, match="sha256 is .* but the card says 0000"):
        verify_sha256(tmp_path / "d" / "a.txt", "0" * 64)


def test_completed_card_pins_inputs_and_keeps_fields() -> None:
    card = {
        "dataset_id": "x",
        "input": {"path": "a.h5ad", "format": "h5ad"},
        "metadata": {"path": "m.csv"},
        "computed": {"stale": True},
    }
    done = completed_card(card, {"n_cells": 3}, ["1" * 64], "2" * 64, {"b": "y", "a": "x"})
    assert done["input"] == {"path": "a.h5ad", "format": "h5ad", "sha256": "1" * 64}
    assert done["metadata"]["sha256"] == "2" * 64
    assert done["computed"] == {"n_cells": 3, "artifacts_sha256": {"a": "x", "b": "y"}}
    assert "sha256" not in card["input"]  # the card given is not modified


def test_demo_is_deterministic_and_pbmc_like(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_demo(tmp_path / f"{name}.csv.gz", tmp_path / f"{name}.tsv", n_cells=60, n_genes=200, seed=3)
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    counts, meta = simulate_pbmc(400, 500, seed=1)
    assert counts.shape == (500, 400) and (counts.to_numpy() >= 0).all()
    assert counts.index.str.startswith("MT-").sum() == 13
    assert set(meta["cell_type"]) == {"CD4 T", "CD8 T", "B", "NK", "CD14 Monocyte", "FCGR3A Monocyte"}
    # markers are higher in their own cell type: CD79A in B cells vs the rest
    b_cells = meta["cell_type"].eq("B").to_numpy()
    cd79a = counts.loc["CD79A"].to_numpy() / counts.sum(axis=0).to_numpy()
    assert cd79a[b_cells].mean() > 5 * cd79a[~b_cells].mean()
    assert not simulate_pbmc(50, 200, seed=2)[0].equals(simulate_pbmc(50, 200, seed=3)[0])


def test_run_step_reports_input_errors_as_one_line(tmp_path: Path) -> None:
    code = (
        "from genoprep.runtime import run_step\n"
        "from genoprep.errors import InputError\n"
        "def step():\n"
        "    raise InputError('data/x.vcf', 'GT has 3 alleles', record='record 12 (chr1:5)')\n"
        f"run_step({str(tmp_path / 'step.log')!r}, step)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr == "genoprep: error: data/x.vcf: record 12 (chr1:5): GT has 3 alleles\n"
    assert "GT has 3 alleles" in (tmp_path / "step.log").read_text()


def test_software_versions_start_with_genoprep_then_the_named_packages() -> None:
    versions = software_versions(["numpy", "no-such-distribution-genoprep"])
    assert list(versions) == ["genoprep", "numpy", "no-such-distribution-genoprep"]
    assert versions["genoprep"] == genoprep.__version__
    assert versions["numpy"] == numpy.__version__
    assert versions["no-such-distribution-genoprep"] == "not installed"


def test_write_json_keeps_insertion_order_and_plain_values(tmp_path: Path) -> None:
    data = {"z": 1, "a": {"y": numpy.int64(2), "b": [numpy.float32(0.5), float("nan")]}, "m": (1, 2)}
    write_json(data, tmp_path / "x.json")
    text = (tmp_path / "x.json").read_text(encoding="utf-8")
    assert (
        text == '{\n  "z": 1,\n  "a": {\n    "y": 2,\n    "b": [\n      0.5,\n      null\n    ]\n  },\n'
        '  "m": [\n    1,\n    2\n  ]\n}\n'
    )
    assert list(json.loads(text)) == ["z", "a", "m"]


def test_sha256_of_a_file_larger_than_the_read_block(tmp_path: Path) -> None:
    from genoprep import provenance

    size = 3 * provenance._BLOCK + 12345  # several blocks and a partial one
    data = numpy.random.default_rng(7).integers(0, 256, size, dtype=numpy.uint8).tobytes()
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert path_sha256(path) == hashlib.sha256(data).hexdigest()
    # a change in the last block only changes the digest
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert path_sha256(path) == hashlib.sha256(data[:-1] + bytes([data[-1] ^ 1])).hexdigest()
    assert path_sha256(path) != hashlib.sha256(data).hexdigest()
