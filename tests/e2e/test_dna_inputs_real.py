"""DNA from plain text and from a DNABERT token array through the workflow, against the table they came from.

The real GUE TATA dev table (613 sequences) is written as plain text (one sequence per
line) and as DNABERT 6-mer ids (padded .npy); one run over the three cards, each asking
for char and nucleotide_transformer tokens and 4-mer counts: every token and count artifact
of the text and token-array cards equals the table card's (byte for byte; the Parquet table
column by column but for its ids), and obs.tsv differs only in the ids.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from genoprep.dna.io import read_sequence_table
from genoprep.dna.tokenize import dnabert_encode
from tests.conftest import run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

PARAMS = {"tokenizers": ["char", "nucleotide_transformer", "kmer_counts"], "kmer_counts": {"k": 4}}


def _card(dataset_id: str, input_: dict) -> dict:
    return {"dataset_id": dataset_id, "name": dataset_id, "modality": "dna", "input": input_, "params": PARAMS}


def test_text_and_token_array_give_the_tables_artifacts(tmp_path: Path) -> None:
    table = shared_data("dna", "gue_prom_core_tata_dev.csv")
    sequences = [r.sequence for r in read_sequence_table(table)]
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "tata.txt").write_text("\n".join(sequences) + "\n", encoding="utf-8")
    ragged = dnabert_encode(sequences, 6)
    rows = [ragged.values[ragged.offsets[i] : ragged.offsets[i + 1]] for i in range(len(sequences))]
    ids = np.zeros((len(rows), max(len(r) for r in rows)), dtype=np.int32)  # [PAD] = 0
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    np.save(cards / "tata_dnabert6.npy", ids)
    write_card(cards, _card("tata_table", {"path": str(table), "format": "table"}))
    write_card(cards, _card("tata_text", {"path": "tata.txt", "format": "text"}))
    write_card(cards, _card("tata_tokens", {"path": "tata_dnabert6.npy", "tokens": {"scheme": "dnabert", "k": 6}}))
    out = tmp_path / "out"
    run_workflow(cards, out)

    reference = out / "tata_table"
    artifacts = sorted(p.name for p in reference.iterdir() if p.name.startswith(("tokens_", "kmers_")))
    assert len(artifacts) == 4, artifacts  # tokens_char.npy, tokens_nucleotide_transformer.parquet, kmers_k4.*
    for dataset in ("tata_text", "tata_tokens"):
        for name in artifacts:
            if name.endswith(".parquet"):  # its id column holds the record ids; every other column must be equal
                new, ref = pq.read_table(out / dataset / name), pq.read_table(reference / name)
                assert new.column_names == ref.column_names
                assert all(new.column(c).equals(ref.column(c)) for c in ref.column_names if c != "id"), name
            else:
                assert (out / dataset / name).read_bytes() == (reference / name).read_bytes(), (dataset, name)
        with (
            open(out / dataset / "obs.tsv", encoding="utf-8") as one,
            open(reference / "obs.tsv", encoding="utf-8") as other,
        ):
            rows_new, rows_ref = list(csv.reader(one, delimiter="\t")), list(csv.reader(other, delimiter="\t"))
        assert [r[1:] for r in rows_new] == [r[1:] for r in rows_ref]
        assert rows_new[1][0] == ("tata.txt:line1" if dataset == "tata_text" else "tata_dnabert6.npy:row1")
