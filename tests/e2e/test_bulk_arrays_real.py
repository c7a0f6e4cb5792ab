"""Bulk RNA-seq from a NumPy array through the workflow: the real MOV10 table as .npy + id files.

One run with two cards, the table and its .npy copy (id files named relative to the card's
folder); the ML files must be byte-identical. A card whose id file is missing is refused
before any job runs (the check the workflow and ``genoprep validate`` make), naming the field.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoprep.cards import CardError, check_inputs, load_card
from tests.conftest import run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

COUNTS = "mov10_human_hek293_counts_genes_x_8samples.tsv"
META = "mov10_human_hek293_sample_metadata.tsv"


def _card(dataset_id: str, input_: dict, meta: Path) -> dict:
    return {
        "dataset_id": dataset_id,
        "name": dataset_id,
        "modality": "bulk",
        "input": input_,
        "metadata": {"path": str(meta), "format": "tsv"},
        "columns": {"condition": "sampletype"},
    }


def test_npy_input_gives_the_table_results(tmp_path: Path) -> None:
    counts, meta = shared_data("bulk", COUNTS), shared_data("bulk", META)
    cards = tmp_path / "cards"
    cards.mkdir()
    frame = pd.read_csv(counts, sep="\t", index_col=0)
    np.save(cards / "mov10.npy", frame.to_numpy())
    (cards / "genes.txt").write_text("".join(f"{g}\n" for g in frame.index), encoding="utf-8")
    (cards / "samples.txt").write_text("".join(f"{s}\n" for s in frame.columns), encoding="utf-8")
    write_card(cards, _card("mov10_tsv", {"path": str(counts), "format": "tsv"}, meta))
    array_input = {"path": "mov10.npy", "format": "npy", "gene_ids_path": "genes.txt", "sample_ids_path": "samples.txt"}
    write_card(cards, _card("mov10_npy", array_input, meta))
    run_workflow(cards, tmp_path / "out")
    for name in ("X.npy", "features.tsv", "obs.tsv"):
        table = (tmp_path / "out" / "mov10_tsv" / name).read_bytes()
        assert (tmp_path / "out" / "mov10_npy" / name).read_bytes() == table, name


def test_missing_id_file_refused_before_any_job(tmp_path: Path) -> None:
    counts = shared_data("bulk", COUNTS)
    np.save(tmp_path / "mov10.npy", pd.read_csv(counts, sep="\t", index_col=0).to_numpy())
    (tmp_path / "genes.txt").write_text("A\n", encoding="utf-8")
    array_input = {"path": "mov10.npy", "format": "npy", "gene_ids_path": "genes.txt", "sample_ids_path": "samples.txt"}
    card = load_card(write_card(tmp_path, {"dataset_id": "m", "name": "m", "modality": "bulk", "input": array_input}))
    with pytest.raises(CardError) as info:
        check_inputs(card)
    assert str(info.value) == (
        f"{tmp_path / 'm.yaml'}: input.sample_ids_path: {tmp_path / 'samples.txt'}: no such file "
        f"(the path 'samples.txt' is relative to the card's folder {tmp_path})"
    )
