"""Killer tests for mutants of genoprep/dna (issue 16): independent facts about its public functions.

Hand-worked cases and plain re-implementations written here: the sequence filters exactly at
their thresholds, plain-text and table reading (exact one-line errors: file, record, problem),
the char ids, the scheme registry. No workflow runs.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from genoprep.cards import load_card
from genoprep.dna.artifacts import write_kmer_names, write_kmer_text, write_parquet
from genoprep.dna.io import DnaRecord, SequenceFilter, read_sequence_table, read_text_sequences
from genoprep.dna.options import SchemeOptions
from genoprep.dna.steps import kmer_text, tokens_fixed
from genoprep.dna.tokenize import SCHEMES, char_ids, decode, scheme_pattern
from genoprep.errors import InputError

# --- the sequence filters ---------------------------------------------------------------------


def _keeps_reference(sequence: str, min_length: int, max_n_fraction: float) -> bool:
    """length >= min_length and (non-ACGT letters) / length <= the decimal max_n_fraction, exactly."""
    other = sum(1 for c in sequence if c not in "ACGTacgt")
    return len(sequence) >= min_length and Fraction(other, len(sequence)) <= Fraction(str(max_n_fraction))


@pytest.mark.parametrize(
    ("sequence", "min_length", "max_n_fraction", "kept"),
    [
        ("ACGTACGTAN", 10, 0.1, True),  # 1 of 10 = 0.1 exactly: kept (inclusive)
        ("ACGTACGTNN", 10, 0.1, False),  # 2 of 10
        ("ACGTACGTA", 10, 1.0, False),  # 9 < 10 bases
        ("ACGTACGTAC", 10, 1.0, True),  # exactly min_length
        ("NNNNNNNNNN", 1, 1.0, True),  # max_n_fraction 1 keeps everything long enough
        ("nnnnnnnnnr", 1, 0.99, False),  # lower case and IUPAC codes count as not ACGT
        ("acgtRYacgt", 1, 0.2, True),  # 2 of 10 = 0.2 exactly
        ("acgtRYacgt", 1, 0.19, False),
        ("ACG", 3, 0.0, True),  # no N at all with max 0
        ("ACN", 3, 0.0, False),
        ("ACGTACGTACGTACGTACGTACGTACGTAN", 1, 0.0333333333, False),  # 1/30 > 0.0333333333
        ("ACGTACGTACGTACGTACGTACGTACGTAN", 1, 0.0333333334, True),
        ("ACGN", 1, 0.25, True),
        ("ACGN", 1, 0.24, False),
    ],
)
def test_sequence_filter_by_hand(sequence, min_length, max_n_fraction, kept):
    keep = SequenceFilter(min_length, max_n_fraction)
    assert _keeps_reference(sequence, min_length, max_n_fraction) is kept
    assert keep.keeps(sequence) is kept
    assert keep.keeps(sequence.encode("ascii")) is kept


def test_sequence_filter_active_only_when_it_can_remove():
    assert not SequenceFilter().active
    assert not SequenceFilter(1, 1.0).active
    assert SequenceFilter(2, 1.0).active
    assert SequenceFilter(1, 0.99).active
    assert SequenceFilter(1, 0.0).active


def test_sequence_filter_pieces_at_their_boundaries():
    keep = SequenceFilter(5, 0.1)
    assert keep.passes_length(5) and not keep.passes_length(4) and keep.passes_length(6)
    assert keep.passes_n(1, 10) and not keep.passes_n(2, 10) and keep.passes_n(0, 1)
    assert keep.passes_n(3, 30) and not keep.passes_n(4, 30)


# --- plain text -----------------------------------------------------------------------------------


def test_read_text_sequences_ids_numbers_and_kmers(tmp_path: Path):
    path = tmp_path / "pos.txt"
    path.write_text("  ACGTN  \nACG CGT GTA\nacgt\nAC CG\n\n\n", encoding="utf-8")
    records = list(read_text_sequences(path))
    assert [(r.number, r.id, r.sequence, r.label) for r in records] == [
        (1, "pos.txt:line1", "ACGTN", None),
        (2, "pos.txt:line2", "ACGTA", None),
        (3, "pos.txt:line3", "acgt", None),
        (4, "pos.txt:line4", "ACG", None),  # two overlapping 2-mers
    ]


@pytest.mark.parametrize(
    ("text", "record", "problem"),
    [
        ("ACGT\n\n\nACGT\n", "line 2", "blank line between sequences (one sequence per line)"),
        ("ACGT\n \nACGT\n", "line 2", "blank line between sequences (one sequence per line)"),
        ("ACGT\nACXT\n", "line 2", "character 'X' at position 3 is not an IUPAC nucleotide code"),
        ("ACGT\nACG GTA\n", "line 2", "k-mer 2 'GTA' does not overlap k-mer 1 'ACG' by 2"),
        ("ACGT\nACG CG\n", "line 2", "k-mer 2 'CG' has length 2, expected 3"),
    ],
)
def test_read_text_sequences_errors_are_exact_lines(tmp_path: Path, text, record, problem):
    path = tmp_path / "s.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        list(read_text_sequences(path))
    error = caught.value
    assert error.source == str(path) and error.record == record
    assert str(error) == f"{path}: {record}: {problem}"


def test_table_whose_first_line_is_a_sequence(tmp_path: Path):
    """The hint names a first line that looks like a sequence: ≥ 10 IUPAC letters, one column."""
    path = tmp_path / "t.txt"
    path.write_text("ACGTACGTAC\nACGT\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        list(read_sequence_table(path))
    assert str(caught.value) == (
        f"{path}: header: no column 'sequence': the first line is a sequence (ACGTACGTAC...), not a header; "
        "for one sequence per line without a header say format: text"
    )
    for first in ("ACGTACGTA", "ACGTACGTAX"):  # 9 letters; a letter that is no IUPAC code
        path.write_text(f"{first}\nACGT\n", encoding="utf-8")
        with pytest.raises(InputError) as caught:
            list(read_sequence_table(path))
        assert str(caught.value) == f"{path}: header: no column 'sequence' (columns: {first})"
    # lower case and IUPAC codes count too, also a line holding every IUPAC letter in both cases
    for first in ("acgtnacgtr", "ACGTURYSWKMBDHVNacgturyswkmbdhvn"):
        path.write_text(f"{first}\nACGT\n", encoding="utf-8")
        with pytest.raises(InputError, match="the first line is a sequence"):
            list(read_sequence_table(path))


# --- tokens -----------------------------------------------------------------------------------


def test_char_ids_by_hand():
    ids = char_ids("ACGTNacgtnRY-")
    assert ids.dtype == np.uint8
    assert ids.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4, 4, 4]
    assert char_ids(b"TTA").tolist() == [3, 3, 0]


def test_decode_maps_ids_through_the_vocabulary():
    assert decode([2, 0, 1], ["a", "b", "c"]) == ["c", "a", "b"]
    assert decode(np.array([1, 1], dtype=np.int32), ["x", "y"]) == ["y", "y"]


def test_scheme_pattern_lists_the_schemes_of_one_kind():
    assert scheme_pattern("fixed") == "char|hyenadna"
    assert scheme_pattern("variable") == "dnabert|nucleotide_transformer"
    assert scheme_pattern("counts") == "kmer_counts"
    assert scheme_pattern("text") == "kmer_tokenize"
    assert scheme_pattern("nothing") == "(?!)"
    assert sorted(SCHEMES) == sorted(
        ["char", "hyenadna", "dnabert", "nucleotide_transformer", "kmer_counts", "kmer_tokenize"]
    )


# --- writers ---------------------------------------------------------------------------------


def test_kmer_names_tsv_bytes(tmp_path: Path):
    """``column<TAB>kmer`` then one LF-ended row per k-mer in product("ACGT") order (no CR)."""
    path = tmp_path / "kmers_k2.tsv"
    write_kmer_names(path, {"k": 2, "canonical": False})
    kmers = [a + b for a in "ACGT" for b in "ACGT"]
    expected = "column\tkmer\n" + "".join(f"{i}\t{kmer}\n" for i, kmer in enumerate(kmers))
    assert path.read_bytes() == expected.encode("ascii")


def test_kmer_text_tsv_bytes(tmp_path: Path):
    """Rows: sequence (space-joined k-mers, upper-cased), label, id; LF line ends; quoting only when needed."""
    records = [DnaRecord(1, "a b", "acgta", "x"), DnaRecord(2, 'q"1', "ACG", None)]
    path = tmp_path / "tokens_kmer_tokenize.tsv"
    assert write_kmer_text(records, path, {"k": 3, "stride": 1}) == 2
    assert path.read_bytes() == b'sequence\tlabel\tid\nACG CGT GTA\tx\ta b\nACG\t\t"q""1"\n'


def test_write_parquet_is_zstd_compressed(tmp_path: Path):
    table = pa.table({"id": ["a", "b", "c"], "length": pa.array([1, 2, 3], type=pa.int32())})
    path = tmp_path / "index.parquet"
    write_parquet(table, path)
    meta = pq.ParquetFile(path).metadata
    codecs = {meta.row_group(0).column(i).compression for i in range(meta.num_columns)}
    assert codecs == {"ZSTD"}
    assert pq.read_table(path).equals(table)


def test_kmer_text_counts_every_batch(tmp_path: Path):
    """More records than one batch holds (10,000): the count is the total, every row written."""
    records = [DnaRecord(i + 1, f"s{i}", "ACGT", "y") for i in range(10_001)]
    path = tmp_path / "tokens_kmer_tokenize.tsv"
    assert write_kmer_text(records, path, {"k": 2, "stride": 2}) == 10_001
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 10_002 and lines[-1] == "AC GT\ty\ts10000"


def test_scheme_steps_read_table_columns_and_apply_the_filters(tmp_path: Path):
    """A CSV input with its own column names; min_length 5 drops the 4-base row in every step."""
    table = tmp_path / "t.csv"
    table.write_text("name,seq,y\nr1,ACGTA,p\nr2,ACGT,q\nr3,acgtnac,q\n", encoding="utf-8")
    body = {
        "dataset_id": "d",
        "name": "d",
        "modality": "dna",
        "input": {"path": "t.csv"},
        "columns": {"sequence": "seq", "label": "y", "id": "name"},
        "params": {"min_length": 5, "tokenizers": ["char", "kmer_tokenize"], "char": {"max_len": 8}},
    }
    (tmp_path / "card.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    card = load_card(tmp_path / "card.yaml").data
    npy = tmp_path / "tokens_char.npy"
    tokens_fixed(SchemeOptions.from_card(card, "char"), [table], npy)
    # char ids A0 C1 G2 T3 N4, <PAD> 5, right-padded to 8
    assert np.load(npy).tolist() == [[0, 1, 2, 3, 0, 5, 5, 5], [0, 1, 2, 3, 4, 0, 1, 5]]
    tsv = tmp_path / "tokens_kmer_tokenize.tsv"
    k, stride = card["params"]["kmer_tokenize"]["k"], card["params"]["kmer_tokenize"]["stride"]
    assert kmer_text(SchemeOptions.from_card(card, "kmer_tokenize"), [table], tsv) == 2
    rows = [line.split("\t") for line in tsv.read_text(encoding="utf-8").splitlines()[1:]]
    for (text, label, name), (sequence, want_label, want_name) in zip(
        rows, [("ACGTA", "p", "r1"), ("ACGTNAC", "q", "r3")], strict=True
    ):
        starts = range(0, len(sequence) - k + 1, stride)
        assert (text, label, name) == (" ".join(sequence[i : i + k] for i in starts), want_label, want_name)
