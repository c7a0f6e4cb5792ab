"""DNA from plain text (one sequence per line) and from token arrays (decoded back to sequences).

Real sequences from ../shared/data/dna are written as plain text and tokenized with each
scheme's encoder (genoprep.dna.tokenize) into a padded 2-D .npy; reading them back must give
the original sequences wherever a scheme's tokens determine them: char and hyenadna for
sequences within max_len and without IUPAC codes other than N, dnabert for every sequence of
A/C/G/T of length >= k (and an interior N), nucleotide_transformer for A/C/G/T/N. Lossy
cases are checked for the one-line refusal or the documented result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser

from genoprep.dna.io import read_entry, read_sequence_table, read_text_sequences, read_token_array
from genoprep.dna.tokenize import char_encode, dnabert_encode, hyenadna_encode, nucleotide_transformer_encode
from genoprep.errors import InputError
from tests.conftest import shared_data

TATA = "gue_prom_core_tata_dev.csv"
ORCHIDS = "lady_slipper_orchids_its_94seqs_genus_labels.fasta"


def _table_sequences() -> list[str]:
    return [r.sequence for r in read_sequence_table(shared_data("dna", TATA))]


def _orchid_sequences() -> list[str]:
    with open(shared_data("dna", ORCHIDS), encoding="utf-8") as handle:
        return [sequence.upper() for _, sequence in SimpleFastaParser(handle)]


def _padded(ragged, pad: int) -> np.ndarray:
    rows = ragged.to_list() if hasattr(ragged, "to_list") else list(ragged)
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), pad, dtype=np.int32)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def _rows(ragged) -> list[np.ndarray]:
    values, offsets = ragged.values, ragged.offsets
    return [values[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def _decoded(path: Path, scheme: str, k: int = 6) -> list[str]:
    return [r.sequence for r in read_token_array(path, scheme, k)]


def test_plain_text_reads_as_the_tables_sequence_column(tmp_path: Path) -> None:
    sequences = _table_sequences()
    path = tmp_path / "tata.txt"
    path.write_text("\n".join(sequences) + "\n\n", encoding="utf-8")  # blank lines at the end are fine
    records = list(read_entry({"format": "text", "label": "tata"}, path, {"sequence": "sequence"}))
    assert [r.sequence for r in records] == sequences
    assert records[0].id == "tata.txt:line1" and records[-1].number == len(sequences)
    assert {r.label for r in records} == {"tata"}


def test_plain_text_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("ACGTACGTAA\n\nACGT\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"s.txt: line 2: blank line between sequences"):
        list(read_text_sequences(path))
    path.write_text("ACGTACGTAA\nACGXT\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"s.txt: line 2: "):
        list(read_text_sequences(path))
    # read as a table (the old behaviour for .txt), the message now says what to do
    path.write_text("ACGTACGTAACCGGTT\nACGT\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(read_sequence_table(path))
    assert "the first line is a sequence (ACGTACGTAACCGGTT...), not a header" in str(info.value)
    assert "format: text" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("scheme", "encode"), [("char", char_encode), ("hyenadna", hyenadna_encode)])
def test_fixed_length_schemes_round_trip(tmp_path: Path, scheme: str, encode) -> None:
    sequences = _table_sequences() + _orchid_sequences()  # A/C/G/T/N only
    width = max(len(s) for s in sequences) + (scheme == "hyenadna")
    np.save(tmp_path / "t.npy", encode(sequences, max_len=width))
    assert _decoded(tmp_path / "t.npy", scheme) == sequences


def test_fixed_length_truncation_is_lossy_and_other_iupac_codes_become_n(tmp_path: Path) -> None:
    np.save(tmp_path / "t.npy", char_encode(["ACGTRYACGT", "AC"], max_len=8))
    assert _decoded(tmp_path / "t.npy", "char") == ["ACGTNNAC", "AC"]
    np.save(tmp_path / "h.npy", hyenadna_encode(["ACGTRYACGT", "AC"], max_len=9))
    assert _decoded(tmp_path / "h.npy", "hyenadna") == ["ACGTNNAC", "AC"]


@pytest.mark.parametrize("k", [3, 6])
def test_dnabert_round_trip(tmp_path: Path, k: int) -> None:
    sequences = _table_sequences()
    np.save(tmp_path / "t.npy", _padded(_rows(dnabert_encode(sequences, k)), 0))
    assert _decoded(tmp_path / "t.npy", "dnabert", k) == sequences
    # an interior N: only the k-mers covering it are [UNK], every other base is still known
    np.save(tmp_path / "n.npy", _padded(_rows(dnabert_encode(["ACGTTGCAAGNTTAGGCATCCA"], k)), 0))
    assert _decoded(tmp_path / "n.npy", "dnabert", k) == ["ACGTTGCAAGNTTAGGCATCCA"]


def test_nucleotide_transformer_round_trip_with_n(tmp_path: Path) -> None:
    sequences = _orchid_sequences() + _table_sequences()
    assert any("N" in s for s in sequences)
    np.save(tmp_path / "t.npy", _padded(_rows(nucleotide_transformer_encode(sequences, 6)), 1))
    assert _decoded(tmp_path / "t.npy", "nucleotide_transformer", 6) == sequences


def test_token_ids_out_of_vocabulary_name_the_row(tmp_path: Path) -> None:
    ids = _padded(_rows(dnabert_encode(["ACGTACGT", "ACGTTT"], 3)), 0)
    ids[1, 2] = 69  # the DNABERT k=3 vocabulary has ids 0..68
    np.save(tmp_path / "t.npy", ids)
    with pytest.raises(InputError) as info:
        list(read_token_array(tmp_path / "t.npy", "dnabert", 3))
    assert str(info.value) == (
        f"{tmp_path / 't.npy'}: row 2: token id 69 at position 3 is not in the dnabert vocabulary (ids 0..68 for k=3)"
    )
    # the 3-mer ids of row 1 read as 6-mers: every id is in the larger vocabulary, but they do not overlap
    ids[1, 2] = 8
    np.save(tmp_path / "t.npy", ids)
    with pytest.raises(InputError, match=r"row 1: k-mer 3 'AAAGTA' does not overlap k-mer 2 'AAACGT' by 5"):
        list(read_token_array(tmp_path / "t.npy", "dnabert", 6))


def test_lossy_token_rows_are_refused_in_one_line(tmp_path: Path) -> None:
    np.save(tmp_path / "nt.npy", _padded(_rows(nucleotide_transformer_encode(["ACGTRACGTACGT"], 6)), 1))
    with pytest.raises(InputError, match=r"row 1: token <unk> at sequence token 1: the number of bases"):
        list(read_token_array(tmp_path / "nt.npy", "nucleotide_transformer", 6))
    np.save(tmp_path / "short.npy", _padded(_rows(dnabert_encode(["ACGTACGT", "AC"], 3)), 0))
    with pytest.raises(InputError, match=r"row 2: no tokens between the special tokens: the sequence was shorter"):
        list(read_token_array(tmp_path / "short.npy", "dnabert", 3))
    cut = _padded(_rows(dnabert_encode(["ACGTACGT"], 3)), 0)[:, :4]  # [CLS] ACG CGT GTA, the rest and [SEP] cut off
    np.save(tmp_path / "cut.npy", cut)
    with pytest.raises(InputError, match=r"row 1: the sequence's tokens end with GTA, not \[SEP\]"):
        list(read_token_array(tmp_path / "cut.npy", "dnabert", 3))
    inside = char_encode(["ACGT"], max_len=6)
    inside[0, 1] = 5  # <PAD> between bases
    np.save(tmp_path / "pad.npy", inside)
    with pytest.raises(InputError, match=r"row 1: padding <PAD> at position 2 inside the sequence"):
        list(read_token_array(tmp_path / "pad.npy", "char", 6))
    np.save(tmp_path / "float.npy", np.zeros((2, 3)))
    with pytest.raises(InputError, match=r"token ids are integers, not float64"):
        list(read_token_array(tmp_path / "float.npy", "char", 6))


def test_read_entry_needs_the_scheme(tmp_path: Path) -> None:
    np.save(tmp_path / "t.npy", char_encode(["ACGT"], max_len=6))
    with pytest.raises(InputError, match=r"input: a token array needs the scheme that made it"):
        list(read_entry({}, tmp_path / "t.npy", {"sequence": "sequence"}))
    records = list(read_entry({"tokens": {"scheme": "char", "k": 6}}, tmp_path / "t.npy", {"sequence": "sequence"}))
    assert [(r.id, r.sequence) for r in records] == [("t.npy:row1", "ACGT")]
