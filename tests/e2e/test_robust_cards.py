"""A catalogue of malformed dataset cards, run through the workflow.

Each must end the run before any job with exactly one ``genoprep:`` line naming the card
and the field (or the line of the card), a non-zero exit status, no Python traceback, no
results folder, and nothing written anywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_workflow

pytestmark = pytest.mark.e2e

FASTA = ">s1 class=a\nACGTACGTAC\n>s2 class=b\nGGGCCCAATT\n"


def dna(**change: object) -> dict:
    card = {"dataset_id": "d", "name": "tiny DNA", "modality": "dna", "input": {"path": "../data/seqs.fa"}}
    return {**card, **change}


def scrna(**change: object) -> dict:
    card = {
        "dataset_id": "s",
        "name": "tiny scRNA",
        "modality": "scrna",
        "input": {"path": "../data/counts.csv", "format": "csv", "orientation": "genes_x_cells"},
    }
    return {**card, **change}


def variants(**change: object) -> dict:
    card = {"dataset_id": "v", "name": "tiny VCF", "modality": "variants", "input": {"path": "../data/calls.vcf"}}
    return {**card, **change}


def _as_yaml(card: dict) -> bytes:
    return yaml.safe_dump(card, sort_keys=False).encode("utf-8")


# (case id, {card file name: bytes or card dict}, the field the line names, words in the line)
# A field of None means the line names the card and a line of it or no field at all.
Case = tuple[str, dict[str, bytes | dict], str | None, str]
CASES: list[Case] = [
    ("id_dotdot", {"c.yaml": dna(dataset_id="..")}, "dataset_id", "'..' is not a plain folder name"),
    ("id_dot", {"c.yaml": dna(dataset_id=".")}, "dataset_id", "'.' is not a plain folder name"),
    ("id_traversal", {"c.yaml": dna(dataset_id="../../escape")}, "dataset_id", "is not a plain folder name"),
    ("id_work_folder", {"c.yaml": dna(dataset_id=".work")}, "dataset_id", "is not a plain folder name"),
    ("id_absolute", {"c.yaml": dna(dataset_id="/tmp/x")}, "dataset_id", "is not a plain folder name"),
    ("duplicate_ids", {"a.yaml": dna(), "b.yaml": dna(name="again")}, "dataset_id", "'d' is already used by"),
    ("unknown_modality", {"c.yaml": dna(modality="proteomics")}, "modality", "'proteomics' is not one of"),
    ("missing_input", {"c.yaml": dna(input={"path": "../data/absent.fa"})}, "input.path", "absent.fa: no such file"),
    (
        "input_leaves_card_folder_to_nothing",
        {"c.yaml": dna(input={"path": "../../../../../../../../../no.fa"})},
        "input.path",
        "/no.fa: no such file (the path '../../../../../../../../../no.fa' is relative to the card's",
    ),
    (
        "dangling_symlink",
        {"c.yaml": dna(input={"path": "../data/dangling.fa"})},
        "input.path",
        "a symbolic link to gone.fa, which does not exist",
    ),
    (
        "folder_for_a_file",
        {"c.yaml": dna(input={"path": "../data"})},
        "input.path",
        "a folder, but a file is expected here",
    ),
    (
        "file_for_a_folder",
        {"c.yaml": scrna(input={"path": "../data/counts.csv", "format": "10x_mtx"})},
        "input.path",
        "a file, but a folder is expected here",
    ),
    (
        "missing_metadata",
        {"c.yaml": scrna(metadata={"path": "../data/cells.csv"})},
        "metadata.path",
        "cells.csv: no such file",
    ),
    (
        "dangling_metadata",
        {"c.yaml": variants(metadata={"path": "../data/dangling.fa"})},
        "metadata.path",
        "a symbolic link to gone.fa",
    ),
    (
        "second_input_missing",
        {
            "c.yaml": dna(
                input=None,
                inputs=[{"path": "../data/seqs.fa", "label": "a"}, {"path": "../data/other.fa", "label": "b"}],
            )
        },
        "inputs[1].path",
        "other.fa: no such file",
    ),
    ("non_utf8_card", {"c.yaml": "dataset_id: d\nname: caf\xe9\n".encode("latin-1")}, None, "not UTF-8 text"),
    ("invalid_yaml", {"c.yaml": b"dataset_id: d\nname: [unclosed\nmodality: dna\n"}, "line 3", "not valid YAML"),
    ("not_a_mapping", {"c.yaml": b"- just\n- a list\n"}, None, "a card must be a YAML mapping of fields"),
    (
        "unknown_param",
        {"c.yaml": dna(params={"tokenisers": ["char"]})},
        "params",
        "Additional properties are not allowed ('tokenisers'",
    ),
    (
        "wrong_type_param",
        {"c.yaml": scrna(params={"min_genes": "many"})},
        "params.min_genes",
        "'many' is not of type 'integer'",
    ),
    ("input_and_inputs", {"c.yaml": dna(inputs=[{"path": "../data/seqs.fa"}])}, "input", "exactly one of 'input'"),
    (
        "missing_name",
        {"c.yaml": {k: v for k, v in dna().items() if k != "name"}},
        "(card)",
        "'name' is a required property",
    ),
    (
        "key_not_text",
        {"c.yaml": b"dataset_id: d\nname: n\nmodality: dna\n1: x\ninput: {path: ../data/seqs.fa}\n"},
        None,
        "the key 1 is not text",
    ),
]


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every file and link under ``root`` with its bytes (or link target)."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


@pytest.mark.parametrize(("files", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_card_is_one_line_before_any_job(
    tmp_path: Path, files: dict[str, bytes | dict], field: str | None, words: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "seqs.fa").write_text(FASTA)
    (data / "counts.csv").write_text("gene,c1,c2\nA,1,0\nB,0,3\n")
    (data / "calls.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    (data / "dangling.fa").symlink_to("gone.fa")
    cards = tmp_path / "cards"
    cards.mkdir()
    for name, content in files.items():
        if isinstance(content, dict):
            content = _as_yaml({k: v for k, v in content.items() if v is not None})
        (cards / name).write_bytes(content)
    before = _tree(tmp_path)

    done = run_workflow(cards, tmp_path / "out", cores=1, check=False)

    output = done.stdout + done.stderr
    assert done.returncode != 0
    lines = [line for line in output.splitlines() if line.startswith("genoprep:")]
    assert len(lines) == 1, output[-3000:]
    assert "Traceback" not in output and "Error in file" not in output, output[-3000:]
    card = cards / sorted(files)[-1] if len(files) > 1 else cards / next(iter(files))
    prefix = f"genoprep: invalid dataset card: {card}: " + (f"{field}: " if field else "")
    assert lines[0].startswith(prefix), lines[0]
    assert words in lines[0], lines[0]
    assert not (tmp_path / "out").exists()
    assert _tree(tmp_path) == before  # nothing written beside the cards or the data either
    assert not (tmp_path.parent / "escape").exists()
