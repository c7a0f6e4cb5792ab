"""Which jobs a card edit reruns (issue 8): each step's rule gets only its slice of the card.

On a completed run of a small real file: editing only ``description``, ``name`` or
``license`` schedules ``write_card`` (and the FAIR files that publish these fields), no
scRNA-seq job (``snakemake -n``). Editing ``n_top_genes``
reschedules ``scrna_process`` (one job runs the whole chain of a dataset, so it reruns
QC too); the QC outputs it writes again are byte-identical, and two runs of the same
card give identical artifacts.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import artifact_bytes, run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e


def _card(source: Path, **changes: object) -> dict:
    card = {
        "dataset_id": "pbmc68k",
        "name": "PBMC 68k reduced",
        "description": "700 cells",
        "license": "CC-BY-4.0",
        "modality": "scrna",
        "input": {"path": str(source), "format": "h5ad"},
        "columns": {"cell_type": "bulk_labels"},
        "params": {"min_genes": 200, "max_genes": 350, "n_top_genes": 300},
    }
    card.update(changes)
    return card


def _scheduled(cards: Path, results: Path) -> set[str]:
    done = run_workflow(cards, results, "-n", "--quiet", "rules")
    table = done.stdout + done.stderr
    return {m.group(1) for m in re.finditer(r"^\s*([a-z][a-z0-9_]+)\s+\d+\s*$", table, flags=re.MULTILINE)} - {
        "all",
        "total",
    }


def test_only_write_card_reruns_after_a_metadata_edit(tmp_path: Path) -> None:
    source = shared_data("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad")
    cards, results = tmp_path / "cards", tmp_path / "out"
    write_card(cards, _card(source))
    run_workflow(cards, results)
    assert _scheduled(cards, results) == set()
    first = artifact_bytes(results / "pbmc68k")

    write_card(cards, _card(source, name="PBMC 68k (renamed)", description="edited", license="CC0-1.0"))
    scheduled = _scheduled(cards, results)
    # the FAIR files, the run summary and the card table are made from card.yaml: they follow every rewritten card
    followers = {
        rule for rule in scheduled if rule.startswith("fair_") or rule in ("report_run_summary", "report_card")
    }
    assert scheduled - followers == {"write_card"}, scheduled
    run_workflow(cards, results)
    card = yaml.safe_load((results / "pbmc68k" / "card.yaml").read_text())
    assert card["license"] == "CC0-1.0" and card["name"] == "PBMC 68k (renamed)"

    write_card(
        cards,
        _card(
            source,
            name="PBMC 68k (renamed)",
            description="edited",
            license="CC0-1.0",
            params={"min_genes": 200, "max_genes": 350, "n_top_genes": 200},
        ),
    )
    assert {"scrna_process", "scrna_qc_plot", "write_card"} <= _scheduled(cards, results)
    run_workflow(cards, results)
    second = artifact_bytes(results / "pbmc68k")
    for name in ("qc.json", "qc_cells.tsv"):
        assert second[name] == first[name], name
    assert second["features.tsv"] != first["features.tsv"]
    assert len(second["features.tsv"].splitlines()) == 200

    # the same card again, from scratch: identical bytes
    shutil.copy(cards / "pbmc68k.yaml", tmp_path / "again.yaml")
    (tmp_path / "cards2").mkdir()
    shutil.move(tmp_path / "again.yaml", tmp_path / "cards2" / "pbmc68k.yaml")
    run_workflow(tmp_path / "cards2", tmp_path / "out2")
    assert artifact_bytes(tmp_path / "out2" / "pbmc68k") == second
