"""Reading DNA inputs: FASTA quirks, gzip, sequence tables, labels, bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from genoprep.dna.io import (
    DnaRecord,
    batched,
    kmers_to_sequence,
    label_from_header,
    read_fasta,
    read_inputs,
    read_sequence_table,
)
from genoprep.errors import InputError


def write(path: Path, text: str, newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


QUIRKY = (
    ">seq1 first\u3000record\n"  # U+3000 IDEOGRAPHIC SPACE in the header
    "ACGTacgt\n"
    "NNRYkm\n"
    "\n"
    ">seq2\n"
    "GATTACA\n"
)


def test_multiline_lowercase_iupac_unicode_header(tmp_path: Path) -> None:
    records = list(read_fasta(write(tmp_path / "q.fa", QUIRKY)))
    # Hand-read: lines of a record are joined, case and IUPAC codes kept, blank line ignored.
    assert records == [
        DnaRecord(1, "seq1 first\u3000record", "ACGTacgtNNRYkm", None),
        DnaRecord(2, "seq2", "GATTACA", None),
    ]
    assert records[0].name == "seq1"


def test_crlf_reads_like_lf(tmp_path: Path) -> None:
    lf = list(read_fasta(write(tmp_path / "lf.fasta", QUIRKY)))
    crlf = list(read_fasta(write(tmp_path / "crlf.fasta", QUIRKY, newline="\r\n")))
    assert crlf == lf


def test_gzip_detected_by_magic_bytes_not_name(tmp_path: Path) -> None:
    plain = write(tmp_path / "x.fna", QUIRKY)
    disguised = tmp_path / "y.fna"  # gzip content, no .gz suffix
    disguised.write_bytes(gzip.compress(plain.read_bytes()))
    assert list(read_fasta(disguised)) == list(read_fasta(plain))


def test_label_per_file(tmp_path: Path) -> None:
    a = write(tmp_path / "a.fa", ">x\nAC\n")
    b = write(tmp_path / "b.fa", ">y\nGT\n>z\nTT\n")
    entries = [{"label": "pos", "unmatched_label": "error"}, {"label": "neg", "unmatched_label": "error"}]
    got = [(r.id, r.label, r.number) for r in read_inputs(entries, [a, b], {"sequence": "sequence"})]
    assert got == [("x", "pos", 1), ("y", "neg", 1), ("z", "neg", 2)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (">ok\nACGT\n>bad one\nACGXT\n", ["record 2 (bad one)", "'X' at position 4"]),
        (">ok\nACGT\n>gap\nAC-GT\n", ["record 2 (gap)", "'-' at position 3"]),
        (">ok\nACGT\n>empty\n>after\nAC\n", ["record 2 (empty)", "empty sequence"]),
        (">ok\nAC\u00e9T\n", ["record 1 (ok)", "'é' at position 3"]),
        ("ACGT\n>x\nAC\n", ["not FASTA"]),
    ],
)
def test_bad_fasta_raises_one_line_naming_file_and_record(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path / "bad.fa", text)
    with pytest.raises(InputError) as caught:
        list(read_fasta(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    for part in expected:
        assert part in message


def test_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.fa"
    path.write_bytes(b">caf\xe9\nACGT\n")
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_fasta(path))


def test_header_regex_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "o.fa", ">gi|1| C.irapeanum x\nAC\n>gi|2| P.hirsutum y\nGG\n>gi|3| no genus\nTT\n")
    pattern = r"\s([A-Z])\.[a-z]"
    genus = {"C": "Cypripedium", "P": "Paphiopedilum"}
    labelled = list(
        label_from_header(read_fasta(path), pattern, source=path, label_map=genus, on_unmatched="unlabelled")
    )
    assert [r.label for r in labelled] == ["Cypripedium", "Paphiopedilum", None]
    with pytest.raises(InputError) as caught:
        list(label_from_header(read_fasta(path), pattern, source=path))
    assert "record 3 (gi|3| no genus)" in str(caught.value) and str(path) in str(caught.value)


def test_kmers_to_sequence_hand_case() -> None:
    # ACG, CGT, GTA: each overlaps the previous by 2 -> A C G + T + A
    assert kmers_to_sequence(["ACG", "CGT", "GTA"], "f", "row 1") == "ACGTA"
    assert kmers_to_sequence(["ACGTAC"], "f", "row 1") == "ACGTAC"


@pytest.mark.parametrize(
    ("kmers", "problem"),
    [
        (["ACG", "GTA"], "k-mer 2 'GTA' does not overlap k-mer 1 'ACG' by 2"),
        (["ACG", "CGTA"], "k-mer 2 'CGTA' has length 4, expected 3"),
    ],
)
def test_broken_kmer_overlap(kmers: list[str], problem: str) -> None:
    with pytest.raises(InputError) as caught:
        kmers_to_sequence(kmers, "t.tsv", "row 7")
    assert str(caught.value) == f"t.tsv: row 7: {problem}"


def test_sequence_table_tsv_crlf_kmers_and_plain(tmp_path: Path) -> None:
    text = "sequence\tlabel\nACG CGT GTA\t1\nTTGCA\t0\nAAC ACC\t\n"
    path = write(tmp_path / "t.tsv", text, newline="\r\n")
    rows = list(read_sequence_table(path))
    assert rows == [
        DnaRecord(1, "row1", "ACGTA", "1"),
        DnaRecord(2, "row2", "TTGCA", "0"),
        DnaRecord(3, "row3", "AACC", None),  # empty label cell -> unlabelled
    ]


def test_sequence_table_csv_named_columns_gz(tmp_path: Path) -> None:
    text = "name,seq,y\na,ACGT,pos\nb,GGCC,neg\n"
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    rows = list(read_sequence_table(path, sequence_column="seq", label_column="y", id_column="name"))
    assert rows == [DnaRecord(1, "a", "ACGT", "pos"), DnaRecord(2, "b", "GGCC", "neg")]
    unlabelled = list(read_sequence_table(path, sequence_column="seq", label_column=None))
    assert [r.label for r in unlabelled] == [None, None]


def test_sequence_table_errors_name_row(tmp_path: Path) -> None:
    path = write(tmp_path / "t.tsv", "sequence\tlabel\nACG CGT\t1\nACG GTA\t0\n")
    with pytest.raises(InputError, match=r"t\.tsv: row 2: k-mer 2 'GTA' does not overlap"):
        list(read_sequence_table(path))
    path = write(tmp_path / "u.tsv", "sequence\tlabel\nACGT\t1\nAC?T\t0\n")
    with pytest.raises(InputError, match=r"u\.tsv: row 2: character '\?' at position 3"):
        list(read_sequence_table(path))
    with pytest.raises(InputError, match="no column 'dna'"):
        list(read_sequence_table(path, sequence_column="dna"))


def test_batched_limits() -> None:
    records = [DnaRecord(i, str(i), "A" * n) for i, n in enumerate([5, 5, 5, 20, 1], start=1)]
    sizes = [[r.number for r in b] for b in batched(records, max_records=2, max_bases=12)]
    # 5+5 fills 2 records; 5 then 20 would pass 12 bases; 20 alone (too big, still a batch); then 1.
    assert sizes == [[1, 2], [3], [4], [5]]
