"""Real files from ../shared/data/dna (see SOURCES.md there): counts and quirks as documented."""

from __future__ import annotations

import gzip
import shutil
from collections import Counter
from itertools import product
from pathlib import Path

import pytest

from genoprep.dna.io import label_from_header, read_fasta, read_sequence_table
from genoprep.dna.qc import dataset_qc
from genoprep.dna.tokenize import dnabert_encode
from tests.conftest import SHARED_DATA

DNA = SHARED_DATA / "dna"
POSITIVE = DNA / "ecoli_sigma_promoters_81bp_positive_2860.fasta"
NEGATIVE = DNA / "ecoli_nonpromoters_81bp_negative_2860.fasta"
ORCHIDS = DNA / "lady_slipper_orchids_its_94seqs_genus_labels.fasta"
DNABERT_TSV = DNA / "dnabert_sample_ft_dev_1000seqs_6mer_binary_labels.tsv"

pytestmark = pytest.mark.skipif(
    not DNA.is_dir(), reason=f"shared test data not found at {DNA} (expected ../shared/data beside the checkout)"
)


@pytest.mark.parametrize("path", [POSITIVE, NEGATIVE], ids=["positive-wrapped-unicode", "negative-crlf"])
def test_ecoli_files_parse_to_2860_records_of_81(path: Path) -> None:
    records = list(read_fasta(path))
    assert len(records) == 2860
    assert {len(r.sequence) for r in records} == {81}
    assert all("\r" not in r.sequence and "\r" not in r.id for r in records)


def test_positive_file_quirks_survive() -> None:
    records = list(read_fasta(POSITIVE))
    assert any("\u3000" in r.id for r in records)  # full-width spaces kept in ids
    assert any(any(c.islower() for c in r.sequence) for r in records)
    assert len({r.id for r in records}) == 2860


def test_negative_ids_are_full_headers_and_unique() -> None:
    records = list(read_fasta(NEGATIVE))
    assert {r.name for r in records} == {"Escherichia"}  # why ids are whole headers
    assert len({r.id for r in records}) == 2860


def test_gzip_copy_gives_identical_records(tmp_path: Path) -> None:
    copy = tmp_path / "negative.fasta.gz"
    with open(NEGATIVE, "rb") as source, gzip.open(copy, "wb") as target:
        shutil.copyfileobj(source, target)
    assert list(read_fasta(copy)) == list(read_fasta(NEGATIVE))


def test_orchid_genus_labels_from_header() -> None:
    genus = {"C": "Cypripedium", "P": "Paphiopedilum", "M": "Mexipedium"}
    records = list(label_from_header(read_fasta(ORCHIDS), r"^\S+\s+([A-Z])\.", source=ORCHIDS, label_map=genus))
    assert len(records) == 94
    assert Counter(r.label for r in records) == {"Cypripedium": 17, "Paphiopedilum": 76, "Mexipedium": 1}
    assert records[0].label == "Cypripedium" and "C.irapeanum" in records[0].id
    assert min(len(r.sequence) for r in records) >= 572 and max(len(r.sequence) for r in records) <= 789
    assert set("".join(r.sequence for r in records)) <= set("ACGNT")
    assert dataset_qc(records)["class_counts"] == {"Cypripedium": 17, "Mexipedium": 1, "Paphiopedilum": 76}


def test_dnabert_table_reassembles_and_retokenizes() -> None:
    rows = list(read_sequence_table(DNABERT_TSV))
    assert len(rows) == 1000
    assert {len(r.sequence) for r in rows} == {101}
    assert Counter(r.label for r in rows) == {"0": 500, "1": 500}
    written = [line.split("\t")[0].split() for line in DNABERT_TSV.read_text().splitlines()[1:]]
    # DNABERT's vocab.txt order, built here (5 specials, then product("ATCG", repeat=6))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *("".join(p) for p in product("ATCG", repeat=6))]
    tokens = dnabert_encode([r.sequence for r in rows], k=6)
    for ids, kmers in zip(tokens.to_list(), written):
        strings = [vocab[i] for i in ids]
        assert strings[0] == "[CLS]" and strings[-1] == "[SEP]"
        assert strings[1:-1] == kmers
